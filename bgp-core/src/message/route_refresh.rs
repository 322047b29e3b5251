//! ROUTE-REFRESH (RFC 2918 §3) with the enhanced route refresh subtypes (RFC 7313 §3.2).

use crate::iana::{code_point, Afi, Family, Safi};
use crate::wire::Reader;

code_point! {
    /// The message subtype that RFC 7313 §3.2 puts in the former reserved octet.
    pub enum RouteRefreshSubtype: u8 {
        /// Normal route refresh request (RFC 2918).
        Request = 0 => "request",
        /// Beginning of Route Refresh (BoRR).
        Begin = 1 => "begin",
        /// End of Route Refresh (EoRR).
        End = 2 => "end",
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouteRefresh {
    /// The family to refresh.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub family: Family,
    /// Request, BoRR or EoRR. RFC 7313 §5: a value of 3–254 "MUST be ignored" by the receiver.
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefresh {
    /// A plain refresh request for `family`.
    pub fn request(family: Family) -> Self {
        RouteRefresh { family, subtype: RouteRefreshSubtype::Request }
    }

    /// Decodes the 4-byte body (length was checked by the caller).
    pub(crate) fn decode(mut r: Reader<'_>) -> Option<RouteRefresh> {
        let afi = Afi::from(r.u16()?);
        let subtype = RouteRefreshSubtype::from(r.u8()?);
        let safi = Safi::from(r.u8()?);
        Some(RouteRefresh { family: Family::new(afi, safi), subtype })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.code().to_be_bytes());
        out.push(self.subtype.code());
        out.push(self.family.safi.code());
    }
}
