//! Two sessions run against each other over an in-memory network with a virtual clock.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_core::fsm::{ConnectionId, Direction, DownReason, Event, Output, Session, SessionConfig, State};
use bgp_core::message::{Message, Notification, WireContext};

/// One side of the simulated network.
struct Side {
    session: Session,
    events: Vec<Event>,
    /// Outbound attempts pending (Output::Connect seen, not yet answered).
    connecting: bool,
    /// Whether this side currently accepts TCP connections at all (a listener).
    listening: bool,
}

/// A TCP connection between the two sides: A's id and B's id.
#[derive(Clone, Copy, Debug)]
struct Link {
    a: ConnectionId,
    b: ConnectionId,
    /// A opened this connection.
    from_a: bool,
}

struct Net {
    now: Instant,
    a: Side,
    b: Side,
    links: Vec<Link>,
    /// Bytes written by A that B has not read yet (and vice versa), per link.
    in_flight: Vec<(bool, ConnectionId, Vec<u8>)>,
    /// Drop everything A sends (to starve B's hold timer).
    mute_a: bool,
    /// Most connections open at once.
    max_links: usize,
}

fn config(asn: u32, id: [u8; 4], peer: u32) -> SessionConfig {
    let mut c = SessionConfig::new(asn, Ipv4Addr::from(id), peer);
    c.connect_retry_time = Duration::from_secs(5);
    c.idle_hold_time = Duration::from_secs(1);
    c.idle_hold_max = Duration::from_secs(8);
    c
}

impl Net {
    fn new(a: SessionConfig, b: SessionConfig) -> Net {
        let side = |c| Side { session: Session::new(c), events: Vec::new(), connecting: false, listening: true };
        Net {
            now: Instant::now(),
            a: side(a),
            b: side(b),
            links: Vec::new(),
            in_flight: Vec::new(),
            mute_a: false,
            max_links: 0,
        }
    }

    fn side(&mut self, is_a: bool) -> &mut Side {
        if is_a {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    /// Drains both sides' outputs and delivers bytes until nothing moves. Bounded.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for is_a in [true, false] {
                while let Some(out) = self.side(is_a).session.poll_output() {
                    moved = true;
                    self.apply(is_a, out);
                }
            }
            for (to_a, conn, data) in std::mem::take(&mut self.in_flight) {
                moved = true;
                let now = self.now;
                self.side(to_a).session.receive(conn, &data, now);
            }
            // Complete pending connection attempts.
            for is_a in [true, false] {
                if self.side(is_a).connecting {
                    moved = true;
                    self.side(is_a).connecting = false;
                    self.connect(is_a);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("network did not settle");
    }

    fn connect(&mut self, from_a: bool) {
        let now = self.now;
        let accepted = if self.side(!from_a).listening {
            self.side(!from_a).session.connection_opened(Direction::Inbound, now).ok()
        } else {
            None
        };
        match accepted {
            Some(remote) => {
                let local = self.side(from_a).session.connection_opened(Direction::Outbound, now);
                match local {
                    Ok(local) => {
                        let link = if from_a {
                            Link { a: local, b: remote, from_a }
                        } else {
                            Link { a: remote, b: local, from_a }
                        };
                        self.links.push(link);
                        self.max_links = self.max_links.max(self.links.len());
                    }
                    Err(_) => self.side(!from_a).session.connection_closed(remote, now),
                }
            }
            None => self.side(from_a).session.connection_failed(now),
        }
    }

    fn apply(&mut self, is_a: bool, out: Output) {
        let now = self.now;
        match out {
            Output::Transmit { connection, data } => {
                if is_a && self.mute_a {
                    return;
                }
                if let Some(l) = self.links.iter().find(|l| if is_a { l.a == connection } else { l.b == connection }) {
                    let peer = if is_a { l.b } else { l.a };
                    self.in_flight.push((!is_a, peer, data));
                }
            }
            Output::Connect => self.side(is_a).connecting = true,
            Output::Close { connection } => {
                // Deliver what was written before the close, then tell the other side.
                let pos = self.links.iter().position(|l| if is_a { l.a == connection } else { l.b == connection });
                if let Some(pos) = pos {
                    let l = self.links.remove(pos);
                    let peer = if is_a { l.b } else { l.a };
                    for (to_a, conn, data) in std::mem::take(&mut self.in_flight) {
                        self.side(to_a).session.receive(conn, &data, now);
                    }
                    self.side(!is_a).session.connection_closed(peer, now);
                }
            }
            Output::Event(e) => self.side(is_a).events.push(e),
        }
    }

    /// Advances the virtual clock to the next deadline of either side (at most `max`), fires it,
    /// and settles. Returns false if no deadline is pending.
    fn tick(&mut self, max: Duration) -> bool {
        self.settle();
        let limit = self.now + max;
        let next = [self.a.session.poll_timeout(), self.b.session.poll_timeout()].into_iter().flatten().min();
        let Some(next) = next else { return false };
        self.now = next.min(limit).max(self.now);
        let now = self.now;
        self.a.session.handle_timeout(now);
        self.b.session.handle_timeout(now);
        self.settle();
        true
    }

    /// Runs the clock until `cond` holds, for at most `limit` of virtual time.
    fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Net) -> bool) -> bool {
        let end = self.now + limit;
        self.settle();
        for _ in 0..100_000 {
            if cond(self) {
                return true;
            }
            if self.now >= end || !self.tick(end - self.now) {
                return cond(self);
            }
        }
        false
    }

    fn both(&self, s: State) -> bool {
        self.a.session.state() == s && self.b.session.state() == s
    }
}

fn downs(events: &[Event]) -> Vec<DownReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Down { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn establishes_with_one_active_and_one_passive_side() {
    let mut b = config(65002, [10, 0, 0, 2], 65001);
    b.passive = true;
    let mut net = Net::new(config(65001, [10, 0, 0, 1], 65002), b);
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert_eq!(net.b.session.state(), State::Active);
    assert!(net.run_until(Duration::from_secs(1), |n| n.both(State::Established)));
    let n = net.a.session.negotiated().unwrap();
    assert_eq!((n.peer_as, n.hold_time, n.keepalive), (65002, 90, 30));
    assert!(n.wire.four_octet_as && n.route_refresh && n.enhanced_route_refresh);
    // The state walk of the active side, in order.
    let walk: Vec<State> = net
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(walk, [State::Connect, State::OpenSent, State::OpenConfirm, State::Established]);
    assert!(net.a.events.iter().any(|e| matches!(e, Event::Established(_))));
    // Keepalives keep it up for ten minutes of virtual time.
    assert!(!net.run_until(Duration::from_secs(600), |n| !n.both(State::Established)));
    assert!(net.a.session.counters().sent[3] >= 20, "keepalives every 30 s");
}

#[test]
fn hold_time_is_the_minimum_and_zero_disables_keepalives() {
    let mut a = config(65001, [10, 0, 0, 1], 65002);
    a.hold_time = 0;
    let mut net = Net::new(a, config(65002, [10, 0, 0, 2], 65001));
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert!(net.run_until(Duration::from_secs(1), |n| n.both(State::Established)));
    assert_eq!(net.b.session.negotiated().unwrap().hold_time, 0);
    assert_eq!(net.b.session.negotiated().unwrap().keepalive, 0);
    assert_eq!(net.a.session.poll_timeout(), None);
    let sent = net.a.session.counters().sent[3];
    assert!(!net.run_until(Duration::from_secs(3600), |n| !n.both(State::Established)));
    assert_eq!(net.a.session.counters().sent[3], sent, "no keepalives with hold time 0");
}

#[test]
fn hold_timer_expiry_sends_notification_4_0() {
    let mut a = config(65001, [10, 0, 0, 1], 65002);
    a.hold_time = 9;
    let mut net = Net::new(a, config(65002, [10, 0, 0, 2], 65001));
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert!(net.run_until(Duration::from_secs(1), |n| n.both(State::Established)));
    assert_eq!(net.b.session.negotiated().unwrap().keepalive, 3);
    let start = net.now;
    net.mute_a = true;
    assert!(net.run_until(Duration::from_secs(30), |n| n.b.session.state() == State::Idle));
    let waited = net.now - start;
    assert!(waited > Duration::from_secs(6) && waited <= Duration::from_secs(9), "hold timer fired after {waited:?}");
    assert_eq!(downs(&net.b.events), [DownReason::NotificationSent(Notification::new(4, 0, vec![]))]);
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier() {
    // The third case has equal identifiers (allowed on eBGP): the larger AS's connection survives
    // (RFC 6286 §2.3), here B's (65002).
    for (a_id, b_id) in [([10, 0, 0, 1], [10, 0, 0, 2]), ([10, 0, 0, 9], [10, 0, 0, 2]), ([10, 0, 0, 5], [10, 0, 0, 5])]
    {
        let mut net = Net::new(config(65001, a_id, 65002), config(65002, b_id, 65001));
        let t0 = net.now;
        // Both start at the same instant: both connect, two connections collide.
        net.a.session.start(t0);
        net.b.session.start(t0);
        assert!(net.run_until(Duration::from_secs(5), |n| n.both(State::Established)));
        assert_eq!(net.max_links, 2, "both sides connected: a real collision");
        assert_eq!(net.links.len(), 1, "exactly one connection survives");
        let a_higher = match u32::from(Ipv4Addr::from(a_id)).cmp(&u32::from(Ipv4Addr::from(b_id))) {
            std::cmp::Ordering::Equal => 65001 > 65002,
            o => o == std::cmp::Ordering::Greater,
        };
        let link = net.links[0];
        assert_eq!(link.a, net.a.session.established_connection().unwrap());
        assert_eq!(link.b, net.b.session.established_connection().unwrap());
        // RFC 4271 §6.8: the connection initiated by the side with the higher identifier survives.
        assert_eq!(link.from_a, a_higher);
        let collision_sent = |s: &Side| {
            s.events.iter().any(|e| {
                matches!(e, Event::NotificationSent { notification, .. } if notification.code == 6 && notification.subcode == 7)
            })
        };
        assert!(collision_sent(&net.a) || collision_sent(&net.b));
        // The session went up once on each side, with no Down event.
        assert!(downs(&net.a.events).is_empty() && downs(&net.b.events).is_empty());
    }
}

#[test]
fn bad_peer_as_gets_notification_2_2_and_backoff_grows() {
    let a = config(65001, [10, 0, 0, 1], 65002);
    let b = config(65099, [10, 0, 0, 2], 65001); // A expects 65002
    let mut net = Net::new(a, b);
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert!(net.run_until(Duration::from_millis(10), |n| !downs(&n.a.events).is_empty()));
    assert_eq!(downs(&net.a.events)[0], DownReason::NotificationSent(Notification::new(2, 2, vec![])));
    assert!(
        matches!(downs(&net.b.events)[0], DownReason::NotificationReceived(ref n) if n.code == 2 && n.subcode == 2)
    );
    // After each failure the IdleHold time doubles, capped at 8 s.
    let mut idle_holds = Vec::new();
    for _ in 0..5 {
        idle_holds.push(net.a.session.idle_hold_time());
        let before = downs(&net.a.events).len();
        assert!(net.run_until(Duration::from_secs(60), |n| downs(&n.a.events).len() > before));
    }
    assert_eq!(idle_holds, [2, 4, 8, 8, 8].map(Duration::from_secs));
}

#[test]
fn bad_open_is_answered_before_close() {
    // B receives garbage instead of an OPEN and answers with a header error.
    let mut b = config(65002, [10, 0, 0, 2], 65001);
    b.passive = true;
    let mut s = Session::new(b);
    let now = Instant::now();
    s.start(now);
    let id = s.connection_opened(Direction::Inbound, now).unwrap();
    let mut open = Vec::new();
    while let Some(o) = s.poll_output() {
        if let Output::Transmit { data, .. } = o {
            open = data;
        }
    }
    assert_eq!(open[18], 1, "OPEN sent at once");
    let mut bad = vec![0xff; 16];
    bad.extend_from_slice(&[0, 29, 1, 5]); // version 5
    bad.extend_from_slice(&[0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 0]);
    s.receive(id, &bad, now);
    let outs: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    let sent: Vec<&Vec<u8>> =
        outs.iter().filter_map(|o| if let Output::Transmit { data, .. } = o { Some(data) } else { None }).collect();
    let n = Message::decode(sent[0], &WireContext::default()).unwrap();
    assert_eq!(n, Message::Notification(Notification::new(2, 1, vec![0, 4])));
    let close_at = outs.iter().position(|o| matches!(o, Output::Close { .. })).unwrap();
    let tx_at = outs.iter().position(|o| matches!(o, Output::Transmit { .. })).unwrap();
    assert!(tx_at < close_at, "NOTIFICATION written before the close");
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn unexpected_message_in_opensent_is_an_fsm_error() {
    let mut s = Session::new(config(65002, [10, 0, 0, 2], 65001));
    let now = Instant::now();
    s.start(now);
    let id = s.connection_opened(Direction::Outbound, now).unwrap();
    let keepalive = Message::Keepalive.to_bytes(&WireContext::default()).unwrap();
    s.receive(id, &keepalive, now);
    let notes: Vec<Notification> = std::iter::from_fn(|| s.poll_output())
        .filter_map(|o| match o {
            Output::Event(Event::NotificationSent { notification, .. }) => Some(notification),
            _ => None,
        })
        .collect();
    assert_eq!(notes, [Notification::new(5, 1, vec![4])]);
}

#[test]
fn stop_sends_shutdown_communication_and_stays_idle() {
    let mut net = Net::new(config(65001, [10, 0, 0, 1], 65002), config(65002, [10, 0, 0, 2], 65001));
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert!(net.run_until(Duration::from_secs(1), |n| n.both(State::Established)));
    let now = net.now;
    net.a.session.stop(Some("maintenance until 14:00"), now).unwrap();
    net.settle();
    let got = downs(&net.b.events);
    let DownReason::NotificationReceived(n) = &got[0] else { panic!("{got:?}") };
    assert_eq!(n.shutdown_communication(), Some(Ok("maintenance until 14:00")));
    assert_eq!(downs(&net.a.events), [DownReason::Stopped]);
    // A stays down: B keeps trying but A refuses while stopped.
    assert!(!net.run_until(Duration::from_secs(120), |n| n.a.session.state() != State::Idle));
    assert!(net.a.session.stop(Some(&"x".repeat(256)), now).is_err());
}

#[test]
fn delay_open_waits_for_the_peer_open() {
    let mut a = config(65001, [10, 0, 0, 1], 65002);
    a.delay_open = Some(Duration::from_secs(5));
    a.passive = true;
    let mut net = Net::new(a, config(65002, [10, 0, 0, 2], 65001));
    let t0 = net.now;
    net.a.session.start(t0);
    net.b.session.start(t0);
    assert!(net.run_until(Duration::from_secs(1), |n| n.both(State::Established)));
    // A answered B's OPEN at once instead of waiting out the DelayOpen timer.
    assert_eq!(net.now, t0);
}
