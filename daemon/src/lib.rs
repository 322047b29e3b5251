//! The prefixd service: from attack events to FlowSpec rules.
//!
//! This library holds the parts of the daemon that are pure functions over plain data, tested
//! without I/O: inventory lookup, the rule a vector calls for, and the guardrails. The HTTP API,
//! the store and reconciliation build on them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod guardrails;
pub mod inventory;
pub mod policy;
