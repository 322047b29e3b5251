//! IANA code points used on the wire: address families, message types, attribute and capability codes.
//!
//! Every code point is an enum with an `Unknown` arm so that any value read from the wire has a
//! representation and re-encodes to the same number.

/// Declares a code-point enum with an `Unknown` arm, conversions to and from the integer, a stable
/// lower-case name (`Display`/`FromStr`), and (with the `serde` feature) a serde form that is the name
/// for known values and the integer for unknown ones.
macro_rules! code_point {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate has no name for; kept so it re-encodes unchanged.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( $value => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// The numeric code point.
            pub fn code(self) -> $repr {
                self.into()
            }

            /// The lower-case name, or `None` for an unknown value.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($text), )+
                    Self::Unknown(_) => None,
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(text) => f.write_str(text),
                    None => write!(f, "{}", <$repr>::from(*self)),
                }
            }
        }

        impl core::str::FromStr for $name {
            type Err = crate::iana::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok(Self::$variant), )+
                    other => other
                        .parse::<$repr>()
                        .map(Self::from)
                        .map_err(|_| crate::iana::UnknownName(other.to_owned())),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(text) => s.serialize_str(text),
                    None => s.serialize_u64(u64::from(<$repr>::from(*self))),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum Repr {
                    Number($repr),
                    Text(String),
                }
                match Repr::deserialize(d)? {
                    Repr::Number(n) => Ok(Self::from(n)),
                    Repr::Text(t) => t.parse().map_err(serde::de::Error::custom),
                }
            }
        }
    };
}
pub(crate) use code_point;

/// A name that is neither a known code point nor a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

code_point! {
    /// Address Family Identifier (IANA "Address Family Numbers").
    pub enum Afi: u16 {
        /// IP version 4.
        Ipv4 = 1 => "ipv4",
        /// IP version 6.
        Ipv6 = 2 => "ipv6",
        /// Layer-2 VPN (RFC 4761, RFC 7432).
        L2vpn = 25 => "l2vpn",
        /// BGP-LS (RFC 7752).
        BgpLs = 16388 => "bgp-ls",
    }
}

code_point! {
    /// Subsequent Address Family Identifier (IANA "SAFI Values").
    pub enum Safi: u8 {
        /// Unicast forwarding (RFC 4760).
        Unicast = 1 => "unicast",
        /// Multicast forwarding (RFC 4760).
        Multicast = 2 => "multicast",
        /// Labeled unicast (RFC 8277).
        Labeled = 4 => "labeled",
        /// EVPN (RFC 7432).
        Evpn = 70 => "evpn",
        /// BGP-LS (RFC 7752).
        BgpLs = 71 => "bgp-ls",
        /// MPLS-labeled VPN address (RFC 4364).
        MplsVpn = 128 => "mpls-vpn",
        /// Route target constraint (RFC 4684).
        RouteTargetConstraint = 132 => "rtc",
        /// Dissemination of Flow Specification rules (RFC 8955).
        FlowSpec = 133 => "flowspec",
        /// L3VPN Dissemination of Flow Specification rules (RFC 8955).
        FlowSpecVpn = 134 => "flowspec-vpn",
    }
}

/// An address family: AFI and SAFI together (RFC 4760 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Family = Family::new(Afi::Ipv4, Safi::Unicast);
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Family = Family::new(Afi::Ipv6, Safi::Unicast);
    /// IPv4 multicast (1/2).
    pub const IPV4_MULTICAST: Family = Family::new(Afi::Ipv4, Safi::Multicast);
    /// IPv6 multicast (2/2).
    pub const IPV6_MULTICAST: Family = Family::new(Afi::Ipv6, Safi::Multicast);
    /// IPv4 FlowSpec (1/133, RFC 8955).
    pub const IPV4_FLOWSPEC: Family = Family::new(Afi::Ipv4, Safi::FlowSpec);
    /// IPv6 FlowSpec (2/133, RFC 8956).
    pub const IPV6_FLOWSPEC: Family = Family::new(Afi::Ipv6, Safi::FlowSpec);
    /// IPv4 FlowSpec VPN (1/134, RFC 8955).
    pub const IPV4_FLOWSPEC_VPN: Family = Family::new(Afi::Ipv4, Safi::FlowSpecVpn);
    /// IPv6 FlowSpec VPN (2/134, RFC 8956).
    pub const IPV6_FLOWSPEC_VPN: Family = Family::new(Afi::Ipv6, Safi::FlowSpecVpn);

    /// A family from its two parts.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Family { afi, safi }
    }

    /// True for the families whose NLRI are plain IP prefixes (RFC 4271 §4.3 encoding):
    /// IPv4 or IPv6 with SAFI unicast or multicast.
    pub fn has_prefix_nlri(self) -> bool {
        matches!(self.afi, Afi::Ipv4 | Afi::Ipv6) && matches!(self.safi, Safi::Unicast | Safi::Multicast)
    }
}

impl core::fmt::Display for Family {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}-{}", self.afi, self.safi)
    }
}

impl core::str::FromStr for Family {
    type Err = UnknownName;
    /// Parses `ipv4-unicast`, `ipv6-flowspec`, `1-133` and the like.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (afi, safi) = s.split_once('-').ok_or_else(|| UnknownName(s.to_owned()))?;
        Ok(Family::new(afi.parse()?, safi.parse()?))
    }
}

code_point! {
    /// BGP message type (RFC 4271 §4.1, RFC 2918 §3).
    pub enum MessageType: u8 {
        /// OPEN (RFC 4271 §4.2).
        Open = 1 => "open",
        /// UPDATE (RFC 4271 §4.3).
        Update = 2 => "update",
        /// NOTIFICATION (RFC 4271 §4.5).
        Notification = 3 => "notification",
        /// KEEPALIVE (RFC 4271 §4.4).
        Keepalive = 4 => "keepalive",
        /// ROUTE-REFRESH (RFC 2918 §3).
        RouteRefresh = 5 => "route_refresh",
    }
}

code_point! {
    /// Path attribute type codes (IANA "BGP Path Attributes").
    pub enum AttributeType: u8 {
        /// ORIGIN (RFC 4271 §5.1.1).
        Origin = 1 => "origin",
        /// AS_PATH (RFC 4271 §5.1.2).
        AsPath = 2 => "as_path",
        /// NEXT_HOP (RFC 4271 §5.1.3).
        NextHop = 3 => "next_hop",
        /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
        MultiExitDisc = 4 => "multi_exit_disc",
        /// LOCAL_PREF (RFC 4271 §5.1.5).
        LocalPref = 5 => "local_pref",
        /// ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
        AtomicAggregate = 6 => "atomic_aggregate",
        /// AGGREGATOR (RFC 4271 §5.1.7).
        Aggregator = 7 => "aggregator",
        /// COMMUNITIES (RFC 1997).
        Communities = 8 => "communities",
        /// ORIGINATOR_ID (RFC 4456).
        OriginatorId = 9 => "originator_id",
        /// CLUSTER_LIST (RFC 4456).
        ClusterList = 10 => "cluster_list",
        /// MP_REACH_NLRI (RFC 4760 §3).
        MpReachNlri = 14 => "mp_reach_nlri",
        /// MP_UNREACH_NLRI (RFC 4760 §4).
        MpUnreachNlri = 15 => "mp_unreach_nlri",
        /// EXTENDED COMMUNITIES (RFC 4360).
        ExtendedCommunities = 16 => "extended_communities",
        /// AS4_PATH (RFC 6793).
        As4Path = 17 => "as4_path",
        /// AS4_AGGREGATOR (RFC 6793).
        As4Aggregator = 18 => "as4_aggregator",
        /// IPv6 Address Specific Extended Community (RFC 5701).
        Ipv6ExtendedCommunities = 25 => "ipv6_extended_communities",
        /// LARGE_COMMUNITY (RFC 8092).
        LargeCommunities = 32 => "large_communities",
    }
}

code_point! {
    /// Capability codes (IANA "Capability Codes", RFC 5492 §4).
    pub enum CapabilityCode: u8 {
        /// Multiprotocol extensions (RFC 4760 §8).
        Multiprotocol = 1 => "multiprotocol",
        /// Route refresh (RFC 2918 §2).
        RouteRefresh = 2 => "route_refresh",
        /// Extended next hop encoding (RFC 8950 §3).
        ExtendedNextHop = 5 => "extended_next_hop",
        /// Extended message (RFC 8654 §3).
        ExtendedMessage = 6 => "extended_message",
        /// BGP role (RFC 9234 §4.1).
        Role = 9 => "role",
        /// Graceful restart (RFC 4724 §3).
        GracefulRestart = 64 => "graceful_restart",
        /// Support for 4-octet AS numbers (RFC 6793 §3).
        FourOctetAs = 65 => "four_octet_as",
        /// ADD-PATH (RFC 7911 §4).
        AddPath = 69 => "add_path",
        /// Enhanced route refresh (RFC 7313 §3.1).
        EnhancedRouteRefresh = 70 => "enhanced_route_refresh",
        /// Long-lived graceful restart (RFC 9494 §3).
        LongLivedGracefulRestart = 71 => "long_lived_graceful_restart",
        /// FQDN (draft-walton-bgp-hostname-capability).
        Fqdn = 73 => "fqdn",
        /// Route refresh, Cisco's pre-standard code.
        RouteRefreshCisco = 128 => "route_refresh_cisco",
    }
}

/// The AS number put in 2-octet fields for an AS that does not fit (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// The largest message without RFC 8654 extended messages (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The largest message when both sides advertised extended messages (RFC 8654 §4).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// The size of the fixed message header (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
