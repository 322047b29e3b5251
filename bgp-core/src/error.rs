//! Decoding and encoding errors, and the one place that maps each decoding error to the
//! NOTIFICATION that RFC 4271 §6 requires and to the outcome that RFC 7606 revises it to.

use std::net::Ipv4Addr;

use crate::iana::{AttributeType, CapabilityCode, Family};
use crate::message::Notification;

/// A message could not be decoded: what was wrong and where.
///
/// `offset` counts from the first byte of the message (the marker), so it points into a captured
/// packet the way an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {offset})")]
#[non_exhaustive]
pub struct DecodeError {
    /// Byte offset of the offending field, from the start of the message.
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
    /// Set when the context makes the error worse than its kind alone (RFC 7606 §5.2).
    escalated: bool,
}

impl DecodeError {
    /// An error of `kind` at `offset`.
    pub fn new(offset: usize, kind: ErrorKind) -> Self {
        DecodeError { offset, kind, escalated: false }
    }

    /// The same error, made a session reset: RFC 7606 §5.2 requires that for any error worse than
    /// attribute discard in an UPDATE that carries attributes but no reachable NLRI.
    pub(crate) fn escalate(mut self) -> Self {
        self.escalated = true;
        self
    }
}

/// What was wrong with a message. Each variant names the RFC check that failed; variants that RFC 4271
/// wants echoed in the NOTIFICATION data carry the offending bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The marker is not 16 bytes of ones (RFC 4271 §6.1, 1/1).
    #[error("marker is not all ones")]
    ConnectionNotSynchronized,
    /// The length field is below 19, above the negotiated maximum, or wrong for the type (§6.1, 1/2).
    #[error("bad message length {length}")]
    BadMessageLength {
        /// The length field as received.
        length: u16,
    },
    /// The type field is not a known message type (§6.1, 1/3).
    #[error("bad message type {message_type}")]
    BadMessageType {
        /// The type field as received.
        message_type: u8,
    },
    /// OPEN version is not 4 (§6.2, 2/1).
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion {
        /// The version as received.
        version: u8,
    },
    /// The BGP identifier is zero (RFC 6286 §2.2, 2/3).
    #[error("bad BGP identifier {identifier}")]
    BadBgpIdentifier {
        /// The identifier as received.
        identifier: Ipv4Addr,
    },
    /// An optional parameter type other than capabilities (§6.2, 2/4).
    #[error("unsupported optional parameter type {parameter_type}")]
    UnsupportedOptionalParameter {
        /// The parameter type as received.
        parameter_type: u8,
    },
    /// Hold time of 1 or 2 seconds (§6.2, 2/6).
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime {
        /// The hold time as received.
        hold_time: u16,
    },
    /// Optional parameter lengths do not add up to the message (2/0).
    #[error("malformed optional parameters: {reason}")]
    MalformedOptionalParameters {
        /// Which check failed.
        reason: &'static str,
    },
    /// A capability we know has a value of the wrong size or content (RFC 5492 §3, 2/0).
    #[error("malformed {code} capability: {reason}")]
    MalformedCapability {
        /// The capability code.
        code: CapabilityCode,
        /// Which check failed.
        reason: &'static str,
        /// The capability as received (code, length, value).
        capability: Vec<u8>,
    },
    /// The withdrawn-routes and path-attribute lengths do not fit the message (§6.3, 3/1;
    /// unchanged by RFC 7606 §3 b).
    #[error("malformed attribute list: {reason}")]
    MalformedAttributeList {
        /// Which check failed.
        reason: &'static str,
    },
    /// An attribute header or length runs past the path-attribute field (RFC 7606 §4: 3/1 under
    /// RFC 4271, treat-as-withdraw under RFC 7606). Attributes after it cannot be read.
    #[error("attribute overruns the path attribute field: {reason}")]
    AttributeOverrun {
        /// Which check failed.
        reason: &'static str,
    },
    /// The same attribute appears twice (§6.3, 3/1; RFC 7606 §3 g).
    #[error("attribute {type_code} appears more than once")]
    DuplicateAttribute {
        /// The repeated attribute.
        type_code: AttributeType,
    },
    /// A well-known (non-optional) attribute type we do not know (§6.3, 3/2).
    #[error("unrecognized well-known attribute {type_code}")]
    UnrecognizedWellKnownAttribute {
        /// The attribute type.
        type_code: u8,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// A mandatory well-known attribute is absent (§6.3, 3/3; RFC 7606 §3 d).
    #[error("missing well-known attribute {type_code}")]
    MissingWellKnownAttribute {
        /// The absent attribute.
        type_code: AttributeType,
    },
    /// Optional, transitive or partial flags conflict with the attribute type (§6.3, 3/4).
    #[error("attribute {type_code} has conflicting flags {flags:#04x}")]
    AttributeFlags {
        /// The attribute type.
        type_code: AttributeType,
        /// The flags as received.
        flags: u8,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// An attribute's length is wrong for its type (§6.3, 3/5).
    #[error("attribute {type_code} has bad length {length}")]
    AttributeLength {
        /// The attribute type.
        type_code: AttributeType,
        /// The length as received.
        length: usize,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// ORIGIN value other than 0, 1, 2 (§6.3, 3/6).
    #[error("invalid ORIGIN {value}")]
    InvalidOrigin {
        /// The value as received.
        value: u8,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// An AS_PATH or AS4_PATH that does not parse into segments (§6.3, 3/11; RFC 7606 §7.2).
    #[error("malformed {type_code}: {reason}")]
    MalformedAsPath {
        /// AS_PATH or AS4_PATH.
        type_code: AttributeType,
        /// Which check failed.
        reason: &'static str,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// An optional attribute whose content is invalid (§6.3, 3/9).
    #[error("invalid {type_code}: {reason}")]
    OptionalAttribute {
        /// The attribute type.
        type_code: AttributeType,
        /// Which check failed.
        reason: &'static str,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// A prefix in the withdrawn-routes or NLRI field of the UPDATE is malformed (§6.3, 3/10).
    #[error("invalid network field: {reason}")]
    InvalidNetworkField {
        /// Which check failed.
        reason: &'static str,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI could not be parsed (RFC 4760 §7, 3/9; RFC 7606 §5.3, §7.3).
    #[error("malformed {type_code} for {family}: {reason}")]
    MalformedMpNlri {
        /// MP_REACH_NLRI or MP_UNREACH_NLRI.
        type_code: AttributeType,
        /// The family named by the attribute, when it was readable.
        family: Family,
        /// Which check failed.
        reason: &'static str,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI too short to hold its AFI and SAFI (RFC 7606 §7.3).
    #[error("{type_code} too short to name its family")]
    TruncatedMpAttribute {
        /// MP_REACH_NLRI or MP_UNREACH_NLRI.
        type_code: AttributeType,
        /// The attribute as received.
        attribute: Vec<u8>,
    },
    /// A NOTIFICATION or KEEPALIVE whose body does not match its type.
    #[error("malformed {message_type} body: {reason}")]
    MalformedBody {
        /// The message type.
        message_type: crate::iana::MessageType,
        /// Which check failed.
        reason: &'static str,
    },
    /// A ROUTE-REFRESH whose length is not 23 (RFC 7313 §5, 7/1).
    #[error("ROUTE-REFRESH length {length} is not 23")]
    RouteRefreshLength {
        /// The length field as received.
        length: u16,
        /// The whole message as received.
        message: Vec<u8>,
    },
}

/// What a session does about an error in a received message (RFC 7606 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum ErrorAction {
    /// Send the NOTIFICATION and close the session.
    SessionReset,
    /// RFC 7606 §2 "AFI/SAFI disable": stop using the family on this session (RFC 4760 §7); a
    /// speaker that does not implement it resets the session instead.
    AfiSafiDisable {
        /// The family to disable.
        family: Family,
    },
    /// RFC 7606 §2 "treat-as-withdraw": every route in the UPDATE is withdrawn; the session stays.
    TreatAsWithdraw,
    /// RFC 7606 §2 "attribute discard": the attribute is dropped and the UPDATE used without it.
    AttributeDiscard,
}

impl ErrorAction {
    /// How bad the action is, for choosing the worst of several errors in one UPDATE.
    pub fn severity(self) -> u8 {
        match self {
            ErrorAction::AttributeDiscard => 0,
            ErrorAction::TreatAsWithdraw => 1,
            ErrorAction::AfiSafiDisable { .. } => 2,
            ErrorAction::SessionReset => 3,
        }
    }
}

impl DecodeError {
    /// The NOTIFICATION RFC 4271 §6 (with RFC 4760, 5492, 6286, 7313 for their messages) requires for
    /// this error, with the data field it prescribes. Under RFC 7606 it is only sent when
    /// [`action`](Self::action) is a reset.
    pub fn notification(&self) -> Notification {
        use ErrorKind as K;
        let (code, subcode, data): (u8, u8, Vec<u8>) = match &self.kind {
            K::ConnectionNotSynchronized => (1, 1, Vec::new()),
            K::BadMessageLength { length } => (1, 2, length.to_be_bytes().to_vec()),
            K::BadMessageType { message_type } => (1, 3, vec![*message_type]),
            // §6.2: "the largest locally-supported version number less than the version the remote
            // BGP peer bid", as a 2-octet unsigned integer.
            K::UnsupportedVersion { .. } => (2, 1, 4u16.to_be_bytes().to_vec()),
            K::BadBgpIdentifier { .. } => (2, 3, Vec::new()),
            K::UnsupportedOptionalParameter { .. } => (2, 4, Vec::new()),
            K::UnacceptableHoldTime { .. } => (2, 6, Vec::new()),
            K::MalformedOptionalParameters { .. } => (2, 0, Vec::new()),
            K::MalformedCapability { capability, .. } => (2, 0, capability.clone()),
            K::MalformedAttributeList { .. } | K::AttributeOverrun { .. } | K::DuplicateAttribute { .. } => {
                (3, 1, Vec::new())
            }
            K::UnrecognizedWellKnownAttribute { attribute, .. } => (3, 2, attribute.clone()),
            // §6.3: "the Data field MUST contain the Attribute Type Code of the missing, well-known
            // attribute".
            K::MissingWellKnownAttribute { type_code } => (3, 3, vec![type_code.code()]),
            K::AttributeFlags { attribute, .. } => (3, 4, attribute.clone()),
            K::AttributeLength { attribute, .. } => (3, 5, attribute.clone()),
            K::InvalidOrigin { attribute, .. } => (3, 6, attribute.clone()),
            K::OptionalAttribute { attribute, .. }
            | K::MalformedMpNlri { attribute, .. }
            | K::TruncatedMpAttribute { attribute, .. } => (3, 9, attribute.clone()),
            K::InvalidNetworkField { .. } => (3, 10, Vec::new()),
            K::MalformedAsPath { type_code, attribute, .. } => match type_code {
                AttributeType::AsPath => (3, 11, Vec::new()),
                _ => (3, 9, attribute.clone()),
            },
            K::MalformedBody { .. } => (1, 2, Vec::new()),
            // RFC 7313 §5: "the Data field ... MUST contain the complete ROUTE-REFRESH message".
            K::RouteRefreshLength { message, .. } => (7, 1, message.clone()),
        };
        Notification::new(code, subcode, data)
    }

    /// What the session does about this error (RFC 7606 §3–§7, RFC 6793 §6, RFC 8092 §6).
    pub fn action(&self) -> ErrorAction {
        use AttributeType as A;
        use ErrorKind as K;
        if self.escalated {
            return ErrorAction::SessionReset;
        }
        match &self.kind {
            K::AttributeFlags { type_code, .. }
            | K::AttributeLength { type_code, .. }
            | K::OptionalAttribute { type_code, .. }
            | K::MalformedAsPath { type_code, .. } => attribute_action(*type_code),
            K::InvalidOrigin { .. } => ErrorAction::TreatAsWithdraw,
            // RFC 7606 §3 d and §4.
            K::MissingWellKnownAttribute { .. } | K::AttributeOverrun { .. } => ErrorAction::TreatAsWithdraw,
            // RFC 7606 §3 g: a repeated MP_REACH_NLRI or MP_UNREACH_NLRI resets the session;
            // any other repeat is discarded.
            K::DuplicateAttribute { type_code } => match type_code {
                A::MpReachNlri | A::MpUnreachNlri => ErrorAction::SessionReset,
                _ => ErrorAction::AttributeDiscard,
            },
            // RFC 7606 §5.3 and §7.3: the family is known, so it may be disabled instead.
            K::MalformedMpNlri { family, .. } => ErrorAction::AfiSafiDisable { family: *family },
            _ => ErrorAction::SessionReset,
        }
    }
}

/// RFC 7606 §7 per-attribute outcome for a malformed attribute of a known type.
fn attribute_action(type_code: AttributeType) -> ErrorAction {
    use AttributeType as A;
    match type_code {
        // §7.6, §7.7; RFC 6793 §6 for the AS4 attributes.
        A::AtomicAggregate | A::Aggregator | A::As4Path | A::As4Aggregator => ErrorAction::AttributeDiscard,
        // §7.3: the NLRI cannot be located reliably.
        A::MpReachNlri | A::MpUnreachNlri => ErrorAction::SessionReset,
        // §7.1, §7.2, §7.4, §7.5, §7.8, §7.9, §7.10, §7.14; RFC 5701 via §7.14; RFC 8092 §6.
        _ => ErrorAction::TreatAsWithdraw,
    }
}

/// A value could not be encoded. Encoders never truncate: a value that does not fit its field or the
/// negotiated message size is one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum (4096, or 65535 with RFC 8654).
    #[error("message of {length} bytes exceeds the maximum of {max}")]
    MessageTooLong {
        /// The length the message would have.
        length: usize,
        /// The negotiated maximum.
        max: usize,
    },
    /// A field's content does not fit its length field.
    #[error("{field} of {length} bytes does not fit its length field (at most {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The length it would have.
        length: usize,
        /// The largest length the field can carry.
        max: usize,
    },
    /// An AS number above 65535 in a 2-octet AS field (use AS_TRANS and AS4_PATH, RFC 6793 §4.2.2).
    #[error("AS {asn} does not fit a 2-octet AS field")]
    AsNotRepresentable {
        /// The AS number.
        asn: u32,
    },
    /// A value outside the range its field allows.
    #[error("{field} value {value} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// The prefix family does not match the attribute or field it is put in.
    #[error("{what}")]
    Mismatch {
        /// What does not match.
        what: &'static str,
    },
}
