//! `prefixd announce`: a static FlowSpec injector. Establishes sessions, announces the rules of a
//! file, keeps the sessions up until interrupted, then withdraws the rules and closes the sessions
//! with Cease / Administrative Shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bgp_core::Family;
use flowspec::FlowRule;
use serde::Deserialize;
use std::sync::Arc;

use speaker::{Event, Nlri, PeerConfig, Route, RouteAttributes, Speaker, SpeakerConfig};
use tracing::{error, info, warn};

#[derive(Debug, clap::Args)]
pub(crate) struct AnnounceArgs {
    /// Peers and identity in a TOML file (see docs/PEERING.md); or use the single-peer flags.
    #[arg(long, conflicts_with_all = ["local_as", "router_id", "peer", "peer_as"])]
    config: Option<PathBuf>,
    /// Rules, one per line in the FlowSpec text syntax; `#` starts a comment.
    #[arg(long)]
    rules: PathBuf,
    /// Our AS (single-peer form).
    #[arg(long)]
    local_as: Option<u32>,
    /// Our BGP identifier (single-peer form).
    #[arg(long)]
    router_id: Option<Ipv4Addr>,
    /// The peer, `ADDR` or `ADDR:PORT` / `[V6]:PORT` (single-peer form).
    #[arg(long)]
    peer: Option<String>,
    /// The peer's AS (single-peer form).
    #[arg(long)]
    peer_as: Option<u32>,
    /// Our address for the session; with `--listen` we also accept connections there.
    #[arg(long)]
    local_address: Option<IpAddr>,
    /// Accept connections on this address (e.g. 127.0.0.1:179).
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// Only accept the peer's connection; never connect.
    #[arg(long)]
    passive: bool,
    /// TCP-MD5 key for the session (RFC 2385); read from the environment variable
    /// PREFIXD_MD5_PASSWORD when that is set, so it need not appear in `ps`.
    #[arg(long, env = "PREFIXD_MD5_PASSWORD", hide_env_values = true)]
    md5_password: Option<String>,
    /// GTSM (RFC 5082): the peer is at most this many hops away.
    #[arg(long, value_name = "HOPS")]
    ttl_security: Option<u8>,
    /// Offer graceful restart (RFC 4724) with this restart time in seconds.
    #[arg(long, value_name = "SECONDS")]
    graceful_restart: Option<u16>,
    /// This start follows a stop with --keep-routes: announce the restart (Restart State bit) so
    /// the routers keep our rules until our End-of-RIB. Needs --graceful-restart.
    #[arg(long, requires = "graceful_restart")]
    restarting: bool,
    /// On stop, leave the rules on the routers: close the sessions without NOTIFICATION so
    /// graceful-restart routers keep them (stale) for the restart time. Needs --graceful-restart.
    #[arg(long, requires = "graceful_restart")]
    keep_routes: bool,
    /// Stop after this many seconds (for scripts and tests); default: until interrupted.
    #[arg(long)]
    duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    local_as: u32,
    router_id: Ipv4Addr,
    #[serde(default)]
    listen: Vec<SocketAddr>,
    #[serde(default, rename = "peer")]
    peers: Vec<FilePeer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePeer {
    address: IpAddr,
    remote_as: u32,
    #[serde(default = "default_port")]
    port: u16,
    local_address: Option<IpAddr>,
    #[serde(default)]
    passive: bool,
    #[serde(default = "default_hold")]
    hold_time: u16,
    families: Option<Vec<String>>,
    md5_password: Option<String>,
    ttl_security: Option<u8>,
}

fn default_port() -> u16 {
    179
}

fn default_hold() -> u16 {
    90
}

fn parse_peer(s: &str) -> Result<(IpAddr, u16), String> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok((a, 179));
    }
    s.parse::<SocketAddr>().map(|a| (a.ip(), a.port())).map_err(|_| format!("bad peer address {s:?}"))
}

/// Reads the rules file line by line. Rules with the same actions share one attribute set, so a
/// large file of `then discard` rules costs one allocation for all their attributes.
fn load_rules(path: &PathBuf) -> Result<Vec<Route>, String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut shared: std::collections::HashMap<RouteAttributes, Arc<RouteAttributes>> = std::collections::HashMap::new();
    let mut routes = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let rule: FlowRule = line.parse().map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let nlri = Nlri::flowspec(&rule.spec).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let attrs = RouteAttributes::from_actions(&rule.actions);
        let attrs = shared.entry(attrs.clone()).or_insert_with(|| Arc::new(attrs)).clone();
        routes.push(Route::new(nlri, attrs));
    }
    Ok(routes)
}

fn build(args: &AnnounceArgs) -> Result<(SpeakerConfig, Vec<PeerConfig>), String> {
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cfg: FileConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut peers = Vec::new();
        for p in cfg.peers {
            let mut pc = PeerConfig::new(p.address, p.remote_as);
            pc.port = p.port;
            pc.local_address = p.local_address;
            pc.passive = p.passive;
            pc.hold_time = p.hold_time;
            pc.md5_password = p.md5_password;
            pc.ttl_security = p.ttl_security;
            if let Some(f) = p.families {
                pc.families = f
                    .iter()
                    .map(|s| s.parse::<Family>().map_err(|e| format!("{}: peer {}: {e}", path.display(), p.address)))
                    .collect::<Result<_, _>>()?;
            }
            peers.push(pc);
        }
        return Ok((SpeakerConfig { local_as: cfg.local_as, router_id: cfg.router_id, listen: cfg.listen }, peers));
    }
    let (Some(local_as), Some(router_id), Some(peer), Some(peer_as)) =
        (args.local_as, args.router_id, &args.peer, args.peer_as)
    else {
        return Err("give --config, or all of --local-as, --router-id, --peer and --peer-as".into());
    };
    let (addr, port) = parse_peer(peer)?;
    let mut pc = PeerConfig::new(addr, peer_as);
    pc.port = port;
    pc.local_address = args.local_address;
    pc.passive = args.passive;
    pc.md5_password = args.md5_password.clone();
    pc.ttl_security = args.ttl_security;
    Ok((SpeakerConfig { local_as, router_id, listen: args.listen.clone() }, vec![pc]))
}

pub(crate) fn run(args: &AnnounceArgs) -> std::io::Result<ExitCode> {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let (config, mut peers) = match build(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("prefixd announce: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(restart_time) = args.graceful_restart {
        for p in &mut peers {
            p.graceful_restart =
                Some(speaker::GracefulRestartConfig { restart_time, restarting: args.restarting, helper: true });
        }
    }
    let routes = match load_rules(&args.rules) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("prefixd announce: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    Ok(rt.block_on(async move {
        let (speaker, mut events) = match Speaker::start(config).await {
            Ok(s) => s,
            Err(e) => {
                error!("{e}");
                return ExitCode::from(1);
            }
        };
        info!(rules = routes.len(), "announcing");
        speaker.announce(routes);
        for p in peers {
            if let Err(e) = speaker.add_peer(p) {
                error!("{e}");
                return ExitCode::from(1);
            }
        }
        let stop = async {
            match args.duration {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => wait_for_signal().await,
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                Some(e) = events.recv() => log_event(&e),
            }
        }
        for p in speaker.peers() {
            if let Some(s) = speaker.peer_status(p).await {
                info!(
                    peer = %p,
                    state = ?s.state,
                    updates_sent = s.counters.sent[1],
                    updates_received = s.counters.received[1],
                    adj_rib_out = s.adj_rib_out,
                    "peer counters"
                );
            }
        }
        if args.keep_routes {
            warn!("leaving the rules on the routers (--keep-routes): graceful-restart peers keep them until the restart time");
            speaker.shutdown_keep_routes().await;
        } else {
            let nlri: Vec<_> = speaker.local_rib().into_iter().map(|r| r.nlri).collect();
            info!(rules = nlri.len(), "withdrawing");
            speaker.withdraw(nlri);
            tokio::time::sleep(Duration::from_millis(300)).await;
            speaker.shutdown(Some("prefixd announce stopped")).await;
        }
        ExitCode::SUCCESS
    }))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn log_event(e: &Event) {
    match e {
        Event::PeerUp { peer, negotiated } => {
            info!(%peer, families = ?negotiated.families, hold = negotiated.hold_time, "peer up")
        }
        Event::PeerDown { peer, reason } => warn!(%peer, ?reason, "peer down"),
        Event::EndOfRib { peer, family } => info!(%peer, %family, "End-of-RIB received"),
        Event::RoutesReceived { peer, announced, withdrawn } => {
            info!(%peer, announced = announced.len(), withdrawn = withdrawn.len(), "routes received")
        }
        Event::NotificationSent { peer, notification } => warn!(%peer, %notification, "NOTIFICATION sent"),
        Event::NotificationReceived { peer, notification } => warn!(%peer, %notification, "NOTIFICATION received"),
        Event::UpdateErrors { peer, errors } => warn!(%peer, ?errors, "UPDATE errors (RFC 7606)"),
        Event::MaxPrefixExceeded { peer, count, limit } => warn!(%peer, count, limit, "maximum prefixes exceeded"),
        _ => {}
    }
}
