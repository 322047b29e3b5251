//! Load benchmark of `prefixd run` (see `benches/daemon/bench.sh`).
//!
//! The benchmark is the router: it runs a `speaker` on 127.0.76.2 that the daemon (127.0.76.1,
//! API on 127.0.76.1:8080, enforced, a real redb file) peers with. It measures:
//! 1. ingest: events per second answered 2xx (each answer means the event is durably committed),
//!    single events from C keep-alive clients, and in batches;
//! 2. latency at a fixed rate: from just before each POST is written to the moment our speaker
//!    has decoded the UPDATE carrying its rule (an upper bound of "the UPDATE leaves the daemon");
//! 3. restart: with R active mitigations in the store, from spawning `prefixd run` until the
//!    router holds all R rules again.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use speaker::{Event, PeerConfig, Speaker, SpeakerConfig};

const DAEMON: &str = "127.0.76.1";
const ROUTER: &str = "127.0.76.2";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn config(dir: &std::path::Path) -> String {
    format!(
        r#"
mode = "enforced"
[http]
listen = "{DAEMON}:8080"
max_body_bytes = 16777216
max_batch_events = 10000
[http.rate_limit]
events_per_second = 10000000
burst = 10000000
global_events_per_second = 10000000
global_burst = 10000000
[bgp]
router_id = "10.0.76.1"
local_as = 65000
shutdown = "withdraw"
[[bgp.peer]]
address = "{ROUTER}"
remote_as = 65001
local_address = "{DAEMON}"
families = ["ipv4-flowspec"]
graceful_restart_time = 0
[guardrails]
max_ttl_seconds = 86400
[quotas]
max_active_per_customer = 1000000
max_active_per_pop = 1000000
max_active_global = 1000000
max_new_per_minute = 100000000
max_announcements_per_peer = 100000000
[timers]
reconciliation_interval_seconds = 3600
[storage]
path = "{}/prefixd.redb"
[[inventory.customers]]
customer_id = "bench"
prefixes = ["10.0.0.0/8", "198.18.0.0/15"]
[[playbooks]]
name = "udp"
match = {{ vector = "udp_flood" }}
steps = [{{ action = "discard", ttl_seconds = 86400 }}]
"#,
        dir.display()
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Event `n`: its own victim in 10.0.0.0/8.
fn event(n: u64, prefix: &str) -> Value {
    json!({
        "timestamp": "2026-11-25T10:00:00Z", "source": "bench", "vector": "udp_flood",
        "victim_ip": format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "top_dst_ports": [53], "event_id": format!("{prefix}{n}"),
    })
}

fn victim_of(nlri: &speaker::Nlri) -> Option<IpAddr> {
    let spec = nlri.as_flowspec()?;
    let text = spec.to_string();
    let dst = text.strip_prefix("dst ")?.split('/').next()?;
    dst.parse().ok()
}

fn spawn(prefixd: &str, dir: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("prefixd.log")).expect("log");
    Command::new(prefixd)
        .args(["run", "--config"])
        .arg(dir.join("prefixd.toml"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn prefixd")
}

fn wait_http(base: &str) {
    let a = agent();
    for _ in 0..400 {
        if a.get(format!("{base}/v1/health")).call().is_ok_and(|r| r.status().as_u16() == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("prefixd did not come up");
}

fn stop(mut c: Child) {
    let _ = Command::new("kill").arg(c.id().to_string()).status();
    for _ in 0..400 {
        if c.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn main() {
    let prefixd = std::env::args().nth(1).expect("usage: daemon_load PREFIXD RUNDIR [--clients C] [--seconds S] ...");
    let dir = PathBuf::from(std::env::args().nth(2).expect("RUNDIR"));
    let clients = arg("--clients", 8);
    let seconds = arg("--seconds", 5);
    let batch = arg("--batch", 500);
    let rate = arg("--rate", 1000);
    let latency_events = arg("--latency-events", 5000);
    let restart_rules = arg("--restart-rules", 100_000);
    std::fs::create_dir_all(&dir).expect("rundir");
    let _ = std::fs::remove_file(dir.join("prefixd.redb"));
    std::fs::write(dir.join("prefixd.toml"), config(&dir)).expect("config");
    let base = format!("http://{DAEMON}:8080");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    // The router: passive, receives.
    let (router, mut events) = rt
        .block_on(Speaker::start(SpeakerConfig {
            local_as: 65001,
            router_id: "10.0.76.2".parse().expect("id"),
            listen: vec![format!("{ROUTER}:179").parse().expect("addr")],
        }))
        .expect("router speaker");
    let mut pc = PeerConfig::new(DAEMON.parse().expect("addr"), 65000);
    pc.passive = true;
    pc.local_address = Some(ROUTER.parse().expect("addr"));
    pc.families = vec![bgp_core::Family::IPV4_FLOWSPEC];
    let _guard = rt.enter();
    router.add_peer(pc).expect("peer");
    // Arrival times of rules by victim, from the router's event stream.
    let arrivals: Arc<Mutex<HashMap<IpAddr, Instant>>> = Arc::default();
    let up = Arc::new(AtomicBool::new(false));
    {
        let (arrivals, up) = (arrivals.clone(), up.clone());
        rt.spawn(async move {
            while let Some(e) = events.recv().await {
                match e {
                    Event::RoutesReceived { announced, .. } => {
                        let now = Instant::now();
                        let mut a = arrivals.lock().expect("lock");
                        for r in &announced {
                            if let Some(v) = victim_of(&r.nlri) {
                                a.entry(v).or_insert(now);
                            }
                        }
                    }
                    Event::PeerUp { .. } => up.store(true, Ordering::Relaxed),
                    Event::PeerDown { .. } => up.store(false, Ordering::Relaxed),
                    _ => {}
                }
            }
        });
    }
    let child = spawn(&prefixd, &dir);
    wait_http(&base);
    for _ in 0..400 {
        if up.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(up.load(Ordering::Relaxed), "session did not come up");
    let mut report = String::new();

    if seconds > 0 {
        // 1a. Single events, C clients, S seconds.
        let next = Arc::new(AtomicU64::new(0));
        let ok = Arc::new(AtomicU64::new(0));
        let end = Instant::now() + Duration::from_secs(seconds);
        let t0 = Instant::now();
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                let (next, ok, base) = (next.clone(), ok.clone(), base.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    while Instant::now() < end {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        // The body is read so that the connection is kept alive.
                        if let Ok(mut r) = a.post(format!("{base}/v1/events")).send_json(event(n, "s")) {
                            let _ = r.body_mut().read_to_vec();
                            if r.status().as_u16() == 202 {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        let single = ok.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
        report += &format!(
            "ingest single POST ({clients} clients, {seconds} s): {} events answered 202, {single:.0} events/s\n",
            ok.load(Ordering::Relaxed)
        );

        // 1b. Batches of B, C clients, S seconds (victims 10.128.0.0 onwards, each a new rule).
        let base_n = 1u64 << 23;
        let next = Arc::new(AtomicU64::new(base_n));
        let ok = Arc::new(AtomicU64::new(0));
        let end = Instant::now() + Duration::from_secs(seconds);
        let t0 = Instant::now();
        let threads: Vec<_> = (0..clients.min(8))
            .map(|_| {
                let (next, ok, base) = (next.clone(), ok.clone(), base.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    while Instant::now() < end {
                        let n = next.fetch_add(batch, Ordering::Relaxed);
                        let evs: Vec<Value> = (n..n + batch).map(|i| event(i, "b")).collect();
                        if let Ok(mut r) = a.post(format!("{base}/v1/events/batch")).send_json(json!({"events": evs})) {
                            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                            ok.fetch_add(v["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        let batched = ok.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
        report += &format!(
            "ingest batches of {batch} ({} clients, {seconds} s): {} events accepted, {batched:.0} events/s\n",
            clients.min(8),
            ok.load(Ordering::Relaxed)
        );
    }
    if latency_events > 0 {
        // Let the backlog of the ingest phases drain before measuring latency.
        std::thread::sleep(Duration::from_secs(2));
        // 2. Latency at a fixed rate, open loop: event i is due at start + i/rate whatever the answers
        //    to earlier ones; 8 sender threads share the schedule.
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let start = Instant::now() + Duration::from_millis(50);
        let senders: Vec<_> = (0..8u64)
            .map(|t| {
                let base = base.clone();
                std::thread::spawn(move || {
                    let a = agent();
                    let mut sent: Vec<(IpAddr, Instant)> = Vec::new();
                    for i in (t..latency_events).step_by(8) {
                        let due = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
                        if let Some(d) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(d);
                        }
                        let victim: IpAddr = format!("198.18.{}.{}", (i >> 8) & 255, i & 255).parse().expect("ip");
                        let ev = json!({"timestamp": "2026-11-25T10:00:00Z", "source": "lat", "vector": "udp_flood",
                                    "victim_ip": victim, "top_dst_ports": [53], "event_id": format!("l{i}")});
                        let body = ev.to_string();
                        let t = Instant::now();
                        let mut r = a
                            .post(format!("{base}/v1/events"))
                            .header("content-type", "application/json")
                            .send(body.as_bytes())
                            .expect("latency event");
                        let _ = r.body_mut().read_to_vec();
                        assert_eq!(r.status().as_u16(), 202, "latency event {i} refused");
                        sent.push((victim, t));
                    }
                    sent
                })
            })
            .collect();
        let sent: Vec<(IpAddr, Instant)> = senders.into_iter().flat_map(|h| h.join().expect("sender")).collect();
        let achieved = latency_events as f64 / start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(500));
        let arr = arrivals.lock().expect("lock").clone();
        let mut lat: Vec<f64> =
            sent.iter().filter_map(|(v, t)| arr.get(v).map(|a| a.duration_since(*t).as_secs_f64() * 1e3)).collect();
        let seen = lat.len();
        let (p50, p99, max) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99), pct(&mut lat, 1.0));
        report += &format!(
        "POST to UPDATE decoded at the router, {latency_events} events at {achieved:.0}/s: {seen} seen, p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms\n"
    );
    }
    if restart_rules > 0 {
        // 3. Restart with R active rules.
        let a = agent();
        let active_now = {
            let mut r = a.get(format!("{base}/v1/health/detail")).call().expect("health");
            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
            v["active_mitigations"].as_u64().unwrap_or(0)
        };
        if active_now < restart_rules {
            // Top up with batches of 1,000 new victims in 10.192.0.0/10.
            let mut n = 3u64 << 22;
            let mut active = active_now;
            while active < restart_rules {
                let k = (restart_rules - active).min(1000);
                let evs: Vec<Value> = (n..n + k).map(|i| event(i, "r")).collect();
                n += k;
                let mut r = a.post(format!("{base}/v1/events/batch")).send_json(json!({"events": evs})).expect("batch");
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                active += v["accepted"].as_u64().unwrap_or(0);
            }
        }
        let active = {
            let mut r = a.get(format!("{base}/v1/health/detail")).call().expect("health");
            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
            v["active_mitigations"].as_u64().unwrap_or(0)
        };
        let hwm = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
            })
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0);
        report +=
            &format!("daemon peak RSS {} MiB with {active} active rules and every event above stored\n", hwm / 1024);
        let daemon_addr: IpAddr = DAEMON.parse().expect("addr");
        let held = || rt.block_on(router.peer_status(daemon_addr)).map_or(0, |s| s.adj_rib_in as u64);
        let before = held();
        stop(child);
        for _ in 0..1000 {
            if held() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let t0 = Instant::now();
        let child = spawn(&prefixd, &dir);
        let mut restart = None;
        while t0.elapsed() < Duration::from_secs(120) {
            if held() >= active {
                restart = Some(t0.elapsed().as_secs_f64());
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        report += &format!(
        "restart with {active} active rules (router held {before} before the stop, 0 after): all back {} s after spawning prefixd\n",
        restart.map_or_else(|| "NOT within 120".to_string(), |s| format!("{s:.3}"))
    );
        stop(child);
    } else {
        stop(child);
    }
    rt.block_on(router.shutdown(None));
    print!("{report}");
    let _ = std::io::stdout().flush();
}
