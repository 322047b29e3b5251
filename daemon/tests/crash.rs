//! Crash test: `kill -9` the daemon 20 times while two clients post events. After every restart,
//! every event that got a 2xx answer is in the store, and BIRD's table equals the desired set
//! (the active mitigations), including rules announced by a request that never got its answer.
//! Addresses: prefixd 127.0.74.1 (BGP and API port 8080), BIRD 127.0.74.2.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{agent, all_events, bird_config, event, wait, Daemon};
use interop_harness::Bird;
use serde_json::Value;

const CONFIG: &str = r#"
mode = "enforced"
[http]
listen = "127.0.74.1:8080"
[http.rate_limit]
events_per_second = 10000000
burst = 10000000
global_events_per_second = 10000000
global_burst = 10000000
[bgp]
router_id = "10.0.74.1"
local_as = 65000
[[bgp.peer]]
address = "127.0.74.2"
remote_as = 65001
local_address = "127.0.74.1"
graceful_restart_time = 60
[quotas]
max_active_per_customer = 100000
max_active_per_pop = 100000
max_active_global = 100000
max_new_per_minute = 1000000
max_announcements_per_peer = 100000
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "bench"
prefixes = ["198.18.0.0/15"]
[[playbooks]]
name = "udp"
match = { vector = "udp_flood" }
steps = [{ action = "discard", ttl_seconds = 1800 }]
"#;

fn desired(d: &Daemon) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/mitigations?status=active,escalated&limit=1000&cursor={c}"),
            None => "/v1/mitigations?status=active,escalated&limit=1000".to_string(),
        };
        let (st, v) = d.get(&path);
        assert_eq!(st, 200, "{v}");
        for m in v["mitigations"].as_array().unwrap() {
            out.insert(m["dst_prefix"].as_str().unwrap().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn bird_set(bird: &Bird) -> BTreeSet<String> {
    bird.birdc("show route table flowtab4")
        .lines()
        .filter_map(|l| l.strip_prefix("flow4 { dst "))
        .filter_map(|l| l.split(';').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn kill_9_twenty_times_under_load_loses_nothing_answered() {
    let Some(bird) = Bird::start("crash", &bird_config("127.0.74.2", "127.0.74.1", "10.0.74.2")) else { return };
    let mut d = Daemon::start("crash", "127.0.74.1:8080", CONFIG);
    let api = d.api.clone();
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let mut total_answered = 0usize;
    for round in 0..20 {
        let running = Arc::new(AtomicBool::new(true));
        let clients: Vec<_> = (0..2)
            .map(|_| {
                let (api, acked, counter, running) = (api.clone(), acked.clone(), counter.clone(), running.clone());
                std::thread::spawn(move || {
                    let agent = agent();
                    // Bounded: at most 100,000 posts per client per round, and only while running.
                    for _ in 0..100_000 {
                        if !running.load(Ordering::Relaxed) {
                            break;
                        }
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let victim = format!("198.18.{}.{}", n / 250, n % 250 + 1);
                        let id = format!("e{n}");
                        match agent.post(format!("{api}/v1/events")).send_json(event(&victim, "udp_flood", &[53], &id))
                        {
                            Ok(mut r) if r.status().is_success() => {
                                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                                assert_eq!(v["status"], "accepted", "{v}");
                                acked.lock().unwrap().insert(id);
                            }
                            Ok(r) => panic!("unexpected status {}", r.status()),
                            // Killed under us: the answer never came, so nothing is owed.
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        d.kill9();
        running.store(false, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        d.restart();
        let stored = all_events(&d);
        let acked_now = acked.lock().unwrap().clone();
        let missing: Vec<&String> = acked_now.difference(&stored).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} answered events missing, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        total_answered = acked_now.len();
        let want = desired(&d);
        let same = wait(Duration::from_secs(30), || (bird_set(&bird) == want).then_some(()));
        let have = bird_set(&bird);
        assert!(
            same.is_some(),
            "round {round}: BIRD has {} rules, desired {}; only in BIRD {:?}, only desired {:?}",
            have.len(),
            want.len(),
            have.difference(&want).take(5).collect::<Vec<_>>(),
            want.difference(&have).take(5).collect::<Vec<_>>()
        );
    }
    assert!(total_answered > 100, "the load generator got only {total_answered} answers");
    eprintln!("crash test: {total_answered} answered events over 20 kills, {} posted", counter.load(Ordering::Relaxed));
    d.stop();
}
