//! Capabilities advertised in OPEN (RFC 5492) and their values.

use crate::error::EncodeError;
use crate::iana::{code_point, Afi, CapabilityCode, Family, Safi};
use crate::wire::Reader;

code_point! {
    /// ADD-PATH send/receive field (RFC 7911 §4).
    pub enum AddPathMode: u8 {
        /// Able to receive multiple paths.
        Receive = 1 => "receive",
        /// Able to send multiple paths.
        Send = 2 => "send",
        /// Both.
        Both = 3 => "both",
    }
}

impl AddPathMode {
    /// True if the mode includes receiving.
    pub fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// True if the mode includes sending.
    pub fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

code_point! {
    /// BGP role (RFC 9234 §4.1).
    pub enum Role: u8 {
        /// Provider.
        Provider = 0 => "provider",
        /// Route server.
        RouteServer = 1 => "rs",
        /// Route-server client.
        RouteServerClient = 2 => "rs-client",
        /// Customer.
        Customer = 3 => "customer",
        /// Lateral peer.
        Peer = 4 => "peer",
    }
}

impl Role {
    /// The role a correctly configured peer has opposite this one (RFC 9234 §4.2, Table 2).
    pub fn expected_peer_role(self) -> Option<Role> {
        match self {
            Role::Provider => Some(Role::Customer),
            Role::Customer => Some(Role::Provider),
            Role::RouteServer => Some(Role::RouteServerClient),
            Role::RouteServerClient => Some(Role::RouteServer),
            Role::Peer => Some(Role::Peer),
            Role::Unknown(_) => None,
        }
    }
}

/// One family in the graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GracefulRestartFamily {
    /// The family.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// Flags for Address Family; bit 0x80 is "Forwarding State" (F).
    pub flags: u8,
}

impl GracefulRestartFamily {
    /// "Forwarding State" bit: forwarding state was preserved across the restart (RFC 4724 §3).
    pub const FORWARDING_STATE: u8 = 0x80;

    /// True if the forwarding state was preserved.
    pub fn forwarding_preserved(&self) -> bool {
        self.flags & Self::FORWARDING_STATE != 0
    }
}

/// The graceful restart capability value (RFC 4724 §3, RFC 8538 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GracefulRestart {
    /// Restart Flags, the high four bits of the first octet: 0x8 Restart State (R), 0x4 Graceful
    /// Notification (N, RFC 8538).
    pub restart_flags: u8,
    /// Restart Time in seconds (12 bits, at most 4095).
    pub restart_time: u16,
    /// The families whose state is preserved.
    pub families: Vec<GracefulRestartFamily>,
}

impl GracefulRestart {
    /// Restart State bit: the speaker has restarted (RFC 4724 §3).
    pub const RESTART_STATE: u8 = 0x8;
    /// Graceful Notification bit (RFC 8538 §2).
    pub const NOTIFICATION: u8 = 0x4;

    /// True if the sender says it has just restarted.
    pub fn restarting(&self) -> bool {
        self.restart_flags & Self::RESTART_STATE != 0
    }
}

/// One family in the long-lived graceful restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LongLivedGracefulRestartFamily {
    /// The family.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// Flags; 0x80 is "Forwarding State" (F).
    pub flags: u8,
    /// Long-lived stale time in seconds (24 bits).
    pub stale_time: u32,
}

/// One family of the ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AddPathFamily {
    /// The family.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// Send, receive or both.
    pub mode: AddPathMode,
}

/// One tuple of the extended next hop capability (RFC 8950 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExtendedNextHop {
    /// The NLRI family (the SAFI is carried in two octets on the wire).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// The address family of the next hop.
    pub next_hop_afi: Afi,
}

/// A capability from an OPEN's capabilities optional parameter (RFC 5492 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "capability", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Capability {
    /// Multiprotocol extensions for one family (RFC 4760 §8). The reserved octet is ignored on
    /// receipt and sent as zero.
    Multiprotocol {
        /// The family.
        #[cfg_attr(feature = "serde", serde(flatten))]
        family: Family,
    },
    /// Route refresh (RFC 2918 §2).
    RouteRefresh,
    /// Extended next hop encoding (RFC 8950 §3).
    ExtendedNextHop {
        /// The families and their next-hop AFIs.
        families: Vec<ExtendedNextHop>,
    },
    /// Extended messages up to 65535 bytes (RFC 8654 §3).
    ExtendedMessage,
    /// BGP role (RFC 9234 §4.1).
    Role {
        /// The sender's role.
        role: Role,
    },
    /// Graceful restart (RFC 4724 §3).
    GracefulRestart(GracefulRestart),
    /// 4-octet AS number support, with the speaker's AS (RFC 6793 §3).
    FourOctetAs {
        /// The sender's AS number.
        asn: u32,
    },
    /// ADD-PATH (RFC 7911 §4).
    AddPath {
        /// The families and directions.
        families: Vec<AddPathFamily>,
    },
    /// Enhanced route refresh (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Long-lived graceful restart (RFC 9494 §3).
    LongLivedGracefulRestart {
        /// The families and their stale times.
        families: Vec<LongLivedGracefulRestartFamily>,
    },
    /// Host and domain name (draft-walton-bgp-hostname-capability §3).
    Fqdn {
        /// Host name.
        hostname: String,
        /// Domain name.
        domain: String,
    },
    /// Route refresh under Cisco's pre-standard code 128.
    RouteRefreshCisco,
    /// Any other capability (or an FQDN that is not UTF-8), kept as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        #[cfg_attr(feature = "serde", serde(with = "crate::wire::hex::serde_bytes"))]
        data: Vec<u8>,
    },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> CapabilityCode {
        use CapabilityCode as C;
        match self {
            Capability::Multiprotocol { .. } => C::Multiprotocol,
            Capability::RouteRefresh => C::RouteRefresh,
            Capability::ExtendedNextHop { .. } => C::ExtendedNextHop,
            Capability::ExtendedMessage => C::ExtendedMessage,
            Capability::Role { .. } => C::Role,
            Capability::GracefulRestart(_) => C::GracefulRestart,
            Capability::FourOctetAs { .. } => C::FourOctetAs,
            Capability::AddPath { .. } => C::AddPath,
            Capability::EnhancedRouteRefresh => C::EnhancedRouteRefresh,
            Capability::LongLivedGracefulRestart { .. } => C::LongLivedGracefulRestart,
            Capability::Fqdn { .. } => C::Fqdn,
            Capability::RouteRefreshCisco => C::RouteRefreshCisco,
            Capability::Unknown { code, .. } => C::from(*code),
        }
    }

    /// Decodes one capability (code, length, value). `Err` carries the reason for a known capability
    /// whose value is malformed.
    pub(crate) fn decode(code: u8, v: &mut Reader<'_>) -> Result<Capability, &'static str> {
        use CapabilityCode as C;
        let len = v.remaining();
        let empty = |c: Capability| if len == 0 { Ok(c) } else { Err("value must be empty") };
        let cap = match C::from(code) {
            C::Multiprotocol => {
                if len != 4 {
                    return Err("length must be 4");
                }
                let afi = v.u16().ok_or("truncated")?;
                v.u8().ok_or("truncated")?; // reserved: ignored (RFC 4760 §8)
                let safi = v.u8().ok_or("truncated")?;
                Capability::Multiprotocol { family: Family::new(Afi::from(afi), Safi::from(safi)) }
            }
            C::RouteRefresh => empty(Capability::RouteRefresh)?,
            C::ExtendedMessage => empty(Capability::ExtendedMessage)?,
            C::EnhancedRouteRefresh => empty(Capability::EnhancedRouteRefresh)?,
            C::RouteRefreshCisco => empty(Capability::RouteRefreshCisco)?,
            C::ExtendedNextHop => {
                if len == 0 || len % 6 != 0 {
                    return Err("length must be a non-zero multiple of 6");
                }
                let mut families = Vec::with_capacity(len / 6);
                while !v.is_empty() {
                    let afi = v.u16().ok_or("truncated")?;
                    let safi = u8::try_from(v.u16().ok_or("truncated")?).map_err(|_| "SAFI above 255")?;
                    let nh = v.u16().ok_or("truncated")?;
                    families.push(ExtendedNextHop {
                        family: Family::new(Afi::from(afi), Safi::from(safi)),
                        next_hop_afi: Afi::from(nh),
                    });
                }
                Capability::ExtendedNextHop { families }
            }
            C::Role => {
                if len != 1 {
                    return Err("length must be 1");
                }
                Capability::Role { role: Role::from(v.u8().ok_or("truncated")?) }
            }
            C::GracefulRestart => {
                if len < 2 || (len - 2) % 4 != 0 {
                    return Err("length must be 2 plus a multiple of 4");
                }
                let head = v.u16().ok_or("truncated")?;
                let mut families = Vec::with_capacity((len - 2) / 4);
                while !v.is_empty() {
                    let f = read_family(v).ok_or("truncated")?;
                    families.push(GracefulRestartFamily { family: f, flags: v.u8().ok_or("truncated")? });
                }
                Capability::GracefulRestart(GracefulRestart {
                    restart_flags: u8::try_from(head >> 12).map_err(|_| "truncated")?,
                    restart_time: head & 0x0fff,
                    families,
                })
            }
            C::FourOctetAs => {
                if len != 4 {
                    return Err("length must be 4");
                }
                Capability::FourOctetAs { asn: v.u32().ok_or("truncated")? }
            }
            C::AddPath => {
                if len == 0 || len % 4 != 0 {
                    return Err("length must be a non-zero multiple of 4");
                }
                let mut families = Vec::with_capacity(len / 4);
                while !v.is_empty() {
                    let f = read_family(v).ok_or("truncated")?;
                    families.push(AddPathFamily { family: f, mode: AddPathMode::from(v.u8().ok_or("truncated")?) });
                }
                Capability::AddPath { families }
            }
            C::LongLivedGracefulRestart => {
                if len % 7 != 0 {
                    return Err("length must be a multiple of 7");
                }
                let mut families = Vec::with_capacity(len / 7);
                while !v.is_empty() {
                    let f = read_family(v).ok_or("truncated")?;
                    let flags = v.u8().ok_or("truncated")?;
                    let [a, b, c] = v.array::<3>().ok_or("truncated")?;
                    families.push(LongLivedGracefulRestartFamily {
                        family: f,
                        flags,
                        stale_time: u32::from_be_bytes([0, a, b, c]),
                    });
                }
                Capability::LongLivedGracefulRestart { families }
            }
            C::Fqdn => {
                let raw = v.rest().to_vec();
                let mut text = || -> Option<String> {
                    let n = v.u8()?;
                    String::from_utf8(v.take(usize::from(n))?.to_vec()).ok()
                };
                match (text(), text(), v.is_empty()) {
                    (Some(hostname), Some(domain), true) => Capability::Fqdn { hostname, domain },
                    // Informational only: a malformed one is kept as bytes rather than ending the session.
                    _ => Capability::Unknown { code, data: raw },
                }
            }
            C::Unknown(_) => Capability::Unknown { code, data: v.take_rest().to_vec() },
        };
        Ok(cap)
    }

    /// Appends code, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.code().code());
        let len_at = out.len();
        out.push(0);
        let fam = |out: &mut Vec<u8>, f: Family| {
            out.extend_from_slice(&f.afi.code().to_be_bytes());
            out.push(f.safi.code());
        };
        match self {
            Capability::Multiprotocol { family } => {
                out.extend_from_slice(&family.afi.code().to_be_bytes());
                out.push(0);
                out.push(family.safi.code());
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh
            | Capability::RouteRefreshCisco => {}
            Capability::ExtendedNextHop { families } => {
                for f in families {
                    out.extend_from_slice(&f.family.afi.code().to_be_bytes());
                    out.extend_from_slice(&u16::from(f.family.safi.code()).to_be_bytes());
                    out.extend_from_slice(&f.next_hop_afi.code().to_be_bytes());
                }
            }
            Capability::Role { role } => out.push(role.code()),
            Capability::GracefulRestart(gr) => {
                if gr.restart_time > 0x0fff || gr.restart_flags > 0xf {
                    return Err(EncodeError::OutOfRange {
                        field: "graceful restart time or flags",
                        value: u64::from(gr.restart_time.max(u16::from(gr.restart_flags))),
                    });
                }
                out.extend_from_slice(&(u16::from(gr.restart_flags) << 12 | gr.restart_time).to_be_bytes());
                for f in &gr.families {
                    fam(out, f.family);
                    out.push(f.flags);
                }
            }
            Capability::FourOctetAs { asn } => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath { families } => {
                for f in families {
                    fam(out, f.family);
                    out.push(f.mode.code());
                }
            }
            Capability::LongLivedGracefulRestart { families } => {
                for f in families {
                    if f.stale_time > 0x00ff_ffff {
                        return Err(EncodeError::OutOfRange {
                            field: "LLGR stale time",
                            value: u64::from(f.stale_time),
                        });
                    }
                    fam(out, f.family);
                    out.push(f.flags);
                    out.extend_from_slice(f.stale_time.to_be_bytes().get(1..).unwrap_or_default());
                }
            }
            Capability::Fqdn { hostname, domain } => {
                for s in [hostname, domain] {
                    out.push(u8::try_from(s.len()).map_err(|_| EncodeError::TooLong {
                        field: "FQDN name",
                        length: s.len(),
                        max: 255,
                    })?);
                    out.extend_from_slice(s.as_bytes());
                }
            }
            Capability::Unknown { data, .. } => out.extend_from_slice(data),
        }
        let len = out.len() - len_at - 1;
        crate::wire::patch_u8(out, len_at, len).ok_or(EncodeError::TooLong {
            field: "capability",
            length: len,
            max: 255,
        })
    }
}

/// Reads an AFI (two octets) and SAFI (one octet).
fn read_family(v: &mut Reader<'_>) -> Option<Family> {
    let afi = v.u16()?;
    let safi = v.u8()?;
    Some(Family::new(Afi::from(afi), Safi::from(safi)))
}
