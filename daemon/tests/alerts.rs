//! Alerts against a local HTTP receiver: the Slack payload, PagerDuty trigger and resolve with
//! the mitigation id as dedup key, a generic webhook whose HMAC-SHA256 signature verifies and
//! which is retried after 500s, a redirect not followed, nothing sent to a destination whose
//! secret is missing, and no secret in the settings the API shows. Addresses: prefixd 127.0.85.1:8080, receiver 127.0.85.2.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{event, wait, Daemon};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A receiver: records every request; answers 500 to the first `fail_generic` on /generic.
fn receiver(addr: &str, fail_generic: usize) -> Arc<Mutex<Vec<Req>>> {
    let listener = TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(false).unwrap();
    let seen: Arc<Mutex<Vec<Req>>> = Arc::default();
    let out = seen.clone();
    std::thread::spawn(move || {
        let mut generic = 0usize;
        // Bounded: 200 requests at most.
        for _ in 0..200 {
            let Ok((stream, _)) = listener.accept() else { return };
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let status = if path == "/generic" && generic < fail_generic {
                generic += 1;
                "500 Internal Server Error"
            } else if path == "/redirect" {
                "302 Found\r\nLocation: http://127.0.85.2:8080/stolen"
            } else {
                "200 OK"
            };
            seen.lock().unwrap().push(Req { path, headers, body });
            let mut s = stream;
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    out
}

#[test]
fn webhooks_are_sent_signed_retried_and_resolved() {
    let secret = "hmac-secret-not-shown-anywhere";
    let pd_key = "pd-routing-key-not-shown";
    std::env::set_var("PREFIXD_ALERT_TEST_SLACK", "http://127.0.85.2:8080/slack");
    std::env::set_var("PREFIXD_ALERT_TEST_HMAC", secret);
    std::env::set_var("PREFIXD_ALERT_TEST_PD", pd_key);
    std::env::remove_var("PREFIXD_ALERT_TEST_UNSET");
    let seen = receiver("127.0.85.2:8080", 2);
    let config = r#"
[http]
listen = "127.0.85.1:8080"
[storage]
path = "@DIR@/prefixd.redb"
[alerts]
retry_base_ms = 50
allow_private_destinations = true
[[alerts.destination]]
type = "slack"
url_env = "PREFIXD_ALERT_TEST_SLACK"
events = ["mitigation_created"]
[[alerts.destination]]
type = "pagerduty"
url = "http://127.0.85.2:8080/pd"
secret_env = "PREFIXD_ALERT_TEST_PD"
[[alerts.destination]]
type = "generic"
url = "http://127.0.85.2:8080/generic"
secret_env = "PREFIXD_ALERT_TEST_HMAC"
events = ["mitigation_created", "mitigation_withdrawn"]
[[alerts.destination]]
name = "redirecting"
type = "generic"
url = "http://127.0.85.2:8080/redirect"
events = ["mitigation_created"]
[[alerts.destination]]
type = "opsgenie"
url = "http://127.0.85.2:8080/opsgenie"
secret_env = "PREFIXD_ALERT_TEST_UNSET"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
"#;
    let d = Daemon::start("alerts", "127.0.85.1:8080", config);
    let (st, v) = d.post("/v1/events", &event("203.0.113.7", "udp_flood", &[53], "al-1"));
    assert_eq!(st, 202, "{v}");
    let id = v["mitigation_id"].as_str().unwrap().to_string();
    let (st, _) = d.post(&format!("/v1/mitigations/{id}/withdraw"), &json!({"reason": "over"}));
    assert_eq!(st, 200);
    // Slack 1, PagerDuty 2 (trigger, resolve), generic 2 failures + created + withdrawn, and the
    // redirecting destination once.
    let all = wait(Duration::from_secs(15), || {
        let s = seen.lock().unwrap().clone();
        (s.len() >= 8).then_some(s)
    })
    .unwrap_or_else(|| panic!("{:?}\n{}", seen.lock().unwrap(), d.log()));
    let on = |p: &str| all.iter().filter(|r| r.path == p).cloned().collect::<Vec<_>>();
    let json_of = |r: &Req| serde_json::from_slice::<Value>(&r.body).unwrap();

    let slack = on("/slack");
    assert_eq!(slack.len(), 1);
    let s = json_of(&slack[0]);
    assert!(s["text"].as_str().unwrap().contains("mitigation created") && s["blocks"].is_array(), "{s}");

    let pd = on("/pd");
    assert_eq!(pd.len(), 2, "{pd:?}");
    let (t, r) = (json_of(&pd[0]), json_of(&pd[1]));
    assert_eq!((t["event_action"].as_str(), t["dedup_key"].as_str()), (Some("trigger"), Some(id.as_str())), "{t}");
    assert_eq!(t["routing_key"], pd_key);
    assert_eq!(t["payload"]["custom_details"]["victim_ip"], "203.0.113.7", "{t}");
    assert_eq!((r["event_action"].as_str(), r["dedup_key"].as_str()), (Some("resolve"), Some(id.as_str())), "{r}");

    let generic = on("/generic");
    assert_eq!(generic.len(), 4, "two 500s retried, then created and withdrawn: {generic:?}");
    for g in &generic {
        let sig = g.headers.get("x-prefixd-signature").unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let want: String = ring::hmac::sign(&key, &g.body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sig, &format!("sha256={want}"));
    }
    let types: Vec<String> = generic.iter().map(|g| json_of(g)["event_type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["mitigation.created", "mitigation.created", "mitigation.created", "mitigation.withdrawn"]);

    // A redirect is not followed (its target was never checked against the SSRF rules).
    assert_eq!(on("/redirect").len(), 1);
    assert!(on("/stolen").is_empty());
    // The destination with no secret was disabled: nothing was sent to it.
    assert!(on("/opsgenie").is_empty());
    // No secret in what the API shows.
    let (_, settings) = d.get("/v1/config/settings");
    let text = settings.to_string();
    assert!(!text.contains(secret) && !text.contains(pd_key) && !text.contains("/slack"), "{text}");
    assert!(text.contains("PREFIXD_ALERT_TEST_HMAC"));
    let m = common::agent().get(format!("{}/metrics", d.api)).call().unwrap().body_mut().read_to_string().unwrap();
    for line in [
        r#"prefixd_alerts_sent_total{destination="generic",status="sent"} 2"#,
        r#"prefixd_alerts_sent_total{destination="pagerduty",status="sent"} 2"#,
        r#"prefixd_alerts_sent_total{destination="slack",status="sent"} 1"#,
        r#"prefixd_alerts_sent_total{destination="redirecting",status="failed"} 1"#,
        "prefixd_alerts_dropped_total 0",
    ] {
        assert!(m.contains(line), "{line}\n{m}");
    }
}
