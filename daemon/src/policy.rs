//! What rule an attack calls for: the match built from the attack vector, the victim and the
//! ports, and the action of the playbook step.
//!
//! A SYN flood matches `proto =6 tcp-flags syn&!ack`, an ACK flood `tcp-flags ack&!syn`, UDP
//! amplification vectors their source port, ICMP floods ICMP (ICMPv6 for IPv6 victims); IPv4
//! victims get a /32 and IPv6 victims a /128. When the attack's ports and the ports the service
//! accepts do not intersect, no rule is built: a rule that matches every port would cut the
//! service off entirely.

use std::net::IpAddr;

use flowspec::component::{BitmaskTerm, Cmp, Component, FlowPrefix, NumericTerm};
use flowspec::{Action, FlowRule, FlowSpec, Rate};
use serde::{Deserialize, Serialize};

use crate::inventory::AllowedPorts;

/// Attack vectors detectors report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vector {
    /// UDP flood to the victim's ports.
    UdpFlood,
    /// TCP SYN flood.
    SynFlood,
    /// TCP traffic of any kind (matched by protocol and ports, no flags).
    TcpFlood,
    /// TCP ACK flood.
    AckFlood,
    /// ICMP / ICMPv6 flood.
    IcmpFlood,
    /// DNS reflection (source port 53).
    DnsAmplification,
    /// NTP reflection (source port 123).
    NtpAmplification,
    /// memcached reflection (source port 11211).
    MemcachedAmplification,
    /// SSDP reflection (source port 1900).
    SsdpAmplification,
    /// CLDAP reflection (source port 389).
    CldapAmplification,
    /// chargen reflection (source port 19).
    ChargenAmplification,
    /// Not classified.
    Unknown,
}

impl Vector {
    /// The IP protocol the vector's packets use (ICMP is 1, or 58 for IPv6).
    pub fn protocol(self, v6: bool) -> Option<u8> {
        match self {
            Vector::SynFlood | Vector::AckFlood | Vector::TcpFlood => Some(6),
            Vector::IcmpFlood => Some(if v6 { 58 } else { 1 }),
            Vector::Unknown => None,
            _ => Some(17),
        }
    }

    /// The reflector's source port of an amplification vector.
    pub fn reflector_port(self) -> Option<u16> {
        match self {
            Vector::DnsAmplification => Some(53),
            Vector::NtpAmplification => Some(123),
            Vector::MemcachedAmplification => Some(11211),
            Vector::SsdpAmplification => Some(1900),
            Vector::CldapAmplification => Some(389),
            Vector::ChargenAmplification => Some(19),
            _ => None,
        }
    }
}

/// What to do with matching traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MitigationAction {
    /// Rate-limit to `rate_bps` bits per second (sent as bytes per second, RFC 8955 §7.1).
    Police {
        /// Bits per second.
        rate_bps: u64,
    },
    /// Drop.
    Discard,
}

impl MitigationAction {
    /// The FlowSpec action.
    pub fn flowspec(self) -> Action {
        match self {
            // f32 holds every rate an operator sets to well under 0.1 %: 10 Gb/s is 1.25e9 bytes/s.
            MitigationAction::Police { rate_bps } => {
                Action::TrafficRateBytes { asn: 0, rate: Rate((rate_bps / 8) as f32) }
            }
            MitigationAction::Discard => Action::DISCARD,
        }
    }
}

/// Why no rule is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoRule {
    /// The attack's ports and the service's allowed ports do not intersect.
    #[error("attack ports {attack:?} and the service's allowed ports {allowed:?} do not intersect")]
    DisjointPorts {
        /// Ports the attack hit.
        attack: Vec<u16>,
        /// Ports the service accepts.
        allowed: Vec<u16>,
    },
    /// The vector has no protocol to match (unknown vectors are not mitigated automatically).
    #[error("vector {vector:?} has nothing to match on")]
    UnknownVector {
        /// The vector.
        vector: Vector,
    },
}

/// The match part of a mitigation, before it becomes a FlowSpec rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchSpec {
    /// The victim.
    pub victim: IpAddr,
    /// The vector.
    pub vector: Vector,
    /// Destination ports to match (empty: all, only for vectors that do not need ports).
    pub dst_ports: Vec<u16>,
}

impl MatchSpec {
    /// Builds the match for `victim` under attack by `vector` on `attack_ports`, limited to the
    /// ports the service accepts.
    pub fn new(
        victim: IpAddr,
        vector: Vector,
        attack_ports: &[u16],
        allowed: Option<&AllowedPorts>,
    ) -> Result<MatchSpec, NoRule> {
        let proto = vector.protocol(victim.is_ipv6()).ok_or(NoRule::UnknownVector { vector })?;
        // Reflection and ICMP floods are matched by source port or protocol: destination ports do
        // not identify them.
        if vector.reflector_port().is_some() || vector == Vector::IcmpFlood {
            return Ok(MatchSpec { victim, vector, dst_ports: Vec::new() });
        }
        let allowed: Option<&[u16]> = match (allowed, proto) {
            (Some(a), 6) => Some(&a.tcp),
            (Some(a), 17) => Some(&a.udp),
            _ => None,
        };
        let mut ports: Vec<u16> = match allowed {
            Some(allowed) if !allowed.is_empty() => {
                if attack_ports.is_empty() {
                    allowed.to_vec()
                } else {
                    let both: Vec<u16> = attack_ports.iter().copied().filter(|p| allowed.contains(p)).collect();
                    if both.is_empty() {
                        return Err(NoRule::DisjointPorts { attack: attack_ports.to_vec(), allowed: allowed.to_vec() });
                    }
                    both
                }
            }
            _ => attack_ports.to_vec(),
        };
        ports.sort_unstable();
        ports.dedup();
        Ok(MatchSpec { victim, vector, dst_ports: ports })
    }

    /// The FlowSpec rule for this match and action.
    pub fn rule(&self, action: MitigationAction) -> Result<FlowRule, flowspec::EncodeError> {
        let v6 = self.victim.is_ipv6();
        let mut c = vec![Component::Destination(FlowPrefix::new(self.victim, if v6 { 128 } else { 32 }))];
        if let Some(p) = self.vector.protocol(v6) {
            c.push(Component::Protocol(vec![NumericTerm::new(false, Cmp::Eq, u64::from(p))]));
        }
        if !self.dst_ports.is_empty() {
            let terms = self.dst_ports.iter().map(|p| NumericTerm::new(false, Cmp::Eq, u64::from(*p))).collect();
            c.push(Component::DestinationPort(terms));
        }
        if let Some(p) = self.vector.reflector_port() {
            c.push(Component::SourcePort(vec![NumericTerm::new(false, Cmp::Eq, u64::from(p))]));
        }
        use flowspec::component::tcp::{ACK, SYN};
        match self.vector {
            // SYN set, ACK clear: connection attempts, not the replies of established flows.
            Vector::SynFlood => c.push(Component::TcpFlags(vec![
                BitmaskTerm::new(false, false, false, SYN),
                BitmaskTerm::new(true, true, false, ACK),
            ])),
            Vector::AckFlood => c.push(Component::TcpFlags(vec![
                BitmaskTerm::new(false, false, false, ACK),
                BitmaskTerm::new(true, true, false, SYN),
            ])),
            _ => {}
        }
        let afi = if v6 { bgp_core::Afi::Ipv6 } else { bgp_core::Afi::Ipv4 };
        Ok(FlowRule { spec: FlowSpec::new(afi, None, c)?, actions: vec![action.flowspec()] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rule(
        victim: &str,
        v: Vector,
        ports: &[u16],
        allowed: Option<&AllowedPorts>,
        a: MitigationAction,
    ) -> Result<String, NoRule> {
        MatchSpec::new(ip(victim), v, ports, allowed).map(|m| m.rule(a).unwrap().to_string())
    }

    #[test]
    fn vector_aware_rules() {
        let dns = AllowedPorts { udp: vec![53], tcp: vec![53, 443] };
        assert_eq!(
            rule("203.0.113.10", Vector::SynFlood, &[443], Some(&dns), MitigationAction::Discard).unwrap(),
            "dst 203.0.113.10/32 proto =6 dport =443 tcp-flags syn&!ack then discard"
        );
        assert_eq!(
            rule("203.0.113.10", Vector::AckFlood, &[], None, MitigationAction::Discard).unwrap(),
            "dst 203.0.113.10/32 proto =6 tcp-flags ack&!syn then discard"
        );
        assert_eq!(
            rule(
                "203.0.113.10",
                Vector::NtpAmplification,
                &[80],
                Some(&dns),
                MitigationAction::Police { rate_bps: 8_000_000 }
            )
            .unwrap(),
            "dst 203.0.113.10/32 proto =17 sport =123 then rate-bytes 1000000"
        );
        assert_eq!(
            rule("203.0.113.10", Vector::MemcachedAmplification, &[], None, MitigationAction::Discard).unwrap(),
            "dst 203.0.113.10/32 proto =17 sport =11211 then discard"
        );
        assert_eq!(
            rule("2001:db8::10", Vector::IcmpFlood, &[], None, MitigationAction::Discard).unwrap(),
            "dst 2001:db8::10/128 proto =58 then discard"
        );
        assert_eq!(
            rule("203.0.113.10", Vector::UdpFlood, &[53, 9999], Some(&dns), MitigationAction::Discard).unwrap(),
            "dst 203.0.113.10/32 proto =17 dport =53 then discard"
        );
    }

    #[test]
    fn disjoint_ports_build_no_rule() {
        let web = AllowedPorts { udp: vec![], tcp: vec![80, 443] };
        assert_eq!(
            rule("203.0.113.10", Vector::SynFlood, &[22], Some(&web), MitigationAction::Discard),
            Err(NoRule::DisjointPorts { attack: vec![22], allowed: vec![80, 443] })
        );
        assert_eq!(
            rule("203.0.113.10", Vector::Unknown, &[], None, MitigationAction::Discard),
            Err(NoRule::UnknownVector { vector: Vector::Unknown })
        );
    }
}
