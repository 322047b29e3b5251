//! The speaker handle: listeners, peers, the Loc-RIB, and the event stream.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};

use bgp_core::message::{cease, Notification};
use bgp_core::Family;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{PeerConfig, SpeakerConfig};
use crate::event::Event;
use crate::peer::{Command, LocRib, PeerStatus, PeerTask};
use crate::rib_out::Change;
use crate::route::{Nlri, Route, RouteAttributes};

/// Errors of the speaker API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeakerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A peer with this address exists already.
    #[error("peer {0} exists already")]
    PeerExists(IpAddr),
    /// No peer with this address.
    #[error("no peer {0}")]
    NoSuchPeer(IpAddr),
    /// The peer's configuration cannot work ([`PeerConfig::check`]).
    #[error("peer {peer}: {reason}")]
    InvalidPeer {
        /// The peer.
        peer: IpAddr,
        /// What is wrong.
        reason: String,
    },
    /// A socket option (TCP-MD5) could not be set.
    #[error("cannot set {option} for {peer}: {source}")]
    SocketOption {
        /// Which option.
        option: &'static str,
        /// The peer.
        peer: IpAddr,
        /// Why.
        source: std::io::Error,
    },
}

struct PeerHandle {
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

struct Inner {
    config: SpeakerConfig,
    loc_rib: LocRib,
    /// One shared copy of each distinct attribute set: thousands of rules with the same action
    /// cost one allocation, and UPDATE packing groups them by pointer.
    attributes: Mutex<std::collections::HashSet<Arc<RouteAttributes>>>,
    peers: Mutex<HashMap<IpAddr, PeerHandle>>,
    events: mpsc::UnboundedSender<Event>,
    listeners: Mutex<Vec<JoinHandle<()>>>,
    /// The listening sockets, for per-peer TCP-MD5 keys.
    listener_fds: Mutex<Vec<(SocketAddr, std::os::fd::RawFd)>>,
}

/// An embeddable BGP speaker. Cloning gives another handle to the same speaker.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use speaker::{PeerConfig, Route, Speaker, SpeakerConfig};
///
/// let config = SpeakerConfig { local_as: 65000, router_id: "192.0.2.1".parse()?, listen: vec![] };
/// let (speaker, mut events) = Speaker::start(config).await?;
/// speaker.add_peer(PeerConfig::new("192.0.2.2".parse()?, 65001))?;
/// let rule: flowspec::FlowRule = "dst 203.0.113.7/32 proto =17 sport =53 then discard".parse()?;
/// speaker.announce([Route::flowspec(&rule)?]);
/// while let Some(event) = events.recv().await {
///     println!("{event:?}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Speaker {
    inner: Arc<Inner>,
}

impl Speaker {
    /// Binds the listeners and returns the speaker with its event stream: one ordered, lossless
    /// stream for all peers (unbounded: a consumer that stops reading makes it grow).
    pub async fn start(config: SpeakerConfig) -> Result<(Speaker, mpsc::UnboundedReceiver<Event>), SpeakerError> {
        let (events, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            config: config.clone(),
            loc_rib: Arc::new(RwLock::new(HashMap::new())),
            attributes: Mutex::new(std::collections::HashSet::new()),
            peers: Mutex::new(HashMap::new()),
            events,
            listeners: Mutex::new(Vec::new()),
            listener_fds: Mutex::new(Vec::new()),
        });
        let speaker = Speaker { inner };
        for addr in &config.listen {
            let listener =
                TcpListener::bind(addr).await.map_err(|source| SpeakerError::Listen { addr: *addr, source })?;
            info!(%addr, "listening");
            {
                use std::os::fd::AsRawFd;
                speaker
                    .inner
                    .listener_fds
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((*addr, listener.as_raw_fd()));
            }
            let weak = Arc::downgrade(&speaker.inner);
            let task = tokio::spawn(async move {
                loop {
                    let (stream, from) = match listener.accept().await {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            warn!("accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let Some(inner) = weak.upgrade() else { return };
                    let peers = inner.peers.lock().unwrap_or_else(|p| p.into_inner());
                    match peers.get(&from.ip()) {
                        Some(p) => {
                            let _ = p.commands.send(Command::Accepted(stream));
                        }
                        None => debug!(%from, "connection from an unknown address closed"),
                    }
                }
            });
            speaker.lock_listeners().push(task);
        }
        Ok((speaker, rx))
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.inner.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_peers(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, PeerHandle>> {
        self.inner.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a peer and starts its session (connecting, or waiting when passive).
    pub fn add_peer(&self, config: PeerConfig) -> Result<(), SpeakerError> {
        config.check()?;
        let mut peers = self.lock_peers();
        if peers.contains_key(&config.address) {
            return Err(SpeakerError::PeerExists(config.address));
        }
        if let Some(key) = &config.md5_password {
            for (addr, fd) in self.inner.listener_fds.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                if addr.is_ipv4() == config.address.is_ipv4() {
                    crate::sockopt::set_md5(*fd, config.address, key.as_bytes()).map_err(|source| {
                        SpeakerError::SocketOption { option: "TCP-MD5", peer: config.address, source }
                    })?;
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let address = config.address;
        let task = PeerTask::new(
            config,
            self.inner.config.local_as,
            self.inner.config.router_id,
            self.inner.loc_rib.clone(),
            self.inner.events.clone(),
            rx,
        );
        let task = tokio::spawn(task.run());
        peers.insert(address, PeerHandle { commands: tx, task });
        Ok(())
    }

    /// Removes a peer: Cease / Peer De-configured (RFC 4486), then its task ends.
    pub async fn remove_peer(&self, address: IpAddr) -> Result<(), SpeakerError> {
        let handle = self.lock_peers().remove(&address).ok_or(SpeakerError::NoSuchPeer(address))?;
        for (addr, fd) in self.inner.listener_fds.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if addr.is_ipv4() == address.is_ipv4() {
                // Removing a key that was never set fails harmlessly (ENOENT).
                let _ = crate::sockopt::set_md5(*fd, address, &[]);
            }
        }
        stop(handle, Notification::new(6, cease::PEER_DECONFIGURED, Vec::new())).await;
        Ok(())
    }

    /// Changes a peer's configuration: the session closes with Cease / Other Configuration Change
    /// (RFC 4486) and starts again with the new settings; other peers are not touched. A
    /// configuration that does not [check](PeerConfig::check) leaves the running session alone.
    pub async fn replace_peer(&self, config: PeerConfig) -> Result<(), SpeakerError> {
        config.check()?;
        let handle = self.lock_peers().remove(&config.address).ok_or(SpeakerError::NoSuchPeer(config.address))?;
        stop(handle, Notification::new(6, cease::OTHER_CONFIGURATION_CHANGE, Vec::new())).await;
        self.add_peer(config)
    }

    /// Stops every peer with Cease / Administrative Shutdown (and an RFC 9003 message) and the
    /// listeners. Routes are withdrawn by the session going down.
    pub async fn shutdown(&self, message: Option<&str>) {
        let n = Notification::cease(cease::ADMINISTRATIVE_SHUTDOWN, message)
            .unwrap_or_else(|_| Notification::new(6, cease::ADMINISTRATIVE_SHUTDOWN, Vec::new()));
        let handles: Vec<PeerHandle> = self.lock_peers().drain().map(|(_, h)| h).collect();
        for h in handles {
            stop(h, n.clone()).await;
        }
        self.close_listeners();
    }

    /// Stops every peer without a NOTIFICATION, as a crash would: peers that negotiated graceful
    /// restart keep our routes (stale) for our restart time, so a new process that starts with
    /// `GracefulRestartConfig::restarting` re-announces them without the routers ever withdrawing
    /// them (RFC 4724).
    pub async fn shutdown_keep_routes(&self) {
        let handles: Vec<PeerHandle> = self.lock_peers().drain().map(|(_, h)| h).collect();
        for h in handles {
            let (tx, rx) = oneshot::channel();
            if h.commands.send(Command::Abandon { done: tx }).is_ok() {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), rx).await;
            }
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), h.task).await;
        }
        self.close_listeners();
    }

    fn close_listeners(&self) {
        self.inner.listener_fds.lock().unwrap_or_else(|p| p.into_inner()).clear();
        for l in self.lock_listeners().drain(..) {
            l.abort();
        }
    }

    /// Adds or replaces routes in the Loc-RIB and sends them to every Established peer that
    /// negotiated their family.
    pub fn announce(&self, routes: impl IntoIterator<Item = Route>) {
        let changes: Vec<Change> = {
            let mut interned = self.inner.attributes.lock().unwrap_or_else(|p| p.into_inner());
            // Drop attribute sets no route uses any more.
            interned.retain(|a| Arc::strong_count(a) > 1);
            routes
                .into_iter()
                .map(|mut r| {
                    match interned.get(&r.attributes) {
                        Some(shared) => r.attributes = shared.clone(),
                        None => {
                            interned.insert(r.attributes.clone());
                        }
                    }
                    Change::Announce(r)
                })
                .collect()
        };
        self.apply(changes);
    }

    /// Removes routes from the Loc-RIB and withdraws them from every peer.
    pub fn withdraw(&self, nlri: impl IntoIterator<Item = Nlri>) {
        let changes: Vec<Change> = nlri.into_iter().map(Change::Withdraw).collect();
        self.apply(changes);
    }

    fn apply(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        {
            let mut rib = self.inner.loc_rib.write().unwrap_or_else(|p| p.into_inner());
            for c in &changes {
                match c {
                    Change::Announce(r) => {
                        rib.insert(r.nlri.clone(), r.attributes.clone());
                    }
                    Change::Withdraw(n) => {
                        rib.remove(n);
                    }
                }
            }
        }
        let changes = Arc::new(changes);
        for p in self.lock_peers().values() {
            if p.commands.send(Command::Changes(changes.clone())).is_err() {
                warn!("a peer task has ended");
            }
        }
    }

    /// The locally originated routes.
    pub fn local_rib(&self) -> Vec<Route> {
        let rib = self.inner.loc_rib.read().unwrap_or_else(|p| p.into_inner());
        rib.iter().map(|(n, a)| Route { nlri: n.clone(), attributes: a.clone() }).collect()
    }

    /// The addresses of the configured peers.
    pub fn peers(&self) -> Vec<IpAddr> {
        self.lock_peers().keys().copied().collect()
    }

    /// State and counters of a peer.
    pub async fn peer_status(&self, address: IpAddr) -> Option<PeerStatus> {
        let (tx, rx) = oneshot::channel();
        self.command(address, Command::Status(tx))?;
        rx.await.ok()
    }

    /// The routes announced to a peer in one family (its Adj-RIB-Out).
    pub async fn adj_rib_out(&self, address: IpAddr, family: Family) -> Option<Vec<Route>> {
        let (tx, rx) = oneshot::channel();
        self.command(address, Command::AdjRibOut(family, tx))?;
        rx.await.ok()
    }

    /// The routes received from a peer in one family (its Adj-RIB-In).
    pub async fn adj_rib_in(&self, address: IpAddr, family: Family) -> Option<Vec<Route>> {
        let (tx, rx) = oneshot::channel();
        self.command(address, Command::AdjRibIn(family, tx))?;
        rx.await.ok()
    }

    /// Asks a peer to send its routes of a family again (ROUTE-REFRESH, RFC 2918).
    pub fn request_refresh(&self, address: IpAddr, family: Family) -> Result<(), SpeakerError> {
        self.command(address, Command::RequestRefresh(family)).ok_or(SpeakerError::NoSuchPeer(address))
    }

    fn command(&self, address: IpAddr, c: Command) -> Option<()> {
        self.lock_peers().get(&address)?.commands.send(c).ok()
    }
}

async fn stop(handle: PeerHandle, notification: Notification) {
    let (tx, rx) = oneshot::channel();
    if handle.commands.send(Command::Stop { notification, done: tx }).is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), rx).await;
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), handle.task).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_that_cannot_work_changes_nothing() {
        let config = SpeakerConfig { local_as: 65000, router_id: "10.0.0.1".parse().unwrap(), listen: Vec::new() };
        let (speaker, _events) = Speaker::start(config).await.unwrap();
        // Passive and no listener: nothing is sent anywhere.
        let address: IpAddr = "127.0.86.1".parse().unwrap();
        let mut good = PeerConfig::new(address, 65001);
        good.passive = true;
        speaker.add_peer(good.clone()).unwrap();

        let mut long_key = PeerConfig::new("127.0.86.2".parse().unwrap(), 65001);
        long_key.md5_password = Some("k".repeat(81));
        let e = speaker.add_peer(long_key.clone()).unwrap_err();
        assert!(matches!(&e, SpeakerError::InvalidPeer { reason, .. } if reason.contains("81 bytes")), "{e}");
        long_key.md5_password = Some(String::new());
        assert!(matches!(speaker.add_peer(long_key).unwrap_err(), SpeakerError::InvalidPeer { .. }));
        assert_eq!(speaker.peers(), vec![address]);

        // Replacing with a hold time of 2 s or GTSM 0 hops leaves the running peer alone.
        let mut bad = good.clone();
        bad.hold_time = 2;
        assert!(matches!(speaker.replace_peer(bad).await.unwrap_err(), SpeakerError::InvalidPeer { .. }));
        let mut bad = good.clone();
        bad.ttl_security = Some(0);
        assert!(matches!(speaker.replace_peer(bad).await.unwrap_err(), SpeakerError::InvalidPeer { .. }));
        assert_eq!(speaker.peers(), vec![address]);
        assert!(speaker.peer_status(address).await.is_some());

        // Limits that work are accepted.
        let mut edge = good;
        edge.md5_password = Some("k".repeat(80));
        edge.hold_time = 3;
        edge.ttl_security = Some(1);
        assert_eq!(edge.check().map_err(|e| e.to_string()), Ok(()));
        speaker.shutdown(None).await;
    }
}
