//! Rule precedence (RFC 8955 §5.1, with the IPv6 offset rule of RFC 8956 §4).
//!
//! `FlowSpec: Ord` sorts rules in the order a router applies them: `a < b` means `a` has higher
//! precedence. Rules of different families or route distinguishers never compete; they are ordered
//! by family, then route distinguisher, so the order is total and consistent with `Eq`.

use std::cmp::Ordering;
use std::net::IpAddr;

use bgp_core::Reader;

use crate::component::{code, mask128, mask32, FlowPrefix};
use crate::nlri::{decode_prefix, FlowSpec};

impl Ord for FlowSpec {
    fn cmp(&self, other: &Self) -> Ordering {
        let afi = |r: &FlowSpec| u16::from(r.afi());
        afi(self).cmp(&afi(other)).then_with(|| self.rd().cmp(&other.rd())).then_with(|| precedence(self, other))
    }
}

impl PartialOrd for FlowSpec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// RFC 8955 §5.1: walk the components in type order; the first difference decides. Works on the
/// rules' bytes: only prefixes are decoded, and nothing is allocated.
fn precedence(a: &FlowSpec, b: &FlowSpec) -> Ordering {
    let v6 = a.afi() == bgp_core::Afi::Ipv6;
    let (mut ca, mut cb) = (a.raw_components(), b.raw_components());
    loop {
        let ((tx, x), (ty, y)) = match (ca.next(), cb.next()) {
            // "the rule with that component has higher precedence"
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
            (Some(x), Some(y)) => (x, y),
        };
        // Lower component type: higher precedence.
        let by_type = tx.cmp(&ty);
        if by_type != Ordering::Equal {
            return by_type;
        }
        let by_value = match tx {
            code::DESTINATION | code::SOURCE => {
                let p = decode_prefix(&mut Reader::new(x, 0), v6);
                let q = decode_prefix(&mut Reader::new(y, 0), v6);
                match (p, q) {
                    (Ok(p), Ok(q)) => prefix_precedence(&p, &q),
                    // Validated bytes always decode; fall back to bytes all the same.
                    _ => bytes_precedence(x, y),
                }
            }
            _ => bytes_precedence(x, y),
        };
        if by_value != Ordering::Equal {
            return by_value;
        }
    }
}

/// Prefixes: lower IPv6 offset first (RFC 8956 §4); if one contains the other, the longer (more
/// specific) first; otherwise the lower address first.
fn prefix_precedence(p: &FlowPrefix, q: &FlowPrefix) -> Ordering {
    let by_offset = p.offset.cmp(&q.offset);
    if by_offset != Ordering::Equal {
        return by_offset;
    }
    let common = p.len.min(q.len);
    let (pa, qa, overlap) = match (p.addr, q.addr) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            let m = mask32(0, common);
            let (x, y) = (u32::from(x), u32::from(y));
            (u128::from(x), u128::from(y), x & m == y & m)
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            let m = mask128(p.offset, common);
            let (x, y) = (u128::from(x), u128::from(y));
            (x, y, x & m == y & m)
        }
        (IpAddr::V4(_), IpAddr::V6(_)) => return Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => return Ordering::Greater,
    };
    if overlap {
        q.len.cmp(&p.len)
    } else {
        pa.cmp(&qa)
    }
}

/// Other components: memcmp of the encoded values; on an equal common prefix the longer string
/// has higher precedence.
fn bytes_precedence(x: &[u8], y: &[u8]) -> Ordering {
    let n = x.len().min(y.len());
    match x.get(..n).cmp(&y.get(..n)) {
        Ordering::Equal => y.len().cmp(&x.len()),
        o => o,
    }
}

#[cfg(test)]
mod tests {
    use crate::FlowRule;

    fn rule(s: &str) -> crate::FlowSpec {
        s.parse::<FlowRule>().unwrap().spec
    }

    #[test]
    fn rfc8955_precedence() {
        // More specific destination first; a rule with the component beats one without.
        assert!(rule("dst 10.1.0.0/16") < rule("dst 10.0.0.0/8"));
        assert!(rule("dst 10.0.0.0/8") < rule("dst 11.0.0.0/16"));
        assert!(rule("dst 10.0.0.0/8") < rule("src 10.0.0.0/8"));
        assert!(rule("dst 10.0.0.0/8 proto =6") < rule("dst 10.0.0.0/8"));
        // memcmp of the operator bytes: "=6" (81 06) before "=17" (81 11).
        assert!(rule("proto =6") < rule("proto =17"));
        // Equal common prefix: the longer list first.
        assert!(rule("proto =6|=17") < rule("proto =6"));
        // IPv6: lower offset first.
        assert!(rule("src ::1234:0:0:0/80 offset 64") > rule("src 2001:db8::/32"));
    }
}
