//! Audit: every API call that changed something has its audit record with the authenticated
//! actor (never the body's operator_id); an event refused by a guardrail is stored and audited as
//! `event_rejected`; calls refused before any decision (role, duplicate, bad input) have none; and
//! the append-only JSON-lines file holds exactly the records the store holds. Address: 127.0.79.1:8080 (API only, dry-run).

mod common;

use common::{agent, event, Daemon};
use serde_json::{json, Value};

const CONFIG: &str = r#"
playbooks = "playbooks.toml"
[http]
listen = "127.0.79.1:8080"
[http.auth]
mode = "bearer"
[[http.auth.tokens]]
name = "fnm"
role = "detector"
token_env = "PREFIXD_AUDIT_TEST_FNM"
[[http.auth.tokens]]
name = "noc"
role = "operator"
token_env = "PREFIXD_AUDIT_TEST_NOC"
[[http.auth.tokens]]
name = "root"
role = "admin"
token_env = "PREFIXD_AUDIT_TEST_ROOT"
[storage]
path = "@DIR@/state/prefixd.redb"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
"#;

const FNM: &str = "fnm-token-0123456789abcdef";
const NOC: &str = "noc-token-0123456789abcdef";
const ROOT: &str = "root-token-0123456789abcdef";

fn call(d: &Daemon, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", d.api);
    let auth = format!("Bearer {token}");
    let a = agent();
    let r = match (method, body) {
        ("GET", _) => a.get(&url).header("authorization", &auth).call(),
        ("DELETE", _) => a.delete(&url).header("authorization", &auth).call(),
        ("PUT", b) => a.put(&url).header("authorization", &auth).send_json(b.unwrap_or(json!({}))),
        (_, b) => a.post(&url).header("authorization", &auth).send_json(b.unwrap_or(json!({}))),
    };
    let mut r = r.unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn every_change_has_its_record_with_the_right_actor() {
    std::env::set_var("PREFIXD_AUDIT_TEST_FNM", FNM);
    std::env::set_var("PREFIXD_AUDIT_TEST_NOC", NOC);
    std::env::set_var("PREFIXD_AUDIT_TEST_ROOT", ROOT);
    let playbooks = r#"
[[playbooks]]
name = "udp"
match = { vector = "udp_flood" }
steps = [{ action = "discard", ttl_seconds = 300 }]
"#;
    let d = Daemon::start_with("audit", "127.0.79.1:8080", CONFIG, &[("playbooks.toml", playbooks)]);

    // Changes, each expected to leave (action, actor, target) records.
    let mut expected: Vec<(String, String, String)> = Vec::new();
    let (st, v) = call(&d, "POST", "/v1/events", FNM, Some(event("203.0.113.1", "udp_flood", &[53], "e1")));
    assert_eq!(st, 202, "{v}");
    // The mitigation is decided (and recorded) while the event is, then the event.
    expected.push(("mitigation_created".into(), "fnm".into(), v["mitigation_id"].as_str().unwrap().into()));
    expected.push(("event_accepted".into(), "fnm".into(), v["event_id"].as_str().unwrap().into()));
    // Refused by a guardrail (too many ports): kept for the victim's history, audited as refused.
    let ports: Vec<u16> = (1000..1040).collect();
    let (st, v) = call(&d, "POST", "/v1/events", FNM, Some(event("203.0.113.3", "udp_flood", &ports, "e2")));
    assert_eq!(st, 422, "{v}");
    expected.push(("event_rejected".into(), "fnm".into(), v["event_id"].as_str().unwrap().into()));
    let (st, v) = call(
        &d,
        "POST",
        "/v1/mitigations",
        NOC,
        Some(
            json!({"operator_id": "mallory", "reason": "by hand", "victim_ip": "203.0.113.2", "protocol": "tcp", "dst_ports": [22], "action": "discard", "ttl_seconds": 60}),
        ),
    );
    assert_eq!(st, 201, "{v}");
    let manual = v["mitigation_id"].as_str().unwrap().to_string();
    expected.push(("mitigation_created".into(), "noc".into(), manual.clone()));
    let (st, _) = call(&d, "POST", &format!("/v1/mitigations/{manual}/withdraw"), NOC, Some(json!({"reason": "done"})));
    assert_eq!(st, 200);
    expected.push(("mitigation_withdrawn".into(), "noc".into(), manual.clone()));
    assert_eq!(call(&d, "POST", "/v1/safelist", NOC, Some(json!({"prefix": "192.0.2.0/24"}))).0, 201);
    expected.push(("safelist_added".into(), "noc".into(), "192.0.2.0/24".into()));
    assert_eq!(call(&d, "DELETE", "/v1/safelist/192.0.2.0/24", NOC, None).0, 200);
    expected.push(("safelist_removed".into(), "noc".into(), "192.0.2.0/24".into()));
    let pb: Value = json!({"playbooks": [{"name": "udp", "match": {"vector": "udp_flood"}, "steps": [{"action": "discard", "ttl_seconds": 120}]}]});
    let (st, v) = call(&d, "PUT", "/v1/config/playbooks", ROOT, Some(pb));
    assert_eq!(st, 200, "{v}");
    expected.push(("playbooks_updated".into(), "root".into(), "playbooks".into()));
    assert_eq!(call(&d, "POST", "/v1/config/reload", ROOT, None).0, 200);
    expected.push(("config_reloaded".into(), "root".into(), "config".into()));

    // Refused calls change nothing and leave no record.
    assert_eq!(call(&d, "POST", "/v1/events", FNM, Some(event("203.0.113.1", "udp_flood", &[53], "e1"))).0, 409);
    assert_eq!(call(&d, "POST", "/v1/safelist", FNM, Some(json!({"prefix": "192.0.2.0/24"}))).0, 403);
    assert_eq!(call(&d, "POST", &format!("/v1/mitigations/{manual}/withdraw"), NOC, None).0, 409);
    assert_eq!(call(&d, "POST", "/v1/config/reload", NOC, None).0, 403);
    assert_eq!(call(&d, "POST", "/v1/safelist", NOC, Some(json!({"prefix": "nope"}))).0, 400);

    let (_, audit) = call(&d, "GET", "/v1/audit?limit=1000", NOC, None);
    let got: Vec<(String, String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["actor_id"].as_str().unwrap_or("").to_string(),
                a["target_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected, "{audit}");
    // The JSON-lines file holds the same records, in order.
    let log = std::fs::read_to_string(d.dir().join("state/audit.jsonl")).unwrap();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut from_api: Vec<Value> = audit.as_array().unwrap().clone();
    from_api.reverse();
    assert_eq!(lines, from_api);
    assert!(d.dir().join("playbooks.toml.bak").exists());
}
