//! NOTIFICATION (RFC 4271 §4.5) with the code registry and shutdown communication (RFC 9003).

use crate::error::{DecodeError, EncodeError, ErrorKind};
use crate::iana::MessageType;
use crate::wire::Reader;

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5, RFC 9687 §3).
pub mod code {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN_MESSAGE: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE_MESSAGE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
    /// Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Cease subcodes (RFC 4486 §4, RFC 8538 §5, RFC 9384).
pub mod cease {
    /// Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Administrative Shutdown (may carry a shutdown communication, RFC 9003).
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Reset (may carry a shutdown communication, RFC 9003).
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// A NOTIFICATION: error code, subcode and data, kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::wire::hex::serde_bytes"))]
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given fields.
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Self {
        Notification { code, subcode, data }
    }

    /// A Cease NOTIFICATION. For Administrative Shutdown and Administrative Reset a `message` is sent
    /// as an RFC 9003 shutdown communication (at most 255 bytes of UTF-8; longer is an error, never
    /// cut); for other subcodes it is ignored.
    pub fn cease(subcode: u8, message: Option<&str>) -> Result<Self, EncodeError> {
        let mut data = Vec::new();
        if let (Some(m), cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET) = (message, subcode) {
            let len = u8::try_from(m.len()).map_err(|_| EncodeError::TooLong {
                field: "shutdown communication",
                length: m.len(),
                max: 255,
            })?;
            data.push(len);
            data.extend_from_slice(m.as_bytes());
        }
        Ok(Notification { code: code::CEASE, subcode, data })
    }

    /// The RFC 9003 shutdown communication of a Cease / Administrative Shutdown or Reset:
    /// `None` when there is none, `Some(Err(data))` when the data is not a well-formed one
    /// (RFC 9003 §3 asks receivers to log such data as hex, so the raw bytes are returned).
    pub fn shutdown_communication(&self) -> Option<Result<&str, &[u8]>> {
        if self.code != code::CEASE
            || !matches!(self.subcode, cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET)
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len)).and_then(|t| std::str::from_utf8(t).ok());
        Some(text.ok_or(self.data.as_slice()))
    }

    /// The name of the error code.
    pub fn code_name(&self) -> &'static str {
        match self.code {
            code::MESSAGE_HEADER => "Message Header Error",
            code::OPEN_MESSAGE => "OPEN Message Error",
            code::UPDATE_MESSAGE => "UPDATE Message Error",
            code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            code::FSM => "Finite State Machine Error",
            code::CEASE => "Cease",
            code::ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
            code::SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
            _ => "Unknown",
        }
    }

    /// The name of the subcode within its code (IANA "BGP Error Subcodes").
    pub fn subcode_name(&self) -> &'static str {
        match (self.code, self.subcode) {
            (_, 0) => "Unspecific",
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (2, 11) => "Role Mismatch",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (6, cease::MAX_PREFIXES) => "Maximum Number of Prefixes Reached",
            (6, cease::ADMINISTRATIVE_SHUTDOWN) => "Administrative Shutdown",
            (6, cease::PEER_DECONFIGURED) => "Peer De-configured",
            (6, cease::ADMINISTRATIVE_RESET) => "Administrative Reset",
            (6, cease::CONNECTION_REJECTED) => "Connection Rejected",
            (6, cease::OTHER_CONFIGURATION_CHANGE) => "Other Configuration Change",
            (6, cease::CONNECTION_COLLISION) => "Connection Collision Resolution",
            (6, cease::OUT_OF_RESOURCES) => "Out of Resources",
            (6, cease::HARD_RESET) => "Hard Reset",
            (6, cease::BFD_DOWN) => "BFD Down",
            (7, 1) => "Invalid Message Length",
            _ => "Unknown",
        }
    }

    /// Decodes the body; `r` starts at offset 19 and holds at least the two code octets.
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Notification, DecodeError> {
        let at = r.offset();
        let (Some(code), Some(subcode)) = (r.u8(), r.u8()) else {
            return Err(DecodeError::new(
                at,
                ErrorKind::MalformedBody { message_type: MessageType::Notification, reason: "error code missing" },
            ));
        };
        Ok(Notification { code, subcode, data: r.take_rest().to_vec() })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl core::fmt::Display for Notification {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{} {} / {}", self.code, self.subcode, self.code_name(), self.subcode_name())?;
        match self.shutdown_communication() {
            Some(Ok(text)) => write!(f, ": {text:?}"),
            _ if !self.data.is_empty() => write!(f, " (data {})", crate::wire::hex::encode(&self.data)),
            _ => Ok(()),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Notification {
    /// The fields, plus the names of code and subcode and the shutdown communication for readers;
    /// deserialization reads only the fields.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Notification", 6)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("subcode", &self.subcode)?;
        st.serialize_field("data", &crate::wire::hex::encode(&self.data))?;
        st.serialize_field("code_name", self.code_name())?;
        st.serialize_field("subcode_name", self.subcode_name())?;
        match self.shutdown_communication() {
            Some(Ok(text)) => st.serialize_field("shutdown_communication", text)?,
            _ => st.skip_field("shutdown_communication")?,
        }
        st.end()
    }
}
