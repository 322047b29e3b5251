//! Each malformed message gives its exact error, byte offset, NOTIFICATION and RFC 7606 action.

use bgp_core::error::{DecodeError, ErrorAction, ErrorKind};
use bgp_core::hex;
use bgp_core::iana::AttributeType;
use bgp_core::message::{Message, Received, WireContext};
use bgp_core::Family;

fn msg(type_code: u8, body: &str) -> Vec<u8> {
    let body = hex::decode(body).unwrap();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(type_code);
    m.extend_from_slice(&body);
    m
}

/// An UPDATE with the given attribute and NLRI hex; lengths computed.
fn upd(attrs: &str, nlri: &str) -> Vec<u8> {
    let a = hex::decode(attrs).unwrap();
    msg(2, &format!("0000{:04x}{attrs}{nlri}", a.len()))
}

const ORIGIN: &str = "40010100";
const AS_PATH: &str = "400206020100 00fde9";
const NEXT_HOP: &str = "400304c00002fe";
const NLRI: &str = "18c00002";

fn base_attrs() -> String {
    format!("{ORIGIN}{}{NEXT_HOP}", AS_PATH.replace(' ', ""))
}

/// The error a session sees: the session-ending one, or the first survivable one.
fn error_of(bytes: &[u8], ctx: &WireContext) -> DecodeError {
    match Message::decode_received(bytes, ctx) {
        Err(e) => e,
        Ok(Received::Update(u)) => {
            u.errors.first().cloned().unwrap_or_else(|| panic!("no error in {}", hex::encode(bytes)))
        }
        Ok(other) => panic!("decoded without error: {other:?}"),
    }
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    offset: usize,
    notification: (u8, u8),
    data: Option<&'static str>,
    action: ErrorAction,
}

fn case(
    name: &'static str,
    bytes: Vec<u8>,
    offset: usize,
    n: (u8, u8),
    data: Option<&'static str>,
    action: ErrorAction,
) -> Case {
    Case { name, bytes, offset, notification: n, data, action }
}

#[test]
fn malformed_messages_table() {
    use ErrorAction::*;
    let open_head = "04fde9005ac0000201";
    let mut bad_marker = msg(4, "");
    bad_marker[3] = 0xfe;
    let mut short = msg(4, "");
    short[17] = 18;
    let v4 = Family::IPV4_UNICAST;
    let cases = vec![
        case("marker", bad_marker, 3, (1, 1), Some(""), SessionReset),
        case("length below 19", short, 16, (1, 2), Some("0012"), SessionReset),
        case("unknown type", msg(9, ""), 18, (1, 3), Some("09"), SessionReset),
        case("keepalive with a body", msg(4, "00"), 16, (1, 2), Some("0014"), SessionReset),
        case("notification without codes", msg(3, "06"), 16, (1, 2), Some("0014"), SessionReset),
        case("open too short", msg(1, "04fde9005a"), 16, (1, 2), Some("0018"), SessionReset),
        case("open version 3", msg(1, "03fde9005ac000020100"), 19, (2, 1), Some("0004"), SessionReset),
        case("open hold time 2", msg(1, "04fde90002c000020100"), 22, (2, 6), Some(""), SessionReset),
        case("open identifier zero", msg(1, "04fde9005a0000000000"), 24, (2, 3), Some(""), SessionReset),
        case("open parameter type 1", msg(1, &format!("{open_head}0401020000")), 29, (2, 4), Some(""), SessionReset),
        case("open parameters length", msg(1, &format!("{open_head}05020100")), 28, (2, 0), Some(""), SessionReset),
        case(
            "open capability runs past parameter",
            msg(1, &format!("{open_head}0402020104")),
            31,
            (2, 0),
            Some(""),
            SessionReset,
        ),
        case(
            "open MP capability of 3 bytes",
            msg(1, &format!("{open_head}0702050103000101")),
            31,
            (2, 0),
            Some("0103000101"),
            SessionReset,
        ),
        case(
            "open 4-octet AS capability of 2 bytes",
            msg(1, &format!("{open_head}0602044102 0001").replace(' ', "")),
            31,
            (2, 0),
            Some("41020001"),
            SessionReset,
        ),
        case("withdrawn length past message", msg(2, "00ff0000"), 19, (3, 1), Some(""), SessionReset),
        case("attribute length past message", msg(2, "000000ff"), 21, (3, 1), Some(""), SessionReset),
        case(
            "ORIGIN value 3",
            upd(&format!("40010103{}{NEXT_HOP}", AS_PATH.replace(' ', "")), NLRI),
            26,
            (3, 6),
            Some("40010103"),
            TreatAsWithdraw,
        ),
        case(
            "ORIGIN length 2",
            upd(&format!("4001020000{}", &base_attrs()[8..]), NLRI),
            23,
            (3, 5),
            Some("4001020000"),
            TreatAsWithdraw,
        ),
        case(
            "ORIGIN marked optional",
            upd(&format!("c0010100{}", &base_attrs()[8..]), NLRI),
            23,
            (3, 4),
            Some("c0010100"),
            TreatAsWithdraw,
        ),
        case(
            "AS_PATH segment type 5",
            upd(&format!("{ORIGIN}400206050100 00fde9{NEXT_HOP}").replace(' ', ""), NLRI),
            30,
            (3, 11),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "AS_PATH zero-length segment",
            upd(&format!("{ORIGIN}4002020200{NEXT_HOP}"), NLRI),
            30,
            (3, 11),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "AS_PATH with AS 0",
            upd(&format!("{ORIGIN}4002060201 00000000{NEXT_HOP}").replace(' ', ""), NLRI),
            30,
            (3, 11),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "AS_PATH segment overrun",
            upd(&format!("{ORIGIN}4002060202 0000fde9{NEXT_HOP}").replace(' ', ""), NLRI),
            30,
            (3, 11),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "NEXT_HOP length 5",
            upd(&format!("{ORIGIN}{}400305c00002fe01", AS_PATH.replace(' ', "")), NLRI),
            36,
            (3, 5),
            Some("400305c00002fe01"),
            TreatAsWithdraw,
        ),
        case(
            "MED length 3",
            upd(&format!("{}80040300 0001", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            Some("800403000001"),
            TreatAsWithdraw,
        ),
        case(
            "LOCAL_PREF length 0",
            upd(&format!("{}400500", base_attrs()), NLRI),
            43,
            (3, 5),
            Some("400500"),
            TreatAsWithdraw,
        ),
        case(
            "ATOMIC_AGGREGATE length 1",
            upd(&format!("{}40060101", base_attrs()), NLRI),
            43,
            (3, 5),
            Some("40060101"),
            AttributeDiscard,
        ),
        case(
            "AGGREGATOR length 7",
            upd(&format!("{}c00707 0000fde9 c00002", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            AttributeDiscard,
        ),
        case(
            "AGGREGATOR AS 0",
            upd(&format!("{}c00708 00000000 c0000201", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 9),
            None,
            AttributeDiscard,
        ),
        case(
            "COMMUNITIES length 5",
            upd(&format!("{}c00805 fde90064 00", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "COMMUNITIES length 0",
            upd(&format!("{}c00800", base_attrs()), NLRI),
            43,
            (3, 5),
            Some("c00800"),
            TreatAsWithdraw,
        ),
        case(
            "ORIGINATOR_ID length 3",
            upd(&format!("{}800903c00002", base_attrs()), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "CLUSTER_LIST length 6",
            upd(&format!("{}800a06c0000201 0203", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "EXTENDED_COMMUNITIES length 7",
            upd(&format!("{}c01007 00020000fde900", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "LARGE_COMMUNITY length 8",
            upd(&format!("{}c02008 0000fde900000001", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "IPv6 extended community length 19",
            upd(&format!("{}c01913{}", base_attrs(), "00".repeat(19)), NLRI),
            43,
            (3, 5),
            None,
            TreatAsWithdraw,
        ),
        case(
            "AS4_PATH zero-length segment",
            upd(&format!("{}c011020200", base_attrs()), NLRI),
            46,
            (3, 9),
            None,
            AttributeDiscard,
        ),
        case(
            "AS4_AGGREGATOR length 6",
            upd(&format!("{}c01206 fde9c0000201", base_attrs()).replace(' ', ""), NLRI),
            43,
            (3, 5),
            None,
            AttributeDiscard,
        ),
        case(
            "duplicate ORIGIN",
            upd(&format!("{}{ORIGIN}", base_attrs()), NLRI),
            43,
            (3, 1),
            Some(""),
            AttributeDiscard,
        ),
        case(
            "unrecognized well-known attribute",
            upd(&format!("{}403201ff", base_attrs()), NLRI),
            43,
            (3, 2),
            Some("403201ff"),
            SessionReset,
        ),
        case(
            "missing ORIGIN",
            upd(&format!("{}{NEXT_HOP}", AS_PATH.replace(' ', "")), NLRI),
            23,
            (3, 3),
            Some("01"),
            TreatAsWithdraw,
        ),
        case(
            "missing NEXT_HOP",
            upd(&format!("{ORIGIN}{}", AS_PATH.replace(' ', "")), NLRI),
            23,
            (3, 3),
            Some("03"),
            TreatAsWithdraw,
        ),
        case("NLRI prefix length 33", upd(&base_attrs(), "21c0000201ff"), 43, (3, 10), Some(""), SessionReset),
        case("NLRI prefix truncated", upd(&base_attrs(), "18c000"), 43, (3, 10), Some(""), SessionReset),
        case("withdrawn prefix truncated", msg(2, "000218c00000"), 21, (3, 10), Some(""), SessionReset),
        case(
            "attribute runs past the attribute field",
            upd(&format!("{}c00808fde9", base_attrs()), NLRI),
            43,
            (3, 1),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "attribute header truncated",
            upd(&format!("{}c008", base_attrs()), NLRI),
            43,
            (3, 1),
            Some(""),
            TreatAsWithdraw,
        ),
        case(
            "MP_REACH prefix length 33",
            upd(&("800e0a00010104c00002010021c0".to_owned() + ORIGIN + &AS_PATH.replace(' ', "")), ""),
            35,
            (3, 9),
            None,
            AfiSafiDisable { family: v4 },
        ),
        case(
            "MP_REACH IPv6 next hop of 4 bytes",
            upd(&format!("800e0a00020104c000020100 00{ORIGIN}").replace(' ', ""), ""),
            29,
            (3, 9),
            None,
            AfiSafiDisable { family: Family::IPV6_UNICAST },
        ),
        case("MP_REACH too short for its family", upd("800e020001", ""), 26, (3, 9), Some("800e020001"), SessionReset),
        case("MP_UNREACH marked transitive", upd("c00f03000285", ""), 23, (3, 4), Some("c00f03000285"), SessionReset),
        case("duplicate MP_UNREACH", upd("800f03000285800f03000285", ""), 29, (3, 1), Some(""), SessionReset),
        case(
            "no NLRI: malformed ORIGIN resets (RFC 7606 §5.2)",
            upd("40010103", ""),
            26,
            (3, 6),
            Some("40010103"),
            SessionReset,
        ),
        case(
            "ROUTE-REFRESH of 5 bytes",
            msg(5, "0001000100"),
            16,
            (7, 1),
            Some("ffffffffffffffffffffffffffffffff0018050001000100"),
            SessionReset,
        ),
    ];
    let ctx = WireContext::default();
    let mut failures = Vec::new();
    for c in &cases {
        let e = error_of(&c.bytes, &ctx);
        let n = e.notification();
        let ok = e.offset == c.offset
            && (n.code, n.subcode) == c.notification
            && c.data.is_none_or(|d| hex::encode(&n.data) == d)
            && e.action() == c.action;
        if !ok {
            failures.push(format!(
                "{}: got offset {} {}/{} data {} {:?} ({e}); want offset {} {}/{} data {:?} {:?}",
                c.name,
                e.offset,
                n.code,
                n.subcode,
                hex::encode(&n.data),
                e.action(),
                c.offset,
                c.notification.0,
                c.notification.1,
                c.data,
                c.action
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(cases.len() >= 50);
}

#[test]
fn treat_as_withdraw_keeps_the_routes_to_withdraw() {
    let bytes = upd(&format!("40010103{}{NEXT_HOP}", AS_PATH.replace(' ', "")), NLRI);
    let Ok(Received::Update(u)) = Message::decode_received(&bytes, &WireContext::default()) else { panic!() };
    assert!(u.treat_as_withdraw());
    assert_eq!(u.update.nlri.len(), 1, "the NLRI is kept so the session can withdraw it");
    assert_eq!(u.update.attribute(AttributeType::Origin), None, "the malformed attribute is dropped");
    assert!(matches!(u.errors[0].kind, ErrorKind::InvalidOrigin { value: 3, .. }));
}

#[test]
fn attribute_discard_keeps_the_update_usable() {
    let bytes = upd(&format!("{}40060101", base_attrs()), NLRI);
    let Ok(Received::Update(u)) = Message::decode_received(&bytes, &WireContext::default()) else { panic!() };
    assert!(!u.treat_as_withdraw());
    assert_eq!(u.update.attributes.len(), 3);
    assert_eq!(u.errors.len(), 1);
}

#[test]
fn local_pref_is_mandatory_only_on_ibgp() {
    let bytes = upd(&base_attrs(), NLRI);
    assert!(Message::decode(&bytes, &WireContext::default()).is_ok());
    let ibgp = WireContext { ibgp: true, ..WireContext::default() };
    let e = error_of(&bytes, &ibgp);
    assert_eq!(e.kind, ErrorKind::MissingWellKnownAttribute { type_code: AttributeType::LocalPref });
}

#[test]
fn extended_messages_only_when_negotiated() {
    let big = upd(&base_attrs(), &"18c00002".repeat(1100));
    assert!(big.len() > 4096);
    let e = Message::decode(&big, &WireContext::default()).unwrap_err();
    assert_eq!((e.offset, e.notification().code, e.notification().subcode), (16, 1, 2));
    let ext = WireContext::default().with_extended_messages(true);
    let m = Message::decode(&big, &ext).unwrap();
    assert_eq!(m.to_bytes(&ext).unwrap(), big);
    // Encoding refuses to exceed the limit instead of truncating.
    assert!(matches!(
        m.to_bytes(&WireContext::default()),
        Err(bgp_core::EncodeError::MessageTooLong { max: 4096, .. })
    ));
}
