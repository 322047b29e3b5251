// Shared by the fuzz targets (included with `#[path]`).
#![allow(dead_code)]

use bgp_core::message::{Message, WireContext};
use bgp_core::Family;

/// A session context chosen by the first input byte: 2- or 4-octet AS, ADD-PATH on IPv4/IPv6
/// unicast, iBGP, extended messages.
pub fn context(selector: u8) -> WireContext {
    let mut ctx = WireContext { four_octet_as: selector & 1 == 0, ibgp: selector & 2 != 0, ..WireContext::default() };
    if selector & 4 != 0 {
        ctx.add_path_receive = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
        ctx.add_path_send = ctx.add_path_receive.clone();
    }
    ctx.with_extended_messages(selector & 8 != 0)
}

/// Wraps `body` in a header of `message_type`, with the true length (or whatever fits in 16 bits).
pub fn framed(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    let len = u16::try_from(19 + body.len()).unwrap_or(u16::MAX);
    m.extend_from_slice(&len.to_be_bytes());
    m.push(message_type);
    m.extend_from_slice(body);
    m
}

/// Decodes strictly and as a session; a message that decodes must encode, and decode again to
/// the same value.
pub fn check(bytes: &[u8], ctx: &WireContext) {
    let _ = Message::decode_received(bytes, ctx);
    if let Ok(m) = Message::decode(bytes, ctx) {
        let again = m.to_bytes(ctx).expect("a decoded message encodes");
        assert_eq!(Message::decode(&again, ctx).expect("re-decodes"), m);
    }
}
