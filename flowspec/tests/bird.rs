//! Rules we encode are accepted by BIRD 2 and shown by `birdc` with the same components.
//!
//! The test runs its own BIRD on 127.0.61.2 (BIRD connects to us on 127.0.61.1:179; no other test
//! uses these addresses), drives the BGP session with bgp-core's sans-IO `Session` over a blocking
//! socket (no speaker crate involved), announces rules, and reads BIRD's flow tables. BIRD is
//! stopped by its PID (tests/harness). Under `CI=true` a missing BIRD fails the test; elsewhere the
//! test says loudly that it did not run.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bgp_core::attribute::{AsPath, AttributeValue, ExtendedCommunity, MpNlri, MpReach, Origin, PathAttribute};
use bgp_core::fsm::{Direction, Event, Output, Session, SessionConfig, State};
use bgp_core::message::Update;
use bgp_core::{Family, Safi};
use flowspec::{ActionCommunity, FlowRule};
use interop_harness::Bird;

const OURS: &str = "127.0.61.1";
const BIRD: &str = "127.0.61.2";

fn bird_conf() -> String {
    format!(
        r#"log "@DIR@/bird.log" all;
router id {BIRD};
protocol device {{ }}
flow4 table flowtab4;
flow6 table flowtab6;
protocol bgp speaker {{
  local {BIRD} port 179 as 65001;
  neighbor {OURS} port 179 as 65000;
  strict bind yes;
  multihop;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  flow4 {{ table flowtab4; import all; export none; }};
  flow6 {{ table flowtab6; import all; export none; }};
}}
"#
    )
}

/// A blocking driver for one bgp-core session over one TCP connection.
struct Peer {
    session: Session,
    stream: TcpStream,
    events: Vec<Event>,
}

impl Peer {
    fn pump(&mut self, until: Instant) {
        let mut buf = [0u8; 65536];
        while Instant::now() < until {
            while let Some(o) = self.session.poll_output() {
                match o {
                    Output::Transmit { data, .. } => self.stream.write_all(&data).unwrap(),
                    Output::Event(e) => self.events.push(e),
                    Output::Close { .. } => panic!("session closed: {:?}", self.events),
                    Output::Connect => {}
                }
            }
            self.stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("BIRD closed the connection: {:?}", self.events),
                Ok(n) => self.session.receive(bgp_core::fsm::ConnectionId(0), &buf[..n], Instant::now()),
                Err(_) => {}
            }
            self.session.handle_timeout(Instant::now());
        }
    }
}

/// How BIRD shows an extended community: `(generic, 0xHHHHHHHH, 0xL)`.
fn bird_ext(c: &ExtendedCommunity) -> String {
    let [a, b, c2, d, e, f, g, h] = c.0;
    format!("(generic, {:#x}, {:#x})", u32::from_be_bytes([a, b, c2, d]), u32::from_be_bytes([e, f, g, h]))
}

#[test]
fn bird_accepts_and_shows_our_rules() {
    let listener = match TcpListener::bind((OURS, 179)) {
        Ok(l) => l,
        Err(e) => panic!("cannot listen on {OURS}:179: {e}"),
    };
    let Some(bird) = Bird::start("flowspec-bird", &bird_conf()) else { return };
    let dir = bird.dir().to_owned();
    listener.set_nonblocking(false).unwrap();
    let (stream, from) = {
        let deadline = Instant::now() + Duration::from_secs(15);
        listener.set_nonblocking(true).unwrap();
        loop {
            match listener.accept() {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("BIRD did not connect: {e}"),
            }
        }
    };
    stream.set_nonblocking(false).unwrap();
    assert_eq!(from.ip().to_string(), BIRD);
    let mut config = SessionConfig::new(65000, OURS.parse::<Ipv4Addr>().unwrap(), 65001);
    config.passive = true;
    config.families = vec![Family::IPV4_FLOWSPEC, Family::IPV6_FLOWSPEC];
    let mut peer = Peer { session: Session::new(config), stream, events: Vec::new() };
    let now = Instant::now();
    peer.session.start(now);
    peer.session.connection_opened(Direction::Inbound, now).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while peer.session.state() != State::Established && Instant::now() < deadline {
        peer.pump(Instant::now() + Duration::from_millis(100));
    }
    assert_eq!(peer.session.state(), State::Established, "{:?}", peer.events);

    // Each rule with what `birdc show route all` must print for it: BIRD's own rendering of the
    // components it decoded (it merges `=80|=443` into `80,443` and `>=137&<=139` into `137..139`).
    let table: [(&str, &str); 8] = [
        (
            "dst 192.0.2.1/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000",
            "flow4 { dst 192.0.2.1/32; proto 17; sport 53; length >= 512; }",
        ),
        (
            "dst 198.51.100.0/24 proto =6 dport =80|=443 tcp-flags =syn then discard",
            "flow4 { dst 198.51.100.0/24; proto 6; dport 80,443; tcp flags 0x2/0x2; }",
        ),
        (
            "dst 203.0.113.0/25 src 192.0.2.0/24 port >=137&<=139|=8080 then rate-packets 1000",
            "flow4 { dst 203.0.113.0/25; src 192.0.2.0/24; port 137..139,8080; }",
        ),
        (
            "dst 203.0.113.128/26 proto =1 icmp-type =8 icmp-code =0 dscp =46 then mark 10",
            "flow4 { dst 203.0.113.128/26; proto 1; icmp type 8; icmp code 0; dscp 46; }",
        ),
        (
            "dst 192.0.2.64/26 fragment is-fragment then redirect 65000:100",
            "flow4 { dst 192.0.2.64/26; fragment !!is_fragment; }",
        ),
        (
            "dst 2001:db8::/32 proto =58 icmp-type =128 then discard",
            "flow6 { dst 2001:db8::/32; next header 58; icmp type 128; }",
        ),
        (
            "dst 2001:db8:1::/48 src 2001:db8:2::/64 proto =17 dport >1024 flow-label =7 then discard",
            "flow6 { dst 2001:db8:1::/48; src 2001:db8:2::/64; next header 17; dport > 1024; label 7; }",
        ),
        (
            "dst 2001:db8:3::/48 src ::1234:5678:9a00:0/104 offset 64 tcp-flags syn&!ack then rate-bytes 1e6",
            "flow6 { dst 2001:db8:3::/48; src ::1234:5678:9a00:0/104 offset 64; tcp flags !0x0/0x2 && 0x0/0x10; }",
        ),
    ];
    let rules: Vec<&str> = table.iter().map(|t| t.0).collect();
    for text in rules {
        let rule: FlowRule = text.parse().unwrap();
        let family = Family::new(rule.spec.afi(), Safi::FlowSpec);
        let ext: Vec<ExtendedCommunity> = rule
            .actions
            .iter()
            .filter_map(|a| match a.to_community() {
                ActionCommunity::Extended(c) => Some(c),
                ActionCommunity::Ipv6(_) => None,
            })
            .collect();
        let u = Update {
            attributes: vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::from_sequence([65000]))),
                PathAttribute::new(AttributeValue::MpReachNlri(MpReach {
                    family,
                    next_hop: vec![],
                    nlri: MpNlri::Raw(rule.spec.to_bytes().unwrap()),
                })),
                PathAttribute::new(AttributeValue::ExtendedCommunities(ext)),
            ],
            ..Update::default()
        };
        peer.session.send_update(&u, Instant::now()).unwrap();
    }
    // Wait (bounded) until BIRD holds them all.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut shown = String::new();
    while Instant::now() < deadline {
        peer.pump(Instant::now() + Duration::from_millis(200));
        shown =
            format!("{}\n{}", bird.birdc("show route table flowtab4 all"), bird.birdc("show route table flowtab6 all"));
        if shown.matches(" { ").count() >= table.len() {
            break;
        }
    }
    std::fs::write(dir.join("shown.txt"), &shown).unwrap();
    for (text, want) in table {
        let rule: FlowRule = text.parse().unwrap();
        // The route's block: its line, then the attribute lines up to the next route.
        let at = shown.find(want).unwrap_or_else(|| panic!("BIRD does not show `{want}` for `{text}`:\n{shown}"));
        let block: String = shown[at..]
            .lines()
            .take_while(|l| l.starts_with(want) || l.starts_with('\t'))
            .collect::<Vec<_>>()
            .join("\n");
        for a in &rule.actions {
            if let ActionCommunity::Extended(c) = a.to_community() {
                let ext = bird_ext(&c);
                assert!(block.contains(&ext), "`{text}`: BIRD does not show action {a} as {ext}:\n{block}");
            }
        }
    }
    let errors = std::fs::read_to_string(dir.join("bird.log")).unwrap_or_default();
    assert!(!errors.contains("Invalid") && !errors.contains("Malformed"), "{errors}");
    drop(bird);
}
