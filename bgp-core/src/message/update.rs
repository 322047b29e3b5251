//! UPDATE (RFC 4271 §4.3) with RFC 7606 revised error handling and End-of-RIB (RFC 4724 §2).

use crate::attribute::{decode_attributes, AttributeValue, MpNlri, MpReach, MpUnreach, PathAttribute};
use crate::error::{DecodeError, EncodeError, ErrorAction, ErrorKind};
use crate::iana::{AttributeType, Family};
use crate::message::WireContext;
use crate::nlri::{decode_prefixes, encode_prefixes, Prefix};
use crate::wire::{patch_u16, Reader};

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Update {
    /// Withdrawn IPv4 unicast routes.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub withdrawn: Vec<Prefix>,
    /// Path attributes in wire order.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub attributes: Vec<PathAttribute>,
    /// Reachable IPv4 unicast routes.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub nlri: Vec<Prefix>,
}

/// An UPDATE as a session receives it: what could be decoded, plus the errors the session survives
/// under RFC 7606.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUpdate {
    /// The UPDATE without the attributes that were malformed or repeated.
    pub update: Update,
    /// Errors that did not end the session, in wire order; each says (via
    /// [`DecodeError::action`]) whether it withdraws the routes or only drops its attribute.
    pub errors: Vec<DecodeError>,
}

impl ReceivedUpdate {
    /// True if every route in the UPDATE must be treated as withdrawn (RFC 7606 §2).
    pub fn treat_as_withdraw(&self) -> bool {
        self.errors.iter().any(|e| e.action() == ErrorAction::TreatAsWithdraw)
    }
}

impl Update {
    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an UPDATE
    /// holding only an empty MP_UNREACH_NLRI for any other family.
    pub fn end_of_rib(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        Update {
            attributes: vec![PathAttribute::new(AttributeValue::MpUnreachNlri(MpUnreach::end_of_rib(family)))],
            ..Update::default()
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is such a marker.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [a] => match &a.value {
                AttributeValue::MpUnreachNlri(m) if m.withdrawn.is_empty() => Some(m.family),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value of the attribute of type `t`, if present.
    pub fn attribute(&self, t: AttributeType) -> Option<&AttributeValue> {
        self.attributes.iter().map(|a| &a.value).find(|v| v.type_code() == t)
    }

    /// The MP_REACH_NLRI attribute, if present.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttributeValue::MpReachNlri(m) => Some(m),
            _ => None,
        })
    }

    /// The MP_UNREACH_NLRI attribute, if present.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttributeValue::MpUnreachNlri(m) => Some(m),
            _ => None,
        })
    }

    /// True if the UPDATE announces any route (NLRI field or MP_REACH_NLRI).
    pub fn has_reachable(&self) -> bool {
        !self.nlri.is_empty() || self.mp_reach().is_some_and(|m| !m.nlri.is_empty())
    }

    /// Decodes an UPDATE body (`r` starts at offset 19) as a session does: `Err` for errors that
    /// reset the session (or disable the family), `Ok` with the survivable errors otherwise.
    pub fn decode_received(body: &[u8], ctx: &WireContext) -> Result<ReceivedUpdate, DecodeError> {
        decode_body(Reader::new(body, crate::iana::HEADER_LEN), ctx)
    }

    /// Decodes strictly: any error, even one RFC 7606 lets a session survive, is returned.
    pub(crate) fn decode(r: Reader<'_>, ctx: &WireContext) -> Result<Update, DecodeError> {
        let received = decode_body(r, ctx)?;
        match received.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(received.update),
        }
    }

    /// Appends the UPDATE body.
    pub(crate) fn encode(&self, ctx: &WireContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let too_long = |field, length| EncodeError::TooLong { field, length, max: 65535 };
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        encode_prefixes(&self.withdrawn, crate::iana::Afi::Ipv4, ctx.sends_path_ids(Family::IPV4_UNICAST), out)?;
        let len = out.len() - at - 2;
        patch_u16(out, at, len).ok_or_else(|| too_long("withdrawn routes", len))?;
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        for a in &self.attributes {
            a.encode(ctx, out)?;
        }
        let len = out.len() - at - 2;
        patch_u16(out, at, len).ok_or_else(|| too_long("path attributes", len))?;
        encode_prefixes(&self.nlri, crate::iana::Afi::Ipv4, ctx.sends_path_ids(Family::IPV4_UNICAST), out)
    }
}

fn decode_body(mut r: Reader<'_>, ctx: &WireContext) -> Result<ReceivedUpdate, DecodeError> {
    let list_error = |at, reason| DecodeError::new(at, ErrorKind::MalformedAttributeList { reason });
    let at = r.offset();
    let wlen = r.u16().ok_or_else(|| list_error(at, "withdrawn routes length missing"))?;
    let mut withdrawn_field =
        r.sub(usize::from(wlen)).ok_or_else(|| list_error(at, "withdrawn routes length exceeds the message"))?;
    let at = r.offset();
    let alen = r.u16().ok_or_else(|| list_error(at, "total path attribute length missing"))?;
    let attrs_at = r.offset();
    let attr_field =
        r.sub(usize::from(alen)).ok_or_else(|| list_error(at, "total path attribute length exceeds the message"))?;
    let add_path = ctx.receives_path_ids(Family::IPV4_UNICAST);
    let network = |(at, e): (usize, crate::nlri::PrefixError)| {
        DecodeError::new(at, ErrorKind::InvalidNetworkField { reason: e.reason() })
    };
    let withdrawn = decode_prefixes(&mut withdrawn_field, crate::iana::Afi::Ipv4, add_path).map_err(network)?;
    let decoded = decode_attributes(attr_field, ctx)?;
    let nlri = decode_prefixes(&mut r, crate::iana::Afi::Ipv4, add_path).map_err(network)?;
    let update = Update { withdrawn, attributes: decoded.attributes, nlri };
    let mut errors = decoded.errors;

    // RFC 7606 §3 d: mandatory well-known attributes are only required when routes are announced;
    // NEXT_HOP only for the UPDATE's own NLRI field (RFC 4760 §3), LOCAL_PREF only on iBGP.
    if update.has_reachable() {
        let mut required = vec![AttributeType::Origin, AttributeType::AsPath];
        if !update.nlri.is_empty() {
            required.push(AttributeType::NextHop);
        }
        if ctx.ibgp {
            required.push(AttributeType::LocalPref);
        }
        let already_reported = |t: AttributeType| {
            errors.iter().any(|e| match &e.kind {
                ErrorKind::AttributeFlags { type_code, .. }
                | ErrorKind::AttributeLength { type_code, .. }
                | ErrorKind::MalformedAsPath { type_code, .. } => *type_code == t,
                ErrorKind::InvalidOrigin { .. } => t == AttributeType::Origin,
                _ => false,
            })
        };
        let missing: Vec<AttributeType> =
            required.into_iter().filter(|t| update.attribute(*t).is_none() && !already_reported(*t)).collect();
        for type_code in missing {
            errors.push(DecodeError::new(attrs_at, ErrorKind::MissingWellKnownAttribute { type_code }));
        }
    }
    // RFC 7606 §5.2: without reachable NLRI, an UPDATE that carries attributes other than
    // MP_UNREACH_NLRI gives nothing to withdraw, so any error beyond attribute discard resets.
    // (A survivable error always comes from such an attribute: MP_UNREACH_NLRI errors are fatal.)
    if !update.has_reachable() {
        if let Some(i) = errors.iter().position(|e| e.action() != ErrorAction::AttributeDiscard) {
            return Err(errors.swap_remove(i).escalate());
        }
    }
    Ok(ReceivedUpdate { update, errors })
}

impl MpNlri {
    /// The prefixes, if this NLRI is of a prefix family.
    pub fn prefixes(&self) -> Option<&[Prefix]> {
        match self {
            MpNlri::Prefixes(p) => Some(p),
            MpNlri::Raw(_) => None,
        }
    }
}
