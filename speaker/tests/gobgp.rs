//! The speaker against a real GoBGP, over IPv4 and IPv6 transport: rules we announce appear in
//! `gobgp global rib`, a rule added in GoBGP arrives in our Adj-RIB-In with the same components and
//! action, and a withdrawal removes ours.
//!
//! Addresses: 127.0.63.1 (us) / 127.0.63.2 (GoBGP, gRPC 127.0.63.2:50051) on port 179;
//! [::1]:1795 (us) / [::1]:1794 (GoBGP, gRPC 127.0.63.3:50051).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_core::Family;
use flowspec::FlowRule;
use interop_harness::{poll, Gobgp};

mod common;
use common::next_event;
use speaker::{Event, PeerConfig, Route, Speaker, SpeakerConfig};

fn gobgp_conf(addr: &str, port: u16, us: &str, us_port: u16) -> String {
    let mut c = format!(
        r#"[global.config]
  as = 65002
  router-id = "10.0.63.2"
  port = {port}
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{us}"
    peer-as = 65000
  [neighbors.transport.config]
    local-address = "{addr}"
    remote-port = {us_port}
  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
"#
    );
    for f in ["ipv4-flowspec", "ipv6-flowspec"] {
        c.push_str(&format!(
            "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{f}\"\n"
        ));
    }
    c
}

async fn scenario(name: &str, us: &str, us_port: u16, gobgp_addr: &str, gobgp_port: u16, api: &str) {
    let Some(gobgp) = Gobgp::start(name, &gobgp_conf(gobgp_addr, gobgp_port, us, us_port), api) else { return };
    let us_ip: IpAddr = us.parse().unwrap();
    let peer_ip: IpAddr = gobgp_addr.parse().unwrap();
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: "10.0.63.1".parse().unwrap(),
        listen: vec![SocketAddr::new(us_ip, us_port)],
    };
    let (speaker, mut events) = Speaker::start(config).await.unwrap();
    let rules = [
        "dst 203.0.113.7/32 proto =17 sport =53 then rate-bytes 125000",
        "dst 203.0.113.8/32 proto =6 dport =443 then discard",
        "dst 2001:db8:9::1/128 proto =17 sport =123 then discard",
    ];
    let routes: Vec<Route> = rules.iter().map(|r| Route::flowspec(&r.parse::<FlowRule>().unwrap()).unwrap()).collect();
    speaker.announce(routes.clone());
    let mut peer = PeerConfig::new(peer_ip, 65002);
    peer.port = gobgp_port;
    peer.local_address = Some(us_ip);
    speaker.add_peer(peer).unwrap();
    next_event(&mut events, 30, |e| matches!(e, Event::PeerUp { .. }))
        .await
        .unwrap_or_else(|| panic!("no session with GoBGP: {}", gobgp.cli(&["neighbor"])));

    let rib4 = poll(Duration::from_secs(15), || {
        let t = gobgp.cli(&["global", "rib", "-a", "ipv4-flowspec"]);
        (t.matches("[destination:").count() == 2).then_some(t)
    })
    .await
    .unwrap_or_else(|| {
        panic!("GoBGP did not receive our IPv4 rules:\n{}", gobgp.cli(&["global", "rib", "-a", "ipv4-flowspec"]))
    });
    assert!(rib4.contains("[destination: 203.0.113.7/32][protocol: ==udp][source-port: ==53]"), "{rib4}");
    assert!(rib4.contains("rate: 125000.000000"), "{rib4}");
    assert!(rib4.contains("[destination: 203.0.113.8/32][protocol: ==tcp][destination-port: ==443]"), "{rib4}");
    assert!(rib4.contains("discard"), "{rib4}");
    let rib6 = poll(Duration::from_secs(15), || {
        let t = gobgp.cli(&["global", "rib", "-a", "ipv6-flowspec"]);
        t.contains("2001:db8:9::1/128").then_some(t)
    })
    .await
    .unwrap_or_else(|| panic!("GoBGP did not receive our IPv6 rule"));
    assert!(rib6.contains("[source-port: ==123]"), "{rib6}");

    // A rule announced by GoBGP arrives in our Adj-RIB-In.
    let out = gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "ipv4-flowspec",
        "add",
        "match",
        "destination",
        "10.0.0.1/32",
        "protocol",
        "udp",
        "source-port",
        "53",
        "then",
        "discard",
    ]);
    assert!(!out.to_lowercase().contains("error"), "{out}");
    let mut got = Vec::new();
    for _ in 0..100 {
        got = speaker.adj_rib_in(peer_ip, Family::IPV4_FLOWSPEC).await.unwrap();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "GoBGP's rule in our Adj-RIB-In");
    assert_eq!(got[0].nlri.to_string(), "dst 10.0.0.1/32 proto =17 sport =53");
    let actions = flowspec::action::actions_of(&got[0].attributes.extended_communities, &[]);
    assert_eq!(actions, [flowspec::Action::DISCARD]);

    // Withdraw ours: GoBGP drops it.
    speaker.withdraw([routes[0].nlri.clone()]);
    poll(Duration::from_secs(10), || {
        (!gobgp.cli(&["global", "rib", "-a", "ipv4-flowspec"]).contains("203.0.113.7/32")).then_some(())
    })
    .await
    .expect("GoBGP removed the withdrawn rule");
    speaker.shutdown(Some("test done")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_over_ipv4() {
    scenario("speaker-gobgp-v4", "127.0.63.1", 179, "127.0.63.2", 179, "127.0.63.2:50051").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_over_ipv6() {
    scenario("speaker-gobgp-v6", "::1", 1795, "::1", 1794, "127.0.63.3:50051").await;
}
