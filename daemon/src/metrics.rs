//! Prometheus metrics (`GET /metrics`, OpenMetrics text via prometheus-client). Every metric the
//! earlier prefixd declared, updated where the thing happens: the engine for events, mitigations,
//! escalations, guardrails, announcements and reconciliation; the API for HTTP and rate limits;
//! the store for commit latency; the speaker's event stream and counters for BGP sessions.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

macro_rules! labels {
    ($name:ident { $($field:ident),* }) => {
        /// Label set.
        #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
        pub struct $name {
            $(
                /// Label.
                pub $field: String,
            )*
        }
    };
}

labels!(SourceVector { source, vector });
labels!(SourceReason { source, reason });
labels!(ActionPop { action_type, pop });
labels!(ActionPopReason { action_type, pop, reason });
labels!(Escalation { from_action, to_action, pop });
labels!(Reason { reason });
labels!(Kind { kind });
labels!(Status { status });
labels!(Peer { peer });
labels!(PeerMessages { peer, direction, r#type });
labels!(Http { method, route, status_class });
labels!(Route { route });
labels!(Pop { pop });
labels!(DestinationStatus { destination, status });

/// All of them.
pub struct Metrics {
    registry: Registry,
    /// Events answered 2xx.
    pub events_ingested: Family<SourceVector, Counter>,
    /// Events refused (4xx), by reason.
    pub events_rejected: Family<SourceReason, Counter>,
    /// Active mitigations.
    pub mitigations_active: Family<ActionPop, Gauge>,
    /// Mitigations created.
    pub mitigations_created: Family<ActionPop, Counter>,
    /// Mitigations expired.
    pub mitigations_expired: Family<ActionPop, Counter>,
    /// Mitigations withdrawn, by reason.
    pub mitigations_withdrawn: Family<ActionPopReason, Counter>,
    /// Escalations.
    pub escalations: Family<Escalation, Counter>,
    /// De-escalations.
    pub deescalations: Family<Escalation, Counter>,
    /// Guardrail refusals.
    pub guardrail_rejections: Family<Reason, Counter>,
    /// Route changes handed to the speaker (`announce`, `withdraw`).
    pub announcements: Family<Kind, Counter>,
    /// From the engine taking a batch to its routes being handed to the speaker.
    pub announcement_latency: Histogram,
    /// Reconciliation runs (`in_sync`, `repaired`, `dry_run`).
    pub reconciliation_runs: Family<Status, Counter>,
    /// Drift repaired (`announced`, `withdrawn`, `replaced`).
    pub reconciliation_drift: Family<Kind, Counter>,
    /// Mitigations in the desired set at the last reconciliation.
    pub reconciliation_active: Family<Pop, Gauge>,
    /// 1 when the session is Established.
    pub bgp_session_up: Family<Peer, Gauge>,
    /// BGP messages by peer, direction and type, from the speaker's counters.
    pub bgp_messages: Family<PeerMessages, Counter>,
    /// Store commit durations.
    pub store_commit: Histogram,
    /// HTTP requests.
    pub http_requests: Family<Http, Counter>,
    /// HTTP request durations.
    pub http_duration: Family<Route, Histogram>,
    /// Requests being served.
    pub http_in_flight: Gauge,
    /// Configuration reloads (`ok`, `error`).
    pub config_reloads: Family<Status, Counter>,
    /// Alert requests by destination and outcome (`sent`, `failed`).
    pub alerts_sent: Family<DestinationStatus, Counter>,
    /// Alerts dropped because the queue was full.
    pub alerts_dropped: Counter,
    seen_messages: Mutex<HashMap<PeerMessages, u64>>,
    names: Vec<&'static str>,
    sources: Mutex<std::collections::HashSet<String>>,
}

/// Distinct `source` label values kept; later sources are counted as `other`.
pub const MAX_SOURCES: usize = 100;

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers everything under `prefixd_`.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("prefixd"),
            events_ingested: Family::default(),
            events_rejected: Family::default(),
            mitigations_active: Family::default(),
            mitigations_created: Family::default(),
            mitigations_expired: Family::default(),
            mitigations_withdrawn: Family::default(),
            escalations: Family::default(),
            deescalations: Family::default(),
            guardrail_rejections: Family::default(),
            announcements: Family::default(),
            announcement_latency: latency(),
            reconciliation_runs: Family::default(),
            reconciliation_drift: Family::default(),
            reconciliation_active: Family::default(),
            bgp_session_up: Family::default(),
            bgp_messages: Family::default(),
            store_commit: latency(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            http_in_flight: Gauge::default(),
            config_reloads: Family::default(),
            alerts_sent: Family::default(),
            alerts_dropped: Counter::default(),
            seen_messages: Mutex::new(HashMap::new()),
            names: Vec::new(),
            sources: Mutex::new(std::collections::HashSet::new()),
        };
        let r = &mut m.registry;
        let mut names = Vec::new();
        // Registers a metric and remembers its name (families without samples are not in the text).
        macro_rules! reg {
            ($name:literal, $help:literal, $metric:expr $(,)?) => {{
                names.push(concat!("prefixd_", $name));
                r.register($name, $help, $metric);
            }};
        }
        reg!("events_ingested", "Events answered 2xx", m.events_ingested.clone());
        reg!("events_rejected", "Events refused, by reason", m.events_rejected.clone());
        reg!("mitigations_active", "Active mitigations", m.mitigations_active.clone());
        reg!("mitigations_created", "Mitigations created", m.mitigations_created.clone());
        reg!("mitigations_expired", "Mitigations whose TTL ran out", m.mitigations_expired.clone());
        reg!("mitigations_withdrawn", "Mitigations withdrawn, by reason", m.mitigations_withdrawn.clone());
        reg!("escalations", "Mitigations escalated to a later playbook step", m.escalations.clone());
        reg!("deescalations", "Mitigations returned to their first step", m.deescalations.clone());
        reg!("guardrail_rejections", "Refusals by guardrail", m.guardrail_rejections.clone());
        reg!("announcements", "Route changes handed to the BGP speaker", m.announcements.clone());
        reg!(
            "announcements_latency_seconds",
            "From the engine taking a batch to its routes reaching the speaker",
            m.announcement_latency.clone(),
        );
        reg!("reconciliation_runs", "Reconciliation runs by outcome", m.reconciliation_runs.clone());
        reg!("reconciliation_drift", "Drift repaired by reconciliation", m.reconciliation_drift.clone());
        reg!(
            "reconciliation_active_count",
            "Desired rules at the last reconciliation",
            m.reconciliation_active.clone(),
        );
        reg!("bgp_session_up", "1 when the BGP session is Established", m.bgp_session_up.clone());
        reg!("bgp_messages", "BGP messages by peer, direction and type", m.bgp_messages.clone());
        reg!("store_commit_seconds", "redb commit durations (group commits)", m.store_commit.clone());
        reg!("http_requests", "HTTP requests", m.http_requests.clone());
        reg!("http_request_duration_seconds", "HTTP request durations", m.http_duration.clone());
        reg!("http_in_flight_requests", "HTTP requests being served", m.http_in_flight.clone());
        reg!("config_reload", "Configuration reloads", m.config_reloads.clone());
        reg!("alerts_sent", "Alert requests by destination and outcome", m.alerts_sent.clone());
        reg!("alerts_dropped", "Alerts dropped because the queue was full", m.alerts_dropped.clone());
        m.names = names;
        m
    }

    /// The `source` label for an event's source: itself for the first [`MAX_SOURCES`] distinct
    /// sources, `other` after (a client chooses the value; each one would be a series for ever).
    pub fn source_label(&self, source: &str) -> String {
        let mut seen = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(source) {
            return source.to_string();
        }
        if seen.len() < MAX_SOURCES {
            seen.insert(source.to_string());
            return source.to_string();
        }
        "other".to_string()
    }

    /// The name of every metric registered (`prefixd_events_ingested`, ...), as declared: a
    /// counter's samples add `_total`, a histogram's `_bucket`, `_sum` and `_count`.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Brings the message counters up to the speaker's totals (which restart from zero with a new
    /// session: then the whole new count is added).
    pub fn observe_messages(&self, peer: &str, direction: &str, counts: &[u64]) {
        const TYPES: [&str; 5] = ["open", "update", "notification", "keepalive", "route_refresh"];
        let mut seen = self.seen_messages.lock().unwrap_or_else(|p| p.into_inner());
        for (t, n) in TYPES.iter().zip(counts) {
            let key = PeerMessages { peer: peer.into(), direction: direction.into(), r#type: (*t).into() };
            let last = seen.insert(key.clone(), *n).unwrap_or(0);
            let add = if *n >= last { n - last } else { *n };
            if add > 0 {
                self.bgp_messages.get_or_create(&key).inc_by(add);
            }
        }
    }
}
