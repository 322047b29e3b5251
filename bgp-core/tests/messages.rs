//! Known bytes decode to known values and encode back to the same bytes, per message, attribute
//! and capability.

use std::net::Ipv4Addr;

use bgp_core::attribute::{
    Aggregator, AsPath, AsSegment, AttributeValue, Community, ExtendedCommunity, LargeCommunity, MpNlri, MpReach,
    MpUnreach, Origin, PathAttribute,
};
use bgp_core::capability::{AddPathFamily, AddPathMode, Capability, GracefulRestart, GracefulRestartFamily, Role};
use bgp_core::hex;
use bgp_core::message::{Message, Notification, Open, RouteRefresh, RouteRefreshSubtype, Update, WireContext};
use bgp_core::nlri::Prefix;
use bgp_core::{Afi, Family, Safi};

fn msg(type_code: u8, body: impl AsRef<str>) -> Vec<u8> {
    let body = hex::decode(body.as_ref()).unwrap();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(type_code);
    m.extend_from_slice(&body);
    m
}

/// Decodes, compares with `expected`, and re-encodes to the same bytes.
fn round_trip(bytes: &[u8], ctx: &WireContext, expected: &Message) {
    let got = Message::decode(bytes, ctx).unwrap_or_else(|e| panic!("{e}: {}", hex::encode(bytes)));
    assert_eq!(&got, expected);
    assert_eq!(hex::encode(&got.to_bytes(ctx).unwrap()), hex::encode(bytes));
}

fn attr(value: AttributeValue) -> PathAttribute {
    PathAttribute::new(value)
}

#[test]
fn keepalive() {
    round_trip(&msg(4, ""), &WireContext::default(), &Message::Keepalive);
}

#[test]
fn open_all_capabilities_in_one_parameter() {
    // AS 65001, hold 90, id 192.0.2.1; MP ipv4/unicast, MP ipv4/flowspec, route refresh, 4-octet AS.
    let body = "04fde9005ac0000201" // version, AS, hold, id
        .to_string()
        + "16" // opt param len 22
        + "0214" // capabilities, 20 bytes
        + "010400010001" + "010400010085" + "0200" + "410400 00fde9".replace(' ', "").as_str();
    let open = Open {
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        parameters: vec![vec![
            Capability::Multiprotocol { family: Family::IPV4_UNICAST },
            Capability::Multiprotocol { family: Family::IPV4_FLOWSPEC },
            Capability::RouteRefresh,
            Capability::FourOctetAs { asn: 65001 },
        ]],
        extended_parameters: false,
    };
    round_trip(&msg(1, &body), &WireContext::default(), &Message::Open(open.clone()));
    assert_eq!(open.families(), [Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC]);
    assert_eq!(open.asn(), 65001);
}

#[test]
fn open_one_capability_per_parameter_and_four_octet_as() {
    // FRR/ExaBGP layout: each capability in its own parameter; AS 4200000001 via AS_TRANS.
    let body = "045ba000b40a00000110".to_string() + "0206010400020001" + "02064104fa56ea01";
    let open = Open {
        my_as: 23456,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        parameters: vec![
            vec![Capability::Multiprotocol { family: Family::IPV6_UNICAST }],
            vec![Capability::FourOctetAs { asn: 4_200_000_001 }],
        ],
        extended_parameters: false,
    };
    round_trip(&msg(1, &body), &WireContext::default(), &Message::Open(open.clone()));
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(Open::new(4_200_000_001, 180, Ipv4Addr::new(10, 0, 0, 1), vec![]).my_as, 23456);
}

#[test]
fn open_with_every_known_capability() {
    let gr = GracefulRestart {
        restart_flags: GracefulRestart::RESTART_STATE | GracefulRestart::NOTIFICATION,
        restart_time: 120,
        families: vec![GracefulRestartFamily { family: Family::IPV4_FLOWSPEC, flags: 0x80 }],
    };
    let caps = vec![
        Capability::Multiprotocol { family: Family::IPV6_FLOWSPEC },
        Capability::RouteRefresh,
        Capability::ExtendedNextHop {
            families: vec![bgp_core::capability::ExtendedNextHop {
                family: Family::IPV4_UNICAST,
                next_hop_afi: Afi::Ipv6,
            }],
        },
        Capability::ExtendedMessage,
        Capability::Role { role: Role::Customer },
        Capability::GracefulRestart(gr),
        Capability::FourOctetAs { asn: 65001 },
        Capability::AddPath { families: vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode::Both }] },
        Capability::EnhancedRouteRefresh,
        Capability::LongLivedGracefulRestart {
            families: vec![bgp_core::capability::LongLivedGracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
                stale_time: 0x0001_0203,
            }],
        },
        Capability::Fqdn { hostname: "edge1".into(), domain: "example.net".into() },
        Capability::RouteRefreshCisco,
        Capability::Unknown { code: 200, data: vec![1, 2, 3] },
    ];
    let open = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
    let bytes = Message::Open(open.clone()).to_bytes(&WireContext::default()).unwrap();
    let expected_caps = "0104000200850200".to_string()
        + "0506000100010002"
        + "0600"
        + "090103"
        + "4006c07800018580"
        + "410400 00fde9".replace(' ', "").as_str()
        + "450400010103"
        + "4600"
        + "4707000101800102 03".replace(' ', "").as_str()
        + "4912056564676531 0b6578616d706c652e6e6574".replace(' ', "").as_str()
        + "8000"
        + "c803010203";
    let caps_hex = &hex::encode(&bytes)[2 * 31..];
    assert_eq!(caps_hex, expected_caps);
    round_trip(&bytes, &WireContext::default(), &Message::Open(open));
}

#[test]
fn open_rfc9072_extended_parameters() {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length 9, one 2-octet-length
    // parameter holding a 4-octet AS capability.
    let body = "04fde9005ac0000201ffff0009020006410400 00fde9".replace(' ', "");
    let open = Open {
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        parameters: vec![vec![Capability::FourOctetAs { asn: 65001 }]],
        extended_parameters: true,
    };
    round_trip(&msg(1, &body), &WireContext::default(), &Message::Open(open));
    // Parameters over 255 bytes switch to the extended layout on their own.
    let big = Capability::Unknown { code: 250, data: vec![7; 250] };
    let open = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![big.clone(), big]);
    let bytes = Message::Open(open.clone()).to_bytes(&WireContext::default()).unwrap();
    assert_eq!(&bytes[28..32], &[255, 255, 0x01, 0xfb]);
    let back = Message::decode(&bytes, &WireContext::default()).unwrap();
    assert_eq!(back, Message::Open(Open { extended_parameters: true, ..open }));
}

#[test]
fn update_ipv4_unicast_with_common_attributes() {
    // withdraw 10.9.0.0/16; announce 192.0.2.0/24 and 198.51.100.128/25 with ORIGIN IGP,
    // AS_PATH 65001 65002 (4-octet), NEXT_HOP 192.0.2.254, MED 50, LOCAL_PREF 200 (iBGP style),
    // ATOMIC_AGGREGATE, AGGREGATOR 65001/192.0.2.1, COMMUNITIES 65001:100 blackhole, LARGE 65001:1:2.
    let body = "0003100a09".to_string()
        + "0059"
        + "40010100"
        + "40020a0202 0000fde9 0000fdea".replace(' ', "").as_str()
        + "400304c00002fe"
        + "80040400000032"
        + "400504000000c8"
        + "400600"
        + "c00708 0000fde9 c0000201".replace(' ', "").as_str()
        + "c00808 fde90064 ffff029a".replace(' ', "").as_str()
        + "c0200c 0000fde9 00000001 00000002".replace(' ', "").as_str()
        + "c010080002fde900000064"
        + "18c00002"
        + "19c6336480";
    let update = Update {
        withdrawn: vec![Prefix::new("10.9.0.0/16".parse().unwrap())],
        attributes: vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::from_sequence([65001, 65002]))),
            attr(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 254))),
            attr(AttributeValue::MultiExitDisc(50)),
            attr(AttributeValue::LocalPref(200)),
            attr(AttributeValue::AtomicAggregate),
            attr(AttributeValue::Aggregator(Aggregator { asn: 65001, address: Ipv4Addr::new(192, 0, 2, 1) })),
            attr(AttributeValue::Communities(vec![Community::new(65001, 100), Community::BLACKHOLE])),
            attr(AttributeValue::LargeCommunities(vec![LargeCommunity { global: 65001, local1: 1, local2: 2 }])),
            attr(AttributeValue::ExtendedCommunities(vec![ExtendedCommunity::route_target_as2(65001, 100)])),
        ],
        nlri: vec![Prefix::new("192.0.2.0/24".parse().unwrap()), Prefix::new("198.51.100.128/25".parse().unwrap())],
    };
    round_trip(&msg(2, &body), &WireContext::default(), &Message::Update(update));
}

#[test]
fn update_two_octet_as_path_and_as4_path() {
    // A 2-octet session: AS_PATH 65001 23456, AS4_PATH 65001 4200000001.
    let body = "0000".to_string()
        + "0021"
        + "40010100"
        + "4002060202fde95ba0"
        + "c0110a0202 0000fde9 fa56ea01".replace(' ', "").as_str()
        + "400304c00002fe"
        + "18c00002";
    let ctx = WireContext { four_octet_as: false, ..WireContext::default() };
    let Message::Update(u) = Message::decode(&msg(2, &body), &ctx).unwrap() else { panic!() };
    let (Some(AttributeValue::AsPath(p2)), Some(AttributeValue::As4Path(p4))) =
        (u.attribute(bgp_core::iana::AttributeType::AsPath), u.attribute(bgp_core::iana::AttributeType::As4Path))
    else {
        panic!()
    };
    assert_eq!(AsPath::merge_as4(p2, p4).to_string(), "65001 4200000001");
    assert_eq!(hex::encode(&Message::Update(u.clone()).to_bytes(&ctx).unwrap()), hex::encode(&msg(2, &body)));
    // Encoding a 4-octet AS into a 2-octet AS_PATH is an error, not a truncation.
    let mut bad = u;
    bad.attributes[1] = attr(AttributeValue::AsPath(AsPath::from_sequence([4_200_000_001])));
    assert!(Message::Update(bad).to_bytes(&ctx).is_err());
}

#[test]
fn update_ipv6_mp_reach_with_link_local_next_hop() {
    let body = "0000".to_string()
        + "0040"
        + "900e0035" // MP_REACH, extended length (as some senders do), 64 bytes
        + "00020120"
        + "20010db8000000000000000000000001"
        + "fe800000000000000000000000000001"
        + "00"
        + "3020010db80001" + "4020010db800020000"
        + "40010100"
        + "400200";
    let update = Update {
        attributes: vec![
            PathAttribute {
                flags: 0x90,
                value: AttributeValue::MpReachNlri(MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: hex::decode("20010db8000000000000000000000001fe800000000000000000000000000001").unwrap(),
                    nlri: MpNlri::Prefixes(vec![
                        Prefix::new("2001:db8:1::/48".parse().unwrap()),
                        Prefix::new("2001:db8:2::/64".parse().unwrap()),
                    ]),
                }),
            },
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::empty())),
        ],
        ..Update::default()
    };
    round_trip(&msg(2, &body), &WireContext::default(), &Message::Update(update.clone()));
    let (global, ll) = update.mp_reach().unwrap().next_hop_addrs().unwrap();
    assert_eq!(global.to_string(), "2001:db8::1");
    assert_eq!(ll.unwrap().to_string(), "fe80::1");
}

#[test]
fn update_flowspec_from_the_lab_capture() {
    // GoBGP to BIRD: destination 10.0.0.1/32 protocol udp source-port 53 then discard
    // (shared/lab/README.md). FlowSpec NLRI stay raw bytes here; the flowspec crate reads them.
    let bytes = hex::decode(
        "ffffffffffffffffffffffffffffffff0044020000002d4001010240020602010000fde8800e1200018500000c01200a000001038111068135c010088006000000000000",
    )
    .unwrap();
    let update = Update {
        attributes: vec![
            attr(AttributeValue::Origin(Origin::Incomplete)),
            attr(AttributeValue::AsPath(AsPath::from_sequence([65000]))),
            attr(AttributeValue::MpReachNlri(MpReach {
                family: Family::IPV4_FLOWSPEC,
                next_hop: vec![],
                nlri: MpNlri::Raw(hex::decode("0c01200a000001038111068135").unwrap()),
            })),
            attr(AttributeValue::ExtendedCommunities(vec![ExtendedCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0])])),
        ],
        ..Update::default()
    };
    round_trip(&bytes, &WireContext::default(), &Message::Update(update));
}

#[test]
fn end_of_rib_markers() {
    let v4 = msg(2, "00000000");
    round_trip(&v4, &WireContext::default(), &Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)));
    let bytes = msg(2, "00000006800f03000285");
    round_trip(&bytes, &WireContext::default(), &Message::Update(Update::end_of_rib(Family::IPV6_FLOWSPEC)));
    for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST, Family::IPV4_FLOWSPEC, Family::IPV4_FLOWSPEC_VPN] {
        assert_eq!(Update::end_of_rib(f).end_of_rib_family(), Some(f));
    }
    let withdraw_only = Update {
        attributes: vec![attr(AttributeValue::MpUnreachNlri(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: MpNlri::Prefixes(vec![Prefix::new("2001:db8::/32".parse().unwrap())]),
        }))],
        ..Update::default()
    };
    assert_eq!(withdraw_only.end_of_rib_family(), None);
}

#[test]
fn add_path_identifiers() {
    let ctx = WireContext {
        add_path_receive: vec![Family::IPV4_UNICAST],
        add_path_send: vec![Family::IPV4_UNICAST],
        ..WireContext::default()
    };
    let body = "0000".to_string()
        + "0014"
        + "40010100"
        + "400206020100 00fde9".replace(' ', "").as_str()
        + "400304c00002fe"
        + "0000000718c00002";
    let update = Update {
        attributes: vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::from_sequence([65001]))),
            attr(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 254))),
        ],
        nlri: vec![Prefix::with_path_id("192.0.2.0/24".parse().unwrap(), 7)],
        ..Update::default()
    };
    round_trip(&msg(2, &body), &ctx, &Message::Update(update));
}

#[test]
fn notifications_and_shutdown_communication() {
    let n = Notification::cease(2, Some("upgrade; back at 03:00 UTC")).unwrap();
    let bytes = Message::Notification(n.clone()).to_bytes(&WireContext::default()).unwrap();
    assert_eq!(hex::encode(&bytes[19..22]), "06021a");
    round_trip(&bytes, &WireContext::default(), &Message::Notification(n.clone()));
    assert_eq!(n.shutdown_communication(), Some(Ok("upgrade; back at 03:00 UTC")));
    assert_eq!(n.to_string(), "6/2 Cease / Administrative Shutdown: \"upgrade; back at 03:00 UTC\"");
    // Malformed communication: length past the data; returned raw for a hex log (RFC 9003 §3).
    let bad = Notification::new(6, 4, vec![10, b'a']);
    assert_eq!(bad.shutdown_communication(), Some(Err(&[10u8, b'a'][..])));
    assert!(Notification::cease(2, Some(&"x".repeat(256))).is_err());
    round_trip(&msg(3, "0302"), &WireContext::default(), &Message::Notification(Notification::new(3, 2, vec![])));
    assert_eq!(Notification::new(2, 11, vec![]).subcode_name(), "Role Mismatch");
}

#[test]
fn route_refresh_and_enhanced_subtypes() {
    round_trip(
        &msg(5, "00010001"),
        &WireContext::default(),
        &Message::RouteRefresh(RouteRefresh::request(Family::IPV4_UNICAST)),
    );
    round_trip(
        &msg(5, "00020185"),
        &WireContext::default(),
        &Message::RouteRefresh(RouteRefresh { family: Family::IPV6_FLOWSPEC, subtype: RouteRefreshSubtype::Begin }),
    );
    round_trip(
        &msg(5, "00010785"),
        &WireContext::default(),
        &Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_FLOWSPEC,
            subtype: RouteRefreshSubtype::Unknown(7),
        }),
    );
}

#[test]
fn unknown_attributes_round_trip_with_their_flags() {
    // Optional transitive type 99 with the Partial bit, and an AS_PATH with an AS_SET.
    let body = "0000".to_string()
        + "001d"
        + "40010101"
        + "4002100201 0000fde9 0102 00000001 00000002".replace(' ', "").as_str()
        + "e06303aabbcc";
    let Message::Update(u) = Message::decode(&msg(2, &body), &WireContext::default()).unwrap() else { panic!() };
    assert_eq!(
        u.attributes[2],
        PathAttribute { flags: 0xe0, value: AttributeValue::Unknown { type_code: 99, data: vec![0xaa, 0xbb, 0xcc] } }
    );
    assert_eq!(
        u.attributes[1].value,
        AttributeValue::AsPath(AsPath { segments: vec![AsSegment::sequence([65001]), AsSegment::set([1, 2])] })
    );
    assert_eq!(
        hex::encode(&Message::Update(u).to_bytes(&WireContext::default()).unwrap()),
        hex::encode(&msg(2, &body))
    );
}

#[test]
fn ignored_bits_come_back_cleared() {
    // Low attribute-flag bits (RFC 4271 §4.3: "MUST be ignored when received") and the MP_REACH_NLRI
    // reserved octet (RFC 4760 §3: "SHOULD be ignored upon receipt") are sent back as zero.
    let received = msg(2, "0000".to_owned() + "0015" + "4f010100" + "400200" + "800e0b000185000a0501180a0000");
    let sent = msg(2, "0000".to_owned() + "0015" + "40010100" + "400200" + "800e0b00018500000501180a0000");
    let m = Message::decode(&received, &WireContext::default()).unwrap();
    assert_eq!(hex::encode(&m.to_bytes(&WireContext::default()).unwrap()), hex::encode(&sent));
}

#[test]
fn safi_and_afi_names() {
    assert_eq!(Family::IPV4_FLOWSPEC.to_string(), "ipv4-flowspec");
    assert_eq!("ipv6-flowspec-vpn".parse::<Family>().unwrap(), Family::IPV6_FLOWSPEC_VPN);
    assert_eq!("1-133".parse::<Family>().unwrap(), Family::IPV4_FLOWSPEC);
    assert_eq!(Safi::from(200).to_string(), "200");
}
