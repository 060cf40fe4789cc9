//! The request the gateway sends, and its encoding as an HTTP/1.1 head.

use bytes::Bytes;

use super::error::UpstreamError;
use super::target::Target;

/// Bodies up to this size are copied after the head and sent in one write; larger ones are
/// written from their own buffer (two writes, no copy).
pub(crate) const INLINE_BODY_MAX: usize = 16 * 1024;

/// Caller headers the client writes itself or that are hop-by-hop; they are never forwarded.
const OWN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// The body of a bodiless request, for [`Request::body`].
pub static NO_BODY: Bytes = Bytes::new();

/// One upstream request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Method, e.g. `POST`.
    pub method: &'a str,
    /// Origin-form path and query, e.g. `/v1/chat/completions`.
    pub path: &'a str,
    /// Headers to send (besides `Host`, `Content-Length` and `Connection`, which the client adds).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (may be empty). Borrowed: a small body is copied behind the head, and only a
    /// large one is cloned (a reference count) to be written from its own buffer.
    pub body: &'a Bytes,
}

impl Request<'_> {
    /// True when the response to this request has no body whatever its headers say.
    pub(crate) fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }
}

/// Encodes the request line and headers; appends the body too when it is small.
///
/// Returns the bytes to write first and whether the body still has to be written after them.
/// A `Vec` rather than `Bytes`: it is written as it is, and freezing a buffer with spare room
/// would allocate.
pub(crate) fn encode(target: &Target, req: &Request<'_>) -> Result<(Vec<u8>, bool), UpstreamError> {
    let bad = |why: String| UpstreamError::InvalidRequest(why);
    if req.method.is_empty() || !req.method.bytes().all(is_token) {
        return Err(bad(format!("invalid method {:?}", req.method)));
    }
    let path = if req.path.is_empty() { "/" } else { req.path };
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(format!("invalid path {path:?}")));
    }
    let body_len = req.body.len();
    let inline = body_len <= INLINE_BODY_MAX;
    let mut head_len = req.method.len() + path.len() + target.host.len() + 96;
    for (n, v) in req.headers {
        head_len += n.len() + v.len() + 4;
    }
    let mut out = Vec::with_capacity(head_len + if inline { body_len } else { 0 });
    out.extend_from_slice(req.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(target.authority().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in req.headers {
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(bad(format!("invalid header name {name:?}")));
        }
        // A plain loop: header values are short, and a `memchr3` call costs more to set up.
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(bad(format!(
                "header {name} has a CR, LF or NUL in its value"
            )));
        }
        if is_own_header(name) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if body_len > 0 || !matches!(req.method, "GET" | "HEAD" | "DELETE" | "OPTIONS") {
        out.extend_from_slice(b"Content-Length: ");
        crate::http::put_decimal(&mut out, body_len as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: keep-alive\r\n\r\n");
    if inline {
        out.extend_from_slice(req.body);
    }
    Ok((out, !inline))
}

/// Whether `name` is one of [`OWN_HEADERS`]; most names are ruled out by their length alone.
fn is_own_header(name: &str) -> bool {
    matches!(name.len(), 2 | 4 | 7 | 10 | 14 | 16 | 17)
        && OWN_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// RFC 9110 `tchar`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// [`is_tchar`] as a table: every byte of every header name is checked on every request.
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = is_tchar(b as u8);
        b += 1;
    }
    t
};

/// Whether `b` is an RFC 9110 `tchar`.
#[inline]
fn is_token(b: u8) -> bool {
    TCHAR[b as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::ProxyRoute;

    fn target(url: &str) -> Target {
        Target::parse(url, ProxyRoute::Direct).expect("valid").0
    }

    #[test]
    fn own_headers_are_recognised_by_length_then_name() {
        for h in OWN_HEADERS {
            assert!(is_own_header(h), "{h}");
            assert!(is_own_header(&h.to_ascii_uppercase()), "{h}");
        }
        for h in ["authorization", "content-type", "x-api-key", "tee", "hos"] {
            assert!(!is_own_header(h), "{h}");
        }
    }

    #[test]
    fn small_body_is_inlined() {
        let req = Request {
            method: "POST",
            path: "/v1/chat/completions",
            headers: &[
                ("Authorization", "Bearer k"),
                ("content-type", "application/json"),
            ],
            body: &Bytes::from_static(b"{}"),
        };
        let (head, body_after) = encode(&target("https://api.openai.com"), &req).expect("ok");
        assert!(!body_after);
        assert_eq!(
            &head[..],
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer k\r\ncontent-type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
        );
    }

    #[test]
    fn large_body_is_not_copied() {
        let body = Bytes::from(vec![b'x'; INLINE_BODY_MAX + 1]);
        let req = Request {
            method: "POST",
            path: "/",
            headers: &[],
            body: &body,
        };
        let (head, body_after) = encode(&target("http://h:8080"), &req).expect("ok");
        assert!(body_after);
        assert!(head.ends_with(b"Content-Length: 16385\r\nConnection: keep-alive\r\n\r\n"));
        assert!(head.starts_with(b"POST / HTTP/1.1\r\nHost: h:8080\r\n"));
    }

    #[test]
    fn own_and_hop_headers_are_not_forwarded() {
        let req = Request {
            method: "GET",
            path: "",
            headers: &[
                ("Host", "evil"),
                ("Content-Length", "9"),
                ("Connection", "close"),
                ("X-A", "1"),
            ],
            body: &Bytes::new(),
        };
        let (head, _) = encode(&target("http://h"), &req).expect("ok");
        assert_eq!(
            &head[..],
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn injection_is_rejected() {
        let t = target("http://h");
        let mk = |method, path, headers| Request {
            method,
            path,
            headers,
            body: &NO_BODY,
        };
        assert!(encode(&t, &mk("GET", "/a b", &[])).is_err());
        assert!(encode(&t, &mk("GET", "x", &[])).is_err());
        assert!(encode(&t, &mk("G T", "/", &[])).is_err());
        assert!(encode(&t, &mk("GET", "/", &[("X", "a\r\nEvil: 1")])).is_err());
        assert!(encode(&t, &mk("GET", "/", &[("X:Y", "a")])).is_err());
        assert!(encode(&t, &mk("GET", "/", &[("", "a")])).is_err());
    }
}
