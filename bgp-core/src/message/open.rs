//! OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters (RFC 9072).

use std::net::Ipv4Addr;

use crate::capability::Capability;
use crate::error::{DecodeError, EncodeError, ErrorKind};
use crate::iana::{CapabilityCode, Family, AS_TRANS};
use crate::wire::{patch_u16, patch_u8, Reader};

/// Optional parameter type of the capabilities parameter (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 §2: a Non-Ext OP Len and Non-Ext OP Type of 255 announce the extended layout.
const EXTENDED_PARAMS_MARKER: u8 = 255;

/// An OPEN message.
///
/// The capabilities keep the layout they arrived in, one optional parameter per inner list: some
/// speakers put every capability in one parameter (BIRD, GoBGP), others one per parameter (FRR,
/// ExaBGP, Cisco). A decoded OPEN therefore re-encodes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Open {
    /// My Autonomous System: the sender's AS, or AS_TRANS (23456) when it does not fit in 2 octets
    /// (RFC 6793 §4.2.1).
    pub my_as: u16,
    /// Proposed hold time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// BGP Identifier (RFC 6286: any non-zero 32-bit value, written as an IPv4 address).
    pub bgp_id: Ipv4Addr,
    /// Capability optional parameters, one inner list per parameter, in wire order.
    pub parameters: Vec<Vec<Capability>>,
    /// The optional parameters use the RFC 9072 extended layout. Encoding switches to it anyway
    /// when the parameters need more than 255 bytes.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "std::ops::Not::not"))]
    pub extended_parameters: bool,
}

impl Open {
    /// An OPEN for AS `asn` with all `capabilities` in one optional parameter. An AS above 65535 is
    /// sent as AS_TRANS in My AS; the caller includes [`Capability::FourOctetAs`] to carry it.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Self {
        Open {
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_id,
            parameters: if capabilities.is_empty() { Vec::new() } else { vec![capabilities] },
            extended_parameters: false,
        }
    }

    /// Every capability, across all optional parameters.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.parameters.iter().flatten()
    }

    /// True if some capability has `code`.
    pub fn has_capability(&self, code: CapabilityCode) -> bool {
        self.capabilities().any(|c| c.code() == code)
    }

    /// The sender's AS: the 4-octet AS capability's value when present, else My AS (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs { asn } => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// The families of the multiprotocol capabilities; an OPEN with none implies IPv4 unicast
    /// (RFC 4760 §8 and RFC 4271).
    pub fn families(&self) -> Vec<Family> {
        let mut f: Vec<Family> = self
            .capabilities()
            .filter_map(|c| match c {
                Capability::Multiprotocol { family } => Some(*family),
                _ => None,
            })
            .collect();
        if f.is_empty() && !self.has_capability(CapabilityCode::Multiprotocol) {
            f.push(Family::IPV4_UNICAST);
        }
        f
    }

    /// Decodes the OPEN body; `r` starts right after the header (offset 19).
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Open, DecodeError> {
        let short = |at| DecodeError::new(at, ErrorKind::MalformedOptionalParameters { reason: "message too short" });
        let at = r.offset();
        let version = r.u8().ok_or_else(|| short(at))?;
        if version != 4 {
            return Err(DecodeError::new(at, ErrorKind::UnsupportedVersion { version }));
        }
        let my_as = r.u16().ok_or_else(|| short(at))?;
        let at = r.offset();
        let hold_time = r.u16().ok_or_else(|| short(at))?;
        // RFC 4271 §6.2: "MUST reject Hold Time values of one or two seconds".
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::new(at, ErrorKind::UnacceptableHoldTime { hold_time }));
        }
        let at = r.offset();
        let bgp_id = Ipv4Addr::from(r.array::<4>().ok_or_else(|| short(at))?);
        // RFC 6286 §2.2: the BGP Identifier is a non-zero 4-octet value.
        if bgp_id.is_unspecified() {
            return Err(DecodeError::new(at, ErrorKind::BadBgpIdentifier { identifier: bgp_id }));
        }
        let at = r.offset();
        let opt_len = r.u8().ok_or_else(|| short(at))?;
        let extended = opt_len == EXTENDED_PARAMS_MARKER && r.rest().first() == Some(&EXTENDED_PARAMS_MARKER);
        let params_len = if extended {
            r.u8();
            usize::from(r.u16().ok_or_else(|| short(at))?)
        } else {
            usize::from(opt_len)
        };
        if params_len != r.remaining() {
            return Err(DecodeError::new(
                at,
                ErrorKind::MalformedOptionalParameters {
                    reason: "optional parameters length does not match the message length",
                },
            ));
        }
        let mut parameters = Vec::new();
        while !r.is_empty() {
            let at = r.offset();
            let ptype = r.u8().ok_or_else(|| short(at))?;
            let plen = if extended { r.u16().map(usize::from) } else { r.u8().map(usize::from) };
            let overrun = || {
                DecodeError::new(
                    at,
                    ErrorKind::MalformedOptionalParameters { reason: "parameter runs past the parameters" },
                )
            };
            let mut p = r.sub(plen.ok_or_else(overrun)?).ok_or_else(overrun)?;
            if ptype != PARAM_CAPABILITIES {
                return Err(DecodeError::new(at, ErrorKind::UnsupportedOptionalParameter { parameter_type: ptype }));
            }
            let mut caps = Vec::new();
            while !p.is_empty() {
                let at = p.offset();
                let raw = p.rest();
                let (Some(code), Some(len)) = (p.u8(), p.u8()) else {
                    return Err(DecodeError::new(
                        at,
                        ErrorKind::MalformedOptionalParameters { reason: "capability header truncated" },
                    ));
                };
                let mut v = p.sub(usize::from(len)).ok_or_else(|| {
                    DecodeError::new(
                        at,
                        ErrorKind::MalformedOptionalParameters { reason: "capability runs past its parameter" },
                    )
                })?;
                let cap = Capability::decode(code, &mut v).map_err(|reason| {
                    DecodeError::new(
                        at,
                        ErrorKind::MalformedCapability {
                            code: CapabilityCode::from(code),
                            reason,
                            capability: raw.get(..2 + usize::from(len)).unwrap_or(raw).to_vec(),
                        },
                    )
                })?;
                caps.push(cap);
            }
            parameters.push(caps);
        }
        Ok(Open { my_as, hold_time, bgp_id, parameters, extended_parameters: extended })
    }

    /// Appends the OPEN body (version through optional parameters).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut params = Vec::with_capacity(self.parameters.len());
        for caps in &self.parameters {
            let mut body = Vec::new();
            for c in caps {
                c.encode(&mut body)?;
            }
            params.push(body);
        }
        let standard_len: usize = params.iter().map(|p| 2 + p.len()).sum();
        let extended = self.extended_parameters || standard_len > 255 || params.iter().any(|p| p.len() > 255);
        if extended {
            // RFC 9072 §2.
            out.extend_from_slice(&[EXTENDED_PARAMS_MARKER, EXTENDED_PARAMS_MARKER, 0, 0]);
            let len_at = out.len() - 2;
            for p in &params {
                out.push(PARAM_CAPABILITIES);
                let plen = u16::try_from(p.len()).map_err(|_| EncodeError::TooLong {
                    field: "optional parameter",
                    length: p.len(),
                    max: 65535,
                })?;
                out.extend_from_slice(&plen.to_be_bytes());
                out.extend_from_slice(p);
            }
            let total = out.len() - len_at - 2;
            patch_u16(out, len_at, total).ok_or(EncodeError::TooLong {
                field: "optional parameters",
                length: total,
                max: 65535,
            })
        } else {
            let len_at = out.len();
            out.push(0);
            for p in &params {
                out.push(PARAM_CAPABILITIES);
                out.push(u8::try_from(p.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(p);
            }
            patch_u8(out, len_at, standard_len).ok_or(EncodeError::TooLong {
                field: "optional parameters",
                length: standard_len,
                max: 255,
            })
        }
    }
}
