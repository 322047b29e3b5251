//! What one side of a session is configured with, and what the two sides negotiated.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::capability::{AddPathFamily, AddPathMode, Capability, GracefulRestart, Role};
use crate::iana::{CapabilityCode, Family};
use crate::message::{Open, WireContext};

/// Which AS numbers the peer may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAs {
    /// Exactly this AS.
    Exact(u32),
    /// Any AS in the range (for passive peers that may come from several ASes).
    Range(RangeInclusive<u32>),
}

impl PeerAs {
    /// True if `asn` is allowed.
    pub fn accepts(&self, asn: u32) -> bool {
        match self {
            PeerAs::Exact(a) => *a == asn,
            PeerAs::Range(r) => r.contains(&asn),
        }
    }
}

/// Configuration of one BGP session (RFC 4271 §8.1 optional attributes and timers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS number.
    pub local_as: u32,
    /// Our BGP identifier (RFC 6286).
    pub local_id: Ipv4Addr,
    /// The AS the peer must have.
    pub peer_as: PeerAs,
    /// Hold time we propose, in seconds: 0 (no keepalives) or at least 3. Default 90.
    pub hold_time: u16,
    /// Largest keepalive interval we use; the interval is also at most a third of the negotiated hold
    /// time (RFC 4271 §10). Default 30 s.
    pub keepalive_time: u16,
    /// ConnectRetryTime (RFC 4271 §10, default 120 s).
    pub connect_retry_time: Duration,
    /// Only accept connections; never initiate one (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// DelayOpen: after a connection is made, wait this long for the peer's OPEN before sending ours
    /// (RFC 4271 §8.1.1 DelayOpenTime). `None`: send OPEN at once.
    pub delay_open: Option<Duration>,
    /// First IdleHoldTime after a session failure (RFC 4271 §8.1.1 DampPeerOscillations); it doubles
    /// with each failure in a row up to [`idle_hold_max`](Self::idle_hold_max).
    pub idle_hold_time: Duration,
    /// Upper bound of the IdleHoldTime backoff.
    pub idle_hold_max: Duration,
    /// A session that stays Established this long resets the backoff.
    pub stable_time: Duration,
    /// Restart automatically after a failure, once IdleHoldTime has passed (AutomaticStart).
    pub auto_restart: bool,
    /// Families offered with the multiprotocol capability (RFC 4760 §8).
    pub families: Vec<Family>,
    /// Offer route refresh (RFC 2918) and enhanced route refresh (RFC 7313).
    pub route_refresh: bool,
    /// Offer extended messages (RFC 8654).
    pub extended_message: bool,
    /// Graceful restart capability to offer (RFC 4724), if any.
    pub graceful_restart: Option<GracefulRestart>,
    /// ADD-PATH families and directions to offer (RFC 7911).
    pub add_path: Vec<AddPathFamily>,
    /// BGP role to offer (RFC 9234); a peer with an incompatible role is refused with 2/11.
    pub role: Option<Role>,
    /// Further capabilities to send as they are (LLGR, FQDN, unknown ...).
    pub extra_capabilities: Vec<Capability>,
    /// Accept a new connection's OPEN while already Established and resolve it as a collision
    /// (RFC 4271 §6.8 CollisionDetectEstablishedState). Default `false`: the new one is closed.
    pub collision_detect_established: bool,
}

impl SessionConfig {
    /// A configuration with RFC 4271 default timers, IPv4 unicast, route refresh on.
    pub fn new(local_as: u32, local_id: Ipv4Addr, peer_as: u32) -> Self {
        SessionConfig {
            local_as,
            local_id,
            peer_as: PeerAs::Exact(peer_as),
            hold_time: 90,
            keepalive_time: 30,
            connect_retry_time: Duration::from_secs(120),
            passive: false,
            delay_open: None,
            idle_hold_time: Duration::from_secs(5),
            idle_hold_max: Duration::from_secs(120),
            stable_time: Duration::from_secs(300),
            auto_restart: true,
            families: vec![Family::IPV4_UNICAST],
            route_refresh: true,
            extended_message: false,
            graceful_restart: None,
            add_path: Vec::new(),
            role: None,
            extra_capabilities: Vec::new(),
            collision_detect_established: false,
        }
    }

    /// The OPEN this configuration sends: all capabilities in one optional parameter.
    pub fn open(&self) -> Open {
        let mut caps: Vec<Capability> =
            self.families.iter().map(|f| Capability::Multiprotocol { family: *f }).collect();
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if let Some(gr) = &self.graceful_restart {
            caps.push(Capability::GracefulRestart(gr.clone()));
        }
        caps.push(Capability::FourOctetAs { asn: self.local_as });
        if !self.add_path.is_empty() {
            caps.push(Capability::AddPath { families: self.add_path.clone() });
        }
        if let Some(role) = self.role {
            caps.push(Capability::Role { role });
        }
        caps.extend(self.extra_capabilities.iter().cloned());
        Open::new(self.local_as, self.hold_time, self.local_id, caps)
    }
}

/// What the two OPENs agreed (RFC 4271 §4.2, RFC 5492 and each capability's RFC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS (from its 4-octet AS capability when present).
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Hold time: the smaller of the two proposals; 0 means no hold timer and no keepalives.
    pub hold_time: u16,
    /// Keepalive interval in seconds (0 when the hold time is 0).
    pub keepalive: u16,
    /// Families both sides offered.
    pub families: Vec<Family>,
    /// Both sides offered route refresh (code 2 or Cisco's 128).
    pub route_refresh: bool,
    /// Both sides offered enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's graceful restart capability, if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// How messages are encoded on this session.
    pub wire: WireContext,
    /// The OPEN we sent.
    pub local_open: Open,
    /// The OPEN the peer sent.
    pub peer_open: Open,
}

impl Negotiated {
    /// Computes the agreement from both OPENs.
    pub fn new(local: &Open, peer: &Open) -> Negotiated {
        let hold_time = local.hold_time.min(peer.hold_time);
        let ours = local.families();
        let theirs = peer.families();
        let families: Vec<Family> = ours.iter().copied().filter(|f| theirs.contains(f)).collect();
        let both = |code: CapabilityCode| local.has_capability(code) && peer.has_capability(code);
        let rr = |o: &Open| {
            o.has_capability(CapabilityCode::RouteRefresh) || o.has_capability(CapabilityCode::RouteRefreshCisco)
        };
        let add_path = |o: &Open| -> Vec<AddPathFamily> {
            o.capabilities()
                .filter_map(|c| match c {
                    Capability::AddPath { families } => Some(families.clone()),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        let (ap_local, ap_peer) = (add_path(local), add_path(peer));
        let mode_of = |list: &[AddPathFamily], f: Family| list.iter().find(|a| a.family == f).map(|a| a.mode);
        let mut wire = WireContext {
            four_octet_as: both(CapabilityCode::FourOctetAs),
            ibgp: local.asn() == peer.asn(),
            ..WireContext::default()
        }
        .with_extended_messages(both(CapabilityCode::ExtendedMessage));
        // RFC 7911 §5: path identifiers flow from a sender to a receiver that both agreed.
        for f in &families {
            let (l, p) = (mode_of(&ap_local, *f), mode_of(&ap_peer, *f));
            if l.is_some_and(AddPathMode::can_receive) && p.is_some_and(AddPathMode::can_send) {
                wire.add_path_receive.push(*f);
            }
            if l.is_some_and(AddPathMode::can_send) && p.is_some_and(AddPathMode::can_receive) {
                wire.add_path_send.push(*f);
            }
        }
        Negotiated {
            peer_as: peer.asn(),
            peer_id: peer.bgp_id,
            hold_time,
            keepalive: 0,
            families,
            route_refresh: rr(local) && rr(peer),
            enhanced_route_refresh: both(CapabilityCode::EnhancedRouteRefresh),
            peer_graceful_restart: peer.capabilities().find_map(|c| match c {
                Capability::GracefulRestart(gr) => Some(gr.clone()),
                _ => None,
            }),
            wire,
            local_open: local.clone(),
            peer_open: peer.clone(),
        }
    }
}
