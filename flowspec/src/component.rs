//! FlowSpec components and their operators (RFC 8955 §4.2, RFC 8956 §3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Component type codes (IANA "Flow Spec Component Types").
pub mod code {
    /// Destination prefix.
    pub const DESTINATION: u8 = 1;
    /// Source prefix.
    pub const SOURCE: u8 = 2;
    /// IP protocol (IPv6: upper-layer protocol, the last Next Header).
    pub const PROTOCOL: u8 = 3;
    /// Source or destination port.
    pub const PORT: u8 = 4;
    /// Destination port.
    pub const DESTINATION_PORT: u8 = 5;
    /// Source port.
    pub const SOURCE_PORT: u8 = 6;
    /// ICMP (ICMPv6) type.
    pub const ICMP_TYPE: u8 = 7;
    /// ICMP (ICMPv6) code.
    pub const ICMP_CODE: u8 = 8;
    /// TCP flags.
    pub const TCP_FLAGS: u8 = 9;
    /// Packet length.
    pub const PACKET_LENGTH: u8 = 10;
    /// DSCP.
    pub const DSCP: u8 = 11;
    /// Fragment.
    pub const FRAGMENT: u8 = 12;
    /// Flow label (IPv6 only, RFC 8956 §3.7).
    pub const FLOW_LABEL: u8 = 13;
}

/// TCP flag bits (RFC 8955 §4.2.2.9: the TCP header's flags octet).
pub mod tcp {
    /// FIN.
    pub const FIN: u16 = 0x01;
    /// SYN.
    pub const SYN: u16 = 0x02;
    /// RST.
    pub const RST: u16 = 0x04;
    /// PSH.
    pub const PSH: u16 = 0x08;
    /// ACK.
    pub const ACK: u16 = 0x10;
    /// URG.
    pub const URG: u16 = 0x20;
    /// ECE.
    pub const ECE: u16 = 0x40;
    /// CWR.
    pub const CWR: u16 = 0x80;
}

/// Fragment bits (RFC 8955 §4.2.2.12).
pub mod fragment {
    /// Don't Fragment (IPv4 only).
    pub const DONT_FRAGMENT: u16 = 0x01;
    /// Is a Fragment: fragment offset not 0.
    pub const IS_FRAGMENT: u16 = 0x02;
    /// First Fragment: offset 0 and More Fragments set.
    pub const FIRST_FRAGMENT: u16 = 0x04;
    /// Last Fragment: offset not 0 and More Fragments clear.
    pub const LAST_FRAGMENT: u16 = 0x08;
}

/// Comparison of a numeric operator: its lt, gt and eq bits (RFC 8955 §4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmp {
    /// 000: never true.
    False,
    /// 001: `==`.
    Eq,
    /// 010: `>`.
    Gt,
    /// 011: `>=`.
    Ge,
    /// 100: `<`.
    Lt,
    /// 101: `<=`.
    Le,
    /// 110: `!=`.
    Ne,
    /// 111: always true.
    True,
}

impl Cmp {
    /// The lt/gt/eq bits.
    pub fn bits(self) -> u8 {
        match self {
            Cmp::False => 0,
            Cmp::Eq => 1,
            Cmp::Gt => 2,
            Cmp::Ge => 3,
            Cmp::Lt => 4,
            Cmp::Le => 5,
            Cmp::Ne => 6,
            Cmp::True => 7,
        }
    }

    /// From the lt/gt/eq bits (the low three bits of `bits`).
    pub fn from_bits(bits: u8) -> Cmp {
        match bits & 7 {
            0 => Cmp::False,
            1 => Cmp::Eq,
            2 => Cmp::Gt,
            3 => Cmp::Ge,
            4 => Cmp::Lt,
            5 => Cmp::Le,
            6 => Cmp::Ne,
            _ => Cmp::True,
        }
    }

    /// Applies the comparison: `data <op> value`.
    pub fn test(self, data: u64, value: u64) -> bool {
        match self {
            Cmp::False => false,
            Cmp::Eq => data == value,
            Cmp::Gt => data > value,
            Cmp::Ge => data >= value,
            Cmp::Lt => data < value,
            Cmp::Le => data <= value,
            Cmp::Ne => data != value,
            Cmp::True => true,
        }
    }

    /// The text form: `=`, `>`, `>=`, `<`, `<=`, `!=`, or `true` / `false`.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::False => "false",
            Cmp::Eq => "=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Ne => "!=",
            Cmp::True => "true",
        }
    }
}

/// The smallest of the widths 1, 2, 4, 8 that holds `value`.
pub fn min_width(value: u64) -> u8 {
    match value {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    }
}

/// One term of a numeric operator list: `[and] <cmp> value` (RFC 8955 §4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumericTerm {
    /// AND with the previous term (the `a` bit); false means OR. Always false on the first term
    /// ("MUST be ignored", so it is cleared on receipt).
    pub and: bool,
    /// The comparison.
    pub cmp: Cmp,
    /// The value.
    pub value: u64,
    /// Value width on the wire in bytes: 1, 2, 4 or 8. Kept as received so a decoded rule
    /// re-encodes to the same bytes; new terms use [`min_width`].
    pub width: u8,
}

impl NumericTerm {
    /// A term with the smallest width for its value.
    pub fn new(and: bool, cmp: Cmp, value: u64) -> Self {
        NumericTerm { and, cmp, value, width: min_width(value) }
    }
}

/// One term of a bitmask operator list (RFC 8955 §4.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BitmaskTerm {
    /// AND with the previous term; false means OR. Cleared on the first term.
    pub and: bool,
    /// Negate the result (the `not` bit).
    pub not: bool,
    /// Match all bits (`m` bit): `(data & value) == value`; otherwise any bit:
    /// `(data & value) != 0`.
    pub match_all: bool,
    /// The bits.
    pub value: u16,
    /// Value width on the wire in bytes: 1 or 2.
    pub width: u8,
}

impl BitmaskTerm {
    /// A term with the smallest width for its value.
    pub fn new(and: bool, not: bool, match_all: bool, value: u16) -> Self {
        BitmaskTerm { and, not, match_all, value, width: if value > 0xff { 2 } else { 1 } }
    }

    /// Applies the term to `data`.
    pub fn test(&self, data: u16) -> bool {
        let hit = if self.match_all { data & self.value == self.value } else { data & self.value != 0 };
        hit != self.not
    }
}

/// Evaluates an operator list: terms joined by AND bind tighter than OR (RFC 8955 §4.2.1.1:
/// "(a AND b) OR c").
pub(crate) fn eval<T>(terms: &[T], and_of: impl Fn(&T) -> bool, test: impl Fn(&T) -> bool) -> bool {
    let mut any = false;
    let mut group = true;
    for (i, t) in terms.iter().enumerate() {
        if i > 0 && !and_of(t) {
            any |= group;
            group = true;
        }
        group &= test(t);
    }
    any | (group && !terms.is_empty())
}

/// A prefix component: an IPv4 prefix, or an IPv6 prefix with an offset (RFC 8956 §3.1).
///
/// `addr` holds only the bits from `offset` to `len`; all other bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowPrefix {
    /// The address bits.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
    /// IPv6 offset in bits: the pattern covers bits `offset..len`. Always 0 for IPv4.
    pub offset: u8,
}

impl FlowPrefix {
    /// A prefix without offset; bits past `len` are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Self {
        FlowPrefix::with_offset(addr, len, 0)
    }

    /// An IPv6 pattern from bit `offset` to bit `len`; bits outside are cleared.
    pub fn with_offset(addr: IpAddr, len: u8, offset: u8) -> Self {
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(0, len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(offset, len))),
        };
        FlowPrefix { addr, len, offset }
    }

    /// True if `ip` matches the pattern.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(p), IpAddr::V4(a)) => u32::from(a) & mask32(0, self.len) == u32::from(p),
            (IpAddr::V6(p), IpAddr::V6(a)) => u128::from(a) & mask128(self.offset, self.len) == u128::from(p),
            _ => false,
        }
    }
}

/// Bits `from..to` (big-endian bit numbering) of a 32-bit word.
pub(crate) fn mask32(from: u8, to: u8) -> u32 {
    let hi = if from >= 32 { 0 } else { u32::MAX >> from };
    let lo = if to >= 32 { u32::MAX } else { !(u32::MAX >> to) };
    hi & lo
}

/// Bits `from..to` of a 128-bit word.
pub(crate) fn mask128(from: u8, to: u8) -> u128 {
    let hi = if from >= 128 { 0 } else { u128::MAX >> from };
    let lo = if to >= 128 { u128::MAX } else { !(u128::MAX >> to) };
    hi & lo
}

/// One FlowSpec component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Component {
    /// Type 1: destination prefix.
    Destination(FlowPrefix),
    /// Type 2: source prefix.
    Source(FlowPrefix),
    /// Type 3: IP protocol / IPv6 upper-layer protocol.
    Protocol(Vec<NumericTerm>),
    /// Type 4: source or destination port.
    Port(Vec<NumericTerm>),
    /// Type 5: destination port.
    DestinationPort(Vec<NumericTerm>),
    /// Type 6: source port.
    SourcePort(Vec<NumericTerm>),
    /// Type 7: ICMP type.
    IcmpType(Vec<NumericTerm>),
    /// Type 8: ICMP code.
    IcmpCode(Vec<NumericTerm>),
    /// Type 9: TCP flags.
    TcpFlags(Vec<BitmaskTerm>),
    /// Type 10: packet length (IPv4 total length; IPv6 payload length per RFC 8956 §3.5... as the
    /// router implements it).
    PacketLength(Vec<NumericTerm>),
    /// Type 11: DSCP (6 bits).
    Dscp(Vec<NumericTerm>),
    /// Type 12: fragment bits.
    Fragment(Vec<BitmaskTerm>),
    /// Type 13: IPv6 flow label (20 bits).
    FlowLabel(Vec<NumericTerm>),
}

impl Component {
    /// The component type code.
    pub fn type_code(&self) -> u8 {
        match self {
            Component::Destination(_) => code::DESTINATION,
            Component::Source(_) => code::SOURCE,
            Component::Protocol(_) => code::PROTOCOL,
            Component::Port(_) => code::PORT,
            Component::DestinationPort(_) => code::DESTINATION_PORT,
            Component::SourcePort(_) => code::SOURCE_PORT,
            Component::IcmpType(_) => code::ICMP_TYPE,
            Component::IcmpCode(_) => code::ICMP_CODE,
            Component::TcpFlags(_) => code::TCP_FLAGS,
            Component::PacketLength(_) => code::PACKET_LENGTH,
            Component::Dscp(_) => code::DSCP,
            Component::Fragment(_) => code::FRAGMENT,
            Component::FlowLabel(_) => code::FLOW_LABEL,
        }
    }

    /// The numeric terms, for the numeric components.
    pub fn numeric(&self) -> Option<&[NumericTerm]> {
        match self {
            Component::Protocol(t)
            | Component::Port(t)
            | Component::DestinationPort(t)
            | Component::SourcePort(t)
            | Component::IcmpType(t)
            | Component::IcmpCode(t)
            | Component::PacketLength(t)
            | Component::Dscp(t)
            | Component::FlowLabel(t) => Some(t),
            _ => None,
        }
    }

    /// The bitmask terms, for TCP flags and fragment.
    pub fn bitmask(&self) -> Option<&[BitmaskTerm]> {
        match self {
            Component::TcpFlags(t) | Component::Fragment(t) => Some(t),
            _ => None,
        }
    }

    /// Builds a numeric component of `type_code` (3–8, 10, 11, 13).
    pub fn from_numeric(type_code: u8, terms: Vec<NumericTerm>) -> Option<Component> {
        Some(match type_code {
            code::PROTOCOL => Component::Protocol(terms),
            code::PORT => Component::Port(terms),
            code::DESTINATION_PORT => Component::DestinationPort(terms),
            code::SOURCE_PORT => Component::SourcePort(terms),
            code::ICMP_TYPE => Component::IcmpType(terms),
            code::ICMP_CODE => Component::IcmpCode(terms),
            code::PACKET_LENGTH => Component::PacketLength(terms),
            code::DSCP => Component::Dscp(terms),
            code::FLOW_LABEL => Component::FlowLabel(terms),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        // (>=137 AND <=139) OR =8080 (RFC 8955 §4.3 example 2)
        let t = [
            NumericTerm::new(false, Cmp::Ge, 137),
            NumericTerm::new(true, Cmp::Le, 139),
            NumericTerm::new(false, Cmp::Eq, 8080),
        ];
        let m = |v| eval(&t, |t| t.and, |t| t.cmp.test(v, t.value));
        assert!(m(137) && m(139) && m(8080));
        assert!(!m(136) && !m(140) && !m(8081));
    }

    #[test]
    fn masks_and_prefix_patterns() {
        assert_eq!(mask32(0, 24), 0xffff_ff00);
        assert_eq!(mask32(0, 0), 0);
        assert_eq!(mask128(64, 104), 0x0000_0000_0000_0000_ffff_ffff_ff00_0000);
        let p = FlowPrefix::with_offset("::1234:5678:9a00:0".parse().unwrap(), 104, 64);
        assert!(p.contains("2001:db8::1234:5678:9aff:1".parse().unwrap()));
        assert!(!p.contains("2001:db8::1234:5678:9b00:0".parse().unwrap()));
        let v4 = FlowPrefix::new("192.0.2.77".parse().unwrap(), 24);
        assert_eq!(v4.addr.to_string(), "192.0.2.0");
    }

    #[test]
    fn bitmask_semantics() {
        let syn_not_ack =
            [BitmaskTerm::new(false, false, false, tcp::SYN), BitmaskTerm::new(true, true, false, tcp::ACK)];
        let m = |d| eval(&syn_not_ack, |t| t.and, |t| t.test(d));
        assert!(m(tcp::SYN));
        assert!(!m(tcp::SYN | tcp::ACK));
        assert!(!m(tcp::ACK));
        let all = BitmaskTerm::new(false, false, true, tcp::SYN | tcp::ACK);
        assert!(all.test(tcp::SYN | tcp::ACK | tcp::PSH) && !all.test(tcp::SYN));
    }
}
