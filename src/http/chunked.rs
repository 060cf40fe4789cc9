//! Incremental decoder for `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1).
//!
//! Pure and I/O-free so that the server and the upstream client share it and a fuzz target can
//! drive it directly. The caller owns the input buffer: [`ChunkedDecoder::decode`] consumes framing
//! bytes from its front and hands out chunk data as zero-copy [`Bytes`] split off that buffer.
//! Anything after the final CRLF (a pipelined request, say) is left in the buffer untouched.
//!
//! Framing is parsed strictly (CRLF only, no bare LF or CR) because a lenient decoder that
//! disagrees with another hop about where a body ends is a request-smuggling vector.
//!
//! ```
//! use bytes::BytesMut;
//! use ringway::http::chunked::ChunkedDecoder;
//!
//! let mut dec = ChunkedDecoder::new();
//! let mut buf = BytesMut::from(&b"5;ext=1\r\nhello\r\n0\r\n\r\n"[..]);
//! let mut body = Vec::new();
//! while let Some(data) = dec.decode(&mut buf).expect("valid framing") {
//!     body.extend_from_slice(&data);
//! }
//! assert!(dec.is_done());
//! assert_eq!(body, b"hello");
//! ```

use bytes::{Buf, Bytes, BytesMut};

/// Longest accepted chunk-size line (size, whitespace and extensions, without the CRLF).
pub const MAX_SIZE_LINE: usize = 4096;
/// Largest accepted trailer section, in bytes (all trailer lines together).
pub const MAX_TRAILERS: usize = 16 * 1024;

/// Why a chunked body was rejected.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ChunkedError {
    /// A byte that is not allowed at this point of the framing.
    #[error("invalid chunked encoding: unexpected byte {byte:#04x} {context}")]
    Unexpected {
        /// The offending byte.
        byte: u8,
        /// Where in the framing it appeared.
        context: &'static str,
    },
    /// The chunk size does not fit in 64 bits.
    #[error("invalid chunked encoding: chunk size overflows")]
    SizeOverflow,
    /// The chunk-size line (with extensions) is longer than [`MAX_SIZE_LINE`].
    #[error("invalid chunked encoding: chunk-size line too long")]
    SizeLineTooLong,
    /// The trailer section is longer than [`MAX_TRAILERS`].
    #[error("invalid chunked encoding: trailer section too long")]
    TrailersTooLong,
}

/// Where the decoder is within the chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size; `digits` counts those seen so far.
    Size { digits: u32 },
    /// After the size digits: optional whitespace, then `;` or CRLF.
    SizeWs,
    /// Inside chunk extensions, up to the CR.
    Ext,
    /// Saw the CR ending the size line.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    FinalLf,
    /// The whole body has been decoded.
    Done,
}

/// Incremental chunked-body decoder; feed it bytes as they arrive.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the current chunk while parsing its size line, then the data bytes still to read.
    remaining: u64,
    /// Bytes of the current size line, or of the trailer section, seen so far.
    line_len: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder positioned at the start of a chunked body.
    pub const fn new() -> Self {
        Self {
            state: State::Size { digits: 0 },
            remaining: 0,
            line_len: 0,
        }
    }

    /// True once the last chunk and the trailer section have been consumed.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Consumes framing from the front of `input` and returns the next piece of chunk data.
    ///
    /// `Ok(Some(data))` is never empty. `Ok(None)` means either that `input` is exhausted and more
    /// bytes are needed, or that the body is complete ([`Self::is_done`]); bytes after the end
    /// of the body stay in `input`.
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<Bytes>, ChunkedError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                _ if input.is_empty() => return Ok(None),
                State::Data => {
                    let n = usize::try_from(self.remaining)
                        .map_or(input.len(), |rem| rem.min(input.len()));
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Some(input.split_to(n).freeze()));
                }
                _ => {
                    if let Some(used) = self.plain_frame(&input[..]) {
                        input.advance(used);
                        continue;
                    }
                    // Walk framing bytes in place, then drop them from the buffer in one go.
                    let mut used = 0;
                    let res = self.framing(&input[..], &mut used);
                    input.advance(used);
                    res?;
                }
            }
        }
    }

    /// The usual framing between two chunks, `\r\n` (after data) then `<hex size>\r\n` with a
    /// non-zero size, taken in one step; `None` (nothing consumed) for anything else, which the
    /// state machine then walks byte by byte. Streams have one chunk per event, so this runs
    /// per event.
    fn plain_frame(&mut self, input: &[u8]) -> Option<usize> {
        let start = match self.state {
            State::DataCr if input.starts_with(b"\r\n") => 2,
            State::Size { digits: 0 } => 0,
            _ => return None,
        };
        let mut size = 0u64;
        let mut i = start;
        // At most 15 digits, so the size cannot overflow.
        while let Some(v) = input.get(i).and_then(|&b| hex_value(b)) {
            if i - start == 15 {
                return None;
            }
            size = (size << 4) | u64::from(v);
            i += 1;
        }
        if i == start || size == 0 || input.get(i..i + 2) != Some(b"\r\n") {
            return None;
        }
        self.remaining = size;
        self.line_len = 0;
        self.state = State::Data;
        Some(i + 2)
    }

    /// Advances through framing bytes until chunk data starts, the body ends or `input` runs
    /// out; `used` reports how many bytes were consumed, also on error.
    fn framing(&mut self, input: &[u8], used: &mut usize) -> Result<(), ChunkedError> {
        for &b in input {
            let before = self.state;
            match before {
                State::Data | State::Done => return Ok(()),
                State::Size { digits } => match hex_value(b) {
                    Some(v) => {
                        if self.remaining > (u64::MAX >> 4) {
                            return Err(ChunkedError::SizeOverflow);
                        }
                        self.remaining = (self.remaining << 4) | u64::from(v);
                        self.state = State::Size { digits: digits + 1 };
                    }
                    None if digits == 0 => return Err(unexpected(b, "in chunk size")),
                    None => self.after_size(b)?,
                },
                State::SizeWs => self.after_size(b)?,
                State::Ext => match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\n' | 0 => return Err(unexpected(b, "in chunk extension")),
                    _ => {}
                },
                State::SizeLf => {
                    expect(b, b'\n', "ending the chunk-size line")?;
                    self.line_len = 0;
                    self.state = if self.remaining == 0 {
                        State::TrailerStart
                    } else {
                        State::Data
                    };
                }
                State::DataCr => {
                    expect(b, b'\r', "after chunk data")?;
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    expect(b, b'\n', "after chunk data")?;
                    self.state = State::Size { digits: 0 };
                    self.remaining = 0;
                    self.line_len = 0;
                }
                State::TrailerStart => match b {
                    b'\r' => self.state = State::FinalLf,
                    b'\n' | 0 => return Err(unexpected(b, "in trailer section")),
                    _ => self.state = State::Trailer,
                },
                State::Trailer => match b {
                    b'\r' => self.state = State::TrailerLf,
                    b'\n' | 0 => return Err(unexpected(b, "in trailer field")),
                    _ => {}
                },
                State::TrailerLf => {
                    expect(b, b'\n', "ending a trailer field")?;
                    self.state = State::TrailerStart;
                }
                State::FinalLf => {
                    expect(b, b'\n', "ending the chunked body")?;
                    self.state = State::Done;
                }
            }
            *used += 1;
            // Limits count the bytes of the size line (without its CRLF) and of the trailers.
            match before {
                State::Size { .. } | State::SizeWs | State::Ext if b != b'\r' => {
                    self.line_len += 1;
                    if self.line_len > MAX_SIZE_LINE {
                        return Err(ChunkedError::SizeLineTooLong);
                    }
                }
                State::TrailerStart | State::Trailer | State::TrailerLf => {
                    self.line_len += 1;
                    if self.line_len > MAX_TRAILERS {
                        return Err(ChunkedError::TrailersTooLong);
                    }
                }
                _ => {}
            }
            if matches!(self.state, State::Data | State::Done) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Handles the byte that follows the size digits (or whitespace after them).
    fn after_size(&mut self, b: u8) -> Result<(), ChunkedError> {
        match b {
            b' ' | b'\t' => self.state = State::SizeWs,
            b';' => self.state = State::Ext,
            b'\r' => self.state = State::SizeLf,
            _ => return Err(unexpected(b, "after chunk size")),
        }
        Ok(())
    }
}

/// Checks that the framing byte `b` is the `want`ed one.
const fn expect(b: u8, want: u8, context: &'static str) -> Result<(), ChunkedError> {
    if b == want {
        Ok(())
    } else {
        Err(unexpected(b, context))
    }
}

/// The value of an ASCII hex digit.
const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Builds an [`ChunkedError::Unexpected`].
const fn unexpected(byte: u8, context: &'static str) -> ChunkedError {
    ChunkedError::Unexpected { byte, context }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of at most `step` bytes; returns the body and leftovers.
    fn decode_in_steps(
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Vec<u8>, bool), ChunkedError> {
        let mut dec = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(data) = dec.decode(&mut buf)? {
                assert!(!data.is_empty(), "decoder returned an empty chunk");
                body.extend_from_slice(&data);
            }
            if dec.is_done() {
                break;
            }
        }
        Ok((body, buf.to_vec(), dec.is_done()))
    }

    /// Feeds `input` split at every possible point into two pieces.
    fn decode_split(input: &[u8], at: usize) -> Result<(Vec<u8>, Vec<u8>, bool), ChunkedError> {
        let mut dec = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        for piece in [&input[..at], &input[at..]] {
            buf.extend_from_slice(piece);
            while let Some(data) = dec.decode(&mut buf)? {
                body.extend_from_slice(&data);
            }
        }
        Ok((body, buf.to_vec(), dec.is_done()))
    }

    const SAMPLE: &[u8] =
        b"4\r\nWiki\r\n5;name=value;x=\"q\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    const SAMPLE_BODY: &[u8] = b"Wikipedia in\r\n\r\nchunks.";

    #[test]
    fn decodes_whole_input() {
        let (body, rest, done) = decode_in_steps(SAMPLE, SAMPLE.len()).expect("valid");
        assert_eq!(body, SAMPLE_BODY);
        assert!(rest.is_empty());
        assert!(done);
    }

    #[test]
    fn decodes_at_every_split_point_and_byte_by_byte() {
        for at in 0..=SAMPLE.len() {
            let (body, rest, done) = decode_split(SAMPLE, at).expect("valid");
            assert_eq!(body, SAMPLE_BODY, "split at {at}");
            assert!(rest.is_empty(), "split at {at}");
            assert!(done, "split at {at}");
        }
        for step in 1..8 {
            let (body, _, done) = decode_in_steps(SAMPLE, step).expect("valid");
            assert_eq!(body, SAMPLE_BODY, "step {step}");
            assert!(done);
        }
    }

    #[test]
    fn not_done_until_final_crlf() {
        for end in 0..SAMPLE.len() {
            let (_, _, done) = decode_split(&SAMPLE[..end], end / 2).expect("valid prefix");
            assert!(!done, "done too early at {end}");
        }
    }

    #[test]
    fn trailers_are_consumed_and_leftover_kept() {
        let input = b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: two\r\n\r\nGET / HTTP/1.1\r\n";
        for at in 0..=input.len() {
            let (body, rest, done) = decode_split(input, at).expect("valid");
            assert_eq!(body, b"abc");
            assert!(done);
            assert_eq!(rest, b"GET / HTTP/1.1\r\n", "split at {at}");
        }
    }

    #[test]
    fn size_whitespace_uppercase_and_leading_zeros() {
        let input = b"00000A \t;e\r\n0123456789\r\n0000\r\n\r\n";
        let (body, rest, done) = decode_in_steps(input, 3).expect("valid");
        assert_eq!(body, b"0123456789");
        assert!(rest.is_empty());
        assert!(done);
    }

    #[test]
    fn empty_body() {
        let (body, _, done) = decode_in_steps(b"0\r\n\r\n", 1).expect("valid");
        assert!(body.is_empty());
        assert!(done);
    }

    #[test]
    fn large_chunk_is_zero_copy_split() {
        let mut input = b"10000\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 0x10000));
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let mut buf = BytesMut::from(&input[..]);
        let mut dec = ChunkedDecoder::new();
        let data = dec.decode(&mut buf).expect("valid").expect("data");
        assert_eq!(data.len(), 0x10000);
        assert_eq!(dec.decode(&mut buf).expect("valid"), None);
        assert!(dec.is_done());
    }

    fn reject(input: &[u8]) -> ChunkedError {
        for at in 0..=input.len() {
            if let Ok((_, _, done)) = decode_split(input, at) {
                panic!("accepted {input:?} split at {at} (done={done})");
            }
        }
        decode_in_steps(input, input.len()).expect_err("must be rejected")
    }

    #[test]
    fn malformed_sizes_are_rejected() {
        assert!(matches!(reject(b"\r\n"), ChunkedError::Unexpected { .. }));
        assert!(matches!(reject(b"g\r\n"), ChunkedError::Unexpected { .. }));
        assert!(matches!(reject(b"-1\r\n"), ChunkedError::Unexpected { .. }));
        assert!(matches!(
            reject(b"0x5\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(reject(b" 5\r\n"), ChunkedError::Unexpected { .. }));
        assert!(matches!(
            reject(b"5 5\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(reject(b"5\n"), ChunkedError::Unexpected { .. }));
        assert!(matches!(reject(b"5\rX"), ChunkedError::Unexpected { .. }));
        assert_eq!(reject(b"1ffffffffffffffff\r\n"), ChunkedError::SizeOverflow);
    }

    #[test]
    fn malformed_data_terminators_are_rejected() {
        assert!(matches!(
            reject(b"3\r\nabcd\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"3\r\nabc\n0\r\n\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"3\r\nabc\r\r"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"3;a\nb\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"0\r\nX: 1\n\r\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"0\r\n\n"),
            ChunkedError::Unexpected { .. }
        ));
        assert!(matches!(
            reject(b"0\r\n\rx"),
            ChunkedError::Unexpected { .. }
        ));
    }

    #[test]
    fn size_line_limit() {
        let mut ok = b"1;".to_vec();
        ok.extend(std::iter::repeat_n(b'e', MAX_SIZE_LINE - 2));
        ok.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        let (body, _, done) = decode_in_steps(&ok, 7).expect("at the limit");
        assert_eq!(body, b"x");
        assert!(done);

        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'e', MAX_SIZE_LINE));
        long.extend_from_slice(b"\r\n");
        assert_eq!(reject(&long), ChunkedError::SizeLineTooLong);
        // Endless leading zeros hit the same limit instead of looping forever.
        assert_eq!(
            reject(&vec![b'0'; MAX_SIZE_LINE + 1]),
            ChunkedError::SizeLineTooLong
        );
    }

    #[test]
    fn trailer_limit() {
        let mut long = b"0\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_TRAILERS));
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(reject(&long), ChunkedError::TrailersTooLong);
    }

    #[test]
    fn done_decoder_ignores_further_input() {
        let mut dec = ChunkedDecoder::new();
        let mut buf = BytesMut::from(&b"0\r\n\r\nrest"[..]);
        assert_eq!(dec.decode(&mut buf).expect("valid"), None);
        assert!(dec.is_done());
        assert_eq!(dec.decode(&mut buf).expect("valid"), None);
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn pseudo_random_inputs_never_panic() {
        // A cheap stand-in for the fuzz target: random bytes drawn from the framing alphabet.
        let alphabet = b"0123456789abcdefABCDEFxz;= \t\r\n";
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..5000 {
            let len = rng.usize(0..64);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let step = rng.usize(1..8);
            let _ = decode_in_steps(&input, step);
        }
    }
}
