//! Incremental SSE framing: raw bytes in, complete raw events out.

use bytes::{Bytes, BytesMut};
use memchr::memchr2;

/// Default cap on a single event (8 MiB): larger ones mean a broken or hostile upstream.
pub const MAX_EVENT_BYTES: usize = 8 << 20;

/// Initial buffer size: a typical chat-completion chunk event is a few hundred bytes.
const INITIAL_CAPACITY: usize = 8 << 10;

/// Why an SSE stream could not be framed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// One event grew past the limit without its terminating blank line.
    #[error("SSE event larger than {limit} bytes")]
    EventTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// Splits a byte stream into SSE events, each ending with its blank line (LF, CRLF or CR).
///
/// Chunk boundaries may fall anywhere, including between the CR and LF of a CRLF. Already scanned
/// bytes are never rescanned, so framing is linear in the stream length.
#[derive(Debug)]
pub struct SseFramer {
    buf: BytesMut,
    /// Start of the line being scanned; lines before it belong to the current event.
    line_start: usize,
    /// Where the search for the next line ending resumes.
    scan_from: usize,
    max_event: usize,
}

impl Default for SseFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl SseFramer {
    /// A framer with the default [`MAX_EVENT_BYTES`] cap.
    pub fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    /// A framer that rejects events larger than `max_event` bytes.
    pub fn with_limit(max_event: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(INITIAL_CAPACITY),
            line_start: 0,
            scan_from: 0,
            max_event,
        }
    }

    /// Appends bytes received from upstream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes buffered and not yet returned as events.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete event, including its terminating blank line, or `Ok(None)` when more
    /// bytes are needed. Errors once the incomplete event exceeds the size limit.
    pub fn next_event(&mut self) -> Result<Option<Bytes>, SseError> {
        loop {
            let rest = self.buf.get(self.scan_from..).unwrap_or_default();
            // A line end right here (the blank line after `data: ...\n`, every event has one)
            // needs no search: a vector search per line costs more than the line's bytes.
            let off = match rest.first() {
                Some(b'\n' | b'\r') => 0,
                _ => match memchr2(b'\n', b'\r', rest) {
                    Some(off) => off,
                    None => {
                        self.scan_from = self.buf.len();
                        return self.need_more();
                    }
                },
            };
            let end = self.scan_from + off;
            let ending_len = match (self.buf[end], self.buf.get(end + 1)) {
                (b'\n', _) => 1,
                (_, Some(b'\n')) => 2,
                (_, Some(_)) => 1,
                // A CR at the end: wait for the next byte, which may be the LF of a CRLF.
                (_, None) => {
                    self.scan_from = end;
                    return self.need_more();
                }
            };
            let next_line = end + ending_len;
            if end == self.line_start {
                // An empty line: the event ends here.
                self.line_start = 0;
                self.scan_from = 0;
                return Ok(Some(self.buf.split_to(next_line).freeze()));
            }
            self.line_start = next_line;
            self.scan_from = next_line;
        }
    }

    /// Everything buffered that does not form a complete event (at the end of the stream).
    pub fn take_rest(&mut self) -> Option<Bytes> {
        self.line_start = 0;
        self.scan_from = 0;
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }

    /// `Ok(None)`, unless the incomplete event is already over the limit.
    fn need_more(&self) -> Result<Option<Bytes>, SseError> {
        if self.buf.len() > self.max_event {
            return Err(SseError::EventTooLarge {
                limit: self.max_event,
            });
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` pushed in the given pieces; returns the events and the rest.
    fn frame(pieces: &[&[u8]]) -> (Vec<Bytes>, Option<Bytes>) {
        let mut f = SseFramer::new();
        let mut events = Vec::new();
        for p in pieces {
            f.push(p);
            while let Some(e) = f.next_event().expect("within limit") {
                events.push(e);
            }
        }
        (events, f.take_rest())
    }

    const STREAM: &[u8] =
        b": comment\n\ndata: {\"a\":1}\n\nevent: delta\r\ndata: x\r\ndata: y\r\n\r\n\
id: 7\rdata: cr\r\rdata: mixed\r\n\ndata: [DONE]\n\npartial";

    fn expected() -> Vec<&'static [u8]> {
        vec![
            b": comment\n\n",
            b"data: {\"a\":1}\n\n",
            b"event: delta\r\ndata: x\r\ndata: y\r\n\r\n",
            b"id: 7\rdata: cr\r\r",
            b"data: mixed\r\n\n",
            b"data: [DONE]\n\n",
        ]
    }

    #[test]
    fn whole_stream() {
        let (events, rest) = frame(&[STREAM]);
        assert_eq!(events, expected());
        assert_eq!(rest.as_deref(), Some(&b"partial"[..]));
    }

    #[test]
    fn every_split_point() {
        for at in 0..=STREAM.len() {
            let (events, rest) = frame(&[&STREAM[..at], &STREAM[at..]]);
            assert_eq!(events, expected(), "split at {at}");
            assert_eq!(rest.as_deref(), Some(&b"partial"[..]), "split at {at}");
        }
    }

    #[test]
    fn every_pair_of_split_points_and_byte_by_byte() {
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                let (events, rest) = frame(&[&STREAM[..a], &STREAM[a..b], &STREAM[b..]]);
                assert_eq!(events, expected(), "splits at {a},{b}");
                assert_eq!(rest.as_deref(), Some(&b"partial"[..]));
            }
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(frame(&bytes).0, expected());
    }

    #[test]
    fn crlf_split_between_cr_and_lf_is_not_a_blank_line() {
        // "data: a\r" + "\n" must not be read as CR line end followed by an empty LF line.
        let (events, rest) = frame(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, [&b"data: a\r\ndata: b\r\n\r\n"[..]]);
        assert_eq!(rest, None);
        // A trailing CR stays buffered until the next byte decides.
        let mut f = SseFramer::new();
        f.push(b"data: a\n\r");
        assert_eq!(f.next_event(), Ok(None));
        f.push(b"x");
        assert_eq!(f.next_event(), Ok(Some(Bytes::from_static(b"data: a\n\r"))));
        assert_eq!(f.take_rest(), Some(Bytes::from_static(b"x")));
    }

    #[test]
    fn concatenation_is_the_input_for_random_splits() {
        let mut rng = fastrand::Rng::with_seed(3);
        let alphabet = b"data: x\r\n";
        for _ in 0..2000 {
            let input: Vec<u8> = (0..rng.usize(0..80))
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let mut pieces = Vec::new();
            let mut i = 0;
            while i < input.len() {
                let n = rng.usize(1..=8).min(input.len() - i);
                pieces.push(&input[i..i + n]);
                i += n;
            }
            let (events, rest) = frame(&pieces);
            let mut joined: Vec<u8> = events.concat();
            joined.extend_from_slice(rest.as_deref().unwrap_or_default());
            assert_eq!(joined, input);
            // The same events come out when the input arrives in one piece.
            assert_eq!(frame(&[&input]).0, events);
            for e in &events {
                // Each event ends with an empty line: a line ending preceded by a line ending
                // (or by nothing, for a lone blank line).
                let body = strip_ending(e).unwrap_or_else(|| panic!("{e:?} has no line ending"));
                assert!(body.is_empty() || strip_ending(body).is_some(), "{e:?}");
            }
        }
    }

    /// `line` without its final CRLF, LF or CR.
    fn strip_ending(line: &[u8]) -> Option<&[u8]> {
        line.strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .or_else(|| line.strip_suffix(b"\r"))
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut f = SseFramer::with_limit(16);
        f.push(b"data: 0123456789");
        assert_eq!(f.next_event(), Ok(None));
        f.push(b"abc");
        assert_eq!(f.next_event(), Err(SseError::EventTooLarge { limit: 16 }));
        // Many small complete events in one big push are fine.
        let mut f = SseFramer::with_limit(16);
        f.push(&b"data: 1\n\n".repeat(100));
        let mut n = 0;
        while f.next_event().expect("small events").is_some() {
            n += 1;
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn events_are_split_without_copying() {
        let mut f = SseFramer::new();
        f.push(b"data: a\n\ndata: b\n\n");
        let a = f.next_event().expect("ok").expect("event");
        let b = f.next_event().expect("ok").expect("event");
        // Both events are views into one allocation, back to back.
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
    }

    #[test]
    fn long_line_in_small_chunks_is_linear() {
        let mut f = SseFramer::new();
        f.push(b"data: ");
        for _ in 0..50_000 {
            f.push(&[b'x'; 64]);
            assert_eq!(f.next_event(), Ok(None));
        }
        f.push(b"\n\n");
        let e = f.next_event().expect("ok").expect("event");
        assert_eq!(e.len(), 6 + 50_000 * 64 + 2);
    }
}
