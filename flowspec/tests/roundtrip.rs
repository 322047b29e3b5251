//! Property tests: bytes and text round trips, and the precedence order is a total order
//! consistent with equality.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_core::attribute::ExtendedCommunity;
use bgp_core::Afi;
use flowspec::component::{BitmaskTerm, Cmp, Component, FlowPrefix, NumericTerm};
use flowspec::{Action, FlowRule, FlowSpec, Rate, RouteDistinguisher};
use proptest::collection::vec;
use proptest::prelude::*;

fn cmp() -> impl Strategy<Value = Cmp> {
    (0u8..8).prop_map(Cmp::from_bits)
}

fn numeric(max_width: u8) -> impl Strategy<Value = Vec<NumericTerm>> {
    vec((any::<bool>(), cmp(), any::<u64>(), 0u8..4), 1..5).prop_map(move |v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (and, cmp, value, w))| {
                let width = (1u8 << w).min(max_width);
                let value = if width == 8 { value } else { value & ((1u64 << (8 * u32::from(width))) - 1) };
                NumericTerm { and: i > 0 && and, cmp, value, width }
            })
            .collect()
    })
}

fn bitmask(mask: u16, two: bool) -> impl Strategy<Value = Vec<BitmaskTerm>> {
    vec((any::<bool>(), any::<bool>(), any::<bool>(), any::<u16>(), any::<bool>()), 1..4).prop_map(move |v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (and, not, all, value, wide))| {
                let value = value & mask;
                let width = if value > 0xff || (two && wide) { 2 } else { 1 };
                BitmaskTerm { and: i > 0 && and, not, match_all: all, value, width }
            })
            .collect()
    })
}

fn prefix(v6: bool) -> BoxedStrategy<FlowPrefix> {
    if v6 {
        (any::<u128>(), 0u8..=128, 0u8..=127)
            .prop_map(|(a, len, off)| {
                let offset = if len == 0 { 0 } else { off % len };
                FlowPrefix::with_offset(IpAddr::V6(Ipv6Addr::from(a)), len, offset)
            })
            .boxed()
    } else {
        (any::<u32>(), 0u8..=32).prop_map(|(a, len)| FlowPrefix::new(IpAddr::V4(Ipv4Addr::from(a)), len)).boxed()
    }
}

fn spec() -> impl Strategy<Value = FlowSpec> {
    (any::<bool>(), proptest::option::of(any::<[u8; 8]>())).prop_flat_map(|(v6, rd)| {
        let comps = (
            proptest::option::of(prefix(v6).prop_map(Component::Destination)),
            proptest::option::of(prefix(v6).prop_map(Component::Source)),
            proptest::option::of(numeric(8).prop_map(Component::Protocol)),
            proptest::option::of(numeric(8).prop_map(Component::Port)),
            proptest::option::of(numeric(2).prop_map(Component::DestinationPort)),
            proptest::option::of(numeric(2).prop_map(Component::SourcePort)),
            proptest::option::of(numeric(1).prop_map(Component::IcmpType)),
            proptest::option::of(numeric(1).prop_map(Component::IcmpCode)),
            proptest::option::of(bitmask(0x0fff, true).prop_map(Component::TcpFlags)),
            proptest::option::of(numeric(4).prop_map(Component::PacketLength)),
            proptest::option::of(numeric(1).prop_map(Component::Dscp)),
            proptest::option::of(bitmask(if v6 { 0x0e } else { 0x0f }, false).prop_map(Component::Fragment)),
        );
        let label = proptest::option::of(numeric(4).prop_map(Component::FlowLabel));
        (comps, label).prop_map(move |(c, l)| {
            let (a, b, c3, d, e, f, g, h, i, j, k, m) = c;
            let mut all: Vec<Component> = [a, b, c3, d, e, f, g, h, i, j, k, m].into_iter().flatten().collect();
            if v6 {
                all.extend(l);
            }
            if all.is_empty() {
                all.push(Component::Protocol(vec![NumericTerm::new(false, Cmp::Eq, 6)]));
            }
            // Fragment bit values of 0 are legal; keep them.
            FlowSpec::new(if v6 { Afi::Ipv6 } else { Afi::Ipv4 }, rd.map(RouteDistinguisher), all).unwrap()
        })
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (any::<u16>(), -1e9f32..1e9).prop_map(|(asn, r)| Action::TrafficRateBytes { asn, rate: Rate(r) }),
        (any::<u16>(), 0f32..1e9).prop_map(|(asn, r)| Action::TrafficRatePackets { asn, rate: Rate(r) }),
        (any::<bool>(), any::<bool>()).prop_map(|(sample, terminal)| Action::TrafficAction { sample, terminal }),
        (any::<u16>(), any::<u32>()).prop_map(|(asn, value)| Action::RedirectAs2 { asn, value }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, value)| Action::RedirectIpv4 { addr: Ipv4Addr::from(a), value }),
        (65536u32.., any::<u16>()).prop_map(|(asn, value)| Action::RedirectAs4 { asn, value }),
        (0u8..64).prop_map(|dscp| Action::TrafficMarking { dscp }),
        (any::<u32>(), any::<bool>()).prop_map(|(a, copy)| Action::RedirectToIpv4 { addr: Ipv4Addr::from(a), copy }),
        (any::<u128>(), any::<bool>()).prop_map(|(a, copy)| Action::RedirectToIpv6 { addr: Ipv6Addr::from(a), copy }),
        any::<bool>().prop_map(|copy| Action::RedirectToNextHop { copy }),
        (any::<u128>(), any::<u16>()).prop_map(|(a, value)| Action::RedirectIpv6 { addr: Ipv6Addr::from(a), value }),
        any::<[u8; 8]>().prop_map(|b| Action::from_extended(ExtendedCommunity(b))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn bytes_round_trip(s in spec()) {
        let bytes = s.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), s.wire_len());
        let (back, used) = FlowSpec::decode(&bytes, s.afi(), s.rd().is_some()).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&back, &s);
        // The components read back from the stored bytes rebuild the same rule.
        prop_assert_eq!(FlowSpec::new(s.afi(), s.rd(), s.components()).unwrap(), s);
    }

    #[test]
    fn text_round_trip(s in spec(), actions in vec(action(), 0..4)) {
        let rule = FlowRule { spec: s, actions };
        let text = rule.to_string();
        let back = FlowRule::parse(&text, Some(rule.spec.afi())).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, rule);
    }

    #[test]
    fn order_is_total_and_consistent_with_eq(a in spec(), b in spec(), c in spec()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        let mut v = [a, b, c];
        v.sort();
        prop_assert!(v[0] <= v[1] && v[1] <= v[2] && v[0] <= v[2]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..120), v6 in any::<bool>(), vpn in any::<bool>()) {
        let afi = if v6 { Afi::Ipv6 } else { Afi::Ipv4 };
        if let Ok(rules) = FlowSpec::decode_all(&bytes, afi, vpn) {
            for r in rules {
                let again = r.to_bytes().unwrap();
                prop_assert_eq!(FlowSpec::decode(&again, afi, vpn).unwrap().0, r);
            }
        }
    }
}

/// Transitivity over a sorted sample: every later rule compares greater or equal to every earlier.
#[test]
fn sorting_a_large_sample_is_consistent() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut rules: Vec<FlowSpec> = (0..400).map(|_| spec().new_tree(&mut runner).unwrap().current()).collect();
    rules.sort();
    for i in 0..rules.len() {
        for j in i + 1..rules.len() {
            assert_ne!(rules[i].cmp(&rules[j]), Ordering::Greater, "{} vs {}", rules[i], rules[j]);
        }
    }
}

#[cfg(feature = "serde")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn json_round_trip(s in spec(), actions in vec(action(), 0..3)) {
        let rule = FlowRule { spec: s, actions };
        let json = serde_json::to_string(&rule).unwrap();
        let back: FlowRule = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
        prop_assert_eq!(back, rule);
    }

}
