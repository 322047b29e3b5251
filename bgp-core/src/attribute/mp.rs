//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) and End-of-RIB (RFC 4724 §2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::EncodeError;
use crate::iana::Family;
use crate::nlri::{decode_prefixes, encode_prefixes, Prefix, PrefixError};
use crate::wire::Reader;

/// The NLRI of an MP attribute: typed prefixes for IPv4/IPv6 unicast and multicast, raw bytes for
/// every other family (FlowSpec, VPN, EVPN ...), which their own crates decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MpNlri {
    /// IP prefixes (families with [`Family::has_prefix_nlri`]).
    Prefixes(Vec<Prefix>),
    /// The NLRI bytes of any other family, as received.
    Raw(#[cfg_attr(feature = "serde", serde(with = "crate::wire::hex::serde_bytes"))] Vec<u8>),
}

impl MpNlri {
    /// True when there is no NLRI at all.
    pub fn is_empty(&self) -> bool {
        match self {
            MpNlri::Prefixes(p) => p.is_empty(),
            MpNlri::Raw(b) => b.is_empty(),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, family: Family, add_path: bool) -> Result<Self, (usize, PrefixError)> {
        if family.has_prefix_nlri() {
            decode_prefixes(r, family.afi, add_path).map(MpNlri::Prefixes)
        } else {
            Ok(MpNlri::Raw(r.take_rest().to_vec()))
        }
    }

    pub(crate) fn encode(&self, family: Family, add_path: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            MpNlri::Prefixes(p) if family.has_prefix_nlri() => encode_prefixes(p, family.afi, add_path, out),
            MpNlri::Prefixes(p) if p.is_empty() => Ok(()),
            MpNlri::Prefixes(_) => {
                Err(EncodeError::Mismatch { what: "prefix NLRI for a family that does not carry prefixes" })
            }
            MpNlri::Raw(b) => {
                out.extend_from_slice(b);
                Ok(())
            }
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3): routes of one family and their next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MpReach {
    /// The family of the NLRI.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// The next-hop field exactly as received, of any length (0 for FlowSpec, RFC 8955 §4; 16 or 32
    /// for IPv6, RFC 2545 §3; 24 or 48 with a route distinguisher for VPN families, RFC 4364).
    #[cfg_attr(feature = "serde", serde(with = "crate::wire::hex::serde_bytes"))]
    pub next_hop: Vec<u8>,
    /// The reachable routes.
    pub nlri: MpNlri,
}

impl MpReach {
    /// The next hop read as addresses: an IPv4 or IPv6 address, and for a 32-byte IPv6 next hop the
    /// link-local address too (RFC 2545 §3). VPN next hops drop their zero route distinguisher.
    pub fn next_hop_addrs(&self) -> Option<(IpAddr, Option<Ipv6Addr>)> {
        let nh = self.next_hop.as_slice();
        let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
        match nh.len() {
            4 => <[u8; 4]>::try_from(nh).ok().map(|a| (IpAddr::V4(Ipv4Addr::from(a)), None)),
            12 => <[u8; 4]>::try_from(nh.get(8..)?).ok().map(|a| (IpAddr::V4(Ipv4Addr::from(a)), None)),
            16 => Some((IpAddr::V6(v6(nh)?), None)),
            24 => Some((IpAddr::V6(v6(nh.get(8..)?)?), None)),
            32 => Some((IpAddr::V6(v6(nh.get(..16)?)?), Some(v6(nh.get(16..)?)?))),
            48 => Some((IpAddr::V6(v6(nh.get(8..24)?)?), Some(v6(nh.get(32..)?)?))),
            _ => None,
        }
    }

    /// The next-hop bytes for an address (4 or 16 bytes).
    pub fn next_hop_from(addr: IpAddr) -> Vec<u8> {
        match addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        }
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4): withdrawn routes of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MpUnreach {
    /// The family of the withdrawn routes.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// The withdrawn routes; empty in an End-of-RIB marker (RFC 4724 §2).
    pub withdrawn: MpNlri,
}

impl MpUnreach {
    /// An empty MP_UNREACH_NLRI for `family`: the End-of-RIB marker of any family but IPv4 unicast.
    pub fn end_of_rib(family: Family) -> Self {
        let withdrawn = if family.has_prefix_nlri() { MpNlri::Prefixes(Vec::new()) } else { MpNlri::Raw(Vec::new()) };
        MpUnreach { family, withdrawn }
    }
}
