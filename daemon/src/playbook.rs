//! Playbooks: which action a vector gets, step by step. The first playbook whose match fits the
//! event is used; step 0 starts the mitigation, and later steps are escalations taken when the
//! attack persists and the detector is confident enough.

use serde::{Deserialize, Serialize};

use crate::policy::{MitigationAction, Vector};

/// What a playbook applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookMatch {
    /// One vector, or
    #[serde(default)]
    pub vector: Option<Vector>,
    /// several.
    #[serde(default)]
    pub vectors: Vec<Vector>,
    /// Only events that name destination ports.
    #[serde(default)]
    pub require_top_ports: bool,
    /// Only events with at least one of these destination ports (empty: any).
    #[serde(default)]
    pub ports: Vec<u16>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// `police` or `discard`.
    pub action: StepAction,
    /// Rate for police, bits per second.
    #[serde(default)]
    pub rate_bps: Option<u64>,
    /// TTL of the mitigation while at this step.
    pub ttl_seconds: u64,
    /// Escalate to this step only when the detector's confidence is at least this.
    #[serde(default)]
    pub require_confidence_at_least: Option<f64>,
    /// Escalate to this step only when the attack has lasted this long.
    #[serde(default)]
    pub require_persistence_seconds: Option<u64>,
}

/// Step actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Rate-limit.
    Police,
    /// Drop.
    Discard,
}

impl Step {
    /// The mitigation action.
    pub fn action(&self) -> MitigationAction {
        match self.action {
            StepAction::Police => MitigationAction::Police { rate_bps: self.rate_bps.unwrap_or(0) },
            StepAction::Discard => MitigationAction::Discard,
        }
    }
}

/// One playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Unique name.
    pub name: String,
    /// What it applies to.
    #[serde(rename = "match")]
    pub matches: PlaybookMatch,
    /// Steps, mildest first.
    pub steps: Vec<Step>,
}

/// The playbook list, in match order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Playbooks {
    /// The playbooks.
    #[serde(default)]
    pub playbooks: Vec<Playbook>,
}

impl Default for Playbooks {
    /// Police UDP and ICMP floods at 5 Mb/s, escalating to discard; discard SYN, ACK and TCP
    /// floods and the amplification vectors. `unknown` has no playbook.
    fn default() -> Self {
        let police_then_discard = |name: &str, v: Vec<Vector>| Playbook {
            name: name.into(),
            matches: PlaybookMatch { vector: None, vectors: v, require_top_ports: false, ports: Vec::new() },
            steps: vec![
                Step {
                    action: StepAction::Police,
                    rate_bps: Some(5_000_000),
                    ttl_seconds: 120,
                    require_confidence_at_least: None,
                    require_persistence_seconds: None,
                },
                Step {
                    action: StepAction::Discard,
                    rate_bps: None,
                    ttl_seconds: 300,
                    require_confidence_at_least: Some(0.7),
                    require_persistence_seconds: Some(120),
                },
            ],
        };
        let discard = |name: &str, v: Vec<Vector>| Playbook {
            name: name.into(),
            matches: PlaybookMatch { vector: None, vectors: v, require_top_ports: false, ports: Vec::new() },
            steps: vec![Step {
                action: StepAction::Discard,
                rate_bps: None,
                ttl_seconds: 300,
                require_confidence_at_least: None,
                require_persistence_seconds: None,
            }],
        };
        Playbooks {
            playbooks: vec![
                police_then_discard("udp_police", vec![Vector::UdpFlood, Vector::IcmpFlood]),
                discard("tcp_discard", vec![Vector::SynFlood, Vector::AckFlood, Vector::TcpFlood]),
                discard(
                    "amplification_discard",
                    vec![
                        Vector::DnsAmplification,
                        Vector::NtpAmplification,
                        Vector::MemcachedAmplification,
                        Vector::SsdpAmplification,
                        Vector::CldapAmplification,
                        Vector::ChargenAmplification,
                    ],
                ),
            ],
        }
    }
}

impl Playbooks {
    /// Reads a playbook file (`[[playbooks]]` tables).
    pub fn load(path: &std::path::Path) -> Result<Playbooks, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        toml::from_str(&text).map_err(|e| e.to_string())
    }

    /// The first playbook for this vector and these ports.
    pub fn select(&self, vector: Vector, ports: &[u16]) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| {
            let m = &p.matches;
            let vector_ok = m.vector == Some(vector) || m.vectors.contains(&vector);
            let ports_ok = (!m.require_top_ports || !ports.is_empty())
                && (m.ports.is_empty() || ports.iter().any(|p| m.ports.contains(p)));
            vector_ok && ports_ok
        })
    }

    /// Every error, each naming the playbook and step.
    pub fn check(&self, min_ttl: u64, max_ttl: u64) -> Vec<String> {
        let mut errors = Vec::new();
        let mut names = std::collections::HashSet::new();
        for p in &self.playbooks {
            if p.name.is_empty() {
                errors.push("a playbook has an empty name".to_string());
            }
            if !names.insert(p.name.as_str()) {
                errors.push(format!("playbook {:?}: name used twice", p.name));
            }
            if p.matches.vector.is_none() && p.matches.vectors.is_empty() {
                errors.push(format!("playbook {:?}: match names no vector", p.name));
            }
            if p.steps.is_empty() {
                errors.push(format!("playbook {:?}: no steps", p.name));
            }
            for (i, s) in p.steps.iter().enumerate() {
                let at = format!("playbook {:?} step {i}", p.name);
                if s.action == StepAction::Police && s.rate_bps.is_none_or(|r| r == 0) {
                    errors.push(format!("{at}: police needs rate_bps above 0"));
                }
                if s.action == StepAction::Discard && s.rate_bps.is_some() {
                    errors.push(format!("{at}: discard takes no rate_bps"));
                }
                if s.ttl_seconds < min_ttl || s.ttl_seconds > max_ttl {
                    errors.push(format!(
                        "{at}: ttl_seconds {} outside the guardrails' {min_ttl}..={max_ttl}",
                        s.ttl_seconds
                    ));
                }
                if i == 0 && (s.require_confidence_at_least.is_some() || s.require_persistence_seconds.is_some()) {
                    errors.push(format!("{at}: the first step cannot have requirements"));
                }
                if s.require_confidence_at_least.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
                    errors.push(format!("{at}: require_confidence_at_least must be between 0 and 1"));
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_playbooks_are_valid_and_cover_every_known_vector() {
        let p = Playbooks::default();
        assert_eq!(p.check(30, 1800), Vec::<String>::new());
        for v in [
            Vector::UdpFlood,
            Vector::SynFlood,
            Vector::AckFlood,
            Vector::TcpFlood,
            Vector::IcmpFlood,
            Vector::DnsAmplification,
            Vector::NtpAmplification,
            Vector::MemcachedAmplification,
            Vector::SsdpAmplification,
            Vector::CldapAmplification,
            Vector::ChargenAmplification,
        ] {
            assert!(p.select(v, &[]).is_some(), "{v:?}");
        }
        assert!(p.select(Vector::Unknown, &[]).is_none());
    }

    #[test]
    fn selection_by_ports_and_errors() {
        let p: Playbooks = toml::from_str(
            r#"
            [[playbooks]]
            name = "dns"
            match = { vector = "udp_flood", ports = [53] }
            steps = [{ action = "discard", ttl_seconds = 60 }]
            [[playbooks]]
            name = "rest"
            match = { vector = "udp_flood", require_top_ports = true }
            steps = [{ action = "police", rate_bps = 1000, ttl_seconds = 60 },
                     { action = "discard", ttl_seconds = 60, require_persistence_seconds = 30 }]
            "#,
        )
        .unwrap();
        assert_eq!(p.select(Vector::UdpFlood, &[53, 80]).unwrap().name, "dns");
        assert_eq!(p.select(Vector::UdpFlood, &[80]).unwrap().name, "rest");
        assert!(p.select(Vector::UdpFlood, &[]).is_none());
        let bad: Playbooks = toml::from_str(
            r#"
            [[playbooks]]
            name = "x"
            match = { vector = "udp_flood" }
            steps = [{ action = "police", ttl_seconds = 5, require_confidence_at_least = 0.5 }]
            "#,
        )
        .unwrap();
        let e = bad.check(30, 1800);
        assert_eq!(e.len(), 3, "{e:?}");
    }
}
