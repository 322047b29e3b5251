//! The validation procedure for received FlowSpec routes (RFC 8955 §6 as revised by RFC 9117).
//!
//! A pure function: the caller supplies the flow route's originator and AS_PATH and a view of its
//! unicast routing table. Each check can be switched off, as routers allow (Junos `no-validate`,
//! IOS-XR `disable`, BIRD `validate off`).

use std::net::{IpAddr, Ipv4Addr};

use crate::nlri::FlowSpec;
use bgp_core::attribute::{AsPath, SegmentType};

/// A unicast route as the validation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastRoute {
    /// The route's prefix: address and length.
    pub prefix: (IpAddr, u8),
    /// Its originator: the BGP identifier of the peer it came from, or its ORIGINATOR_ID.
    pub originator: Ipv4Addr,
    /// The neighboring AS it was received from.
    pub neighbor_as: u32,
    /// Its AS_PATH.
    pub as_path: AsPath,
}

/// The unicast routing table the validation consults.
pub trait UnicastLookup {
    /// The best-match (longest-prefix) unicast route for the flow's destination prefix.
    fn best_match(&self, addr: IpAddr, len: u8) -> Option<UnicastRoute>;
    /// Unicast routes more specific than the flow's destination prefix.
    fn more_specifics(&self, addr: IpAddr, len: u8) -> Vec<UnicastRoute>;
}

/// Which checks to run. `Default` runs them all, as RFC 8955 §6 and RFC 9117 prescribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationConfig {
    /// Require a destination prefix (IPv6: with offset 0). Off: rules without one are accepted
    /// and the other checks do not apply to them (RFC 8955 §6).
    pub require_destination: bool,
    /// RFC 8955 §6 (a) / RFC 9117 §4.1 (b.1): the flow's originator equals the best-match unicast
    /// route's originator.
    pub originator: bool,
    /// RFC 9117 §4.1 (b.2): an empty AS_PATH, or one of only AS_CONFED_SEQUENCE segments, passes
    /// instead of the originator check. RFC 9117 says this SHOULD be on by default.
    pub empty_as_path_passes: bool,
    /// RFC 8955 §6 (b): no more-specific unicast route from a different neighbor AS.
    pub more_specifics: bool,
    /// RFC 9117 §4.2: for a route from an eBGP peer, the left-most AS of the flow's AS_PATH equals
    /// the left-most AS of the best-match unicast route's AS_PATH (turn off for route servers).
    pub ebgp_leftmost_as: bool,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            require_destination: true,
            originator: true,
            empty_as_path_passes: true,
            more_specifics: true,
            ebgp_leftmost_as: true,
        }
    }
}

/// Why a flow route is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// No destination prefix (or, for IPv6, one with a non-zero offset).
    #[error("no destination prefix")]
    NoDestination,
    /// No unicast route covers the destination.
    #[error("no unicast route for the destination")]
    NoUnicastRoute,
    /// The originators differ.
    #[error("flow originator {flow} differs from unicast originator {unicast}")]
    OriginatorMismatch {
        /// The flow route's originator.
        flow: Ipv4Addr,
        /// The best-match unicast route's originator.
        unicast: Ipv4Addr,
    },
    /// A more specific unicast route came from another neighbor AS.
    #[error("more-specific unicast route from neighbor AS {neighbor_as} (best match from {best_as})")]
    MoreSpecificFromOtherAs {
        /// That route's neighbor AS.
        neighbor_as: u32,
        /// The best match's neighbor AS.
        best_as: u32,
    },
    /// RFC 9117 §4.2: left-most ASes differ on an eBGP route.
    #[error("left-most AS {flow:?} differs from the unicast route's {unicast:?}")]
    LeftmostAsMismatch {
        /// The flow route's left-most AS.
        flow: Option<u32>,
        /// The unicast route's left-most AS.
        unicast: Option<u32>,
    },
}

/// What is known about a received flow route besides its NLRI.
#[derive(Debug, Clone, Copy)]
pub struct FlowRoute<'a> {
    /// The rule.
    pub spec: &'a FlowSpec,
    /// Its originator (peer BGP identifier or ORIGINATOR_ID).
    pub originator: Ipv4Addr,
    /// Its AS_PATH.
    pub as_path: &'a AsPath,
    /// Received from an eBGP peer.
    pub from_ebgp: bool,
}

/// The left-most AS of a path: the first AS of its first AS_SEQUENCE (RFC 9117 §4.2).
fn leftmost_as(path: &AsPath) -> Option<u32> {
    path.segments.iter().find(|s| s.kind == SegmentType::Sequence).and_then(|s| s.asns.first().copied())
}

/// Runs the validation procedure. VPN rules (SAFI 134) are not validated by it; callers skip them
/// as routers do.
pub fn validate(
    route: &FlowRoute<'_>,
    rib: &dyn UnicastLookup,
    config: &ValidationConfig,
) -> Result<(), ValidationError> {
    let dst = match route.spec.destination() {
        Some(p) if p.offset == 0 => p,
        _ => {
            return if config.require_destination { Err(ValidationError::NoDestination) } else { Ok(()) };
        }
    };
    let best = rib.best_match(dst.addr, dst.len);
    if config.originator {
        let empty_path = route.as_path.segments.iter().all(|s| s.kind == SegmentType::ConfedSequence);
        let passes_by_path = config.empty_as_path_passes && empty_path;
        if !passes_by_path {
            let best = best.as_ref().ok_or(ValidationError::NoUnicastRoute)?;
            if best.originator != route.originator {
                return Err(ValidationError::OriginatorMismatch { flow: route.originator, unicast: best.originator });
            }
        }
    }
    if config.more_specifics {
        if let Some(best) = &best {
            if let Some(r) =
                rib.more_specifics(dst.addr, dst.len).into_iter().find(|r| r.neighbor_as != best.neighbor_as)
            {
                return Err(ValidationError::MoreSpecificFromOtherAs {
                    neighbor_as: r.neighbor_as,
                    best_as: best.neighbor_as,
                });
            }
        }
    }
    if config.ebgp_leftmost_as && route.from_ebgp {
        let best = best.as_ref().ok_or(ValidationError::NoUnicastRoute)?;
        let (flow, unicast) = (leftmost_as(route.as_path), leftmost_as(&best.as_path));
        if flow != unicast {
            return Err(ValidationError::LeftmostAsMismatch { flow, unicast });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlowRule;

    struct Rib(Vec<UnicastRoute>);

    fn covers(route: &(IpAddr, u8), addr: IpAddr, len: u8) -> bool {
        let p = crate::component::FlowPrefix::new(route.0, route.1);
        route.1 <= len && p.contains(addr)
    }

    impl UnicastLookup for Rib {
        fn best_match(&self, addr: IpAddr, len: u8) -> Option<UnicastRoute> {
            self.0.iter().filter(|r| covers(&r.prefix, addr, len)).max_by_key(|r| r.prefix.1).cloned()
        }
        fn more_specifics(&self, addr: IpAddr, len: u8) -> Vec<UnicastRoute> {
            let outer = crate::component::FlowPrefix::new(addr, len);
            self.0.iter().filter(|r| r.prefix.1 > len && outer.contains(r.prefix.0)).cloned().collect()
        }
    }

    fn route(p: &str, originator: [u8; 4], neighbor_as: u32, path: &[u32]) -> UnicastRoute {
        let (a, l) = p.split_once('/').unwrap();
        UnicastRoute {
            prefix: (a.parse().unwrap(), l.parse().unwrap()),
            originator: Ipv4Addr::from(originator),
            neighbor_as,
            as_path: AsPath::from_sequence(path.to_vec()),
        }
    }

    #[test]
    fn rfc8955_and_9117_checks() {
        let rib = Rib(vec![
            route("192.0.2.0/24", [10, 0, 0, 1], 65001, &[65001, 65010]),
            route("192.0.2.128/25", [10, 0, 0, 2], 65002, &[65002]),
        ]);
        let spec = "dst 192.0.2.0/26 proto =17".parse::<FlowRule>().unwrap().spec;
        let path = AsPath::from_sequence([65001, 65010]);
        let ok = FlowRoute { spec: &spec, originator: Ipv4Addr::new(10, 0, 0, 1), as_path: &path, from_ebgp: true };
        assert_eq!(validate(&ok, &rib, &ValidationConfig::default()), Ok(()));
        let wrong = FlowRoute { originator: Ipv4Addr::new(10, 0, 0, 9), ..ok };
        assert!(matches!(
            validate(&wrong, &rib, &ValidationConfig::default()),
            Err(ValidationError::OriginatorMismatch { .. })
        ));
        // RFC 9117: an iBGP route with an empty AS_PATH passes the originator check.
        let empty = AsPath::empty();
        let ibgp = FlowRoute { as_path: &empty, from_ebgp: false, ..wrong };
        assert_eq!(validate(&ibgp, &rib, &ValidationConfig::default()), Ok(()));
        let strict = ValidationConfig { empty_as_path_passes: false, ..ValidationConfig::default() };
        assert!(validate(&ibgp, &rib, &strict).is_err());
        // A /24 flow has a more specific /25 from another AS.
        let wide = "dst 192.0.2.0/24".parse::<FlowRule>().unwrap().spec;
        let r = FlowRoute { spec: &wide, ..ok };
        assert_eq!(
            validate(&r, &rib, &ValidationConfig::default()),
            Err(ValidationError::MoreSpecificFromOtherAs { neighbor_as: 65002, best_as: 65001 })
        );
        assert_eq!(
            validate(&r, &rib, &ValidationConfig { more_specifics: false, ..ValidationConfig::default() }),
            Ok(())
        );
        // eBGP left-most AS.
        let other_path = AsPath::from_sequence([65099, 65010]);
        let r = FlowRoute { as_path: &other_path, ..ok };
        assert!(matches!(
            validate(&r, &rib, &ValidationConfig::default()),
            Err(ValidationError::LeftmostAsMismatch { .. })
        ));
        // No destination.
        let nodst = "proto =17".parse::<FlowRule>().unwrap().spec;
        let r = FlowRoute { spec: &nodst, ..ok };
        assert_eq!(validate(&r, &rib, &ValidationConfig::default()), Err(ValidationError::NoDestination));
        assert_eq!(
            validate(&r, &rib, &ValidationConfig { require_destination: false, ..ValidationConfig::default() }),
            Ok(())
        );
    }
}
