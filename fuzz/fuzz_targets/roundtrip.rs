//! Decode, encode, decode: whatever decodes re-encodes to bytes that decode to the same message,
//! and (ignored bits aside) to the same bytes.
#![no_main]

use bgp_core::message::Message;

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Some((&message_type, body)) = rest.split_first() else { return };
    let ctx = common::context(selector);
    let bytes = common::framed(message_type % 6, body);
    if let Ok(m) = Message::decode(&bytes, &ctx) {
        let once = m.to_bytes(&ctx).expect("a decoded message encodes");
        let back = Message::decode(&once, &ctx).expect("re-decodes");
        assert_eq!(back, m);
        let twice = back.to_bytes(&ctx).expect("encodes again");
        assert_eq!(once, twice, "encoding is a fixed point after one normalisation");
        assert_eq!(once.len(), bytes.len(), "normalising ignored bits never changes the length");
    }
});
