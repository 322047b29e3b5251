//! Many clients for a bounded time: every event answered 2xx is in the store afterwards, and
//! the per-client rate limit answers 429 (never an error) when a client outruns it.
//! Address: 127.0.77.1:8080 (API only, dry-run).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{agent, all_events, event, Daemon};

#[test]
fn many_clients_lose_no_accepted_event() {
    let config = &format!(
        r#"
[http]
listen = "127.0.77.1:8080"
max_batch_events = 200
[http.rate_limit]
events_per_second = 200
burst = 200
{quotas}
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c"
prefixes = ["198.18.0.0/15"]
"#,
        quotas = common::UNLIMITED_QUOTAS
    );
    let d = Daemon::start("hammer", "127.0.77.1:8080", config);
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let limited = Arc::new(AtomicU64::new(0));
    let counter = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(2);
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (api, acked, limited, counter) = (d.api.clone(), acked.clone(), limited.clone(), counter.clone());
            std::thread::spawn(move || {
                let agent = agent();
                for _ in 0..100_000 {
                    if Instant::now() >= end {
                        break;
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let id = format!("h{n}");
                    let victim = format!("198.18.{}.{}", n / 250, n % 250 + 1);
                    let mut r = agent
                        .post(format!("{api}/v1/events"))
                        .send_json(event(&victim, "udp_flood", &[53], &id))
                        .unwrap();
                    let st = r.status().as_u16();
                    let _ = r.body_mut().read_to_vec();
                    match st {
                        202 => {
                            acked.lock().unwrap().insert(id);
                        }
                        429 => {
                            limited.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("unexpected {other}"),
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // All clients are "anonymous" here (auth none): one bucket of 200/s with a burst of 200.
    let acked = acked.lock().unwrap().clone();
    assert!(limited.load(Ordering::Relaxed) > 0, "the rate limit never answered 429");
    assert!(acked.len() >= 200, "only {} accepted", acked.len());
    let stored = all_events(&d);
    assert_eq!(stored, acked, "stored events differ from the accepted ones");
    eprintln!("hammer: {} accepted, {} answered 429", acked.len(), limited.load(Ordering::Relaxed));
}
