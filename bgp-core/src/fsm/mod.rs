//! The BGP finite state machine (RFC 4271 §8) as a sans-IO value.
//!
//! A [`Session`] owns everything about one peer except sockets and clocks. The driver feeds it:
//!
//! * operator commands: [`Session::start`], [`Session::stop`], [`Session::send_update`] ...
//! * transport events: [`Session::connection_opened`], [`Session::connection_failed`],
//!   [`Session::connection_closed`], and received bytes with [`Session::receive`];
//! * time: every input takes `now`, and [`Session::handle_timeout`] is called at or after
//!   [`Session::poll_timeout`].
//!
//! and drains [`Session::poll_output`]: bytes to write on a connection, connections to open or close,
//! and [`Event`]s, in the order they must happen (a NOTIFICATION is written before its connection is
//! closed).
//!
//! A session may hold two connections at once, one it initiated and one the peer did; when both
//! reach OpenConfirm, collision detection (§6.8, RFC 6286 §2.3) keeps one and closes the other with
//! Cease / Connection Collision Resolution.

mod config;

pub use config::{Negotiated, PeerAs, SessionConfig};

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::capability::Capability;
use crate::error::EncodeError;
use crate::framer::Framer;
use crate::iana::{CapabilityCode, MAX_MESSAGE_LEN};
use crate::message::{
    cease, code, Message, Notification, Open, Received, ReceivedUpdate, RouteRefresh, Update, WireContext,
};

/// RFC 4271 §10: the "large value" the HoldTimer is set to while waiting for the peer's OPEN.
pub const LARGE_HOLD_TIME: Duration = Duration::from_secs(240);

/// Session state (RFC 4271 §8.2.2). With two connections, the state of the more advanced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Refusing connections; waiting for a start or for the IdleHold time to pass.
    Idle,
    /// Waiting for our outgoing connection to complete.
    Connect,
    /// Waiting for the peer to connect (or for ConnectRetry to try again).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

/// Which side initiated a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We connected to the peer.
    Outbound,
    /// The peer connected to us.
    Inbound,
}

/// Identifies one transport connection of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Why a session left Established (or never got there).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// We sent this NOTIFICATION (an error we detected, or a stop).
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The transport closed or failed without a NOTIFICATION.
    ConnectionLost,
    /// The operator stopped the session.
    Stopped,
}

/// Something the driver or the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The session state changed.
    StateChanged {
        /// The state before.
        from: State,
        /// The state now.
        to: State,
    },
    /// The session reached Established with these settings.
    Established(Box<Negotiated>),
    /// The session left OpenSent, OpenConfirm or Established.
    Down {
        /// Why.
        reason: DownReason,
        /// Whether it had been Established.
        was_established: bool,
    },
    /// An UPDATE arrived, with the RFC 7606 errors it survived.
    UpdateReceived(Box<ReceivedUpdate>),
    /// A ROUTE-REFRESH arrived (accepted even when not negotiated: some routers send it anyway).
    RouteRefreshReceived(RouteRefresh),
    /// We sent a NOTIFICATION on a connection.
    NotificationSent {
        /// The connection.
        connection: ConnectionId,
        /// What we sent.
        notification: Notification,
    },
    /// The peer sent a NOTIFICATION on a connection.
    NotificationReceived {
        /// The connection.
        connection: ConnectionId,
        /// What it sent.
        notification: Notification,
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Write these bytes on the connection.
    Transmit {
        /// The connection.
        connection: ConnectionId,
        /// Whole encoded messages.
        data: Vec<u8>,
    },
    /// Open a connection to the peer; report the result with [`Session::connection_opened`]
    /// (as [`Direction::Outbound`]) or [`Session::connection_failed`].
    Connect,
    /// Close the connection (after writing everything transmitted on it before).
    Close {
        /// The connection.
        connection: ConnectionId,
    },
    /// Tell the application.
    Event(Event),
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is not Established.
    #[error("session is not established")]
    NotEstablished,
    /// The message could not be encoded (too large for the negotiated size, and so on).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A connection refused by the session (Idle, or stopped); the driver closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("connection refused in state {0:?}")]
pub struct Refused(pub State);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// Connected, DelayOpen running: no OPEN sent yet.
    Delaying,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Debug)]
struct Connection {
    id: ConnectionId,
    direction: Direction,
    state: ConnState,
    framer: Framer,
    negotiated: Option<Negotiated>,
    hold_deadline: Option<Instant>,
    keepalive_deadline: Option<Instant>,
    delay_open_deadline: Option<Instant>,
}

/// Counters of one session, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages received, by type: OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH.
    pub received: [u64; 5],
    /// Messages sent, by type, in the same order.
    pub sent: [u64; 5],
    /// Times the session reached Established.
    pub established: u64,
    /// Times it went down from OpenSent or later.
    pub down: u64,
}

/// One BGP session with one peer. See the [module documentation](self).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    local_open: Open,
    state: State,
    started: bool,
    conns: Vec<Connection>,
    next_id: u64,
    connect_retry_deadline: Option<Instant>,
    idle_hold_deadline: Option<Instant>,
    /// Failures in a row, for the IdleHold backoff.
    failures: u32,
    established_since: Option<Instant>,
    output: VecDeque<Output>,
    counters: Counters,
}

impl Session {
    /// A session in Idle; nothing happens until [`start`](Self::start).
    pub fn new(config: SessionConfig) -> Session {
        let local_open = config.open();
        Session {
            config,
            local_open,
            state: State::Idle,
            started: false,
            conns: Vec::new(),
            next_id: 0,
            connect_retry_deadline: None,
            idle_hold_deadline: None,
            failures: 0,
            established_since: None,
            output: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Changes the graceful restart capability sent in OPENs from now on: a restarting speaker
    /// sets the Restart State bit only in the OPENs right after its restart (RFC 4724 §3), then
    /// clears it for later sessions.
    pub fn set_graceful_restart(&mut self, gr: Option<crate::capability::GracefulRestart>) {
        self.config.graceful_restart = gr;
        self.local_open = self.config.open();
    }

    /// Drops every connection without a NOTIFICATION and goes to Idle, stopped. To a peer that
    /// negotiated graceful restart this looks like a restart of ours: it keeps our routes as stale
    /// (RFC 4724 §4.2) until we come back and send End-of-RIB.
    pub fn abandon(&mut self, now: Instant) {
        self.started = false;
        for c in std::mem::take(&mut self.conns) {
            self.output.push_back(Output::Close { connection: c.id });
        }
        self.connect_retry_deadline = None;
        self.idle_hold_deadline = None;
        if self.state != State::Idle {
            self.counters.down += 1;
            self.event(Event::Down { reason: DownReason::Stopped, was_established: self.state == State::Established });
        }
        self.established_since = None;
        self.set_state(State::Idle, now);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Message and transition counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// What was negotiated, while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.established().and_then(|c| c.negotiated.as_ref())
    }

    /// The Established connection, if any.
    pub fn established_connection(&self) -> Option<ConnectionId> {
        self.established().map(|c| c.id)
    }

    /// The current IdleHold backoff: how long the session waits in Idle after its next failure.
    pub fn idle_hold_time(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(16)).unwrap_or(u32::MAX);
        self.config.idle_hold_time.saturating_mul(factor).min(self.config.idle_hold_max)
    }

    /// ManualStart (RFC 4271 §8.1.2 Event 1, or Event 4/5 when passive): begin connecting, or
    /// waiting for the peer when passive.
    pub fn start(&mut self, now: Instant) {
        self.started = true;
        self.idle_hold_deadline = None;
        if self.state == State::Idle {
            self.begin(now);
        }
    }

    /// ManualStop (Event 2): send Cease / Administrative Shutdown, with an RFC 9003 shutdown
    /// communication when `message` is given, on every connection that has sent its OPEN; close them
    /// all; go to Idle and stay there until the next start. A message over 255 bytes is an error and
    /// nothing is stopped.
    pub fn stop(&mut self, message: Option<&str>, now: Instant) -> Result<(), EncodeError> {
        let notification = Notification::cease(cease::ADMINISTRATIVE_SHUTDOWN, message)?;
        self.started = false;
        self.shutdown(notification, now);
        Ok(())
    }

    /// Closes every connection with this NOTIFICATION (e.g. Cease / Maximum Number of Prefixes,
    /// or Peer De-configured) and goes to Idle; the session restarts automatically after the IdleHold
    /// time if configured to.
    pub fn close_with(&mut self, notification: Notification, now: Instant) {
        self.shutdown(notification.clone(), now);
        if self.started {
            self.schedule_restart(now);
        }
    }

    fn shutdown(&mut self, notification: Notification, now: Instant) {
        let was_established = self.state == State::Established;
        let mut any = false;
        for c in std::mem::take(&mut self.conns) {
            if c.state != ConnState::Delaying {
                self.push_notification(c.id, &notification);
                any = true;
            }
            self.output.push_back(Output::Close { connection: c.id });
        }
        self.connect_retry_deadline = None;
        self.idle_hold_deadline = None;
        if any {
            self.counters.down += 1;
            let reason = if self.started { DownReason::NotificationSent(notification) } else { DownReason::Stopped };
            self.event(Event::Down { reason, was_established });
        }
        self.established_since = None;
        self.set_state(State::Idle, now);
    }

    /// The driver established a transport connection: ours (`Outbound`, after [`Output::Connect`])
    /// or the peer's (`Inbound`). In Idle the connection is refused and the driver closes it.
    pub fn connection_opened(&mut self, direction: Direction, now: Instant) -> Result<ConnectionId, Refused> {
        if self.state == State::Idle || !self.started {
            return Err(Refused(self.state));
        }
        if direction == Direction::Inbound && self.conns.iter().any(|c| c.direction == Direction::Inbound) {
            // One inbound connection at a time; a second one from the same peer is refused.
            return Err(Refused(self.state));
        }
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        self.connect_retry_deadline = None;
        let mut conn = Connection {
            id,
            direction,
            state: ConnState::Delaying,
            framer: Framer::new(MAX_MESSAGE_LEN),
            negotiated: None,
            hold_deadline: None,
            keepalive_deadline: None,
            delay_open_deadline: None,
        };
        match self.config.delay_open {
            Some(d) => conn.delay_open_deadline = Some(now + d),
            None => {
                conn.state = ConnState::OpenSent;
                conn.hold_deadline = Some(now + LARGE_HOLD_TIME);
            }
        }
        let send_open = conn.state == ConnState::OpenSent;
        self.conns.push(conn);
        if send_open {
            self.send_open(id);
        }
        self.refresh_state(now);
        Ok(id)
    }

    /// Our connection attempt failed (RFC 4271 Event 18): wait in Active for ConnectRetry.
    pub fn connection_failed(&mut self, now: Instant) {
        if self.state == State::Connect {
            self.connect_retry_deadline = Some(now + self.config.connect_retry_time);
            self.set_state(State::Active, now);
        }
    }

    /// The transport connection closed or failed (Event 18).
    pub fn connection_closed(&mut self, connection: ConnectionId, now: Instant) {
        if self.conn_index(connection).is_some() {
            self.fail_connection(connection, None, DownReason::ConnectionLost, now);
        }
    }

    /// Bytes arrived on a connection.
    pub fn receive(&mut self, connection: ConnectionId, data: &[u8], now: Instant) {
        let Some(i) = self.conn_index(connection) else { return };
        if let Some(c) = self.conns.get_mut(i) {
            c.framer.extend(data);
        }
        loop {
            let Some(c) = self.conn_index(connection).and_then(|i| self.conns.get_mut(i)) else { return };
            match c.framer.next_message() {
                Ok(Some(msg)) => self.handle_message(connection, &msg, now),
                Ok(None) => return,
                Err(e) => {
                    let n = e.notification();
                    self.fail_connection(connection, Some(n.clone()), DownReason::NotificationSent(n), now);
                    return;
                }
            }
        }
    }

    /// Sends an UPDATE on the Established connection; it resets the keepalive timer.
    pub fn send_update(&mut self, update: &Update, now: Instant) -> Result<(), SendError> {
        let wire = self.negotiated().map(|n| n.wire.clone()).ok_or(SendError::NotEstablished)?;
        let bytes = Message::Update(update.clone()).to_bytes(&wire)?;
        self.send_encoded(bytes, now)
    }

    /// Sends already-encoded messages (whole UPDATEs, for speakers that pack their own) on the
    /// Established connection. Each message is checked against the negotiated maximum size.
    pub fn send_encoded(&mut self, data: Vec<u8>, now: Instant) -> Result<(), SendError> {
        let (id, max, keepalive) = {
            let c = self.established().ok_or(SendError::NotEstablished)?;
            let n = c.negotiated.as_ref().ok_or(SendError::NotEstablished)?;
            (c.id, n.wire.max_message_len, n.keepalive)
        };
        let mut rest = data.as_slice();
        let mut count = 0u64;
        while !rest.is_empty() {
            let len = rest
                .get(16..18)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map(|b| usize::from(u16::from_be_bytes(b)))
                .unwrap_or(0);
            if len < crate::iana::HEADER_LEN || len > max || len > rest.len() {
                return Err(SendError::Encode(EncodeError::MessageTooLong { length: len.max(rest.len()), max }));
            }
            rest = rest.get(len..).unwrap_or_default();
            count += 1;
        }
        self.counters.sent[1] += count;
        self.output.push_back(Output::Transmit { connection: id, data });
        if let Some(c) = self.conn_mut(id) {
            c.keepalive_deadline = keepalive_deadline(keepalive, now);
        }
        Ok(())
    }

    /// Sends a ROUTE-REFRESH (RFC 2918, RFC 7313) on the Established connection.
    pub fn send_route_refresh(&mut self, refresh: RouteRefresh, _now: Instant) -> Result<(), SendError> {
        let id = self.established_connection().ok_or(SendError::NotEstablished)?;
        self.send_message(id, &Message::RouteRefresh(refresh));
        Ok(())
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn_deadlines =
            self.conns.iter().flat_map(|c| [c.hold_deadline, c.keepalive_deadline, c.delay_open_deadline]);
        [self.connect_retry_deadline, self.idle_hold_deadline].into_iter().chain(conn_deadlines).flatten().min()
    }

    /// The next thing for the driver to do, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.idle_hold_deadline.is_some_and(|d| d <= now) {
            // Event 13 IdleHoldTimer_Expires: automatic start.
            self.idle_hold_deadline = None;
            if self.state == State::Idle && self.started {
                self.begin(now);
            }
        }
        if self.connect_retry_deadline.is_some_and(|d| d <= now) {
            // Event 9 ConnectRetryTimer_Expires.
            self.connect_retry_deadline = None;
            if matches!(self.state, State::Connect | State::Active) {
                self.begin(now);
            }
        }
        let ids: Vec<ConnectionId> = self.conns.iter().map(|c| c.id).collect();
        for id in ids {
            let Some(c) = self.conn_mut(id) else { continue };
            if c.hold_deadline.is_some_and(|d| d <= now) {
                // Event 10 HoldTimer_Expires.
                let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0, Vec::new());
                self.fail_connection(id, Some(n.clone()), DownReason::NotificationSent(n), now);
                continue;
            }
            if c.delay_open_deadline.is_some_and(|d| d <= now) {
                // Event 12 DelayOpenTimer_Expires: send OPEN, large hold timer, OpenSent.
                c.delay_open_deadline = None;
                c.state = ConnState::OpenSent;
                c.hold_deadline = Some(now + LARGE_HOLD_TIME);
                self.send_open(id);
                self.refresh_state(now);
                continue;
            }
            if c.keepalive_deadline.is_some_and(|d| d <= now) {
                // Event 11 KeepaliveTimer_Expires.
                let ka = c.negotiated.as_ref().map(|n| n.keepalive).unwrap_or(0);
                c.keepalive_deadline = keepalive_deadline(ka, now);
                self.send_message(id, &Message::Keepalive);
            }
        }
    }

    // ----- internals -----

    fn established(&self) -> Option<&Connection> {
        self.conns.iter().find(|c| c.state == ConnState::Established)
    }

    fn conn_index(&self, id: ConnectionId) -> Option<usize> {
        self.conns.iter().position(|c| c.id == id)
    }

    fn conn_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        self.conns.iter_mut().find(|c| c.id == id)
    }

    fn event(&mut self, e: Event) {
        self.output.push_back(Output::Event(e));
    }

    /// From Idle (start or restart) or on ConnectRetry expiry: connect, or wait when passive.
    fn begin(&mut self, now: Instant) {
        self.connect_retry_deadline = Some(now + self.config.connect_retry_time);
        if self.config.passive {
            self.set_state(State::Active, now);
        } else if !self.conns.iter().any(|c| c.direction == Direction::Outbound) {
            self.output.push_back(Output::Connect);
            self.set_state(State::Connect, now);
        }
    }

    fn set_state(&mut self, to: State, now: Instant) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to == State::Established {
            self.established_since = Some(now);
        }
        self.event(Event::StateChanged { from, to });
    }

    /// Recomputes the session state from the connections after one of them changed.
    fn refresh_state(&mut self, now: Instant) {
        let best = self.conns.iter().map(|c| c.state).max_by_key(|s| match s {
            ConnState::Delaying => 0,
            ConnState::OpenSent => 1,
            ConnState::OpenConfirm => 2,
            ConnState::Established => 3,
        });
        let to = match best {
            Some(ConnState::Established) => State::Established,
            Some(ConnState::OpenConfirm) => State::OpenConfirm,
            Some(ConnState::OpenSent) => State::OpenSent,
            Some(ConnState::Delaying) => {
                if self.conns.iter().any(|c| c.direction == Direction::Outbound) {
                    State::Connect
                } else {
                    State::Active
                }
            }
            None => return,
        };
        self.set_state(to, now);
    }

    fn send_message(&mut self, id: ConnectionId, msg: &Message) {
        // KEEPALIVE, NOTIFICATION (data cut to fit) and ROUTE-REFRESH always encode. An OPEN that
        // does not (capabilities over 4096 bytes in the configuration) is not sent: the peer's
        // hold timer then ends the attempt, rather than this process panicking.
        let Ok(bytes) = msg.to_bytes(&WireContext::default()) else { return };
        count(&mut self.counters.sent, msg.message_type().code());
        self.output.push_back(Output::Transmit { connection: id, data: bytes });
    }

    fn send_open(&mut self, id: ConnectionId) {
        let open = Message::Open(self.local_open.clone());
        self.send_message(id, &open);
    }

    fn push_notification(&mut self, id: ConnectionId, n: &Notification) {
        // RFC 8654 §4 keeps NOTIFICATIONs within 4096 bytes for peers without extended messages;
        // the data we echo is cut to fit rather than dropping the NOTIFICATION.
        let mut n = n.clone();
        n.data.truncate(MAX_MESSAGE_LEN - crate::iana::HEADER_LEN - 2);
        self.send_message(id, &Message::Notification(n.clone()));
        self.event(Event::NotificationSent { connection: id, notification: n });
    }

    /// Ends one connection: optionally sends a NOTIFICATION, closes it, and if it was the session's
    /// last or Established connection, takes the session down to Idle with IdleHold backoff.
    fn fail_connection(&mut self, id: ConnectionId, send: Option<Notification>, reason: DownReason, now: Instant) {
        let Some(i) = self.conn_index(id) else { return };
        let conn = self.conns.remove(i);
        if let Some(n) = &send {
            self.push_notification(id, n);
        }
        self.output.push_back(Output::Close { connection: id });
        let was_established = conn.state == ConnState::Established;
        let other_alive = !self.conns.is_empty();
        if was_established || !other_alive {
            if conn.state != ConnState::Delaying || was_established {
                self.counters.down += 1;
                self.event(Event::Down { reason, was_established });
            }
            if was_established {
                // RFC 4724 §4.2-style: a new connection may be waiting; drop it too.
                for c in std::mem::take(&mut self.conns) {
                    self.output.push_back(Output::Close { connection: c.id });
                }
            }
            // A session that had been stable clears its failure history.
            if let Some(since) = self.established_since.take() {
                if now.saturating_duration_since(since) >= self.config.stable_time {
                    self.failures = 0;
                }
            }
            if self.conns.is_empty() {
                self.connect_retry_deadline = None;
                self.set_state(State::Idle, now);
                self.schedule_restart(now);
            }
        } else {
            self.refresh_state(now);
        }
    }

    /// IdleHold backoff (RFC 4271 §8.1.1 DampPeerOscillations): wait, then start again.
    fn schedule_restart(&mut self, now: Instant) {
        let wait = self.idle_hold_time();
        self.failures = self.failures.saturating_add(1);
        if self.config.auto_restart && self.started {
            self.idle_hold_deadline = Some(now + wait);
        } else {
            self.started = false;
        }
    }

    fn fsm_error(&mut self, id: ConnectionId, state: ConnState, msg_type: u8, now: Instant) {
        // RFC 6608 §4: subcode by state, data the type of the unexpected message.
        let subcode = match state {
            ConnState::Delaying | ConnState::OpenSent => 1,
            ConnState::OpenConfirm => 2,
            ConnState::Established => 3,
        };
        let n = Notification::new(code::FSM, subcode, vec![msg_type]);
        self.fail_connection(id, Some(n.clone()), DownReason::NotificationSent(n), now);
    }

    fn handle_message(&mut self, id: ConnectionId, bytes: &[u8], now: Instant) {
        let Some(c) = self.conn_mut(id) else { return };
        let state = c.state;
        let wire = c.negotiated.as_ref().map(|n| n.wire.clone()).unwrap_or_default();
        let decoded = Message::decode_received(bytes, &wire);
        let msg = match decoded {
            Ok(m) => m,
            Err(e) => {
                let n = e.notification();
                self.fail_connection(id, Some(n.clone()), DownReason::NotificationSent(n), now);
                return;
            }
        };
        // The type byte is valid: the message decoded.
        let msg_type = bytes.get(18).copied().unwrap_or(0);
        count(&mut self.counters.received, msg_type);
        match (state, msg) {
            (_, Received::Other(Message::Notification(n))) => {
                self.event(Event::NotificationReceived { connection: id, notification: n.clone() });
                self.fail_connection(id, None, DownReason::NotificationReceived(n), now);
            }
            (ConnState::Delaying | ConnState::OpenSent, Received::Other(Message::Open(open))) => {
                self.handle_open(id, state, open, now);
            }
            (ConnState::OpenConfirm, Received::Other(Message::Keepalive)) => {
                if let Some(c) = self.conn_mut(id) {
                    c.state = ConnState::Established;
                    let hold = c.negotiated.as_ref().map(|n| n.hold_time).unwrap_or(0);
                    c.hold_deadline = hold_deadline(hold, now);
                    let neg = c.negotiated.clone();
                    self.counters.established += 1;
                    self.refresh_state(now);
                    if let Some(n) = neg {
                        self.event(Event::Established(Box::new(n)));
                    }
                }
            }
            (ConnState::Established, Received::Other(Message::Keepalive)) => self.reset_hold(id, now),
            (ConnState::Established, Received::Update(u)) => {
                self.reset_hold(id, now);
                self.event(Event::UpdateReceived(u));
            }
            (ConnState::Established, Received::Other(Message::RouteRefresh(r))) => {
                self.reset_hold(id, now);
                self.event(Event::RouteRefreshReceived(r));
            }
            (state, _) => self.fsm_error(id, state, msg_type, now),
        }
    }

    fn reset_hold(&mut self, id: ConnectionId, now: Instant) {
        if let Some(c) = self.conn_mut(id) {
            let hold = c.negotiated.as_ref().map(|n| n.hold_time).unwrap_or(0);
            c.hold_deadline = hold_deadline(hold, now);
        }
    }

    /// Checks a received OPEN beyond its syntax (RFC 4271 §6.2, RFC 6286, RFC 5492, RFC 9234).
    fn check_open(&self, open: &Open) -> Result<(), Notification> {
        let asn = open.asn();
        // RFC 7607 §2: AS 0 is a Bad Peer AS.
        if asn == 0 || !self.config.peer_as.accepts(asn) {
            return Err(Notification::new(code::OPEN_MESSAGE, 2, Vec::new()));
        }
        // RFC 6286 §2.2: an internal peer must not share our identifier.
        if asn == self.config.local_as && open.bgp_id == self.config.local_id {
            return Err(Notification::new(code::OPEN_MESSAGE, 3, Vec::new()));
        }
        // RFC 9234 §4.2: a role pair that does not match is refused with Role Mismatch.
        if let Some(ours) = self.config.role {
            let theirs: Vec<_> = open
                .capabilities()
                .filter_map(|c| match c {
                    Capability::Role { role } => Some(*role),
                    _ => None,
                })
                .collect();
            if theirs.iter().any(|r| Some(*r) != ours.expected_peer_role()) {
                return Err(Notification::new(code::OPEN_MESSAGE, 11, Vec::new()));
            }
        }
        // No family in common: nothing could be exchanged (RFC 5492 §5: 2/7, data the capabilities).
        let theirs = open.families();
        if !self.local_open.families().iter().any(|f| theirs.contains(f)) {
            let mut data = Vec::new();
            for c in self.local_open.capabilities().filter(|c| c.code() == CapabilityCode::Multiprotocol) {
                // Our own capabilities always encode.
                let _ = c.encode(&mut data);
            }
            return Err(Notification::new(code::OPEN_MESSAGE, 7, data));
        }
        Ok(())
    }

    fn handle_open(&mut self, id: ConnectionId, state: ConnState, open: Open, now: Instant) {
        if let Err(n) = self.check_open(&open) {
            if state == ConnState::Delaying {
                // RFC 4271 SendNOTIFICATIONwithoutOPEN is off: send our OPEN first.
                self.send_open(id);
            }
            self.fail_connection(id, Some(n.clone()), DownReason::NotificationSent(n), now);
            return;
        }
        // Collision detection (§6.8): against an Established connection the new one loses unless
        // configured otherwise; against one in OpenConfirm the BGP identifiers decide.
        if !self.config.collision_detect_established
            && self.conns.iter().any(|c| c.id != id && c.state == ConnState::Established)
        {
            self.collision_close(id, now);
            return;
        }
        let rival = self
            .conns
            .iter()
            .find(|c| c.id != id && matches!(c.state, ConnState::OpenConfirm | ConnState::Established))
            .map(|c| c.id);
        if let Some(rival) = rival {
            let loser = self.collision_loser(id, rival, &open);
            self.collision_close(loser, now);
            if loser == id {
                return;
            }
        }
        let negotiated = {
            let mut n = Negotiated::new(&self.local_open, &open);
            n.keepalive = if n.hold_time == 0 { 0 } else { self.config.keepalive_time.min(n.hold_time / 3).max(1) };
            n
        };
        let hold = negotiated.hold_time;
        let ka = negotiated.keepalive;
        let max = negotiated.wire.max_message_len;
        if state == ConnState::Delaying {
            // Event 20 with DelayOpen running: send OPEN now, then KEEPALIVE.
            self.send_open(id);
        }
        self.send_message(id, &Message::Keepalive);
        if let Some(c) = self.conn_mut(id) {
            c.delay_open_deadline = None;
            c.state = ConnState::OpenConfirm;
            c.hold_deadline = hold_deadline(hold, now);
            c.keepalive_deadline = keepalive_deadline(ka, now);
            c.framer.set_max_len(max);
            c.negotiated = Some(negotiated);
        }
        self.refresh_state(now);
    }

    /// Which of two colliding connections to close (§6.8, RFC 6286 §2.3). `id` just received
    /// `open`; `rival` is in OpenConfirm.
    fn collision_loser(&self, id: ConnectionId, rival: ConnectionId, open: &Open) -> ConnectionId {
        let local = u32::from(self.config.local_id);
        let remote = u32::from(open.bgp_id);
        // Keep the connection the peer initiated when its identifier is higher; with equal
        // identifiers, the one initiated by the side with the larger AS.
        let keep_inbound = if local == remote { open.asn() > self.config.local_as } else { local < remote };
        let dir = |c: ConnectionId| self.conns.iter().find(|x| x.id == c).map(|x| x.direction);
        let keep = if keep_inbound { Direction::Inbound } else { Direction::Outbound };
        if dir(id) == Some(keep) {
            rival
        } else {
            id
        }
    }

    fn collision_close(&mut self, id: ConnectionId, now: Instant) {
        let n = Notification::new(code::CEASE, cease::CONNECTION_COLLISION, Vec::new());
        self.fail_connection(id, Some(n.clone()), DownReason::NotificationSent(n), now);
    }
}

/// Counts a message of type `code` (1 OPEN .. 5 ROUTE-REFRESH) in `by_type`.
fn count(by_type: &mut [u64; 5], code: u8) {
    if let Some(n) = usize::from(code).checked_sub(1).and_then(|i| by_type.get_mut(i)) {
        *n += 1;
    }
}

fn hold_deadline(hold: u16, now: Instant) -> Option<Instant> {
    (hold > 0).then(|| now + Duration::from_secs(u64::from(hold)))
}

fn keepalive_deadline(keepalive: u16, now: Instant) -> Option<Instant> {
    (keepalive > 0).then(|| now + Duration::from_secs(u64::from(keepalive)))
}
