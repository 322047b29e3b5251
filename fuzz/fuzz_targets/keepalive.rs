//! Fuzzes the keepalive decoder: the first byte picks the session context, the rest is the body.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    common::check(&common::framed(4, body), &common::context(selector));
});
