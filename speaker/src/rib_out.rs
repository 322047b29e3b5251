//! Adj-RIB-Out: what each peer has been sent, and UPDATE packing (RFC 4271 §9.2, RFC 4760).
//!
//! Routes that share their attributes go into the same UPDATE, as many as fit the negotiated
//! message size (4096, or 65535 with RFC 8654). Withdrawals of a batch are sent before its
//! announcements; a withdrawal followed by a new announcement of the same NLRI collapses into the
//! announcement, which replaces the route implicitly (RFC 4271 §3.1), so the two are never
//! reordered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_core::iana::HEADER_LEN;
use bgp_core::message::WireContext;
use bgp_core::{Afi, Family, Safi};
use bytes::Bytes;

use crate::route::{Nlri, Route, RouteAttributes};

/// A change to what a peer should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Announce (or replace) a route.
    Announce(Route),
    /// Withdraw an NLRI.
    Withdraw(Nlri),
}

/// Why UPDATEs could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// One NLRI with its attributes does not fit the maximum message size.
    #[error("an NLRI of {nlri} bytes with {attributes} bytes of attributes does not fit a {max}-byte message")]
    TooLarge {
        /// NLRI bytes.
        nlri: usize,
        /// Attribute bytes.
        attributes: usize,
        /// The message size limit.
        max: usize,
    },
    /// A route of this family has no usable next hop (an IPv4 route over an IPv6 session
    /// without its own IPv4 next hop).
    #[error("no {family} next hop: set one on the route")]
    NoNextHop {
        /// The family.
        family: Family,
    },
    /// Attributes could not be encoded.
    #[error(transparent)]
    Encode(#[from] bgp_core::EncodeError),
}

/// How routes are exported to one peer.
#[derive(Debug, Clone)]
pub struct Export {
    /// Our AS.
    pub local_as: u32,
    /// The peer is in another AS.
    pub ebgp: bool,
    /// Our address on the session: the next hop of unicast routes that have none.
    pub local_addr: IpAddr,
    /// The negotiated wire settings.
    pub wire: WireContext,
}

/// What a peer has been sent.
#[derive(Debug, Default)]
pub struct AdjRibOut {
    sent: HashMap<Nlri, Arc<RouteAttributes>>,
}

fn header(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, 2]);
    start
}

fn finish(out: &mut [u8], start: usize) {
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX).to_be_bytes();
    out[start + 16] = len[0];
    out[start + 17] = len[1];
}

/// The end of the run of NLRI from `start` that fits one message of at most `max` bytes with
/// `fixed` bytes of everything else; `None` if not even one does.
fn fit(nlri: &[&[u8]], start: usize, fixed: usize, max: usize) -> Option<usize> {
    let mut size = fixed;
    let mut end = start;
    while let Some(n) = nlri.get(end) {
        if size + n.len() > max {
            break;
        }
        size += n.len();
        end += 1;
    }
    (end > start).then_some(end)
}

/// Builds UPDATEs announcing `nlri` (all of `family`) behind one attribute set. `attrs` is the
/// encoded attributes without next hop; `next_hop` is the MP_REACH_NLRI next hop (or, for IPv4
/// unicast, goes in a NEXT_HOP attribute). Every NLRI lands in exactly one message; no message
/// exceeds `max`.
pub fn pack_announce(
    family: Family,
    attrs: &[u8],
    next_hop: &[u8],
    nlri: &[&[u8]],
    max: usize,
) -> Result<Vec<Bytes>, PackError> {
    let v4_unicast = family == Family::IPV4_UNICAST;
    // Fixed part: header, withdrawn length, attribute length, [MP_REACH header], attributes.
    let mp_fixed = if v4_unicast { 0 } else { 4 + 2 + 1 + 1 + next_hop.len() + 1 };
    let nh_attr = if v4_unicast { 3 + next_hop.len() } else { 0 };
    let fixed = HEADER_LEN + 4 + mp_fixed + nh_attr + attrs.len();
    let mut out = Vec::new();
    let mut msgs = Vec::new();
    let mut i = 0;
    while i < nlri.len() {
        let j = fit(nlri, i, fixed, max).ok_or(PackError::TooLarge {
            nlri: nlri[i].len(),
            attributes: attrs.len(),
            max,
        })?;
        out.clear();
        let start = header(&mut out);
        out.extend_from_slice(&[0, 0]); // withdrawn routes length
        let attr_len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        if v4_unicast {
            out.extend_from_slice(attrs);
            out.extend_from_slice(&[0x40, 3, u8::try_from(next_hop.len()).unwrap_or(4)]);
            out.extend_from_slice(next_hop);
            let alen = out.len() - attr_len_at - 2;
            out[attr_len_at..attr_len_at + 2].copy_from_slice(&u16::try_from(alen).unwrap_or(0).to_be_bytes());
            for n in &nlri[i..j] {
                out.extend_from_slice(n);
            }
        } else {
            // MP_REACH_NLRI first (RFC 7606 §5.1), with the two-octet length.
            let mp_len: usize = 2 + 1 + 1 + next_hop.len() + 1 + nlri[i..j].iter().map(|n| n.len()).sum::<usize>();
            out.extend_from_slice(&[0x90, 14]);
            out.extend_from_slice(&u16::try_from(mp_len).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(&family.afi.code().to_be_bytes());
            out.push(family.safi.code());
            out.push(u8::try_from(next_hop.len()).unwrap_or(0));
            out.extend_from_slice(next_hop);
            out.push(0);
            for n in &nlri[i..j] {
                out.extend_from_slice(n);
            }
            out.extend_from_slice(attrs);
            let alen = out.len() - attr_len_at - 2;
            out[attr_len_at..attr_len_at + 2].copy_from_slice(&u16::try_from(alen).unwrap_or(0).to_be_bytes());
        }
        finish(&mut out, start);
        debug_assert!(out.len() <= max);
        msgs.push(Bytes::copy_from_slice(&out));
        i = j;
    }
    Ok(msgs)
}

/// Builds UPDATEs withdrawing `nlri` (all of `family`).
pub fn pack_withdraw(family: Family, nlri: &[&[u8]], max: usize) -> Result<Vec<Bytes>, PackError> {
    let v4_unicast = family == Family::IPV4_UNICAST;
    let fixed = HEADER_LEN + 4 + if v4_unicast { 0 } else { 4 + 3 };
    let mut msgs = Vec::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < nlri.len() {
        let j = fit(nlri, i, fixed, max).ok_or(PackError::TooLarge { nlri: nlri[i].len(), attributes: 0, max })?;
        out.clear();
        let start = header(&mut out);
        let body: usize = nlri[i..j].iter().map(|n| n.len()).sum();
        if v4_unicast {
            out.extend_from_slice(&u16::try_from(body).unwrap_or(0).to_be_bytes());
            for n in &nlri[i..j] {
                out.extend_from_slice(n);
            }
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&u16::try_from(4 + 3 + body).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(&[0x90, 15]);
            out.extend_from_slice(&u16::try_from(3 + body).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(&family.afi.code().to_be_bytes());
            out.push(family.safi.code());
            for n in &nlri[i..j] {
                out.extend_from_slice(n);
            }
        }
        finish(&mut out, start);
        msgs.push(Bytes::copy_from_slice(&out));
        i = j;
    }
    Ok(msgs)
}

/// The next-hop bytes for a family: none for FlowSpec (RFC 8955 §4), the route's or our address
/// otherwise.
fn next_hop_for(family: Family, attrs: &RouteAttributes, local: IpAddr) -> Result<Vec<u8>, PackError> {
    if matches!(family.safi, Safi::FlowSpec | Safi::FlowSpecVpn) {
        return Ok(Vec::new());
    }
    let nh = attrs.next_hop.unwrap_or(local);
    match (family.afi, nh) {
        (Afi::Ipv6, IpAddr::V4(a)) => Ok(a.to_ipv6_mapped().octets().to_vec()),
        (_, IpAddr::V4(a)) => Ok(a.octets().to_vec()),
        // An IPv4 prefix needs an IPv4 next hop (without RFC 8950 extended next hop).
        (Afi::Ipv4, IpAddr::V6(_)) => Err(PackError::NoNextHop { family }),
        (_, IpAddr::V6(a)) => Ok(a.octets().to_vec()),
    }
}

/// UPDATEs announcing `list` (all of `family`) behind one attribute set, exported for the peer.
fn pack_group<N: std::borrow::Borrow<Nlri>>(
    family: Family,
    attrs: &RouteAttributes,
    list: &[N],
    export: &Export,
) -> Result<Vec<Bytes>, PackError> {
    let encoded = attrs.encode_export(export.local_as, export.ebgp, &export.wire)?;
    let nh = next_hop_for(family, attrs, export.local_addr)?;
    let refs: Vec<&[u8]> = list.iter().map(|n| n.borrow().bytes().as_ref()).collect();
    pack_announce(family, &encoded, &nh, &refs, export.wire.max_message_len)
}

impl AdjRibOut {
    /// An empty Adj-RIB-Out (a new session).
    pub fn new() -> Self {
        AdjRibOut::default()
    }

    /// Routes sent and not withdrawn.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// True when nothing is announced.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// The routes the peer has from us, for one family.
    pub fn routes(&self, family: Family) -> Vec<Route> {
        self.sent
            .iter()
            .filter(|(n, _)| n.family() == family)
            .map(|(n, a)| Route { nlri: n.clone(), attributes: a.clone() })
            .collect()
    }

    /// True if `nlri` is announced to the peer.
    pub fn contains(&self, nlri: &Nlri) -> bool {
        self.sent.contains_key(nlri)
    }

    /// Applies changes for the families in `families`, returning the UPDATEs that bring the peer
    /// in line: withdrawals first, then announcements grouped by attributes.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        families: &[Family],
        export: &Export,
    ) -> Result<Vec<Bytes>, PackError> {
        // The final wanted state per NLRI (later changes win).
        let mut wanted: HashMap<Nlri, Option<Arc<RouteAttributes>>> = HashMap::new();
        for c in changes {
            match c {
                Change::Announce(r) if families.contains(&r.nlri.family()) => {
                    wanted.insert(r.nlri, Some(r.attributes));
                }
                Change::Withdraw(n) if families.contains(&n.family()) => {
                    wanted.insert(n, None);
                }
                _ => {}
            }
        }
        let mut withdraw: HashMap<Family, Vec<Nlri>> = HashMap::new();
        let mut announce: HashMap<(Family, Arc<RouteAttributes>), Vec<Nlri>> = HashMap::new();
        for (nlri, want) in wanted {
            match (want, self.sent.get(&nlri)) {
                (None, Some(_)) => withdraw.entry(nlri.family()).or_default().push(nlri),
                (None, None) => {}
                (Some(a), Some(old)) if Arc::ptr_eq(&a, old) || a == *old => {}
                (Some(a), _) => announce.entry((nlri.family(), a)).or_default().push(nlri),
            }
        }
        let max = export.wire.max_message_len;
        let mut out = Vec::new();
        let mut families_w: Vec<_> = withdraw.into_iter().collect();
        families_w.sort_by_key(|(f, _)| *f);
        for (family, mut list) in families_w {
            list.sort();
            let refs: Vec<&[u8]> = list.iter().map(|n| n.bytes().as_ref()).collect();
            out.extend(pack_withdraw(family, &refs, max)?);
            for n in &list {
                self.sent.remove(n);
            }
        }
        let mut groups: Vec<_> = announce.into_iter().collect();
        groups.sort_by(|a, b| a.0 .0.cmp(&b.0 .0).then_with(|| a.1.first().cmp(&b.1.first())));
        for ((family, attrs), mut list) in groups {
            list.sort();
            out.extend(pack_group(family, &attrs, &list, export)?);
            for n in list {
                self.sent.insert(n, attrs.clone());
            }
        }
        Ok(out)
    }

    /// Sends a whole table to a peer that has nothing yet (a new session), without the
    /// bookkeeping `apply` needs for batches that may repeat an NLRI: the Loc-RIB has each once.
    pub fn initial<'a>(
        &mut self,
        table: impl IntoIterator<Item = (&'a Nlri, &'a Arc<RouteAttributes>)>,
        families: &[Family],
        export: &Export,
    ) -> Result<Vec<Bytes>, PackError> {
        self.sent.clear();
        let mut groups: HashMap<(Family, &Arc<RouteAttributes>), Vec<&Nlri>> = HashMap::new();
        for (n, a) in table {
            if families.contains(&n.family()) {
                groups.entry((n.family(), a)).or_default().push(n);
            }
        }
        self.sent.reserve(groups.values().map(Vec::len).sum());
        let mut out = Vec::new();
        let mut keys: Vec<_> = groups.keys().copied().collect();
        keys.sort_by_key(|k| k.0);
        for key in keys {
            let Some(mut list) = groups.remove(&key) else { continue };
            let (family, attrs) = key;
            list.sort();
            out.extend(pack_group(family, attrs, &list, export)?);
            for n in list {
                self.sent.insert(n.clone(), attrs.clone());
            }
        }
        Ok(out)
    }

    /// Everything sent in `family` again (route refresh, RFC 2918; enhanced route refresh wraps it
    /// in BoRR/EoRR, RFC 7313).
    pub fn resend(&self, family: Family, export: &Export) -> Result<Vec<Bytes>, PackError> {
        let mut groups: HashMap<Arc<RouteAttributes>, Vec<&Nlri>> = HashMap::new();
        for (n, a) in self.sent.iter().filter(|(n, _)| n.family() == family) {
            groups.entry(a.clone()).or_default().push(n);
        }
        let mut out = Vec::new();
        for (attrs, mut list) in groups {
            list.sort();
            out.extend(pack_group(family, &attrs, &list, export)?);
        }
        Ok(out)
    }
}
