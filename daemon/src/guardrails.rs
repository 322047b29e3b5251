//! Guardrails: checks every mitigation passes before it can reach BGP, each with a named refusal.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::inventory::ipnet_str::Net;
use crate::policy::MatchSpec;

/// Limits on each mitigation (the `[guardrails]` section of the config).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Shortest and longest TTL a mitigation may have, in seconds.
    pub min_ttl_seconds: u64,
    /// See `min_ttl_seconds`.
    pub max_ttl_seconds: u64,
    /// IPv4 destination prefix lengths allowed (32 only by default).
    pub dst_prefix_minlen: u8,
    /// See `dst_prefix_minlen`.
    pub dst_prefix_maxlen: u8,
    /// IPv6 destination prefix lengths allowed (128 only by default).
    pub dst_prefix_minlen_v6: u8,
    /// See `dst_prefix_minlen_v6`.
    pub dst_prefix_maxlen_v6: u8,
    /// Most destination ports in one rule.
    pub max_ports: usize,
    /// Stop announcing anything new.
    pub kill_switch: bool,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            min_ttl_seconds: 30,
            max_ttl_seconds: 1800,
            dst_prefix_minlen: 32,
            dst_prefix_maxlen: 32,
            dst_prefix_minlen_v6: 128,
            dst_prefix_maxlen_v6: 128,
            max_ports: 8,
            kill_switch: false,
        }
    }
}

/// Limits on how many mitigations exist (the `[quotas]` section).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Active mitigations per customer.
    pub max_active_per_customer: usize,
    /// Active mitigations per POP.
    pub max_active_per_pop: usize,
    /// Active mitigations in all.
    pub max_active_global: usize,
    /// New mitigations per minute.
    pub max_new_per_minute: usize,
    /// Most rules announced to one router (all active rules of the rule's address family: every
    /// router that negotiated the family receives them all).
    pub max_announcements_per_peer: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            max_active_per_customer: 5,
            max_active_per_pop: 200,
            max_active_global: 500,
            max_new_per_minute: 60,
            max_announcements_per_peer: 500,
        }
    }
}

/// A safelisted prefix, optionally until a time (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SafelistEntry {
    /// The prefix never to mitigate.
    #[serde(with = "net_text")]
    pub prefix: Net,
    /// Expiry (Unix seconds); `None` is permanent.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

mod net_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::inventory::ipnet_str::Net;

    pub(super) fn serialize<S: Serializer>(n: &Net, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(n)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Net, D::Error> {
        Net::deserialize(d)
    }
}

/// A mitigation about to be created.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// What it matches.
    pub spec: &'a MatchSpec,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Requested TTL.
    pub ttl_seconds: u64,
}

/// The current load, for the quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Active mitigations of the victim's customer.
    pub customer_active: usize,
    /// Active mitigations in this POP.
    pub pop_active: usize,
    /// Active mitigations in all.
    pub global_active: usize,
    /// Mitigations created in the last minute.
    pub new_last_minute: usize,
    /// Active rules of the candidate's address family, which every router of that family has.
    pub peer_announced: usize,
}

/// Why a mitigation is refused (HTTP 422 with `guardrail` set to the variant name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "guardrail", rename_all = "snake_case")]
pub enum Refusal {
    /// The victim is safelisted.
    #[error("{victim} is safelisted")]
    Safelisted {
        /// The victim.
        victim: IpAddr,
    },
    /// TTL outside the allowed range.
    #[error("TTL {ttl} s outside {min}..={max} s")]
    Ttl {
        /// Requested TTL.
        ttl: u64,
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
    },
    /// Destination prefix length outside the allowed range.
    #[error("destination prefix length {len} outside {min}..={max}")]
    PrefixLength {
        /// The length.
        len: u8,
        /// Lower bound.
        min: u8,
        /// Upper bound.
        max: u8,
    },
    /// Too many ports.
    #[error("{ports} ports, at most {max}")]
    TooManyPorts {
        /// Ports in the rule.
        ports: usize,
        /// The limit.
        max: usize,
    },
    /// A quota is full.
    #[error("{scope} quota full: {active} of {limit}")]
    Quota {
        /// `customer`, `pop`, `global` or `new_per_minute`.
        scope: &'static str,
        /// Current count.
        active: usize,
        /// The limit.
        limit: usize,
    },
    /// The kill switch is on.
    #[error("the kill switch is on: no new mitigations")]
    KillSwitch,
}

impl Guardrails {
    /// Checks a mitigation; the first failing guardrail is the refusal.
    pub fn check(
        &self,
        quotas: &Quotas,
        c: &Candidate<'_>,
        load: Load,
        safelist: &[SafelistEntry],
        now: u64,
    ) -> Result<(), Refusal> {
        let (m, prefix_len, ttl) = (c.spec, c.prefix_len, c.ttl_seconds);
        if self.kill_switch {
            return Err(Refusal::KillSwitch);
        }
        if safelist.iter().any(|e| e.expires_at.is_none_or(|t| t > now) && e.prefix.contains(m.victim)) {
            return Err(Refusal::Safelisted { victim: m.victim });
        }
        if ttl < self.min_ttl_seconds || ttl > self.max_ttl_seconds {
            return Err(Refusal::Ttl { ttl, min: self.min_ttl_seconds, max: self.max_ttl_seconds });
        }
        let (min, max) = if m.victim.is_ipv6() {
            (self.dst_prefix_minlen_v6, self.dst_prefix_maxlen_v6)
        } else {
            (self.dst_prefix_minlen, self.dst_prefix_maxlen)
        };
        if prefix_len < min || prefix_len > max {
            return Err(Refusal::PrefixLength { len: prefix_len, min, max });
        }
        if m.dst_ports.len() > self.max_ports {
            return Err(Refusal::TooManyPorts { ports: m.dst_ports.len(), max: self.max_ports });
        }
        for (scope, active, limit) in [
            ("customer", load.customer_active, quotas.max_active_per_customer),
            ("pop", load.pop_active, quotas.max_active_per_pop),
            ("global", load.global_active, quotas.max_active_global),
            ("new_per_minute", load.new_last_minute, quotas.max_new_per_minute),
            ("per_peer", load.peer_announced, quotas.max_announcements_per_peer),
        ] {
            if active >= limit {
                return Err(Refusal::Quota { scope, active, limit });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Vector;

    fn spec(victim: &str, ports: usize) -> MatchSpec {
        MatchSpec { victim: victim.parse().unwrap(), vector: Vector::UdpFlood, dst_ports: (1..=ports as u16).collect() }
    }

    fn cand(spec: &MatchSpec, prefix_len: u8, ttl_seconds: u64) -> Candidate<'_> {
        Candidate { spec, prefix_len, ttl_seconds }
    }

    #[test]
    fn each_guardrail_names_its_refusal() {
        let g = Guardrails::default();
        let q = Quotas::default();
        let safe = vec![
            SafelistEntry { prefix: "198.51.100.0/24".parse().unwrap(), expires_at: None },
            SafelistEntry { prefix: "192.0.2.0/24".parse().unwrap(), expires_at: Some(100) },
        ];
        let ok = Load::default();
        assert_eq!(g.check(&q, &cand(&spec("203.0.113.1", 1), 32, 120), ok, &safe, 50), Ok(()));
        assert_eq!(
            g.check(&q, &cand(&spec("198.51.100.9", 1), 32, 120), ok, &safe, 50),
            Err(Refusal::Safelisted { victim: "198.51.100.9".parse().unwrap() })
        );
        // A safelist entry with an expiry protects until then, and no longer after.
        assert_eq!(
            g.check(&q, &cand(&spec("192.0.2.9", 1), 32, 120), ok, &safe, 50).unwrap_err(),
            Refusal::Safelisted { victim: "192.0.2.9".parse().unwrap() }
        );
        assert_eq!(g.check(&q, &cand(&spec("192.0.2.9", 1), 32, 120), ok, &safe, 150), Ok(()));
        assert_eq!(
            g.check(&q, &cand(&spec("203.0.113.1", 1), 32, 5), ok, &safe, 0),
            Err(Refusal::Ttl { ttl: 5, min: 30, max: 1800 })
        );
        assert_eq!(
            g.check(&q, &cand(&spec("203.0.113.1", 1), 24, 120), ok, &safe, 0),
            Err(Refusal::PrefixLength { len: 24, min: 32, max: 32 })
        );
        assert_eq!(
            g.check(&q, &cand(&spec("2001:db8::1", 1), 64, 120), ok, &safe, 0),
            Err(Refusal::PrefixLength { len: 64, min: 128, max: 128 })
        );
        assert_eq!(
            g.check(&q, &cand(&spec("203.0.113.1", 9), 32, 120), ok, &safe, 0),
            Err(Refusal::TooManyPorts { ports: 9, max: 8 })
        );
        let full = Load { customer_active: 5, ..Load::default() };
        assert_eq!(
            g.check(&q, &cand(&spec("203.0.113.1", 1), 32, 120), full, &safe, 0),
            Err(Refusal::Quota { scope: "customer", active: 5, limit: 5 })
        );
        let off = Guardrails { kill_switch: true, ..Guardrails::default() };
        assert_eq!(off.check(&q, &cand(&spec("203.0.113.1", 1), 32, 120), ok, &safe, 0), Err(Refusal::KillSwitch));
        let json = serde_json::to_value(Refusal::Quota { scope: "pop", active: 200, limit: 200 }).unwrap();
        assert_eq!(json["guardrail"], "quota");
        let entry = serde_json::to_string(&safe[0]).unwrap();
        assert_eq!(entry, r#"{"prefix":"198.51.100.0/24","expires_at":null}"#);
    }
}
