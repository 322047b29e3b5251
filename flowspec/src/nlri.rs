//! The FlowSpec NLRI: length, optional route distinguisher, components (RFC 8955 §4, §8;
//! RFC 8956 §3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_core::{Afi, Reader};

use crate::component::{code, mask128, mask32, BitmaskTerm, Cmp, Component, FlowPrefix, NumericTerm};
use crate::error::{DecodeError, EncodeError, ErrorKind};

/// Largest NLRI length: the two-octet form holds 12 bits (RFC 8955 §4.1).
pub const MAX_NLRI_LEN: usize = 4095;

/// A route distinguisher (RFC 4364 §4.2), the first 8 bytes of a FlowSpec VPN NLRI (RFC 8955 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteDistinguisher(pub [u8; 8]);

impl core::fmt::Display for RouteDistinguisher {
    /// `65000:1` (type 0), `192.0.2.1:1` (type 1), `4200000000L:1` (type 2), else hex.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [t0, t1, a, b, c, d, e, g] = self.0;
        match u16::from_be_bytes([t0, t1]) {
            0 => write!(f, "{}:{}", u16::from_be_bytes([a, b]), u32::from_be_bytes([c, d, e, g])),
            1 => write!(f, "{}:{}", Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([e, g])),
            2 => write!(f, "{}L:{}", u32::from_be_bytes([a, b, c, d]), u16::from_be_bytes([e, g])),
            _ => write!(f, "0x{}", bgp_core::hex::encode(&self.0)),
        }
    }
}

impl core::str::FromStr for RouteDistinguisher {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ERR: &str = "route distinguisher must be ASN:N, IPv4:N or ASNL:N";
        if let Some(h) = s.strip_prefix("0x") {
            let b = bgp_core::hex::decode(h).map_err(|_| ERR)?;
            return b.try_into().map(RouteDistinguisher).map_err(|_| ERR);
        }
        let (admin, value) = s.rsplit_once(':').ok_or(ERR)?;
        let mut out = [0u8; 8];
        if let Ok(ip) = admin.parse::<Ipv4Addr>() {
            out[..2].copy_from_slice(&1u16.to_be_bytes());
            out[2..6].copy_from_slice(&ip.octets());
            out[6..].copy_from_slice(&value.parse::<u16>().map_err(|_| ERR)?.to_be_bytes());
        } else if let Some(asn) = admin.strip_suffix('L') {
            out[..2].copy_from_slice(&2u16.to_be_bytes());
            out[2..6].copy_from_slice(&asn.parse::<u32>().map_err(|_| ERR)?.to_be_bytes());
            out[6..].copy_from_slice(&value.parse::<u16>().map_err(|_| ERR)?.to_be_bytes());
        } else {
            out[2..4].copy_from_slice(&admin.parse::<u16>().map_err(|_| ERR)?.to_be_bytes());
            out[4..].copy_from_slice(&value.parse::<u32>().map_err(|_| ERR)?.to_be_bytes());
        }
        Ok(RouteDistinguisher(out))
    }
}

/// One FlowSpec rule as carried in an NLRI: its address family, route distinguisher (SAFI 134),
/// and components in strictly increasing type order.
///
/// The invariants RFC 8955 §4.2 places on an NLRI hold for every value of this type: at least one
/// component, types strictly increasing, prefixes of the rule's family, IPv6-only components only in
/// IPv6 rules, value widths the RFC allows. `Ord` is the rule precedence of RFC 8955 §5.1 (see
/// [`crate::order`]).
///
/// A rule is kept as its canonical wire form: decoding validates and copies, encoding copies, and
/// equality and hashing compare bytes. [`FlowSpec::components`] decodes the components when they
/// are wanted (display, matching, validation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowSpec {
    afi: Afi,
    rd: Option<RouteDistinguisher>,
    /// The component bytes, canonical (ignored bits cleared), without length and distinguisher.
    body: Box<[u8]>,
}

impl FlowSpec {
    /// A rule from components in any order: they are sorted by type; a repeated type, a component
    /// that does not fit the family, an empty operator list or a value too wide is an error.
    pub fn new(
        afi: Afi,
        rd: Option<RouteDistinguisher>,
        mut components: Vec<Component>,
    ) -> Result<FlowSpec, EncodeError> {
        if !matches!(afi, Afi::Ipv4 | Afi::Ipv6) {
            return Err(EncodeError::Invalid("FlowSpec is defined for IPv4 and IPv6 only"));
        }
        if components.is_empty() {
            return Err(EncodeError::Invalid("a rule needs at least one component"));
        }
        components.sort_by_key(Component::type_code);
        if components.windows(2).any(|w| matches!(w, [a, b] if a.type_code() == b.type_code())) {
            return Err(EncodeError::Invalid("a component type may appear only once"));
        }
        let v6 = afi == Afi::Ipv6;
        let mut body = Vec::with_capacity(components.iter().map(|c| 1 + component_len(c)).sum());
        for c in &components {
            check_component(c, v6)?;
            body.push(c.type_code());
            encode_component_value(c, &mut body);
        }
        let rule = FlowSpec { afi, rd, body: body.into_boxed_slice() };
        let len = rule.content_len();
        if len > MAX_NLRI_LEN {
            return Err(EncodeError::TooLong { length: len });
        }
        Ok(rule)
    }

    /// IPv4 or IPv6.
    pub fn afi(&self) -> Afi {
        self.afi
    }

    /// The route distinguisher of a FlowSpec VPN rule (SAFI 134).
    pub fn rd(&self) -> Option<RouteDistinguisher> {
        self.rd
    }

    /// The components, in type order, decoded from the rule's bytes.
    pub fn components(&self) -> Vec<Component> {
        let mut b = Build::default();
        // The bytes were validated when the rule was made; walking them cannot fail.
        let _ = walk(&mut Reader::new(&self.body, 0), self.afi == Afi::Ipv6, &mut b);
        b.out
    }

    /// The component of `type_code`, if present.
    pub fn component(&self, type_code: u8) -> Option<Component> {
        self.components().into_iter().find(|c| c.type_code() == type_code)
    }

    /// The destination prefix, if present.
    pub fn destination(&self) -> Option<FlowPrefix> {
        match self.component(code::DESTINATION) {
            Some(Component::Destination(p)) => Some(p),
            _ => None,
        }
    }

    /// The canonical component bytes (without the length field and route distinguisher).
    pub fn component_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The components as (type, value bytes) without decoding them.
    pub(crate) fn raw_components(&self) -> RawComponents<'_> {
        RawComponents { rest: &self.body, v6: self.afi == Afi::Ipv6 }
    }

    /// Bytes the NLRI takes without its length field.
    pub fn content_len(&self) -> usize {
        self.body.len() + if self.rd.is_some() { 8 } else { 0 }
    }

    /// Bytes the whole NLRI takes, length field included.
    pub fn wire_len(&self) -> usize {
        let n = self.content_len();
        n + if n < 240 { 1 } else { 2 }
    }

    /// Appends the NLRI: length (one octet below 240, else `0xFnnn`), route distinguisher, components.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = self.content_len();
        match (u8::try_from(len), u16::try_from(len)) {
            (Ok(short), _) if short < 240 => out.push(short),
            (_, Ok(long)) if len <= MAX_NLRI_LEN => out.extend_from_slice(&(0xf000 | long).to_be_bytes()),
            _ => return Err(EncodeError::TooLong { length: len }),
        }
        if let Some(rd) = self.rd {
            out.extend_from_slice(&rd.0);
        }
        out.extend_from_slice(&self.body);
        Ok(())
    }

    /// The NLRI as a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.wire_len());
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Decodes one NLRI at the start of `buf`; returns it and the bytes it took. `vpn`: SAFI 134,
    /// the NLRI starts with a route distinguisher. Error offsets count from the start of `buf`.
    ///
    /// Bits RFC 8955 and 8956 say to ignore on receipt are cleared: the AND bit of a first operator,
    /// reserved operator bits, the DF bit of an IPv6 fragment component. A length below 240 sent in
    /// the two-octet form is accepted.
    pub fn decode(buf: &[u8], afi: Afi, vpn: bool) -> Result<(FlowSpec, usize), DecodeError> {
        decode_at(buf, 0, afi, vpn)
    }

    /// Decodes every NLRI of an MP_REACH_NLRI or MP_UNREACH_NLRI field.
    pub fn decode_all(buf: &[u8], afi: Afi, vpn: bool) -> Result<Vec<FlowSpec>, DecodeError> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let rest = buf.get(at..).unwrap_or_default();
            let (rule, used) = decode_at(rest, at, afi, vpn)?;
            out.push(rule);
            at += used;
        }
        Ok(out)
    }
}

fn check_component(c: &Component, v6: bool) -> Result<(), EncodeError> {
    match c {
        Component::Destination(p) | Component::Source(p) => {
            let ok = match p.addr {
                IpAddr::V4(_) => !v6 && p.len <= 32 && p.offset == 0,
                IpAddr::V6(_) => v6 && p.len <= 128 && (p.offset < p.len || (p.len == 0 && p.offset == 0)),
            };
            if !ok {
                return Err(EncodeError::Invalid("prefix does not fit the rule's family, or bad length/offset"));
            }
        }
        Component::FlowLabel(_) if !v6 => return Err(EncodeError::Invalid("flow label is an IPv6 component")),
        _ => {}
    }
    let t = c.type_code();
    if let Some(terms) = c.numeric() {
        if terms.is_empty() {
            return Err(EncodeError::Invalid("empty operator list"));
        }
        for term in terms {
            if !matches!(term.width, 1 | 2 | 4 | 8)
                || (term.width < 8 && term.value >> (8 * u32::from(term.width)) != 0)
            {
                return Err(EncodeError::Invalid("value does not fit its width"));
            }
            if t == code::DSCP && term.width != 1 {
                return Err(EncodeError::Invalid("DSCP values are one octet (RFC 8955 §4.2.2.11)"));
            }
        }
    }
    if let Some(terms) = c.bitmask() {
        if terms.is_empty() {
            return Err(EncodeError::Invalid("empty operator list"));
        }
        for term in terms {
            if !matches!(term.width, 1 | 2) || (term.width == 1 && term.value > 0xff) {
                return Err(EncodeError::Invalid("bitmask value does not fit its width"));
            }
            if t == code::TCP_FLAGS && term.value & 0xf000 != 0 {
                return Err(EncodeError::Invalid("TCP flags above 0x0fff are the data offset"));
            }
            if t == code::FRAGMENT && (term.width != 1 || term.value & 0xf0 != 0 || (v6 && term.value & 1 != 0)) {
                return Err(EncodeError::Invalid("fragment bits are one octet: DF (IPv4 only), IsF, FF, LF"));
            }
        }
    }
    Ok(())
}

fn prefix_bytes(p: &FlowPrefix) -> usize {
    usize::from(p.len.saturating_sub(p.offset)).div_ceil(8)
}

fn component_len(c: &Component) -> usize {
    match c {
        Component::Destination(p) | Component::Source(p) => match p.addr {
            IpAddr::V4(_) => 1 + prefix_bytes(p),
            IpAddr::V6(_) => 2 + prefix_bytes(p),
        },
        _ => {
            let n = c.numeric().map(|t| t.iter().map(|t| 1 + usize::from(t.width)).sum::<usize>());
            let b = c.bitmask().map(|t| t.iter().map(|t| 1 + usize::from(t.width)).sum::<usize>());
            n.or(b).unwrap_or(0)
        }
    }
}

fn width_bits(width: u8) -> u8 {
    match width {
        1 => 0,
        2 => 1,
        4 => 2,
        _ => 3,
    }
}

/// Appends a component's value (everything after its type byte).
pub(crate) fn encode_component_value(c: &Component, out: &mut Vec<u8>) {
    match c {
        Component::Destination(p) | Component::Source(p) => match p.addr {
            IpAddr::V4(a) => {
                out.push(p.len);
                out.extend(a.octets().iter().take(prefix_bytes(p)));
            }
            IpAddr::V6(a) => {
                out.push(p.len);
                out.push(p.offset);
                // The pattern: bits offset..len, left-aligned (RFC 8956 §3.1).
                let pattern = (u128::from(a) << p.offset).to_be_bytes();
                out.extend(pattern.iter().take(prefix_bytes(p)));
            }
        },
        _ => {
            if let Some(terms) = c.numeric() {
                for (i, t) in terms.iter().enumerate() {
                    let end = if i + 1 == terms.len() { 0x80 } else { 0 };
                    let and = if i > 0 && t.and { 0x40 } else { 0 };
                    out.push(end | and | width_bits(t.width) << 4 | t.cmp.bits());
                    let bytes = t.value.to_be_bytes();
                    out.extend_from_slice(bytes.get(8 - usize::from(t.width).min(8)..).unwrap_or_default());
                }
            }
            if let Some(terms) = c.bitmask() {
                for (i, t) in terms.iter().enumerate() {
                    let end = if i + 1 == terms.len() { 0x80 } else { 0 };
                    let and = if i > 0 && t.and { 0x40 } else { 0 };
                    let not = if t.not { 0x02 } else { 0 };
                    let m = if t.match_all { 0x01 } else { 0 };
                    out.push(end | and | width_bits(t.width) << 4 | not | m);
                    let bytes = t.value.to_be_bytes();
                    out.extend_from_slice(bytes.get(2 - usize::from(t.width).min(2)..).unwrap_or_default());
                }
            }
        }
    }
}

/// Takes `n` bytes or reports which field was cut short, at the reader's offset.
fn take<'a>(r: &mut Reader<'a>, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let at = r.offset();
    r.take(n).ok_or_else(|| DecodeError::new(at, ErrorKind::Truncated { what }))
}

fn byte(r: &mut Reader<'_>, what: &'static str) -> Result<u8, DecodeError> {
    let at = r.offset();
    r.u8().ok_or_else(|| DecodeError::new(at, ErrorKind::Truncated { what }))
}

/// Receives what [`walk`] reads.
trait Sink {
    fn prefix(&mut self, t: u8, p: FlowPrefix);
    fn numeric(&mut self, term: NumericTerm);
    fn bitmask(&mut self, term: BitmaskTerm);
    /// The end of a numeric or bitmask component of type `t`.
    fn end(&mut self, t: u8);
}

/// Validation only: nothing is built.
struct Validate;

impl Sink for Validate {
    #[inline]
    fn prefix(&mut self, _: u8, _: FlowPrefix) {}
    #[inline]
    fn numeric(&mut self, _: NumericTerm) {}
    #[inline]
    fn bitmask(&mut self, _: BitmaskTerm) {}
    #[inline]
    fn end(&mut self, _: u8) {}
}

/// Builds the components.
#[derive(Default)]
struct Build {
    out: Vec<Component>,
    num: Vec<NumericTerm>,
    bits: Vec<BitmaskTerm>,
}

impl Sink for Build {
    fn prefix(&mut self, t: u8, p: FlowPrefix) {
        self.out.push(if t == code::DESTINATION { Component::Destination(p) } else { Component::Source(p) });
    }
    fn numeric(&mut self, term: NumericTerm) {
        self.num.push(term);
    }
    fn bitmask(&mut self, term: BitmaskTerm) {
        self.bits.push(term);
    }
    fn end(&mut self, t: u8) {
        match t {
            code::TCP_FLAGS => self.out.push(Component::TcpFlags(std::mem::take(&mut self.bits))),
            code::FRAGMENT => self.out.push(Component::Fragment(std::mem::take(&mut self.bits))),
            _ => {
                if let Some(c) = Component::from_numeric(t, std::mem::take(&mut self.num)) {
                    self.out.push(c);
                }
            }
        }
    }
}

/// Reads the components in `c` (to its end), checking every rule of RFC 8955 §4 and RFC 8956 §3.
/// Returns how many components there were and whether any bit the RFCs say to ignore was set (then
/// the bytes are not canonical).
fn walk<S: Sink>(c: &mut Reader<'_>, v6: bool, sink: &mut S) -> Result<(usize, bool), DecodeError> {
    let mut previous = 0u8;
    let mut count = 0;
    let mut ignored = false;
    while !c.is_empty() {
        let at = c.offset();
        let t = byte(c, "component type")?;
        let known = matches!(t, 1..=12) || (v6 && t == code::FLOW_LABEL);
        if !known {
            return Err(DecodeError::new(at, ErrorKind::UnknownComponent { component_type: t }));
        }
        if t <= previous {
            return Err(DecodeError::new(at, ErrorKind::ComponentOrder { component_type: t, previous }));
        }
        previous = t;
        count += 1;
        match t {
            code::DESTINATION | code::SOURCE => {
                let p = decode_prefix(c, v6)?;
                sink.prefix(t, p);
            }
            code::TCP_FLAGS | code::FRAGMENT => {
                ignored |= decode_bitmask(c, t, v6, sink)?;
                sink.end(t);
            }
            _ => {
                ignored |= decode_numeric(c, t, sink)?;
                sink.end(t);
            }
        }
    }
    Ok((count, ignored))
}

fn decode_at(buf: &[u8], base: usize, afi: Afi, vpn: bool) -> Result<(FlowSpec, usize), DecodeError> {
    let mut cur = Reader::new(buf, base);
    let first = byte(&mut cur, "NLRI length")?;
    let len = if first >= 0xf0 {
        usize::from(first & 0x0f) << 8 | usize::from(byte(&mut cur, "NLRI length")?)
    } else {
        usize::from(first)
    };
    if len == 0 {
        return Err(DecodeError::new(base, ErrorKind::EmptyNlri));
    }
    let header = cur.offset() - base;
    let mut c = Reader::new(take(&mut cur, len, "NLRI")?, base + header);
    let rd = if vpn {
        let b = take(&mut c, 8, "route distinguisher")?;
        let mut rd = [0u8; 8];
        rd.copy_from_slice(b);
        Some(RouteDistinguisher(rd))
    } else {
        None
    };
    let v6 = afi == Afi::Ipv6;
    let body_at = c.offset();
    let body = c.rest();
    let (count, ignored) = walk(&mut c, v6, &mut Validate)?;
    if count == 0 {
        return Err(DecodeError::new(base, ErrorKind::NoComponent));
    }
    let spec = if ignored {
        // Rare: rebuild from the components so the ignored bits come back cleared.
        let mut b = Build::default();
        walk(&mut Reader::new(body, body_at), v6, &mut b)?;
        FlowSpec::new(afi, rd, b.out).map_err(|_| DecodeError::new(body_at, ErrorKind::TooLong { length: len }))?
    } else {
        FlowSpec { afi, rd, body: body.into() }
    };
    Ok((spec, header + len))
}

pub(crate) fn decode_prefix(c: &mut Reader<'_>, v6: bool) -> Result<FlowPrefix, DecodeError> {
    let at = c.offset();
    let len = byte(c, "prefix length")?;
    if !v6 {
        if len > 32 {
            return Err(DecodeError::new(at, ErrorKind::PrefixLength { length: len }));
        }
        let n = usize::from(len).div_ceil(8);
        let bytes = take(c, n, "prefix")?;
        let mut a = [0u8; 4];
        a.get_mut(..n).unwrap_or_default().copy_from_slice(bytes);
        let v = u32::from_be_bytes(a);
        if v & !mask32(0, len) != 0 {
            return Err(DecodeError::new(at, ErrorKind::PrefixPadding));
        }
        return Ok(FlowPrefix { addr: IpAddr::V4(Ipv4Addr::from(v)), len, offset: 0 });
    }
    let offset = byte(c, "prefix offset")?;
    if len > 128 {
        return Err(DecodeError::new(at, ErrorKind::PrefixLength { length: len }));
    }
    if !(offset < len || (len == 0 && offset == 0)) {
        return Err(DecodeError::new(at, ErrorKind::PrefixOffset { offset, length: len }));
    }
    let bits = len - offset;
    let n = usize::from(bits).div_ceil(8);
    let bytes = take(c, n, "prefix pattern")?;
    let mut a = [0u8; 16];
    a.get_mut(..n).unwrap_or_default().copy_from_slice(bytes);
    let pattern = u128::from_be_bytes(a);
    if pattern & !mask128(0, bits) != 0 {
        return Err(DecodeError::new(at, ErrorKind::PrefixPadding));
    }
    let v = if offset == 0 { pattern } else { pattern >> offset };
    Ok(FlowPrefix { addr: IpAddr::V6(Ipv6Addr::from(v)), len, offset })
}

/// Reads one operator and its value: (operator byte, value, width, offset of the operator).
#[inline]
fn decode_op(c: &mut Reader<'_>) -> Result<(u8, u64, u8, usize), DecodeError> {
    let at = c.offset();
    let op = c.u8().ok_or_else(|| DecodeError::new(at, ErrorKind::UnterminatedList))?;
    let (width, value) = match (op >> 4) & 3 {
        0 => (1, c.u8().map(u64::from)),
        1 => (2, c.u16().map(u64::from)),
        2 => (4, c.u32().map(u64::from)),
        _ => (8, c.array::<8>().map(u64::from_be_bytes)),
    };
    let value = value.ok_or_else(|| DecodeError::new(at + 1, ErrorKind::Truncated { what: "operator value" }))?;
    Ok((op, value, width, at))
}

/// Reads a numeric operator list; returns whether an ignored bit was set.
fn decode_numeric<S: Sink>(c: &mut Reader<'_>, t: u8, sink: &mut S) -> Result<bool, DecodeError> {
    let mut first = true;
    let mut ignored = false;
    loop {
        let (op, value, width, at) = decode_op(c)?;
        if t == code::DSCP && width != 1 {
            return Err(DecodeError::new(at, ErrorKind::ValueWidth { component_type: t, width: usize::from(width) }));
        }
        // The AND bit of the first operator and the reserved bit 0x08 "MUST be ignored".
        ignored |= (first && op & 0x40 != 0) || op & 0x08 != 0;
        sink.numeric(NumericTerm { and: !first && op & 0x40 != 0, cmp: Cmp::from_bits(op), value, width });
        first = false;
        if op & 0x80 != 0 {
            return Ok(ignored);
        }
    }
}

/// Reads a bitmask operator list; returns whether an ignored bit was set.
fn decode_bitmask<S: Sink>(c: &mut Reader<'_>, t: u8, v6: bool, sink: &mut S) -> Result<bool, DecodeError> {
    let mut first = true;
    let mut ignored = false;
    loop {
        let (op, value, width, at) = decode_op(c)?;
        let max_width = if t == code::TCP_FLAGS { 2 } else { 1 };
        if width > max_width {
            return Err(DecodeError::new(at, ErrorKind::ValueWidth { component_type: t, width: usize::from(width) }));
        }
        let value = u16::try_from(value).unwrap_or(u16::MAX);
        // TCP flags in two octets: the high nibble is the TCP data offset and must be zero;
        // fragment: only the low four bits are defined.
        let reserved = if t == code::TCP_FLAGS { value & 0xf000 } else { value & 0xf0 };
        if reserved != 0 {
            return Err(DecodeError::new(at, ErrorKind::ReservedBits { component_type: t }));
        }
        // RFC 8956 §3.6: IPv6 has no DF bit; that position is "0", ignored on receipt.
        let df_ignored = t == code::FRAGMENT && v6 && value & 0x01 != 0;
        let value = if df_ignored { value & !0x01 } else { value };
        ignored |= df_ignored || (first && op & 0x40 != 0) || op & 0x0c != 0;
        sink.bitmask(BitmaskTerm {
            and: !first && op & 0x40 != 0,
            not: op & 0x02 != 0,
            match_all: op & 0x01 != 0,
            value,
            width,
        });
        first = false;
        if op & 0x80 != 0 {
            return Ok(ignored);
        }
    }
}

/// Splits validated component bytes into (type, value bytes).
pub(crate) struct RawComponents<'a> {
    rest: &'a [u8],
    v6: bool,
}

impl<'a> Iterator for RawComponents<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&t, value) = self.rest.split_first()?;
        let len = match t {
            code::DESTINATION | code::SOURCE => {
                let (&plen, after) = value.split_first()?;
                if self.v6 {
                    let off = after.first().copied().unwrap_or(0);
                    2 + usize::from(plen.saturating_sub(off)).div_ceil(8)
                } else {
                    1 + usize::from(plen).div_ceil(8)
                }
            }
            _ => {
                let mut n = 0;
                loop {
                    let op = *value.get(n)?;
                    n += 1 + (1usize << ((op >> 4) & 3));
                    if op & 0x80 != 0 {
                        break n;
                    }
                }
            }
        };
        let v = value.get(..len)?;
        self.rest = value.get(len..).unwrap_or_default();
        Some((t, v))
    }
}
