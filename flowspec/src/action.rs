//! Traffic-filtering actions carried as extended communities (RFC 8955 §7, RFC 8956 §3.8,
//! draft-ietf-idr-flowspec-redirect-ip, draft-simpson-idr-flowspec-redirect).

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_core::attribute::{ExtendedCommunity, Ipv6ExtendedCommunity};

/// A rate in an IEEE 754 single-precision float, compared and hashed by its bits.
#[derive(Debug, Clone, Copy)]
pub struct Rate(pub f32);

impl PartialEq for Rate {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Rate {}
impl core::hash::Hash for Rate {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// One action of a FlowSpec rule.
///
/// Each typed variant decodes only from its exact canonical encoding (reserved fields zero);
/// anything else stays [`Action::Other`] or [`Action::OtherIpv6`] and re-encodes byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// traffic-rate-bytes (0x8006): limit to `rate` bytes per second; 0 discards (RFC 8955 §7.1).
    /// `asn` is informational.
    TrafficRateBytes {
        /// Informational 2-octet AS.
        asn: u16,
        /// Bytes per second.
        rate: Rate,
    },
    /// traffic-rate-packets (0x800c): limit to `rate` packets per second (RFC 8955 §7.1).
    TrafficRatePackets {
        /// Informational 2-octet AS.
        asn: u16,
        /// Packets per second.
        rate: Rate,
    },
    /// traffic-action (0x8007, RFC 8955 §7.3): `sample` logs, `terminal` set means later rules are
    /// still evaluated.
    TrafficAction {
        /// S bit: sample and log.
        sample: bool,
        /// T bit: continue evaluating rules of lower precedence.
        terminal: bool,
    },
    /// rt-redirect with a 2-octet AS (0x8008): move matching traffic into the VRF with this
    /// route target (RFC 8955 §7.4).
    RedirectAs2 {
        /// Global administrator.
        asn: u16,
        /// Local administrator.
        value: u32,
    },
    /// rt-redirect with an IPv4 global administrator (0x8108).
    RedirectIpv4 {
        /// Global administrator.
        addr: Ipv4Addr,
        /// Local administrator.
        value: u16,
    },
    /// rt-redirect with a 4-octet AS (0x8208).
    RedirectAs4 {
        /// Global administrator.
        asn: u32,
        /// Local administrator.
        value: u16,
    },
    /// traffic-marking (0x8009): rewrite the DSCP (RFC 8955 §7.5).
    TrafficMarking {
        /// The DSCP value (6 bits).
        dscp: u8,
    },
    /// Redirect to an IPv4 next hop (draft-ietf-idr-flowspec-redirect-ip, type 0x010c).
    RedirectToIpv4 {
        /// The target.
        addr: Ipv4Addr,
        /// C bit: copy instead of redirect.
        copy: bool,
    },
    /// Redirect to an IPv6 next hop (draft-ietf-idr-flowspec-redirect-ip, IPv6 address-specific
    /// type 0x000c).
    RedirectToIpv6 {
        /// The target.
        addr: Ipv6Addr,
        /// C bit: copy instead of redirect.
        copy: bool,
    },
    /// Legacy redirect to the MP_REACH_NLRI next hop (draft-simpson, 0x0800; IOS-XR).
    RedirectToNextHop {
        /// C bit: copy instead of redirect.
        copy: bool,
    },
    /// rt-redirect with an IPv6 global administrator (RFC 8956 §3.8, IPv6 address-specific 0x000d).
    RedirectIpv6 {
        /// Global administrator.
        addr: Ipv6Addr,
        /// Local administrator.
        value: u16,
    },
    /// The same, in GoBGP's pre-standard encoding (IPv6 address-specific 0x800b); decoded so that
    /// GoBGP's rules read correctly, re-encoded as received.
    RedirectIpv6Legacy {
        /// Global administrator.
        addr: Ipv6Addr,
        /// Local administrator.
        value: u16,
    },
    /// Any other extended community, kept as received.
    Other(ExtendedCommunity),
    /// Any other IPv6 address-specific extended community, kept as received.
    OtherIpv6(Ipv6ExtendedCommunity),
}

/// An action on the wire: an extended community (attribute 16) or an IPv6 address-specific one
/// (attribute 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionCommunity {
    /// EXTENDED_COMMUNITIES entry.
    Extended(ExtendedCommunity),
    /// IPv6 Address Specific Extended Community entry.
    Ipv6(Ipv6ExtendedCommunity),
}

impl Action {
    /// Discard: traffic-rate-bytes 0.
    pub const DISCARD: Action = Action::TrafficRateBytes { asn: 0, rate: Rate(0.0) };

    /// Reads an extended community; anything not a FlowSpec action in canonical form is `Other`.
    pub fn from_extended(c: ExtendedCommunity) -> Action {
        let [t, s, a, b, x, y, z, w] = c.0;
        let u16_at = |p: u8, q: u8| u16::from_be_bytes([p, q]);
        match (t, s) {
            (0x80, 0x06) => {
                Action::TrafficRateBytes { asn: u16_at(a, b), rate: Rate(f32::from_be_bytes([x, y, z, w])) }
            }
            (0x80, 0x0c) => {
                Action::TrafficRatePackets { asn: u16_at(a, b), rate: Rate(f32::from_be_bytes([x, y, z, w])) }
            }
            (0x80, 0x07) if [a, b, x, y, z] == [0; 5] && w & !0x03 == 0 => {
                Action::TrafficAction { sample: w & 0x02 != 0, terminal: w & 0x01 != 0 }
            }
            (0x80, 0x08) => Action::RedirectAs2 { asn: u16_at(a, b), value: u32::from_be_bytes([x, y, z, w]) },
            (0x81, 0x08) => Action::RedirectIpv4 { addr: Ipv4Addr::new(a, b, x, y), value: u16_at(z, w) },
            (0x82, 0x08) => Action::RedirectAs4 { asn: u32::from_be_bytes([a, b, x, y]), value: u16_at(z, w) },
            (0x80, 0x09) if [a, b, x, y, z] == [0; 5] && w <= 0x3f => Action::TrafficMarking { dscp: w },
            (0x01, 0x0c) if z == 0 && w & !0x01 == 0 => {
                Action::RedirectToIpv4 { addr: Ipv4Addr::new(a, b, x, y), copy: w & 0x01 != 0 }
            }
            (0x08, 0x00) if [a, b, x, y, z] == [0; 5] && w & !0x01 == 0 => {
                Action::RedirectToNextHop { copy: w & 0x01 != 0 }
            }
            _ => Action::Other(c),
        }
    }

    /// Reads an IPv6 address-specific extended community.
    pub fn from_ipv6_extended(c: Ipv6ExtendedCommunity) -> Action {
        match (c.type_high(), c.subtype()) {
            (0x00, 0x0c) if c.local() & !0x01 == 0 => {
                Action::RedirectToIpv6 { addr: c.address(), copy: c.local() & 1 != 0 }
            }
            (0x00, 0x0d) => Action::RedirectIpv6 { addr: c.address(), value: c.local() },
            (0x80, 0x0b) => Action::RedirectIpv6Legacy { addr: c.address(), value: c.local() },
            _ => Action::OtherIpv6(c),
        }
    }

    /// The wire form.
    pub fn to_community(&self) -> ActionCommunity {
        let ext = |t: u8, s: u8, v: [u8; 6]| {
            let [a, b, c, d, e, f] = v;
            ActionCommunity::Extended(ExtendedCommunity([t, s, a, b, c, d, e, f]))
        };
        let rate = |asn: u16, r: Rate| {
            let [a, b] = asn.to_be_bytes();
            let [c, d, e, f] = r.0.to_be_bytes();
            [a, b, c, d, e, f]
        };
        match *self {
            Action::TrafficRateBytes { asn, rate: r } => ext(0x80, 0x06, rate(asn, r)),
            Action::TrafficRatePackets { asn, rate: r } => ext(0x80, 0x0c, rate(asn, r)),
            Action::TrafficAction { sample, terminal } => {
                ext(0x80, 0x07, [0, 0, 0, 0, 0, u8::from(sample) << 1 | u8::from(terminal)])
            }
            Action::RedirectAs2 { asn, value } => {
                let [a, b] = asn.to_be_bytes();
                let [c, d, e, f] = value.to_be_bytes();
                ext(0x80, 0x08, [a, b, c, d, e, f])
            }
            Action::RedirectIpv4 { addr, value } => {
                let [a, b, c, d] = addr.octets();
                let [e, f] = value.to_be_bytes();
                ext(0x81, 0x08, [a, b, c, d, e, f])
            }
            Action::RedirectAs4 { asn, value } => {
                let [a, b, c, d] = asn.to_be_bytes();
                let [e, f] = value.to_be_bytes();
                ext(0x82, 0x08, [a, b, c, d, e, f])
            }
            // Sent as given: a value above 63 is not masked into a different DSCP.
            Action::TrafficMarking { dscp } => ext(0x80, 0x09, [0, 0, 0, 0, 0, dscp]),
            Action::RedirectToIpv4 { addr, copy } => {
                let [a, b, c, d] = addr.octets();
                ext(0x01, 0x0c, [a, b, c, d, 0, u8::from(copy)])
            }
            Action::RedirectToNextHop { copy } => ext(0x08, 0x00, [0, 0, 0, 0, 0, u8::from(copy)]),
            Action::RedirectToIpv6 { addr, copy } => {
                ActionCommunity::Ipv6(Ipv6ExtendedCommunity::new(0x00, 0x0c, addr, u16::from(copy)))
            }
            Action::RedirectIpv6 { addr, value } => {
                ActionCommunity::Ipv6(Ipv6ExtendedCommunity::new(0x00, 0x0d, addr, value))
            }
            Action::RedirectIpv6Legacy { addr, value } => {
                ActionCommunity::Ipv6(Ipv6ExtendedCommunity::new(0x80, 0x0b, addr, value))
            }
            Action::Other(c) => ActionCommunity::Extended(c),
            Action::OtherIpv6(c) => ActionCommunity::Ipv6(c),
        }
    }

    /// True for the actions RFC 8955 §7 and RFC 8956 define or the redirect-IP drafts add: the ones
    /// a router applies to traffic (as opposed to other communities carried along).
    pub fn is_traffic_action(&self) -> bool {
        !matches!(self, Action::Other(_) | Action::OtherIpv6(_))
    }
}

/// Splits a route's communities into FlowSpec actions, in wire order: extended communities first,
/// then IPv6 address-specific ones.
pub fn actions_of(extended: &[ExtendedCommunity], ipv6: &[Ipv6ExtendedCommunity]) -> Vec<Action> {
    extended
        .iter()
        .map(|c| Action::from_extended(*c))
        .chain(ipv6.iter().map(|c| Action::from_ipv6_extended(*c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_core::hex;

    fn ec(h: &str) -> ExtendedCommunity {
        ExtendedCommunity(hex::decode(h).unwrap().try_into().unwrap())
    }

    #[test]
    fn notes_vectors() {
        // shared/notes/flowspec.md §4 extended communities.
        let cases = [
            ("8006000046160000", Action::TrafficRateBytes { asn: 0, rate: Rate(9600.0) }),
            ("800c0000447a0000", Action::TrafficRatePackets { asn: 0, rate: Rate(1000.0) }),
            ("8006000000000000", Action::DISCARD),
            ("8007000000000003", Action::TrafficAction { sample: true, terminal: true }),
            ("800900000000000a", Action::TrafficMarking { dscp: 10 }),
            ("8008ffdc00003039", Action::RedirectAs2 { asn: 65500, value: 12345 }),
            ("8108c000020100c8", Action::RedirectIpv4 { addr: Ipv4Addr::new(192, 0, 2, 1), value: 200 }),
            ("820200000000fde8", Action::Other(ec("820200000000fde8"))),
            ("82080000fde90064", Action::RedirectAs4 { asn: 65001, value: 100 }),
            ("010cc00002010001", Action::RedirectToIpv4 { addr: Ipv4Addr::new(192, 0, 2, 1), copy: true }),
            ("0800000000000000", Action::RedirectToNextHop { copy: false }),
            ("8009000000000040", Action::Other(ec("8009000000000040"))),
            ("0002fde800000064", Action::Other(ec("0002fde800000064"))),
        ];
        for (h, want) in cases {
            let got = Action::from_extended(ec(h));
            assert_eq!(got, want, "{h}");
            assert_eq!(got.to_community(), ActionCommunity::Extended(ec(h)), "{h} re-encodes");
        }
    }

    #[test]
    fn ipv6_actions() {
        let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
        for (c, want) in [
            (Ipv6ExtendedCommunity::new(0, 0x0d, addr, 7), Action::RedirectIpv6 { addr, value: 7 }),
            (Ipv6ExtendedCommunity::new(0, 0x0c, addr, 1), Action::RedirectToIpv6 { addr, copy: true }),
            (Ipv6ExtendedCommunity::new(0x80, 0x0b, addr, 7), Action::RedirectIpv6Legacy { addr, value: 7 }),
            (
                Ipv6ExtendedCommunity::new(0, 0x02, addr, 7),
                Action::OtherIpv6(Ipv6ExtendedCommunity::new(0, 0x02, addr, 7)),
            ),
        ] {
            let got = Action::from_ipv6_extended(c);
            assert_eq!(got, want);
            assert_eq!(got.to_community(), ActionCommunity::Ipv6(c));
        }
    }
}
