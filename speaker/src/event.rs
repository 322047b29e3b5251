//! What the speaker tells the application, in order, without loss.

use std::net::IpAddr;

use bgp_core::fsm::{DownReason, Negotiated, State};
use bgp_core::message::Notification;
use bgp_core::Family;

use crate::route::{Nlri, Route};

/// One event of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The session state changed.
    StateChanged {
        /// The peer.
        peer: IpAddr,
        /// Before.
        from: State,
        /// Now.
        to: State,
    },
    /// The session is Established.
    PeerUp {
        /// The peer.
        peer: IpAddr,
        /// What was negotiated.
        negotiated: Box<Negotiated>,
    },
    /// The session went down.
    PeerDown {
        /// The peer.
        peer: IpAddr,
        /// Why.
        reason: DownReason,
    },
    /// Routes arrived (after RFC 7606 handling: treat-as-withdraw turns announcements into
    /// withdrawals).
    RoutesReceived {
        /// The peer.
        peer: IpAddr,
        /// New or replaced routes.
        announced: Vec<Route>,
        /// Withdrawn NLRI.
        withdrawn: Vec<Nlri>,
    },
    /// The peer finished its initial table for a family (RFC 4724 §2).
    EndOfRib {
        /// The peer.
        peer: IpAddr,
        /// The family.
        family: Family,
    },
    /// We sent a NOTIFICATION.
    NotificationSent {
        /// The peer.
        peer: IpAddr,
        /// What.
        notification: Notification,
    },
    /// The peer sent a NOTIFICATION.
    NotificationReceived {
        /// The peer.
        peer: IpAddr,
        /// What.
        notification: Notification,
    },
    /// An UPDATE had errors the session survived (RFC 7606).
    UpdateErrors {
        /// The peer.
        peer: IpAddr,
        /// The errors, as text.
        errors: Vec<String>,
    },
    /// The peer sent more routes than its limit.
    MaxPrefixExceeded {
        /// The peer.
        peer: IpAddr,
        /// Routes held.
        count: usize,
        /// The limit.
        limit: usize,
    },
}
