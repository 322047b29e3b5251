//! Communities (RFC 1997), extended communities (RFC 4360), IPv6 address-specific extended
//! communities (RFC 5701) and large communities (RFC 8092).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::wire::hex;

/// Why a community's text form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {text:?}")]
pub struct ParseCommunityError {
    what: &'static str,
    text: String,
}

fn parse_err(what: &'static str, text: &str) -> ParseCommunityError {
    ParseCommunityError { what, text: text.to_owned() }
}

/// A standard community (RFC 1997): 32 bits, written `ASN:VALUE` or by its well-known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Community = Community(0xFFFF_FF04);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Community = Community(0xFFFF_0001);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999 §5): the receiving network should discard traffic to the prefix.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);

    const NAMES: [(Community, &'static str); 9] = [
        (Community::NO_EXPORT, "no-export"),
        (Community::NO_ADVERTISE, "no-advertise"),
        (Community::NO_EXPORT_SUBCONFED, "no-export-subconfed"),
        (Community::NOPEER, "nopeer"),
        (Community::GRACEFUL_SHUTDOWN, "graceful-shutdown"),
        (Community::ACCEPT_OWN, "accept-own"),
        (Community::LLGR_STALE, "llgr-stale"),
        (Community::NO_LLGR, "no-llgr"),
        (Community::BLACKHOLE, "blackhole"),
    ];

    /// A community from its two 16-bit halves.
    pub fn new(asn: u16, value: u16) -> Self {
        Community(u32::from(asn) << 16 | u32::from(value))
    }

    /// The well-known name, if this is a well-known community.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES.iter().find(|(c, _)| *c == self).map(|(_, n)| *n)
    }
}

impl core::fmt::Display for Community {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff),
        }
    }
}

impl FromStr for Community {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((c, _)) = Self::NAMES.iter().find(|(_, n)| *n == s) {
            return Ok(*c);
        }
        let (a, v) = s.split_once(':').ok_or_else(|| parse_err("community", s))?;
        match (a.parse::<u16>(), v.parse::<u16>()) {
            (Ok(a), Ok(v)) => Ok(Community::new(a, v)),
            _ => Err(parse_err("community", s)),
        }
    }
}

/// An extended community (RFC 4360 §2): 8 bytes, type and sub-type first.
///
/// This crate names the route-target and route-origin forms; everything else (including FlowSpec
/// traffic actions, which the `flowspec` crate types) is kept and shown as hex, and re-encodes
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// The type octet (RFC 4360 §2; bit 0x40 set means non-transitive).
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }

    /// The sub-type octet of the regular types.
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }

    /// True if the community should not cross an AS boundary (RFC 4360 §2: the T bit).
    pub fn is_non_transitive(&self) -> bool {
        self.0[0] & 0x40 != 0
    }

    /// Route target with a 2-octet AS (RFC 4360 §4, type 0x00, sub-type 0x02).
    pub fn route_target_as2(asn: u16, value: u32) -> Self {
        let mut b = [0x00, 0x02, 0, 0, 0, 0, 0, 0];
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..8].copy_from_slice(&value.to_be_bytes());
        ExtendedCommunity(b)
    }

    /// Route target with an IPv4 address (RFC 4360 §4, type 0x01, sub-type 0x02).
    pub fn route_target_ipv4(addr: Ipv4Addr, value: u16) -> Self {
        let mut b = [0x01, 0x02, 0, 0, 0, 0, 0, 0];
        b[2..6].copy_from_slice(&addr.octets());
        b[6..8].copy_from_slice(&value.to_be_bytes());
        ExtendedCommunity(b)
    }

    /// Route target with a 4-octet AS (RFC 5668 §2, type 0x02, sub-type 0x02).
    pub fn route_target_as4(asn: u32, value: u16) -> Self {
        let mut b = [0x02, 0x02, 0, 0, 0, 0, 0, 0];
        b[2..6].copy_from_slice(&asn.to_be_bytes());
        b[6..8].copy_from_slice(&value.to_be_bytes());
        ExtendedCommunity(b)
    }

    /// Text for the route-target (`rt:`) and route-origin (`ro:`) forms, or `None`.
    fn named(&self) -> Option<String> {
        let [ty, sub, a, b, c, d, e, f] = self.0;
        let kind = match sub {
            0x02 => "rt",
            0x03 => "ro",
            _ => return None,
        };
        match ty {
            0x00 => Some(format!("{kind}:{}:{}", u16::from_be_bytes([a, b]), u32::from_be_bytes([c, d, e, f]))),
            0x01 => Some(format!("{kind}:{}:{}", Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([e, f]))),
            0x02 => Some(format!("{kind}:{}L:{}", u32::from_be_bytes([a, b, c, d]), u16::from_be_bytes([e, f]))),
            _ => None,
        }
    }
}

impl core::fmt::Display for ExtendedCommunity {
    /// `rt:65000:100`, `rt:192.0.2.1:7`, `rt:4200000000L:7` (route origin: `ro:`), else
    /// `0x` and the 16 hex digits.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.named() {
            Some(t) => f.write_str(&t),
            None => write!(f, "0x{}", hex::encode(&self.0)),
        }
    }
}

impl FromStr for ExtendedCommunity {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || parse_err("extended community", s);
        if let Some(h) = s.strip_prefix("0x") {
            let bytes = hex::decode(h).map_err(|_| err())?;
            return bytes.try_into().map(ExtendedCommunity).map_err(|_| err());
        }
        let (kind, rest) = s.split_once(':').ok_or_else(err)?;
        let subtype = match kind {
            "rt" => 0x02,
            "ro" => 0x03,
            _ => return Err(err()),
        };
        let (admin, value) = rest.rsplit_once(':').ok_or_else(err)?;
        let mut c = if let Ok(ip) = admin.parse::<Ipv4Addr>() {
            ExtendedCommunity::route_target_ipv4(ip, value.parse().map_err(|_| err())?)
        } else if let Some(asn) = admin.strip_suffix('L') {
            ExtendedCommunity::route_target_as4(asn.parse().map_err(|_| err())?, value.parse().map_err(|_| err())?)
        } else {
            ExtendedCommunity::route_target_as2(admin.parse().map_err(|_| err())?, value.parse().map_err(|_| err())?)
        };
        c.0[1] = subtype;
        Ok(c)
    }
}

/// An IPv6 address-specific extended community (RFC 5701 §2): 20 bytes, type, sub-type, an IPv6
/// global administrator and a 2-byte local administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtendedCommunity(pub [u8; 20]);

impl Ipv6ExtendedCommunity {
    /// A community of the given type and sub-type.
    pub fn new(type_high: u8, subtype: u8, addr: Ipv6Addr, local: u16) -> Self {
        let mut b = [0u8; 20];
        b[0] = type_high;
        b[1] = subtype;
        b[2..18].copy_from_slice(&addr.octets());
        b[18..20].copy_from_slice(&local.to_be_bytes());
        Ipv6ExtendedCommunity(b)
    }

    /// The type octet.
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }

    /// The sub-type octet.
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }

    /// The IPv6 global administrator.
    pub fn address(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.0[2..18]);
        Ipv6Addr::from(a)
    }

    /// The local administrator.
    pub fn local(&self) -> u16 {
        u16::from_be_bytes([self.0[18], self.0[19]])
    }
}

impl core::fmt::Display for Ipv6ExtendedCommunity {
    /// `rt:[2001:db8::1]:7` for a route target (type 0x00, sub-type 0x02), else hex.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.type_high(), self.subtype()) {
            (0x00, 0x02) => write!(f, "rt:[{}]:{}", self.address(), self.local()),
            (0x00, 0x03) => write!(f, "ro:[{}]:{}", self.address(), self.local()),
            _ => write!(f, "0x{}", hex::encode(&self.0)),
        }
    }
}

impl FromStr for Ipv6ExtendedCommunity {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || parse_err("IPv6 extended community", s);
        if let Some(h) = s.strip_prefix("0x") {
            let bytes = hex::decode(h).map_err(|_| err())?;
            return bytes.try_into().map(Ipv6ExtendedCommunity).map_err(|_| err());
        }
        let (kind, rest) = s.split_once(":[").ok_or_else(err)?;
        let (addr, local) = rest.split_once("]:").ok_or_else(err)?;
        let subtype = match kind {
            "rt" => 0x02,
            "ro" => 0x03,
            _ => return Err(err()),
        };
        Ok(Ipv6ExtendedCommunity::new(
            0x00,
            subtype,
            addr.parse().map_err(|_| err())?,
            local.parse().map_err(|_| err())?,
        ))
    }
}

/// A large community (RFC 8092 §3): global administrator, two local data parts; `A:B:C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator (an AS number).
    pub global: u32,
    /// Local data part 1.
    pub local1: u32,
    /// Local data part 2.
    pub local2: u32,
}

impl core::fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl FromStr for LargeCommunity {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':').map(str::parse::<u32>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(global)), Some(Ok(local1)), Some(Ok(local2)), None) => {
                Ok(LargeCommunity { global, local1, local2 })
            }
            _ => Err(parse_err("large community", s)),
        }
    }
}

/// Serde through `Display` and `FromStr`, so JSON shows `"65000:100"`, `"blackhole"`, `"rt:65000:1"`.
#[cfg(feature = "serde")]
macro_rules! serde_via_text {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
#[cfg(feature = "serde")]
serde_via_text!(Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_text() {
        assert_eq!(Community::BLACKHOLE.to_string(), "blackhole");
        assert_eq!(Community(0xFFFF029A), "65535:666".parse().unwrap());
        assert_eq!("blackhole".parse::<Community>().unwrap(), Community::BLACKHOLE);
        assert_eq!(Community::new(65000, 100).to_string(), "65000:100");
        assert!("65536:1".parse::<Community>().is_err());
    }

    #[test]
    fn extended_community_text_round_trip() {
        for t in ["rt:65000:100", "rt:192.0.2.1:7", "rt:4200000000L:7", "ro:65000:1", "0x8006000000000000"] {
            let c: ExtendedCommunity = t.parse().unwrap();
            assert_eq!(c.to_string(), t);
        }
        assert_eq!(ExtendedCommunity::route_target_as2(65000, 100).0, [0, 2, 0xfd, 0xe8, 0, 0, 0, 100]);
        assert!("0x80".parse::<ExtendedCommunity>().is_err());
    }

    #[test]
    fn ipv6_and_large_text_round_trip() {
        for t in ["rt:[2001:db8::1]:7", "0x000c20010db8000000000000000000000001ffff"] {
            let c: Ipv6ExtendedCommunity = t.parse().unwrap();
            assert_eq!(c.to_string(), t);
        }
        let l: LargeCommunity = "65000:1:2".parse().unwrap();
        assert_eq!(l, LargeCommunity { global: 65000, local1: 1, local2: 2 });
        assert!("1:2".parse::<LargeCommunity>().is_err());
    }
}
