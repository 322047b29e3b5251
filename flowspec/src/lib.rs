//! # flowspec
//!
//! BGP Flow Specification (RFC 8955, RFC 8956, RFC 9117): NLRI codec, traffic-action extended
//! communities, canonical ordering, validation and a text syntax.
//!
//! Not implemented yet: this crate is a placeholder in the workspace layout until the FlowSpec work
//! lands. Until then, FlowSpec NLRI reach callers as raw bytes in
//! [`bgp_core::attribute::MpNlri::Raw`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
