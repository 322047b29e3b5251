//! `prefixd run` configuration: one TOML file (inventory and playbooks inline or in their own
//! files), safe embedded defaults, and errors that name the file, line and key.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::guardrails::{Guardrails, Quotas};
use crate::inventory::Inventory;

/// Dry-run computes everything but announces nothing; enforced announces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Say what would be sent, send nothing (the default).
    #[default]
    DryRun,
    /// Announce to the routers.
    Enforced,
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for Http {
    fn default() -> Self {
        Http { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), max_body_bytes: 1 << 20 }
    }
}

/// One router.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Address.
    pub address: IpAddr,
    /// Its AS.
    pub remote_as: u32,
    /// Port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Our address for the session.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// Only accept its connection.
    #[serde(default)]
    pub passive: bool,
    /// Hold time.
    #[serde(default = "default_hold")]
    pub hold_time: u16,
    /// Families (`ipv4-flowspec`, `ipv6-flowspec`, ...).
    #[serde(default = "default_families")]
    pub families: Vec<String>,
    /// Name of the environment variable holding the TCP-MD5 password (never the password itself).
    #[serde(default)]
    pub md5_password_env: Option<String>,
    /// GTSM hop count.
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// Graceful restart time in seconds (0: off).
    #[serde(default = "default_gr")]
    pub graceful_restart_time: u16,
}

fn default_port() -> u16 {
    179
}
fn default_hold() -> u16 {
    90
}
fn default_gr() -> u16 {
    120
}
fn default_families() -> Vec<String> {
    vec!["ipv4-flowspec".into(), "ipv6-flowspec".into()]
}

/// `[bgp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bgp {
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Our AS.
    pub local_as: u32,
    /// Addresses to accept connections on.
    pub listen: Vec<SocketAddr>,
    /// Routers.
    #[serde(rename = "peer")]
    pub peers: Vec<Peer>,
}

impl Default for Bgp {
    fn default() -> Self {
        Bgp { router_id: Ipv4Addr::new(127, 0, 0, 1), local_as: 65000, listen: Vec::new(), peers: Vec::new() }
    }
}

/// `[timers]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timers {
    /// TTL of a mitigation when the playbook step names none.
    pub default_ttl_seconds: u64,
    /// How often the desired set is compared with each peer's Adj-RIB-Out.
    pub reconciliation_interval_seconds: u64,
    /// Events for the same scope within this window are one attack.
    pub correlation_window_seconds: u64,
    /// After a withdrawal, no new mitigation of the same scope for this long.
    pub quiet_period_seconds: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            default_ttl_seconds: 120,
            reconciliation_interval_seconds: 30,
            correlation_window_seconds: 300,
            quiet_period_seconds: 60,
        }
    }
}

/// `[escalation]`: from police to discard when an attack persists.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    /// On or off.
    pub enabled: bool,
    /// The attack must have lasted this long.
    pub min_persistence_seconds: u64,
    /// And the detector be at least this confident.
    pub min_confidence: f32,
    /// Longest time a mitigation stays escalated.
    pub max_escalated_duration_seconds: u64,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            enabled: true,
            min_persistence_seconds: 120,
            min_confidence: 0.7,
            max_escalated_duration_seconds: 1800,
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// The redb file.
    pub path: PathBuf,
}

impl Default for Storage {
    fn default() -> Self {
        Storage { path: PathBuf::from("./prefixd-data/prefixd.redb") }
    }
}

/// `[safelist]`: prefixes never mitigated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Safelist {
    /// The prefixes.
    pub prefixes: Vec<crate::inventory::ipnet_str::Net>,
}

/// Inventory inline, or the path of its own TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum InventorySource {
    /// A file, relative to the config file.
    File(PathBuf),
    /// Inline.
    Inline(Inventory),
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of this point of presence.
    pub pop: String,
    /// Dry-run (default) or enforced.
    pub mode: Mode,
    /// HTTP API.
    pub http: Http,
    /// BGP.
    pub bgp: Bgp,
    /// Per-mitigation limits.
    pub guardrails: Guardrails,
    /// Counts.
    pub quotas: Quotas,
    /// Timers.
    pub timers: Timers,
    /// Escalation.
    pub escalation: Escalation,
    /// Storage.
    pub storage: Storage,
    /// Safelist.
    pub safelist: Safelist,
    /// Inventory.
    pub inventory: Option<InventorySource>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pop: "default".into(),
            mode: Mode::DryRun,
            http: Http::default(),
            bgp: Bgp::default(),
            guardrails: Guardrails::default(),
            quotas: Quotas::default(),
            timers: Timers::default(),
            escalation: Escalation::default(),
            storage: Storage::default(),
            safelist: Safelist::default(),
            inventory: None,
        }
    }
}

/// A configuration that does not load, with where.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What (the TOML parser's message includes line, column and key).
    pub message: String,
}

impl Config {
    /// Parses and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError { file: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let config: Config = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        config.check().map_err(err)?;
        Ok(config)
    }

    /// Checks values the types cannot: ranges and consistency.
    pub fn check(&self) -> Result<(), String> {
        let g = &self.guardrails;
        if g.min_ttl_seconds == 0 || g.min_ttl_seconds > g.max_ttl_seconds {
            return Err(format!(
                "guardrails: min_ttl_seconds {} must be at least 1 and at most max_ttl_seconds {}",
                g.min_ttl_seconds, g.max_ttl_seconds
            ));
        }
        if g.dst_prefix_minlen > g.dst_prefix_maxlen || g.dst_prefix_maxlen > 32 {
            return Err("guardrails: dst_prefix_minlen..dst_prefix_maxlen must be within 0..=32".into());
        }
        if g.dst_prefix_minlen_v6 > g.dst_prefix_maxlen_v6 || g.dst_prefix_maxlen_v6 > 128 {
            return Err("guardrails: dst_prefix_minlen_v6..dst_prefix_maxlen_v6 must be within 0..=128".into());
        }
        let t = &self.timers;
        if t.default_ttl_seconds < g.min_ttl_seconds || t.default_ttl_seconds > g.max_ttl_seconds {
            return Err(format!(
                "timers: default_ttl_seconds {} outside the guardrails' TTL range",
                t.default_ttl_seconds
            ));
        }
        if t.reconciliation_interval_seconds == 0 {
            return Err("timers: reconciliation_interval_seconds must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.escalation.min_confidence) {
            return Err("escalation: min_confidence must be between 0 and 1".into());
        }
        for p in &self.bgp.peers {
            if p.hold_time == 1 || p.hold_time == 2 {
                return Err(format!("bgp.peer {}: hold_time must be 0 or at least 3 (RFC 4271 §4.2)", p.address));
            }
            for f in &p.families {
                f.parse::<bgp_core::Family>().map_err(|_| format!("bgp.peer {}: unknown family {f:?}", p.address))?;
            }
            if p.graceful_restart_time > 4095 {
                return Err(format!("bgp.peer {}: graceful_restart_time is at most 4095 (RFC 4724 §3)", p.address));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_are_safe() {
        let c = Config::default();
        assert_eq!(c.mode, Mode::DryRun);
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.storage.path, PathBuf::from("./prefixd-data/prefixd.redb"));
        assert!(c.bgp.peers.is_empty());
        assert_eq!(c.check(), Ok(()));
        // An empty file is the defaults.
        assert_eq!(toml::from_str::<Config>("").unwrap(), c);
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = toml::from_str::<Config>("pop = \"fra1\"\n[guardrails]\nmax_ports = 8\nmax_portz = 9\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4") && e.contains("max_portz"), "{e}");
        let e = toml::from_str::<Config>("mode = \"enforce\"\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("enforced"), "{e}");
        let e = toml::from_str::<Config>("[timers]\ndefault_ttl_seconds = -5\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let c: Config = toml::from_str("[guardrails]\nmin_ttl_seconds = 600\nmax_ttl_seconds = 60\n").unwrap();
        assert!(c.check().unwrap_err().contains("min_ttl_seconds"));
        let c: Config = toml::from_str(
            "[[bgp.peer]]\naddress = \"192.0.2.1\"\nremote_as = 65001\nfamilies = [\"ipv4-flowspek\"]\n",
        )
        .unwrap();
        assert!(c.check().unwrap_err().contains("ipv4-flowspek"));
    }
}
