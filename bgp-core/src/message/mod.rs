//! BGP messages (RFC 4271 §4) and the per-session settings that change how they are encoded.

mod notification;
mod open;
mod route_refresh;
mod update;

pub use notification::{cease, code, Notification};
pub use open::Open;
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};
pub use update::{ReceivedUpdate, Update};

use crate::error::{DecodeError, EncodeError, ErrorKind};
use crate::iana::{Family, MessageType, HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use crate::wire::{patch_u16, Reader};

/// The 16-byte marker of every message (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];

/// What a session negotiated that changes the wire form of UPDATEs and the message size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireContext {
    /// Both sides advertised 4-octet AS support: AS_PATH and AGGREGATOR carry 4-octet ASes
    /// (RFC 6793 §4.1). Default `true`, as every current implementation does.
    pub four_octet_as: bool,
    /// The largest message accepted and sent: 4096, or 65535 when both sides advertised extended
    /// messages (RFC 8654 §4). OPEN and KEEPALIVE are always held to 4096.
    pub max_message_len: usize,
    /// Families in which received NLRI carry ADD-PATH path identifiers (RFC 7911 §3).
    pub add_path_receive: Vec<Family>,
    /// Families in which sent NLRI carry ADD-PATH path identifiers.
    pub add_path_send: Vec<Family>,
    /// The session is internal (same AS): LOCAL_PREF is then mandatory (RFC 4271 §5.1.5).
    pub ibgp: bool,
}

impl Default for WireContext {
    fn default() -> Self {
        WireContext {
            four_octet_as: true,
            max_message_len: MAX_MESSAGE_LEN,
            add_path_receive: Vec::new(),
            add_path_send: Vec::new(),
            ibgp: false,
        }
    }
}

impl WireContext {
    /// True if received NLRI of `family` carry path identifiers.
    pub fn receives_path_ids(&self, family: Family) -> bool {
        self.add_path_receive.contains(&family)
    }

    /// True if sent NLRI of `family` carry path identifiers.
    pub fn sends_path_ids(&self, family: Family) -> bool {
        self.add_path_send.contains(&family)
    }

    /// The same settings with extended messages on or off.
    pub fn with_extended_messages(mut self, on: bool) -> Self {
        self.max_message_len = if on { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN };
        self
    }
}

/// A BGP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// The fixed header of a message (RFC 4271 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: u16,
    /// Message type.
    pub message_type: MessageType,
}

impl Header {
    /// Checks the header at the start of `buf`, which may be incomplete.
    ///
    /// Returns `Ok(None)` only when `buf` is a valid beginning of a header that is not complete yet;
    /// a wrong marker byte is an error as soon as it is seen, and a length below 19 or above
    /// `max_len` as soon as the length field is complete (RFC 4271 §6.1). The type is checked by
    /// [`Message::decode`], which also applies the per-type length rules.
    pub fn peek(buf: &[u8], max_len: usize) -> Result<Option<Header>, DecodeError> {
        for (i, b) in buf.iter().take(MARKER.len()).enumerate() {
            if *b != 0xff {
                return Err(DecodeError::new(i, ErrorKind::ConnectionNotSynchronized));
            }
        }
        let (Some(&hi), Some(&lo)) = (buf.get(16), buf.get(17)) else {
            return Ok(None);
        };
        let length = u16::from_be_bytes([hi, lo]);
        if usize::from(length) < HEADER_LEN || usize::from(length) > max_len {
            return Err(DecodeError::new(16, ErrorKind::BadMessageLength { length }));
        }
        Ok(buf.get(18).map(|&t| Header { length, message_type: MessageType::from(t) }))
    }
}

impl Message {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decodes one whole message, marker included. `buf` must be exactly the message: its length
    /// must equal the header's length field.
    ///
    /// This is strict: an UPDATE error that RFC 7606 lets a session survive is still an error here.
    /// Sessions use [`Message::decode_received`].
    pub fn decode(buf: &[u8], ctx: &WireContext) -> Result<Message, DecodeError> {
        let (header, body) = split(buf, ctx)?;
        match header.message_type {
            MessageType::Update => Update::decode(body, ctx).map(Message::Update),
            _ => decode_other(header, body, buf),
        }
    }

    /// Decodes one whole message the way a session receives it: for an UPDATE, errors RFC 7606 lets
    /// the session survive come back in [`ReceivedUpdate::errors`] instead of failing the decode.
    pub fn decode_received(buf: &[u8], ctx: &WireContext) -> Result<Received, DecodeError> {
        let (header, body) = split(buf, ctx)?;
        match header.message_type {
            MessageType::Update => Update::decode_received(body.rest(), ctx).map(|u| Received::Update(Box::new(u))),
            _ => decode_other(header, body, buf).map(Received::Other),
        }
    }

    /// Appends the whole message, header included. Fails, writing nothing useful, if the message
    /// exceeds its size limit or a field does not fit; never truncates.
    pub fn encode(&self, ctx: &WireContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0]);
        out.push(self.message_type().code());
        let max = match self {
            // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 bytes.
            Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len.min(MAX_EXTENDED_MESSAGE_LEN),
        };
        let result = match self {
            Message::Open(o) => o.encode(out),
            Message::Update(u) => u.encode(ctx, out),
            Message::Notification(n) => {
                n.encode(out);
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(r) => {
                r.encode(out);
                Ok(())
            }
        };
        let length = out.len() - start;
        let result = result.and_then(|()| {
            if length > max {
                Err(EncodeError::MessageTooLong { length, max })
            } else {
                patch_u16(out, start + 16, length).ok_or(EncodeError::MessageTooLong { length, max })
            }
        });
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The whole message as a new buffer.
    pub fn to_bytes(&self, ctx: &WireContext) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(ctx, &mut out)?;
        Ok(out)
    }
}

/// A message as a session receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// An UPDATE with the errors it survived.
    Update(Box<ReceivedUpdate>),
    /// Any other message.
    Other(Message),
}

fn split<'a>(buf: &'a [u8], ctx: &WireContext) -> Result<(Header, Reader<'a>), DecodeError> {
    let header = Header::peek(buf, ctx.max_message_len.max(MAX_MESSAGE_LEN))?
        .ok_or(DecodeError::new(buf.len(), ErrorKind::BadMessageLength { length: 0 }))?;
    if usize::from(header.length) != buf.len() {
        return Err(DecodeError::new(16, ErrorKind::BadMessageLength { length: header.length }));
    }
    let length = header.length;
    let bad_length = || DecodeError::new(16, ErrorKind::BadMessageLength { length });
    let len = usize::from(length);
    // Per-type length rules (RFC 4271 §6.1; RFC 8654 §4 for OPEN and KEEPALIVE; RFC 7313 §5).
    match header.message_type {
        MessageType::Open if !(29..=MAX_MESSAGE_LEN).contains(&len) => return Err(bad_length()),
        MessageType::Update if len < 23 => return Err(bad_length()),
        MessageType::Notification if len < 21 => return Err(bad_length()),
        MessageType::Keepalive if len != HEADER_LEN => return Err(bad_length()),
        MessageType::RouteRefresh if len != 23 => {
            return Err(DecodeError::new(16, ErrorKind::RouteRefreshLength { length, message: buf.to_vec() }))
        }
        MessageType::Unknown(message_type) => {
            return Err(DecodeError::new(18, ErrorKind::BadMessageType { message_type }))
        }
        _ => {}
    }
    Ok((header, Reader::new(buf.get(HEADER_LEN..).unwrap_or_default(), HEADER_LEN)))
}

fn decode_other(header: Header, body: Reader<'_>, buf: &[u8]) -> Result<Message, DecodeError> {
    match header.message_type {
        MessageType::Open => Open::decode(body).map(Message::Open),
        MessageType::Notification => Notification::decode(body).map(Message::Notification),
        MessageType::Keepalive => Ok(Message::Keepalive),
        MessageType::RouteRefresh => RouteRefresh::decode(body).map(Message::RouteRefresh).ok_or_else(|| {
            DecodeError::new(16, ErrorKind::RouteRefreshLength { length: header.length, message: buf.to_vec() })
        }),
        MessageType::Update | MessageType::Unknown(_) => {
            let message_type = header.message_type.code();
            Err(DecodeError::new(18, ErrorKind::BadMessageType { message_type }))
        }
    }
}
