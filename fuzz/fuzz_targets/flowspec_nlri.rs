//! Fuzzes the FlowSpec NLRI decoder for IPv4, IPv6 and the VPN forms (first byte picks which):
//! anything that decodes re-encodes, decodes to the same rule, and re-encodes to the same bytes.
#![no_main]

use bgp_core::Afi;
use flowspec::FlowSpec;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let afi = if selector & 1 == 0 { Afi::Ipv4 } else { Afi::Ipv6 };
    let vpn = selector & 2 != 0;
    if let Ok(rules) = FlowSpec::decode_all(bytes, afi, vpn) {
        for r in rules {
            let once = r.to_bytes().expect("a decoded rule encodes");
            let (back, used) = FlowSpec::decode(&once, afi, vpn).expect("re-decodes");
            assert_eq!(used, once.len());
            assert_eq!(back, r);
            assert_eq!(back.to_bytes().expect("encodes"), once);
            // The text form reads back to the same rule.
            let text = r.to_string();
            let parsed = flowspec::FlowRule::parse(&text, Some(afi)).expect("display parses");
            assert_eq!(parsed.spec, r, "{text}");
        }
    }
});
