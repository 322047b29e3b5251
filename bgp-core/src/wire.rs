//! Bounded reading of untrusted bytes and length back-patching for encoders.
//!
//! A [`Reader`] only ever looks at the slice it was given: every read returns `None` when the bytes
//! are not there, and every position it reports is absolute within the message, so decoders can put
//! the exact byte offset into their errors.

/// A cursor over a bounded slice that knows its absolute offset in the enclosing message.
///
/// Every read returns `None` when the bytes are not there; nothing here can panic or read past the
/// slice. Other crates (FlowSpec, the speaker) use it for their own wire formats.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at `base` in the enclosing message.
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Takes the next `n` bytes as a reader of their own, with absolute offsets preserved.
    pub fn sub(&mut self, n: usize) -> Option<Reader<'a>> {
        let base = self.offset();
        self.take(n).map(|buf| Reader::new(buf, base))
    }

    /// Takes everything that is left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.buf.len();
        out
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    /// Reads `N` bytes into an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// Writes `value` as a big-endian `u16` length at `at`, after the bytes it measures were written.
/// Returns `None` when `value` does not fit or `at` is out of range; callers turn that into an
/// [`EncodeError`](crate::EncodeError) instead of truncating.
pub(crate) fn patch_u16(out: &mut [u8], at: usize, value: usize) -> Option<()> {
    let v = u16::try_from(value).ok()?;
    out.get_mut(at..at.checked_add(2)?)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

/// Writes `value` as a `u8` length at `at`; see [`patch_u16`].
pub(crate) fn patch_u8(out: &mut [u8], at: usize, value: usize) -> Option<()> {
    let v = u8::try_from(value).ok()?;
    *out.get_mut(at)? = v;
    Some(())
}

/// Lower-case hex encoding and decoding, for the JSON forms and the command-line tools.
pub mod hex {
    /// Lower-case hex of `bytes`.
    pub fn encode(bytes: &[u8]) -> String {
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            for nibble in [b >> 4, b & 0xf] {
                s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        s
    }

    /// Decodes hex, ignoring ASCII white space, `:` separators and an optional `0x` prefix.
    /// The error is the byte offset in `text` of the first character that is not a hex digit
    /// (or the text length when the digit count is odd).
    pub fn decode(text: &str) -> Result<Vec<u8>, usize> {
        let text_body = text.strip_prefix("0x").unwrap_or(text);
        let skip = text.len() - text_body.len();
        let mut out = Vec::with_capacity(text_body.len() / 2);
        let mut high: Option<u8> = None;
        for (i, c) in text_body.char_indices() {
            if c.is_ascii_whitespace() || c == ':' {
                continue;
            }
            let v = c.to_digit(16).ok_or(i + skip)?;
            let v = u8::try_from(v).map_err(|_| i + skip)?;
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        match high {
            None => Ok(out),
            Some(_) => Err(text.len()),
        }
    }

    /// Serde adapter: `Vec<u8>` as a hex string.
    #[cfg(feature = "serde")]
    pub mod serde_bytes {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes bytes as lower-case hex.
        pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&super::encode(bytes))
        }

        /// Deserializes bytes from hex.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let text = String::deserialize(d)?;
            super::decode(&text).map_err(|at| serde::de::Error::custom(format!("bad hex at character {at}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_absolute_offsets_and_never_overreads() {
        let data = [1u8, 2, 3, 4, 5];
        let mut r = Reader::new(&data, 19);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.offset(), 20);
        let mut sub = r.sub(2).unwrap();
        assert_eq!(sub.offset(), 20);
        assert_eq!(sub.u16(), Some(0x0203));
        assert_eq!(sub.u8(), None);
        assert_eq!(r.u32(), None);
        assert_eq!(r.take(usize::MAX), None);
        assert_eq!(r.take_rest(), &[4, 5]);
        assert!(r.is_empty());
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(hex::decode("0x00ff 10:ab").unwrap(), vec![0, 0xff, 0x10, 0xab]);
        assert_eq!(hex::encode(&[0, 0xff, 0x10]), "00ff10");
        assert_eq!(hex::decode("0g"), Err(1));
        assert_eq!(hex::decode("abc"), Err(3));
    }

    #[test]
    fn patch_refuses_values_that_do_not_fit() {
        let mut buf = [0u8; 3];
        assert_eq!(patch_u16(&mut buf, 1, 65536), None);
        assert_eq!(patch_u16(&mut buf, 2, 1), None);
        assert_eq!(patch_u16(&mut buf, 1, 0x0102), Some(()));
        assert_eq!(buf, [0, 1, 2]);
        assert_eq!(patch_u8(&mut buf, 0, 256), None);
    }
}
