//! # speaker
//!
//! The tokio driver for [`bgp_core::fsm`]: listeners, connectors, one task per peer, Adj-RIB-In/Out.
//!
//! Not implemented yet: this crate is a placeholder in the workspace layout until the speaker work
//! lands.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
