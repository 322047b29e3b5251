//! IP prefixes as carried in the UPDATE withdrawn-routes and NLRI fields and in MP_REACH_NLRI /
//! MP_UNREACH_NLRI for the unicast and multicast families (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::EncodeError;
use crate::iana::Afi;
use crate::wire::Reader;

/// One prefix with its ADD-PATH path identifier when the family negotiated ADD-PATH (RFC 7911 §3).
///
/// Bits past the prefix length are kept as received (RFC 4271 §4.3 calls them irrelevant), so a
/// decoded prefix re-encodes to the same bytes; [`Prefix::trunc`] clears them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Prefix {
    /// ADD-PATH path identifier (RFC 7911 §3), present only when negotiated for the family.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub path_id: Option<u32>,
    /// The prefix.
    #[cfg_attr(feature = "serde", serde(rename = "prefix"))]
    pub net: IpNet,
}

impl Prefix {
    /// A prefix without a path identifier.
    pub fn new(net: IpNet) -> Self {
        Prefix { path_id: None, net }
    }

    /// A prefix with an ADD-PATH path identifier.
    pub fn with_path_id(net: IpNet, path_id: u32) -> Self {
        Prefix { path_id: Some(path_id), net }
    }

    /// The same prefix with the bits past its length cleared.
    pub fn trunc(self) -> Self {
        Prefix { path_id: self.path_id, net: self.net.trunc() }
    }

    /// The address family of the prefix.
    pub fn afi(&self) -> Afi {
        match self.net {
            IpNet::V4(_) => Afi::Ipv4,
            IpNet::V6(_) => Afi::Ipv6,
        }
    }

    /// Bytes this prefix takes on the wire.
    pub fn wire_len(&self) -> usize {
        let id = if self.path_id.is_some() { 4 } else { 0 };
        id + 1 + usize::from(self.net.prefix_len()).div_ceil(8)
    }

    /// Appends the wire form: path identifier when present, length in bits, then the significant
    /// bytes of the address.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(id) = self.path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        let len = self.net.prefix_len();
        let bytes = usize::from(len).div_ceil(8);
        out.push(len);
        match self.net.addr() {
            IpAddr::V4(a) => out.extend(a.octets().iter().take(bytes)),
            IpAddr::V6(a) => out.extend(a.octets().iter().take(bytes)),
        }
    }
}

impl From<IpNet> for Prefix {
    fn from(net: IpNet) -> Self {
        Prefix::new(net)
    }
}

impl core::fmt::Display for Prefix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.path_id {
            Some(id) => write!(f, "{} path-id {id}", self.net),
            None => write!(f, "{}", self.net),
        }
    }
}

/// Why a prefix could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrefixError {
    /// Path identifier, length byte or address bytes missing.
    Truncated,
    /// Prefix length larger than the address.
    TooLong,
}

impl PrefixError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            PrefixError::Truncated => "prefix runs past the end of its field",
            PrefixError::TooLong => "prefix length exceeds the address length",
        }
    }
}

/// Reads prefixes of `afi` until the reader is empty. On error, returns the offset of the prefix
/// that failed and why.
pub(crate) fn decode_prefixes(
    r: &mut Reader<'_>,
    afi: Afi,
    add_path: bool,
) -> Result<Vec<Prefix>, (usize, PrefixError)> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let at = r.offset();
        let p = decode_prefix(r, afi, add_path).map_err(|e| (at, e))?;
        out.push(p);
    }
    Ok(out)
}

fn decode_prefix(r: &mut Reader<'_>, afi: Afi, add_path: bool) -> Result<Prefix, PrefixError> {
    let path_id = if add_path { Some(r.u32().ok_or(PrefixError::Truncated)?) } else { None };
    let len = r.u8().ok_or(PrefixError::Truncated)?;
    let bytes = usize::from(len).div_ceil(8);
    let net = match afi {
        Afi::Ipv6 => {
            if len > 128 {
                return Err(PrefixError::TooLong);
            }
            let mut a = [0u8; 16];
            let src = r.take(bytes).ok_or(PrefixError::Truncated)?;
            a.get_mut(..bytes).ok_or(PrefixError::TooLong)?.copy_from_slice(src);
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).map_err(|_| PrefixError::TooLong)?)
        }
        _ => {
            if len > 32 {
                return Err(PrefixError::TooLong);
            }
            let mut a = [0u8; 4];
            let src = r.take(bytes).ok_or(PrefixError::Truncated)?;
            a.get_mut(..bytes).ok_or(PrefixError::TooLong)?.copy_from_slice(src);
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).map_err(|_| PrefixError::TooLong)?)
        }
    };
    Ok(Prefix { path_id, net })
}

/// Appends prefixes, checking that each belongs to `afi` and carries a path identifier exactly when
/// `add_path` says so.
pub(crate) fn encode_prefixes(
    prefixes: &[Prefix],
    afi: Afi,
    add_path: bool,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for p in prefixes {
        if p.afi() != afi {
            return Err(EncodeError::Mismatch { what: "prefix family differs from the field's family" });
        }
        if p.path_id.is_some() != add_path {
            return Err(EncodeError::Mismatch { what: "path identifier present without ADD-PATH, or missing with it" });
        }
        p.encode(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], afi: Afi, add_path: bool) -> Result<Vec<Prefix>, (usize, PrefixError)> {
        decode_prefixes(&mut Reader::new(bytes, 0), afi, add_path)
    }

    #[test]
    fn ipv4_prefixes_round_trip() {
        let bytes = [0, 8, 10, 24, 192, 0, 2, 32, 198, 51, 100, 7, 25, 203, 0, 113, 128];
        let p = decode(&bytes, Afi::Ipv4, false).unwrap();
        let text: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["0.0.0.0/0", "10.0.0.0/8", "192.0.2.0/24", "198.51.100.7/32", "203.0.113.128/25"]);
        let mut out = Vec::new();
        encode_prefixes(&p, Afi::Ipv4, false, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn host_bits_are_kept_for_byte_exact_round_trip() {
        let bytes = [20, 10, 1, 0xff];
        let p = decode(&bytes, Afi::Ipv4, false).unwrap();
        assert_eq!(p[0].net.to_string(), "10.1.255.0/20");
        assert_eq!(p[0].trunc().net.to_string(), "10.1.240.0/20");
        let mut out = Vec::new();
        p[0].encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn ipv6_and_add_path() {
        let bytes = [0, 0, 0, 7, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1];
        let p = decode(&bytes, Afi::Ipv6, true).unwrap();
        assert_eq!(p, [Prefix::with_path_id("2001:db8:1::/48".parse().unwrap(), 7)]);
        let mut out = Vec::new();
        encode_prefixes(&p, Afi::Ipv6, true, &mut out).unwrap();
        assert_eq!(out, bytes);
        assert!(encode_prefixes(&p, Afi::Ipv6, false, &mut out).is_err());
        assert!(encode_prefixes(&p, Afi::Ipv4, true, &mut out).is_err());
    }

    #[test]
    fn malformed_prefixes_report_offset() {
        assert_eq!(decode(&[8, 10, 33, 1, 2, 3, 4, 5], Afi::Ipv4, false), Err((2, PrefixError::TooLong)));
        assert_eq!(decode(&[8, 10, 24, 1, 2], Afi::Ipv4, false), Err((2, PrefixError::Truncated)));
        assert_eq!(decode(&[129], Afi::Ipv6, false), Err((0, PrefixError::TooLong)));
        assert_eq!(decode(&[0, 0, 1], Afi::Ipv4, true), Err((0, PrefixError::Truncated)));
    }
}
