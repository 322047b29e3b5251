//! Splitting a byte stream into messages (RFC 4271 §4.1, §6.1).
//!
//! The only "not ready" answer is "the next message is incomplete": a bad marker, or a length
//! below 19 or above the negotiated maximum, is an error as soon as those bytes have arrived, so a
//! corrupt stream is never mistaken for a slow one.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::iana::MAX_MESSAGE_LEN;
use crate::message::Header;

/// Accumulates received bytes and hands out whole messages.
#[derive(Debug)]
pub struct Framer {
    buf: BytesMut,
    max_len: usize,
    consumed: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(MAX_MESSAGE_LEN)
    }
}

impl Framer {
    /// A framer accepting messages of up to `max_len` bytes (4096, or 65535 with RFC 8654).
    pub fn new(max_len: usize) -> Self {
        Framer { buf: BytesMut::new(), max_len, consumed: 0 }
    }

    /// Changes the size limit, once extended messages are negotiated.
    pub fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len;
    }

    /// The current size limit.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Appends received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that are not yet part of a returned message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message (marker included), `Ok(None)` if it has not fully arrived, or the
    /// header error. Error offsets count from the start of the stream.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, DecodeError> {
        let header = Header::peek(&self.buf, self.max_len).map_err(|mut e| {
            e.offset = e.offset.saturating_add(self.consumed);
            e
        })?;
        let Some(header) = header else { return Ok(None) };
        let len = usize::from(header.length);
        if self.buf.len() < len {
            return Ok(None);
        }
        self.consumed = self.consumed.saturating_add(len);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Drops everything buffered (after a session reset).
    pub fn clear(&mut self) {
        self.buf.advance(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const KEEPALIVE: [u8; 19] =
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 19, 4];

    #[test]
    fn splits_messages_across_arbitrary_chunks() {
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend_from_slice(&KEEPALIVE);
        }
        for chunk in 1..stream.len() {
            let mut f = Framer::default();
            let mut got = 0;
            for part in stream.chunks(chunk) {
                f.extend(part);
                while let Some(m) = f.next_message().unwrap() {
                    assert_eq!(&m[..], &KEEPALIVE[..]);
                    got += 1;
                }
            }
            assert_eq!(got, 3);
            assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn bad_marker_is_an_error_at_once() {
        let mut f = Framer::default();
        f.extend(&[0xff, 0xff, 0xfe]);
        let e = f.next_message().unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(e.kind, ErrorKind::ConnectionNotSynchronized);
    }

    #[test]
    fn short_or_long_length_is_an_error_before_the_body_arrives() {
        for (len, max) in [(18u16, 4096usize), (0, 4096), (4097, 4096), (65535, 4096)] {
            let mut f = Framer::new(max);
            f.extend(&KEEPALIVE[..16]);
            f.extend(&len.to_be_bytes());
            let e = f.next_message().unwrap_err();
            assert_eq!((e.offset, e.kind), (16, ErrorKind::BadMessageLength { length: len }));
        }
        let mut f = Framer::new(65535);
        f.extend(&KEEPALIVE[..16]);
        f.extend(&4097u16.to_be_bytes());
        assert_eq!(f.next_message().unwrap(), None);
    }

    #[test]
    fn error_offsets_count_from_the_stream_start() {
        let mut f = Framer::default();
        f.extend(&KEEPALIVE);
        f.extend(&[0xff, 0x00]);
        assert!(f.next_message().unwrap().is_some());
        assert_eq!(f.next_message().unwrap_err().offset, 20);
    }
}
