//! # flowspec
//!
//! BGP Flow Specification: the NLRI codec for IPv4 and IPv6 (SAFI 133) and their VPN forms
//! (SAFI 134), traffic-filtering actions, rule precedence, the validation procedure, a rule text
//! syntax, and a packet matcher (RFC 8955, RFC 8956, RFC 9117).
//!
//! ```
//! use flowspec::{FlowRule, FlowSpec};
//! use bgp_core::Afi;
//!
//! let rule: FlowRule = "dst 192.0.2.0/24 proto =6 port =25 then discard".parse().unwrap();
//! let nlri = rule.spec.to_bytes().unwrap();
//! // RFC 8955 §4.3, first example.
//! assert_eq!(bgp_core::hex::encode(&nlri), "0b0118c0000203810604811 9".replace(' ', ""));
//! let (back, _) = FlowSpec::decode(&nlri, Afi::Ipv4, false).unwrap();
//! assert_eq!(back, rule.spec);
//! ```
//!
//! Nothing here panics on untrusted input or truncates when encoding; a rule longer than 4095
//! bytes is an error.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod action;
pub mod component;
pub mod error;
pub mod matcher;
pub mod nlri;
pub mod order;
pub mod text;
pub mod validate;

pub use action::{Action, ActionCommunity, Rate};
pub use component::{BitmaskTerm, Cmp, Component, FlowPrefix, NumericTerm};
pub use error::{DecodeError, EncodeError, ErrorKind};
pub use nlri::{FlowSpec, RouteDistinguisher};
pub use text::{FlowRule, ParseError};
