//! Fuzzes the framer: arbitrary bytes fed in arbitrary chunks; every message it returns is whole
//! and is handed to the decoder.
#![no_main]

use bgp_core::framer::Framer;

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let ctx = common::context(selector);
    let mut framer = Framer::new(ctx.max_message_len);
    let chunk = usize::from(selector >> 4) + 1;
    for part in stream.chunks(chunk) {
        framer.extend(part);
        loop {
            match framer.next_message() {
                Ok(Some(m)) => {
                    assert!(m.len() >= 19 && m.len() <= ctx.max_message_len);
                    common::check(&m, &ctx);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
