//! Bad input: every malformed request gets a 4xx JSON `{error}` and changes nothing in the store.
//! A table of cases, then a property test over mutated events. In-process (the router on an
//! engine without BGP), so no sockets.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use prefixd::api::{router, AppState};
use prefixd::config::Config;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Env {
    app: axum::Router,
    store: prefixd::store::Store,
    dir: std::path::PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env(rt: &tokio::runtime::Runtime, name: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("prefixd-badinput-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = prefixd::store::Store::open(&dir.join("p.redb")).unwrap();
    let mut loaded = Config::embedded();
    loaded.config.guardrails.min_ttl_seconds = 1;
    let cfg = loaded.config.clone();
    let _g = rt.enter();
    let (engine, _task) = prefixd::engine::start(store.clone(), Arc::new(loaded), None, None).unwrap();
    let app = router(AppState::new(engine, None, None, &cfg), &cfg);
    Env { app, store, dir }
}

/// Everything the store holds, as one comparable value.
fn snapshot(store: &prefixd::store::Store) -> (u64, usize, usize, usize) {
    let r = store.read().unwrap();
    let page = prefixd::store::Page { limit: 0, ..Default::default() };
    (
        r.event_count().unwrap(),
        r.mitigations(&page, |_| true).unwrap().total,
        r.safelist().unwrap().len(),
        r.audit(&page, |_| true).unwrap().total,
    )
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<&str>,
    json_type: bool,
) -> (u16, Option<Value>, bool) {
    let mut req = Request::builder().method(method).uri(path);
    if json_type {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let is_json =
        resp.headers().get("content-type").is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/json"));
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24).await.unwrap();
    (status, serde_json::from_slice(&bytes).ok(), is_json)
}

fn valid() -> Value {
    json!({"timestamp": "2026-11-25T10:00:00Z", "source": "fnm", "victim_ip": "203.0.113.10",
           "vector": "udp_flood", "top_dst_ports": [53], "event_id": "ok-1"})
}

fn with(k: &str, v: Value) -> String {
    let mut e = valid();
    e[k] = v;
    e.to_string()
}

fn without(k: &str) -> String {
    let mut e = valid();
    e.as_object_mut().unwrap().remove(k);
    e.to_string()
}

#[test]
fn table_of_bad_requests() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let env = env(&rt, "table");
    let big = format!("{{\"source\":\"{}\"}}", "x".repeat(2 << 20));
    let batch_big = json!({"events": vec![valid(); 1001]}).to_string();
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("POST", "/v1/events", "not json".into(), 400),
        ("POST", "/v1/events", "{\"timestamp\":".into(), 400),
        ("POST", "/v1/events", String::new(), 400),
        ("POST", "/v1/events", "[1,2,3]".into(), 400),
        ("POST", "/v1/events", without("timestamp"), 400),
        ("POST", "/v1/events", without("victim_ip"), 400),
        ("POST", "/v1/events", with("source", json!("fnm\u{1b}[2J")), 400),
        ("POST", "/v1/events", with("event_id", json!("id\nwith newline")), 400),
        ("POST", "/v1/events", with("timestamp", json!("yesterday")), 400),
        ("POST", "/v1/events", with("timestamp", json!("1969-12-31T23:59:59Z")), 400),
        ("POST", "/v1/events", with("victim_ip", json!("999.1.1.1")), 400),
        ("POST", "/v1/events", with("victim_ip", json!(42)), 400),
        ("POST", "/v1/events", with("victim_ip", json!("203.0.113.0/24")), 400),
        ("POST", "/v1/events", with("victim_ip", json!("0.0.0.0")), 400),
        ("POST", "/v1/events", with("victim_ip", json!("224.0.0.1")), 400),
        ("POST", "/v1/events", with("vector", json!("teardrop")), 400),
        ("POST", "/v1/events", with("vector", Value::Null), 400),
        ("POST", "/v1/events", with("confidence", json!(1.5)), 400),
        ("POST", "/v1/events", with("confidence", json!("high")), 400),
        ("POST", "/v1/events", with("ttl_seconds", json!(-5)), 400),
        ("POST", "/v1/events", with("ttl_seconds", json!(0)), 400),
        ("POST", "/v1/events", with("ttl_seconds", json!(1.5)), 400),
        ("POST", "/v1/events", with("top_dst_ports", json!([70000])), 400),
        ("POST", "/v1/events", with("top_dst_ports", json!([-1])), 400),
        ("POST", "/v1/events", with("top_dst_ports", json!("53")), 400),
        ("POST", "/v1/events", with("bps", json!(-1)), 400),
        ("POST", "/v1/events", with("source", json!("")), 400),
        ("POST", "/v1/events", with("source", json!("s".repeat(300))), 400),
        ("POST", "/v1/events", with("event_id", json!("")), 400),
        ("POST", "/v1/events", with("action", json!("nuke")), 400),
        ("POST", "/v1/events", with("victim", json!("203.0.113.10")), 400),
        ("POST", "/v1/events", big, 413),
        ("POST", "/v1/events/batch", batch_big, 413),
        ("POST", "/v1/events/batch", json!({"events": "x"}).to_string(), 400),
        ("POST", "/v1/events/batch", json!({"evnts": []}).to_string(), 400),
        ("POST", "/v1/mitigations", json!({"reason": "r", "victim_ip": "203.0.113.9", "protocol": "any", "action": "discard", "ttl_seconds": 60}).to_string(), 400),
        ("POST", "/v1/mitigations", json!({"reason": "r", "victim_ip": "203.0.113.9", "protocol": "udp", "action": "police", "ttl_seconds": 60}).to_string(), 400),
        ("POST", "/v1/mitigations", json!({"reason": "r", "victim_ip": "203.0.113.9", "protocol": "udp", "action": "discard", "ttl_seconds": -1}).to_string(), 400),
        ("POST", "/v1/mitigations", json!({"reason": "r", "victim_ip": "203.0.113.9", "protocol": "udp", "action": "drop", "ttl_seconds": 60}).to_string(), 400),
        ("POST", "/v1/safelist", json!({"prefix": "10.0.0.0/33"}).to_string(), 400),
        ("POST", "/v1/safelist", json!({"prefix": "nope"}).to_string(), 400),
        ("POST", "/v1/safelist", json!({"prefix": "10.0.0.0/8", "ttl_seconds": 0}).to_string(), 400),
        ("POST", "/v1/safelist", json!({"prefix": "10.0.0.0/8", "expires_at": "2001-01-01T00:00:00Z"}).to_string(), 400),
        ("GET", "/v1/mitigations?limit=0", String::new(), 400),
        ("GET", "/v1/mitigations?limit=abc", String::new(), 400),
        ("GET", "/v1/mitigations?status=bogus", String::new(), 400),
        ("GET", "/v1/mitigations?victim_ip=nope", String::new(), 400),
        ("GET", "/v1/ip/notanip/history", String::new(), 400),
        ("GET", "/v1/events?status=active", String::new(), 400),
        ("GET", "/v1/audit?victim_ip=203.0.113.1", String::new(), 400),
        ("GET", "/v1/mitigations?cursor=x&zzz=1", String::new(), 400),
        ("DELETE", "/v1/safelist/1.2.3.4/99", String::new(), 400),
        ("DELETE", "/v1/safelist/192.0.2.0/24", String::new(), 404),
        ("POST", "/v1/mitigations/00000000-0000-0000-0000-000000000000/withdraw", "{}".into(), 404),
        ("POST", "/v1/mitigations/00000000-0000-0000-0000-000000000000/withdraw", format!("{{\"reason\":\"{}\"}}", "r".repeat(2 << 20)), 413),
        ("GET", "/v1/mitigations/nope", String::new(), 404),
        ("GET", "/v1/nonexistent", String::new(), 404),
        ("PUT", "/v1/events", "{}".into(), 405),
        ("PUT", "/v1/config/playbooks", json!({"playbooks": [{"name": "x", "match": {"vector": "udp_flood"}, "steps": [{"action": "police", "ttl_seconds": 60}]}]}).to_string(), 400),
        ("POST", "/v1/mitigations/withdraw", json!({"reason": "r"}).to_string(), 400),
    ];
    assert!(cases.len() >= 30);
    let before = snapshot(&env.store);
    for (method, path, body, want) in &cases {
        let (status, v, is_json) =
            rt.block_on(call(&env.app, method, path, (!body.is_empty()).then_some(body.as_str()), true));
        assert_eq!(status, *want, "{method} {path} {}: {v:?}", &body[..body.len().min(120)]);
        let v = v.unwrap_or_else(|| panic!("{method} {path}: body is not JSON"));
        assert!(is_json, "{method} {path}: content-type is not JSON");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {v}");
        assert_eq!(snapshot(&env.store), before, "{method} {path} changed the store");
    }
    // Without a JSON content type: 415, also JSON.
    let (status, v, _) = rt.block_on(call(&env.app, "POST", "/v1/events", Some(&valid().to_string()), false));
    assert_eq!(status, 415, "{v:?}");
    assert!(v.unwrap()["error"].is_string());
    assert_eq!(snapshot(&env.store), before);
    // And the valid event still works afterwards.
    let (status, v, _) = rt.block_on(call(&env.app, "POST", "/v1/events", Some(&valid().to_string()), true));
    assert_eq!(status, 202, "{v:?}");
    assert_ne!(snapshot(&env.store), before);
}

fn mutation() -> impl Strategy<Value = (String, Value)> {
    let key = prop_oneof![
        Just("timestamp"),
        Just("source"),
        Just("victim_ip"),
        Just("vector"),
        Just("event_id"),
        Just("bps"),
        Just("confidence"),
        Just("top_dst_ports"),
        Just("action"),
        Just("ttl_seconds"),
        Just("zzz"),
    ];
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[ -~]{0,40}".prop_map(Value::from),
        proptest::collection::vec(any::<i32>(), 0..4).prop_map(|v| json!(v)),
        Just(json!({"a": 1})),
    ];
    (key.prop_map(str::to_string), value)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A valid event with one field replaced by arbitrary JSON: never a 5xx; a 400 changes
    /// nothing; every error is JSON with `error`.
    #[test]
    fn mutated_events_never_5xx_and_400_changes_nothing(muts in proptest::collection::vec(mutation(), 1..3), n in 0u32..1_000_000) {
        thread_local! {
            static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        }
        RT.with(|rt| {
            thread_local! { static ENV: std::cell::RefCell<Option<Env>> = const { std::cell::RefCell::new(None) }; }
            ENV.with(|cell| {
                let mut cell = cell.borrow_mut();
                let env = cell.get_or_insert_with(|| env(rt, "prop"));
                let mut e = valid();
                e["event_id"] = json!(format!("p-{n}"));
                for (k, v) in &muts {
                    e[k.as_str()] = v.clone();
                }
                let before = snapshot(&env.store);
                let (status, v, is_json) = rt.block_on(call(&env.app, "POST", "/v1/events", Some(&e.to_string()), true));
                prop_assert!(status < 500, "{status} {v:?} for {e}");
                if status >= 400 {
                    prop_assert!(is_json && v.as_ref().is_some_and(|v| v["error"].is_string()), "{status} {v:?}");
                }
                if status == 400 || status == 409 {
                    prop_assert_eq!(snapshot(&env.store), before, "{} {:?} for {}", status, v, e);
                }
                Ok(())
            })
        })?;
    }
}
