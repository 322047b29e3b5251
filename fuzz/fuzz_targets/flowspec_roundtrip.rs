//! Decode, encode, decode over whole MP_REACH NLRI fields, plus the precedence order: for any two
//! decoded rules, `cmp` is antisymmetric and agrees with equality.
#![no_main]

use std::cmp::Ordering;

use bgp_core::Afi;
use flowspec::FlowSpec;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let afi = if selector & 1 == 0 { Afi::Ipv4 } else { Afi::Ipv6 };
    let Ok(rules) = FlowSpec::decode_all(bytes, afi, false) else { return };
    let encoded: Vec<u8> = rules.iter().flat_map(|r| r.to_bytes().expect("encodes")).collect();
    let back = FlowSpec::decode_all(&encoded, afi, false).expect("re-decodes");
    assert_eq!(back, rules);
    for a in &rules {
        for b in &rules {
            let (ab, ba) = (a.cmp(b), b.cmp(a));
            assert_eq!(ab, ba.reverse());
            assert_eq!(ab == Ordering::Equal, a == b);
        }
    }
    let mut sorted = rules.clone();
    sorted.sort();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
});
