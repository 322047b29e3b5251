//! AS_PATH and AS4_PATH (RFC 4271 §4.3, §5.1.2; RFC 6793 §3, §4.2.3).

use crate::error::EncodeError;
use crate::iana::{code_point, AS_TRANS};
use crate::wire::Reader;

code_point! {
    /// AS path segment type (RFC 4271 §4.3, RFC 5065 §3).
    pub enum SegmentType: u8 {
        /// AS_SET: unordered set of ASes an aggregate has traversed.
        Set = 1 => "set",
        /// AS_SEQUENCE: ordered ASes the route has traversed.
        Sequence = 2 => "sequence",
        /// AS_CONFED_SEQUENCE (RFC 5065).
        ConfedSequence = 3 => "confed_sequence",
        /// AS_CONFED_SET (RFC 5065).
        ConfedSet = 4 => "confed_set",
    }
}

/// One AS path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AsSegment {
    /// Segment type.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: SegmentType,
    /// The AS numbers, in wire order.
    pub asns: Vec<u32>,
}

impl AsSegment {
    /// An AS_SEQUENCE of `asns`.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        AsSegment { kind: SegmentType::Sequence, asns: asns.into() }
    }

    /// An AS_SET of `asns`.
    pub fn set(asns: impl Into<Vec<u32>>) -> Self {
        AsSegment { kind: SegmentType::Set, asns: asns.into() }
    }

    /// How the segment counts towards the path length (RFC 4271 §9.1.2.2 a; RFC 5065 §5.3):
    /// a sequence by its ASes, a set as one, confederation segments not at all.
    pub fn path_len(&self) -> usize {
        match self.kind {
            SegmentType::Sequence => self.asns.len(),
            SegmentType::Set => usize::from(!self.asns.is_empty()),
            _ => 0,
        }
    }
}

/// An AS path: the segments of AS_PATH or AS4_PATH.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsSegment>,
}

/// Why an AS path could not be read (RFC 7606 §7.2 lists these as malformations).
pub(crate) type AsPathError = &'static str;

impl AsPath {
    /// The empty path (what an iBGP speaker sends for locally originated routes).
    pub fn empty() -> Self {
        AsPath::default()
    }

    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl Into<Vec<u32>>) -> Self {
        AsPath { segments: vec![AsSegment::sequence(asns)] }
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2 a).
    pub fn path_len(&self) -> usize {
        self.segments.iter().map(AsSegment::path_len).sum()
    }

    /// The AS the route was last received from: the first AS of a leading AS_SEQUENCE.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(s) if s.kind == SegmentType::Sequence => s.asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the last AS of a trailing AS_SEQUENCE (RFC 6811 §2 semantics).
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(s) if s.kind == SegmentType::Sequence => s.asns.last().copied(),
            _ => None,
        }
    }

    /// True if any AS of any segment is `asn` (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// A copy with `asn` prepended, as an eBGP speaker does on export (RFC 4271 §5.1.2).
    pub fn prepend(&self, asn: u32) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(s) if s.kind == SegmentType::Sequence && s.asns.len() < 255 => s.asns.insert(0, asn),
            _ => segments.insert(0, AsSegment::sequence([asn])),
        }
        AsPath { segments }
    }

    /// Reads segments until the reader is empty, with 2- or 4-octet AS numbers.
    pub(crate) fn decode(r: &mut Reader<'_>, four_octet: bool) -> Result<AsPath, AsPathError> {
        let mut segments = Vec::new();
        while !r.is_empty() {
            let kind = SegmentType::from(r.u8().ok_or("segment header truncated")?);
            let count = r.u8().ok_or("segment header truncated")?;
            if let SegmentType::Unknown(_) = kind {
                return Err("unrecognized segment type");
            }
            if count == 0 {
                return Err("segment of length zero");
            }
            let width = if four_octet { 4 } else { 2 };
            let mut body = r.sub(usize::from(count) * width).ok_or("segment overruns the attribute")?;
            let mut asns = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let asn = if four_octet { body.u32() } else { body.u16().map(u32::from) };
                asns.push(asn.ok_or("segment overruns the attribute")?);
            }
            segments.push(AsSegment { kind, asns });
        }
        Ok(AsPath { segments })
    }

    /// Appends the wire form with 2- or 4-octet AS numbers. A segment of more than 255 ASes is
    /// split into several of the same type; an AS above 65535 in 2-octet form is an error (the caller
    /// uses [`to_two_octet`](Self::to_two_octet) first).
    pub fn encode(&self, four_octet: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for seg in &self.segments {
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind.code());
                out.push(u8::try_from(chunk.len()).map_err(|_| EncodeError::TooLong {
                    field: "AS path segment",
                    length: chunk.len(),
                    max: 255,
                })?);
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let two = u16::try_from(asn).map_err(|_| EncodeError::AsNotRepresentable { asn })?;
                        out.extend_from_slice(&two.to_be_bytes());
                    }
                }
            }
        }
        Ok(())
    }

    /// The AS_PATH and AS4_PATH a speaker sends to a peer without 4-octet AS support (RFC 6793
    /// §4.2.2): every AS above 65535 becomes AS_TRANS in the AS_PATH, and the true path goes in an
    /// AS4_PATH, which is only needed when some AS did not fit. Confederation segments stay out of
    /// AS4_PATH.
    pub fn to_two_octet(&self) -> (AsPath, Option<AsPath>) {
        let trans = u32::from(AS_TRANS);
        let mut needs_as4 = false;
        let two = AsPath {
            segments: self
                .segments
                .iter()
                .map(|s| AsSegment {
                    kind: s.kind,
                    asns: s
                        .asns
                        .iter()
                        .map(|&a| {
                            if a > 0xffff {
                                needs_as4 = true;
                                trans
                            } else {
                                a
                            }
                        })
                        .collect(),
                })
                .collect(),
        };
        let as4 = needs_as4.then(|| AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| matches!(s.kind, SegmentType::Sequence | SegmentType::Set))
                .cloned()
                .collect(),
        });
        (two, as4)
    }

    /// Rebuilds the true path from a 2-octet peer's AS_PATH and AS4_PATH (RFC 6793 §4.2.3).
    ///
    /// "If the number of AS numbers in the AS_PATH attribute is less than the number of AS numbers in
    /// the AS4_PATH attribute, then the AS4_PATH attribute SHALL be ignored"; otherwise the leading
    /// ASes of AS_PATH are prepended to AS4_PATH so that the result counts as many ASes as AS_PATH.
    /// Confederation segments in AS4_PATH are dropped (§4.2.3: they "SHALL be discarded").
    pub fn merge_as4(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
        let as4 = AsPath {
            segments: as4_path
                .segments
                .iter()
                .filter(|s| matches!(s.kind, SegmentType::Sequence | SegmentType::Set))
                .cloned()
                .collect(),
        };
        let n2 = as_path.path_len();
        let n4 = as4.path_len();
        if n2 < n4 {
            return as_path.clone();
        }
        let mut need = n2 - n4;
        let mut segments = Vec::new();
        for seg in &as_path.segments {
            if need == 0 {
                break;
            }
            match seg.kind {
                SegmentType::Sequence => {
                    let take = need.min(seg.asns.len());
                    segments.push(AsSegment::sequence(seg.asns.get(..take).unwrap_or_default()));
                    need -= take;
                }
                SegmentType::Set => {
                    segments.push(seg.clone());
                    need -= seg.path_len();
                }
                _ => segments.push(seg.clone()),
            }
        }
        // Join a trailing leading-part sequence with a leading AS4_PATH sequence.
        let mut rest = as4.segments.into_iter();
        if let (Some(last), Some(first)) = (segments.last_mut(), rest.as_slice().first()) {
            if last.kind == SegmentType::Sequence
                && first.kind == SegmentType::Sequence
                && last.asns.len() + first.asns.len() <= 255
            {
                last.asns.extend_from_slice(&first.asns);
                rest.next();
            }
        }
        segments.extend(rest);
        AsPath { segments }
    }
}

impl core::fmt::Display for AsPath {
    /// Cisco-style text: `65001 65002 {65003,65004} (65005)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let join = |sep: &str| seg.asns.iter().map(u32::to_string).collect::<Vec<_>>().join(sep);
            match seg.kind {
                SegmentType::Sequence => f.write_str(&join(" "))?,
                SegmentType::Set => write!(f, "{{{}}}", join(","))?,
                SegmentType::ConfedSequence => write!(f, "({})", join(" "))?,
                SegmentType::ConfedSet => write!(f, "[{}]", join(","))?,
                SegmentType::Unknown(t) => write!(f, "<{t}:{}>", join(" "))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], four: bool) -> Result<AsPath, AsPathError> {
        AsPath::decode(&mut Reader::new(bytes, 0), four)
    }

    #[test]
    fn two_and_four_octet_round_trip() {
        let two = [2, 2, 0xfd, 0xe9, 0xfd, 0xea, 1, 1, 0, 100];
        let p = decode(&two, false).unwrap();
        assert_eq!(p.to_string(), "65001 65002 {100}");
        assert_eq!(p.path_len(), 3);
        let mut out = Vec::new();
        p.encode(false, &mut out).unwrap();
        assert_eq!(out, two);
        let four = [2, 1, 0, 1, 0, 0];
        let p = decode(&four, true).unwrap();
        assert_eq!(p.to_string(), "65536");
        assert_eq!(p.encode(false, &mut Vec::new()), Err(EncodeError::AsNotRepresentable { asn: 65536 }));
    }

    #[test]
    fn malformed_segments() {
        assert_eq!(decode(&[5, 1, 0, 1], false), Err("unrecognized segment type"));
        assert_eq!(decode(&[2, 0], false), Err("segment of length zero"));
        assert_eq!(decode(&[2, 2, 0, 1], false), Err("segment overruns the attribute"));
        assert_eq!(decode(&[2], false), Err("segment header truncated"));
        // a 4-octet path read as 2-octet still parses, but a 2-octet path read as 4-octet overruns
        assert_eq!(decode(&[2, 2, 0, 1, 0, 2], true), Err("segment overruns the attribute"));
    }

    #[test]
    fn long_segments_are_split_not_truncated() {
        let p = AsPath::from_sequence((1..=300).collect::<Vec<u32>>());
        let mut out = Vec::new();
        p.encode(true, &mut out).unwrap();
        let back = decode(&out, true).unwrap();
        assert_eq!(back.segments.len(), 2);
        assert_eq!(back.path_len(), 300);
    }

    #[test]
    fn rfc6793_two_octet_and_merge() {
        let real =
            AsPath { segments: vec![AsSegment::sequence([65001, 4200000001, 65003]), AsSegment::set([7, 4200000002])] };
        let (two, as4) = real.to_two_octet();
        assert_eq!(two.to_string(), "65001 23456 65003 {7,23456}");
        let as4 = as4.unwrap();
        assert_eq!(AsPath::merge_as4(&two, &as4), real);
        // a 2-octet speaker prepended 65100 after the AS4_PATH was made
        let mut two_more = two.prepend(65100);
        assert_eq!(AsPath::merge_as4(&two_more, &as4).to_string(), "65100 65001 4200000001 65003 {7,4200000002}");
        // AS4_PATH longer than AS_PATH: ignored
        two_more = AsPath::from_sequence([65001]);
        assert_eq!(AsPath::merge_as4(&two_more, &as4), two_more);
        // nothing above 65535: no AS4_PATH needed
        assert_eq!(AsPath::from_sequence([1, 2]).to_two_octet().1, None);
    }
}
