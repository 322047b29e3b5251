//! SIGTERM: by default the rules stay on a graceful-restart router while the daemon is away, and a
//! restart within the restart time never shows the router a withdrawal (BIRD is watched every
//! 50 ms); with `[bgp] shutdown = "withdraw"` the rules are gone after SIGTERM.
//! Addresses: prefixd 127.0.82.1 / BIRD 127.0.82.2 (keep), prefixd 127.0.83.1 / BIRD 127.0.83.2 (withdraw).

mod common;

use std::time::{Duration, Instant};

use common::{bird_config, event, wait, Daemon};
use interop_harness::Bird;

fn config(me: &str, bird: &str, shutdown: &str) -> String {
    format!(
        r#"
mode = "enforced"
[http]
listen = "{me}:8080"
[bgp]
router_id = "10.0.82.1"
local_as = 65000
shutdown = "{shutdown}"
[[bgp.peer]]
address = "{bird}"
remote_as = 65001
local_address = "{me}"
graceful_restart_time = 60
connect_retry_seconds = 1
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c"
prefixes = ["203.0.113.0/24"]
"#
    )
}

fn count(bird: &Bird) -> usize {
    bird.count("flowtab4")
}

#[test]
fn sigterm_keeps_rules_through_a_restart() {
    let Some(bird) = Bird::start("shutdown-keep", &bird_config("127.0.82.2", "127.0.82.1", "10.0.82.2")) else {
        return;
    };
    let mut d = Daemon::start("shutdown-keep", "127.0.82.1:8080", &config("127.0.82.1", "127.0.82.2", "keep-routes"));
    for (i, ip) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"].iter().enumerate() {
        assert_eq!(d.post("/v1/events", &event(ip, "udp_flood", &[53], &format!("k{i}"))).0, 202);
    }
    assert!(wait(Duration::from_secs(10), || (count(&bird) == 3).then_some(())).is_some());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = std::thread::spawn({
        let dir = bird.dir().to_path_buf();
        let done = done.clone();
        move || {
            // Bounded: until told, at most 30 s of 50 ms polls.
            let end = Instant::now() + Duration::from_secs(30);
            let mut least = usize::MAX;
            while Instant::now() < end && !done.load(std::sync::atomic::Ordering::Relaxed) {
                let out = std::process::Command::new("birdc")
                    .arg("-s")
                    .arg(dir.join("bird.ctl"))
                    .args(["show", "route", "table", "flowtab4", "count"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                if let Some(n) = text
                    .lines()
                    .find(|l| l.contains("routes for"))
                    .and_then(|l| l.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
                {
                    least = least.min(n);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            least
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    d.stop();
    std::thread::sleep(Duration::from_secs(2));
    d.restart();
    let up =
        wait(Duration::from_secs(10), || bird.birdc("show protocols prefixd").contains("Established").then_some(()));
    assert!(up.is_some(), "{}", bird.birdc("show protocols all prefixd"));
    // A moment after Established: the End-of-RIB has come and BIRD has flushed what was stale.
    std::thread::sleep(Duration::from_secs(1));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let least = watch.join().unwrap();
    assert_eq!(least, 3, "BIRD's table dropped to {least} during the restart");
    assert_eq!(count(&bird), 3);
}

#[test]
fn sigterm_with_withdraw_removes_the_rules() {
    let Some(bird) = Bird::start("shutdown-wd", &bird_config("127.0.83.2", "127.0.83.1", "10.0.83.2")) else { return };
    let mut d = Daemon::start("shutdown-wd", "127.0.83.1:8080", &config("127.0.83.1", "127.0.83.2", "withdraw"));
    assert_eq!(d.post("/v1/events", &event("203.0.113.9", "udp_flood", &[53], "w1")).0, 202);
    assert!(wait(Duration::from_secs(10), || (count(&bird) == 1).then_some(())).is_some());
    d.stop();
    assert!(wait(Duration::from_secs(10), || (count(&bird) == 0).then_some(())).is_some());
    let p = bird.birdc("show protocols all prefixd");
    assert!(p.contains("prefixd shutting down"), "{p}");
}
