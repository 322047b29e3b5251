//! `GET /v1/stream`: Server-Sent Events of committed changes, resumable with `Last-Event-ID`.
//! Addresses: 127.0.80.1:8080 and 127.0.80.2:8080 (API only, dry-run).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{event, Daemon};
use serde_json::json;

/// Opens the stream and reads `(id, event)` pairs until `want` of them came, the server ended the
/// stream, or 10 s passed. An event without an id (`resync_required`) has id 0.
fn read_events(addr: &str, last_id: Option<u64>, want: usize) -> Vec<(u64, String)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let last = last_id.map(|i| format!("Last-Event-ID: {i}\r\n")).unwrap_or_default();
    write!(s, "GET /v1/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{last}\r\n").unwrap();
    let mut r = BufReader::new(s);
    let (mut out, mut id) = (Vec::new(), None);
    let end = Instant::now() + Duration::from_secs(10);
    let mut line = String::new();
    while out.len() < want && Instant::now() < end {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                let l = line.trim_end();
                if let Some(v) = l.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(e) = l.strip_prefix("event: ") {
                    out.push((id.take().unwrap_or(0), e.to_string()));
                }
            }
            Err(_) => {}
        }
    }
    out
}

#[test]
fn live_events_and_resume_with_last_event_id() {
    let config = r#"
[http]
listen = "127.0.80.1:8080"
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
"#;
    let d = Daemon::start("stream", "127.0.80.1:8080", config);
    // Live: subscribe, then post.
    let reader = std::thread::spawn(|| read_events("127.0.80.1:8080", None, 2));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.post("/v1/events", &event("203.0.113.1", "udp_flood", &[53], "s1")).0, 202);
    let live = reader.join().unwrap();
    let names: Vec<&str> = live.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(names, ["mitigation_created", "event_accepted"], "{live:?}");
    let last = live[1].0;
    // While disconnected: an unban (withdrawal and its event).
    let mut unban = event("203.0.113.1", "udp_flood", &[53], "s1");
    unban["action"] = serde_json::json!("unban");
    assert_eq!(d.post("/v1/events", &unban).0, 202);
    // Resume: exactly what came after `last`, in order.
    let resumed = read_events("127.0.80.1:8080", Some(last), 2);
    let names: Vec<&str> = resumed.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(names, ["mitigation_withdrawn", "event_accepted"], "{resumed:?}");
    assert!(resumed.iter().all(|(id, _)| *id > last));
}

#[test]
fn a_long_backlog_comes_in_parts() {
    let config = &format!(
        r#"
[http]
listen = "127.0.80.2:8080"
{quotas}
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["198.18.0.0/16"]
"#,
        quotas = common::UNLIMITED_QUOTAS
    );
    let d = Daemon::start("stream-backlog", "127.0.80.2:8080", config);
    // 6,000 events, two audit records each: more than one connection replays (10,000).
    for b in 0..6u32 {
        let events: Vec<_> = (0..1000u32)
            .map(|i| {
                let n = b * 1000 + i;
                event(&format!("198.18.{}.{}", n / 256, n % 256), "udp_flood", &[53], &format!("b{n}"))
            })
            .collect();
        let (code, body) = d.post("/v1/events/batch", &json!({ "events": events }));
        assert_eq!(code, 200, "{body}");
    }
    let first = read_events("127.0.80.2:8080", Some(0), 20_000);
    assert_eq!(first.len(), 10_001, "{:?}", first.last());
    assert_eq!(first[10_000], (0, "resync_required".to_string()));
    let ids: Vec<u64> = first[..10_000].iter().map(|(i, _)| *i).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // The rest, from the last id: every record after it, none twice, then the live feed.
    let rest = read_events("127.0.80.2:8080", Some(ids[9_999]), 2_000);
    assert_eq!(rest.len(), 2_000);
    assert!(rest.iter().all(|(i, e)| *i > ids[9_999] && e != "resync_required"));
    let mut all: Vec<u64> = ids.clone();
    all.extend(rest.iter().map(|(i, _)| *i));
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all.len(), 12_000);
}
