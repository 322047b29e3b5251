//! Public test vectors (shared/notes/flowspec.md §4): exact bytes both ways, strict rejects,
//! normalisation of ignored bits, and the 239/240-byte length boundary.

use bgp_core::{hex, Afi};
use flowspec::{ErrorKind, FlowRule, FlowSpec};

fn decode(h: &str, afi: Afi) -> Result<FlowSpec, flowspec::DecodeError> {
    let bytes = hex::decode(h).unwrap();
    let (spec, used) = FlowSpec::decode(&bytes, afi, false)?;
    assert_eq!(used, bytes.len(), "{h}: whole input used");
    Ok(spec)
}

/// Decodes, checks the text form, and checks that the text encodes to the same bytes.
fn both_ways(h: &str, afi: Afi, text: &str) {
    let h = h.replace(' ', "");
    let spec = decode(&h, afi).unwrap_or_else(|e| panic!("{h}: {e}"));
    assert_eq!(spec.to_string(), text);
    let parsed = FlowRule::parse(text, Some(afi)).unwrap().spec;
    assert_eq!(parsed, spec);
    assert_eq!(hex::encode(&parsed.to_bytes().unwrap()), h);
}

#[test]
fn rfc8955_examples() {
    both_ways("0b 01 18 c0 00 02 03 81 06 04 81 19", Afi::Ipv4, "dst 192.0.2.0/24 proto =6 port =25");
    both_ways(
        "12 01 18 c0 00 02 02 18 cb 00 71 04 03 89 45 8b 91 1f 90",
        Afi::Ipv4,
        "dst 192.0.2.0/24 src 203.0.113.0/24 port >=137&<=139|=8080",
    );
}

#[test]
fn rfc8956_examples_with_bit_offsets() {
    both_ways(
        "12 01 20 00 20 01 0d b8 02 68 40 12 34 56 78 9a 03 81 06",
        Afi::Ipv6,
        "dst 2001:db8::/32 src ::1234:5678:9a00:0/104 offset 64 proto =6",
    );
    // Offset 65: a 39-bit pattern with one padding bit.
    both_ways(
        "0f 01 20 00 20 01 0d b8 02 68 41 24 68 ac f1 34",
        Afi::Ipv6,
        "dst 2001:db8::/32 src ::1234:5678:9a00:0/104 offset 65",
    );
}

#[test]
fn exabgp_vector() {
    both_ways(
        "25 01 20 c0a80001 02 20 0a000009 03 01 11 81 06 04 01 50 91 1f90 05 12 1f90 54 1f98 91 0c38 06 92 0400",
        Afi::Ipv4,
        "dst 192.168.0.1/32 src 10.0.0.9/32 proto =17|=6 port =80|=8080 dport >8080&<8088|=3128 sport >1024",
    );
}

#[test]
fn bird_rejects() {
    let cases = [
        ("0701210506070809", ErrorKind::PrefixLength { length: 33 }, 2),
        ("0b02200a0b0c0d0118050607", ErrorKind::ComponentOrder { component_type: 1, previous: 2 }, 7),
        ("0801180506070118050607", ErrorKind::ComponentOrder { component_type: 1, previous: 1 }, 6),
        ("050114050607", ErrorKind::PrefixPadding, 2),
        ("040991ff3a", ErrorKind::ReservedBits { component_type: 9 }, 2),
    ];
    for (h, kind, offset) in cases {
        let e = decode(h, Afi::Ipv4).unwrap_err();
        assert_eq!((e.kind.clone(), e.offset), (kind, offset), "{h}: {e}");
    }
}

#[test]
fn other_malformations() {
    let e = |h: &str, afi| decode(h, afi).unwrap_err().kind;
    assert_eq!(e("00", Afi::Ipv4), ErrorKind::EmptyNlri);
    assert_eq!(e("0d", Afi::Ipv4), ErrorKind::Truncated { what: "NLRI" });
    assert_eq!(e("020e81", Afi::Ipv4), ErrorKind::UnknownComponent { component_type: 14 });
    assert_eq!(e("030d8101", Afi::Ipv4), ErrorKind::UnknownComponent { component_type: 13 });
    assert!(decode("030d8101", Afi::Ipv6).is_ok());
    // DSCP in two octets, fragment in two octets, reserved fragment bits, TCP flags in four octets.
    assert_eq!(e("040b910003", Afi::Ipv4), ErrorKind::ValueWidth { component_type: 11, width: 2 });
    assert_eq!(e("040c910002", Afi::Ipv4), ErrorKind::ValueWidth { component_type: 12, width: 2 });
    assert_eq!(e("030c8110", Afi::Ipv4), ErrorKind::ReservedBits { component_type: 12 });
    assert_eq!(e("0609a100000002", Afi::Ipv4), ErrorKind::ValueWidth { component_type: 9, width: 4 });
    // An operator list that never ends.
    assert_eq!(e("0303010601", Afi::Ipv4), ErrorKind::UnterminatedList);
    // IPv6 offset not below the length; length above 128.
    assert_eq!(e("04012020ff", Afi::Ipv6), ErrorKind::PrefixOffset { offset: 32, length: 32 });
    assert_eq!(e("030181 00", Afi::Ipv6).clone(), ErrorKind::PrefixLength { length: 129 });
    // An IPv6 pattern with a padding bit set.
    assert_eq!(e("080268412468acf135", Afi::Ipv6), ErrorKind::PrefixPadding);
}

#[test]
fn ignored_bits_are_cleared() {
    // First operator with the AND bit and the reserved 0x08 bit: read as plain "=6".
    let spec = decode("0303c906", Afi::Ipv4).unwrap();
    assert_eq!(spec.to_string(), "proto =6");
    assert_eq!(hex::encode(&spec.to_bytes().unwrap()), "03038106");
    // IPv6 fragment with the DF position set: that bit does not exist in IPv6.
    let spec = decode("030c8003", Afi::Ipv6).unwrap();
    assert_eq!(spec.to_string(), "ipv6 fragment is-fragment");
    // A bitmask operator's reserved bits 0x0c.
    let spec = decode("03098d02", Afi::Ipv4).unwrap();
    assert_eq!(hex::encode(&spec.to_bytes().unwrap()), "03098102");
}

#[test]
fn length_boundary_239_240() {
    // A rule whose components take 239 bytes uses the one-octet length; 240 needs 0xF0F0.
    // Build exact sizes with a packet-length list of 1-byte values (2 bytes a term, 1 type byte).
    let sized = |n: usize| {
        let terms: Vec<String> = (0..n).map(|i| format!("={}", i % 200)).collect();
        FlowRule::parse(&format!("pkt-len {}", terms.join("|")), None).unwrap().spec
    };
    for (n, content, prefix) in [(119, 239, "ef"), (120, 241, "f0f1")] {
        let s = sized(n);
        assert_eq!(s.content_len(), content);
        let bytes = s.to_bytes().unwrap();
        assert!(hex::encode(&bytes).starts_with(prefix), "{n}");
        let (back, used) = FlowSpec::decode(&bytes, Afi::Ipv4, false).unwrap();
        assert_eq!((back, used), (s, bytes.len()));
    }
    // Exactly 240: pkt-len with 119 one-byte terms is 239; make the last value 2 bytes: 240.
    let mut terms: Vec<String> = (0..119).map(|i| format!("={}", i % 200)).collect();
    *terms.last_mut().unwrap() = "=1000".into();
    let s = FlowRule::parse(&format!("pkt-len {}", terms.join("|")), None).unwrap().spec;
    assert_eq!(s.content_len(), 240);
    let bytes = s.to_bytes().unwrap();
    assert_eq!(&bytes[..2], &[0xf0, 0xf0]);
    assert_eq!(FlowSpec::decode(&bytes, Afi::Ipv4, false).unwrap().0, s);
    // The long form is accepted for a small length and re-encoded short.
    let long = hex::decode("f00b0118c0000203810604811 9".replace(' ', "").as_str()).unwrap();
    let (spec, used) = FlowSpec::decode(&long, Afi::Ipv4, false).unwrap();
    assert_eq!(used, 13);
    assert_eq!(hex::encode(&spec.to_bytes().unwrap()), "0b0118c00002038106048119");
}

#[test]
fn oversize_rules_are_errors_not_truncated() {
    let terms: Vec<String> = (0..1400).map(|i| format!("={}", 1000 + i)).collect();
    let e = FlowRule::parse(&format!("dport {}", terms.join("|")), None).unwrap_err();
    assert_eq!(e.message, "rule longer than 4095 bytes");
}

#[test]
fn vpn_nlri_with_route_distinguisher() {
    let text = "rd 65004:1 dst 203.0.113.6/32 proto =6 dport =80";
    let spec = FlowRule::parse(text, None).unwrap().spec;
    let bytes = spec.to_bytes().unwrap();
    assert_eq!(hex::encode(&bytes[..9]), "140000fdec00000001");
    let (back, _) = FlowSpec::decode(&bytes, Afi::Ipv4, true).unwrap();
    assert_eq!(back.to_string(), text);
    // Without the VPN flag the same bytes do not parse as a rule.
    assert!(FlowSpec::decode(&bytes, Afi::Ipv4, false).is_err());
}

#[test]
fn decode_all_walks_several_nlri() {
    let bytes = hex::decode("0b0118c00002038106048119030381 11".replace(' ', "").as_str()).unwrap();
    let all = FlowSpec::decode_all(&bytes, Afi::Ipv4, false).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].to_string(), "proto =17");
    let e = FlowSpec::decode_all(&bytes[..14], Afi::Ipv4, false).unwrap_err();
    assert_eq!(e.offset, 13, "the truncated content of the second NLRI");
}
