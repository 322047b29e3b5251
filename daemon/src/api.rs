//! The `/v1` HTTP API: the earlier prefixd's paths, fields and status strings, with batch ingest,
//! bulk withdraw and cursor pagination. Every error is JSON `{error, ...}`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{AuthMode, Config, Role};
use crate::engine::{BulkWithdraw, EventOutcome, Handle, ManualInput, ReconcileReport, Request as Req};
use crate::error::ApiError;
use crate::model::AuditRecord;
use crate::model::{now_ms, Actor, EventInput, Millis, Mitigation, MitigationStatus, SafelistRecord, MAX_TEXT};
use crate::playbook::Playbooks;
use crate::store::Page;

/// The JSON error every failing request gets.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "prefixd", description = "DDoS events to BGP FlowSpec rules: the /v1 API."),
    paths(
        health,
        health_detail,
        post_event,
        post_batch,
        list_events,
        list_mitigations,
        get_mitigation,
        create_mitigation,
        withdraw,
        bulk_withdraw,
        list_safelist,
        add_safelist,
        remove_safelist,
        stats,
        pops,
        peers,
        ip_history,
        audit,
        reconcile,
        settings,
        inventory,
        get_playbooks,
        put_playbooks,
        reload,
        metrics,
        stream,
        openapi
    ),
    components(schemas(
        ErrorBody,
        EventInput,
        EventOutcome,
        Mitigation,
        crate::model::Event,
        SafelistRecord,
        AuditRecord,
        ManualInput,
        BulkWithdraw,
        ReconcileReport,
        Playbooks
    ))
)]
pub struct ApiDoc;

/// Every route the router serves (method, path as in the OpenAPI document); a test checks that the
/// document and the router agree.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/health"),
    ("get", "/v1/health/detail"),
    ("post", "/v1/events"),
    ("get", "/v1/events"),
    ("post", "/v1/events/batch"),
    ("get", "/v1/mitigations"),
    ("post", "/v1/mitigations"),
    ("post", "/v1/mitigations/withdraw"),
    ("get", "/v1/mitigations/{id}"),
    ("post", "/v1/mitigations/{id}/withdraw"),
    ("get", "/v1/safelist"),
    ("post", "/v1/safelist"),
    ("delete", "/v1/safelist/{prefix}"),
    ("get", "/v1/stats"),
    ("get", "/v1/pops"),
    ("get", "/v1/peers"),
    ("get", "/v1/ip/{ip}/history"),
    ("get", "/v1/audit"),
    ("post", "/v1/reconcile"),
    ("get", "/v1/config/settings"),
    ("get", "/v1/config/inventory"),
    ("get", "/v1/config/playbooks"),
    ("put", "/v1/config/playbooks"),
    ("post", "/v1/config/reload"),
    ("get", "/metrics"),
    ("get", "/v1/stream"),
    ("get", "/openapi.json"),
];

#[utoipa::path(get, path = "/openapi.json", tag = "health", responses((status = 200, description = "this document", body = Object)))]
async fn openapi() -> Response {
    axum::Json(<ApiDoc as utoipa::OpenApi>::openapi()).into_response()
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Handle,
    /// The configuration file, for reload (`None`: embedded defaults).
    pub config_path: Option<PathBuf>,
    /// The bearer tokens, when auth mode is bearer.
    pub tokens: Option<Tokens>,
    /// Ingest rate limits.
    pub limiter: Arc<crate::ratelimit::Limiter>,
    /// mTLS: certificate names and their roles (`None` unless auth mode is mtls).
    pub clients: Option<Arc<Vec<crate::config::ClientConfig>>>,
}

impl AppState {
    /// The state for `config`.
    pub fn new(engine: Handle, config_path: Option<PathBuf>, tokens: Option<Tokens>, config: &Config) -> AppState {
        let limiter = Arc::new(crate::ratelimit::Limiter::new(config.http.rate_limit.clone()));
        let clients = (config.http.auth.mode == AuthMode::Mtls).then(|| Arc::new(config.http.auth.clients.clone()));
        AppState { engine, config_path, tokens, limiter, clients }
    }

    /// Takes `cost` events from the client's and the global bucket: the headers to add, or a 429.
    fn limit(&self, actor: &Actor, cost: u64) -> Result<[(&'static str, u64); 3], ApiError> {
        match self.limiter.take(&actor.id, cost) {
            Ok(q) => Ok([
                ("x-ratelimit-limit", q.limit),
                ("x-ratelimit-remaining", q.remaining),
                ("x-ratelimit-reset", q.reset_seconds),
            ]),
            Err(l) => {
                let labels = crate::metrics::SourceReason { source: actor.id.clone(), reason: "rate_limited".into() };
                self.engine.shared.metrics.events_rejected.get_or_create(&labels).inc_by(cost);
                let mut e = ApiError::new(429, format!("rate limit ({}) exceeded", l.scope))
                    .with("retry_after_seconds", l.retry_after_seconds)
                    .with("scope", l.scope);
                e.extra.insert("x-ratelimit-limit".into(), Value::from(l.quota.limit));
                e.extra.insert("x-ratelimit-remaining".into(), Value::from(l.quota.remaining));
                e.extra.insert("x-ratelimit-reset".into(), Value::from(l.quota.reset_seconds));
                Err(e)
            }
        }
    }
}

fn with_headers(mut r: Response, headers: [(&'static str, u64); 3]) -> Response {
    for (k, v) in headers {
        r.headers_mut().insert(k, HeaderValue::from(v));
    }
    r
}

/// The API's tokens.
pub type Tokens = Arc<Vec<Token>>;

/// A named token with a role. `Debug` does not show the secret.
#[derive(Clone)]
pub struct Token {
    /// The client's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

impl Token {
    /// A token; refuses secrets shorter than 16 bytes.
    pub fn new(name: &str, role: Role, secret: &str) -> Result<Token, String> {
        if secret.len() < 16 {
            return Err(format!("token {name:?}: the secret must be at least 16 characters"));
        }
        Ok(Token { name: name.to_string(), role, secret: secret.as_bytes().to_vec() })
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Anyone (health).
    Public,
    /// viewer, operator, admin.
    Read,
    /// detector, operator, admin.
    Ingest,
    /// operator, admin.
    Operate,
    /// admin.
    Admin,
}

impl Need {
    fn of(method: &Method, path: &str) -> Need {
        if path == "/v1/health" || path == "/openapi.json" {
            return Need::Public;
        }
        if *method == Method::GET || *method == Method::HEAD {
            return Need::Read;
        }
        match path {
            "/v1/events" | "/v1/events/batch" => Need::Ingest,
            "/v1/config/reload" | "/v1/config/playbooks" => Need::Admin,
            _ => Need::Operate,
        }
    }

    fn allows(self, role: Role) -> bool {
        match self {
            Need::Public => true,
            Need::Read => role != Role::Detector,
            Need::Ingest => role != Role::Viewer,
            Need::Operate => matches!(role, Role::Operator | Role::Admin),
            Need::Admin => role == Role::Admin,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Need::Public => "public",
            Need::Read => "viewer, operator or admin",
            Need::Ingest => "detector, operator or admin",
            Need::Operate => "operator or admin",
            Need::Admin => "admin",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers: Vec<(&str, Value)> = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]
            .into_iter()
            .filter_map(|k| self.extra.remove(k).map(|v| (k, v)))
            .collect();
        let mut r = (status, axum::Json(self.body())).into_response();
        for (k, v) in headers {
            if let Some(v) = v.as_u64() {
                r.headers_mut().insert(k, HeaderValue::from(v));
            }
        }
        if let Some(s) = self.extra.get("retry_after_seconds").and_then(Value::as_u64) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// A JSON body whose every failure is a JSON 400 (or 413).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(e) => Err(json_rejection(&e)),
        }
    }
}

fn json_rejection(e: &JsonRejection) -> ApiError {
    let status = e.status().as_u16();
    let status = if status == 413 {
        413
    } else if status == 415 {
        415
    } else {
        400
    };
    ApiError::new(status, e.body_text())
}

/// Query parameters whose failure is a JSON 400.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

/// The router.
pub fn router(state: AppState, config: &Config) -> Router {
    let timeout = Duration::from_secs(config.http.request_timeout_seconds);
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/health/detail", get(health_detail))
        .route("/v1/events", post(post_event).get(list_events))
        .route("/v1/events/batch", post(post_batch))
        .route("/v1/mitigations", get(list_mitigations).post(create_mitigation))
        .route("/v1/mitigations/withdraw", post(bulk_withdraw))
        .route("/v1/mitigations/{id}", get(get_mitigation))
        .route("/v1/mitigations/{id}/withdraw", post(withdraw))
        .route("/v1/safelist", get(list_safelist).post(add_safelist))
        .route("/v1/safelist/{*prefix}", axum::routing::delete(remove_safelist))
        .route("/v1/stats", get(stats))
        .route("/v1/pops", get(pops))
        .route("/v1/peers", get(peers))
        .route("/v1/ip/{ip}/history", get(ip_history))
        .route("/v1/audit", get(audit))
        .route("/v1/reconcile", post(reconcile))
        .route("/v1/config/settings", get(settings))
        .route("/v1/config/inventory", get(inventory))
        .route("/v1/config/playbooks", get(get_playbooks).put(put_playbooks))
        .route("/v1/config/reload", post(reload))
        .route("/metrics", get(metrics))
        .route("/v1/stream", get(stream))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::new(405, "method not allowed on this route") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::from_fn(move |req: Request, next: Next| async move {
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => ApiError::new(503, "request timed out").into_response(),
            }
        }))
        // Outside the timeout, so a timed-out request is counted (and leaves the in-flight gauge).
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
        .with_state(state)
}

/// HTTP metrics: requests by method, route and status class, durations, requests in flight.
async fn observe(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let m = s.engine.shared.metrics.clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // A fixed set: any token is a valid method, and each label value is a series kept for ever.
    let method = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
    .to_string();
    m.http_in_flight.inc();
    let t = std::time::Instant::now();
    let r = next.run(req).await;
    m.http_in_flight.dec();
    m.http_duration.get_or_create(&crate::metrics::Route { route: route.clone() }).observe(t.elapsed().as_secs_f64());
    let status_class = format!("{}xx", r.status().as_u16() / 100);
    m.http_requests.get_or_create(&crate::metrics::Http { method, route, status_class }).inc();
    r
}

/// `GET /metrics`: the speaker's message counters are brought up to date, then everything is
/// encoded (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
async fn metrics(State(s): State<AppState>) -> Response {
    let m = &s.engine.shared.metrics;
    if let Some(sp) = &s.engine.speaker {
        for peer in sp.peers() {
            if let Some(st) = sp.peer_status(peer).await {
                m.observe_messages(&peer.to_string(), "received", &st.counters.received);
                m.observe_messages(&peer.to_string(), "sent", &st.counters.sent);
            }
        }
    }
    let mut r = m.encode().into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// The most audit records `/v1/stream` replays on one connection.
pub const REPLAY_MAX: usize = 10_000;

/// `GET /v1/stream`: Server-Sent Events, one per audit record as it is committed (mitigations
/// created, escalated, withdrawn, expired; safelist, configuration, peers up and down). The event
/// id is the audit id, so a client that reconnects with `Last-Event-ID` first gets what it
/// missed, from the store, then the live feed. At most [`REPLAY_MAX`] records are replayed at
/// once: a client further behind gets them, then a `resync_required` event (`{"reason":
/// "backlog"}`), and the stream ends; it reconnects with its last id for the next part. A client
/// too slow for the live feed gets `resync_required` (`{"reason": "lagged", "missed": N}`) and
/// should reconnect with its last id.
#[utoipa::path(get, path = "/v1/stream", tag = "audit", params(("Last-Event-ID" = Option<u64>, Header,)), responses((status = 200, description = "Server-Sent Events", content_type = "text/event-stream")))]
async fn stream(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as Sse, KeepAlive};
    use futures_util::stream::{self, StreamExt};
    let live = s.engine.store.audit_feed();
    let last: Option<u64> =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let mut backlog = match last {
        Some(id) => read(&s, move |r| r.audit_after(id, REPLAY_MAX + 1)).await?,
        None => Vec::new(),
    };
    let more = backlog.len() > REPLAY_MAX;
    backlog.truncate(REPLAY_MAX);
    let seen = backlog.last().map(|a| a.audit_id).or(last);
    let event = |a: &crate::model::AuditRecord| -> Result<Sse, std::convert::Infallible> {
        Ok(Sse::default().id(a.audit_id.to_string()).event(a.action.clone()).json_data(a).unwrap_or_default())
    };
    let replay = stream::iter(backlog.iter().map(event).collect::<Vec<_>>());
    if more {
        // The rest comes on the next connection: a live record now could not follow in order.
        let resync = Sse::default().event("resync_required").data(r#"{"reason":"backlog"}"#);
        let body = replay.chain(stream::once(async { Ok(resync) }));
        return Ok(axum::response::Sse::new(body).into_response());
    }
    let live = stream::unfold((live, seen), move |(mut rx, seen)| async move {
        loop {
            match rx.recv().await {
                Ok(a) if seen.is_some_and(|l| a.audit_id <= l) => continue,
                Ok(a) => {
                    let id = a.audit_id;
                    return Some((event(&a), (rx, Some(id))));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let e = Sse::default()
                        .event("resync_required")
                        .data(format!("{{\"reason\":\"lagged\",\"missed\":{n}}}"));
                    return Some((Ok(e), (rx, seen)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(axum::response::Sse::new(replay.chain(live)).keep_alive(KeepAlive::default()).into_response())
}

/// Authentication, the role each route needs, and the shutdown gate.
async fn guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let need = Need::of(req.method(), req.uri().path());
    let cert = req.extensions().get::<crate::tls::ClientCert>().cloned();
    let actor = match (&s.clients, &s.tokens) {
        (Some(clients), _) => {
            // mTLS: the handshake verified the certificate; its names pick the role.
            let found = cert.as_ref().and_then(|c| clients.iter().find(|k| c.0.contains(&k.name)));
            match found {
                Some(k) if need.allows(k.role) => Actor { kind: k.role.as_str(), id: k.name.clone() },
                Some(k) => {
                    return ApiError::new(403, format!("role {} may not do this", k.role.as_str()))
                        .with("role", k.role.as_str())
                        .with("required", need.name())
                        .into_response()
                }
                None if need == Need::Public => Actor { kind: "anonymous", id: "anonymous".into() },
                None => {
                    let names = cert.map(|c| c.0).unwrap_or_default();
                    return ApiError::new(403, "this client certificate has no role")
                        .with("names", names)
                        .into_response();
                }
            }
        }
        (None, None) => {
            // No authentication (loopback only): a web page in a browser on this host must not
            // drive the API, by a cross-site form POST (its Origin names the page's site) or by
            // DNS rebinding (its Host is the attacker's name). Scripts and detectors send neither.
            for h in [axum::http::header::HOST, axum::http::header::ORIGIN] {
                let value = req.headers().get(&h).map(|v| v.to_str().unwrap_or("?"));
                if let Some(v) = value.filter(|v| !local_host(v)) {
                    return ApiError::new(403, format!("auth mode none: the {h} header must name a local address"))
                        .with("header", h.as_str())
                        .with("value", v.chars().take(100).collect::<String>())
                        .into_response();
                }
            }
            Actor { kind: "operator", id: "anonymous".into() }
        }
        (None, Some(tokens)) => {
            let given = req
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            // Every token is compared, so the time taken does not say which one came close.
            let found = given.and_then(|g| {
                tokens.iter().fold(None, |hit, t| if constant_time_eq(g.as_bytes(), &t.secret) { Some(t) } else { hit })
            });
            match found {
                Some(t) if need.allows(t.role) => Actor { kind: t.role.as_str(), id: t.name.clone() },
                Some(t) => {
                    return ApiError::new(403, format!("role {} may not do this", t.role.as_str()))
                        .with("role", t.role.as_str())
                        .with("required", need.name())
                        .into_response()
                }
                None if need == Need::Public => Actor { kind: "anonymous", id: "anonymous".into() },
                None => return ApiError::new(401, "missing or wrong bearer token").into_response(),
            }
        }
    };
    if req.method() != Method::GET && s.engine.shared.stopping.load(Ordering::Relaxed) {
        return ApiError::shutting_down().into_response();
    }
    req.extensions_mut().insert(actor);
    next.run(req).await
}

/// `scheme://host[:port]` of a URL: no user, password, path, query or fragment (any of which may
/// hold a secret).
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

/// A Host or Origin value that names this machine by address or as `localhost` (with or without
/// a port; an Origin with its scheme). `null` (an opaque origin) is not local.
fn local_host(value: &str) -> bool {
    let v = value.split_once("://").map_or(value, |(_, rest)| rest);
    let host = if v.parse::<std::net::IpAddr>().is_ok() {
        v
    } else if let Some(rest) = v.strip_prefix('[') {
        rest.split_once(']').map_or("", |(h, _)| h)
    } else {
        v.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(v, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

fn auth_mode(s: &AppState) -> &'static str {
    match (&s.clients, &s.tokens) {
        (Some(_), _) => "mtls",
        (None, Some(_)) => "bearer",
        (None, None) => "none",
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn actor(req_actor: Option<axum::Extension<Actor>>) -> Actor {
    req_actor.map(|a| a.0).unwrap_or_else(Actor::system)
}

type Ext = Option<axum::Extension<Actor>>;

async fn read<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(crate::store::Reader) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = s.engine.store.clone();
    tokio::task::spawn_blocking(move || store.read().and_then(f))
        .await
        .map_err(|e| ApiError::new(500, e.to_string()))?
        .map_err(|e| ApiError::new(500, e.to_string()))
}

#[utoipa::path(get, path = "/v1/health", tag = "health", responses((status = 200, description = "alive", body = Object)))]
async fn health(State(s): State<AppState>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "auth_mode": auth_mode(&s),
    }))
    .into_response()
}

#[utoipa::path(get, path = "/v1/health/detail", tag = "health", responses((status = 200, description = "mode, sessions, store, last reconciliation", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn health_detail(State(s): State<AppState>) -> Response {
    let shared = &s.engine.shared;
    let policy = shared.policy();
    let peers = shared.peers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let db = read(&s, |r| r.event_count()).await;
    let all_up = peers.values().all(|st| st == "Established");
    let failed = shared.store_failed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let healthy = db.is_ok() && failed.is_none() && all_up && !shared.stopping.load(Ordering::Relaxed);
    let last = shared.last_reconcile.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let stats = &s.engine.store.stats;
    let commits = stats.commits.load(Ordering::Relaxed);
    axum::Json(json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "pop": policy.config.pop,
        "mode": if policy.config.mode == crate::config::Mode::Enforced { "enforced" } else { "dry-run" },
        "uptime_seconds": now_ms().saturating_sub(shared.started_at) / 1000,
        "bgp_sessions": peers.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "active_mitigations": shared.active.load(Ordering::Relaxed),
        "database": match (&failed, &db) {
            (Some(why), _) => format!("failing, changes refused until restart: {why}"),
            (None, Ok(_)) => "ok".to_string(),
            (None, Err(e)) => e.error.clone(),
        },
        "store": {
            "commits": commits,
            "batches": stats.batches.load(Ordering::Relaxed),
            "mean_commit_micros": stats.micros.load(Ordering::Relaxed).checked_div(commits).unwrap_or(0),
        },
        "last_reconciliation": last,
        "auth_mode": auth_mode(&s),
        "shutting_down": shared.stopping.load(Ordering::Relaxed),
    }))
    .into_response()
}

#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventInput, responses((status = 202, description = "stored; what was done", body = EventOutcome), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody), (status = 409, description = "repeated event_id", body = ErrorBody), (status = 422, description = "refused by a guardrail", body = ErrorBody), (status = 429, description = "rate limited", body = ErrorBody), (status = 503, description = "shutting down", body = ErrorBody)))]
async fn post_event(State(s): State<AppState>, a: Ext, Body(input): Body<EventInput>) -> Result<Response, ApiError> {
    let actor = actor(a);
    let headers = s.limit(&actor, 1)?;
    let o = s.engine.call(|r| Req::Event(Box::new(input), actor, r)).await?;
    Ok(with_headers((StatusCode::ACCEPTED, axum::Json(o)).into_response(), headers))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    events: Vec<Box<serde_json::value::RawValue>>,
}

#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body(content = Object, description = "{\"events\": [EventInput, ...]}"), responses((status = 200, description = "one result per event, each with status_code", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody), (status = 413, description = "too many events", body = ErrorBody), (status = 429, description = "rate limited", body = ErrorBody)))]
async fn post_batch(State(s): State<AppState>, a: Ext, Body(b): Body<BatchBody>) -> Result<Response, ApiError> {
    let max = s.engine.shared.policy().config.http.max_batch_events;
    if b.events.len() > max {
        return Err(ApiError::new(413, format!("{} events in one batch, at most {max}", b.events.len())));
    }
    let actor = actor(a);
    let headers = s.limit(&actor, b.events.len() as u64)?;
    // Items that do not parse get their own 400 and are not sent to the engine.
    let mut slots: Vec<Result<usize, ApiError>> = Vec::with_capacity(b.events.len());
    let mut inputs = Vec::new();
    for v in b.events {
        match serde_json::from_str::<EventInput>(v.get()) {
            Ok(i) => {
                slots.push(Ok(inputs.len()));
                inputs.push(i);
            }
            Err(e) => slots.push(Err(ApiError::bad_request(e.to_string()))),
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    s.engine.send(Req::Batch(inputs, actor, tx)).await?;
    let mut results = rx.await.map_err(|_| ApiError::shutting_down())?.into_iter();
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Item {
        Ok {
            #[serde(flatten)]
            outcome: crate::engine::EventOutcome,
            status_code: u16,
        },
        Err(Value),
    }
    let (mut accepted, mut refused) = (0usize, 0usize);
    let out: Vec<Item> = slots
        .into_iter()
        .map(|slot| {
            let r = match slot {
                Ok(_) => results.next().unwrap_or_else(|| Err(ApiError::new(500, "engine answer missing"))),
                Err(e) => Err(e),
            };
            match r {
                Ok(outcome) => {
                    accepted += 1;
                    Item::Ok { outcome, status_code: 202 }
                }
                Err(e) => {
                    refused += 1;
                    let mut v = e.body();
                    v["status_code"] = json!(e.status);
                    Item::Err(v)
                }
            }
        })
        .collect();
    Ok(with_headers(
        axum::Json(json!({"results": out, "accepted": accepted, "refused": refused})).into_response(),
        headers,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    victim_ip: Option<IpAddr>,
    #[serde(default)]
    pop: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    actor_id: Option<String>,
    #[serde(default)]
    target_id: Option<String>,
}

impl ListQuery {
    /// 400 for a filter this route does not apply (rather than ignoring it and returning everything).
    fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let given = [
            ("status", self.status.is_some()),
            ("customer_id", self.customer_id.is_some()),
            ("victim_ip", self.victim_ip.is_some()),
            ("pop", self.pop.is_some()),
            ("source", self.source.is_some()),
            ("action", self.action.is_some()),
            ("actor_id", self.actor_id.is_some()),
            ("target_id", self.target_id.is_some()),
        ];
        match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(ApiError::bad_request(format!(
                "{k} is not a filter of this route (filters: {})",
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if limit == 0 || limit > 1000 {
            return Err(ApiError::bad_request("limit must be between 1 and 1000"));
        }
        Ok(Page { limit, offset: self.offset.unwrap_or(0), cursor: self.cursor.clone() })
    }
}

#[utoipa::path(get, path = "/v1/events", tag = "events", params(("limit" = Option<usize>, Query, description = "1..1000, default 100"), ("offset" = Option<usize>, Query,), ("cursor" = Option<String>, Query,), ("victim_ip" = Option<String>, Query,), ("source" = Option<String>, Query,)), responses((status = 200, description = "{events, count, next_cursor}", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn list_events(State(s): State<AppState>, Q(q): Q<ListQuery>) -> Result<Response, ApiError> {
    q.only(&["victim_ip", "source"])?;
    let page = q.page()?;
    let l = read(&s, move |r| {
        r.events(&page, |e| {
            q.victim_ip.is_none_or(|v| v == e.victim_ip) && q.source.as_ref().is_none_or(|src| *src == e.source)
        })
    })
    .await?;
    let events: Vec<Value> = l
        .items
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e).unwrap_or(Value::Null);
            // The earlier prefixd sent the ports as a JSON string too.
            v["top_dst_ports_json"] = json!(serde_json::to_string(&e.top_dst_ports).unwrap_or_default());
            v
        })
        .collect();
    Ok(axum::Json(json!({"events": events, "count": l.total, "next_cursor": l.next_cursor})).into_response())
}

#[utoipa::path(get, path = "/v1/mitigations", tag = "mitigations", params(("limit" = Option<usize>, Query,), ("offset" = Option<usize>, Query,), ("cursor" = Option<String>, Query,), ("status" = Option<String>, Query, description = "comma-separated"), ("customer_id" = Option<String>, Query,), ("victim_ip" = Option<String>, Query,), ("pop" = Option<String>, Query,)), responses((status = 200, description = "{mitigations, count, next_cursor}", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn list_mitigations(State(s): State<AppState>, Q(q): Q<ListQuery>) -> Result<Response, ApiError> {
    q.only(&["status", "customer_id", "victim_ip", "pop"])?;
    let page = q.page()?;
    let statuses: Option<Vec<MitigationStatus>> = q
        .status
        .as_deref()
        .map(|s| s.split(',').map(str::parse).collect::<Result<_, _>>())
        .transpose()
        .map_err(ApiError::bad_request)?;
    let l = read(&s, move |r| {
        r.mitigations(&page, |m: &Mitigation| {
            statuses.as_ref().is_none_or(|st| st.contains(&m.status))
                && q.customer_id.as_ref().is_none_or(|c| m.customer_id.as_ref() == Some(c))
                && q.victim_ip.is_none_or(|v| v == m.victim_ip)
                && q.pop.as_ref().is_none_or(|p| *p == m.pop)
        })
    })
    .await?;
    Ok(axum::Json(json!({"mitigations": l.items, "count": l.total, "next_cursor": l.next_cursor})).into_response())
}

#[utoipa::path(get, path = "/v1/mitigations/{id}", tag = "mitigations", params(("id" = String, Path,)), responses((status = 200, body = Mitigation), (status = 404, body = ErrorBody), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn get_mitigation(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = read(&s, move |r| r.mitigation(&id)).await?;
    m.map(|m| axum::Json(m).into_response()).ok_or_else(|| ApiError::not_found("no such mitigation"))
}

#[utoipa::path(post, path = "/v1/mitigations", tag = "mitigations", request_body = ManualInput, responses((status = 201, body = Mitigation), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_mitigation(
    State(s): State<AppState>,
    a: Ext,
    Body(input): Body<ManualInput>,
) -> Result<Response, ApiError> {
    let actor = actor(a);
    let m = s.engine.call(|r| Req::Create(Box::new(input), actor, r)).await?;
    Ok((StatusCode::CREATED, axum::Json(m)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    operator_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/mitigations/{id}/withdraw", tag = "mitigations", params(("id" = String, Path,)), request_body(content = Object, description = "{\"reason\": \"...\"}, optional"), responses((status = 200, body = Mitigation), (status = 404, body = ErrorBody), (status = 409, description = "not active", body = ErrorBody), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn withdraw(
    State(s): State<AppState>,
    a: Ext,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status().as_u16(), e.body_text()))?;
    // The body is optional: no body is `{}`.
    let b: WithdrawBody = if body.iter().all(u8::is_ascii_whitespace) {
        WithdrawBody { reason: None, operator_id: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let _ = b.operator_id;
    let exists = {
        let id = id.clone();
        read(&s, move |r| r.mitigation(&id)).await?.is_some()
    };
    if !exists {
        return Err(ApiError::not_found("no such mitigation"));
    }
    let reason = b.reason.unwrap_or_else(|| "withdrawn by operator".into());
    let actor = actor(a);
    let m = s.engine.call(|r| Req::Withdraw(id, reason, actor, r)).await?;
    Ok(axum::Json(m).into_response())
}

#[utoipa::path(post, path = "/v1/mitigations/withdraw", tag = "mitigations", request_body = BulkWithdraw, responses((status = 200, description = "{withdrawn, not_active}", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn bulk_withdraw(State(s): State<AppState>, a: Ext, Body(b): Body<BulkWithdraw>) -> Result<Response, ApiError> {
    if b.mitigation_ids.is_empty() && b.victim_ip.is_none() && b.customer_id.is_none() {
        return Err(ApiError::bad_request("name mitigation_ids, victim_ip or customer_id"));
    }
    if b.reason.len() > MAX_TEXT || b.mitigation_ids.len() > 10_000 {
        return Err(ApiError::bad_request("reason or mitigation_ids too long"));
    }
    let actor = actor(a);
    let v = s.engine.call(|r| Req::BulkWithdraw(b, actor, r)).await?;
    Ok(axum::Json(v).into_response())
}

#[utoipa::path(get, path = "/v1/safelist", tag = "safelist", responses((status = 200, body = Vec<SafelistRecord>), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn list_safelist(State(s): State<AppState>) -> Result<Response, ApiError> {
    let now = now_ms();
    let mut v = read(&s, |r| r.safelist()).await?;
    v.retain(|e| e.expires_at.is_none_or(|t| t > now));
    let cfg = s.engine.shared.policy();
    let from_config: Vec<Value> = cfg
        .config
        .safelist
        .prefixes
        .iter()
        .map(|p| json!({"prefix": p.to_string(), "added_by": "config", "reason": "config [safelist]", "expires_at": null}))
        .collect();
    let mut out: Vec<Value> = from_config;
    out.extend(v.into_iter().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)));
    Ok(axum::Json(out).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafelistBody {
    prefix: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, with = "crate::model::ts::opt")]
    expires_at: Option<Millis>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    operator_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/safelist", tag = "safelist", request_body(content = Object, description = "{prefix, reason?, expires_at? | ttl_seconds?}"), responses((status = 201, body = SafelistRecord), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn add_safelist(State(s): State<AppState>, a: Ext, Body(b): Body<SafelistBody>) -> Result<Response, ApiError> {
    let _ = b.operator_id;
    let net: crate::inventory::ipnet_str::Net = b.prefix.parse().map_err(ApiError::bad_request)?;
    let now = now_ms();
    let expires_at = match (b.expires_at, b.ttl_seconds) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give expires_at or ttl_seconds, not both")),
        (Some(t), None) if t <= now => return Err(ApiError::bad_request("expires_at is in the past")),
        (Some(t), None) => Some(t),
        (None, Some(0)) => return Err(ApiError::bad_request("ttl_seconds must be at least 1")),
        (None, Some(ttl)) => Some(now.saturating_add(ttl.saturating_mul(1000))),
        (None, None) => None,
    };
    if b.reason.as_ref().is_some_and(|r| r.len() > MAX_TEXT) {
        return Err(ApiError::bad_request("reason is too long"));
    }
    let actor = actor(a);
    let rec = SafelistRecord {
        prefix: net.to_string(),
        added_at: now,
        added_by: actor.id.clone(),
        reason: b.reason,
        expires_at,
    };
    let rec = s.engine.call(|r| Req::SafelistAdd(rec, actor, r)).await?;
    Ok((StatusCode::CREATED, axum::Json(rec)).into_response())
}

#[utoipa::path(delete, path = "/v1/safelist/{prefix}", tag = "safelist", params(("prefix" = String, Path, description = "address/length")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn remove_safelist(State(s): State<AppState>, a: Ext, Path(prefix): Path<String>) -> Result<Response, ApiError> {
    let net: crate::inventory::ipnet_str::Net = prefix.parse().map_err(ApiError::bad_request)?;
    let p = net.to_string();
    let actor = actor(a);
    s.engine.call(|r| Req::SafelistRemove(p.clone(), actor, r)).await?;
    Ok(axum::Json(json!({"removed": p})).into_response())
}

async fn counts(s: &AppState) -> Result<(Vec<(String, usize, usize)>, usize, usize, u64), ApiError> {
    read(s, |r| {
        let mut pops: std::collections::BTreeMap<String, (usize, usize)> = std::collections::BTreeMap::new();
        let (mut active, mut total) = (0, 0);
        r.mitigations(&Page { limit: 0, ..Page::default() }, |m: &Mitigation| {
            let e = pops.entry(m.pop.clone()).or_default();
            e.1 += 1;
            total += 1;
            if m.status.is_active() {
                e.0 += 1;
                active += 1;
            }
            false
        })?;
        let events = r.event_count()?;
        Ok((pops.into_iter().map(|(p, (a, t))| (p, a, t)).collect(), active, total, events))
    })
    .await
}

#[utoipa::path(get, path = "/v1/stats", tag = "stats", responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn stats(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (pops, active, total, events) = counts(&s).await?;
    Ok(axum::Json(json!({
        "total_active": active,
        "total_mitigations": total,
        "total_events": events,
        "pops": pops.iter().map(|(p, a, t)| json!({"pop": p, "active": a, "total": t})).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[utoipa::path(get, path = "/v1/pops", tag = "stats", responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn pops(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (pops, ..) = counts(&s).await?;
    Ok(axum::Json(
        pops.iter()
            .map(|(p, a, t)| json!({"pop": p, "active_mitigations": a, "total_mitigations": t}))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[utoipa::path(get, path = "/v1/peers", tag = "bgp", responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn peers(State(s): State<AppState>) -> Response {
    let policy = s.engine.shared.policy();
    let states = s.engine.shared.peers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let v: Vec<Value> = policy
        .config
        .bgp
        .peers
        .iter()
        .map(|p| {
            json!({
                "address": p.address,
                "remote_as": p.remote_as,
                "state": states.get(&p.address).cloned().unwrap_or_else(|| "Idle".into()),
                "families": p.families,
            })
        })
        .collect();
    axum::Json(v).into_response()
}

#[utoipa::path(get, path = "/v1/ip/{ip}/history", tag = "stats", params(("ip" = String, Path,)), responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn ip_history(State(s): State<AppState>, Path(ip): Path<String>) -> Result<Response, ApiError> {
    let ip: IpAddr = ip.parse().map_err(|_| ApiError::bad_request(format!("{ip:?} is not an IP address")))?;
    let page = Page { limit: 1000, ..Page::default() };
    let (events, mitigations) =
        read(&s, move |r| Ok((r.events(&page, |e| e.victim_ip == ip)?, r.mitigations(&page, |m| m.victim_ip == ip)?)))
            .await?;
    Ok(axum::Json(json!({"ip": ip, "events": events.items, "mitigations": mitigations.items})).into_response())
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(("limit" = Option<usize>, Query,), ("offset" = Option<usize>, Query,), ("cursor" = Option<String>, Query,), ("action" = Option<String>, Query,), ("actor_id" = Option<String>, Query,), ("target_id" = Option<String>, Query,)), responses((status = 200, body = Vec<AuditRecord>), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn audit(State(s): State<AppState>, Q(q): Q<ListQuery>) -> Result<Response, ApiError> {
    q.only(&["action", "actor_id", "target_id"])?;
    let page = q.page()?;
    let l = read(&s, move |r| {
        r.audit(&page, |a| {
            q.action.as_ref().is_none_or(|x| *x == a.action)
                && q.actor_id.as_ref().is_none_or(|x| a.actor_id.as_ref() == Some(x))
                && q.target_id.as_ref().is_none_or(|x| a.target_id.as_ref() == Some(x))
        })
    })
    .await?;
    let mut r = axum::Json(l.items).into_response();
    r.headers_mut().insert("x-total-count", HeaderValue::from(l.total));
    if let Some(c) = l.next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert("x-next-cursor", c);
    }
    Ok(r)
}

#[utoipa::path(post, path = "/v1/reconcile", tag = "bgp", responses((status = 200, body = ReconcileReport), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn reconcile(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    s.engine.send(Req::Reconcile(tx)).await?;
    let r = rx.await.map_err(|_| ApiError::shutting_down())?;
    Ok(axum::Json(r).into_response())
}

/// Settings with nothing secret: an allowlist, not a blocklist.
pub fn redacted_settings(c: &Config) -> Value {
    json!({
        "pop": c.pop,
        "mode": if c.mode == crate::config::Mode::Enforced { "enforced" } else { "dry-run" },
        "http": {"listen": c.http.listen, "max_body_bytes": c.http.max_body_bytes,
                 "request_timeout_seconds": c.http.request_timeout_seconds,
                 "max_batch_events": c.http.max_batch_events,
                 "tls": c.http.tls.as_ref().map(|t| json!({"mutual": t.client_ca_path.is_some()})),
                 "auth": {"mode": match c.http.auth.mode { AuthMode::Bearer => "bearer", AuthMode::Mtls => "mtls", AuthMode::None => "none" },
                          "tokens": c.http.auth.tokens.iter().map(|t| json!({"name": t.name, "role": t.role})).collect::<Vec<_>>(),
                          "clients": c.http.auth.clients.iter().map(|k| json!({"name": k.name, "role": k.role})).collect::<Vec<_>>()}},
        "bgp": {"router_id": c.bgp.router_id, "local_as": c.bgp.local_as, "listen": c.bgp.listen,
                "peers": c.bgp.peers.iter().map(|p| json!({
                    "address": p.address, "remote_as": p.remote_as, "port": p.port, "passive": p.passive,
                    "hold_time": p.hold_time, "families": p.families, "ttl_security": p.ttl_security,
                    "graceful_restart_time": p.graceful_restart_time, "md5": p.md5_password_env.is_some(),
                })).collect::<Vec<_>>()},
        "guardrails": {"min_ttl_seconds": c.guardrails.min_ttl_seconds, "max_ttl_seconds": c.guardrails.max_ttl_seconds,
                       "dst_prefix_minlen": c.guardrails.dst_prefix_minlen, "dst_prefix_maxlen": c.guardrails.dst_prefix_maxlen,
                       "dst_prefix_minlen_v6": c.guardrails.dst_prefix_minlen_v6, "dst_prefix_maxlen_v6": c.guardrails.dst_prefix_maxlen_v6,
                       "max_ports": c.guardrails.max_ports, "kill_switch": c.guardrails.kill_switch},
        "quotas": {"max_active_per_customer": c.quotas.max_active_per_customer, "max_active_per_pop": c.quotas.max_active_per_pop,
                   "max_active_global": c.quotas.max_active_global, "max_new_per_minute": c.quotas.max_new_per_minute,
                   "max_announcements_per_peer": c.quotas.max_announcements_per_peer},
        "timers": {"default_ttl_seconds": c.timers.default_ttl_seconds,
                   "reconciliation_interval_seconds": c.timers.reconciliation_interval_seconds,
                   "correlation_window_seconds": c.timers.correlation_window_seconds,
                   "quiet_period_seconds": c.timers.quiet_period_seconds},
        "escalation": {"enabled": c.escalation.enabled, "min_persistence_seconds": c.escalation.min_persistence_seconds,
                       "min_confidence": c.escalation.min_confidence,
                       "max_escalated_duration_seconds": c.escalation.max_escalated_duration_seconds},
        "storage": {"path": c.storage.path},
        "safelist": {"prefixes": c.safelist.prefixes.iter().map(ToString::to_string).collect::<Vec<_>>()},
        // Secrets live in environment variables; only the variables' names are shown, and a URL
        // given in the file only as scheme and host.
        "alerts": {"queue": c.alerts.queue, "max_attempts": c.alerts.max_attempts, "retry_base_ms": c.alerts.retry_base_ms,
                   "allow_private_destinations": c.alerts.allow_private_destinations,
                   "destinations": c.alerts.destinations.iter().map(|d| json!({
                       "name": d.name, "type": d.kind,
                       "url": d.url.as_deref().map(url_origin),
                       "url_env": d.url_env, "secret_env": d.secret_env, "events": d.events,
                   })).collect::<Vec<_>>()},
    })
}

#[utoipa::path(get, path = "/v1/config/settings", tag = "config", responses((status = 200, description = "redacted settings", body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn settings(State(s): State<AppState>) -> Response {
    axum::Json(redacted_settings(&s.engine.shared.policy().config)).into_response()
}

#[utoipa::path(get, path = "/v1/config/inventory", tag = "config", responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn inventory(State(s): State<AppState>) -> Response {
    axum::Json(s.engine.shared.policy().inventory.clone()).into_response()
}

#[utoipa::path(get, path = "/v1/config/playbooks", tag = "config", responses((status = 200, body = Object), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn get_playbooks(State(s): State<AppState>) -> Response {
    let p = s.engine.shared.policy();
    axum::Json(json!({"playbooks": p.playbooks.playbooks, "file": p.playbooks_file})).into_response()
}

#[utoipa::path(put, path = "/v1/config/playbooks", tag = "config", request_body = Playbooks, responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn put_playbooks(
    State(s): State<AppState>,
    a: Ext,
    Body(p): Body<crate::playbook::Playbooks>,
) -> Result<Response, ApiError> {
    // One policy change at a time: the file written and the policy running stay the same.
    let _one = POLICY_CHANGE.lock().await;
    let policy = s.engine.shared.policy();
    let g = &policy.config.guardrails;
    let errors = p.check(g.min_ttl_seconds, g.max_ttl_seconds);
    if !errors.is_empty() {
        return Err(ApiError::bad_request("invalid playbooks").with("errors", errors));
    }
    let Some(file) = policy.playbooks_file.clone() else {
        return Err(ApiError::conflict(
            "playbooks are not in their own file (inline or built in); set playbooks = \"FILE\" in the config to edit them here",
        ));
    };
    let text = toml::to_string(&p).map_err(|e| ApiError::new(500, e.to_string()))?;
    let write = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || write_atomic(&file, text.as_bytes()))
    };
    write
        .await
        .map_err(|e| ApiError::new(500, e.to_string()))?
        .map_err(|e| ApiError::new(500, format!("{}: {e}", file.display())))?;
    let mut next = (*policy).clone();
    next.playbooks = p;
    let actor = actor(a);
    s.engine.call(|r| Req::SetPolicy(Arc::new(next), "playbooks_updated", actor, r)).await?;
    Ok(axum::Json(json!({"updated": true, "file": file})).into_response())
}

/// Writes a file so that readers see the old or the new content, never a mix: a temporary file in
/// the same directory, fsync, the old one kept as `FILE.bak`, rename.
pub fn write_atomic(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    if path.exists() {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        std::fs::copy(path, std::path::PathBuf::from(bak))?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/config/reload", tag = "config", responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 400, description = "bad input", body = ErrorBody), (status = 401, description = "not authenticated", body = ErrorBody), (status = 403, description = "role may not", body = ErrorBody)))]
async fn reload(State(s): State<AppState>, a: Ext) -> Result<Response, ApiError> {
    let Some(path) = s.config_path.clone() else {
        return Err(ApiError::conflict("running on embedded defaults: there is no file to reload"));
    };
    let v = reload_config(&s.engine, &path, actor(a)).await?;
    Ok(axum::Json(v).into_response())
}

/// Held by a reload and by `PUT /v1/config/playbooks` while they read, write and apply policy.
static POLICY_CHANGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A peer change a failed reload takes back.
enum Undo {
    /// Remove it again.
    Added(std::net::IpAddr),
    /// Put its previous settings back (unknown when they no longer build, e.g. a secret's
    /// environment variable is gone).
    Replaced(std::net::IpAddr, Option<speaker::PeerConfig>),
}

/// Takes back what a failed reload did to the peers, newest first; says what it did.
async fn undo_peers(sp: &speaker::Speaker, undo: Vec<Undo>) -> String {
    let mut failed = Vec::new();
    let n = undo.len();
    for u in undo.into_iter().rev() {
        let r = match u {
            Undo::Added(a) => sp.remove_peer(a).await.map_err(|e| e.to_string()),
            Undo::Replaced(_, Some(pc)) => sp.replace_peer(pc).await.map_err(|e| e.to_string()),
            Undo::Replaced(a, None) => Err(format!("peer {a}: its previous settings cannot be rebuilt")),
        };
        if let Err(e) = r {
            failed.push(e);
        }
    }
    match (n, failed.is_empty()) {
        (0, _) => "no peer had changed".into(),
        (_, true) => format!("the {n} peer change(s) made before were taken back"),
        (_, false) => format!("taking back the peer changes failed: {}", failed.join("; ")),
    }
}

/// Reloads the configuration file (for `POST /v1/config/reload` and SIGHUP): everything is
/// checked first (the file, the inventory and playbooks, every peer's settings and secrets), then
/// applied at once: policy, guardrails, quotas, timers, safelist, inventory, playbooks, and the
/// peers (added, removed, or replaced when their settings changed; the others untouched). A
/// config that does not check changes nothing and the answer says why. `router_id`, `local_as`,
/// `[bgp] listen`, `[http]`, `[storage]` and `mode` need a restart and keep their running values.
/// Should a peer fail to start all the same (the kernel refusing its TCP-MD5 key), or the
/// commit of the new policy fail, the peers changed so far are put back and the old policy keeps
/// running.
pub async fn reload_config(engine: &Handle, path: &std::path::Path, actor: Actor) -> Result<Value, ApiError> {
    // One reload at a time (SIGHUP and the API may come together), nor beside a playbooks PUT.
    let _one = POLICY_CHANGE.lock().await;
    let reloads = engine.shared.metrics.config_reloads.clone();
    let count = |status: &str| reloads.get_or_create(&crate::metrics::Status { status: status.into() }).inc();
    let p = path.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        let loaded = Config::load_all(&p).map_err(|e| e.to_string())?;
        let peers = loaded
            .config
            .bgp
            .peers
            .iter()
            .map(|peer| crate::service::peer_config(peer, false).map(|pc| (peer.clone(), pc)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, String>((loaded, peers))
    })
    .await
    .map_err(|e| ApiError::new(500, e.to_string()))?;
    let (loaded, peers) = checked.map_err(|e| {
        count("error");
        ApiError::bad_request(format!("config not reloaded, nothing changed: {e}"))
    })?;
    let old = engine.shared.policy();
    let mut restart = Vec::new();
    let (ob, nb) = (&old.config.bgp, &loaded.config.bgp);
    if ob.router_id != nb.router_id || ob.local_as != nb.local_as || ob.listen != nb.listen {
        restart.push("bgp (router_id, local_as, listen)");
    }
    if loaded.config.http != old.config.http {
        restart.push("http");
    }
    if loaded.config.storage != old.config.storage {
        restart.push("storage");
    }
    if loaded.config.mode != old.config.mode {
        restart.push("mode");
    }
    if loaded.config.alerts != old.config.alerts {
        restart.push("alerts");
    }
    if nb.shutdown != ob.shutdown {
        restart.push("bgp.shutdown");
    }
    if loaded.config.pop != old.config.pop {
        restart.push("pop");
    }
    // Peers: what to add, remove and replace. Additions and replacements are undone if one of
    // them (or the policy's commit) fails; removals come last, when nothing can fail any more.
    let (mut added, mut removed, mut replaced) = (Vec::new(), Vec::new(), Vec::new());
    let mut undo: Vec<Undo> = Vec::new();
    if let Some(sp) = &engine.speaker {
        for old_peer in &ob.peers {
            if !nb.peers.iter().any(|p| p.address == old_peer.address) {
                removed.push(old_peer.address);
            }
        }
        for (new_peer, pc) in peers {
            let done = match ob.peers.iter().find(|p| p.address == new_peer.address) {
                None => sp.add_peer(pc).map(|()| {
                    added.push(new_peer.address);
                    undo.push(Undo::Added(new_peer.address));
                }),
                Some(o) if *o != new_peer => {
                    let before = crate::service::peer_config(o, false).ok();
                    sp.replace_peer(pc).await.map(|()| {
                        replaced.push(new_peer.address);
                        undo.push(Undo::Replaced(new_peer.address, before));
                    })
                }
                Some(_) => Ok(()),
            };
            if let Err(e) = done {
                count("error");
                let undone = undo_peers(sp, undo).await;
                return Err(ApiError::new(500, format!("config not reloaded: {e}; {undone}")));
            }
        }
    } else if nb.peers != ob.peers {
        restart.push("bgp peers (the daemon started without a BGP speaker)");
    }
    // Sections that need a restart keep their running values until then.
    let mut next = loaded;
    next.config.bgp.router_id = ob.router_id;
    next.config.bgp.local_as = ob.local_as;
    next.config.bgp.listen = ob.listen.clone();
    if engine.speaker.is_none() {
        next.config.bgp.peers = ob.peers.clone();
    }
    next.config.http = old.config.http.clone();
    next.config.storage = old.config.storage.clone();
    next.config.mode = old.config.mode;
    next.config.alerts = old.config.alerts.clone();
    next.config.bgp.shutdown = ob.shutdown;
    next.config.pop = old.config.pop.clone();
    if let Err(e) = engine.call(|r| Req::SetPolicy(Arc::new(next), "config_reloaded", actor, r)).await {
        count("error");
        if let Some(sp) = &engine.speaker {
            let undone = undo_peers(sp, undo).await;
            return Err(e.with("peers", undone));
        }
        return Err(e);
    }
    if let Some(sp) = &engine.speaker {
        for r in &removed {
            let _ = sp.remove_peer(*r).await;
            engine.shared.peers.lock().unwrap_or_else(|p| p.into_inner()).remove(r);
            engine.shared.metrics.bgp_session_up.remove(&crate::metrics::Peer { peer: r.to_string() });
        }
    }
    count("ok");
    Ok(json!({
        "reloaded": ["inventory", "playbooks", "guardrails", "quotas", "timers", "escalation", "safelist", "bgp peers"],
        "peers": {"added": added, "removed": removed, "replaced": replaced},
        "restart_required": restart,
        "timestamp": crate::model::rfc3339(now_ms()),
    }))
}

#[cfg(test)]
mod tests {
    use super::local_host;

    #[test]
    fn local_hosts() {
        for ok in ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:80", "[::1]:8080", "[::1]", "::1"] {
            assert!(local_host(ok), "{ok}");
        }
        for ok in ["http://127.0.0.1:8080", "http://localhost", "https://[::1]:8443"] {
            assert!(local_host(ok), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8080", "http://evil.example", "null", "", "192.0.2.1", "[::1"] {
            assert!(!local_host(bad), "{bad}");
        }
        assert!(!local_host("127.0.0.1.evil.example"));
        assert!(!local_host("localhost.evil.example:8080"));
    }

    #[test]
    fn shown_urls_keep_no_secret() {
        use super::url_origin;
        assert_eq!(url_origin("https://u:s3cret@hook.example.com/x"), "https://hook.example.com");
        assert_eq!(url_origin("https://hook.example.com?token=abc"), "https://hook.example.com");
        assert_eq!(url_origin("https://hook.example.com:8443/services/T0/B0/XYZ"), "https://hook.example.com:8443");
        assert_eq!(url_origin("https://hook.example.com#k=v"), "https://hook.example.com");
    }
}
