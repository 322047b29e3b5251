//! # bgp-core
//!
//! A BGP-4 and MP-BGP message codec and a sans-IO session state machine.
//!
//! * [`message`]: every message type (RFC 4271 §4, RFC 2918, RFC 7313), encoded and decoded with the
//!   settings a session negotiated ([`WireContext`]).
//! * [`capability`], [`attribute`], [`nlri`]: capabilities (RFC 5492), path attributes and prefixes.
//! * [`framer`]: splitting a TCP byte stream into messages.
//! * [`error`]: typed errors with byte offsets, each mapped to its NOTIFICATION and RFC 7606 action.
//! * [`fsm`]: the RFC 4271 §8 state machine as a value: bytes, commands and the current time go in;
//!   bytes to send, the next deadline and events come out. It does no I/O and reads no clock.
//!
//! Nothing here panics on untrusted input, allocates from a length the peer claimed, or truncates
//! when encoding: an oversize value is an [`EncodeError`].
//!
//! ```
//! use bgp_core::message::{Message, WireContext};
//!
//! let keepalive = [0xffu8; 16].iter().copied().chain([0, 19, 4]).collect::<Vec<u8>>();
//! let ctx = WireContext::default();
//! let msg = Message::decode(&keepalive, &ctx).unwrap();
//! assert_eq!(msg, Message::Keepalive);
//! assert_eq!(msg.to_bytes(&ctx).unwrap(), keepalive);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod attribute;
pub mod capability;
pub mod error;
pub mod framer;
pub mod fsm;
pub mod iana;
pub mod message;
pub mod nlri;
pub mod wire;

pub use error::{DecodeError, EncodeError, ErrorAction, ErrorKind};
pub use iana::{Afi, Family, Safi};
pub use message::{Message, WireContext};
pub use wire::{hex, Reader};
