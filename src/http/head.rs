//! Request-head parsing for the server side, over `httparse`, with request-smuggling hygiene.
//!
//! Framing is decided here once: a request either has a valid `Content-Length`, or is
//! `Transfer-Encoding: chunked` (HTTP/1.1 only), or has no body. Every ambiguous combination that
//! two hops could read differently is rejected rather than guessed at.

use std::mem::MaybeUninit;

/// Header slots kept on the stack; larger `max_headers` limits fall back to the heap.
const STACK_HEADERS: usize = 128;

/// The request method; `Copy`, so routing can match on it by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// Any other (syntactically valid) method token.
    Other,
}

impl Method {
    /// Maps a method token; methods are case-sensitive (RFC 9110 §9.1).
    pub fn from_token(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }

    /// The method token (`OTHER` for tokens not mapped).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other => "OTHER",
        }
    }
}

/// Limits applied while reading a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Largest head accepted, request line and final blank line included.
    pub max_head_bytes: usize,
    /// Most header fields accepted.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 << 10,
            max_headers: 100,
        }
    }
}

/// Why a request head was rejected.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// Not a valid HTTP/1.x request head.
    #[error("{0}")]
    Malformed(httparse::Error),
    /// The head is longer than `max_head_bytes`.
    #[error("request head too large")]
    TooLarge,
    /// More than `max_headers` header fields.
    #[error("too many headers")]
    TooManyHeaders,
    /// `Content-Length` is not a non-negative decimal integer that fits in 64 bits.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Several `Content-Length` values that disagree.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`.
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// A `Transfer-Encoding` other than exactly `chunked`.
    #[error("unsupported Transfer-Encoding")]
    UnsupportedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request, whose framing is then unreliable (RFC 9112 §6.1).
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
}

impl HeadError {
    /// The status to answer with before closing the connection.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge | Self::TooManyHeaders => 431,
            Self::UnsupportedTransferEncoding => 501,
            _ => 400,
        }
    }
}

/// Header fields in arrival order, stored in one buffer (names keep their original case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    /// For each field: name start, name end (= value start), value end, in `text`.
    spans: Vec<(u32, u32, u32)>,
}

impl Headers {
    /// Number of header fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there are no header fields.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// All `(name, value)` pairs in arrival order.
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter {
            text: &self.text,
            spans: self.spans.iter(),
        }
    }

    /// The first value of the field `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| super::same_name(n, name))
            .map(|(_, v)| v)
    }

    /// Every value of the field `name` (case-insensitive), in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.iter()
            .filter(move |(n, _)| super::same_name(n, name))
            .map(|(_, v)| v)
    }

    /// A header list with `pairs`, in order (a plugin's edited request headers).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut h = Headers::default();
        for (n, v) in pairs {
            h.push(n, v.as_bytes());
        }
        h
    }

    /// An empty list with room for `fields` fields of `text` bytes in all.
    pub(crate) fn with_capacity(text: usize, fields: usize) -> Self {
        Headers {
            text: String::with_capacity(text),
            spans: Vec::with_capacity(fields),
        }
    }

    /// Appends a field (values that are not UTF-8 are converted lossily; obs-text is opaque).
    pub(crate) fn push(&mut self, name: &str, value: &[u8]) {
        let a = self.text.len();
        self.text.push_str(name);
        let b = self.text.len();
        if value.is_ascii() {
            // SAFETY: ASCII is UTF-8. (The common case, checked a word at a time.)
            self.text
                .push_str(unsafe { std::str::from_utf8_unchecked(value) });
        } else {
            match std::str::from_utf8(value) {
                Ok(v) => self.text.push_str(v),
                Err(_) => self.text.push_str(&String::from_utf8_lossy(value)),
            }
        }
        let c = self.text.len();
        // The head is bounded by max_head_bytes; saturate rather than wrap if someone sets 4 GiB.
        let to32 = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        self.spans.push((to32(a), to32(b), to32(c)));
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over the `(name, value)` pairs of [`Headers`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, (u32, u32, u32)>,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let &(a, b, c) = self.spans.next()?;
        let (a, b, c) = (a as usize, b as usize, c as usize);
        Some((self.text.get(a..b)?, self.text.get(b..c)?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

/// A parsed request head, with its body framing decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target up to `?` (not percent-decoded).
    pub path: String,
    /// The request target after `?`, if there was one.
    pub query: Option<String>,
    /// Minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields.
    pub headers: Headers,
    /// Body length from `Content-Length`.
    pub content_length: Option<u64>,
    /// The body is `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// The connection may serve another request after this one.
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` (HTTP/1.1 only) and waits before sending the body.
    pub expect_continue: bool,
}

impl RequestHead {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// True if the request has a body to read (chunked, or a non-zero `Content-Length`).
    pub fn has_body(&self) -> bool {
        self.chunked || self.content_length.is_some_and(|n| n > 0)
    }
}

/// Parses a request head from the front of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((head, len)))` gives the head and its length
/// in bytes (the body, if any, starts at `buf[len..]`). Leading empty lines are skipped, as
/// RFC 9112 §2.2 allows.
pub fn parse_request_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, HeadError> {
    // Parsing at most max_head_bytes makes an oversized head show up as an incomplete one.
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [const { MaybeUninit::uninit() }; STACK_HEADERS];
        parse_into(window, buf.len(), limits, &mut slots[..limits.max_headers])
    } else {
        let mut slots = Vec::with_capacity(limits.max_headers);
        slots.resize_with(limits.max_headers, MaybeUninit::uninit);
        parse_into(window, buf.len(), limits, &mut slots)
    }
}

/// [`parse_request_head`] with the header slots provided.
fn parse_into<'b>(
    window: &'b [u8],
    available: usize,
    limits: &HeadLimits,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(window, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if available >= limits.max_head_bytes => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(e) => return Err(HeadError::Malformed(e)),
    };
    // httparse fills these on a complete parse; a missing one would be a parser bug.
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed(httparse::Error::Token));
    };

    let mut headers = Headers::with_capacity(len, req.headers.len());
    let mut framing = Framing::default();
    for h in req.headers.iter() {
        framing.observe(h.name, h.value)?;
        headers.push(h.name, h.value);
    }

    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let head = RequestHead {
        method: Method::from_token(method),
        path,
        query,
        version,
        headers,
        content_length: framing.content_length,
        chunked: framing.finish(version)?,
        // HTTP/1.1 is persistent unless told otherwise; HTTP/1.0 only if asked (RFC 9112 §9.3).
        keep_alive: !framing.conn_close && (version == 1 || framing.conn_keep_alive),
        expect_continue: version == 1 && framing.expect_continue,
    };
    Ok(Some((head, len)))
}

/// What the framing-relevant headers said, gathered over all fields.
#[derive(Debug, Default)]
struct Framing {
    content_length: Option<u64>,
    /// Every `Transfer-Encoding` field seen, in order, as coding tokens.
    transfer_codings: Vec<String>,
    has_transfer_encoding: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    expect_continue: bool,
}

impl Framing {
    /// Takes one header field into account.
    fn observe(&mut self, name: &str, value: &[u8]) -> Result<(), HeadError> {
        // Lengths compared first (inlined): most fields are none of these.
        let is = |known: &str| super::same_name(name, known);
        if is("content-length") {
            // A list of identical values ("5, 5") may be treated as one (RFC 9110 §8.6).
            for item in value.split(|&b| b == b',') {
                let n = parse_length(item.trim_ascii())?;
                match self.content_length {
                    Some(prev) if prev != n => return Err(HeadError::ConflictingContentLength),
                    _ => self.content_length = Some(n),
                }
            }
        } else if is("transfer-encoding") {
            self.has_transfer_encoding = true;
            for item in value.split(|&b| b == b',') {
                let token = item.trim_ascii();
                if !token.is_empty() {
                    self.transfer_codings
                        .push(String::from_utf8_lossy(token).into_owned());
                }
            }
        } else if is("connection") {
            for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                self.conn_close |= token.eq_ignore_ascii_case(b"close");
                self.conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if is("expect") {
            self.expect_continue |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    /// Checks the combination of framing headers; returns whether the body is chunked.
    fn finish(&self, version: u8) -> Result<bool, HeadError> {
        if !self.has_transfer_encoding {
            return Ok(false);
        }
        if version == 0 {
            return Err(HeadError::TransferEncodingInHttp10);
        }
        if self.content_length.is_some() {
            return Err(HeadError::ContentLengthWithTransferEncoding);
        }
        match self.transfer_codings.as_slice() {
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(true),
            _ => Err(HeadError::UnsupportedTransferEncoding),
        }
    }
}

/// Parses a Content-Length value: 1*DIGIT, fitting in a u64 (no sign, no spaces inside).
fn parse_length(digits: &[u8]) -> Result<u64, HeadError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::InvalidContentLength);
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(HeadError::InvalidContentLength)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<(RequestHead, usize)>, HeadError> {
        parse_request_head(raw.as_bytes(), &HeadLimits::default())
    }

    fn head(raw: &str) -> RequestHead {
        let (head, len) = parse(raw).expect("valid").expect("complete");
        assert_eq!(len, raw.find("\r\n\r\n").expect("test head ends") + 4);
        head
    }

    fn err(raw: &str) -> HeadError {
        parse(raw).expect_err("must be rejected")
    }

    #[test]
    fn parses_a_post() {
        let raw = "POST /v1/chat/completions?x=1&y HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n\
                   content-length: 12\r\nAuthorization: Bearer sk\r\nX-Dup: a\r\nx-dup: b\r\n\r\n{\"model\":1}";
        let (h, len) = parse(raw).expect("valid").expect("complete");
        assert_eq!(&raw[len..], "{\"model\":1}");
        assert_eq!(h.method, Method::Post);
        assert_eq!(h.path, "/v1/chat/completions");
        assert_eq!(h.query.as_deref(), Some("x=1&y"));
        assert_eq!(h.version, 1);
        assert_eq!(h.content_length, Some(12));
        assert!(!h.chunked && h.keep_alive && !h.expect_continue && h.has_body());
        assert_eq!(h.header("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(h.header("authorization"), Some("Bearer sk"));
        assert_eq!(h.header("missing"), None);
        assert_eq!(h.headers.get_all("X-DUP").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(h.headers.len(), 6);
        // Original name case and order are kept.
        let names: Vec<&str> = h.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Host",
                "Content-Type",
                "content-length",
                "Authorization",
                "X-Dup",
                "x-dup"
            ]
        );
        let via_into_iter: Vec<(&str, &str)> = (&h.headers).into_iter().collect();
        assert_eq!(via_into_iter[0], ("Host", "gw"));
    }

    #[test]
    fn methods_and_targets() {
        for (m, want) in [
            ("GET", Method::Get),
            ("HEAD", Method::Head),
            ("PUT", Method::Put),
            ("PATCH", Method::Patch),
            ("DELETE", Method::Delete),
            ("OPTIONS", Method::Options),
            ("BREW", Method::Other),
            ("get", Method::Other),
        ] {
            assert_eq!(head(&format!("{m} / HTTP/1.1\r\n\r\n")).method, want);
        }
        let h = head("GET /v1/models? HTTP/1.1\r\n\r\n");
        assert_eq!(
            (h.path.as_str(), h.query.as_deref()),
            ("/v1/models", Some(""))
        );
        let h = head("GET /a?b?c HTTP/1.1\r\n\r\n");
        assert_eq!((h.path.as_str(), h.query.as_deref()), ("/a", Some("b?c")));
        assert!(!h.has_body());
    }

    #[test]
    fn incomplete_heads_need_more() {
        let raw = "POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n";
        for end in 0..raw.len() {
            assert_eq!(parse(&raw[..end]), Ok(None), "prefix of {end} bytes");
        }
        assert!(parse(raw).expect("valid").is_some());
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let (h, len) = parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(h.method, Method::Get);
        assert_eq!(len, 22);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(head("GET / HTTP/1.1\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive);
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
                .keep_alive
        );
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn expect_continue() {
        let h = head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
        assert!(h.expect_continue);
        // HTTP/1.0 clients cannot wait for 100 Continue (RFC 9110 §10.1.1): ignored.
        assert!(
            !head("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                .expect_continue
        );
        assert!(!head("POST / HTTP/1.1\r\nExpect: something\r\n\r\n").expect_continue);
    }

    #[test]
    fn chunked_framing() {
        let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert!(h.chunked && h.has_body());
        assert_eq!(h.content_length, None);
        assert_eq!(
            err("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n"),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"),
            HeadError::UnsupportedTransferEncoding
        );
        assert_eq!(
            err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            HeadError::TransferEncodingInHttp10
        );
        assert_eq!(HeadError::UnsupportedTransferEncoding.status(), 501);
    }

    #[test]
    fn content_length_with_transfer_encoding_is_rejected() {
        for raw in [
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert_eq!(err(raw), HeadError::ContentLengthWithTransferEncoding);
        }
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").content_length,
            Some(0)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n").content_length,
            Some(u64::MAX)
        );
        // Identical duplicates, as separate fields or as a list, collapse to one value.
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n")
                .content_length,
            Some(7)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n").content_length,
            Some(7)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n").content_length,
            Some(7)
        );
        for bad in [
            "-1",
            "+5",
            "5 5",
            "0x10",
            "",
            "abc",
            "1.0",
            "18446744073709551616",
            "5,",
            ",5",
            "٣",
        ] {
            let raw = format!("POST / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(err(&raw), HeadError::InvalidContentLength, "{bad:?}");
        }
        assert_eq!(
            err("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            HeadError::ConflictingContentLength
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n"),
            HeadError::ConflictingContentLength
        );
    }

    #[test]
    fn too_large() {
        let limits = HeadLimits {
            max_head_bytes: 64,
            max_headers: 100,
        };
        let small = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(parse_request_head(small, &limits).expect("valid").is_some());
        // Incomplete and already at the limit.
        let big = format!("GET / HTTP/1.1\r\nX-Long: {}", "a".repeat(100));
        assert_eq!(
            parse_request_head(big.as_bytes(), &limits),
            Err(HeadError::TooLarge)
        );
        // Complete but longer than the limit.
        let big = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(100));
        assert_eq!(
            parse_request_head(big.as_bytes(), &limits),
            Err(HeadError::TooLarge)
        );
        // Below the limit and incomplete: wait.
        assert_eq!(
            parse_request_head(b"GET / HTTP/1.1\r\nX: 1", &limits),
            Ok(None)
        );
        // A complete head within the limit followed by a big body is fine.
        let mut with_body = small.to_vec();
        with_body.extend_from_slice(&[b'x'; 1000]);
        let (_, len) = parse_request_head(&with_body, &limits)
            .expect("valid")
            .expect("complete");
        assert_eq!(len, small.len());
        assert_eq!(HeadError::TooLarge.status(), 431);
    }

    #[test]
    fn too_many_headers() {
        let mut raw = String::from("GET / HTTP/1.1\r\n");
        for i in 0..100 {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        let at_limit = format!("{raw}\r\n");
        assert_eq!(head(&at_limit).headers.len(), 100);
        let over = format!("{raw}X-100: v\r\n\r\n");
        assert_eq!(err(&over), HeadError::TooManyHeaders);
        // Limits above the stack slots use the heap path.
        let limits = HeadLimits {
            max_head_bytes: 1 << 20,
            max_headers: 300,
        };
        let mut raw = String::from("GET / HTTP/1.1\r\n");
        for i in 0..300 {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        let ok = format!("{raw}\r\n");
        let (h, _) = parse_request_head(ok.as_bytes(), &limits)
            .expect("valid")
            .expect("complete");
        assert_eq!(h.headers.len(), 300);
        let over = format!("{raw}X: v\r\n\r\n");
        assert_eq!(
            parse_request_head(over.as_bytes(), &limits),
            Err(HeadError::TooManyHeaders)
        );
    }

    #[test]
    fn malformed_heads() {
        for raw in [
            "GET / HTTP/2.0\r\n\r\n",
            "GET /\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "G(ET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
            "GET / HTTP/1.1\r\n: empty\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert!(
                matches!(parse(raw), Err(HeadError::Malformed(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn obs_text_values_are_kept_lossily() {
        let raw = b"GET / HTTP/1.1\r\nX-Latin: caf\xe9\r\n\r\n";
        let (h, _) = parse_request_head(raw, &HeadLimits::default())
            .expect("valid")
            .expect("complete");
        assert_eq!(h.header("x-latin"), Some("caf\u{fffd}"));
    }

    #[test]
    fn pseudo_random_input_never_panics() {
        let alphabet = b"GETPOST /?:HTTP1.0\r\nContent-Length:Transfer-Encoding,chunked 7";
        let mut rng = fastrand::Rng::with_seed(11);
        let limits = HeadLimits {
            max_head_bytes: 256,
            max_headers: 8,
        };
        for _ in 0..20_000 {
            let raw: Vec<u8> = (0..rng.usize(0..200))
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            if let Ok(Some((h, len))) = parse_request_head(&raw, &limits) {
                assert!(len <= raw.len() && len <= 256);
                assert!(!(h.chunked && h.content_length.is_some()));
            }
        }
    }
}
