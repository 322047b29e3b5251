//! Speaker and peer configuration.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_core::fsm::PeerAs;
use bgp_core::Family;

/// The speaker: who we are and where we listen.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Addresses to accept connections on (e.g. `127.0.0.1:179`). Bind specific addresses, not the
    /// wildcard, when other BGP daemons share the host.
    pub listen: Vec<SocketAddr>,
}

/// What to do when a peer sends more prefixes than allowed (Cease / Maximum Number of Prefixes
/// Reached, RFC 4486 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxPrefixAction {
    /// Only report it.
    Warn,
    /// Close the session with Cease / 1; restart after the given time (never if `None`).
    Teardown {
        /// When to restart.
        restart_after: Option<Duration>,
    },
}

/// A limit on the routes received from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPrefix {
    /// Largest number of routes accepted (all families together).
    pub limit: usize,
    /// What happens above it.
    pub action: MaxPrefixAction,
}

/// Graceful restart (RFC 4724) for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Seconds the peer should keep our routes when we go away (Restart Time, at most 4095).
    pub restart_time: u16,
    /// This process has just restarted: the first OPEN carries the Restart State bit and the
    /// Forwarding State bit for every family, so the peer keeps our routes until our End-of-RIB.
    pub restarting: bool,
    /// Helper mode: when the peer goes away without a NOTIFICATION, keep its routes as stale until
    /// its End-of-RIB or its restart time.
    pub helper: bool,
}

/// One peer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's port (179).
    pub port: u16,
    /// The AS it must have.
    pub remote_as: PeerAs,
    /// Our address for this session (bound before connecting).
    pub local_address: Option<IpAddr>,
    /// Only wait for the peer to connect.
    pub passive: bool,
    /// Hold time to propose.
    pub hold_time: u16,
    /// Families to offer.
    pub families: Vec<Family>,
    /// Seconds between connection attempts.
    pub connect_retry: Duration,
    /// First IdleHold time after a failure (doubles up to 120 s).
    pub idle_hold: Duration,
    /// Offer RFC 8654 extended messages.
    pub extended_message: bool,
    /// Limit on received routes.
    pub max_prefix: Option<MaxPrefix>,
    /// Graceful restart, if offered.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// TCP-MD5 signature key (RFC 2385), at most 80 bytes; set on our connections and on the
    /// listeners for this peer's address.
    pub md5_password: Option<String>,
    /// GTSM (RFC 5082): the peer is at most this many hops away; we send with TTL 255 and drop
    /// packets that arrive with a TTL below 256 minus this.
    pub ttl_security: Option<u8>,
}

impl PeerConfig {
    /// A peer with defaults: port 179, hold time 90, IPv4 and IPv6 FlowSpec, connect retry 5 s.
    pub fn new(address: IpAddr, remote_as: u32) -> PeerConfig {
        PeerConfig {
            address,
            port: 179,
            remote_as: PeerAs::Exact(remote_as),
            local_address: None,
            passive: false,
            hold_time: 90,
            families: vec![Family::IPV4_FLOWSPEC, Family::IPV6_FLOWSPEC],
            connect_retry: Duration::from_secs(5),
            idle_hold: Duration::from_secs(1),
            extended_message: true,
            max_prefix: None,
            graceful_restart: None,
            md5_password: None,
            ttl_security: None,
        }
    }

    /// Checks what would otherwise fail only once the peer runs: a TCP-MD5 key the kernel
    /// refuses (empty, or longer than 80 bytes, `TCP_MD5SIG_MAXKEYLEN`), a hold time of 1 or 2
    /// seconds (RFC 4271 §4.2: zero or at least three), a GTSM hop count of zero (RFC 5082 §3:
    /// one hop at least). [`Speaker::add_peer`](crate::Speaker::add_peer) and
    /// [`Speaker::replace_peer`](crate::Speaker::replace_peer) call it before changing anything.
    pub fn check(&self) -> Result<(), crate::SpeakerError> {
        let invalid = |reason: String| Err(crate::SpeakerError::InvalidPeer { peer: self.address, reason });
        if let Some(key) = &self.md5_password {
            if key.is_empty() || key.len() > crate::sockopt::MAX_MD5_KEY {
                return invalid(format!(
                    "TCP-MD5 key of {} bytes: it must have 1 to {} bytes",
                    key.len(),
                    crate::sockopt::MAX_MD5_KEY
                ));
            }
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return invalid(format!("hold time {}: it must be 0 or at least 3 seconds", self.hold_time));
        }
        if self.ttl_security == Some(0) {
            return invalid("ttl_security 0: GTSM needs at least one hop".into());
        }
        Ok(())
    }
}
