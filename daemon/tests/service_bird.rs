//! `prefixd run` as a process, with a real redb file and a real BIRD peer: events become the
//! exact rules in BIRD, unban and TTL expiry withdraw them, escalation turns police into discard,
//! guardrails answer 422 and send nothing, and a restart keeps the same rules in BIRD.
//! Addresses: prefixd 127.0.71.1 (BGP and API port 8080), BIRD 127.0.71.2.

mod common;

use std::time::Duration;

use common::{bird_config, bird_rules, event, wait, Daemon};
use interop_harness::Bird;
use serde_json::json;

const CONFIG: &str = r#"
pop = "fra1"
mode = "enforced"

[http]
listen = "127.0.71.1:8080"

[bgp]
router_id = "10.0.71.1"
local_as = 65000

[[bgp.peer]]
address = "127.0.71.2"
remote_as = 65001
local_address = "127.0.71.1"
graceful_restart_time = 60

[guardrails]
min_ttl_seconds = 1
max_ttl_seconds = 3600

[quotas]
max_active_per_customer = 3

[escalation]
min_persistence_seconds = 1
min_confidence = 0.7

[storage]
path = "@DIR@/state/prefixd.redb"

[safelist]
prefixes = ["203.0.113.200/32"]

[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
[[inventory.customers.services]]
service_id = "dns"
assets = [{ ip = "203.0.113.10" }]
allowed_ports = { udp = [53], tcp = [53, 443] }

[[inventory.customers]]
customer_id = "c2"
prefixes = ["198.51.100.0/24"]

[[inventory.customers]]
customer_id = "c3"
prefixes = ["2001:db8::/32"]

[[playbooks]]
name = "udp"
match = { vector = "udp_flood" }
steps = [
  { action = "police", rate_bps = 5000000, ttl_seconds = 600 },
  { action = "discard", ttl_seconds = 600, require_confidence_at_least = 0.8, require_persistence_seconds = 1 },
]

[[playbooks]]
name = "tcp"
match = { vectors = ["syn_flood", "ack_flood"] }
steps = [{ action = "discard", ttl_seconds = 600 }]
"#;

fn has(bird: &Bird, needle: &str) -> bool {
    wait(Duration::from_secs(10), || bird_rules(bird).contains(needle).then_some(())).is_some()
}

fn gone(bird: &Bird, needle: &str) -> bool {
    wait(Duration::from_secs(10), || (!bird_rules(bird).contains(needle)).then_some(())).is_some()
}

#[test]
fn events_to_rules_in_bird_and_back() {
    let Some(bird) = Bird::start("svc-bird", &bird_config("127.0.71.2", "127.0.71.1", "10.0.71.2")) else { return };
    let mut d = Daemon::start("svc-bird", "127.0.71.1:8080", CONFIG);

    // UDP flood on the DNS asset: police at 5 Mb/s = 625000 bytes/s, only port 53 (the service's).
    let (st, v) = d.post("/v1/events", &event("203.0.113.10", "udp_flood", &[53, 9999], "udp-1"));
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["status"], "accepted", "{v}");
    assert_eq!(v["rule"], "dst 203.0.113.10/32 proto =17 dport =53 then rate-bytes 625000", "{v}");
    let udp_id = v["mitigation_id"].as_str().unwrap().to_string();
    assert!(has(&bird, "flow4 { dst 203.0.113.10/32; proto 17; dport 53; }"), "{}", bird_rules(&bird));
    // Traffic-rate 625000 bytes/s as a float: 0x49189680.
    assert!(bird_rules(&bird).contains("(generic, 0x80060000, 0x49189680)"), "{}", bird_rules(&bird));

    // Persisting and confident: escalated to discard (rate 0).
    std::thread::sleep(Duration::from_millis(1100));
    let mut again = event("203.0.113.10", "udp_flood", &[53], "udp-2");
    again["confidence"] = json!(0.9);
    let (st, v) = d.post("/v1/events", &again);
    assert_eq!((st, v["status"].as_str()), (202, Some("escalated")), "{v}");
    assert_eq!(v["mitigation_id"], udp_id.as_str());
    assert!(has(&bird, "(generic, 0x80060000, 0x0)"), "{}", bird_rules(&bird));
    assert!(!bird_rules(&bird).contains("0x49189680"), "{}", bird_rules(&bird));
    let (_, m) = d.get(&format!("/v1/mitigations/{udp_id}"));
    assert_eq!((m["status"].as_str(), m["action_type"].as_str()), (Some("escalated"), Some("discard")), "{m}");

    // SYN flood: the TCP-flags component (SYN set, ACK clear).
    let (st, v) = d.post("/v1/events", &event("203.0.113.11", "syn_flood", &[443], "syn-1"));
    assert_eq!(st, 202, "{v}");
    assert!(
        has(&bird, "flow4 { dst 203.0.113.11/32; proto 6; dport 443; tcp flags !0x0/0x2 && 0x0/0x10; }"),
        "{}",
        bird_rules(&bird)
    );

    // IPv6 victim: a /128.
    let (st, v) = d.post("/v1/events", &event("2001:db8::10", "udp_flood", &[123], "v6-1"));
    assert_eq!(st, 202, "{v}");
    assert!(has(&bird, "flow6 { dst 2001:db8::10/128; next header 17; dport 123; }"), "{}", bird_rules(&bird));

    // Safelisted: 422 naming the guardrail, nothing in BIRD.
    let before = bird_rules(&bird);
    let (st, v) = d.post("/v1/events", &event("203.0.113.200", "udp_flood", &[53], "safe-1"));
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["guardrail"]["guardrail"], "safelisted", "{v}");
    // Out of quota: c2 may have 3 active.
    for (i, ip) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].iter().enumerate() {
        let (st, v) = d.post("/v1/events", &event(ip, "udp_flood", &[80], &format!("q-{i}")));
        assert_eq!(st, 202, "{v}");
    }
    let (st, v) = d.post("/v1/events", &event("198.51.100.4", "udp_flood", &[80], "q-4"));
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["guardrail"]["guardrail"], "quota", "{v}");
    assert_eq!(v["guardrail"]["scope"], "customer", "{v}");
    assert!(has(&bird, "198.51.100.3/32"));
    std::thread::sleep(Duration::from_millis(500));
    let after = bird_rules(&bird);
    assert!(!after.contains("203.0.113.200") && !after.contains("198.51.100.4"), "{after}");
    assert!(before.len() < after.len());

    // Unban by event id: withdrawn, gone from BIRD.
    let mut unban = event("203.0.113.11", "syn_flood", &[443], "syn-1");
    unban["action"] = json!("unban");
    let (st, v) = d.post("/v1/events", &unban);
    assert_eq!((st, v["status"].as_str()), (202, Some("withdrawn")), "{v}");
    assert!(gone(&bird, "203.0.113.11/32"), "{}", bird_rules(&bird));
    // The quiet period: a new ban of the same scope right away makes no rule.
    let (st, v) = d.post("/v1/events", &event("203.0.113.11", "syn_flood", &[443], "syn-2"));
    assert_eq!(
        (st, v["status"].as_str(), v["reason"].as_str()),
        (202, Some("accepted_no_mitigation"), Some("quiet_period")),
        "{v}"
    );

    // TTL expiry withdraws.
    let mut short = event("203.0.113.12", "udp_flood", &[], "ttl-1");
    short["ttl_seconds"] = json!(2);
    let (st, v) = d.post("/v1/events", &short);
    assert_eq!(st, 202, "{v}");
    let short_id = v["mitigation_id"].as_str().unwrap().to_string();
    assert!(has(&bird, "203.0.113.12/32"), "{}", bird_rules(&bird));
    assert!(gone(&bird, "203.0.113.12/32"), "{}", bird_rules(&bird));
    let (_, m) = d.get(&format!("/v1/mitigations/{short_id}"));
    assert_eq!(m["status"], "expired", "{m}");

    // Restart: the same rules in BIRD afterwards, and never withdrawn meanwhile (graceful restart).
    let table = |b: &Bird| {
        let mut l: Vec<String> = bird_rules(b)
            .lines()
            .filter(|l| l.starts_with("flow"))
            .map(|l| l.split(" [").next().unwrap_or("").trim().to_string())
            .collect();
        l.sort();
        l
    };
    let before = table(&bird);
    assert_eq!(before.len(), 5, "{before:?}");
    d.stop();
    assert_eq!(table(&bird), before, "a graceful stop keeps the rules");
    d.restart();
    std::thread::sleep(Duration::from_secs(2));
    let established =
        wait(Duration::from_secs(15), || bird.birdc("show protocols prefixd").contains("Established").then_some(()));
    assert!(established.is_some(), "{}", bird.birdc("show protocols all prefixd"));
    assert_eq!(
        wait(Duration::from_secs(10), || (table(&bird) == before).then_some(())),
        Some(()),
        "{:?} vs {before:?}",
        table(&bird)
    );
    let (_, v) = d.get("/v1/mitigations?status=active,escalated");
    assert_eq!(v["count"], 5, "{v}");
    // A repeated event id is still a duplicate after the restart.
    let (st, v) = d.post("/v1/events", &event("203.0.113.10", "udp_flood", &[53], "udp-1"));
    assert_eq!(st, 409, "{v}");
    d.stop();
}
