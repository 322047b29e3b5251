//! Routes as the speaker keeps them: an NLRI in its wire form, keyed by family, and a shared set of
//! path attributes.

use std::net::IpAddr;
use std::sync::Arc;

use bgp_core::attribute::{
    AsPath, AttributeValue, Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity, Origin, PathAttribute,
};
use bgp_core::message::WireContext;
use bgp_core::nlri::Prefix;
use bgp_core::{Afi, Family, Safi};
use bytes::Bytes;
use flowspec::{ActionCommunity, FlowRule, FlowSpec};

/// One NLRI: its family and its bytes exactly as they go on the wire (for FlowSpec, the length
/// field included; for prefixes, length byte and address bytes; never an ADD-PATH identifier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    family: Family,
    bytes: Bytes,
}

impl Nlri {
    /// A unicast or multicast prefix.
    pub fn prefix(safi: Safi, prefix: Prefix) -> Nlri {
        let afi = prefix.afi();
        let mut out = Vec::with_capacity(prefix.wire_len());
        Prefix::new(prefix.net).encode(&mut out);
        Nlri { family: Family::new(afi, safi), bytes: Bytes::from(out) }
    }

    /// A FlowSpec rule (SAFI 133, or 134 when it has a route distinguisher).
    pub fn flowspec(spec: &FlowSpec) -> Result<Nlri, flowspec::EncodeError> {
        let safi = if spec.rd().is_some() { Safi::FlowSpecVpn } else { Safi::FlowSpec };
        Ok(Nlri { family: Family::new(spec.afi(), safi), bytes: Bytes::from(spec.to_bytes()?) })
    }

    /// An NLRI from its wire bytes, as split from a received UPDATE.
    pub fn from_wire(family: Family, bytes: Bytes) -> Nlri {
        Nlri { family, bytes }
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The wire bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The FlowSpec rule, for FlowSpec families.
    pub fn as_flowspec(&self) -> Option<FlowSpec> {
        match self.family.safi {
            Safi::FlowSpec | Safi::FlowSpecVpn => {
                FlowSpec::decode(&self.bytes, self.family.afi, self.family.safi == Safi::FlowSpecVpn).ok().map(|r| r.0)
            }
            _ => None,
        }
    }
}

impl core::fmt::Display for Nlri {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if let Some(spec) = self.as_flowspec() {
            return write!(f, "{spec}");
        }
        if self.family.has_prefix_nlri() {
            let mut r = bgp_core::Reader::new(&self.bytes, 0);
            if let (Some(len), rest) = (r.u8(), r.rest()) {
                let mut a = [0u8; 16];
                for (d, s) in a.iter_mut().zip(rest) {
                    *d = *s;
                }
                let addr: IpAddr = match self.family.afi {
                    Afi::Ipv4 => IpAddr::from([a[0], a[1], a[2], a[3]]),
                    _ => IpAddr::from(a),
                };
                return write!(f, "{addr}/{len}");
            }
        }
        write!(f, "{}:{}", self.family, bgp_core::hex::encode(&self.bytes))
    }
}

/// The path attributes of a locally originated route, shared by every route that has the same.
///
/// The speaker adds what depends on the session when it exports: AS_PATH prepending for eBGP,
/// NEXT_HOP / MP_REACH_NLRI next hop, LOCAL_PREF for iBGP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RouteAttributes {
    /// ORIGIN (default IGP).
    pub origin: Option<Origin>,
    /// The AS_PATH before export (normally empty for locally originated routes).
    pub as_path: AsPath,
    /// Next hop for unicast routes; FlowSpec routes have none (RFC 8955 §4), except the legacy
    /// redirect-to-next-hop action, which uses it.
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF for iBGP peers (default 100).
    pub local_pref: Option<u32>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// EXTENDED_COMMUNITIES, FlowSpec actions included.
    pub extended_communities: Vec<ExtendedCommunity>,
    /// IPv6 address-specific extended communities.
    pub ipv6_extended_communities: Vec<Ipv6ExtendedCommunity>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<LargeCommunity>,
}

impl RouteAttributes {
    /// The attributes that carry a FlowSpec rule's actions.
    pub fn from_actions(actions: &[flowspec::Action]) -> RouteAttributes {
        let mut a = RouteAttributes::default();
        for act in actions {
            match act.to_community() {
                ActionCommunity::Extended(c) => a.extended_communities.push(c),
                ActionCommunity::Ipv6(c) => a.ipv6_extended_communities.push(c),
            }
        }
        a
    }

    /// The path attributes sent to a peer, in type order, without NEXT_HOP and the MP attributes.
    pub(crate) fn export(&self, local_as: u32, ebgp: bool) -> Vec<PathAttribute> {
        let mut out = vec![PathAttribute::new(AttributeValue::Origin(self.origin.unwrap_or(Origin::Igp)))];
        let path = if ebgp { self.as_path.prepend(local_as) } else { self.as_path.clone() };
        out.push(PathAttribute::new(AttributeValue::AsPath(path)));
        if let Some(m) = self.med {
            out.push(PathAttribute::new(AttributeValue::MultiExitDisc(m)));
        }
        if !ebgp {
            out.push(PathAttribute::new(AttributeValue::LocalPref(self.local_pref.unwrap_or(100))));
        }
        if !self.communities.is_empty() {
            out.push(PathAttribute::new(AttributeValue::Communities(self.communities.clone())));
        }
        if !self.extended_communities.is_empty() {
            out.push(PathAttribute::new(AttributeValue::ExtendedCommunities(self.extended_communities.clone())));
        }
        if !self.ipv6_extended_communities.is_empty() {
            out.push(PathAttribute::new(AttributeValue::Ipv6ExtendedCommunities(
                self.ipv6_extended_communities.clone(),
            )));
        }
        if !self.large_communities.is_empty() {
            out.push(PathAttribute::new(AttributeValue::LargeCommunities(self.large_communities.clone())));
        }
        out
    }

    /// The exported attributes encoded once, for packing many NLRI behind them.
    pub(crate) fn encode_export(
        &self,
        local_as: u32,
        ebgp: bool,
        wire: &WireContext,
    ) -> Result<Vec<u8>, bgp_core::EncodeError> {
        let mut out = Vec::with_capacity(64);
        for a in self.export(local_as, ebgp) {
            a.encode(wire, &mut out)?;
        }
        Ok(out)
    }
}

/// A route: an NLRI and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// What is reachable.
    pub nlri: Nlri,
    /// How, shared between routes.
    pub attributes: Arc<RouteAttributes>,
}

impl Route {
    /// A FlowSpec route from a rule with its actions.
    pub fn flowspec(rule: &FlowRule) -> Result<Route, flowspec::EncodeError> {
        Ok(Route {
            nlri: Nlri::flowspec(&rule.spec)?,
            attributes: Arc::new(RouteAttributes::from_actions(&rule.actions)),
        })
    }

    /// A route with the given NLRI and attributes.
    pub fn new(nlri: Nlri, attributes: Arc<RouteAttributes>) -> Route {
        Route { nlri, attributes }
    }
}
