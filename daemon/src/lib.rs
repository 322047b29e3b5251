//! The prefixd service: from attack events to FlowSpec rules.
//!
//! The pure parts (inventory lookup, the rule a vector calls for, playbooks, guardrails) are
//! functions over plain data, tested without I/O. The [`engine`] owns the desired set and decides;
//! the [`store`] keeps it in redb with group commit; [`api`] serves `/v1`; [`service`] runs it all.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alerts;
pub mod api;
pub mod config;
pub mod engine;
pub mod error;
pub mod guardrails;
pub mod inventory;
pub mod metrics;
pub mod model;
pub mod playbook;
pub mod policy;
pub mod ratelimit;
pub mod server;
pub mod service;
pub mod store;
pub mod tls;
