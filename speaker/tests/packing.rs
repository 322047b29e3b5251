//! Adj-RIB-Out packing: every route in exactly one UPDATE, no UPDATE over the negotiated size,
//! withdrawals before announcements, and the UPDATEs decode to exactly the intended routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_core::attribute::{AttributeValue, ExtendedCommunity, MpNlri};
use bgp_core::message::{Message, WireContext};
use bgp_core::nlri::Prefix;
use bgp_core::{Family, Safi};
use flowspec::FlowRule;
use proptest::prelude::*;
use speaker::rib_out::{AdjRibOut, Change, Export};
use speaker::{Nlri, Route, RouteAttributes};

fn export(max: usize) -> Export {
    Export {
        local_as: 65000,
        ebgp: true,
        local_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        wire: WireContext { max_message_len: max, ..WireContext::default() },
    }
}

fn flow(i: u32, len: u8) -> Nlri {
    let rule: FlowRule =
        format!("dst {}/{len} proto =17 sport ={}", Ipv4Addr::from(0x0a00_0000 + i), i % 60000).parse().unwrap();
    Nlri::flowspec(&rule.spec).unwrap()
}

fn prefix(i: u32) -> Nlri {
    Nlri::prefix(Safi::Unicast, Prefix::new(format!("{}/32", Ipv4Addr::from(0x0b00_0000 + i)).parse().unwrap()))
}

fn attrs(k: u8) -> Arc<RouteAttributes> {
    let mut a = RouteAttributes::default();
    a.extended_communities.push(ExtendedCommunity([0x80, 0x06, 0, 0, 0, 0, 0, k]));
    Arc::new(a)
}

/// Announced NLRI with the tag of their attributes.
type Announced = Vec<(Family, Vec<u8>, u8)>;
/// Withdrawn NLRI.
type Withdrawn = Vec<(Family, Vec<u8>)>;

/// Decodes UPDATEs into (announced nlri → ext community value, withdrawn nlri), in order.
fn decode(msgs: &[bytes::Bytes], max: usize) -> (Announced, Withdrawn) {
    let ctx = WireContext { max_message_len: max, ..WireContext::default() };
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    let mut seen_announce = false;
    for m in msgs {
        assert!(m.len() <= max, "UPDATE of {} bytes over {max}", m.len());
        let Message::Update(u) = Message::decode(m, &ctx).unwrap() else { panic!("not an UPDATE") };
        let tag = u
            .attributes
            .iter()
            .find_map(|a| match &a.value {
                AttributeValue::ExtendedCommunities(c) => c.first().map(|c| c.0[7]),
                _ => None,
            })
            .unwrap_or(0);
        let split = |family: Family, raw: &[u8]| -> Vec<Vec<u8>> {
            flowspec::FlowSpec::decode_all(raw, family.afi, false)
                .unwrap()
                .iter()
                .map(|r| r.to_bytes().unwrap())
                .collect()
        };
        for p in &u.withdrawn {
            let mut b = Vec::new();
            p.encode(&mut b);
            assert!(!seen_announce, "a withdrawal after an announcement");
            wd.push((Family::IPV4_UNICAST, b));
        }
        for p in &u.nlri {
            let mut b = Vec::new();
            p.encode(&mut b);
            seen_announce = true;
            ann.push((Family::IPV4_UNICAST, b, tag));
        }
        for a in &u.attributes {
            match &a.value {
                AttributeValue::MpReachNlri(r) => {
                    seen_announce = true;
                    let MpNlri::Raw(raw) = &r.nlri else { panic!() };
                    for n in split(r.family, raw) {
                        ann.push((r.family, n, tag));
                    }
                }
                AttributeValue::MpUnreachNlri(r) => {
                    assert!(!seen_announce, "a withdrawal after an announcement");
                    let MpNlri::Raw(raw) = &r.withdrawn else { panic!() };
                    for n in split(r.family, raw) {
                        wd.push((r.family, n));
                    }
                }
                _ => {}
            }
        }
    }
    (ann, wd)
}

#[derive(Debug, Clone)]
enum Op {
    Announce(u32, u8),
    Withdraw(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![(0u32..300, 1u8..4).prop_map(|(i, k)| Op::Announce(i, k)), (0u32..300).prop_map(Op::Withdraw)]
}

fn nlri_of(i: u32) -> Nlri {
    if i % 3 == 0 {
        prefix(i)
    } else {
        flow(i, if i % 2 == 0 { 32 } else { 24 })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// After any sequence of batches, the UPDATEs sent bring the peer to exactly the wanted state;
    /// each batch's UPDATEs hold every changed route once, withdrawals first, none over `max`.
    #[test]
    fn packing_reaches_the_wanted_state(batches in proptest::collection::vec(proptest::collection::vec(op(), 0..200), 1..6), max in prop_oneof![Just(4096usize), Just(512usize), Just(65535usize)]) {
        let families = [Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC];
        let mut rib = AdjRibOut::new();
        let mut peer: BTreeMap<(Family, Vec<u8>), u8> = BTreeMap::new();
        let mut wanted: BTreeMap<(Family, Vec<u8>), u8> = BTreeMap::new();
        for batch in batches {
            let mut changes = Vec::new();
            let mut touched = BTreeSet::new();
            for o in &batch {
                match *o {
                    Op::Announce(i, k) => {
                        let n = nlri_of(i);
                        touched.insert((n.family(), n.bytes().to_vec()));
                        wanted.insert((n.family(), n.bytes().to_vec()), k);
                        changes.push(Change::Announce(Route::new(n, attrs(k))));
                    }
                    Op::Withdraw(i) => {
                        let n = nlri_of(i);
                        touched.insert((n.family(), n.bytes().to_vec()));
                        wanted.remove(&(n.family(), n.bytes().to_vec()));
                        changes.push(Change::Withdraw(n));
                    }
                }
            }
            let msgs = rib.apply(changes, &families, &export(max)).unwrap();
            let (ann, wd) = decode(&msgs, max);
            // Each route at most once per batch, and only routes this batch touched.
            let mut once = BTreeSet::new();
            for (f, n, _) in &ann {
                prop_assert!(once.insert((*f, n.clone())), "announced twice");
                prop_assert!(touched.contains(&(*f, n.clone())));
            }
            for (f, n) in &wd {
                prop_assert!(once.insert((*f, n.clone())), "withdrawn and announced in one batch");
                peer.remove(&(*f, n.clone()));
            }
            for (f, n, k) in ann {
                peer.insert((f, n), k);
            }
            prop_assert_eq!(&peer, &wanted);
            prop_assert_eq!(rib.len(), wanted.len());
        }
    }
}

#[test]
fn a_full_table_packs_into_few_updates() {
    let routes: Vec<Change> = (0..10_000).map(|i| Change::Announce(Route::new(flow(i, 32), attrs(0)))).collect();
    let mut rib = AdjRibOut::new();
    let msgs = rib.apply(routes, &[Family::IPV4_FLOWSPEC], &export(4096)).unwrap();
    let total: usize = msgs.iter().map(|m| m.len()).sum();
    // Rules of 15 to 16 bytes, about 4040 bytes of NLRI per UPDATE.
    assert!(msgs.len() <= 41, "{} UPDATEs for 10,000 rules ({total} bytes)", msgs.len());
    let (ann, _) = decode(&msgs, 4096);
    assert_eq!(ann.len(), 10_000);
    let ext = rib.apply(Vec::new(), &[Family::IPV4_FLOWSPEC], &export(65535)).unwrap();
    assert!(ext.is_empty(), "nothing changed, nothing sent");
}

#[test]
fn an_nlri_too_large_for_the_message_is_an_error() {
    let terms: Vec<String> = (0..1355).map(|i| format!("={}", 1000 + i)).collect();
    let rule: FlowRule = format!("dst 192.0.2.1/32 dport {}", terms.join("|")).parse().unwrap();
    let n = Nlri::flowspec(&rule.spec).unwrap();
    assert!(n.bytes().len() > 4050, "{}", n.bytes().len());
    let mut rib = AdjRibOut::new();
    let r = rib.apply([Change::Announce(Route::new(n.clone(), attrs(0)))], &[Family::IPV4_FLOWSPEC], &export(4096));
    assert!(matches!(r, Err(speaker::rib_out::PackError::TooLarge { .. })));
    assert!(!rib.contains(&n), "nothing recorded as sent");
    // With extended messages it fits.
    let msgs = rib
        .apply([Change::Announce(Route::new(n.clone(), attrs(0)))], &[Family::IPV4_FLOWSPEC], &export(65535))
        .unwrap();
    assert_eq!(msgs.len(), 1);
}
