//! HTTP/1.1 request reading: head (httparse), Content-Length and chunked bodies.
//!
//! The head is parsed in place; header and path positions are kept as offsets into the
//! connection's read buffer so that reading the body (which may grow the buffer) needs no copy.

use std::{io, ops::Range};

use monoio::{
    buf::{IoBufMut, SliceMut},
    io::AsyncReadRent,
    net::TcpStream,
};

/// Largest request head accepted (request line plus headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 128;

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The peer closed the connection between requests.
    #[error("connection closed")]
    Closed,
    /// The peer closed the connection in the middle of a request.
    #[error("connection closed mid-request")]
    Truncated,
    /// A socket error.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// httparse rejected the head.
    #[error("malformed request head: {0}")]
    Head(httparse::Error),
    /// The head exceeds [`MAX_HEAD`] or has too many header lines.
    #[error("request head too large")]
    HeadTooLarge,
    /// Content-Length is not a number or is repeated with different values.
    #[error("invalid content-length")]
    BadLength,
    /// A transfer-coding other than chunked, or both Content-Length and chunked.
    #[error("unsupported transfer-encoding")]
    BadEncoding,
    /// The chunked framing is broken.
    #[error("malformed chunked body")]
    BadChunk,
    /// The body exceeds [`MAX_BODY`].
    #[error("request body too large")]
    BodyTooLarge,
}

impl RequestError {
    /// The status to answer with before closing, if the peer is still there to read it.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Closed | Self::Truncated | Self::Io(_) => None,
            Self::Head(_) | Self::BadLength | Self::BadChunk => Some(400),
            Self::HeadTooLarge => Some(431),
            Self::BadEncoding => Some(501),
            Self::BodyTooLarge => Some(413),
        }
    }
}

/// Request method, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// GET
    #[default]
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// Anything else.
    Other,
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// No body.
    #[default]
    Empty,
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; positions are offsets into the read buffer it was parsed from.
#[derive(Debug, Default)]
pub struct Head {
    /// The method.
    pub method: Method,
    method_pos: Range<usize>,
    target_pos: Range<usize>,
    headers: Vec<(Range<usize>, Range<usize>)>,
    /// Bytes of the head, including the blank line.
    pub len: usize,
    /// Whether the connection may be reused after this request.
    pub keep_alive: bool,
    /// Body framing.
    pub framing: Framing,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

impl Head {
    /// The method as sent.
    pub fn method_str<'b>(&self, buf: &'b [u8]) -> &'b str {
        std::str::from_utf8(&buf[self.method_pos.clone()]).unwrap_or("")
    }

    /// The request target as sent (path and query).
    pub fn target<'b>(&self, buf: &'b [u8]) -> &'b str {
        std::str::from_utf8(&buf[self.target_pos.clone()]).unwrap_or("")
    }

    /// Header lines in order, with names in their original case.
    pub fn headers<'s, 'b: 's>(
        &'s self,
        buf: &'b [u8],
    ) -> impl Iterator<Item = (&'b str, &'b [u8])> + 's {
        self.headers.iter().map(move |(n, v)| {
            (
                std::str::from_utf8(&buf[n.clone()]).unwrap_or(""),
                &buf[v.clone()],
            )
        })
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| buf[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &buf[v.clone()])
    }
}

/// Parses a complete head at the start of `buf` into `head`; `Ok(false)` means more bytes are
/// needed.
pub fn parse_head(buf: &[u8], head: &mut Head) -> Result<bool, RequestError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEAD {
                Err(RequestError::HeadTooLarge)
            } else {
                Ok(false)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadTooLarge),
        Err(e) => return Err(RequestError::Head(e)),
    };
    if len > MAX_HEAD {
        return Err(RequestError::HeadTooLarge);
    }
    let base = buf.as_ptr() as usize;
    let pos = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    let method = req.method.unwrap_or("");
    let target = req.path.unwrap_or("");
    head.method = match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        _ => Method::Other,
    };
    head.method_pos = pos(method.as_bytes());
    head.target_pos = pos(target.as_bytes());
    head.len = len;
    head.expect_continue = false;
    head.headers.clear();
    let http11 = req.version == Some(1);
    let (mut close, mut keep) = (false, false);
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for h in req.headers.iter() {
        head.headers.push((pos(h.name.as_bytes()), pos(h.value)));
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or(RequestError::BadLength)?;
            if length.is_some_and(|prev| prev != n) {
                return Err(RequestError::BadLength);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
            if !last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(RequestError::BadEncoding);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue = h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.keep_alive = if http11 { !close } else { keep && !close };
    head.framing = match (chunked, length) {
        (true, Some(_)) => return Err(RequestError::BadEncoding),
        (true, None) => Framing::Chunked,
        (false, Some(n)) if n > MAX_BODY => return Err(RequestError::BodyTooLarge),
        (false, Some(0)) | (false, None) => Framing::Empty,
        (false, Some(n)) => Framing::Length(n),
    };
    Ok(true)
}

/// Incremental decoder for a chunked body sitting in a read buffer.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    /// Next unparsed byte in the buffer.
    pos: usize,
    state: ChunkState,
}

#[derive(Debug, Default, Clone, Copy)]
enum ChunkState {
    #[default]
    Size,
    Data(usize),
    DataEnd,
    Trailers,
    Done,
}

impl ChunkedDecoder {
    /// A decoder for a body that starts at `start` in the buffer.
    pub fn new(start: usize) -> Self {
        Self {
            pos: start,
            state: ChunkState::Size,
        }
    }

    /// Decodes what `buf` holds into `out`; returns the end offset of the body once complete.
    pub fn decode(&mut self, buf: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, RequestError> {
        loop {
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(&buf[self.pos..]) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        self.pos += n;
                        let size = usize::try_from(size).map_err(|_| RequestError::BodyTooLarge)?;
                        if out.len().saturating_add(size) > MAX_BODY {
                            return Err(RequestError::BodyTooLarge);
                        }
                        self.state = if size == 0 {
                            ChunkState::Trailers
                        } else {
                            ChunkState::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => {
                        return if buf.len() - self.pos > 1024 {
                            Err(RequestError::BadChunk)
                        } else {
                            Ok(None)
                        };
                    }
                    Err(_) => return Err(RequestError::BadChunk),
                },
                ChunkState::Data(left) => {
                    let take = left.min(buf.len() - self.pos);
                    out.extend_from_slice(&buf[self.pos..self.pos + take]);
                    self.pos += take;
                    if take < left {
                        self.state = ChunkState::Data(left - take);
                        return Ok(None);
                    }
                    self.state = ChunkState::DataEnd;
                }
                ChunkState::DataEnd => {
                    if buf.len() - self.pos < 2 {
                        return Ok(None);
                    }
                    if &buf[self.pos..self.pos + 2] != b"\r\n" {
                        return Err(RequestError::BadChunk);
                    }
                    self.pos += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let rest = &buf[self.pos..];
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return if rest.len() > MAX_HEAD {
                            Err(RequestError::HeadTooLarge)
                        } else {
                            Ok(None)
                        };
                    };
                    self.pos += eol + 2;
                    if eol == 0 {
                        self.state = ChunkState::Done;
                    }
                }
                ChunkState::Done => return Ok(Some(self.pos)),
            }
        }
    }
}

/// Where a request body is, once read.
#[derive(Debug, Clone)]
pub enum BodyLoc {
    /// A slice of the read buffer (Content-Length bodies: no copy).
    InBuf(Range<usize>),
    /// The decoded-body buffer (chunked bodies).
    Decoded,
}

/// Reads more bytes from `io` into the spare capacity of `buf`; returns how many (0 at EOF).
pub async fn fill(io: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(16 * 1024);
    }
    let len = buf.len();
    let owned = std::mem::take(buf);
    let (res, slice): (io::Result<usize>, SliceMut<Vec<u8>>) =
        io.read(owned.slice_mut(len..)).await;
    *buf = slice.into_inner();
    res
}

/// Reads until `buf` starts with a complete head, parsed into `head`.
pub async fn read_head(
    io: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: &mut Head,
) -> Result<(), RequestError> {
    loop {
        if !buf.is_empty() && parse_head(buf, head)? {
            return Ok(());
        }
        if fill(io, buf).await? == 0 {
            return Err(if buf.is_empty() {
                RequestError::Closed
            } else {
                RequestError::Truncated
            });
        }
    }
}

/// Reads the body announced by `head`; returns where it is and how many buffer bytes the whole
/// request used.
pub async fn read_body(
    io: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: &Head,
    decoded: &mut Vec<u8>,
) -> Result<(BodyLoc, usize), RequestError> {
    match head.framing {
        Framing::Empty => Ok((BodyLoc::InBuf(head.len..head.len), head.len)),
        Framing::Length(n) => {
            let end = head.len + n;
            if buf.capacity() < end {
                buf.reserve(end - buf.len());
            }
            while buf.len() < end {
                if fill(io, buf).await? == 0 {
                    return Err(RequestError::Truncated);
                }
            }
            Ok((BodyLoc::InBuf(head.len..end), end))
        }
        Framing::Chunked => {
            decoded.clear();
            let mut decoder = ChunkedDecoder::new(head.len);
            loop {
                if let Some(end) = decoder.decode(buf, decoded)? {
                    return Ok((BodyLoc::Decoded, end));
                }
                if fill(io, buf).await? == 0 {
                    return Err(RequestError::Truncated);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &[u8]) -> Head {
        let mut head = Head::default();
        assert!(parse_head(raw, &mut head).expect("parses"));
        head
    }

    #[test]
    fn head_positions_and_headers_keep_original_case() {
        let raw = b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nX-Custom-Thing: V\r\nContent-Length: 5\r\n\r\nhello";
        let head = parsed(raw);
        assert_eq!(head.method, Method::Post);
        assert_eq!(head.method_str(raw), "POST");
        assert_eq!(head.target(raw), "/v1/chat/completions?x=1");
        assert_eq!(head.framing, Framing::Length(5));
        assert_eq!(&raw[head.len..], b"hello");
        assert!(head.keep_alive);
        let names: Vec<&str> = head.headers(raw).map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "X-Custom-Thing", "Content-Length"]);
        assert_eq!(head.header(raw, "x-custom-thing"), Some(&b"V"[..]));
    }

    #[test]
    fn partial_head_asks_for_more() {
        let mut head = Head::default();
        assert!(!parse_head(b"GET / HTTP/1.1\r\nHost:", &mut head).expect("partial"));
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!parsed(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!parsed(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(parsed(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn framing_errors() {
        let mut head = Head::default();
        let both = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            parse_head(both, &mut head),
            Err(RequestError::BadEncoding)
        ));
        let bad = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n";
        assert!(matches!(
            parse_head(bad, &mut head),
            Err(RequestError::BadLength)
        ));
        let gzip = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert!(matches!(
            parse_head(gzip, &mut head),
            Err(RequestError::BadEncoding)
        ));
    }

    #[test]
    fn chunked_decoding_is_resumable_byte_by_byte() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut out = Vec::new();
        let mut dec = ChunkedDecoder::new(0);
        let mut end = None;
        for n in 1..=wire.len() {
            if let Some(e) = dec.decode(&wire[..n], &mut out).expect("valid") {
                end = Some(e);
                break;
            }
        }
        assert_eq!(out, b"hello, world");
        assert_eq!(end, Some(wire.len() - 4));
    }

    #[test]
    fn chunked_rejects_missing_crlf() {
        let mut dec = ChunkedDecoder::new(0);
        let mut out = Vec::new();
        assert!(dec.decode(b"2\r\nabXX", &mut out).is_err());
    }
}
