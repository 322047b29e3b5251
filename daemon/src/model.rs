//! The records the daemon keeps and serves: attack events, mitigations, safelist entries and audit
//! records. Their JSON form is the `/v1` API of the earlier prefixd (same field names and status
//! strings) with additions; the store keeps the same JSON behind a record-format version byte.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::policy::Vector;

/// Milliseconds since the Unix epoch, the daemon's one clock unit.
pub type Millis = u64;

/// Now, in [`Millis`].
pub fn now_ms() -> Millis {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// RFC 3339 text for a [`Millis`] timestamp (UTC, millisecond precision).
pub fn rfc3339(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses RFC 3339 to [`Millis`]; `None` for text that is not RFC 3339 or lies before 1970.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Serde adapter: [`Millis`] as RFC 3339 text.
pub mod ts {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Millis;

    /// Writes RFC 3339.
    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*ms))
    }

    /// Reads RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_rfc3339(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp")))
    }

    /// The same for `Option<Millis>`.
    pub mod opt {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::super::Millis;

        /// Writes RFC 3339 or null.
        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_str(&super::super::rfc3339(*ms)),
                None => s.serialize_none(),
            }
        }

        /// Reads RFC 3339 or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) => super::super::parse_rfc3339(&s)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp"))),
            }
        }
    }
}

/// Ban (start mitigating) or unban (the attack is over).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// Start or extend a mitigation.
    #[default]
    Ban,
    /// Withdraw the mitigation the ban with the same `event_id` started.
    Unban,
}

/// `POST /v1/events` body: the earlier prefixd's `AttackEventInput`, plus `ttl_seconds`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// When the detector saw the attack (RFC 3339).
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Millis,
    /// The detector (`fastnetmon`, `alertmanager`, ...).
    pub source: String,
    /// The attacked address.
    #[schema(value_type = String)]
    pub victim_ip: IpAddr,
    /// The attack vector.
    pub vector: Vector,
    /// The detector's own id of the attack; an unban names the ban's.
    #[serde(default)]
    pub event_id: Option<String>,
    /// Bits per second seen.
    #[serde(default)]
    pub bps: Option<u64>,
    /// Packets per second seen.
    #[serde(default)]
    pub pps: Option<u64>,
    /// Detector confidence, 0 to 1.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Destination ports of the attack.
    #[serde(default)]
    pub top_dst_ports: Vec<u16>,
    /// Ban (default) or unban.
    #[serde(default)]
    pub action: EventAction,
    /// Override of the playbook step's TTL (still within the guardrails).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Anything else the detector wants kept.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub raw_details: Option<serde_json::Value>,
}

/// Longest accepted `source`, `event_id`, reason and similar free text.
pub const MAX_TEXT: usize = 256;

impl EventInput {
    /// Checks what the types cannot: lengths, ranges, finite numbers.
    pub fn check(&self) -> Result<(), String> {
        if self.source.is_empty() || self.source.len() > MAX_TEXT {
            return Err(format!("source must be 1 to {MAX_TEXT} bytes"));
        }
        // Shown in terminals (prefixdctl), logs and metric labels: no control characters.
        if self.source.chars().any(char::is_control) {
            return Err("source must not contain control characters".into());
        }
        if let Some(id) = &self.event_id {
            if id.is_empty() || id.len() > MAX_TEXT {
                return Err(format!("event_id must be 1 to {MAX_TEXT} bytes"));
            }
            if id.chars().any(char::is_control) {
                return Err("event_id must not contain control characters".into());
            }
        }
        if let Some(c) = self.confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err("confidence must be between 0 and 1".into());
            }
        }
        if self.top_dst_ports.len() > 1024 {
            return Err("top_dst_ports: at most 1024 entries".into());
        }
        if self.ttl_seconds == Some(0) {
            return Err("ttl_seconds must be at least 1".into());
        }
        if self.victim_ip.is_unspecified() || self.victim_ip.is_multicast() {
            return Err(format!("victim_ip {} is not a unicast address", self.victim_ip));
        }
        Ok(())
    }
}

/// A stored event: the input as received, and what the daemon did with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Our id (UUID v7: sorts by time).
    pub event_id: String,
    /// The detector's id.
    pub external_event_id: Option<String>,
    /// The detector.
    pub source: String,
    /// When the detector saw it.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub event_timestamp: Millis,
    /// When we took it.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub ingested_at: Millis,
    /// The attacked address.
    #[schema(value_type = String)]
    pub victim_ip: IpAddr,
    /// The vector.
    pub vector: Vector,
    /// IP protocol the vector implies.
    pub protocol: Option<u8>,
    /// Bits per second.
    pub bps: Option<u64>,
    /// Packets per second.
    pub pps: Option<u64>,
    /// Destination ports.
    pub top_dst_ports: Vec<u16>,
    /// Confidence.
    pub confidence: Option<f64>,
    /// Ban or unban.
    pub action: EventAction,
    /// TTL override.
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Detector details.
    #[schema(value_type = Option<Object>)]
    pub raw_details: Option<serde_json::Value>,
    /// The answer it got (`accepted`, `extended`, ...).
    pub status: String,
    /// The mitigation it started, extended or withdrew.
    pub mitigation_id: Option<String>,
}

/// A mitigation's life: active, perhaps escalated, then expired or withdrawn. (The earlier
/// prefixd's `pending` and `rejected` are never stored: a refused mitigation is an event with
/// status `rejected`, and dry-run mitigations are `active` in a daemon that announces nothing.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MitigationStatus {
    /// Announced (or, in dry-run, would be).
    Active,
    /// Announced with a later, harsher playbook step.
    Escalated,
    /// Its TTL ran out.
    Expired,
    /// Withdrawn by an unban, an operator, or a replacing mitigation.
    Withdrawn,
}

impl MitigationStatus {
    /// Active or escalated: in the desired set.
    pub fn is_active(self) -> bool {
        matches!(self, MitigationStatus::Active | MitigationStatus::Escalated)
    }

    /// The status string.
    pub fn as_str(self) -> &'static str {
        match self {
            MitigationStatus::Active => "active",
            MitigationStatus::Escalated => "escalated",
            MitigationStatus::Expired => "expired",
            MitigationStatus::Withdrawn => "withdrawn",
        }
    }
}

impl std::str::FromStr for MitigationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| format!("unknown status {s:?}"))
    }
}

/// Police (rate-limit) or discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    /// Traffic-rate with a rate.
    Police,
    /// Traffic-rate 0.
    Discard,
}

/// One mitigation: the earlier prefixd's object plus the rule text, NLRI and escalation state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mitigation {
    /// UUID v7.
    pub mitigation_id: String,
    /// Hex digest of the scope (victim, protocol, vector): one active mitigation per scope and ports.
    pub scope_hash: String,
    /// Life-cycle state.
    pub status: MitigationStatus,
    /// Owner, from the inventory (`null` for manual mitigations of unknown addresses).
    pub customer_id: Option<String>,
    /// Service, when the victim is a known asset.
    pub service_id: Option<String>,
    /// Point of presence.
    pub pop: String,
    /// The attacked address.
    #[schema(value_type = String)]
    pub victim_ip: IpAddr,
    /// The vector.
    pub vector: Vector,
    /// Police or discard.
    pub action_type: ActionType,
    /// Rate for police, in bits per second.
    pub rate_bps: Option<u64>,
    /// `victim/32` or `victim/128`.
    pub dst_prefix: String,
    /// IP protocol.
    pub protocol: Option<u8>,
    /// Destination ports matched (empty: all).
    pub dst_ports: Vec<u16>,
    /// The FlowSpec rule, in prefixd's text syntax.
    pub rule: String,
    /// The FlowSpec NLRI, hex.
    pub nlri: String,
    /// Playbook that chose the action (`manual` for operator-made ones).
    pub playbook: String,
    /// Current playbook step (0-based).
    pub step: usize,
    /// Creation.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    /// Last change.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
    /// When the TTL runs out.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Millis,
    /// When it was withdrawn or expired.
    #[serde(with = "ts::opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub withdrawn_at: Option<Millis>,
    /// When the attack it answers started (the first event of the scope).
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub attack_started_at: Millis,
    /// When it was escalated, while it is.
    #[serde(with = "ts::opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<Millis>,
    /// The event that created it.
    pub triggering_event_id: Option<String>,
    /// The latest event for it.
    pub last_event_id: Option<String>,
    /// Events that fed it.
    pub event_count: u64,
    /// Why it ended, or the operator's reason.
    pub reason: Option<String>,
}

/// A safelist entry: prefixes never mitigated, optionally until a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SafelistRecord {
    /// The prefix (`203.0.113.0/24`).
    pub prefix: String,
    /// When it was added.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Millis,
    /// Who added it.
    pub added_by: String,
    /// Why.
    pub reason: Option<String>,
    /// When it stops applying.
    #[serde(with = "ts::opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Millis>,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Sequence number.
    pub audit_id: u64,
    /// When.
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Millis,
    /// Record format.
    pub schema_version: u32,
    /// `system`, `detector` or `operator`.
    pub actor_type: String,
    /// The authenticated identity.
    pub actor_id: Option<String>,
    /// What happened (`event_accepted`, `event_rejected`, `mitigation_created`, ...).
    pub action: String,
    /// `event`, `mitigation`, `safelist`, `config`.
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Who is asking: from authentication, never from a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `system`, `detector` or `operator`.
    pub kind: &'static str,
    /// The token's name, or `anonymous`.
    pub id: String,
}

impl Actor {
    /// The daemon itself (expiry, reconciliation).
    pub fn system() -> Actor {
        Actor { kind: "system", id: "prefixd".into() }
    }
}
