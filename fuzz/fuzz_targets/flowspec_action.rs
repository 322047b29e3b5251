//! Fuzzes action decoding from extended communities (8 bytes) and IPv6 address-specific ones
//! (20 bytes): every community maps to an action that maps back to the same bytes, and the
//! action's text form parses back to the same action.
#![no_main]

use bgp_core::attribute::{ExtendedCommunity, Ipv6ExtendedCommunity};
use flowspec::{Action, ActionCommunity, FlowRule};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for chunk in data.chunks_exact(8) {
        let c = ExtendedCommunity(chunk.try_into().expect("8 bytes"));
        let a = Action::from_extended(c);
        assert_eq!(a.to_community(), ActionCommunity::Extended(c));
        check_text(&a);
    }
    for chunk in data.chunks_exact(20) {
        let c = Ipv6ExtendedCommunity(chunk.try_into().expect("20 bytes"));
        let a = Action::from_ipv6_extended(c);
        assert_eq!(a.to_community(), ActionCommunity::Ipv6(c));
        check_text(&a);
    }
});

fn check_text(a: &Action) {
    // Rates that are NaN have no exact text form; everything else round-trips.
    if let Action::TrafficRateBytes { rate, .. } | Action::TrafficRatePackets { rate, .. } = a {
        if rate.0.is_nan() {
            return;
        }
    }
    let text = format!("proto =6 then {a}");
    let rule: FlowRule = text.parse().expect("action text parses");
    assert_eq!(rule.actions, vec![*a], "{text}");
}
