//! The speaker against FRR (which receives FlowSpec only) and ExaBGP (which sends it), over IPv4
//! and IPv6 transport.
//!
//! Addresses: FRR 127.0.65.2 / us 127.0.65.1 (port 179), [::1]:1796 / [::1]:1797;
//! ExaBGP 127.0.66.2 / us 127.0.66.1 (port 179), [::1]:1798 / [::1]:1799.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_core::Family;
use flowspec::FlowRule;
use interop_harness::{Exabgp, Frr};
use speaker::{Event, PeerConfig, Route, Speaker, SpeakerConfig};

async fn up(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>, secs: u64) -> bool {
    tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(e) = events.recv().await {
            if matches!(e, Event::PeerUp { .. }) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

async fn start(us: &str, us_port: u16, router_id: &str) -> (Speaker, tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: router_id.parse().unwrap(),
        listen: vec![SocketAddr::new(us.parse().unwrap(), us_port)],
    };
    Speaker::start(config).await.unwrap()
}

fn frr_conf(addr: &str, us: &str, us_port: u16) -> String {
    format!(
        "frr defaults traditional
hostname interop-frr
router bgp 65003
 bgp router-id 10.0.65.2
 no bgp ebgp-requires-policy
 bgp allow-martian-nexthop
 no bgp default ipv4-unicast
 neighbor {us} remote-as 65000
 neighbor {us} port {us_port}
 neighbor {us} update-source {addr}
 neighbor {us} timers connect 1
 address-family ipv4 flowspec
  neighbor {us} activate
 exit-address-family
 address-family ipv6 flowspec
  neighbor {us} activate
 exit-address-family
!
"
    )
}

async fn frr(name: &str, us: &str, us_port: u16, addr: &str, port: u16) {
    let Some(frr) = Frr::start(name, &frr_conf(addr, us, us_port), addr, port) else { return };
    let (speaker, mut events) = start(us, us_port, "10.0.65.1").await;
    let rules = [
        "dst 203.0.113.7/32 proto =17 sport =53 then discard",
        "dst 2001:db8:9::1/128 proto =6 dport =443 then rate-bytes 1000",
    ];
    speaker.announce(rules.iter().map(|r| Route::flowspec(&r.parse::<FlowRule>().unwrap()).unwrap()));
    let mut p = PeerConfig::new(addr.parse().unwrap(), 65003);
    p.port = port;
    p.local_address = Some(us.parse().unwrap());
    speaker.add_peer(p).unwrap();
    assert!(up(&mut events, 30).await, "no session with FRR: {}", frr.vtysh("show bgp summary"));
    let mut v4 = String::new();
    let mut v6 = String::new();
    for _ in 0..100 {
        v4 = frr.vtysh("show bgp ipv4 flowspec detail");
        v6 = frr.vtysh("show bgp ipv6 flowspec detail");
        if v4.contains("203.0.113.7/32") && v6.contains("2001:db8:9::1/128") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        v4.contains("Destination Address 203.0.113.7/32")
            && v4.contains("IP Protocol = 17")
            && v4.contains("Source Port = 53"),
        "{v4}"
    );
    assert!(v4.contains("FS:rate 0.000000"), "discard shows as rate 0 in FRR: {v4}");
    assert!(v6.contains("Destination Address 2001:db8:9::1/128") && v6.contains("Destination Port = 443"), "{v6}");
    assert!(v6.contains("FS:rate 1000.000000"), "{v6}");
    speaker.shutdown(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_over_ipv4() {
    frr("speaker-frr-v4", "127.0.65.1", 179, "127.0.65.2", 179).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_over_ipv6() {
    frr("speaker-frr-v6", "::1", 1797, "::1", 1796).await;
}

fn exabgp_conf(addr: &str, us: &str, us_port: u16) -> String {
    format!(
        "neighbor {us} {{
  router-id 10.0.66.2;
  local-address {addr};
  local-as 65004;
  peer-as 65000;
  connect {us_port};
  family {{
    ipv4 flow;
    ipv6 flow;
  }}
  flow {{
    route a {{
      match {{ destination 203.0.113.5/32; protocol udp; source-port =53; }}
      then {{ rate-limit 9600; }}
    }}
    route b {{
      match {{ destination 2001:db8:5::/64/0; next-header udp; destination-port =123; }}
      then {{ discard; }}
    }}
  }}
}}
"
    )
}

async fn exabgp(name: &str, us: &str, us_port: u16, addr: &str, port: u16) {
    let (speaker, mut events) = start(us, us_port, "10.0.66.1").await;
    let mut p = PeerConfig::new(addr.parse().unwrap(), 65004);
    p.port = port;
    p.passive = true;
    speaker.add_peer(p).unwrap();
    let Some(exa) = Exabgp::start(name, &exabgp_conf(addr, us, us_port), addr, port) else { return };
    assert!(up(&mut events, 40).await, "no session with ExaBGP:\n{}", exa.log());
    let peer: IpAddr = addr.parse().unwrap();
    let mut got = (Vec::new(), Vec::new());
    for _ in 0..100 {
        got.0 = speaker.adj_rib_in(peer, Family::IPV4_FLOWSPEC).await.unwrap();
        got.1 = speaker.adj_rib_in(peer, Family::IPV6_FLOWSPEC).await.unwrap();
        if !got.0.is_empty() && !got.1.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text: Vec<String> = got.0.iter().chain(&got.1).map(|r| r.nlri.to_string()).collect();
    assert_eq!(
        text,
        ["dst 203.0.113.5/32 proto =17 sport =53", "dst 2001:db8:5::/64 proto =17 dport =123"],
        "{}",
        exa.log()
    );
    let rate = flowspec::action::actions_of(&got.0[0].attributes.extended_communities, &[]);
    assert_eq!(rate, [flowspec::Action::TrafficRateBytes { asn: 0, rate: flowspec::Rate(9600.0) }]);
    speaker.shutdown(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_over_ipv4() {
    exabgp("speaker-exabgp-v4", "127.0.66.1", 179, "127.0.66.2", 179).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_over_ipv6() {
    exabgp("speaker-exabgp-v6", "::1", 1799, "::1", 1798).await;
}
