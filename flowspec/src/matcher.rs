//! Does a rule match a packet? The reference semantics of every component (RFC 8955 §4.2.2,
//! RFC 8956 §3), for operators checking what a rule really does and for tests.

use std::net::IpAddr;

use crate::component::{eval, BitmaskTerm, Component, NumericTerm};
use crate::nlri::FlowSpec;

/// The header fields a rule can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol (IPv6: the upper-layer protocol).
    pub protocol: u8,
    /// Source port (TCP, UDP, SCTP).
    pub src_port: Option<u16>,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// ICMP or ICMPv6 type.
    pub icmp_type: Option<u8>,
    /// ICMP or ICMPv6 code.
    pub icmp_code: Option<u8>,
    /// TCP flags (the low 12 bits of TCP header octets 13–14).
    pub tcp_flags: Option<u16>,
    /// Packet length as the router measures it (IPv4 total length).
    pub length: u16,
    /// DSCP (6 bits).
    pub dscp: u8,
    /// Fragment bits as in the fragment component: DF 0x01, IsF 0x02, FF 0x04, LF 0x08.
    pub fragment: u16,
    /// IPv6 flow label (20 bits).
    pub flow_label: u32,
}

impl Packet {
    /// A packet with the given addresses and protocol, 64 bytes long, no ports or flags.
    pub fn new(src: IpAddr, dst: IpAddr, protocol: u8) -> Packet {
        Packet {
            src,
            dst,
            protocol,
            src_port: None,
            dst_port: None,
            icmp_type: None,
            icmp_code: None,
            tcp_flags: None,
            length: 64,
            dscp: 0,
            fragment: 0,
            flow_label: 0,
        }
    }

    /// A UDP packet.
    pub fn udp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> Packet {
        Packet { src_port: Some(sport), dst_port: Some(dport), ..Packet::new(src, dst, 17) }
    }

    /// A TCP packet with `flags`.
    pub fn tcp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, flags: u16) -> Packet {
        Packet { src_port: Some(sport), dst_port: Some(dport), tcp_flags: Some(flags), ..Packet::new(src, dst, 6) }
    }
}

fn numeric(terms: &[NumericTerm], data: Option<u64>) -> bool {
    data.is_some_and(|d| eval(terms, |t| t.and, |t| t.cmp.test(d, t.value)))
}

fn bitmask(terms: &[BitmaskTerm], data: Option<u16>) -> bool {
    data.is_some_and(|d| eval(terms, |t| t.and, |t| t.test(d)))
}

impl FlowSpec {
    /// True if the packet matches every component (RFC 8955 §4.2: components are ANDed).
    /// A component about a field the packet does not have (ports of an ICMP packet, TCP flags of
    /// a UDP packet) does not match.
    pub fn matches(&self, p: &Packet) -> bool {
        let v6 = p.dst.is_ipv6();
        if v6 != (self.afi() == bgp_core::Afi::Ipv6) {
            return false;
        }
        self.components().iter().all(|c| match c {
            Component::Destination(prefix) => prefix.contains(p.dst),
            Component::Source(prefix) => prefix.contains(p.src),
            Component::Protocol(t) => numeric(t, Some(u64::from(p.protocol))),
            Component::Port(t) => numeric(t, p.src_port.map(u64::from)) || numeric(t, p.dst_port.map(u64::from)),
            Component::DestinationPort(t) => numeric(t, p.dst_port.map(u64::from)),
            Component::SourcePort(t) => numeric(t, p.src_port.map(u64::from)),
            Component::IcmpType(t) => numeric(t, p.icmp_type.map(u64::from)),
            Component::IcmpCode(t) => numeric(t, p.icmp_code.map(u64::from)),
            Component::TcpFlags(t) => bitmask(t, p.tcp_flags),
            Component::PacketLength(t) => numeric(t, Some(u64::from(p.length))),
            Component::Dscp(t) => numeric(t, Some(u64::from(p.dscp))),
            Component::Fragment(t) => bitmask(t, Some(p.fragment)),
            Component::FlowLabel(t) => numeric(t, Some(u64::from(p.flow_label))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::tcp;
    use crate::FlowRule;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn dns_amplification_rule() {
        let r: FlowRule = "dst 192.0.2.1/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000".parse().unwrap();
        let mut p = Packet::udp(ip("198.51.100.7"), 53, ip("192.0.2.1"), 40000);
        p.length = 1400;
        assert!(r.spec.matches(&p));
        p.length = 100;
        assert!(!r.spec.matches(&p));
        p.length = 1400;
        p.src_port = Some(54);
        assert!(!r.spec.matches(&p));
        let other = Packet { dst: ip("192.0.2.2"), ..Packet::udp(ip("198.51.100.7"), 53, ip("192.0.2.1"), 1) };
        assert!(!r.spec.matches(&other));
    }

    #[test]
    fn syn_flood_rule_and_port_either_direction() {
        let r: FlowRule = "dst 192.0.2.0/24 proto =6 port =443 tcp-flags syn&!ack then discard".parse().unwrap();
        assert!(r.spec.matches(&Packet::tcp(ip("203.0.113.1"), 1234, ip("192.0.2.9"), 443, tcp::SYN)));
        assert!(!r.spec.matches(&Packet::tcp(ip("203.0.113.1"), 1234, ip("192.0.2.9"), 443, tcp::SYN | tcp::ACK)));
        assert!(r.spec.matches(&Packet::tcp(ip("203.0.113.1"), 443, ip("192.0.2.9"), 5555, tcp::SYN)));
        // Not TCP: the flags component cannot match.
        assert!(!r.spec.matches(&Packet::udp(ip("203.0.113.1"), 443, ip("192.0.2.9"), 443)));
    }

    #[test]
    fn ipv6_offset_and_flow_label() {
        let r: FlowRule = "dst ::1234:5678:9a00:0/104 offset 64 flow-label =5".parse().unwrap();
        let mut p = Packet::new(ip("2001:db8::1"), ip("2001:db8:1:2:1234:5678:9a12:3456"), 17);
        p.flow_label = 5;
        assert!(r.spec.matches(&p));
        p.flow_label = 6;
        assert!(!r.spec.matches(&p));
        assert!(!r.spec.matches(&Packet::new(ip("192.0.2.1"), ip("192.0.2.2"), 17)));
    }

    #[test]
    fn fragments() {
        let r: FlowRule = "fragment is-fragment|first-fragment".parse().unwrap();
        let mut p = Packet::new(ip("192.0.2.1"), ip("192.0.2.2"), 17);
        assert!(!r.spec.matches(&p));
        p.fragment = 0x04;
        assert!(r.spec.matches(&p));
    }
}
