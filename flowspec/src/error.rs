//! FlowSpec decoding and parsing errors.

use bgp_core::error::ErrorAction;
use bgp_core::message::Notification;
use bgp_core::Family;

/// A FlowSpec NLRI or extended community could not be decoded: what and where.
///
/// `offset` counts from the first byte given to the decoder (for an NLRI, its length field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {offset})")]
#[non_exhaustive]
pub struct DecodeError {
    /// Byte offset of the offending field.
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: ErrorKind) -> Self {
        DecodeError { offset, kind }
    }

    /// What a session does with an UPDATE carrying this NLRI. RFC 8955 §10 defers to RFC 7606 and
    /// RFC 4760: a malformed NLRI in MP_REACH_NLRI / MP_UNREACH_NLRI makes the family unusable on
    /// the session (AFI/SAFI disable, or a session reset where that is not implemented).
    pub fn action(&self, family: Family) -> ErrorAction {
        ErrorAction::AfiSafiDisable { family }
    }

    /// The NOTIFICATION for a session reset: UPDATE Message Error / Optional Attribute Error (3/9),
    /// as RFC 4760 §7 prescribes for a malformed MP_REACH_NLRI or MP_UNREACH_NLRI.
    pub fn notification(&self, attribute: &[u8]) -> Notification {
        Notification::new(3, 9, attribute.to_vec())
    }
}

/// What was wrong with a FlowSpec NLRI (RFC 8955 §4, RFC 8956 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a field.
    #[error("truncated {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// NLRI length of zero (RFC 8955 §4.1 needs at least one component).
    #[error("NLRI length is zero")]
    EmptyNlri,
    /// The NLRI holds no component (a VPN NLRI with only a route distinguisher).
    #[error("NLRI has no component")]
    NoComponent,
    /// A component type this family does not define (0, 14 and up; 13 for IPv4).
    #[error("unknown component type {component_type}")]
    UnknownComponent {
        /// The type byte.
        component_type: u8,
    },
    /// Component types must strictly increase (RFC 8955 §4.2).
    #[error("component type {component_type} follows type {previous}: order must strictly increase")]
    ComponentOrder {
        /// The type that came too late.
        component_type: u8,
        /// The type before it.
        previous: u8,
    },
    /// A prefix length above 32 (IPv4) or 128 (IPv6).
    #[error("prefix length {length} too long")]
    PrefixLength {
        /// The length as received.
        length: u8,
    },
    /// An IPv6 prefix offset not below its length (RFC 8956 §3.1: offset < length < 129, or both 0).
    #[error("prefix offset {offset} not below length {length}")]
    PrefixOffset {
        /// Offset as received.
        offset: u8,
        /// Length as received.
        length: u8,
    },
    /// Bits after the prefix or pattern are not zero.
    #[error("non-zero padding bits after the prefix")]
    PrefixPadding,
    /// A value width the RFC forbids for this component (DSCP and fragment: 1 octet; TCP flags:
    /// 1 or 2).
    #[error("value of {width} bytes not allowed for component type {component_type}")]
    ValueWidth {
        /// The component type.
        component_type: u8,
        /// The width as received.
        width: usize,
    },
    /// Bits the RFC reserves are set in a value (TCP flags data-offset nibble, fragment high bits).
    #[error("reserved bits set in a value of component type {component_type}")]
    ReservedBits {
        /// The component type.
        component_type: u8,
    },
    /// An operator list that never ends (no end-of-list bit before the component does).
    #[error("operator list without end-of-list bit")]
    UnterminatedList,
    /// The NLRI would not fit 4095 bytes (RFC 8955 §4.1).
    #[error("NLRI of {length} bytes exceeds 4095")]
    TooLong {
        /// The length it would have.
        length: usize,
    },
}

/// A rule could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The NLRI would exceed 4095 bytes (RFC 8955 §4.1): never truncated.
    #[error("NLRI of {length} bytes exceeds 4095")]
    TooLong {
        /// The length it would have.
        length: usize,
    },
    /// The rule breaks a structural rule (order, empty operator list, value too wide ...).
    #[error("{0}")]
    Invalid(&'static str),
}
