//! `prefixd run`: the store, the speaker, the engine and the API, and an orderly stop on SIGTERM
//! or Ctrl-C.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use speaker::{GracefulRestartConfig, PeerConfig, Speaker, SpeakerConfig};
use tracing::{error, info, warn};

use crate::config::{AuthMode, Config, Loaded, Mode, ShutdownMode};
use crate::store::Store;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Something else, said plainly.
    #[error("{0}")]
    Other(String),
}

/// The speaker's peer configuration for a configured router.
pub fn peer_config(p: &crate::config::Peer, restarting: bool) -> Result<PeerConfig, String> {
    let mut pc = PeerConfig::new(p.address, p.remote_as);
    pc.port = p.port;
    pc.local_address = p.local_address;
    pc.passive = p.passive;
    pc.hold_time = p.hold_time;
    pc.families = p
        .families
        .iter()
        .map(|f| f.parse().map_err(|e| format!("peer {}: {e}", p.address)))
        .collect::<Result<_, _>>()?;
    if let Some(var) = &p.md5_password_env {
        pc.md5_password =
            Some(std::env::var(var).map_err(|_| format!("peer {}: environment variable {var} is not set", p.address))?);
    }
    pc.ttl_security = p.ttl_security;
    pc.connect_retry = std::time::Duration::from_secs(p.connect_retry_seconds);
    pc.extended_message = p.extended_message;
    if p.max_prefix > 0 {
        pc.max_prefix = Some(speaker::MaxPrefix {
            limit: p.max_prefix,
            action: match p.max_prefix_action {
                crate::config::MaxPrefixActionConfig::Warn => speaker::MaxPrefixAction::Warn,
                crate::config::MaxPrefixActionConfig::Teardown => speaker::MaxPrefixAction::Teardown {
                    restart_after: (p.max_prefix_restart_seconds > 0)
                        .then(|| std::time::Duration::from_secs(p.max_prefix_restart_seconds)),
                },
            },
        });
    }
    if p.graceful_restart_time > 0 {
        pc.graceful_restart =
            Some(GracefulRestartConfig { restart_time: p.graceful_restart_time, restarting, helper: true });
    }
    pc.check().map_err(|e| e.to_string())?;
    Ok(pc)
}

/// Reads the tokens' secrets from their environment variables or files. Secrets never reach a
/// log line or an error message; only names do.
pub fn load_tokens(auth: &crate::config::Auth) -> Result<crate::api::Tokens, String> {
    let mut out = Vec::new();
    if auth.tokens.is_empty() {
        let secret = std::env::var(&auth.bearer_token_env)
            .map_err(|_| format!("auth mode bearer: environment variable {} is not set", auth.bearer_token_env))?;
        out.push(crate::api::Token::new("bearer", crate::config::Role::Admin, secret.trim())?);
    }
    for t in &auth.tokens {
        let secret = match (&t.token_env, &t.token_file) {
            (Some(var), _) => {
                std::env::var(var).map_err(|_| format!("token {:?}: environment variable {var} is not set", t.name))?
            }
            (None, Some(file)) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(m) = std::fs::metadata(file) {
                        if m.permissions().mode() & 0o077 != 0 {
                            warn!(token = %t.name, file = %file.display(), "token file is readable by group or others");
                        }
                    }
                }
                std::fs::read_to_string(file).map_err(|e| format!("token {:?}: {}: {e}", t.name, file.display()))?
            }
            (None, None) => return Err(format!("token {:?}: no token_env or token_file", t.name)),
        };
        out.push(crate::api::Token::new(&t.name, t.role, secret.trim())?);
    }
    info!(tokens = ?out.iter().map(|t| format!("{}:{}", t.name, t.role.as_str())).collect::<Vec<_>>(), "API tokens loaded");
    Ok(std::sync::Arc::new(out))
}

/// Runs until SIGTERM or Ctrl-C.
pub async fn run(config_path: Option<PathBuf>) -> Result<(), StartError> {
    // SIGHUP is taken at once: its default action would end the process, and systemd treats that
    // as a clean exit.
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| StartError::Other(format!("SIGHUP handler: {e}")))?;
    let loaded: Loaded = match &config_path {
        Some(p) => Config::load_all(p)?,
        None => {
            warn!("no --config: embedded defaults (dry-run, API on 127.0.0.1:8080, no peers, example inventory of documentation prefixes)");
            Config::embedded()
        }
    };
    let cfg = loaded.config.clone();
    let tokens = match cfg.http.auth.mode {
        AuthMode::None => {
            warn!(listen = %cfg.http.listen, "API authentication is OFF (auth mode \"none\", loopback only)");
            None
        }
        AuthMode::Bearer => Some(load_tokens(&cfg.http.auth).map_err(StartError::Other)?),
        AuthMode::Mtls => None,
    };
    let tls = match &cfg.http.tls {
        Some(t) => Some(
            crate::tls::server_config(&t.cert_path, &t.key_path, t.client_ca_path.as_deref())
                .map_err(|e| StartError::Other(format!("http.tls: {e}")))?,
        ),
        None => None,
    };
    let existed = cfg.storage.path.exists();
    let store = Store::open_with_cache(&cfg.storage.path, cfg.storage.cache_mib << 20)?;
    info!(path = %cfg.storage.path.display(), existed, "store open");
    let audit_log = cfg.storage.audit_log_path();
    store.audit_log(&audit_log).map_err(|e| StartError::Other(format!("audit log {}: {e}", audit_log.display())))?;
    let peers: Vec<PeerConfig> =
        cfg.bgp.peers.iter().map(|p| peer_config(p, existed)).collect::<Result<_, _>>().map_err(StartError::Other)?;
    let (speaker, events) = if peers.is_empty() && cfg.bgp.listen.is_empty() {
        (None, None)
    } else {
        let sc =
            SpeakerConfig { local_as: cfg.bgp.local_as, router_id: cfg.bgp.router_id, listen: cfg.bgp.listen.clone() };
        let (s, e) = Speaker::start(sc).await.map_err(|e| StartError::Other(e.to_string()))?;
        (Some(s), Some(e))
    };
    if cfg.mode == Mode::DryRun {
        warn!("mode dry-run: sessions come up but nothing is announced; answers say what would be");
    }
    let (engine, engine_task) = crate::engine::start(store, Arc::new(loaded), speaker.clone(), events)?;
    for problem in
        crate::alerts::start(&cfg.alerts, engine.store.clone(), engine.shared.metrics.clone(), cfg.pop.clone())
    {
        warn!("alerts: {problem}");
    }
    // Peers after the desired set is in the Loc-RIB: it is their initial table.
    if let Some(s) = &speaker {
        for p in peers {
            s.add_peer(p).map_err(|e| StartError::Other(e.to_string()))?;
        }
    }
    let listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .map_err(|e| StartError::Other(format!("http listen {}: {e}", cfg.http.listen)))?;
    info!(listen = %cfg.http.listen, pop = %cfg.pop, tls = cfg.http.tls.is_some(), "API listening");
    let state = crate::api::AppState::new(engine.clone(), config_path.clone(), tokens, &cfg);
    let app = crate::api::router(state, &cfg);
    let shared = engine.shared.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let limits = crate::server::Limits {
        max_connections: cfg.http.max_connections,
        header_timeout: Duration::from_secs(cfg.http.header_timeout_seconds),
    };
    let server = tokio::spawn(crate::server::serve(listener, tls, app, limits, stop_rx));
    #[cfg(unix)]
    {
        let engine = engine.clone();
        let path = config_path.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let Some(path) = &path else {
                    warn!("SIGHUP: running on embedded defaults, there is no file to reload");
                    continue;
                };
                let actor = crate::model::Actor { kind: "system", id: "SIGHUP".into() };
                match crate::api::reload_config(&engine, path, actor).await {
                    Ok(v) => info!(result = %v, "SIGHUP: configuration reloaded"),
                    Err(e) => error!("SIGHUP: {}", e.error),
                }
            }
        });
    }
    wait_for_signal().await;
    info!("stopping: new changes get 503, queued ones are decided and committed");
    shared.stopping.store(true, Ordering::Relaxed);
    let (tx, rx) = tokio::sync::oneshot::channel();
    if engine.send(crate::engine::Request::Stop(tx)).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(10), rx).await;
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    if let Some(s) = &speaker {
        match (cfg.bgp.shutdown, cfg.mode) {
            (ShutdownMode::KeepRoutes, Mode::Enforced) => {
                info!("leaving the rules on graceful-restart routers until we are back");
                s.shutdown_keep_routes().await;
            }
            _ => s.shutdown(Some("prefixd shutting down")).await,
        }
    }
    engine_task.abort();
    // Every queued commit is done before the process ends.
    let store = engine.store.clone();
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
