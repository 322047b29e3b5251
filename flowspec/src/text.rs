//! The rule text syntax: parse and display that round-trip.
//!
//! ```text
//! dst 192.0.2.1/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000
//! src 2001:db8::/48 dst ::1234:5678:9a00:0/104 offset 64 tcp-flags syn&!ack then discard
//! rd 65000:1 dst 203.0.113.0/24 dport >=137&<=139|=8080 then redirect 65000:100
//! ```
//!
//! A rule is `[ipv4|ipv6] [rd RD] MATCH... [then ACTION...]`. Operator lists have no spaces:
//! terms are joined by `&` (AND, binds tighter) and `|` or `,` (OR). `docs/FLOWSPEC.md` lists every
//! keyword. Errors carry the 1-based column where the input stopped making sense.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use bgp_core::attribute::{ExtendedCommunity, Ipv6ExtendedCommunity};
use bgp_core::Afi;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, one_of};
use nom::combinator::{all_consuming, cut, map, map_res, opt, value};
use nom::multi::many0;
use nom::sequence::{pair, preceded, separated_pair, tuple};
use nom::IResult;

use crate::action::{Action, Rate};
use crate::component::{code, fragment, min_width, tcp, BitmaskTerm, Cmp, Component, FlowPrefix, NumericTerm};
use crate::nlri::{FlowSpec, RouteDistinguisher};

/// A rule with its actions: what `prefixd` announces (NLRI plus extended communities).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowRule {
    /// The match part, which is the NLRI.
    pub spec: FlowSpec,
    /// The actions, sent as extended communities.
    pub actions: Vec<Action>,
}

/// A rule text could not be read: where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based character column in the input.
    pub column: usize,
    /// What was wrong or expected there.
    pub message: &'static str,
}

const TCP_NAMES: [(&str, u16); 8] = [
    ("fin", tcp::FIN),
    ("syn", tcp::SYN),
    ("rst", tcp::RST),
    ("psh", tcp::PSH),
    ("ack", tcp::ACK),
    ("urg", tcp::URG),
    ("ece", tcp::ECE),
    ("cwr", tcp::CWR),
];
const FRAGMENT_NAMES: [(&str, u16); 4] = [
    ("dont-fragment", fragment::DONT_FRAGMENT),
    ("is-fragment", fragment::IS_FRAGMENT),
    ("first-fragment", fragment::FIRST_FRAGMENT),
    ("last-fragment", fragment::LAST_FRAGMENT),
];
const FRAGMENT_ALIASES: [(&str, u16); 4] = [
    ("df", fragment::DONT_FRAGMENT),
    ("isf", fragment::IS_FRAGMENT),
    ("ff", fragment::FIRST_FRAGMENT),
    ("lf", fragment::LAST_FRAGMENT),
];
const PROTOCOLS: [(&str, u64); 10] = [
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ospf", 89),
    ("sctp", 132),
];

/// Keyword and type code of each numeric component, first name is the one displayed.
const NUMERIC_KEYS: [(&str, u8); 15] = [
    ("proto", code::PROTOCOL),
    ("protocol", code::PROTOCOL),
    ("next-header", code::PROTOCOL),
    ("port", code::PORT),
    ("dport", code::DESTINATION_PORT),
    ("destination-port", code::DESTINATION_PORT),
    ("sport", code::SOURCE_PORT),
    ("source-port", code::SOURCE_PORT),
    ("icmp-type", code::ICMP_TYPE),
    ("icmp-code", code::ICMP_CODE),
    ("pkt-len", code::PACKET_LENGTH),
    ("packet-length", code::PACKET_LENGTH),
    ("dscp", code::DSCP),
    ("flow-label", code::FLOW_LABEL),
    ("label", code::FLOW_LABEL),
];

// ----- nom grammar for one token -----

fn number(i: &str) -> IResult<&str, u64> {
    alt((
        map_res(preceded(tag("0x"), hex_digit1), |h: &str| u64::from_str_radix(h, 16)),
        map_res(digit1, str::parse::<u64>),
    ))(i)
}

fn width(i: &str) -> IResult<&str, u8> {
    preceded(char('/'), map(one_of("1248"), |c| c.to_digit(10).and_then(|d| u8::try_from(d).ok()).unwrap_or(1)))(i)
}

fn cmp(i: &str) -> IResult<&str, Cmp> {
    alt((
        value(Cmp::Ge, tag(">=")),
        value(Cmp::Le, tag("<=")),
        value(Cmp::Ne, tag("!=")),
        value(Cmp::Eq, tag("==")),
        value(Cmp::Eq, tag("=")),
        value(Cmp::Gt, tag(">")),
        value(Cmp::Lt, tag("<")),
    ))(i)
}

fn protocol_name(i: &str) -> IResult<&str, u64> {
    map_res(take_while1(|c: char| c.is_ascii_alphanumeric()), |w: &str| {
        PROTOCOLS.iter().find(|(n, _)| *n == w).map(|(_, v)| *v).ok_or(())
    })(i)
}

/// A value: a number, or for the protocol component a protocol name.
fn num_value(names: bool) -> impl Fn(&str) -> IResult<&str, u64> {
    move |i| if names { alt((number, protocol_name))(i) } else { number(i) }
}

/// One numeric term or range; returns one or two terms, the first with `and` unset.
fn numeric_term(names: bool) -> impl Fn(&str) -> IResult<&str, Vec<NumericTerm>> {
    move |i| {
        alt((
            map(
                tuple((
                    alt((value(Cmp::True, tag("true")), value(Cmp::False, tag("false")))),
                    opt(preceded(char(':'), number)),
                    opt(width),
                )),
                |(c, v, w)| {
                    let v = v.unwrap_or(0);
                    vec![NumericTerm { and: false, cmp: c, value: v, width: w.unwrap_or_else(|| min_width(v)) }]
                },
            ),
            map(separated_pair(num_value(names), tag(".."), num_value(names)), |(a, b)| {
                vec![NumericTerm::new(false, Cmp::Ge, a), NumericTerm::new(true, Cmp::Le, b)]
            }),
            map(tuple((opt(cmp), num_value(names), opt(width))), |(c, v, w)| {
                vec![NumericTerm {
                    and: false,
                    cmp: c.unwrap_or(Cmp::Eq),
                    value: v,
                    width: w.unwrap_or_else(|| min_width(v)),
                }]
            }),
        ))(i)
    }
}

fn separator(i: &str) -> IResult<&str, bool> {
    alt((value(true, char('&')), value(false, char('|')), value(false, char(','))))(i)
}

fn numeric_list(names: bool) -> impl Fn(&str) -> IResult<&str, Vec<NumericTerm>> {
    move |i| {
        let (i, first) = numeric_term(names)(i)?;
        let (i, rest) = many0(pair(separator, cut(numeric_term(names))))(i)?;
        let mut out = first;
        for (and, mut terms) in rest {
            if let Some(t) = terms.first_mut() {
                t.and = and;
            }
            out.extend(terms);
        }
        Ok((i, out))
    }
}

fn bit_names(
    names: &'static [(&'static str, u16)],
    aliases: &'static [(&'static str, u16)],
) -> impl Fn(&str) -> IResult<&str, u16> {
    move |i| {
        let one = |i| {
            map_res(take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-'), |w: &str| {
                names.iter().chain(aliases).find(|(n, _)| *n == w).map(|(_, v)| *v).ok_or(())
            })(i)
        };
        let (i, first) = one(i)?;
        let (i, rest) = many0(preceded(char('+'), one))(i)?;
        Ok((i, rest.into_iter().fold(first, |a, b| a | b)))
    }
}

fn bitmask_list(
    names: &'static [(&'static str, u16)],
    aliases: &'static [(&'static str, u16)],
) -> impl Fn(&str) -> IResult<&str, Vec<BitmaskTerm>> {
    move |i| {
        let term = |i| {
            map(
                tuple((
                    opt(char('!')),
                    opt(char('=')),
                    alt((map_res(number, u16::try_from), bit_names(names, aliases))),
                    opt(width),
                )),
                |(not, all, v, w)| BitmaskTerm {
                    and: false,
                    not: not.is_some(),
                    match_all: all.is_some(),
                    value: v,
                    width: w.unwrap_or(if v > 0xff { 2 } else { 1 }),
                },
            )(i)
        };
        let (i, first) = term(i)?;
        let (i, rest) = many0(pair(separator, cut(term)))(i)?;
        let mut out = vec![first];
        out.extend(rest.into_iter().map(|(and, mut t)| {
            t.and = and;
            t
        }));
        Ok((i, out))
    }
}

// ----- token-level driver -----

struct Tokens<'a> {
    text: &'a str,
    words: Vec<(usize, &'a str)>,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    words.push((s, text.get(s..i).unwrap_or_default()));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            words.push((s, text.get(s..).unwrap_or_default()));
        }
        Tokens { text, words, pos: 0 }
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).map(|w| w.1)
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let w = self.words.get(self.pos).copied();
        self.pos += 1;
        w
    }

    fn column(&self, byte: usize) -> usize {
        self.text.get(..byte).map(|t| t.chars().count()).unwrap_or(0) + 1
    }

    fn err(&self, byte: usize, message: &'static str) -> ParseError {
        ParseError { column: self.column(byte), message }
    }

    /// The next token, or an error at the end of the input.
    fn value(&mut self, message: &'static str) -> Result<(usize, &'a str), ParseError> {
        let end = self.text.len();
        self.next().ok_or_else(|| self.err(end, message))
    }

    /// Runs a nom parser over a whole token; an error points inside the token.
    fn parse<T>(
        &self,
        at: usize,
        word: &str,
        p: impl Fn(&str) -> IResult<&str, T>,
        message: &'static str,
    ) -> Result<T, ParseError> {
        match all_consuming(&p)(word) {
            Ok((_, v)) => Ok(v),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(self.err(at + word.len() - e.input.len(), message)),
            Err(nom::Err::Incomplete(_)) => Err(self.err(at, message)),
        }
    }
}

fn parse_prefix(tokens: &mut Tokens<'_>) -> Result<(usize, FlowPrefix), ParseError> {
    let (at, word) = tokens.value("expected a prefix")?;
    let (addr, len) = word.split_once('/').unwrap_or((word, ""));
    let addr: IpAddr = addr.parse().map_err(|_| tokens.err(at, "expected an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len_at = at + word.len() - len.len();
    let len: u8 = if len.is_empty() {
        max
    } else {
        len.parse().ok().filter(|l| *l <= max).ok_or_else(|| tokens.err(len_at, "expected a prefix length"))?
    };
    let mut offset = 0;
    if tokens.peek() == Some("offset") {
        tokens.next();
        let (oat, o) = tokens.value("expected an offset")?;
        offset = o
            .parse::<u8>()
            .ok()
            .filter(|o| *o < len && addr.is_ipv6())
            .ok_or_else(|| tokens.err(oat, "expected an IPv6 offset below the prefix length"))?;
    }
    Ok((at, FlowPrefix::with_offset(addr, len, offset)))
}

fn parse_action(tokens: &mut Tokens<'_>, at: usize, word: &str) -> Result<Action, ParseError> {
    let float = |tokens: &mut Tokens<'_>| -> Result<Rate, ParseError> {
        let (at, w) = tokens.value("expected a rate")?;
        w.parse::<f32>().map(Rate).map_err(|_| tokens.err(at, "expected a rate (a number)"))
    };
    let asn = |tokens: &mut Tokens<'_>| -> Result<u16, ParseError> {
        if tokens.peek() != Some("asn") {
            return Ok(0);
        }
        tokens.next();
        let (at, w) = tokens.value("expected an AS number")?;
        w.parse().map_err(|_| tokens.err(at, "expected a 2-octet AS number"))
    };
    let copy = |tokens: &mut Tokens<'_>| {
        let c = tokens.peek() == Some("copy");
        if c {
            tokens.next();
        }
        c
    };
    Ok(match word {
        "discard" => Action::DISCARD,
        "rate-bytes" => {
            let rate = float(tokens)?;
            Action::TrafficRateBytes { rate, asn: asn(tokens)? }
        }
        "rate-packets" => {
            let rate = float(tokens)?;
            Action::TrafficRatePackets { rate, asn: asn(tokens)? }
        }
        "traffic-action" => {
            let (at, w) = tokens.value("expected sample, terminal, sample+terminal or none")?;
            let (sample, terminal) = match w {
                "sample" => (true, false),
                "terminal" => (false, true),
                "sample+terminal" | "terminal+sample" => (true, true),
                "none" => (false, false),
                _ => return Err(tokens.err(at, "expected sample, terminal, sample+terminal or none")),
            };
            Action::TrafficAction { sample, terminal }
        }
        "mark" => {
            let (at, w) = tokens.value("expected a DSCP value")?;
            let dscp = w
                .parse::<u8>()
                .ok()
                .filter(|d| *d <= 63)
                .ok_or_else(|| tokens.err(at, "expected a DSCP value 0-63"))?;
            Action::TrafficMarking { dscp }
        }
        "redirect" | "redirect-gobgp-ipv6" => {
            let legacy = word == "redirect-gobgp-ipv6";
            let (at, w) = tokens.value("expected a route target")?;
            let bad = |t: &Tokens<'_>| t.err(at, "expected a route target: ASN:N, ASNL:N, IPv4:N or [IPv6]:N");
            if let Some(rest) = w.strip_prefix('[') {
                let (addr, value) = rest.split_once("]:").ok_or_else(|| bad(tokens))?;
                let addr: Ipv6Addr = addr.parse().map_err(|_| bad(tokens))?;
                let value: u16 = value.parse().map_err(|_| bad(tokens))?;
                if legacy {
                    Action::RedirectIpv6Legacy { addr, value }
                } else {
                    Action::RedirectIpv6 { addr, value }
                }
            } else {
                let (admin, value) = w.rsplit_once(':').ok_or_else(|| bad(tokens))?;
                if legacy {
                    return Err(bad(tokens));
                }
                if let Ok(addr) = admin.parse() {
                    Action::RedirectIpv4 { addr, value: value.parse().map_err(|_| bad(tokens))? }
                } else if let Some(a) = admin.strip_suffix('L') {
                    Action::RedirectAs4 {
                        asn: a.parse().map_err(|_| bad(tokens))?,
                        value: value.parse().map_err(|_| bad(tokens))?,
                    }
                } else {
                    match admin.parse::<u32>().map_err(|_| bad(tokens))? {
                        a if a <= 0xffff => Action::RedirectAs2 {
                            asn: u16::try_from(a).map_err(|_| bad(tokens))?,
                            value: value.parse().map_err(|_| bad(tokens))?,
                        },
                        a => Action::RedirectAs4 { asn: a, value: value.parse().map_err(|_| bad(tokens))? },
                    }
                }
            }
        }
        "redirect-ip" => {
            let (at, w) = tokens.value("expected an IP address")?;
            match w.parse::<IpAddr>().map_err(|_| tokens.err(at, "expected an IP address"))? {
                IpAddr::V4(addr) => Action::RedirectToIpv4 { addr, copy: copy(tokens) },
                IpAddr::V6(addr) => Action::RedirectToIpv6 { addr, copy: copy(tokens) },
            }
        }
        "redirect-nexthop" => Action::RedirectToNextHop { copy: copy(tokens) },
        "extended-community" => {
            let (at, w) = tokens.value("expected 0x and 16 hex digits")?;
            let c: ExtendedCommunity = w.parse().map_err(|_| tokens.err(at, "expected 0x and 16 hex digits"))?;
            Action::from_extended(c)
        }
        "ipv6-extended-community" => {
            let (at, w) = tokens.value("expected 0x and 40 hex digits")?;
            let c: Ipv6ExtendedCommunity = w.parse().map_err(|_| tokens.err(at, "expected 0x and 40 hex digits"))?;
            Action::from_ipv6_extended(c)
        }
        _ => return Err(tokens.err(at, "expected an action")),
    })
}

impl FlowRule {
    /// Parses a rule; `afi` forces the family, otherwise it comes from a leading `ipv4` / `ipv6`,
    /// the first prefix, a flow label (IPv6), or defaults to IPv4.
    pub fn parse(text: &str, afi: Option<Afi>) -> Result<FlowRule, ParseError> {
        let mut t = Tokens::new(text);
        let mut afi = afi;
        match t.peek() {
            Some("ipv4") | Some("ipv6") => {
                let (at, w) = t.next().unwrap_or((0, ""));
                let named = if w == "ipv4" { Afi::Ipv4 } else { Afi::Ipv6 };
                if afi.is_some_and(|a| a != named) {
                    return Err(t.err(at, "family differs from the one required"));
                }
                afi = Some(named);
            }
            _ => {}
        }
        let mut rd = None;
        if t.peek() == Some("rd") {
            t.next();
            let (at, w) = t.value("expected a route distinguisher")?;
            rd = Some(w.parse::<RouteDistinguisher>().map_err(|m| t.err(at, m))?);
        }
        let mut components: Vec<(usize, Component)> = Vec::new();
        let mut then_seen = false;
        while let Some((at, word)) = t.next() {
            if word == "then" {
                then_seen = true;
                break;
            }
            let comp = match word {
                "dst" | "destination" | "src" | "source" => {
                    let (pat, p) = parse_prefix(&mut t)?;
                    let fam = if p.addr.is_ipv4() { Afi::Ipv4 } else { Afi::Ipv6 };
                    if *afi.get_or_insert(fam) != fam {
                        return Err(t.err(pat, "prefix of the other address family"));
                    }
                    if word.starts_with('d') {
                        Component::Destination(p)
                    } else {
                        Component::Source(p)
                    }
                }
                "tcp-flags" => {
                    let (vat, v) = t.value("expected TCP flags")?;
                    Component::TcpFlags(t.parse(
                        vat,
                        v,
                        bitmask_list(&TCP_NAMES, &[]),
                        "expected TCP flags like syn&!ack",
                    )?)
                }
                "fragment" => {
                    let (vat, v) = t.value("expected fragment flags")?;
                    Component::Fragment(t.parse(
                        vat,
                        v,
                        bitmask_list(&FRAGMENT_NAMES, &FRAGMENT_ALIASES),
                        "expected fragment flags like is-fragment",
                    )?)
                }
                key => {
                    let Some((_, type_code)) = NUMERIC_KEYS.iter().find(|(k, _)| *k == key) else {
                        return Err(t.err(at, "expected a match keyword (dst, src, proto, port, dport, ...) or then"));
                    };
                    if *type_code == code::FLOW_LABEL && *afi.get_or_insert(Afi::Ipv6) != Afi::Ipv6 {
                        return Err(t.err(at, "flow label is an IPv6 component"));
                    }
                    let (vat, v) = t.value("expected values")?;
                    let names = *type_code == code::PROTOCOL;
                    let terms =
                        t.parse(vat, v, numeric_list(names), "expected values like =80, >=1024&<=2048 or 137..139")?;
                    Component::from_numeric(*type_code, terms).ok_or_else(|| t.err(at, "expected a match keyword"))?
                }
            };
            if components.iter().any(|(_, c)| c.type_code() == comp.type_code()) {
                return Err(t.err(at, "this component appears twice"));
            }
            components.push((at, comp));
        }
        let mut actions = Vec::new();
        if then_seen {
            while let Some((at, word)) = t.next() {
                actions.push(parse_action(&mut t, at, word)?);
            }
            if actions.is_empty() {
                return Err(t.err(text.len(), "expected an action after then"));
            }
        }
        let afi = afi.unwrap_or(Afi::Ipv4);
        let first = components.first().map(|c| c.0).unwrap_or(0);
        let spec = FlowSpec::new(afi, rd, components.into_iter().map(|(_, c)| c).collect()).map_err(|e| {
            let message = match e {
                crate::error::EncodeError::TooLong { .. } => "rule longer than 4095 bytes",
                crate::error::EncodeError::Invalid(m) => m,
            };
            t.err(first, message)
        })?;
        Ok(FlowRule { spec, actions })
    }
}

impl FromStr for FlowRule {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlowRule::parse(s, None)
    }
}

impl FromStr for FlowSpec {
    type Err = ParseError;
    /// A match without actions.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rule = FlowRule::parse(s, None)?;
        if !rule.actions.is_empty() {
            return Err(ParseError { column: 1, message: "a FlowSpec match has no actions" });
        }
        Ok(rule.spec)
    }
}

fn write_width(f: &mut core::fmt::Formatter<'_>, width: u8, natural: u8) -> core::fmt::Result {
    if width != natural {
        write!(f, "/{width}")?;
    }
    Ok(())
}

fn write_numeric(f: &mut core::fmt::Formatter<'_>, terms: &[NumericTerm]) -> core::fmt::Result {
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(if t.and { "&" } else { "|" })?;
        }
        match t.cmp {
            Cmp::True | Cmp::False => {
                f.write_str(t.cmp.symbol())?;
                if t.value != 0 {
                    write!(f, ":{}", t.value)?;
                }
            }
            c => write!(f, "{}{}", c.symbol(), t.value)?,
        }
        write_width(f, t.width, min_width(t.value))?;
    }
    Ok(())
}

fn write_bitmask(f: &mut core::fmt::Formatter<'_>, terms: &[BitmaskTerm], names: &[(&str, u16)]) -> core::fmt::Result {
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(if t.and { "&" } else { "|" })?;
        }
        if t.not {
            f.write_str("!")?;
        }
        if t.match_all {
            f.write_str("=")?;
        }
        let known: u16 = names.iter().map(|(_, v)| v).fold(0, |a, b| a | b);
        if t.value != 0 && t.value & !known == 0 {
            let parts: Vec<&str> = names.iter().filter(|(_, v)| t.value & v != 0).map(|(n, _)| *n).collect();
            f.write_str(&parts.join("+"))?;
        } else {
            write!(f, "{:#x}", t.value)?;
        }
        write_width(f, t.width, if t.value > 0xff { 2 } else { 1 })?;
    }
    Ok(())
}

fn write_prefix(f: &mut core::fmt::Formatter<'_>, p: &FlowPrefix) -> core::fmt::Result {
    write!(f, "{}/{}", p.addr, p.len)?;
    if p.offset > 0 {
        write!(f, " offset {}", p.offset)?;
    }
    Ok(())
}

impl core::fmt::Display for FlowSpec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut parts = 0;
        let mut sep = |f: &mut core::fmt::Formatter<'_>| {
            parts += 1;
            if parts > 1 {
                f.write_str(" ")
            } else {
                Ok(())
            }
        };
        // The family shows through a prefix or a flow label; otherwise say it.
        let implied = self.components().iter().any(|c| {
            matches!(c, Component::Destination(_) | Component::Source(_))
                || (c.type_code() == code::FLOW_LABEL && self.afi() == Afi::Ipv6)
        });
        if !implied && self.afi() == Afi::Ipv6 {
            sep(f)?;
            f.write_str("ipv6")?;
        }
        if let Some(rd) = self.rd() {
            sep(f)?;
            write!(f, "rd {rd}")?;
        }
        for c in &self.components() {
            sep(f)?;
            match c {
                Component::Destination(p) => {
                    f.write_str("dst ")?;
                    write_prefix(f, p)?;
                }
                Component::Source(p) => {
                    f.write_str("src ")?;
                    write_prefix(f, p)?;
                }
                Component::TcpFlags(t) => {
                    f.write_str("tcp-flags ")?;
                    write_bitmask(f, t, &TCP_NAMES)?;
                }
                Component::Fragment(t) => {
                    f.write_str("fragment ")?;
                    write_bitmask(f, t, &FRAGMENT_NAMES)?;
                }
                other => {
                    let key =
                        NUMERIC_KEYS.iter().find(|(_, t)| *t == other.type_code()).map(|(k, _)| *k).unwrap_or("?");
                    write!(f, "{key} ")?;
                    write_numeric(f, other.numeric().unwrap_or_default())?;
                }
            }
        }
        Ok(())
    }
}

impl core::fmt::Display for Action {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let asn = |f: &mut core::fmt::Formatter<'_>, asn: u16| if asn != 0 { write!(f, " asn {asn}") } else { Ok(()) };
        let copy = |f: &mut core::fmt::Formatter<'_>, c: bool| if c { f.write_str(" copy") } else { Ok(()) };
        match *self {
            a if a == Action::DISCARD => f.write_str("discard"),
            Action::TrafficRateBytes { asn: n, rate } => {
                write!(f, "rate-bytes {}", rate.0)?;
                asn(f, n)
            }
            Action::TrafficRatePackets { asn: n, rate } => {
                write!(f, "rate-packets {}", rate.0)?;
                asn(f, n)
            }
            Action::TrafficAction { sample, terminal } => f.write_str(match (sample, terminal) {
                (true, true) => "traffic-action sample+terminal",
                (true, false) => "traffic-action sample",
                (false, true) => "traffic-action terminal",
                (false, false) => "traffic-action none",
            }),
            Action::RedirectAs2 { asn, value } => write!(f, "redirect {asn}:{value}"),
            Action::RedirectIpv4 { addr, value } => write!(f, "redirect {addr}:{value}"),
            Action::RedirectAs4 { asn, value } => write!(f, "redirect {asn}L:{value}"),
            Action::TrafficMarking { dscp } => write!(f, "mark {dscp}"),
            Action::RedirectToIpv4 { addr, copy: c } => {
                write!(f, "redirect-ip {addr}")?;
                copy(f, c)
            }
            Action::RedirectToIpv6 { addr, copy: c } => {
                write!(f, "redirect-ip {addr}")?;
                copy(f, c)
            }
            Action::RedirectToNextHop { copy: c } => {
                f.write_str("redirect-nexthop")?;
                copy(f, c)
            }
            Action::RedirectIpv6 { addr, value } => write!(f, "redirect [{addr}]:{value}"),
            Action::RedirectIpv6Legacy { addr, value } => write!(f, "redirect-gobgp-ipv6 [{addr}]:{value}"),
            Action::Other(c) => write!(f, "extended-community 0x{}", bgp_core::hex::encode(&c.0)),
            Action::OtherIpv6(c) => write!(f, "ipv6-extended-community 0x{}", bgp_core::hex::encode(&c.0)),
        }
    }
}

impl core::fmt::Display for FlowRule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.spec)?;
        if !self.actions.is_empty() {
            f.write_str(" then")?;
            for a in &self.actions {
                write!(f, " {a}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_examples_round_trip() {
        for text in [
            "dst 192.0.2.1/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000",
            "src 2001:db8::/48 dst ::1234:5678:9a00:0/104 offset 64 tcp-flags syn&!ack then discard",
            "rd 65000:1 dst 203.0.113.0/24 dport >=137&<=139|=8080 then redirect 65000:100",
            "ipv6 proto =58 icmp-type =128 then rate-packets 10 asn 65000 traffic-action sample",
            "dst 10.0.0.0/8 fragment is-fragment|!=dont-fragment dscp =46 then mark 0 redirect-ip 192.0.2.9 copy",
        ] {
            let rule: FlowRule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            // Components are shown in type order, so compare after one normalisation.
            let shown = rule.to_string();
            assert_eq!(shown.parse::<FlowRule>().unwrap(), rule, "{shown}");
        }
    }

    #[test]
    fn canonical_display() {
        let r: FlowRule = "proto udp port 137..139 then rate-bytes 0".parse().unwrap();
        assert_eq!(r.to_string(), "proto =17 port >=137&<=139 then discard");
        let r: FlowRule = "dst 192.0.2.7/24 dport =80/2".parse().unwrap();
        assert_eq!(r.to_string(), "dst 192.0.2.0/24 dport =80/2");
        let r: FlowRule = "tcp-flags =syn+ack|0x200".parse().unwrap();
        assert_eq!(r.to_string(), "tcp-flags =syn+ack|0x200");
        let r: FlowRule = "tcp-flags 0x1/2".parse().unwrap();
        assert_eq!(r.to_string(), "tcp-flags fin/2");
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = "dst 192.0.2.1/33".parse::<FlowRule>().unwrap_err();
        assert_eq!((e.column, e.message), (15, "expected a prefix length"));
        let e = "dst 192.0.2.1/32 dport =80&<x".parse::<FlowRule>().unwrap_err();
        assert_eq!(e.column, 29);
        let e = "dst 192.0.2.1/32 banana 1".parse::<FlowRule>().unwrap_err();
        assert_eq!(e.column, 18);
        let e = "dst 192.0.2.1/32 src 2001:db8::/32".parse::<FlowRule>().unwrap_err();
        assert_eq!((e.column, e.message), (22, "prefix of the other address family"));
        let e = "dst 192.0.2.1/32 then".parse::<FlowRule>().unwrap_err();
        assert_eq!(e.message, "expected an action after then");
        let e = "proto =6 proto =17".parse::<FlowRule>().unwrap_err();
        assert_eq!((e.column, e.message), (10, "this component appears twice"));
        let e = "dst 192.0.2.1/32 then mark 64".parse::<FlowRule>().unwrap_err();
        assert_eq!(e.column, 28);
        let e = "dscp =64/2".parse::<FlowRule>().unwrap_err();
        assert_eq!(e.message, "DSCP values are one octet (RFC 8955 §4.2.2.11)");
    }
}

/// JSON form of a rule: the family, the route distinguisher, one string per component and one per
/// action, each in the text syntax:
/// `{"afi":"ipv4","match":["dst 192.0.2.1/32","proto =17"],"then":["discard"]}`.
#[cfg(feature = "serde")]
mod json {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        afi: Afi,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rd: Option<String>,
        #[serde(rename = "match")]
        components: Vec<String>,
        #[serde(default, rename = "then", skip_serializing_if = "Vec::is_empty")]
        actions: Vec<String>,
    }

    fn one(spec: &FlowSpec, c: &Component) -> String {
        // A one-component rule shows exactly that component (plus the family word, dropped here).
        FlowSpec::new(spec.afi(), None, vec![c.clone()])
            .map(|s| s.to_string().trim_start_matches("ipv6 ").to_owned())
            .unwrap_or_default()
    }

    impl Serialize for FlowRule {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Repr {
                afi: self.spec.afi(),
                rd: self.spec.rd().map(|r| r.to_string()),
                components: self.spec.components().iter().map(|c| one(&self.spec, c)).collect(),
                actions: self.actions.iter().map(ToString::to_string).collect(),
            }
            .serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for FlowRule {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let r = Repr::deserialize(d)?;
            let mut text = String::new();
            if let Some(rd) = &r.rd {
                text.push_str(&format!("rd {rd} "));
            }
            text.push_str(&r.components.join(" "));
            if !r.actions.is_empty() {
                text.push_str(" then ");
                text.push_str(&r.actions.join(" "));
            }
            FlowRule::parse(&text, Some(r.afi)).map_err(|e| serde::de::Error::custom(format!("{e} in `{text}`")))
        }
    }

    impl Serialize for FlowSpec {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            FlowRule { spec: self.clone(), actions: Vec::new() }.serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for FlowSpec {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(FlowRule::deserialize(d)?.spec)
        }
    }

    impl Serialize for Action {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for Action {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            let rule = FlowRule::parse(&format!("proto =0 then {text}"), None).map_err(serde::de::Error::custom)?;
            match rule.actions.as_slice() {
                [a] => Ok(*a),
                _ => Err(serde::de::Error::custom("expected exactly one action")),
            }
        }
    }
}
