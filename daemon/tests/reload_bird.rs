//! Reload without restart: a peer added to the file comes up on SIGHUP while the existing
//! session stays up (BIRD shows no flap); an invalid file, or a peer whose TCP-MD5 key the kernel
//! would refuse, is refused with the reason and the old configuration keeps running; a peer removed from the file is closed.
//! Addresses: prefixd 127.0.81.1 (API port 8080, and BGP towards 127.0.81.2) and 127.0.81.4
//! (BGP towards 127.0.81.3); BIRD 127.0.81.2 and 127.0.81.3 (two sessions).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{wait, Daemon};
use interop_harness::Bird;

const BIRD: &str = r#"log "@DIR@/bird.log" all;
router id 10.0.81.2;
protocol device { }
flow4 table flowtab4;
protocol bgp p2 {
  local 127.0.81.2 port 179 as 65001;
  neighbor 127.0.81.1 port 179 as 65000;
  strict bind yes; multihop; passive on;
  flow4 { table flowtab4; import all; export none; };
}
protocol bgp p3 {
  local 127.0.81.3 port 179 as 65001;
  neighbor 127.0.81.4 port 179 as 65000;
  strict bind yes; multihop; passive on;
  flow4 { table flowtab4; import all; export none; };
}
"#;

fn config(peers: &[&str]) -> String {
    let mut c = String::from(
        "mode = \"enforced\"\n[http]\nlisten = \"127.0.81.1:8080\"\n[bgp]\nrouter_id = \"10.0.81.1\"\nlocal_as = 65000\n",
    );
    for p in peers {
        // BIRD takes one session per neighbor address: we use 127.0.81.1 towards .2, .4 towards .3.
        let local = if *p == "127.0.81.2" { "127.0.81.1" } else { "127.0.81.4" };
        c += &format!(
            "[[bgp.peer]]\naddress = \"{p}\"\nremote_as = 65001\nlocal_address = \"{local}\"\nfamilies = [\"ipv4-flowspec\"]\nconnect_retry_seconds = 1\n"
        );
    }
    c += "[storage]\npath = \"state/prefixd.redb\"\n[[inventory.customers]]\ncustomer_id = \"c\"\nprefixes = [\"203.0.113.0/24\"]\n";
    c
}

/// "Established" and the time of the last state change, from `show protocols NAME`.
fn state(bird: &Bird, name: &str) -> (bool, String) {
    let out = bird.birdc(&format!("show protocols {name}"));
    let line = out.lines().find(|l| l.starts_with(name)).unwrap_or("").to_string();
    let since = line.split_whitespace().nth(4).unwrap_or("").to_string();
    (line.contains("Established"), since)
}

fn hup(pid: u32) {
    assert!(Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap().success());
}

#[test]
fn sighup_adds_and_removes_peers_without_touching_others() {
    let Some(bird) = Bird::start("reload", BIRD) else { return };
    // A TCP-MD5 key the kernel would refuse (81 bytes), in the daemon's environment.
    std::env::set_var("PREFIXD_TEST_MD5_81", "k".repeat(81));
    let d = Daemon::start("reload", "127.0.81.1:8080", &config(&["127.0.81.2"]));
    assert!(
        wait(Duration::from_secs(15), || state(&bird, "p2").0.then_some(())).is_some(),
        "{}",
        bird.birdc("show protocols")
    );
    let before = state(&bird, "p2");
    assert!(!state(&bird, "p3").0);

    // An invalid file: refused with the reason, nothing changes.
    let file = d.dir().join("prefixd.toml");
    std::fs::write(
        &file,
        config(&["127.0.81.2", "127.0.81.3"]).replace("local_as = 65000", "local_as = 65000\nbogus = 1"),
    )
    .unwrap();
    let (st, v) = d.post("/v1/config/reload", &serde_json::json!({}));
    assert_eq!(st, 400, "{v}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("nothing changed") && err.contains("bogus") && err.contains("line"), "{err}");
    // A peer whose TCP-MD5 key cannot be set: refused before anything changes.
    std::fs::write(
        &file,
        config(&["127.0.81.2", "127.0.81.3"]).replace(
            "connect_retry_seconds = 1\n[storage]",
            "connect_retry_seconds = 1\nmd5_password_env = \"PREFIXD_TEST_MD5_81\"\n[storage]",
        ),
    )
    .unwrap();
    let (st, v) = d.post("/v1/config/reload", &serde_json::json!({}));
    assert_eq!(st, 400, "{v}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("nothing changed") && err.contains("127.0.81.3") && err.contains("81 bytes"), "{err}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!state(&bird, "p3").0);
    assert_eq!(d.get("/v1/peers").1.as_array().unwrap().len(), 1);
    assert_eq!(state(&bird, "p2"), before, "p2 flapped");

    // A valid file with a second peer, by SIGHUP: p3 comes up, p2 does not flap.
    std::fs::write(&file, config(&["127.0.81.2", "127.0.81.3"])).unwrap();
    hup(d.pid());
    assert!(
        wait(Duration::from_secs(15), || state(&bird, "p3").0.then_some(())).is_some(),
        "{}\n{}",
        bird.birdc("show protocols"),
        d.log()
    );
    assert_eq!(state(&bird, "p2"), before, "p2 flapped");
    assert_eq!(d.get("/v1/peers").1.as_array().unwrap().len(), 2);
    // An event reaches both sessions.
    assert_eq!(d.post("/v1/events", &common::event("203.0.113.5", "udp_flood", &[53], "r1")).0, 202);
    let both = wait(Duration::from_secs(10), || {
        let t = bird.birdc("show route table flowtab4 all");
        (t.matches("203.0.113.5/32").count() >= 2 || t.contains("p3") && t.contains("p2")).then_some(t)
    });
    assert!(both.is_some(), "{}", bird.birdc("show route table flowtab4 all"));

    // Remove p2 through the API: its session is closed, p3 stays.
    let p3_before = state(&bird, "p3");
    std::fs::write(&file, config(&["127.0.81.3"])).unwrap();
    let (st, v) = d.post("/v1/config/reload", &serde_json::json!({}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["peers"]["removed"][0], "127.0.81.2", "{v}");
    assert!(wait(Duration::from_secs(10), || (!state(&bird, "p2").0).then_some(())).is_some());
    assert_eq!(state(&bird, "p3"), p3_before, "p3 flapped");
}
