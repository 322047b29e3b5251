//! Drives a whole session: a valid OPEN and KEEPALIVE bring it to Established, then arbitrary peer
//! bytes arrive in arbitrary chunks with time moving on. The FSM must never panic, and after any
//! input it is in a consistent state.
#![no_main]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_core::capability::Capability;
use bgp_core::fsm::{Direction, Session, SessionConfig, State};
use bgp_core::message::{Message, Open, WireContext};
use bgp_core::Family;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let mut config = SessionConfig::new(65001, Ipv4Addr::new(10, 0, 0, 1), 65002);
    config.families = vec![Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC, Family::IPV6_FLOWSPEC];
    config.extended_message = selector & 1 != 0;
    let mut s = Session::new(config);
    let mut now = Instant::now();
    s.start(now);
    let Ok(id) = s.connection_opened(Direction::Outbound, now) else { return };
    let mut caps = vec![
        Capability::Multiprotocol { family: Family::IPV4_UNICAST },
        Capability::Multiprotocol { family: Family::IPV4_FLOWSPEC },
        Capability::RouteRefresh,
    ];
    if selector & 2 == 0 {
        caps.push(Capability::FourOctetAs { asn: 65002 });
    }
    if selector & 1 != 0 {
        caps.push(Capability::ExtendedMessage);
    }
    let open = Open::new(65002, 9, Ipv4Addr::new(10, 0, 0, 2), caps);
    let ctx = WireContext::default();
    s.receive(id, &Message::Open(open).to_bytes(&ctx).expect("open"), now);
    s.receive(id, &Message::Keepalive.to_bytes(&ctx).expect("keepalive"), now);
    assert_eq!(s.state(), State::Established);
    let chunk = usize::from(selector >> 2).max(1);
    for part in stream.chunks(chunk) {
        s.receive(id, part, now);
        now += Duration::from_millis(u64::from(part.first().copied().unwrap_or(0)) * 10);
        s.handle_timeout(now);
        while s.poll_output().is_some() {}
        if s.state() == State::Idle {
            assert!(s.established_connection().is_none());
            break;
        }
    }
});
