//! # speaker
//!
//! An embeddable BGP speaker: the tokio driver for [`bgp_core::fsm::Session`]. It listens and
//! connects, runs one task per peer, keeps the Loc-RIB of locally originated routes and each peer's
//! Adj-RIB-Out and Adj-RIB-In, packs UPDATEs, sends End-of-RIB after the initial table, answers
//! route refresh, and applies RFC 7606 to what it receives.
//!
//! The per-peer task is a `select!` over commands, socket reads and the session's next deadline;
//! all protocol decisions are the session's.
//!
//! Graceful restart (RFC 4724) works both ways: as a restarting speaker ([`Speaker::shutdown_keep_routes`]
//! then a new process with [`GracefulRestartConfig::restarting`]) and as a helper that keeps a
//! restarting peer's routes as stale until its End-of-RIB.
//!
//! Not there yet: TCP-MD5, GTSM, AFI/SAFI disable (a malformed FlowSpec NLRI resets the session).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod event;
mod peer;
pub mod rib_out;
pub mod route;
mod sockopt;
mod speaker;

pub use config::{GracefulRestartConfig, MaxPrefix, MaxPrefixAction, PeerConfig, SpeakerConfig};
pub use event::Event;
pub use peer::PeerStatus;
pub use route::{Nlri, Route, RouteAttributes};
pub use speaker::{Speaker, SpeakerError};
