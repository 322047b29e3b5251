//! The speaker against a real BIRD 2, over IPv4 and IPv6 transport: the session comes up, rules we
//! announce appear in `birdc` with the same components, BIRD's own rules arrive in our
//! Adj-RIB-In, a withdrawal removes a rule, and a route refresh from BIRD is answered.
//!
//! Addresses: 127.0.62.1 (us) / 127.0.62.2 (BIRD) on port 179; [::1]:1793 (us) / [::1]:1792 (BIRD).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_core::fsm::State;
use bgp_core::Family;
use flowspec::FlowRule;
use interop_harness::{poll, Bird};

mod common;
use common::next_event;
use speaker::{Event, PeerConfig, Route, Speaker, SpeakerConfig};

fn bird_conf(bird: &str, bird_port: u16, us: &str, us_port: u16) -> String {
    format!(
        r#"log "@DIR@/bird.log" all;
router id 10.0.62.2;
protocol device {{ }}
flow4 table flowtab4;
flow6 table flowtab6;
protocol static flowstatic {{
  flow4 {{ table flowtab4; }};
  route flow4 {{ dst 192.0.2.0/24; proto = 17; dport = 53; }};
}}
protocol static flowstatic6 {{
  flow6 {{ table flowtab6; }};
  route flow6 {{ dst 2001:db8:2::/48; next header = 17; dport = 53; }};
}}
protocol bgp speaker {{
  local {bird} port {bird_port} as 65001;
  neighbor {us} port {us_port} as 65000;
  strict bind yes;
  multihop;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  flow4 {{ table flowtab4; import all; export all; }};
  flow6 {{ table flowtab6; import all; export all; }};
  ipv4 {{ import all; export none; }};
}}
"#
    )
}

async fn scenario(name: &str, us: &str, us_port: u16, bird_addr: &str, bird_port: u16) {
    let Some(bird) = Bird::start(name, &bird_conf(bird_addr, bird_port, us, us_port)) else { return };
    let us_ip: IpAddr = us.parse().unwrap();
    let bird_ip: IpAddr = bird_addr.parse().unwrap();
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: "10.0.62.1".parse().unwrap(),
        listen: vec![SocketAddr::new(us_ip, us_port)],
    };
    let (speaker, mut events) = Speaker::start(config).await.unwrap();
    let rules = [
        "dst 203.0.113.7/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000",
        "dst 203.0.113.8/32 proto =6 dport =443 tcp-flags =syn then discard",
        "dst 203.0.113.9/32 proto =17 sport =123 then discard",
        "dst 2001:db8:9::1/128 proto =17 sport =53 then discard",
        "dst 2001:db8:9::2/128 proto =6 dport =80 then rate-bytes 1000",
    ];
    let routes: Vec<Route> = rules.iter().map(|r| Route::flowspec(&r.parse::<FlowRule>().unwrap()).unwrap()).collect();
    speaker.announce(routes.clone());
    let mut peer = PeerConfig::new(bird_ip, 65001);
    peer.port = bird_port;
    peer.local_address = Some(us_ip);
    // A unicast route too, with our address as next hop (IPv4 transport only: an IPv4 route
    // needs an IPv4 next hop).
    if us_ip.is_ipv4() {
        peer.families.push(Family::IPV4_UNICAST);
        let attrs = speaker::RouteAttributes { next_hop: Some(us_ip), ..Default::default() };
        let prefix = bgp_core::nlri::Prefix::new("198.51.100.0/24".parse().unwrap());
        speaker
            .announce([Route::new(speaker::Nlri::prefix(bgp_core::Safi::Unicast, prefix), std::sync::Arc::new(attrs))]);
    }
    speaker.add_peer(peer).unwrap();

    // Up, and BIRD holds our five rules.
    let Some(Event::PeerUp { negotiated: up, .. }) =
        next_event(&mut events, 20, |e| matches!(e, Event::PeerUp { .. })).await
    else {
        panic!("session with BIRD established")
    };
    assert!(up.families.contains(&Family::IPV4_FLOWSPEC) && up.families.contains(&Family::IPV6_FLOWSPEC));
    let held = poll(Duration::from_secs(10), || {
        let t4 = bird.birdc("show route table flowtab4 protocol speaker");
        let t6 = bird.birdc("show route table flowtab6 protocol speaker");
        (t4.matches("flow4 {").count() == 3 && t6.matches("flow6 {").count() == 2).then(|| format!("{t4}\n{t6}"))
    })
    .await
    .unwrap_or_else(|| panic!("BIRD did not receive our rules:\n{}", bird.birdc("show route table flowtab4 all")));
    for want in [
        "flow4 { dst 203.0.113.7/32; proto 17; sport 53; length >= 512; }",
        "flow4 { dst 203.0.113.8/32; proto 6; dport 443; tcp flags 0x2/0x2; }",
        "flow6 { dst 2001:db8:9::1/128; next header 17; sport 53; }",
    ] {
        assert!(held.contains(want), "missing `{want}` in\n{held}");
    }

    if us_ip.is_ipv4() {
        let unicast = poll(Duration::from_secs(10), || {
            let t = bird.birdc("show route protocol speaker 198.51.100.0/24");
            t.contains("198.51.100.0/24").then_some(t)
        })
        .await
        .unwrap_or_else(|| panic!("BIRD did not get our unicast route:\n{}", bird.birdc("show route all")));
        assert!(unicast.contains(us), "next hop {us}: {unicast}");
    }

    // BIRD's static rules reach our Adj-RIB-In.
    let received = |family| {
        let s = speaker.clone();
        async move {
            for _ in 0..50 {
                let got: Vec<String> =
                    s.adj_rib_in(bird_ip, family).await.unwrap().iter().map(|r| r.nlri.to_string()).collect();
                if !got.is_empty() {
                    return got;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Vec::new()
        }
    };
    let texts = received(Family::IPV4_FLOWSPEC).await;
    assert!(texts.contains(&"dst 192.0.2.0/24 proto =17 dport =53".to_string()), "{texts:?}");
    assert_eq!(received(Family::IPV6_FLOWSPEC).await, ["dst 2001:db8:2::/48 proto =17 dport =53"]);

    // A route refresh from BIRD is answered with the table again.
    let before = speaker.peer_status(bird_ip).await.unwrap();
    assert_eq!(before.state, State::Established);
    assert_eq!(before.adj_rib_out, 5 + usize::from(us_ip.is_ipv4()), "five rules and, over IPv4, one unicast route");
    bird.birdc("reload in speaker");
    let mut status = speaker.peer_status(bird_ip).await.unwrap();
    for _ in 0..100 {
        if status.counters.received[4] >= 1 && status.counters.sent[1] > before.counters.sent[1] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = speaker.peer_status(bird_ip).await.unwrap();
    }
    assert!(status.counters.received[4] >= 1, "BIRD sent ROUTE-REFRESH: {:?}", status.counters);
    assert!(
        status.counters.sent[1] > before.counters.sent[1],
        "table re-sent: {:?} -> {:?}",
        before.counters,
        status.counters
    );

    // Withdraw one rule: BIRD drops it.
    speaker.withdraw([routes[1].nlri.clone()]);
    poll(Duration::from_secs(10), || {
        (bird.birdc("show route table flowtab4 protocol speaker").matches("flow4 {").count() == 2).then_some(())
    })
    .await
    .expect("BIRD removed the withdrawn rule");
    assert!(!bird.birdc("show route table flowtab4 protocol speaker").contains("203.0.113.8/32"));

    speaker.shutdown(Some("test done")).await;
    // BIRD saw our shutdown communication.
    poll(Duration::from_secs(5), || bird.birdc("show protocols all speaker").contains("test done").then_some(()))
        .await
        .unwrap_or_else(|| {
            panic!("BIRD did not log our shutdown message:\n{}", bird.birdc("show protocols all speaker"))
        });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_over_ipv4() {
    scenario("speaker-bird-v4", "127.0.62.1", 179, "127.0.62.2", 179).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_over_ipv6() {
    scenario("speaker-bird-v6", "::1", 1793, "::1", 1792).await;
}

/// Max-prefix teardown: BIRD announces three rules against a limit of two; we close the session
/// with Cease / Maximum Number of Prefixes Reached (RFC 4486) and stay down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_prefix_teardown() {
    let conf = r#"log "@DIR@/bird.log" all;
router id 10.0.62.4;
protocol device { }
flow4 table flowtab4;
protocol static flowstatic {
  flow4 { table flowtab4; };
  route flow4 { dst 192.0.2.1/32; proto = 17; };
  route flow4 { dst 192.0.2.2/32; proto = 17; };
  route flow4 { dst 192.0.2.3/32; proto = 17; };
}
protocol bgp speaker {
  local 127.0.62.4 port 179 as 65001;
  neighbor 127.0.62.3 port 179 as 65000;
  strict bind yes;
  multihop;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  flow4 { table flowtab4; import all; export all; };
}
"#;
    let Some(bird) = Bird::start("speaker-bird-maxprefix", conf) else { return };
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: "10.0.62.3".parse().unwrap(),
        listen: vec![SocketAddr::new("127.0.62.3".parse().unwrap(), 179)],
    };
    let (speaker, mut events) = Speaker::start(config).await.unwrap();
    let mut p = PeerConfig::new("127.0.62.4".parse().unwrap(), 65001);
    p.local_address = Some("127.0.62.3".parse().unwrap());
    p.families = vec![Family::IPV4_FLOWSPEC];
    p.max_prefix =
        Some(speaker::MaxPrefix { limit: 2, action: speaker::MaxPrefixAction::Teardown { restart_after: None } });
    speaker.add_peer(p).unwrap();
    let mut exceeded = false;
    let mut sent = None;
    let mut down = false;
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(e) = events.recv().await {
            match e {
                Event::MaxPrefixExceeded { count, limit, .. } => {
                    assert_eq!(limit, 2);
                    assert!(count > 2);
                    exceeded = true;
                }
                Event::NotificationSent { notification, .. } => sent = Some(notification),
                Event::PeerDown { .. } => {
                    down = true;
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    assert!(exceeded && down, "exceeded {exceeded}, down {down}");
    let n = sent.expect("a NOTIFICATION was sent");
    assert_eq!((n.code, n.subcode), (6, 1));
    poll(Duration::from_secs(5), || {
        bird.birdc("show protocols all speaker").contains("Maximum number of prefixes").then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{}", bird.birdc("show protocols all speaker")));
    // It stays down: BIRD keeps trying, we refuse.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = speaker.peer_status("127.0.62.4".parse().unwrap()).await.unwrap();
    assert_eq!(status.state, State::Idle);
    speaker.shutdown(None).await;
}

/// Graceful restart as the restarting speaker: we go away without a NOTIFICATION, BIRD keeps our
/// rules as stale, a new speaker starts with the Restart State bit and sends its table and
/// End-of-RIB; the rules that are still wanted never leave BIRD, the one that is not is flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_rules_through_our_restart() {
    let conf = r#"log "@DIR@/bird.log" all;
router id 10.0.62.6;
protocol device { }
flow4 table flowtab4;
protocol bgp speaker {
  local 127.0.62.6 port 179 as 65001;
  neighbor 127.0.62.5 port 179 as 65000;
  strict bind yes;
  multihop;
  graceful restart on;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  flow4 { table flowtab4; import all; export none; };
}
"#;
    let Some(bird) = Bird::start("speaker-bird-gr", conf) else { return };
    let us: IpAddr = "127.0.62.5".parse().unwrap();
    let bird_ip: IpAddr = "127.0.62.6".parse().unwrap();
    let rule = |s: &str| Route::flowspec(&s.parse::<FlowRule>().unwrap()).unwrap();
    let keep = ["dst 203.0.113.1/32 proto =17 then discard", "dst 203.0.113.2/32 proto =17 then discard"];
    let dropped = "dst 203.0.113.3/32 proto =17 then discard";
    let start = |restarting: bool| async move {
        let config = SpeakerConfig {
            local_as: 65000,
            router_id: "10.0.62.5".parse().unwrap(),
            listen: vec![SocketAddr::new(us, 179)],
        };
        let (speaker, events) = Speaker::start(config).await.unwrap();
        let mut p = PeerConfig::new(bird_ip, 65001);
        p.local_address = Some(us);
        p.families = vec![Family::IPV4_FLOWSPEC];
        p.graceful_restart = Some(speaker::GracefulRestartConfig { restart_time: 60, restarting, helper: true });
        speaker.add_peer(p).unwrap();
        (speaker, events)
    };
    let (first, _events) = start(false).await;
    first.announce([rule(keep[0]), rule(keep[1]), rule(dropped)]);
    poll(Duration::from_secs(20), || (bird.count("flowtab4") == 3).then_some(()))
        .await
        .expect("BIRD holds the three rules");
    let gr = bird.birdc("show protocols all speaker");
    assert!(gr.contains("Neighbor graceful restart active") || gr.contains("graceful restart"), "{gr}");

    // "Crash": no NOTIFICATION, sockets closed.
    first.shutdown_keep_routes().await;
    drop(first);
    // Watch BIRD from another thread while we restart: the kept rules must never disappear.
    let dir = bird.dir().to_owned();
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let w = watching.clone();
    let watcher = std::thread::spawn(move || {
        let mut min_kept = usize::MAX;
        let mut samples = 0;
        while w.load(std::sync::atomic::Ordering::Relaxed) && samples < 2000 {
            let out = std::process::Command::new("birdc")
                .arg("-s")
                .arg(dir.join("bird.ctl"))
                .args(["show", "route", "table", "flowtab4"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let kept = ["203.0.113.1/32", "203.0.113.2/32"].iter().filter(|r| out.contains(*r)).count();
            min_kept = min_kept.min(kept);
            samples += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        (min_kept, samples)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (second, mut events) = start(true).await;
    second.announce([rule(keep[0]), rule(keep[1])]);
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(e) = events.recv().await {
            if let Event::PeerUp { negotiated, .. } = e {
                let ours = negotiated.local_open.capabilities().find_map(|c| match c {
                    bgp_core::capability::Capability::GracefulRestart(g) => Some(g.restarting()),
                    _ => None,
                });
                assert_eq!(ours, Some(true), "the first OPEN after the restart has the Restart State bit");
                return;
            }
        }
    })
    .await
    .expect("session up again");
    // After our End-of-RIB, BIRD flushes the stale rule we did not send again.
    poll(Duration::from_secs(20), || (bird.count("flowtab4") == 2).then_some(()))
        .await
        .unwrap_or_else(|| panic!("stale rule not flushed:\n{}", bird.birdc("show route table flowtab4")));
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let (min_kept, samples) = watcher.join().unwrap();
    assert!(samples > 10, "watched BIRD {samples} times");
    assert_eq!(min_kept, 2, "a kept rule left BIRD during our restart");
    let table = bird.birdc("show route table flowtab4");
    assert!(!table.contains("203.0.113.3/32"), "{table}");
    second.shutdown(None).await;
}

/// Graceful restart as helper: BIRD crashes and comes back in graceful-restart recovery (`-R`);
/// its rules stay in our Adj-RIB-In (stale, never withdrawn) until its End-of-RIB, after which the
/// rule it no longer announces is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_helper_keeps_a_restarting_peers_rules() {
    let conf = |rules: &str| {
        format!(
            r#"log "@DIR@/bird.log" all;
router id 10.0.62.8;
protocol device {{ }}
flow4 table flowtab4;
protocol static flowstatic {{
  flow4 {{ table flowtab4; }};
{rules}
}}
protocol bgp speaker {{
  local 127.0.62.8 port 179 as 65001;
  neighbor 127.0.62.7 port 179 as 65000;
  strict bind yes;
  multihop;
  graceful restart on;
  graceful restart time 60;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  flow4 {{ table flowtab4; import all; export all; }};
}}
"#
        )
    };
    let both =
        "  route flow4 { dst 198.51.100.1/32; proto = 17; };\n  route flow4 { dst 198.51.100.2/32; proto = 17; };";
    let Some(bird) = Bird::start("speaker-bird-gr-helper", &conf(both)) else { return };
    let us: IpAddr = "127.0.62.7".parse().unwrap();
    let bird_ip: IpAddr = "127.0.62.8".parse().unwrap();
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: "10.0.62.7".parse().unwrap(),
        listen: vec![SocketAddr::new(us, 179)],
    };
    let (speaker, mut events) = Speaker::start(config).await.unwrap();
    let mut p = PeerConfig::new(bird_ip, 65001);
    p.local_address = Some(us);
    p.families = vec![Family::IPV4_FLOWSPEC];
    p.graceful_restart = Some(speaker::GracefulRestartConfig { restart_time: 60, restarting: false, helper: true });
    speaker.add_peer(p).unwrap();
    let rib = |s: Speaker| async move {
        let mut v: Vec<String> =
            s.adj_rib_in(bird_ip, Family::IPV4_FLOWSPEC).await.unwrap().iter().map(|r| r.nlri.to_string()).collect();
        v.sort();
        v
    };
    let mut got = Vec::new();
    for _ in 0..200 {
        got = rib(speaker.clone()).await;
        if got.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got, ["dst 198.51.100.1/32 proto =17", "dst 198.51.100.2/32 proto =17"]);
    // Let the first session finish: BIRD's End-of-RIB for its initial table.
    next_event(&mut events, 10, |e| matches!(e, Event::EndOfRib { .. })).await.expect("BIRD's first End-of-RIB");

    // BIRD crashes and restarts with only the first rule, in recovery mode.
    std::fs::write(
        bird.dir().join("bird.conf"),
        conf("  route flow4 { dst 198.51.100.1/32; proto = 17; };").replace("@DIR@", &bird.dir().display().to_string()),
    )
    .unwrap();
    let bird = bird.crash_and_restart(&["-R"]);
    // While it is away its rules stay.
    let mut went_down = false;
    let mut eor = false;
    let mut withdrawn = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = events.recv().await {
            match e {
                Event::PeerDown { .. } => {
                    went_down = true;
                    assert_eq!(rib(speaker.clone()).await.len(), 2, "routes kept while the peer restarts");
                }
                Event::RoutesReceived { withdrawn: w, .. } => {
                    assert!(
                        eor || w.is_empty() || !went_down || w.iter().all(|n| n.to_string().contains("198.51.100.2")),
                        "{w:?}"
                    );
                    withdrawn.extend(w.into_iter().map(|n| n.to_string()));
                }
                Event::EndOfRib { .. } => {
                    eor = true;
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    assert!(went_down && eor, "down {went_down}, End-of-RIB {eor}\n{}", bird.birdc("show protocols all speaker"));
    assert_eq!(withdrawn, ["dst 198.51.100.2/32 proto =17"], "only the rule BIRD no longer sends was withdrawn");
    assert_eq!(rib(speaker.clone()).await, ["dst 198.51.100.1/32 proto =17"]);
    speaker.shutdown(None).await;
}

fn md5_conf(bird: &str, us: &str, id: &str) -> String {
    format!(
        r#"log "@DIR@/bird.log" all;
router id {id};
protocol device {{ }}
flow4 table flowtab4;
protocol bgp speaker {{
  local {bird} port 179 as 65001;
  neighbor {us} port 179 as 65000;
  strict bind yes;
  multihop;
  ttl security on;
  password "s3cret";
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  flow4 {{ table flowtab4; import all; export all; }};
}}
"#
    )
}

/// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) with BIRD: the right password brings the session up,
/// a wrong one never does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_and_gtsm_with_bird() {
    for (us, bird_addr, password, expect_up) in
        [("127.0.62.9", "127.0.62.10", "s3cret", true), ("127.0.62.11", "127.0.62.12", "wrong", false)]
    {
        let Some(bird) = Bird::start(&format!("speaker-bird-md5-{expect_up}"), &md5_conf(bird_addr, us, "10.0.62.10"))
        else {
            return;
        };
        let us_ip: IpAddr = us.parse().unwrap();
        let config = SpeakerConfig {
            local_as: 65000,
            router_id: "10.0.62.9".parse().unwrap(),
            listen: vec![SocketAddr::new(us_ip, 179)],
        };
        let (speaker, mut events) = Speaker::start(config).await.unwrap();
        let mut p = PeerConfig::new(bird_addr.parse().unwrap(), 65001);
        p.local_address = Some(us_ip);
        p.families = vec![Family::IPV4_FLOWSPEC];
        p.md5_password = Some(password.into());
        p.ttl_security = Some(1);
        p.connect_retry = Duration::from_secs(2);
        speaker.add_peer(p).unwrap();
        let up = next_event(&mut events, if expect_up { 20 } else { 6 }, |e| matches!(e, Event::PeerUp { .. }))
            .await
            .is_some();
        let protocols = bird.birdc("show protocols all speaker");
        assert_eq!(up, expect_up, "password {password}:\n{protocols}");
        assert_eq!(protocols.contains("Established"), expect_up, "{protocols}");
        speaker.shutdown(None).await;
    }
}
