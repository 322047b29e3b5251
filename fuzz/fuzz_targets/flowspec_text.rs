//! Fuzzes the rule text parser: arbitrary text never panics; whatever parses displays as text
//! that parses to the same rule, and encodes to an NLRI that decodes to the same rule.
#![no_main]

use flowspec::{FlowRule, FlowSpec};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rule) = text.parse::<FlowRule>() else { return };
    let shown = rule.to_string();
    let again: FlowRule = shown.parse().unwrap_or_else(|e| panic!("{shown:?}: {e}"));
    if rule.actions.iter().all(|a| match a {
        flowspec::Action::TrafficRateBytes { rate, .. } | flowspec::Action::TrafficRatePackets { rate, .. } => !rate.0.is_nan(),
        _ => true,
    }) {
        assert_eq!(again, rule, "{shown}");
    }
    let bytes = rule.spec.to_bytes().expect("a parsed rule encodes");
    let (back, _) = FlowSpec::decode(&bytes, rule.spec.afi(), rule.spec.rd().is_some()).expect("decodes");
    assert_eq!(back, rule.spec);
});
