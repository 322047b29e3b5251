//! Property tests: every message the codec can represent encodes and decodes back to itself, and
//! arbitrary bytes never panic the decoder.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_core::attribute::{
    Aggregator, AsPath, AsSegment, AttributeValue, Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity,
    MpNlri, MpReach, MpUnreach, Origin, PathAttribute, SegmentType,
};
use bgp_core::capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHop, GracefulRestart, GracefulRestartFamily,
    LongLivedGracefulRestartFamily, Role,
};
use bgp_core::framer::Framer;
use bgp_core::iana::CapabilityCode;
use bgp_core::message::{Message, Notification, Open, RouteRefresh, RouteRefreshSubtype, Update, WireContext};
use bgp_core::nlri::Prefix;
use bgp_core::{Afi, Family, Safi};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::collection::vec;
use proptest::prelude::*;

fn family() -> impl Strategy<Value = Family> {
    (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(Afi::from(a), Safi::from(s)))
}

/// A prefix whose bits past the last encoded byte are zero (they are not on the wire).
fn v4_prefix() -> impl Strategy<Value = Prefix> {
    (0u8..=32, any::<[u8; 4]>()).prop_map(|(len, mut a)| {
        for b in a.iter_mut().skip(usize::from(len).div_ceil(8)) {
            *b = 0;
        }
        Prefix::new(IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap()))
    })
}

fn v6_prefix() -> impl Strategy<Value = Prefix> {
    (0u8..=128, any::<[u8; 16]>()).prop_map(|(len, mut a)| {
        for b in a.iter_mut().skip(usize::from(len).div_ceil(8)) {
            *b = 0;
        }
        Prefix::new(IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).unwrap()))
    })
}

fn asn() -> impl Strategy<Value = u32> {
    1u32..
}

fn as_path() -> impl Strategy<Value = AsPath> {
    vec((1u8..=4, vec(asn(), 1..8)), 0..4).prop_map(|segs| AsPath {
        segments: segs.into_iter().map(|(t, asns)| AsSegment { kind: SegmentType::from(t), asns }).collect(),
    })
}

fn capability() -> impl Strategy<Value = Capability> {
    let known: Vec<u8> =
        (0..=255u8).filter(|c| !matches!(CapabilityCode::from(*c), CapabilityCode::Unknown(_))).collect();
    prop_oneof![
        family().prop_map(|family| Capability::Multiprotocol { family }),
        Just(Capability::RouteRefresh),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::RouteRefreshCisco),
        vec((family(), any::<u16>()), 1..4).prop_map(|v| Capability::ExtendedNextHop {
            families: v
                .into_iter()
                .map(|(family, nh)| ExtendedNextHop { family, next_hop_afi: Afi::from(nh) })
                .collect()
        }),
        any::<u8>().prop_map(|r| Capability::Role { role: Role::from(r) }),
        (0u8..16, 0u16..4096, vec((family(), any::<u8>()), 0..4)).prop_map(|(restart_flags, restart_time, f)| {
            Capability::GracefulRestart(GracefulRestart {
                restart_flags,
                restart_time,
                families: f.into_iter().map(|(family, flags)| GracefulRestartFamily { family, flags }).collect(),
            })
        }),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs { asn }),
        vec((family(), any::<u8>()), 1..4).prop_map(|v| Capability::AddPath {
            families: v.into_iter().map(|(family, m)| AddPathFamily { family, mode: AddPathMode::from(m) }).collect()
        }),
        vec((family(), any::<u8>(), 0u32..(1 << 24)), 0..4).prop_map(|v| Capability::LongLivedGracefulRestart {
            families: v
                .into_iter()
                .map(|(family, flags, stale_time)| LongLivedGracefulRestartFamily { family, flags, stale_time })
                .collect()
        }),
        ("[a-z0-9.-]{0,30}", "[a-z0-9.-]{0,30}").prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        (any::<u8>().prop_filter("unknown code", move |c| !known.contains(c)), vec(any::<u8>(), 0..20))
            .prop_map(|(code, data)| Capability::Unknown { code, data }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        any::<u16>().prop_filter("hold 1 or 2", |h| *h != 1 && *h != 2),
        1u32..,
        vec(vec(capability(), 0..6), 0..4),
        any::<bool>(),
    )
        .prop_map(|(my_as, hold_time, id, parameters, extended_parameters)| Open {
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            parameters,
            extended_parameters,
        })
}

fn prefix_family() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::IPV4_UNICAST),
        Just(Family::IPV6_UNICAST),
        Just(Family::IPV4_MULTICAST),
        Just(Family::IPV6_MULTICAST)
    ]
}

fn prefixes_of(f: Family) -> BoxedStrategy<Vec<Prefix>> {
    if f.afi == Afi::Ipv4 {
        vec(v4_prefix(), 0..6).boxed()
    } else {
        vec(v6_prefix(), 0..6).boxed()
    }
}

fn mp_reach() -> impl Strategy<Value = MpReach> {
    prop_oneof![
        prefix_family().prop_flat_map(|family| {
            let nh_len: BoxedStrategy<usize> = if family.afi == Afi::Ipv4 {
                prop_oneof![Just(4), Just(16)].boxed()
            } else {
                prop_oneof![Just(16), Just(32)].boxed()
            };
            (nh_len.prop_flat_map(|n| vec(any::<u8>(), n)), prefixes_of(family))
                .prop_map(move |(next_hop, p)| MpReach { family, next_hop, nlri: MpNlri::Prefixes(p) })
        }),
        (
            prop_oneof![Just(Family::IPV4_FLOWSPEC), Just(Family::IPV6_FLOWSPEC), Just(Family::IPV4_FLOWSPEC_VPN)],
            vec(any::<u8>(), 0..4),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(family, next_hop, raw)| MpReach { family, next_hop, nlri: MpNlri::Raw(raw) }),
    ]
}

fn mp_unreach() -> impl Strategy<Value = MpUnreach> {
    prop_oneof![
        prefix_family().prop_flat_map(
            |family| prefixes_of(family).prop_map(move |p| MpUnreach { family, withdrawn: MpNlri::Prefixes(p) })
        ),
        vec(any::<u8>(), 0..40)
            .prop_map(|raw| MpUnreach { family: Family::IPV6_FLOWSPEC, withdrawn: MpNlri::Raw(raw) }),
    ]
}

/// Optional attributes, each at most once.
fn optional_attributes() -> impl Strategy<Value = Vec<AttributeValue>> {
    let first = (
        proptest::option::of(any::<u32>().prop_map(AttributeValue::MultiExitDisc)),
        proptest::option::of(any::<u32>().prop_map(AttributeValue::LocalPref)),
        proptest::option::of(Just(AttributeValue::AtomicAggregate)),
        proptest::option::of(
            (asn(), any::<u32>())
                .prop_map(|(asn, a)| AttributeValue::Aggregator(Aggregator { asn, address: Ipv4Addr::from(a) })),
        ),
        proptest::option::of(vec(any::<u32>().prop_map(Community), 1..6).prop_map(AttributeValue::Communities)),
        proptest::option::of(any::<u32>().prop_map(|a| AttributeValue::OriginatorId(Ipv4Addr::from(a)))),
        proptest::option::of(vec(any::<u32>().prop_map(Ipv4Addr::from), 1..4).prop_map(AttributeValue::ClusterList)),
        proptest::option::of(mp_reach().prop_map(AttributeValue::MpReachNlri)),
    );
    let second = (
        proptest::option::of(mp_unreach().prop_map(AttributeValue::MpUnreachNlri)),
        proptest::option::of(
            vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 1..5).prop_map(AttributeValue::ExtendedCommunities),
        ),
        proptest::option::of(
            vec(any::<[u8; 20]>().prop_map(Ipv6ExtendedCommunity), 1..3)
                .prop_map(AttributeValue::Ipv6ExtendedCommunities),
        ),
        proptest::option::of(
            vec(
                (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| LargeCommunity {
                    global,
                    local1,
                    local2,
                }),
                1..4,
            )
            .prop_map(AttributeValue::LargeCommunities),
        ),
        proptest::option::of(
            (200u8..=255, vec(any::<u8>(), 0..20))
                .prop_map(|(type_code, data)| AttributeValue::Unknown { type_code, data }),
        ),
    );
    (first, second).prop_map(|((a, b, c, d, e, f, g, h), (i, j, k, l, m))| {
        [a, b, c, d, e, f, g, h, i, j, k, l, m].into_iter().flatten().collect()
    })
}

fn update() -> impl Strategy<Value = Update> {
    (
        vec(v4_prefix(), 0..8),
        vec(v4_prefix(), 0..8),
        0u8..3,
        as_path(),
        any::<u32>(),
        optional_attributes(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(withdrawn, nlri, origin, path, nh, optional, with_mandatory, flag_bits)| {
            let mut values = Vec::new();
            if with_mandatory || !nlri.is_empty() {
                values.push(AttributeValue::Origin(Origin::from(origin)));
                values.push(AttributeValue::AsPath(path));
                values.push(AttributeValue::NextHop(Ipv4Addr::from(nh)));
            }
            values.extend(optional);
            let attributes = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut a = PathAttribute::new(v);
                    // Extended length and partial bits as a sender may set them; both are kept.
                    a.flags |= (((flag_bits >> (2 * i)) & 3) as u8) << 4;
                    a
                })
                .collect();
            let mut u = Update { withdrawn, attributes, nlri };
            // An UPDATE that only announces through MP_REACH_NLRI still needs ORIGIN and AS_PATH.
            if u.has_reachable() && u.attribute(bgp_core::iana::AttributeType::Origin).is_none() {
                u.attributes.push(PathAttribute::new(AttributeValue::Origin(Origin::Igp)));
                u.attributes.push(PathAttribute::new(AttributeValue::AsPath(AsPath::empty())));
            }
            u
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update().prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..40))
            .prop_map(|(c, s, d)| Message::Notification(Notification::new(c, s, d))),
        Just(Message::Keepalive),
        (family(), any::<u8>()).prop_map(|(family, s)| Message::RouteRefresh(RouteRefresh {
            family,
            subtype: RouteRefreshSubtype::from(s)
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity(m in message(), four_octet in any::<bool>()) {
        let ctx = WireContext { four_octet_as: four_octet, ..WireContext::default() }.with_extended_messages(true);
        match m.to_bytes(&ctx) {
            Ok(bytes) => {
                let back = Message::decode(&bytes, &ctx).map_err(|e| TestCaseError::fail(format!("{e}: {}", bgp_core::hex::encode(&bytes))))?;
                prop_assert_eq!(&back, &m);
                prop_assert_eq!(back.to_bytes(&ctx).unwrap(), bytes);
            }
            // The only refusals: a 4-octet AS in a 2-octet session, an OPEN over 4096 bytes.
            Err(bgp_core::EncodeError::AsNotRepresentable { .. }) => prop_assert!(!four_octet),
            Err(bgp_core::EncodeError::MessageTooLong { max: 4096, .. }) => prop_assert!(matches!(m, Message::Open(_))),
            Err(e) => prop_assert!(false, "unexpected encode error {e}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decoded_messages_round_trip(body in vec(any::<u8>(), 0..200), t in 1u8..=5, four in any::<bool>()) {
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
        bytes.push(t);
        bytes.extend_from_slice(&body);
        let ctx = WireContext { four_octet_as: four, ..WireContext::default() };
        let _ = Message::decode_received(&bytes, &ctx);
        if let Ok(m) = Message::decode(&bytes, &ctx) {
            let again = m.to_bytes(&ctx).unwrap();
            prop_assert_eq!(Message::decode(&again, &ctx).unwrap(), m);
        }
    }

    #[test]
    fn framer_splits_any_chunking(msgs in vec(message(), 1..5), cuts in vec(1usize..50, 1..20)) {
        let ctx = WireContext::default().with_extended_messages(true);
        let encoded: Vec<Vec<u8>> = msgs.iter().filter_map(|m| m.to_bytes(&ctx).ok()).collect();
        let stream: Vec<u8> = encoded.concat();
        let mut f = Framer::new(65535);
        let mut got = Vec::new();
        let mut rest = stream.as_slice();
        for c in cuts.iter().cycle().take(10_000) {
            if rest.is_empty() { break; }
            let (now, later) = rest.split_at((*c).min(rest.len()));
            f.extend(now);
            rest = later;
            while let Some(m) = f.next_message().unwrap() {
                got.push(m.to_vec());
            }
        }
        f.extend(rest);
        while let Some(m) = f.next_message().unwrap() {
            got.push(m.to_vec());
        }
        prop_assert_eq!(got, encoded);
    }
}

#[cfg(feature = "serde")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The JSON form (what `prefixd decode` prints) reads back to the same message.
    #[test]
    fn json_round_trip(m in message()) {
        let json = serde_json::to_string(&m).unwrap();
        let back: Message = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(back, m);
    }
}
