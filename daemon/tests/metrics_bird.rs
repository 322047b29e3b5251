//! Metrics after a scripted scenario against BIRD: events, an escalation, an expiry, a refusal,
//! a duplicate and a peer flap; the scraped values equal what happened.
//! Addresses: prefixd 127.0.78.1 (BGP and API port 8080), BIRD 127.0.78.2.

mod common;

use std::time::Duration;

use common::{bird_config, event, wait, Daemon};
use interop_harness::Bird;
use serde_json::json;

const CONFIG: &str = r#"
pop = "fra1"
mode = "enforced"
[http]
listen = "127.0.78.1:8080"
[bgp]
router_id = "10.0.78.1"
local_as = 65000
[[bgp.peer]]
address = "127.0.78.2"
remote_as = 65001
local_address = "127.0.78.1"
connect_retry_seconds = 1
[guardrails]
min_ttl_seconds = 1
[escalation]
min_persistence_seconds = 0
[timers]
reconciliation_interval_seconds = 3600
[storage]
path = "@DIR@/prefixd.redb"
[safelist]
prefixes = ["203.0.113.200/32"]
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
[[playbooks]]
name = "udp"
match = { vector = "udp_flood" }
steps = [{ action = "police", rate_bps = 8000000, ttl_seconds = 600 },
         { action = "discard", ttl_seconds = 600, require_confidence_at_least = 0.8 }]
"#;

/// The value of one sample line (`name{labels} value`), exactly as written.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[test]
fn scraped_values_equal_what_happened() {
    let Some(bird) = Bird::start("metrics", &bird_config("127.0.78.2", "127.0.78.1", "10.0.78.2")) else { return };
    let d = Daemon::start("metrics", "127.0.78.1:8080", CONFIG);
    let scrape =
        || common::agent().get(format!("{}/metrics", d.api)).call().unwrap().body_mut().read_to_string().unwrap();
    let up = r#"prefixd_bgp_session_up{peer="127.0.78.2"}"#;
    assert!(
        wait(Duration::from_secs(15), || (sample(&scrape(), up) == Some(1.0)).then_some(())).is_some(),
        "{}",
        scrape()
    );

    assert_eq!(d.post("/v1/events", &event("203.0.113.10", "udp_flood", &[53], "a1")).0, 202);
    let mut sure = event("203.0.113.10", "udp_flood", &[53], "a2");
    sure["confidence"] = json!(0.9);
    let (st, v) = d.post("/v1/events", &sure);
    assert_eq!((st, v["status"].as_str()), (202, Some("escalated")), "{v}");
    let mut short = event("203.0.113.11", "udp_flood", &[53], "b1");
    short["ttl_seconds"] = json!(2);
    assert_eq!(d.post("/v1/events", &short).0, 202);
    assert_eq!(d.post("/v1/events", &event("203.0.113.200", "udp_flood", &[53], "s1")).0, 422);
    assert_eq!(d.post("/v1/events", &event("203.0.113.10", "udp_flood", &[53], "a1")).0, 409);
    let expired = r#"prefixd_mitigations_expired_total{action_type="police",pop="fra1"}"#;
    assert!(wait(Duration::from_secs(10), || (sample(&scrape(), expired) == Some(1.0)).then_some(())).is_some());

    // Peer flap: BIRD disables and enables the session.
    let runs = r#"prefixd_reconciliation_runs_total{status="in_sync"}"#;
    let runs_before = sample(&scrape(), runs).unwrap_or(0.0);
    bird.birdc("disable prefixd");
    assert!(
        wait(Duration::from_secs(10), || (sample(&scrape(), up) == Some(0.0)).then_some(())).is_some(),
        "{}",
        scrape()
    );
    bird.birdc("enable prefixd");
    assert!(
        wait(Duration::from_secs(20), || (sample(&scrape(), up) == Some(1.0)).then_some(())).is_some(),
        "{}",
        scrape()
    );
    // The reconciliation 2 s after the session came up again finds nothing to repair.
    assert!(
        wait(Duration::from_secs(10), || sample(&scrape(), runs).filter(|n| *n > runs_before)).is_some(),
        "{}",
        scrape()
    );

    let m = scrape();
    let expect = [
        (r#"prefixd_events_ingested_total{source="test",vector="udp_flood"}"#, 3.0),
        (r#"prefixd_events_rejected_total{source="test",reason="safelisted"}"#, 1.0),
        (r#"prefixd_events_rejected_total{source="test",reason="duplicate"}"#, 1.0),
        (r#"prefixd_guardrail_rejections_total{reason="safelisted"}"#, 1.0),
        (r#"prefixd_escalations_total{from_action="police",to_action="discard",pop="fra1"}"#, 1.0),
        (r#"prefixd_mitigations_created_total{action_type="police",pop="fra1"}"#, 2.0),
        (expired, 1.0),
        (r#"prefixd_mitigations_active{action_type="discard",pop="fra1"}"#, 1.0),
        (r#"prefixd_mitigations_active{action_type="police",pop="fra1"}"#, 0.0),
        (r#"prefixd_reconciliation_active_count{pop="fra1"}"#, 1.0),
        (r#"prefixd_http_requests_total{method="POST",route="/v1/events",status_class="2xx"}"#, 3.0),
        (r#"prefixd_http_requests_total{method="POST",route="/v1/events",status_class="4xx"}"#, 2.0),
        // Two sessions: BIRD sent two OPENs, and one NOTIFICATION (Cease) when disabled.
        (r#"prefixd_bgp_messages_total{peer="127.0.78.2",direction="received",type="open"}"#, 2.0),
        (r#"prefixd_bgp_messages_total{peer="127.0.78.2",direction="received",type="notification"}"#, 1.0),
        (up, 1.0),
    ];
    for (series, want) in expect {
        assert_eq!(sample(&m, series), Some(want), "{series}\n{m}");
    }
    // Announcements: 3 new or changed rules announced before the flap, 1 withdrawn at expiry.
    assert_eq!(sample(&m, r#"prefixd_announcements_total{kind="withdraw"}"#), Some(1.0), "{m}");
    assert_eq!(sample(&m, r#"prefixd_announcements_total{kind="announce"}"#), Some(3.0), "{m}");
    // One latency sample per request batch that changed routes (a1, a2, b1); expiry is not one.
    assert_eq!(sample(&m, "prefixd_announcements_latency_seconds_count"), Some(3.0), "{m}");
    assert!(sample(&m, "prefixd_store_commit_seconds_count").is_some_and(|n| n >= 5.0), "{m}");
}
