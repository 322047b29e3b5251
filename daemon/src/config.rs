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

/// The longest duration any setting may have: ten years, in seconds.
pub const MAX_DURATION_SECONDS: u64 = 10 * 365 * 86_400;

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Longest time a request may take, in seconds.
    pub request_timeout_seconds: u64,
    /// Seconds a client has to send a request's headers; an idle keep-alive connection is closed
    /// after as long.
    pub header_timeout_seconds: u64,
    /// Connections open at once; beyond, new ones wait in the listener's backlog.
    pub max_connections: usize,
    /// Most events in one `POST /v1/events/batch`.
    pub max_batch_events: usize,
    /// Authentication.
    pub auth: Auth,
    /// Ingest rate limits.
    pub rate_limit: RateLimit,
    /// HTTPS (and, with `client_ca_path`, mutual TLS).
    pub tls: Option<Tls>,
}

/// `[http.tls]`: serve the API over TLS (rustls).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain, the server's first.
    pub cert_path: PathBuf,
    /// PEM private key.
    pub key_path: PathBuf,
    /// PEM CA certificates: clients must present a certificate they signed (mutual TLS).
    #[serde(default)]
    pub client_ca_path: Option<PathBuf>,
}

/// `[http.rate_limit]`: token buckets on event ingest (an event in a batch counts as one), per
/// client identity (the token's name) and for all clients together.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Sustained events per second per client.
    pub events_per_second: f64,
    /// Events a client may send at once.
    pub burst: f64,
    /// Sustained events per second for all clients.
    pub global_events_per_second: f64,
    /// Events all clients together may send at once.
    pub global_burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            events_per_second: 1000.0,
            burst: 5000.0,
            global_events_per_second: 100_000.0,
            global_burst: 200_000.0,
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1 << 20,
            request_timeout_seconds: 30,
            header_timeout_seconds: 30,
            max_connections: 512,
            max_batch_events: 1000,
            auth: Auth::default(),
            rate_limit: RateLimit::default(),
            tls: None,
        }
    }
}

/// How API clients authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Anyone who can connect (refused on anything but a loopback listener).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The client certificate of a mutual-TLS connection, mapped by `[[http.auth.clients]]`.
    Mtls,
}

/// `[http.auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// `none` (loopback only) or `bearer`.
    pub mode: AuthMode,
    /// With no `[[http.auth.tokens]]`: the environment variable holding the one token, which then
    /// has the `admin` role (the earlier prefixd's single token).
    pub bearer_token_env: String,
    /// Named tokens, each with a role.
    pub tokens: Vec<TokenConfig>,
    /// mTLS: client certificate names (subject CN or a DNS / URI SAN) and their roles.
    pub clients: Vec<ClientConfig>,
}

/// One `[[http.auth.clients]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// A name the certificate carries: subject common name, DNS or URI subject alternative name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            mode: AuthMode::None,
            bearer_token_env: "PREFIXD_API_TOKEN".into(),
            tokens: Vec::new(),
            clients: Vec::new(),
        }
    }
}

/// What a client may do. `viewer` reads; `detector` posts events only; `operator` reads, posts
/// events and changes mitigations and the safelist; `admin` also changes the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Post events only.
    Detector,
    /// Read, post events, change mitigations and the safelist.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Detector => "detector",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// One `[[http.auth.tokens]]`: a named bearer token with a role. The secret comes from an
/// environment variable or a file, never from the config file itself, and is never logged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The client's name (the audit trail's actor).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the token (surrounding white space ignored).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
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
    /// Seconds between connection attempts (RFC 4271 ConnectRetryTimer).
    #[serde(default = "default_connect_retry")]
    pub connect_retry_seconds: u64,
    /// Offer RFC 8654 extended messages.
    #[serde(default = "default_true")]
    pub extended_message: bool,
    /// Most routes accepted from this router (routers rarely send FlowSpec to us; 0: no limit).
    #[serde(default)]
    pub max_prefix: usize,
    /// What exceeding `max_prefix` does: `warn`, or `teardown` (Cease, RFC 4486 subcode 1).
    #[serde(default)]
    pub max_prefix_action: MaxPrefixActionConfig,
    /// After a max-prefix teardown, try again after this many seconds (0: stay down).
    #[serde(default)]
    pub max_prefix_restart_seconds: u64,
}

/// `max_prefix_action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixActionConfig {
    /// Log and keep the session.
    #[default]
    Warn,
    /// Close the session with Cease / Maximum Number of Prefixes Reached.
    Teardown,
}

fn default_connect_retry() -> u64 {
    5
}
fn default_true() -> bool {
    true
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
    /// On shutdown, keep the rules on graceful-restart routers (`keep-routes`, the default) or
    /// withdraw them (`withdraw`).
    pub shutdown: ShutdownMode,
}

/// What a stopping daemon does to its rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownMode {
    /// Close without a NOTIFICATION: graceful-restart routers keep the rules until we are back.
    #[default]
    KeepRoutes,
    /// Cease with Administrative Shutdown: routers withdraw the rules.
    Withdraw,
}

impl Default for Bgp {
    fn default() -> Self {
        Bgp {
            router_id: Ipv4Addr::new(127, 0, 0, 1),
            local_as: 65000,
            listen: Vec::new(),
            peers: Vec::new(),
            shutdown: ShutdownMode::KeepRoutes,
        }
    }
}

/// `[timers]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timers {
    /// TTL given to a mitigation whose playbook no longer exists (after a playbook change) when
    /// an event extends it.
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
    pub min_confidence: f64,
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
    /// The redb file; relative to the config file's directory (to the working directory for the
    /// embedded defaults).
    pub path: PathBuf,
    /// Page cache of the store, in MiB.
    pub cache_mib: usize,
    /// Append-only audit log, one JSON line per audit record (default: `audit.jsonl` beside the
    /// store file; relative: like `path`).
    pub audit_log: Option<PathBuf>,
}

impl Default for Storage {
    fn default() -> Self {
        Storage { path: PathBuf::from("./prefixd-data/prefixd.redb"), cache_mib: 64, audit_log: None }
    }
}

impl Storage {
    /// Where the audit log goes.
    pub fn audit_log_path(&self) -> PathBuf {
        self.audit_log.clone().unwrap_or_else(|| self.path.with_file_name("audit.jsonl"))
    }
}

/// `[safelist]`: prefixes never mitigated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Safelist {
    /// The prefixes.
    pub prefixes: Vec<crate::inventory::ipnet_str::Net>,
}

/// Playbooks inline (`[[playbooks]]`), or the path of their own TOML file.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaybooksSource {
    /// A file, relative to the config file, holding `[[playbooks]]`.
    File(PathBuf),
    /// Inline.
    Inline(Vec<crate::playbook::Playbook>),
}

/// Inventory inline, or the path of its own TOML file.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Playbooks (the built-in set when absent).
    pub playbooks: Option<PlaybooksSource>,
    /// Alert webhooks.
    pub alerts: Alerts,
}

/// `[alerts]`: webhooks for mitigation and peer changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// Alerts waiting to be sent, at most; more are dropped (and counted).
    pub queue: usize,
    /// Tries per alert and destination (retries on connection errors and 5xx, with backoff).
    pub max_attempts: u32,
    /// First retry delay in milliseconds; doubles each time.
    pub retry_base_ms: u64,
    /// Allow http:// and destinations on loopback or private addresses (labs and tests only: an
    /// alert URL otherwise cannot point the daemon at internal services).
    pub allow_private_destinations: bool,
    /// The destinations.
    #[serde(rename = "destination")]
    pub destinations: Vec<AlertDestination>,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            queue: 1000,
            max_attempts: 4,
            retry_base_ms: 500,
            allow_private_destinations: false,
            destinations: Vec::new(),
        }
    }
}

/// Where alerts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Slack incoming webhook.
    Slack,
    /// PagerDuty Events API v2 (trigger, resolve by mitigation id).
    Pagerduty,
    /// Opsgenie Alert API (create, close by alias).
    Opsgenie,
    /// Microsoft Teams incoming webhook.
    Teams,
    /// Discord webhook.
    Discord,
    /// Any JSON receiver, signed with HMAC-SHA256.
    Generic,
}

/// One `[[alerts.destination]]`. Secrets (webhook URLs with tokens, routing keys, API keys, HMAC
/// secrets) come from environment variables and are never shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDestination {
    /// A name for logs and metrics (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Which service.
    #[serde(rename = "type")]
    pub kind: AlertKind,
    /// The endpoint, when it is not secret (PagerDuty, Opsgenie, generic receivers).
    #[serde(default)]
    pub url: Option<String>,
    /// Environment variable holding the endpoint (Slack, Teams and Discord URLs carry a token).
    #[serde(default)]
    pub url_env: Option<String>,
    /// Environment variable holding the PagerDuty routing key, the Opsgenie API key, or the
    /// generic receiver's HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Which changes (default: mitigation_created, mitigation_escalated, mitigation_withdrawn,
    /// mitigation_expired, peer_down, peer_up).
    #[serde(default)]
    pub events: Vec<String>,
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
            playbooks: None,
            alerts: Alerts::default(),
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

// Hand-written rather than `#[serde(untagged)]`: an untagged enum reports "did not match any
// variant" for a mistake inside an inline table; these pass the inline form straight to the
// inner type, so the error names its line and key.
impl<'de> Deserialize<'de> for InventorySource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = InventorySource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a file name or an inventory table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(InventorySource::File(PathBuf::from(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Inventory::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(InventorySource::Inline)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for PlaybooksSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PlaybooksSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a file name or an array of [[playbooks]] tables")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PlaybooksSource::File(PathBuf::from(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<crate::playbook::Playbook>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(PlaybooksSource::Inline)
            }
        }
        d.deserialize_any(V)
    }
}

/// A configuration with its inventory and playbooks read from wherever they live.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The inventory.
    pub inventory: Inventory,
    /// The playbooks.
    pub playbooks: crate::playbook::Playbooks,
    /// Where the playbooks live when they have their own file (`PUT /v1/config/playbooks` writes it).
    pub playbooks_file: Option<PathBuf>,
}

impl Config {
    /// The configuration `prefixd run` uses without `--config`: the defaults, with an example
    /// inventory that owns only the documentation prefixes (RFC 5737 203.0.113.0/24, RFC 3849
    /// 2001:db8::/32) so that a first event shows the rule it would announce, in dry-run.
    pub fn embedded() -> Loaded {
        let inventory: Inventory = toml::from_str(
            r#"
            [[customers]]
            customer_id = "example"
            name = "Documentation prefixes (RFC 5737, RFC 3849)"
            prefixes = ["203.0.113.0/24", "2001:db8::/32"]
            "#,
        )
        .unwrap_or_default();
        let config = Config { pop: "local".into(), ..Config::default() };
        Loaded { config, inventory, playbooks: crate::playbook::Playbooks::default(), playbooks_file: None }
    }

    /// Parses and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Ok(Config::load_all(path)?.config)
    }

    /// Parses and checks a configuration file with its inventory and playbooks.
    pub fn load_all(path: &Path) -> Result<Loaded, ConfigError> {
        let err = |file: &Path, message: String| ConfigError { file: file.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(path, e.to_string()))?;
        let config: Config = toml::from_str(&text).map_err(|e| err(path, e.to_string()))?;
        config.check().map_err(|e| {
            // The message starts with the key's path: name its line too.
            let key = e.split(": ").next().unwrap_or("");
            match locate(&text, key) {
                Some(line) => err(path, format!("line {line}, {e}")),
                None => err(path, e),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        // Relative paths in a config file are relative to the file, like inventory and playbooks.
        let mut config = config;
        if config.storage.path.is_relative() {
            config.storage.path = base.join(&config.storage.path);
        }
        if let Some(a) = config.storage.audit_log.as_mut().filter(|a| a.is_relative()) {
            *a = base.join(&*a);
        }
        if let Some(t) = config.http.tls.as_mut() {
            for p in [Some(&mut t.cert_path), Some(&mut t.key_path), t.client_ca_path.as_mut()].into_iter().flatten() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        for t in &mut config.http.auth.tokens {
            if let Some(f) = t.token_file.as_mut().filter(|f| f.is_relative()) {
                *f = base.join(&*f);
            }
        }
        let inventory = match &config.inventory {
            None => Inventory::default(),
            Some(InventorySource::Inline(i)) => i.clone(),
            Some(InventorySource::File(f)) => {
                let f = base.join(f);
                let text = std::fs::read_to_string(&f).map_err(|e| err(&f, e.to_string()))?;
                toml::from_str(&text).map_err(|e| err(&f, e.to_string()))?
            }
        };
        let (playbooks, playbooks_file) = match &config.playbooks {
            None => (crate::playbook::Playbooks::default(), None),
            Some(PlaybooksSource::Inline(p)) => (crate::playbook::Playbooks { playbooks: p.clone() }, None),
            Some(PlaybooksSource::File(f)) => {
                let f = base.join(f);
                (crate::playbook::Playbooks::load(&f).map_err(|e| err(&f, e))?, Some(f))
            }
        };
        let g = &config.guardrails;
        let errors = playbooks.check(g.min_ttl_seconds, g.max_ttl_seconds);
        if !errors.is_empty() {
            let f = playbooks_file.as_deref().unwrap_or(path);
            return Err(err(f, errors.join("; ")));
        }
        Ok(Loaded { config, inventory, playbooks, playbooks_file })
    }

    /// Checks values the types cannot: ranges and consistency.
    pub fn check(&self) -> Result<(), String> {
        let g = &self.guardrails;
        if g.min_ttl_seconds == 0 || g.min_ttl_seconds > g.max_ttl_seconds {
            return Err(format!(
                "guardrails.min_ttl_seconds: {} must be at least 1 and at most max_ttl_seconds {}",
                g.min_ttl_seconds, g.max_ttl_seconds
            ));
        }
        if g.dst_prefix_minlen > g.dst_prefix_maxlen || g.dst_prefix_maxlen > 32 {
            return Err(
                "guardrails.dst_prefix_maxlen: dst_prefix_minlen..dst_prefix_maxlen must be within 0..=32".into()
            );
        }
        if g.dst_prefix_minlen_v6 > g.dst_prefix_maxlen_v6 || g.dst_prefix_maxlen_v6 > 128 {
            return Err(
                "guardrails.dst_prefix_maxlen_v6: dst_prefix_minlen_v6..dst_prefix_maxlen_v6 must be within 0..=128"
                    .into(),
            );
        }
        let t = &self.timers;
        if t.default_ttl_seconds < g.min_ttl_seconds || t.default_ttl_seconds > g.max_ttl_seconds {
            return Err(format!(
                "timers.default_ttl_seconds: {} outside the guardrails' TTL range",
                t.default_ttl_seconds
            ));
        }
        if self.http.max_body_bytes < 1024 || self.http.max_body_bytes > 64 << 20 {
            return Err("http.max_body_bytes: must be between 1024 and 67108864".into());
        }
        if self.http.max_batch_events == 0 || self.http.max_batch_events > 100_000 {
            return Err("http.max_batch_events: must be between 1 and 100000".into());
        }
        let r = &self.http.rate_limit;
        if !(r.events_per_second > 0.0 && r.global_events_per_second > 0.0 && r.burst >= 1.0 && r.global_burst >= 1.0)
            || [r.events_per_second, r.burst, r.global_events_per_second, r.global_burst].iter().any(|v| !v.is_finite())
        {
            return Err("http.rate_limit: rates must be above 0 and bursts at least 1".into());
        }
        // A batch costs one token per event: a bucket smaller than the largest batch would answer
        // 429 to that batch forever, however long the client waits.
        let largest = self.http.max_batch_events as f64;
        if r.burst < largest || r.global_burst < largest {
            return Err(format!(
                "http.rate_limit: burst ({}) and global_burst ({}) must be at least http.max_batch_events ({}), \
                 or the largest batch could never pass",
                r.burst, r.global_burst, self.http.max_batch_events
            ));
        }
        if self.http.request_timeout_seconds == 0 {
            return Err("http.request_timeout_seconds: must be at least 1".into());
        }
        if self.http.header_timeout_seconds == 0 || self.http.header_timeout_seconds > 3600 {
            return Err("http.header_timeout_seconds: must be between 1 and 3600".into());
        }
        if self.http.max_connections == 0 || self.http.max_connections > 1_000_000 {
            return Err("http.max_connections: must be between 1 and 1000000".into());
        }
        let mut names = std::collections::HashSet::new();
        for t in &self.http.auth.tokens {
            if t.name.is_empty() || !names.insert(t.name.as_str()) {
                return Err(format!("http.auth.tokens: token name {:?} is empty or used twice", t.name));
            }
            if t.token_env.is_some() == t.token_file.is_some() {
                return Err(format!(
                    "http.auth.tokens: token {:?} needs exactly one of token_env and token_file",
                    t.name
                ));
            }
        }
        if self.http.auth.mode == AuthMode::Mtls && self.http.tls.as_ref().is_none_or(|t| t.client_ca_path.is_none()) {
            return Err("http.auth.mode: \"mtls\" needs [http.tls] with client_ca_path".into());
        }
        if self.http.auth.mode == AuthMode::Mtls && self.http.auth.clients.is_empty() {
            return Err("http.auth.mode: \"mtls\" needs at least one [[http.auth.clients]]".into());
        }
        if self.http.auth.mode == AuthMode::None && !self.http.listen.ip().is_loopback() {
            return Err(format!(
                "http.listen: auth mode \"none\" is only allowed on a loopback address, not {}",
                self.http.listen
            ));
        }
        if self.alerts.queue == 0 || self.alerts.max_attempts == 0 {
            return Err("alerts.queue: queue and max_attempts must be at least 1".into());
        }
        for d in &self.alerts.destinations {
            if d.url.is_some() == d.url_env.is_some() {
                return Err(format!("alerts.destination: {:?} needs exactly one of url and url_env", d.kind));
            }
            if matches!(d.kind, AlertKind::Pagerduty | AlertKind::Opsgenie) && d.secret_env.is_none() {
                return Err(format!("alerts.destination: {:?} needs secret_env (routing key or API key)", d.kind));
            }
        }
        if self.storage.cache_mib == 0 || self.storage.cache_mib > 65536 {
            return Err("storage.cache_mib: must be between 1 and 65536".into());
        }
        if self.pop.is_empty() {
            return Err("pop: must not be empty".into());
        }
        // Durations become milliseconds added to the clock: bound them so nothing wraps.
        for (key, v) in [
            ("guardrails.max_ttl_seconds", g.max_ttl_seconds),
            ("timers.correlation_window_seconds", t.correlation_window_seconds),
            ("timers.quiet_period_seconds", t.quiet_period_seconds),
            ("escalation.min_persistence_seconds", self.escalation.min_persistence_seconds),
            ("escalation.max_escalated_duration_seconds", self.escalation.max_escalated_duration_seconds),
        ] {
            if v > MAX_DURATION_SECONDS {
                return Err(format!("{key}: {v} is more than {MAX_DURATION_SECONDS} (ten years)"));
            }
        }
        if t.reconciliation_interval_seconds == 0 || t.reconciliation_interval_seconds > 86_400 {
            return Err("timers.reconciliation_interval_seconds: must be between 1 and 86400".into());
        }
        if !(0.0..=1.0).contains(&self.escalation.min_confidence) {
            return Err("escalation.min_confidence: must be between 0 and 1".into());
        }
        for p in &self.bgp.peers {
            if p.hold_time == 1 || p.hold_time == 2 {
                return Err(format!("bgp.peer[{}].hold_time: must be 0 or at least 3 (RFC 4271 §4.2)", p.address));
            }
            for f in &p.families {
                f.parse::<bgp_core::Family>()
                    .map_err(|_| format!("bgp.peer[{}].families: unknown family {f:?}", p.address))?;
            }
            if p.connect_retry_seconds == 0 {
                return Err(format!("bgp.peer[{}].connect_retry_seconds: must be at least 1", p.address));
            }
            if p.graceful_restart_time > 4095 {
                return Err(format!("bgp.peer[{}].graceful_restart_time: at most 4095 (RFC 4724 §3)", p.address));
            }
        }
        Ok(())
    }
}

/// The 1-based line of a key given as `section.key` or `bgp.peer[ADDRESS].key`, found by reading
/// the TOML text (for errors found after parsing, when spans are gone).
fn locate(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let key_is = |t: &str, key: &str| t.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='));
    if let Some(rest) = path.strip_prefix("bgp.peer[") {
        let (addr, key) = rest.split_once("].")?;
        let quoted = format!("\"{addr}\"");
        let at = lines.iter().position(|l| key_is(l.trim(), "address") && l.contains(&quoted))?;
        let header = (0..=at).rev().find(|i| lines.get(*i).is_some_and(|l| l.trim().starts_with("[[")))?;
        for (i, l) in lines.iter().enumerate().skip(header + 1) {
            let t = l.trim();
            if t.starts_with('[') {
                break;
            }
            if key_is(t, key) {
                return Some(i + 1);
            }
        }
        return Some(at + 1);
    }
    let (section, key) = path.rsplit_once('.').unwrap_or(("", path));
    let mut inside = section.is_empty();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            inside = t.trim_matches(|c| c == '[' || c == ']').trim() == section;
            continue;
        }
        if inside && key_is(t, key) {
            return Some(i + 1);
        }
    }
    None
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
        let c: Config = toml::from_str("[http]\nmax_batch_events = 2000\n[http.rate_limit]\nburst = 1000\n").unwrap();
        assert!(c.check().unwrap_err().contains("never pass"));
        let c: Config = toml::from_str("[guardrails]\nmax_ttl_seconds = 9223372036854775807\n").unwrap();
        assert!(c.check().unwrap_err().contains("guardrails.max_ttl_seconds"));
        let c: Config = toml::from_str("[timers]\nreconciliation_interval_seconds = 9999999999\n").unwrap();
        assert!(c.check().unwrap_err().contains("reconciliation_interval_seconds"));
        let c: Config = toml::from_str("[http]\nmax_batch_events = 1000\n[http.rate_limit]\nburst = 1000\n").unwrap();
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn inline_inventory_and_playbook_errors_name_line_and_key() {
        let e = toml::from_str::<Config>(
            "[[inventory.customers]]\ncustomer_id = \"c\"\nprefixes = [\"203.0.113.0/24\"]\nservicez = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4") && e.contains("servicez"), "{e}");
        let e = toml::from_str::<Config>(
            "[[playbooks]]\nname = \"p\"\nmatch = { vector = \"udp_flood\" }\nsteps = [{ action = \"polize\", ttl_seconds = 60 }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4") && e.contains("polize"), "{e}");
        let c: Config = toml::from_str("inventory = \"inv.toml\"\nplaybooks = \"pb.toml\"\n").unwrap();
        assert_eq!(c.inventory, Some(InventorySource::File("inv.toml".into())));
        assert_eq!(c.playbooks, Some(PlaybooksSource::File("pb.toml".into())));
    }

    #[test]
    fn value_errors_name_the_line_too() {
        let dir = std::env::temp_dir().join(format!("prefixd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(&f, "pop = \"x\"\n\n[guardrails]\nmax_ports = 8\nmin_ttl_seconds = 600\nmax_ttl_seconds = 60\n")
            .unwrap();
        let e = Config::load(&f).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("line 5") && e.contains("guardrails.min_ttl_seconds"), "{e}");
        std::fs::write(
            &f,
            "[[bgp.peer]]\naddress = \"192.0.2.1\"\nremote_as = 1\n[[bgp.peer]]\naddress = \"192.0.2.2\"\nremote_as = 2\nhold_time = 2\n",
        )
        .unwrap();
        let e = Config::load(&f).unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("bgp.peer[192.0.2.2].hold_time"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
