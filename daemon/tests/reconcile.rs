//! Reconciliation against a real BIRD: a rule put into our Adj-RIB-Out behind the engine's back
//! (an embedding program calling the speaker directly) is withdrawn, a desired rule removed
//! behind its back is announced again; and a rule left on the router by a previous run whose
//! mitigation expired while the daemon was down is gone after the restart.
//! Addresses: 127.0.72.1 (ours) and 127.0.72.2 (BIRD); 127.0.73.1 / 127.0.73.2 for the process test.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bird_config, bird_rules, event, Daemon};
use interop_harness::{poll, wait_for, Bird};
use prefixd::config::{Config, Mode};
use prefixd::engine::Request;
use prefixd::model::{Actor, EventInput};
use serde_json::json;
use speaker::{Route, Speaker, SpeakerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_withdrawn_and_missing_rules_announced() {
    let Some(bird) = Bird::start("reconcile", &bird_config("127.0.72.2", "127.0.72.1", "10.0.72.2")) else { return };
    let dir = bird.dir().to_path_buf();
    let mut loaded = Config::embedded();
    loaded.config.mode = Mode::Enforced;
    loaded.config.timers.reconciliation_interval_seconds = 3600;
    let store = prefixd::store::Store::open(&dir.join("prefixd.redb")).unwrap();
    let (speaker, events) =
        Speaker::start(SpeakerConfig { local_as: 65000, router_id: "10.0.72.1".parse().unwrap(), listen: Vec::new() })
            .await
            .unwrap();
    let (engine, _task) = prefixd::engine::start(store, Arc::new(loaded), Some(speaker.clone()), Some(events)).unwrap();
    let mut peer = speaker::PeerConfig::new("127.0.72.2".parse().unwrap(), 65001);
    peer.local_address = Some("127.0.72.1".parse().unwrap());
    speaker.add_peer(peer).unwrap();

    let input: EventInput = serde_json::from_value(event("203.0.113.20", "udp_flood", &[53], "r-1")).unwrap();
    let o = engine.call(|r| Request::Event(Box::new(input), Actor::system(), r)).await.unwrap();
    assert_eq!(o.status, "accepted");
    let wanted = "flow4 { dst 203.0.113.20/32; proto 17; dport 53; }";
    assert!(poll(Duration::from_secs(10), || bird_rules(&bird).contains(wanted).then_some(())).await.is_some());

    // Behind the engine's back: a rogue rule in, the wanted one out.
    let rogue: flowspec::FlowRule = "dst 192.0.2.99/32 proto =6 then discard".parse().unwrap();
    speaker.announce([Route::flowspec(&rogue).unwrap()]);
    let ours = Route::flowspec(
        &"dst 203.0.113.20/32 proto =17 dport =53 then rate-bytes 625000".parse::<flowspec::FlowRule>().unwrap(),
    )
    .unwrap();
    speaker.withdraw([ours.nlri.clone()]);
    assert!(poll(Duration::from_secs(10), || {
        let t = bird_rules(&bird);
        (t.contains("192.0.2.99/32") && !t.contains(wanted)).then_some(())
    })
    .await
    .is_some());

    let (tx, rx) = tokio::sync::oneshot::channel();
    engine.send(Request::Reconcile(tx)).await.unwrap();
    let report = rx.await.unwrap();
    assert_eq!((report.desired, report.announced, report.withdrawn), (1, 1, 1), "{report:?}");
    assert!(
        poll(Duration::from_secs(10), || {
            let t = bird_rules(&bird);
            (!t.contains("192.0.2.99/32") && t.contains(wanted)).then_some(())
        })
        .await
        .is_some(),
        "{}",
        bird_rules(&bird)
    );
    // And now nothing to repair.
    let (tx, rx) = tokio::sync::oneshot::channel();
    engine.send(Request::Reconcile(tx)).await.unwrap();
    let report = rx.await.unwrap();
    assert_eq!((report.announced, report.withdrawn, report.replaced, report.peers), (0, 0, 0, 1), "{report:?}");
    speaker.shutdown(None).await;
}

#[test]
fn a_rule_left_by_a_previous_run_is_withdrawn() {
    let Some(bird) = Bird::start("reconcile-proc", &bird_config("127.0.73.2", "127.0.73.1", "10.0.73.2")) else {
        return;
    };
    let config = r#"
mode = "enforced"
[http]
listen = "127.0.73.1:8080"
[bgp]
router_id = "10.0.73.1"
local_as = 65000
[[bgp.peer]]
address = "127.0.73.2"
remote_as = 65001
local_address = "127.0.73.1"
graceful_restart_time = 60
[guardrails]
min_ttl_seconds = 1
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
"#;
    let mut d = Daemon::start("reconcile-proc", "127.0.73.1:8080", config);
    let (st, v) = d.post("/v1/events", &event("203.0.113.30", "udp_flood", &[53], "keep"));
    assert_eq!(st, 202, "{v}");
    let mut short = event("203.0.113.31", "udp_flood", &[53], "short");
    short["ttl_seconds"] = json!(3);
    let (st, v) = d.post("/v1/events", &short);
    assert_eq!(st, 202, "{v}");
    assert!(wait_for(Duration::from_secs(10), || bird_rules(&bird).contains("203.0.113.31/32").then_some(())).is_some());
    // Crash: BIRD (graceful restart) keeps both rules as stale; the short one expires meanwhile.
    d.kill9();
    std::thread::sleep(Duration::from_secs(4));
    let t = bird_rules(&bird);
    assert!(t.contains("203.0.113.31/32") && t.contains("203.0.113.30/32"), "{t}");
    d.restart();
    let ok = wait_for(Duration::from_secs(15), || {
        let t = bird_rules(&bird);
        (!t.contains("203.0.113.31/32") && t.contains("203.0.113.30/32")).then_some(())
    });
    assert!(ok.is_some(), "{}", bird_rules(&bird));
    let (_, v) = d.get("/v1/mitigations?status=expired");
    assert_eq!(v["count"], 1, "{v}");
    d.stop();
}
