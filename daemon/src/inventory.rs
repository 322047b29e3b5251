//! Inventory: which customer and service an attacked address belongs to, by exact asset address
//! first, then by the longest matching customer prefix.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Ports a service may receive, per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedPorts {
    /// UDP ports.
    #[serde(default)]
    pub udp: Vec<u16>,
    /// TCP ports.
    #[serde(default)]
    pub tcp: Vec<u16>,
}

/// One address of a service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// The address.
    pub ip: IpAddr,
    /// What it is (`dns`, `web` ...), for people.
    #[serde(default)]
    pub role: Option<String>,
}

/// A customer's service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Identifier.
    pub service_id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its addresses.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Ports it serves.
    #[serde(default)]
    pub allowed_ports: Option<AllowedPorts>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Identifier.
    pub customer_id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Address space.
    #[serde(default)]
    pub prefixes: Vec<ipnet_str::Net>,
    /// `normal` or `strict` (strict customers are never escalated to discard).
    #[serde(default)]
    pub policy_profile: Option<String>,
    /// Services.
    #[serde(default)]
    pub services: Vec<Service>,
}

/// The inventory file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Customers.
    #[serde(default)]
    pub customers: Vec<Customer>,
}

/// What an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The customer.
    pub customer: &'a Customer,
    /// The service, when the address is one of its assets.
    pub service: Option<&'a Service>,
}

impl Inventory {
    /// The owner of `ip`: the service that lists it as an asset, else the customer with the
    /// longest prefix containing it.
    pub fn lookup(&self, ip: IpAddr) -> Option<Owner<'_>> {
        for c in &self.customers {
            for s in &c.services {
                if s.assets.iter().any(|a| a.ip == ip) {
                    return Some(Owner { customer: c, service: Some(s) });
                }
            }
        }
        let mut best: BTreeMap<u8, &Customer> = BTreeMap::new();
        for c in &self.customers {
            for p in &c.prefixes {
                if p.contains(ip) {
                    best.entry(p.len()).or_insert(c);
                }
            }
        }
        best.into_iter().next_back().map(|(_, customer)| Owner { customer, service: None })
    }
}

/// IP prefixes as strings in the inventory (`203.0.113.0/24`).
pub mod ipnet_str {
    use std::net::IpAddr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A prefix.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Net {
        addr: IpAddr,
        len: u8,
    }

    impl Net {
        /// Prefix length.
        pub fn len(&self) -> u8 {
            self.len
        }

        /// True for a /0.
        pub fn is_empty(&self) -> bool {
            self.len == 0
        }

        /// True if `ip` is inside.
        pub fn contains(&self, ip: IpAddr) -> bool {
            match (self.addr, ip) {
                (IpAddr::V4(p), IpAddr::V4(a)) => {
                    let m = if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) };
                    u32::from(p) & m == u32::from(a) & m
                }
                (IpAddr::V6(p), IpAddr::V6(a)) => {
                    let m = if self.len == 0 { 0 } else { u128::MAX << (128 - u32::from(self.len)) };
                    u128::from(p) & m == u128::from(a) & m
                }
                _ => false,
            }
        }
    }

    impl std::fmt::Display for Net {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }

    impl std::str::FromStr for Net {
        type Err = String;
        fn from_str(s: &str) -> Result<Self, Self::Err> {
            let (a, l) = s.split_once('/').ok_or_else(|| format!("{s:?} is not ADDRESS/LENGTH"))?;
            let addr: IpAddr = a.parse().map_err(|_| format!("{a:?} is not an IP address"))?;
            let len: u8 = l.parse().map_err(|_| format!("{l:?} is not a prefix length"))?;
            if len > if addr.is_ipv4() { 32 } else { 128 } {
                return Err(format!("prefix length {len} too long in {s:?}"));
            }
            Ok(Net { addr, len })
        }
    }

    impl Serialize for Net {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for Net {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_first_then_longest_prefix() {
        let inv: Inventory = toml::from_str(
            r#"
[[customers]]
customer_id = "big"
prefixes = ["203.0.113.0/24"]

[[customers]]
customer_id = "small"
prefixes = ["203.0.113.64/26"]
[[customers.services]]
service_id = "dns"
assets = [{ ip = "203.0.113.10" }]
allowed_ports = { udp = [53], tcp = [53] }
"#,
        )
        .unwrap();
        let o = inv.lookup("203.0.113.10".parse().unwrap()).unwrap();
        assert_eq!((o.customer.customer_id.as_str(), o.service.map(|s| s.service_id.as_str())), ("small", Some("dns")));
        assert_eq!(inv.lookup("203.0.113.70".parse().unwrap()).unwrap().customer.customer_id, "small");
        assert_eq!(inv.lookup("203.0.113.7".parse().unwrap()).unwrap().customer.customer_id, "big");
        assert!(inv.lookup("198.51.100.1".parse().unwrap()).is_none());
        assert!(toml::from_str::<Inventory>("[[customers]]\ncustomer_id = \"x\"\nbogus = 1\n").is_err());
    }
}
