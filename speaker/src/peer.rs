//! One task per peer: a `select!` over commands, socket I/O and the session's next deadline. The
//! protocol lives in `bgp_core::fsm::Session`; this file only moves bytes and routes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bgp_core::attribute::{AttributeValue, MpNlri};
use bgp_core::fsm::{
    ConnectionId, Counters, Direction, DownReason, Event as FsmEvent, Negotiated, Output, Session, SessionConfig, State,
};
use bgp_core::message::{cease, Message, Notification, ReceivedUpdate, RouteRefresh, RouteRefreshSubtype, Update};
use bgp_core::{Family, Safi};
use bytes::Bytes;
use flowspec::FlowSpec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::config::{MaxPrefixAction, PeerConfig};
use crate::event::Event;
use crate::rib_out::{AdjRibOut, Change, Export};
use crate::route::{Nlri, Route, RouteAttributes};

/// The Loc-RIB of locally originated routes, shared with every peer task.
pub(crate) type LocRib = Arc<RwLock<HashMap<Nlri, Arc<RouteAttributes>>>>;

/// What the application can learn about a peer.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// The peer's address.
    pub address: IpAddr,
    /// Session state.
    pub state: State,
    /// Message counters.
    pub counters: Counters,
    /// What was negotiated, when Established.
    pub negotiated: Option<Negotiated>,
    /// Routes announced to the peer.
    pub adj_rib_out: usize,
    /// Routes received from the peer.
    pub adj_rib_in: usize,
}

pub(crate) enum Command {
    Changes(Arc<Vec<Change>>),
    Accepted(TcpStream),
    Stop {
        notification: Notification,
        done: oneshot::Sender<()>,
    },
    Status(oneshot::Sender<PeerStatus>),
    AdjRibOut(Family, oneshot::Sender<Vec<Route>>),
    AdjRibIn(Family, oneshot::Sender<Vec<Route>>),
    RequestRefresh(Family),
    /// Go away without a NOTIFICATION, so a graceful-restart helper keeps our routes.
    Abandon {
        done: oneshot::Sender<()>,
    },
}

enum Io {
    Connected(TcpStream),
    ConnectFailed,
    Data(ConnectionId, Bytes),
    Closed(ConnectionId),
}

struct Conn {
    writer: mpsc::UnboundedSender<Bytes>,
    writer_task: tokio::task::JoinHandle<()>,
    reader: tokio::task::JoinHandle<()>,
}

pub(crate) struct PeerTask {
    config: PeerConfig,
    local_as: u32,
    session: Session,
    loc_rib: LocRib,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::UnboundedReceiver<Command>,
    io_tx: mpsc::UnboundedSender<Io>,
    io_rx: mpsc::UnboundedReceiver<Io>,
    conns: HashMap<ConnectionId, Conn>,
    local_addr: Option<IpAddr>,
    rib_out: AdjRibOut,
    rib_in: HashMap<Nlri, Arc<RouteAttributes>>,
    /// Routes of a restarting peer kept under graceful restart (RFC 4724 §4.2), and when they go.
    stale: std::collections::HashSet<Nlri>,
    stale_until: Option<tokio::time::Instant>,
    /// The peer's graceful restart capability on the last Established session.
    last_peer_gr: Option<bgp_core::capability::GracefulRestart>,
    /// Writers of closed connections still flushing.
    closing: Vec<tokio::task::JoinHandle<()>>,
    export: Option<Export>,
}

/// GTSM minimum TTL for a peer `hops` away (RFC 5082 §3: 255 for a directly connected peer).
fn min_ttl(hops: u8) -> u8 {
    255u8.saturating_sub(hops.saturating_sub(1))
}

/// The graceful restart capability: Restart State and Forwarding State bits only when `restarting`.
fn gr_capability(
    g: &crate::config::GracefulRestartConfig,
    families: &[Family],
    restarting: bool,
) -> bgp_core::capability::GracefulRestart {
    use bgp_core::capability::{GracefulRestart, GracefulRestartFamily};
    GracefulRestart {
        restart_flags: if restarting { GracefulRestart::RESTART_STATE } else { 0 },
        restart_time: g.restart_time.min(4095),
        families: families
            .iter()
            .map(|f| GracefulRestartFamily {
                family: *f,
                flags: if restarting { GracefulRestartFamily::FORWARDING_STATE } else { 0 },
            })
            .collect(),
    }
}

impl PeerTask {
    pub(crate) fn new(
        config: PeerConfig,
        local_as: u32,
        router_id: std::net::Ipv4Addr,
        loc_rib: LocRib,
        events: mpsc::UnboundedSender<Event>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> PeerTask {
        let mut sc = SessionConfig::new(local_as, router_id, 0);
        sc.peer_as = config.remote_as.clone();
        sc.hold_time = config.hold_time;
        sc.passive = config.passive;
        sc.families = config.families.clone();
        sc.connect_retry_time = config.connect_retry;
        sc.idle_hold_time = config.idle_hold;
        sc.extended_message = config.extended_message;
        sc.graceful_restart = config.graceful_restart.map(|g| gr_capability(&g, &config.families, g.restarting));
        let (io_tx, io_rx) = mpsc::unbounded_channel();
        PeerTask {
            config,
            local_as,
            session: Session::new(sc),
            loc_rib,
            events,
            commands,
            io_tx,
            io_rx,
            conns: HashMap::new(),
            local_addr: None,
            rib_out: AdjRibOut::new(),
            rib_in: HashMap::new(),
            stale: std::collections::HashSet::new(),
            stale_until: None,
            last_peer_gr: None,
            closing: Vec::new(),
            export: None,
        }
    }

    fn peer(&self) -> IpAddr {
        self.config.address
    }

    fn emit(&self, e: Event) {
        // The application dropped its receiver: nobody is listening, which is its choice.
        let _ = self.events.send(e);
    }

    pub(crate) async fn run(mut self) {
        self.session.start(Instant::now());
        loop {
            self.drain();
            let deadline = self.session.poll_timeout().map(tokio::time::Instant::from_std);
            let deadline = match (deadline, self.stale_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Stop { notification, done }) => {
                        self.session.close_with(notification, Instant::now());
                        let _ = self.session.stop(None, Instant::now());
                        self.finish().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(Command::Abandon { done }) => {
                        self.session.abandon(Instant::now());
                        self.finish().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(c) => self.command(c),
                    None => return,
                },
                Some(io) = self.io_rx.recv() => self.io(io),
                () = sleep => {
                    if self.stale_until.is_some_and(|t| t <= tokio::time::Instant::now()) {
                        self.purge_stale(None);
                    }
                    self.session.handle_timeout(Instant::now());
                }
            }
        }
    }

    /// Carries out the last outputs and waits (up to a second) until the NOTIFICATIONs written on
    /// closing connections have left, so a process that exits next does not cut them off.
    async fn finish(&mut self) {
        self.drain();
        for (_, c) in self.conns.drain() {
            drop(c.writer);
            c.reader.abort();
            self.closing.push(c.writer_task);
        }
        for w in self.closing.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), w).await;
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Changes(changes) => {
                if let Some(export) = &self.export {
                    let families = self.session.negotiated().map(|n| n.families.clone()).unwrap_or_default();
                    match self.rib_out.apply(changes.iter().cloned(), &families, export) {
                        Ok(msgs) => self.send(msgs),
                        Err(e) => warn!(peer = %self.peer(), "cannot send routes: {e}"),
                    }
                }
            }
            Command::Accepted(stream) => {
                if let Some(hops) = self.config.ttl_security {
                    use std::os::fd::AsRawFd;
                    if let Err(e) = crate::sockopt::set_gtsm(stream.as_raw_fd(), self.peer().is_ipv6(), min_ttl(hops)) {
                        warn!(peer = %self.peer(), "GTSM not set on the incoming connection: {e}");
                        return;
                    }
                }
                self.accepted(stream)
            }
            Command::Status(reply) => {
                let _ = reply.send(PeerStatus {
                    address: self.peer(),
                    state: self.session.state(),
                    counters: self.session.counters(),
                    negotiated: self.session.negotiated().cloned(),
                    adj_rib_out: self.rib_out.len(),
                    adj_rib_in: self.rib_in.len(),
                });
            }
            Command::AdjRibOut(family, reply) => {
                let _ = reply.send(self.rib_out.routes(family));
            }
            Command::AdjRibIn(family, reply) => {
                let routes = self
                    .rib_in
                    .iter()
                    .filter(|(n, _)| n.family() == family)
                    .map(|(n, a)| Route { nlri: n.clone(), attributes: a.clone() })
                    .collect();
                let _ = reply.send(routes);
            }
            Command::RequestRefresh(family) => {
                if let Err(e) = self.session.send_route_refresh(RouteRefresh::request(family), Instant::now()) {
                    warn!(peer = %self.peer(), "route refresh not sent: {e}");
                }
            }
            Command::Stop { .. } | Command::Abandon { .. } => {}
        }
    }

    fn accepted(&mut self, stream: TcpStream) {
        match self.session.connection_opened(Direction::Inbound, Instant::now()) {
            Ok(id) => self.attach(id, stream),
            Err(e) => debug!(peer = %self.peer(), "incoming connection refused: {e}"),
        }
    }

    fn io(&mut self, io: Io) {
        let now = Instant::now();
        match io {
            Io::Connected(stream) => match self.session.connection_opened(Direction::Outbound, now) {
                Ok(id) => self.attach(id, stream),
                Err(e) => debug!(peer = %self.peer(), "outgoing connection not needed: {e}"),
            },
            Io::ConnectFailed => self.session.connection_failed(now),
            Io::Data(id, bytes) => self.session.receive(id, &bytes, now),
            Io::Closed(id) => {
                if let Some(c) = self.conns.remove(&id) {
                    c.reader.abort();
                }
                self.session.connection_closed(id, now);
            }
        }
    }

    fn attach(&mut self, id: ConnectionId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        self.local_addr = stream.local_addr().ok().map(|a| a.ip());
        let (mut rd, mut wr) = stream.into_split();
        let io = self.io_tx.clone();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = io.send(Io::Closed(id));
                        return;
                    }
                    Ok(n) => {
                        if io.send(Io::Data(id, Bytes::copy_from_slice(&buf[..n]))).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (writer, mut queue) = mpsc::unbounded_channel::<Bytes>();
        let io = self.io_tx.clone();
        let writer_task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(65536);
            while let Some(first) = queue.recv().await {
                batch.clear();
                batch.extend_from_slice(&first);
                // Coalesce what is queued into one write.
                while batch.len() < 256 * 1024 {
                    match queue.try_recv() {
                        Ok(more) => batch.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                if wr.write_all(&batch).await.is_err() {
                    let _ = io.send(Io::Closed(id));
                    return;
                }
            }
            let _ = wr.shutdown().await;
        });
        self.conns.insert(id, Conn { writer, writer_task, reader });
    }

    fn connect(&self) {
        let io = self.io_tx.clone();
        let remote = SocketAddr::new(self.config.address, self.config.port);
        let local = self.config.local_address;
        let timeout = self.config.connect_retry;
        let md5 = self.config.md5_password.clone();
        let gtsm = self.config.ttl_security;
        tokio::spawn(async move {
            let attempt = async {
                use std::os::fd::AsRawFd;
                let socket = if remote.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
                if let Some(key) = &md5 {
                    crate::sockopt::set_md5(socket.as_raw_fd(), remote.ip(), key.as_bytes())?;
                }
                if let Some(hops) = gtsm {
                    crate::sockopt::set_gtsm(socket.as_raw_fd(), remote.is_ipv6(), min_ttl(hops))?;
                }
                if let Some(l) = local {
                    socket.bind(SocketAddr::new(l, 0))?;
                }
                socket.connect(remote).await
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok(s)) => {
                    let _ = io.send(Io::Connected(s));
                }
                _ => {
                    let _ = io.send(Io::ConnectFailed);
                }
            }
        });
    }

    /// Queues whole messages on the Established connection.
    fn send(&mut self, msgs: Vec<Bytes>) {
        if msgs.is_empty() {
            return;
        }
        // Hand them to the session in chunks so its counters and keepalive timer see them.
        let mut chunk = Vec::with_capacity(256 * 1024);
        for m in msgs {
            chunk.extend_from_slice(&m);
            if chunk.len() >= 256 * 1024 {
                if let Err(e) = self.session.send_encoded(std::mem::take(&mut chunk), Instant::now()) {
                    warn!(peer = %self.peer(), "UPDATEs not sent: {e}");
                }
            }
        }
        if !chunk.is_empty() {
            if let Err(e) = self.session.send_encoded(chunk, Instant::now()) {
                warn!(peer = %self.peer(), "UPDATEs not sent: {e}");
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Transmit { connection, data } => {
                    if let Some(c) = self.conns.get(&connection) {
                        let _ = c.writer.send(Bytes::from(data));
                    }
                }
                Output::Connect => self.connect(),
                Output::Close { connection } => {
                    if let Some(c) = self.conns.remove(&connection) {
                        // Dropping the sender lets the writer flush what was queued (a
                        // NOTIFICATION), then shut the socket down.
                        drop(c.writer);
                        let reader = c.reader;
                        tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            reader.abort();
                        });
                        self.closing.retain(|w| !w.is_finished());
                        self.closing.push(c.writer_task);
                    }
                }
                Output::Event(e) => self.fsm_event(e),
            }
        }
    }

    fn fsm_event(&mut self, e: FsmEvent) {
        let peer = self.peer();
        match e {
            FsmEvent::StateChanged { from, to } => {
                debug!(%peer, ?from, ?to, "state");
                self.emit(Event::StateChanged { peer, from, to });
            }
            FsmEvent::Established(n) => {
                self.last_peer_gr = n.peer_graceful_restart.clone();
                info!(%peer, families = ?n.families, hold = n.hold_time, "session established");
                let export = Export {
                    local_as: self.local_as,
                    ebgp: n.peer_as != self.local_as,
                    local_addr: self.local_addr.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    wire: n.wire.clone(),
                };
                self.rib_out = AdjRibOut::new();
                let initial = {
                    let rib = self.loc_rib.read().unwrap_or_else(|p| p.into_inner());
                    self.rib_out.initial(rib.iter(), &n.families, &export)
                };
                let mut msgs = match initial {
                    Ok(m) => m,
                    Err(err) => {
                        warn!(%peer, "initial table not sent: {err}");
                        Vec::new()
                    }
                };
                // End-of-RIB for every negotiated family, after the table (RFC 4724 §2).
                for f in &n.families {
                    if let Ok(b) = Message::Update(Update::end_of_rib(*f)).to_bytes(&n.wire) {
                        msgs.push(Bytes::from(b));
                    }
                }
                self.export = Some(export);
                // The Restart State bit belongs to the first session after a restart only.
                if let Some(g) = self.config.graceful_restart.filter(|g| g.restarting) {
                    self.session.set_graceful_restart(Some(gr_capability(&g, &self.config.families, false)));
                    self.config.graceful_restart =
                        Some(crate::config::GracefulRestartConfig { restarting: false, ..g });
                }
                // A restarted peer that no longer offers graceful restart: its stale routes go now.
                if n.peer_graceful_restart.is_none() {
                    self.purge_stale(None);
                }
                self.emit(Event::PeerUp { peer, negotiated: n });
                self.send(msgs);
            }
            FsmEvent::Down { reason, .. } => {
                info!(%peer, ?reason, "session down");
                self.export = None;
                self.rib_out = AdjRibOut::new();
                // RFC 4724 §4.2: a peer that offered graceful restart and went away without a
                // NOTIFICATION is restarting; its routes stay, marked stale, for its restart time.
                let helper = self.config.graceful_restart.is_some_and(|g| g.helper);
                match (helper, &reason, self.last_peer_gr.take()) {
                    (true, DownReason::ConnectionLost, Some(gr)) if !self.rib_in.is_empty() => {
                        self.stale.extend(self.rib_in.keys().cloned());
                        let keep = std::time::Duration::from_secs(u64::from(gr.restart_time));
                        self.stale_until = Some(tokio::time::Instant::now() + keep);
                        info!(%peer, routes = self.stale.len(), ?keep, "keeping the peer's routes as stale (graceful restart)");
                    }
                    _ => {
                        self.stale.clear();
                        self.stale_until = None;
                        if !self.rib_in.is_empty() {
                            let withdrawn: Vec<Nlri> = self.rib_in.drain().map(|(k, _)| k).collect();
                            self.emit(Event::RoutesReceived { peer, announced: Vec::new(), withdrawn });
                        }
                    }
                }
                self.emit(Event::PeerDown { peer, reason });
            }
            FsmEvent::UpdateReceived(u) => self.update(*u),
            FsmEvent::RouteRefreshReceived(rr) => self.refresh(rr),
            FsmEvent::NotificationSent { notification, .. } => {
                self.emit(Event::NotificationSent { peer, notification })
            }
            FsmEvent::NotificationReceived { notification, .. } => {
                self.emit(Event::NotificationReceived { peer, notification })
            }
            _ => {}
        }
    }

    /// Drops the stale routes of `family` (all families when `None`) that the peer did not send
    /// again (RFC 4724 §4.2).
    fn purge_stale(&mut self, family: Option<Family>) {
        let gone: Vec<Nlri> = self.stale.iter().filter(|n| family.is_none_or(|f| n.family() == f)).cloned().collect();
        for n in &gone {
            self.stale.remove(n);
            self.rib_in.remove(n);
        }
        if self.stale.is_empty() {
            self.stale_until = None;
        }
        if !gone.is_empty() {
            self.emit(Event::RoutesReceived { peer: self.peer(), announced: Vec::new(), withdrawn: gone });
        }
    }

    fn refresh(&mut self, rr: RouteRefresh) {
        if rr.subtype != RouteRefreshSubtype::Request {
            return;
        }
        let Some(export) = &self.export else { return };
        let enhanced = self.session.negotiated().is_some_and(|n| n.enhanced_route_refresh);
        let mut msgs = Vec::new();
        let rr_msg =
            |subtype| Message::RouteRefresh(RouteRefresh { family: rr.family, subtype }).to_bytes(&export.wire);
        if enhanced {
            if let Ok(b) = rr_msg(RouteRefreshSubtype::Begin) {
                msgs.push(Bytes::from(b));
            }
        }
        match self.rib_out.resend(rr.family, export) {
            Ok(m) => msgs.extend(m),
            Err(e) => warn!(peer = %self.peer(), "route refresh not answered: {e}"),
        }
        if enhanced {
            if let Ok(b) = rr_msg(RouteRefreshSubtype::End) {
                msgs.push(Bytes::from(b));
            }
        }
        self.send(msgs);
    }

    fn update(&mut self, received: ReceivedUpdate) {
        let peer = self.peer();
        let u = &received.update;
        if let Some(family) = u.end_of_rib_family() {
            self.purge_stale(Some(family));
            self.emit(Event::EndOfRib { peer, family });
            return;
        }
        if !received.errors.is_empty() {
            self.emit(Event::UpdateErrors { peer, errors: received.errors.iter().map(|e| e.to_string()).collect() });
        }
        let mut withdrawn = Vec::new();
        let mut reach = Vec::new();
        for p in &u.withdrawn {
            withdrawn.push(Nlri::prefix(Safi::Unicast, *p));
        }
        for p in &u.nlri {
            reach.push(Nlri::prefix(Safi::Unicast, *p));
        }
        let mut attrs = RouteAttributes::default();
        for a in &u.attributes {
            match &a.value {
                AttributeValue::MpReachNlri(m) => match self.split(m.family, &m.nlri) {
                    Ok(list) => {
                        reach.extend(list);
                        attrs.next_hop = m.next_hop_addrs().map(|a| a.0);
                    }
                    Err(()) => return,
                },
                AttributeValue::MpUnreachNlri(m) => match self.split(m.family, &m.withdrawn) {
                    Ok(list) => withdrawn.extend(list),
                    Err(()) => return,
                },
                AttributeValue::Origin(o) => attrs.origin = Some(*o),
                AttributeValue::AsPath(p) => attrs.as_path = p.clone(),
                // NEXT_HOP is ignored when MP_REACH_NLRI carries one (RFC 4760 §3).
                AttributeValue::NextHop(n) if attrs.next_hop.is_none() => attrs.next_hop = Some(IpAddr::V4(*n)),
                AttributeValue::MultiExitDisc(m) => attrs.med = Some(*m),
                AttributeValue::LocalPref(l) => attrs.local_pref = Some(*l),
                AttributeValue::Communities(c) => attrs.communities = c.clone(),
                AttributeValue::ExtendedCommunities(c) => attrs.extended_communities = c.clone(),
                AttributeValue::Ipv6ExtendedCommunities(c) => attrs.ipv6_extended_communities = c.clone(),
                AttributeValue::LargeCommunities(c) => attrs.large_communities = c.clone(),
                _ => {}
            }
        }
        // RFC 7606 treat-as-withdraw: the routes of a malformed UPDATE are withdrawn, the session stays.
        if received.treat_as_withdraw() {
            withdrawn.append(&mut reach);
        }
        let attrs = Arc::new(attrs);
        for n in &withdrawn {
            self.rib_in.remove(n);
        }
        let announced: Vec<Route> = reach.into_iter().map(|n| Route { nlri: n, attributes: attrs.clone() }).collect();
        for r in &announced {
            self.stale.remove(&r.nlri);
            self.rib_in.insert(r.nlri.clone(), r.attributes.clone());
        }
        if !announced.is_empty() || !withdrawn.is_empty() {
            self.emit(Event::RoutesReceived { peer, announced, withdrawn });
        }
        if let Some(mp) = self.config.max_prefix {
            if self.rib_in.len() > mp.limit {
                self.emit(Event::MaxPrefixExceeded { peer, count: self.rib_in.len(), limit: mp.limit });
                if let MaxPrefixAction::Teardown { restart_after } = mp.action {
                    // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached.
                    let n = Notification::new(6, cease::MAX_PREFIXES, Vec::new());
                    let now = Instant::now();
                    self.session.close_with(n, now);
                    if restart_after.is_none() {
                        let _ = self.session.stop(None, now);
                    }
                }
            }
        }
    }

    /// Splits the NLRI of an MP attribute into single NLRI; a malformed FlowSpec NLRI resets the
    /// session with 3/9 (RFC 8955 §10: AFI/SAFI disable is not implemented).
    fn split(&mut self, family: Family, nlri: &MpNlri) -> Result<Vec<Nlri>, ()> {
        match nlri {
            MpNlri::Prefixes(p) => Ok(p.iter().map(|p| Nlri::prefix(family.safi, *p)).collect()),
            MpNlri::Raw(raw) if matches!(family.safi, Safi::FlowSpec | Safi::FlowSpecVpn) => {
                match FlowSpec::decode_all(raw, family.afi, family.safi == Safi::FlowSpecVpn) {
                    Ok(rules) => Ok(rules
                        .iter()
                        .filter_map(|r| r.to_bytes().ok())
                        .map(|b| Nlri::from_wire(family, Bytes::from(b)))
                        .collect()),
                    Err(e) => {
                        warn!(peer = %self.peer(), "malformed FlowSpec NLRI: {e}");
                        self.session.close_with(Notification::new(3, 9, Vec::new()), Instant::now());
                        Err(())
                    }
                }
            }
            MpNlri::Raw(raw) => Ok(vec![Nlri::from_wire(family, Bytes::copy_from_slice(raw))]),
        }
    }
}
