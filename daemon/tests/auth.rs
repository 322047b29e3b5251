//! Roles on every route: each role gets through where it is allowed and 403 where not; no token
//! or a wrong token is 401; health is public. The audit actor is the token's name. In-process.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use prefixd::api::{router, AppState, Token};
use prefixd::config::{Config, Role};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKENS: [(&str, Role, &str); 4] = [
    ("grafana", Role::Viewer, "viewer-secret-0123456789"),
    ("fastnetmon", Role::Detector, "detector-secret-0123456789"),
    ("noc", Role::Operator, "operator-secret-0123456789"),
    ("root", Role::Admin, "admin-secret-0123456789"),
];

async fn call(app: &axum::Router, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut r = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let r = r.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(r).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_route() {
    let dir = std::env::temp_dir().join(format!("prefixd-auth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = prefixd::store::Store::open(&dir.join("p.redb")).unwrap();
    let loaded = Config::embedded();
    let cfg = loaded.config.clone();
    let (engine, _task) = prefixd::engine::start(store.clone(), Arc::new(loaded), None, None).unwrap();
    let tokens = TOKENS.iter().map(|(n, r, s)| Token::new(n, *r, s).unwrap()).collect();
    let app = router(AppState::new(engine, None, Some(Arc::new(tokens)), &cfg), &cfg);

    let ev = |id: &str| {
        json!({"timestamp": "2026-11-25T10:00:00Z", "source": "t", "victim_ip": "203.0.113.10",
                                "vector": "udp_flood", "top_dst_ports": [53], "event_id": id})
    };
    // (method, path, body, which roles may: viewer, detector, operator, admin)
    let routes: Vec<(&str, String, Option<Value>, [bool; 4])> = vec![
        ("GET", "/v1/health/detail".into(), None, [true, false, true, true]),
        ("GET", "/v1/mitigations".into(), None, [true, false, true, true]),
        ("GET", "/v1/events".into(), None, [true, false, true, true]),
        ("GET", "/v1/safelist".into(), None, [true, false, true, true]),
        ("GET", "/v1/stats".into(), None, [true, false, true, true]),
        ("GET", "/v1/pops".into(), None, [true, false, true, true]),
        ("GET", "/v1/peers".into(), None, [true, false, true, true]),
        ("GET", "/v1/ip/203.0.113.10/history".into(), None, [true, false, true, true]),
        ("GET", "/v1/audit".into(), None, [true, false, true, true]),
        ("GET", "/v1/config/settings".into(), None, [true, false, true, true]),
        ("GET", "/v1/config/inventory".into(), None, [true, false, true, true]),
        ("GET", "/v1/config/playbooks".into(), None, [true, false, true, true]),
        ("POST", "/v1/events".into(), Some(ev("x")), [false, true, true, true]),
        ("POST", "/v1/events/batch".into(), Some(json!({"events": []})), [false, true, true, true]),
        (
            "POST",
            "/v1/mitigations".into(),
            Some(
                json!({"reason": "r", "victim_ip": "203.0.113.77", "protocol": "udp", "action": "discard", "ttl_seconds": 60}),
            ),
            [false, false, true, true],
        ),
        (
            "POST",
            "/v1/mitigations/withdraw".into(),
            Some(json!({"victim_ip": "203.0.113.250", "reason": "r"})),
            [false, false, true, true],
        ),
        ("POST", "/v1/safelist".into(), Some(json!({"prefix": "192.0.2.0/24"})), [false, false, true, true]),
        ("DELETE", "/v1/safelist/192.0.2.0/24".into(), None, [false, false, true, true]),
        ("POST", "/v1/reconcile".into(), None, [false, false, true, true]),
        ("PUT", "/v1/config/playbooks".into(), Some(json!({"playbooks": []})), [false, false, false, true]),
        ("POST", "/v1/config/reload".into(), None, [false, false, false, true]),
    ];
    for (method, path, body, allowed) in &routes {
        // No token, wrong token: 401.
        assert_eq!(call(&app, method, path, None, body.clone()).await.0, 401, "{method} {path} without a token");
        assert_eq!(
            call(&app, method, path, Some("not-a-valid-token-at-all"), body.clone()).await.0,
            401,
            "{method} {path}"
        );
        for (i, (name, role, secret)) in TOKENS.iter().enumerate() {
            // Fresh event ids per role so a repeat is not a 409.
            let body = match (path.as_str(), body) {
                ("/v1/events", _) => Some(ev(&format!("e-{name}"))),
                ("/v1/safelist", Some(b)) => Some(b.clone()),
                (_, b) => b.clone(),
            };
            let (st, v) = call(&app, method, path, Some(secret), body).await;
            if allowed[i] {
                assert!(st != 401 && st != 403, "{role:?} ({name}) should pass {method} {path}: {st} {v}");
            } else {
                assert_eq!(st, 403, "{role:?} ({name}) must get 403 on {method} {path}: {v}");
                assert_eq!(v["role"], role.as_str(), "{v}");
            }
            // Put the safelist entry back for the next role's DELETE.
            if *method == "DELETE" && allowed[i] {
                call(&app, "POST", "/v1/safelist", Some(TOKENS[3].2), Some(json!({"prefix": "192.0.2.0/24"}))).await;
            }
        }
    }
    // Health is public.
    assert_eq!(call(&app, "GET", "/v1/health", None, None).await.0, 200);
    // The audit actor is the authenticated name, never a body field.
    let (st, _) = call(&app, "POST", "/v1/mitigations", Some(TOKENS[2].2),
        Some(json!({"operator_id": "mallory", "reason": "r", "victim_ip": "203.0.113.88", "protocol": "udp", "action": "discard", "ttl_seconds": 60}))).await;
    assert_eq!(st, 201);
    let (_, audit) = call(&app, "GET", "/v1/audit?action=mitigation_created", Some(TOKENS[0].2), None).await;
    let last = &audit[0];
    assert_eq!((last["actor_id"].as_str(), last["actor_type"].as_str()), (Some("noc"), Some("operator")), "{audit}");
    let (_, events) = call(&app, "GET", "/v1/audit?action=event_accepted", Some(TOKENS[0].2), None).await;
    assert!(
        events.as_array().unwrap().iter().any(|a| a["actor_id"] == "fastnetmon" && a["actor_type"] == "detector"),
        "{events}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_headers() {
    let dir = std::env::temp_dir().join(format!("prefixd-ratelimit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = prefixd::store::Store::open(&dir.join("p.redb")).unwrap();
    let mut loaded = Config::embedded();
    loaded.config.http.rate_limit = prefixd::config::RateLimit {
        events_per_second: 0.5,
        burst: 5.0,
        global_events_per_second: 0.5,
        global_burst: 8.0,
    };
    // The check wants every batch able to pass the buckets.
    loaded.config.http.max_batch_events = 5;
    assert_eq!(loaded.config.check(), Ok(()));
    let cfg = loaded.config.clone();
    let (engine, _task) = prefixd::engine::start(store, Arc::new(loaded), None, None).unwrap();
    let tokens = TOKENS.iter().map(|(n, r, s)| Token::new(n, *r, s).unwrap()).collect();
    let app = router(AppState::new(engine, None, Some(Arc::new(tokens)), &cfg), &cfg);
    let post = |token: &'static str, id: String| {
        let app = app.clone();
        async move {
            let body = json!({"timestamp": "2026-11-25T10:00:00Z", "source": "t", "victim_ip": "192.0.2.1",
                              "vector": "udp_flood", "event_id": id});
            let r = Request::builder()
                .method("POST")
                .uri("/v1/events")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            app.oneshot(r).await.unwrap()
        }
    };
    let h = |r: &axum::response::Response, k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_string());
    for i in 0..5 {
        let r = post(TOKENS[1].2, format!("d{i}")).await;
        assert_eq!(r.status().as_u16(), 202);
        assert_eq!(h(&r, "x-ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(h(&r, "x-ratelimit-remaining"), Some((4 - i).to_string()));
        assert!(h(&r, "x-ratelimit-reset").is_some());
    }
    let r = post(TOKENS[1].2, "d5".into()).await;
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(h(&r, "retry-after").as_deref(), Some("2"));
    assert_eq!(h(&r, "x-ratelimit-remaining").as_deref(), Some("0"));
    let v: Value = serde_json::from_slice(&axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!((v["retry_after_seconds"].as_u64(), v["scope"].as_str()), (Some(2), Some("client")), "{v}");
    // Another client has its own bucket; then the global one (8) runs out.
    for i in 0..3 {
        assert_eq!(post(TOKENS[2].2, format!("o{i}")).await.status().as_u16(), 202);
    }
    let r = post(TOKENS[2].2, "o3".into()).await;
    assert_eq!(r.status().as_u16(), 429);
    let v: Value = serde_json::from_slice(&axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(v["scope"], "global", "{v}");
    std::fs::remove_dir_all(&dir).unwrap();
}
