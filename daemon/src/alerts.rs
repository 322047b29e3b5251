//! Alerts: committed changes (the audit feed) become webhooks to Slack, PagerDuty (trigger, and
//! resolve when the mitigation ends), Opsgenie (create, close), Microsoft Teams, Discord, and a
//! generic JSON receiver signed with HMAC-SHA256 (`X-Prefixd-Signature: sha256=<hex>`).
//!
//! A bounded queue sits between the feed and the sender; alerts that do not fit are dropped and
//! counted. Each alert is tried up to `max_attempts` times per destination, with doubling delays,
//! on connection errors and 5xx answers. Destination URLs must be https and must not point at
//! loopback, private, link-local or unique-local addresses (names are resolved and every address
//! checked), unless `allow_private_destinations` is set. A destination whose secret variable is
//! unset or empty is disabled at start (logged, never sent to).

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tracing::{info, warn};

use crate::config::{AlertDestination, AlertKind, Alerts};
use crate::metrics::Metrics;
use crate::model::{rfc3339, AuditRecord};
use crate::store::Store;

/// The changes alerted on when a destination names none.
pub const DEFAULT_EVENTS: [&str; 6] = [
    "mitigation_created",
    "mitigation_escalated",
    "mitigation_withdrawn",
    "mitigation_expired",
    "peer_down",
    "peer_up",
];

/// A destination ready to send to: secrets resolved.
#[derive(Clone)]
struct Target {
    name: String,
    kind: AlertKind,
    url: String,
    secret: Option<String>,
    events: Vec<String>,
}

fn embedded(hi: u16, lo: u16) -> std::net::Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    std::net::Ipv4Addr::new(a, b, c, d)
}

/// Whether `ip` is somewhere an alert must not be sent (SSRF): loopback, private, link-local,
/// unique-local, site-local, unspecified, multicast, documentation, benchmarking, reserved or
/// shared address space, and IPv6 forms that embed such an IPv4 address.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || a.to_ipv4_mapped().is_some_and(|v4| forbidden(IpAddr::V4(v4)))
                // Prefixes that carry an IPv4 address: IPv4-compatible ::a.b.c.d, NAT64
                // 64:ff9b::/96 and 6to4 2002::/16 could reach a forbidden IPv4 address.
                || (s[..6] == [0; 6] && forbidden(IpAddr::V4(embedded(s[6], s[7]))))
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && forbidden(IpAddr::V4(embedded(s[6], s[7]))))
                || s[0] == 0x2002
        }
    }
}

/// ureq's resolver, refusing a name that resolves to a [`forbidden`] address at connect time:
/// every attempt is checked against the addresses it really connects to, so a name that answers
/// differently later (DNS rebinding) is caught too. (`ureq::unversioned` may change between ureq's
/// minor versions; Cargo.lock pins it.)
#[derive(Debug)]
struct CheckedResolver {
    allow_private: bool,
}

/// The resolver's refusal, recognised in [`send`].
#[derive(Debug, thiserror::Error)]
#[error("resolves to {0}, a loopback, private or reserved address")]
struct Forbidden(IpAddr);

impl ureq::unversioned::resolver::Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let addrs = ureq::unversioned::resolver::DefaultResolver::default().resolve(uri, config, timeout)?;
        if let Some(bad) = addrs.iter().find(|a| !self.allow_private && forbidden(a.ip())) {
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                Forbidden(bad.ip()),
            )));
        }
        Ok(addrs)
    }
}

/// Checks a destination URL: https, and every address its host resolves to allowed.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| "not an absolute URL".to_string())?;
    if scheme != "https" && !(allow_private && scheme == "http") {
        return Err("alert URLs must be https".into());
    }
    if allow_private {
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if authority.contains(':') && !authority.starts_with('[') && authority.matches(':').count() == 1 {
        authority.to_string()
    } else if authority.starts_with('[') {
        if authority.contains("]:") {
            authority.to_string()
        } else {
            format!("{authority}:443")
        }
    } else {
        format!("{authority}:443")
    };
    let addrs: Vec<IpAddr> =
        host_port.to_socket_addrs().map_err(|e| format!("cannot resolve {authority}: {e}"))?.map(|a| a.ip()).collect();
    if addrs.is_empty() {
        return Err(format!("{authority} resolves to nothing"));
    }
    if let Some(bad) = addrs.into_iter().find(|a| forbidden(*a)) {
        return Err(format!("{authority} resolves to {bad}, a loopback, private or reserved address"));
    }
    Ok(())
}

fn resolve(d: &AlertDestination, allow_private: bool) -> Result<Target, String> {
    let name = d.name.clone().unwrap_or_else(|| format!("{:?}", d.kind).to_lowercase());
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    let url = match (&d.url, &d.url_env) {
        (Some(u), _) => u.clone(),
        (None, Some(var)) => env(var).ok_or_else(|| format!("{name}: environment variable {var} is unset or empty"))?,
        (None, None) => return Err(format!("{name}: no url")),
    };
    let secret = match &d.secret_env {
        Some(var) => Some(env(var).ok_or_else(|| format!("{name}: environment variable {var} is unset or empty"))?),
        None => None,
    };
    check_url(&url, allow_private).map_err(|e| format!("{name}: {e}"))?;
    let events =
        if d.events.is_empty() { DEFAULT_EVENTS.iter().map(|s| s.to_string()).collect() } else { d.events.clone() };
    Ok(Target { name, kind: d.kind, url, secret, events })
}

/// What an alert says.
#[derive(Debug, Clone)]
struct Alert {
    event_type: String,
    timestamp: String,
    mitigation_id: Option<String>,
    /// What it is about (a peer's address for peer alerts).
    target: Option<String>,
    details: Value,
    resolve: bool,
    title: String,
    message: String,
    severity: &'static str,
}

fn alert_of(a: &AuditRecord, store: &Store, pop: &str) -> Alert {
    let m = (a.target_type.as_deref() == Some("mitigation"))
        .then_some(a.target_id.as_deref())
        .flatten()
        .and_then(|id| store.read().ok().and_then(|r| r.mitigation(id).ok().flatten()));
    let mut details = json!({"pop": pop, "audit": a.details, "actor": a.actor_id});
    if let Some(m) = &m {
        details["victim_ip"] = json!(m.victim_ip);
        details["customer_id"] = json!(m.customer_id);
        details["vector"] = json!(m.vector);
        details["action_type"] = json!(m.action_type);
        details["rule"] = json!(m.rule);
        details["expires_at"] = json!(rfc3339(m.expires_at));
    }
    let what = a.action.replace('_', " ");
    let subject = m
        .as_ref()
        .map_or_else(|| a.target_id.clone().unwrap_or_default(), |m| format!("{} ({:?})", m.victim_ip, m.vector));
    let resolve = matches!(a.action.as_str(), "mitigation_withdrawn" | "mitigation_expired" | "peer_up");
    let severity = match a.action.as_str() {
        "mitigation_escalated" | "peer_down" => "critical",
        "mitigation_created" => "warning",
        _ => "info",
    };
    Alert {
        event_type: a.action.replacen('_', ".", 1),
        timestamp: rfc3339(a.timestamp),
        mitigation_id: m.as_ref().map(|m| m.mitigation_id.clone()),
        target: a.target_id.clone(),
        title: format!("prefixd {pop}: {what}: {subject}"),
        message: m.as_ref().map_or_else(|| format!("{what} {subject}"), |m| format!("{what}: {}", m.rule)),
        details,
        resolve,
        severity,
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    crate::engine::hex(ring::hmac::sign(&key, body).as_ref())
}

/// One HTTP request: URL, extra headers, JSON body.
type Outgoing = (String, Vec<(&'static str, String)>, Vec<u8>);

/// The requests one alert makes to one destination.
fn requests(t: &Target, a: &Alert) -> Vec<Outgoing> {
    let body = |v: Value| serde_json::to_vec(&v).unwrap_or_default();
    match t.kind {
        AlertKind::Slack => vec![(
            t.url.clone(),
            vec![],
            body(json!({"text": a.title, "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": a.title}},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*\n```{}```", a.message, a.details)}},
            ]})),
        )],
        AlertKind::Discord => {
            vec![(t.url.clone(), vec![], body(json!({"content": format!("**{}**\n{}", a.title, a.message)})))]
        }
        AlertKind::Teams => vec![(
            t.url.clone(),
            vec![],
            body(json!({"@type": "MessageCard", "@context": "https://schema.org/extensions",
                        "summary": a.title, "title": a.title, "text": a.message})),
        )],
        AlertKind::Pagerduty => {
            let Some(dedup) = a.mitigation_id.clone().or_else(|| a.target.clone().map(|t| format!("peer {t}"))) else {
                return Vec::new();
            };
            let v = if a.resolve {
                json!({"routing_key": t.secret, "event_action": "resolve", "dedup_key": dedup})
            } else {
                json!({"routing_key": t.secret, "event_action": "trigger", "dedup_key": dedup,
                       "payload": {"summary": a.title, "source": "prefixd", "severity": a.severity,
                                   "timestamp": a.timestamp, "custom_details": a.details}})
            };
            vec![(t.url.clone(), vec![], body(v))]
        }
        AlertKind::Opsgenie => {
            let auth = vec![("authorization", format!("GenieKey {}", t.secret.clone().unwrap_or_default()))];
            match (&a.mitigation_id, a.resolve) {
                (Some(id), true) => vec![(
                    format!("{}/{id}/close?identifierType=alias", t.url.trim_end_matches('/')),
                    auth,
                    body(json!({"note": a.message})),
                )],
                (id, _) => vec![(
                    t.url.clone(),
                    auth,
                    body(json!({"message": a.title, "alias": id, "description": a.message, "details": a.details,
                                "priority": if a.severity == "critical" { "P2" } else { "P3" }})),
                )],
            }
        }
        AlertKind::Generic => {
            let b = body(json!({"event_type": a.event_type, "timestamp": a.timestamp, "severity": a.severity,
                                "title": a.title, "message": a.message, "mitigation_id": a.mitigation_id,
                                "details": a.details}));
            let headers = t
                .secret
                .as_ref()
                .map(|s| vec![("x-prefixd-signature", format!("sha256={}", hmac_hex(s, &b)))])
                .unwrap_or_default();
            vec![(t.url.clone(), headers, b)]
        }
    }
}

/// The agent every alert is sent with: redirects are not followed (their target was never
/// checked), and the addresses each connection resolves are checked ([`CheckedResolver`]).
fn agent(allow_private: bool) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        CheckedResolver { allow_private },
    )
}

/// Sends one request with retries; the outcome for the metrics. A destination whose name now
/// resolves to a forbidden address is `refused`, not retried.
fn send(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
    attempts: u32,
    base: Duration,
) -> &'static str {
    let mut delay = base;
    for attempt in 1..=attempts {
        let mut r = agent.post(url).header("content-type", "application/json");
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        match r.send(body) {
            Ok(resp) if resp.status().is_success() => return "sent",
            Ok(resp) if resp.status().is_redirection() => {
                warn!(status = resp.status().as_u16(), "alert destination answered with a redirect; not followed");
                return "failed";
            }
            Ok(resp) if resp.status().is_client_error() => {
                warn!(status = resp.status().as_u16(), "alert refused by its destination; not retried");
                return "failed";
            }
            Ok(resp) => warn!(status = resp.status().as_u16(), attempt, "alert destination error"),
            Err(ureq::Error::Io(e)) if e.get_ref().is_some_and(|i| i.is::<Forbidden>()) => {
                warn!("alert not sent: {e}");
                return "refused";
            }
            Err(e) => warn!(attempt, "alert not delivered: {e}"),
        }
        if attempt < attempts {
            std::thread::sleep(delay);
            delay = delay.saturating_mul(2);
        }
    }
    "failed"
}

/// Starts the dispatcher: destinations are checked now (a bad one is logged and left out), then
/// every committed audit record that a destination wants becomes an alert.
pub fn start(config: &Alerts, store: Store, metrics: Arc<Metrics>, pop: String) -> Vec<String> {
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for d in &config.destinations {
        match resolve(d, config.allow_private_destinations) {
            Ok(t) => {
                info!(destination = %t.name, kind = ?t.kind, "alert destination ready");
                targets.push(t);
            }
            Err(e) => {
                warn!("alert destination disabled: {e}");
                problems.push(e);
            }
        }
    }
    if targets.is_empty() {
        return problems;
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<AuditRecord>>(config.queue);
    let mut feed = store.audit_feed();
    let wanted: std::collections::HashSet<String> = targets.iter().flat_map(|t| t.events.clone()).collect();
    let dropped = metrics.alerts_dropped.clone();
    tokio::spawn(async move {
        loop {
            match feed.recv().await {
                Ok(a) if wanted.contains(&a.action) => {
                    if tx.try_send(a).is_err() {
                        dropped.inc();
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    dropped.inc_by(n);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let (attempts, base) = (config.max_attempts, Duration::from_millis(config.retry_base_ms));
    let agent = agent(config.allow_private_destinations);
    tokio::spawn(async move {
        while let Some(a) = rx.recv().await {
            let (store, targets, metrics, pop, agent) =
                (store.clone(), targets.clone(), metrics.clone(), pop.clone(), agent.clone());
            // One alert at a time, in order, so a resolve never overtakes its trigger.
            let _ = tokio::task::spawn_blocking(move || {
                let alert = alert_of(&a, &store, &pop);
                for t in targets.iter().filter(|t| t.events.contains(&a.action)) {
                    for (url, headers, body) in requests(t, &alert) {
                        let status = send(&agent, &url, &headers, &body, attempts, base);
                        let l =
                            crate::metrics::DestinationStatus { destination: t.name.clone(), status: status.into() };
                        metrics.alerts_sent.get_or_create(&l).inc();
                    }
                }
            })
            .await;
        }
    });
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssrf_rules() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "fec0::1",
            "2001:db8::1",
            "198.18.0.1",
            "198.19.255.1",
            "192.0.0.8",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for ok in ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "198.20.0.1", "192.0.1.1"] {
            assert!(!forbidden(ok.parse().unwrap()), "{ok}");
        }
        assert!(check_url("http://hooks.example.com/x", false).unwrap_err().contains("https"));
        assert!(check_url("https://127.0.0.1/x", false).unwrap_err().contains("127.0.0.1"));
        assert!(check_url("https://[::1]:8443/x", false).is_err());
        assert!(check_url("https://user@10.0.0.1/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        // At send time the connection's own resolution is checked: `refused` (any other error is
        // retried and ends `failed`), and nothing leaves (the resolver refuses before a connect).
        assert_eq!(send(&agent(false), "https://127.0.0.1:9/x", &[], b"{}", 3, Duration::from_millis(1)), "refused");
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
