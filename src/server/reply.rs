//! What a handler answers, and how its head is written on the wire.

use bytes::{Bytes, BytesMut};

use crate::error::{ErrorContext, GatewayError};
use crate::http::{Append, put_decimal};
use crate::inference::stream::SseRelay;

/// A response header name: static for the ones we write, owned for forwarded ones.
pub type HeaderName = std::borrow::Cow<'static, str>;
/// A reply header's value: static for the values the gateway writes itself, owned otherwise.
pub type HeaderValue = std::borrow::Cow<'static, str>;

/// The body of a reply.
pub enum ReplyBody {
    /// A complete body, written with `Content-Length`.
    Full(Bytes),
    /// Server-sent events relayed as they arrive, written with chunked encoding.
    Stream(Box<SseRelay>),
}

/// A response to one request.
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Headers other than framing ones (`Content-Length`, `Transfer-Encoding`, `Connection`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: ReplyBody,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: ReplyBody::Full(body.into()),
        }
    }

    /// A gateway error rendered as Bifrost's error JSON (with the provider's headers, if any).
    pub fn error(err: &GatewayError, ctx: &ErrorContext) -> Self {
        let mut reply = Self::json(err.status(), err.to_bifrost(ctx));
        reply.add_provider_headers(err);
        reply
    }

    /// Passes a provider error's headers on to the client, as Bifrost does on errors too.
    pub fn add_provider_headers(&mut self, err: &GatewayError) {
        if let GatewayError::Provider(p) = err {
            self.headers.extend(
                p.headers
                    .iter()
                    .map(|(n, v)| (HeaderName::Owned(n.clone()), v.clone().into())),
            );
        }
    }

    /// An SSE stream reply.
    pub fn stream(headers: Vec<(HeaderName, HeaderValue)>, relay: SseRelay) -> Self {
        Self {
            status: 200,
            headers,
            body: ReplyBody::Stream(Box::new(relay)),
        }
    }
}

/// The canonical reason phrase for the statuses we send.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// How the body length is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Writes the status line and headers into `out`.
pub fn encode_head(
    out: &mut BytesMut,
    status: u16,
    headers: &[(HeaderName, HeaderValue)],
    framing: Framing,
    keep_alive: bool,
) {
    out.append(b"HTTP/1.1 ");
    put_decimal(out, u64::from(status));
    out.append_byte(b' ');
    out.append(reason(status).as_bytes());
    out.append(b"\r\n");
    for (name, value) in headers {
        out.append(name.as_bytes());
        out.append(b": ");
        out.append(value.as_bytes());
        out.append(b"\r\n");
    }
    match framing {
        Framing::Length(n) => {
            out.append(b"content-length: ");
            put_decimal(out, n as u64);
            out.append(b"\r\n");
        }
        Framing::Chunked => out.append(b"transfer-encoding: chunked\r\n"),
    }
    if !keep_alive {
        out.append(b"connection: close\r\n");
    }
    out.append(b"\r\n");
}

/// Frames `data` as one HTTP/1.1 chunk into `out`.
pub fn encode_chunk(out: &mut BytesMut, data: &[u8]) {
    encode_chunk_parts(out, std::slice::from_ref(&data));
}

/// Frames the concatenation of `parts` as one HTTP/1.1 chunk into `out`.
pub fn encode_chunk_parts<T: AsRef<[u8]>>(out: &mut BytesMut, parts: &[T]) {
    let len: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    out.reserve(len + 20);
    let mut hex = [0u8; 16];
    let mut n = len;
    let mut i = hex.len();
    loop {
        i -= 1;
        hex[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.append(&hex[i..]);
    out.append(b"\r\n");
    for p in parts {
        out.append(p.as_ref());
    }
    out.append(b"\r\n");
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// A small stack buffer holding the decimal digits of a number.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_with_length_and_close() {
        let mut out = BytesMut::new();
        let headers = vec![("content-type".into(), "application/json".into())];
        encode_head(&mut out, 404, &headers, Framing::Length(12), false);
        assert_eq!(
            &out[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 12\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn chunk_framing() {
        let mut out = BytesMut::new();
        encode_chunk(&mut out, &[b'x'; 26]);
        assert!(out.starts_with(b"1a\r\n"));
        assert!(out.ends_with(b"x\r\n"));
        let mut zero = BytesMut::new();
        encode_chunk(&mut zero, b"");
        assert_eq!(&zero[..], b"0\r\n\r\n");
    }
}
