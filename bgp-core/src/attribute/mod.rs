//! Path attributes (RFC 4271 §4.3, §5) with the RFC 7606 error handling that decides, attribute by
//! attribute, whether a malformation resets the session, withdraws the routes or drops the attribute.

pub mod as_path;
pub mod community;
pub mod mp;

use std::net::Ipv4Addr;

use crate::error::{DecodeError, EncodeError, ErrorAction, ErrorKind};
use crate::iana::{code_point, Afi, AttributeType, Family, Safi};
use crate::message::WireContext;
use crate::wire::{patch_u16, patch_u8, Reader};

pub use as_path::{AsPath, AsSegment, SegmentType};
pub use community::{Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity, ParseCommunityError};
pub use mp::{MpNlri, MpReach, MpUnreach};

/// Attribute flag: the attribute is optional (RFC 4271 §4.3).
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: an optional attribute is transitive; well-known attributes set it too.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: some speaker on the path did not recognise this optional transitive attribute.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: the length field is two octets.
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;
/// The four flag bits RFC 4271 defines; the low four "MUST be ignored when received".
const FLAG_DEFINED: u8 = 0xf0;

code_point! {
    /// ORIGIN values (RFC 4271 §5.1.1).
    pub enum Origin: u8 {
        /// Learned from an interior protocol.
        Igp = 0 => "igp",
        /// Learned from EGP.
        Egp = 1 => "egp",
        /// Learned some other way.
        Incomplete = 2 => "incomplete",
    }
}

/// AGGREGATOR and AS4_AGGREGATOR (RFC 4271 §5.1.7, RFC 6793 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier (address) of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// The value of a path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", content = "value", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum AttributeValue {
    /// ORIGIN (type 1).
    Origin(Origin),
    /// AS_PATH (type 2), with 2- or 4-octet ASes as negotiated.
    AsPath(AsPath),
    /// NEXT_HOP (type 3).
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC (type 4).
    MultiExitDisc(u32),
    /// LOCAL_PREF (type 5).
    LocalPref(u32),
    /// ATOMIC_AGGREGATE (type 6).
    AtomicAggregate,
    /// AGGREGATOR (type 7), with a 2- or 4-octet AS as negotiated.
    Aggregator(Aggregator),
    /// COMMUNITIES (type 8, RFC 1997).
    Communities(Vec<Community>),
    /// ORIGINATOR_ID (type 9, RFC 4456).
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST (type 10, RFC 4456).
    ClusterList(Vec<Ipv4Addr>),
    /// MP_REACH_NLRI (type 14, RFC 4760).
    MpReachNlri(MpReach),
    /// MP_UNREACH_NLRI (type 15, RFC 4760).
    MpUnreachNlri(MpUnreach),
    /// EXTENDED COMMUNITIES (type 16, RFC 4360).
    ExtendedCommunities(Vec<ExtendedCommunity>),
    /// AS4_PATH (type 17, RFC 6793).
    As4Path(AsPath),
    /// AS4_AGGREGATOR (type 18, RFC 6793).
    As4Aggregator(Aggregator),
    /// IPv6 Address Specific Extended Community (type 25, RFC 5701).
    Ipv6ExtendedCommunities(Vec<Ipv6ExtendedCommunity>),
    /// LARGE_COMMUNITY (type 32, RFC 8092).
    LargeCommunities(Vec<LargeCommunity>),
    /// An optional attribute this crate does not interpret, kept for pass-through.
    Unknown {
        /// The attribute type code.
        type_code: u8,
        /// The value as received.
        #[cfg_attr(feature = "serde", serde(with = "crate::wire::hex::serde_bytes"))]
        data: Vec<u8>,
    },
}

impl AttributeValue {
    /// The attribute type code.
    pub fn type_code(&self) -> AttributeType {
        use AttributeType as T;
        match self {
            AttributeValue::Origin(_) => T::Origin,
            AttributeValue::AsPath(_) => T::AsPath,
            AttributeValue::NextHop(_) => T::NextHop,
            AttributeValue::MultiExitDisc(_) => T::MultiExitDisc,
            AttributeValue::LocalPref(_) => T::LocalPref,
            AttributeValue::AtomicAggregate => T::AtomicAggregate,
            AttributeValue::Aggregator(_) => T::Aggregator,
            AttributeValue::Communities(_) => T::Communities,
            AttributeValue::OriginatorId(_) => T::OriginatorId,
            AttributeValue::ClusterList(_) => T::ClusterList,
            AttributeValue::MpReachNlri(_) => T::MpReachNlri,
            AttributeValue::MpUnreachNlri(_) => T::MpUnreachNlri,
            AttributeValue::ExtendedCommunities(_) => T::ExtendedCommunities,
            AttributeValue::As4Path(_) => T::As4Path,
            AttributeValue::As4Aggregator(_) => T::As4Aggregator,
            AttributeValue::Ipv6ExtendedCommunities(_) => T::Ipv6ExtendedCommunities,
            AttributeValue::LargeCommunities(_) => T::LargeCommunities,
            AttributeValue::Unknown { type_code, .. } => T::from(*type_code),
        }
    }
}

/// The optional and transitive bits a known attribute must carry, or `None` for unknown types
/// (RFC 4271 §5 and the RFC defining each attribute).
fn expected_flags(t: AttributeType) -> Option<u8> {
    use AttributeType as T;
    match t {
        T::Origin | T::AsPath | T::NextHop | T::LocalPref | T::AtomicAggregate => Some(FLAG_TRANSITIVE),
        T::MultiExitDisc | T::OriginatorId | T::ClusterList | T::MpReachNlri | T::MpUnreachNlri => Some(FLAG_OPTIONAL),
        T::Aggregator
        | T::Communities
        | T::ExtendedCommunities
        | T::As4Path
        | T::As4Aggregator
        | T::Ipv6ExtendedCommunities
        | T::LargeCommunities => Some(FLAG_OPTIONAL | FLAG_TRANSITIVE),
        T::Unknown(_) => None,
    }
}

/// One path attribute: its flags and value.
///
/// `flags` keeps the optional, transitive, partial and extended-length bits as received (the four
/// unused low bits are cleared, RFC 4271 §4.3: "MUST be ignored when received"), so a decoded
/// attribute re-encodes to the same bytes. [`PathAttribute::new`] picks the flags the RFC prescribes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PathAttribute {
    /// Attribute flags (high four bits).
    pub flags: u8,
    /// The attribute value.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub value: AttributeValue,
}

impl PathAttribute {
    /// An attribute with the flags its type prescribes (optional transitive for unknown types).
    pub fn new(value: AttributeValue) -> Self {
        let flags = expected_flags(value.type_code()).unwrap_or(FLAG_OPTIONAL | FLAG_TRANSITIVE);
        PathAttribute { flags, value }
    }

    /// The attribute type code.
    pub fn type_code(&self) -> AttributeType {
        self.value.type_code()
    }

    /// Appends the attribute. The two-octet length form is used when the flags ask for it or the
    /// value needs it; a value over 65535 bytes is an error.
    pub fn encode(&self, ctx: &WireContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let extended = self.flags & FLAG_EXTENDED_LENGTH != 0;
        let start = out.len();
        out.push(self.flags & FLAG_DEFINED);
        out.push(self.type_code().code());
        let len_at = out.len();
        out.push(0);
        if extended {
            out.push(0);
        }
        let value_at = out.len();
        self.encode_value(ctx, out)?;
        let len = out.len() - value_at;
        if extended {
            patch_u16(out, len_at, len)
        } else if len > 255 {
            // Needs the two-octet form: set the flag and widen the length field.
            out.insert(len_at, 0);
            if let Some(f) = out.get_mut(start) {
                *f |= FLAG_EXTENDED_LENGTH;
            }
            patch_u16(out, len_at, len)
        } else {
            patch_u8(out, len_at, len)
        }
        .ok_or(EncodeError::TooLong { field: "path attribute", length: len, max: 65535 })
    }

    fn encode_value(&self, ctx: &WireContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match &self.value {
            AttributeValue::Origin(o) => out.push(o.code()),
            AttributeValue::AsPath(p) => p.encode(ctx.four_octet_as, out)?,
            AttributeValue::NextHop(a) | AttributeValue::OriginatorId(a) => out.extend_from_slice(&a.octets()),
            AttributeValue::MultiExitDisc(v) | AttributeValue::LocalPref(v) => out.extend_from_slice(&v.to_be_bytes()),
            AttributeValue::AtomicAggregate => {}
            AttributeValue::Aggregator(a) => {
                if ctx.four_octet_as {
                    out.extend_from_slice(&a.asn.to_be_bytes());
                } else {
                    let two = u16::try_from(a.asn).map_err(|_| EncodeError::AsNotRepresentable { asn: a.asn })?;
                    out.extend_from_slice(&two.to_be_bytes());
                }
                out.extend_from_slice(&a.address.octets());
            }
            AttributeValue::As4Aggregator(a) => {
                out.extend_from_slice(&a.asn.to_be_bytes());
                out.extend_from_slice(&a.address.octets());
            }
            AttributeValue::Communities(c) => c.iter().for_each(|c| out.extend_from_slice(&c.0.to_be_bytes())),
            AttributeValue::ClusterList(c) => c.iter().for_each(|a| out.extend_from_slice(&a.octets())),
            AttributeValue::MpReachNlri(m) => {
                out.extend_from_slice(&m.family.afi.code().to_be_bytes());
                out.push(m.family.safi.code());
                out.push(u8::try_from(m.next_hop.len()).map_err(|_| EncodeError::TooLong {
                    field: "MP_REACH_NLRI next hop",
                    length: m.next_hop.len(),
                    max: 255,
                })?);
                out.extend_from_slice(&m.next_hop);
                out.push(0); // Reserved (RFC 4760 §3)
                m.nlri.encode(m.family, ctx.sends_path_ids(m.family), out)?;
            }
            AttributeValue::MpUnreachNlri(m) => {
                out.extend_from_slice(&m.family.afi.code().to_be_bytes());
                out.push(m.family.safi.code());
                m.withdrawn.encode(m.family, ctx.sends_path_ids(m.family), out)?;
            }
            AttributeValue::ExtendedCommunities(c) => c.iter().for_each(|c| out.extend_from_slice(&c.0)),
            AttributeValue::As4Path(p) => p.encode(true, out)?,
            AttributeValue::Ipv6ExtendedCommunities(c) => c.iter().for_each(|c| out.extend_from_slice(&c.0)),
            AttributeValue::LargeCommunities(c) => c.iter().for_each(|c| {
                out.extend_from_slice(&c.global.to_be_bytes());
                out.extend_from_slice(&c.local1.to_be_bytes());
                out.extend_from_slice(&c.local2.to_be_bytes());
            }),
            AttributeValue::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    }
}

/// The attributes of an UPDATE as decoded under RFC 7606: the usable attributes, and the
/// errors that the session survives (each with its [`ErrorAction`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DecodedAttributes {
    pub(crate) attributes: Vec<PathAttribute>,
    pub(crate) errors: Vec<DecodeError>,
}

/// True when an error ends decoding: the session is reset or the family disabled.
fn is_fatal(e: &DecodeError) -> bool {
    matches!(e.action(), ErrorAction::SessionReset | ErrorAction::AfiSafiDisable { .. })
}

/// Decodes the path-attribute field. `Err` is an error the session does not survive; errors it
/// survives are collected in [`DecodedAttributes::errors`] and the attribute concerned is left out.
pub(crate) fn decode_attributes(mut r: Reader<'_>, ctx: &WireContext) -> Result<DecodedAttributes, DecodeError> {
    let mut out = DecodedAttributes::default();
    let mut seen = [false; 256];
    while !r.is_empty() {
        let start = r.offset();
        let whole = r.rest();
        // RFC 7606 §4: an attribute that does not fit is treat-as-withdraw; the Total Path Attribute
        // Length still locates the NLRI, but nothing after the overrun can be read.
        let overrun = |reason| DecodeError::new(start, ErrorKind::AttributeOverrun { reason });
        let (flags, type_code) = match (r.u8(), r.u8()) {
            (Some(f), Some(t)) => (f & FLAG_DEFINED, t),
            _ => {
                out.errors.push(overrun("fewer than three octets left for an attribute header"));
                break;
            }
        };
        let len = if flags & FLAG_EXTENDED_LENGTH != 0 { r.u16().map(usize::from) } else { r.u8().map(usize::from) };
        let Some(len) = len else {
            out.errors.push(overrun("attribute length field truncated"));
            break;
        };
        let header = if flags & FLAG_EXTENDED_LENGTH != 0 { 4 } else { 3 };
        let Some(value) = r.sub(len) else {
            out.errors.push(overrun("attribute length runs past the path attribute field"));
            break;
        };
        let raw = whole.get(..header + len).unwrap_or(whole).to_vec();
        let ty = AttributeType::from(type_code);

        let seen_before = seen.get_mut(usize::from(type_code)).map(|s| std::mem::replace(s, true)).unwrap_or(false);
        if seen_before {
            let e = DecodeError::new(start, ErrorKind::DuplicateAttribute { type_code: ty });
            if is_fatal(&e) {
                return Err(e);
            }
            out.errors.push(e);
            continue;
        }

        let Some(expected) = expected_flags(ty) else {
            if flags & FLAG_OPTIONAL == 0 {
                return Err(DecodeError::new(
                    start,
                    ErrorKind::UnrecognizedWellKnownAttribute { type_code, attribute: raw },
                ));
            }
            out.attributes.push(PathAttribute {
                flags,
                value: AttributeValue::Unknown { type_code, data: value.rest().to_vec() },
            });
            continue;
        };
        // RFC 7606 §3 c: only the Optional and Transitive bits are checked; a stray Partial bit is
        // kept as received.
        if flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) != expected {
            let e = DecodeError::new(start, ErrorKind::AttributeFlags { type_code: ty, flags, attribute: raw });
            if is_fatal(&e) {
                return Err(e);
            }
            out.errors.push(e);
            continue;
        }
        match decode_value(ty, value, len, start, &raw, ctx) {
            Ok(v) => out.attributes.push(PathAttribute { flags, value: v }),
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => out.errors.push(e),
        }
    }
    Ok(out)
}

/// Decodes one known attribute's value. `start` is the offset of the attribute's flags byte.
fn decode_value(
    ty: AttributeType,
    mut v: Reader<'_>,
    len: usize,
    start: usize,
    raw: &[u8],
    ctx: &WireContext,
) -> Result<AttributeValue, DecodeError> {
    use AttributeType as T;
    let length_error =
        || DecodeError::new(start, ErrorKind::AttributeLength { type_code: ty, length: len, attribute: raw.to_vec() });
    let fixed = |want: usize| if len == want { Ok(()) } else { Err(length_error()) };
    // RFC 7606 §7: list attributes must hold a whole, non-zero number of entries.
    let list = |size: usize| if len > 0 && len % size == 0 { Ok(len / size) } else { Err(length_error()) };
    let ipv4 = |v: &mut Reader<'_>| v.array::<4>().map(Ipv4Addr::from).ok_or_else(length_error);
    let u32_of = |v: &mut Reader<'_>| v.u32().ok_or_else(length_error);
    Ok(match ty {
        T::Origin => {
            fixed(1)?;
            let at = v.offset();
            match Origin::from(v.u8().ok_or_else(length_error)?) {
                Origin::Unknown(value) => {
                    return Err(DecodeError::new(at, ErrorKind::InvalidOrigin { value, attribute: raw.to_vec() }))
                }
                o => AttributeValue::Origin(o),
            }
        }
        T::AsPath | T::As4Path => {
            let four = ty == T::As4Path || ctx.four_octet_as;
            let at = v.offset();
            let malformed = |reason| {
                DecodeError::new(at, ErrorKind::MalformedAsPath { type_code: ty, reason, attribute: raw.to_vec() })
            };
            let path = AsPath::decode(&mut v, four).map_err(malformed)?;
            // RFC 7607 §2: AS 0 in AS_PATH (or AS4_PATH) makes the attribute malformed.
            if path.contains(0) {
                return Err(malformed("AS number zero"));
            }
            if ty == T::AsPath {
                AttributeValue::AsPath(path)
            } else {
                AttributeValue::As4Path(path)
            }
        }
        T::NextHop => {
            fixed(4)?;
            AttributeValue::NextHop(ipv4(&mut v)?)
        }
        T::MultiExitDisc => {
            fixed(4)?;
            AttributeValue::MultiExitDisc(u32_of(&mut v)?)
        }
        T::LocalPref => {
            fixed(4)?;
            AttributeValue::LocalPref(u32_of(&mut v)?)
        }
        T::AtomicAggregate => {
            fixed(0)?;
            AttributeValue::AtomicAggregate
        }
        T::Aggregator | T::As4Aggregator => {
            let four = ty == T::As4Aggregator || ctx.four_octet_as;
            fixed(if four { 8 } else { 6 })?;
            let asn = if four { v.u32() } else { v.u16().map(u32::from) }.ok_or_else(length_error)?;
            let agg = Aggregator { asn, address: ipv4(&mut v)? };
            // RFC 7607 §2: AS 0 in AGGREGATOR is malformed (attribute discard, RFC 7606 §7.7).
            if asn == 0 {
                return Err(DecodeError::new(
                    start,
                    ErrorKind::OptionalAttribute { type_code: ty, reason: "AS number zero", attribute: raw.to_vec() },
                ));
            }
            if ty == T::Aggregator {
                AttributeValue::Aggregator(agg)
            } else {
                AttributeValue::As4Aggregator(agg)
            }
        }
        T::Communities => {
            let n = list(4)?;
            let mut c = Vec::with_capacity(n);
            for _ in 0..n {
                c.push(Community(u32_of(&mut v)?));
            }
            AttributeValue::Communities(c)
        }
        T::OriginatorId => {
            fixed(4)?;
            AttributeValue::OriginatorId(ipv4(&mut v)?)
        }
        T::ClusterList => {
            let n = list(4)?;
            let mut c = Vec::with_capacity(n);
            for _ in 0..n {
                c.push(ipv4(&mut v)?);
            }
            AttributeValue::ClusterList(c)
        }
        T::ExtendedCommunities => {
            let n = list(8)?;
            let mut c = Vec::with_capacity(n);
            for _ in 0..n {
                c.push(ExtendedCommunity(v.array().ok_or_else(length_error)?));
            }
            AttributeValue::ExtendedCommunities(c)
        }
        T::Ipv6ExtendedCommunities => {
            let n = list(20)?;
            let mut c = Vec::with_capacity(n);
            for _ in 0..n {
                c.push(Ipv6ExtendedCommunity(v.array().ok_or_else(length_error)?));
            }
            AttributeValue::Ipv6ExtendedCommunities(c)
        }
        T::LargeCommunities => {
            let n = list(12)?;
            let mut c = Vec::with_capacity(n);
            for _ in 0..n {
                c.push(LargeCommunity { global: u32_of(&mut v)?, local1: u32_of(&mut v)?, local2: u32_of(&mut v)? });
            }
            AttributeValue::LargeCommunities(c)
        }
        T::MpReachNlri | T::MpUnreachNlri => decode_mp(ty, v, raw, ctx)?,
        T::Unknown(type_code) => AttributeValue::Unknown { type_code, data: v.take_rest().to_vec() },
    })
}

/// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3, §4; RFC 7606 §7.3).
fn decode_mp(
    ty: AttributeType,
    mut v: Reader<'_>,
    raw: &[u8],
    ctx: &WireContext,
) -> Result<AttributeValue, DecodeError> {
    let start = v.offset();
    let (Some(afi), Some(safi)) = (v.u16(), v.u8()) else {
        return Err(DecodeError::new(
            start,
            ErrorKind::TruncatedMpAttribute { type_code: ty, attribute: raw.to_vec() },
        ));
    };
    let family = Family::new(Afi::from(afi), Safi::from(safi));
    let bad = |at: usize, reason: &'static str| {
        DecodeError::new(at, ErrorKind::MalformedMpNlri { type_code: ty, family, reason, attribute: raw.to_vec() })
    };
    let add_path = ctx.receives_path_ids(family);
    if ty == AttributeType::MpUnreachNlri {
        let withdrawn = MpNlri::decode(&mut v, family, add_path).map_err(|(at, e)| bad(at, e.reason()))?;
        return Ok(AttributeValue::MpUnreachNlri(MpUnreach { family, withdrawn }));
    }
    let at = v.offset();
    let nh_len = v.u8().ok_or_else(|| bad(at, "next hop length missing"))?;
    // RFC 7606 §7.11: a next hop length inconsistent with the family is malformed. Only the prefix
    // families are checked here (RFC 4760, RFC 2545, RFC 8950); FlowSpec sends 0 but others are
    // seen in the field (IOS-XR redirect-to-IP), so other families keep whatever arrives.
    let nh_ok = match (family.has_prefix_nlri(), family.afi) {
        (false, _) => true,
        (true, Afi::Ipv4) => matches!(nh_len, 4 | 16 | 32),
        (true, _) => matches!(nh_len, 16 | 32),
    };
    if !nh_ok {
        return Err(bad(at, "next hop length inconsistent with the family"));
    }
    let next_hop = v.take(usize::from(nh_len)).ok_or_else(|| bad(at, "next hop runs past the attribute"))?.to_vec();
    let at = v.offset();
    // Reserved octet: "MUST be set to 0, and SHOULD be ignored upon receipt" (RFC 4760 §3).
    v.u8().ok_or_else(|| bad(at, "reserved octet missing"))?;
    let nlri = MpNlri::decode(&mut v, family, add_path).map_err(|(at, e)| bad(at, e.reason()))?;
    Ok(AttributeValue::MpReachNlri(MpReach { family, next_hop, nlri }))
}
