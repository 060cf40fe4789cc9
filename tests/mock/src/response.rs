//! Response writing: heads, fixed-length bodies and chunked server-sent events.

use std::io;

use monoio::{io::AsyncWriteRentExt, net::TcpStream};

use crate::json_write::{push_hex, push_u64};

/// Extra response headers (from a script step), in order.
pub type ExtraHeaders = [(String, String)];

/// A connection's socket plus its reusable output buffers.
pub struct Conn {
    /// The socket.
    pub io: TcpStream,
    /// Bytes waiting to be written by [`Conn::flush`].
    pub out: Vec<u8>,
    /// Where handlers build a body or an event before it is framed into `out`.
    pub scratch: Vec<u8>,
}

impl Conn {
    /// Wraps an accepted socket.
    pub fn new(io: TcpStream) -> Self {
        Self {
            io,
            out: Vec::with_capacity(4096),
            scratch: Vec::with_capacity(4096),
        }
    }

    /// Writes everything in `out` to the socket.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.out);
        let (res, mut buf) = self.io.write_all(buf).await;
        buf.clear();
        self.out = buf;
        res.map(|_| ())
    }

    /// Sends a complete response whose body is the current `scratch`.
    pub async fn send_scratch(
        &mut self,
        status: u16,
        content_type: &str,
        close: bool,
        extra: &ExtraHeaders,
    ) -> io::Result<()> {
        write_head(
            &mut self.out,
            status,
            content_type,
            Some(self.scratch.len()),
            close,
            extra,
        );
        self.out.extend_from_slice(&self.scratch);
        self.flush().await
    }

    /// Sends a complete response with `body`.
    pub async fn send(
        &mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
        close: bool,
        extra: &ExtraHeaders,
    ) -> io::Result<()> {
        write_head(
            &mut self.out,
            status,
            content_type,
            Some(body.len()),
            close,
            extra,
        );
        self.out.extend_from_slice(body);
        self.flush().await
    }

    /// Sends the head of a chunked `text/event-stream` response.
    pub async fn start_stream(&mut self, close: bool, extra: &ExtraHeaders) -> io::Result<()> {
        write_head(&mut self.out, 200, "text/event-stream", None, close, extra);
        self.flush().await
    }

    /// Sends `data: <scratch>\n\n` as one chunk.
    pub async fn send_event(&mut self) -> io::Result<()> {
        frame_event(&mut self.out, &self.scratch);
        self.flush().await
    }

    /// Sends `data: <data>\n\n` as one chunk.
    pub async fn send_event_bytes(&mut self, data: &[u8]) -> io::Result<()> {
        frame_event(&mut self.out, data);
        self.flush().await
    }

    /// Sends the terminating zero-length chunk.
    pub async fn end_stream(&mut self) -> io::Result<()> {
        self.out.extend_from_slice(b"0\r\n\r\n");
        self.flush().await
    }
}

/// Frames one SSE event as one HTTP chunk.
fn frame_event(out: &mut Vec<u8>, data: &[u8]) {
    push_hex(out, data.len() + 8);
    out.extend_from_slice(b"\r\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n\r\n");
}

/// Appends a response head; `len: None` means chunked transfer encoding.
///
/// `extra` headers are appended as given, except framing headers (which the mock owns); an extra
/// `content-type` replaces the default one.
pub fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    len: Option<usize>,
    close: bool,
    extra: &ExtraHeaders,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    let custom_type = extra
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if !custom_type {
        out.extend_from_slice(b"\r\ncontent-type: ");
        out.extend_from_slice(content_type.as_bytes());
    }
    match len {
        Some(n) => {
            out.extend_from_slice(b"\r\ncontent-length: ");
            push_u64(out, n as u64);
        }
        None => out.extend_from_slice(b"\r\ntransfer-encoding: chunked\r\ncache-control: no-cache"),
    }
    if close {
        out.extend_from_slice(b"\r\nconnection: close");
    }
    for (name, value) in extra {
        let owned_by_us = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if owned_by_us {
            continue;
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// The reason phrase for a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Site Overloaded",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_with_length_close_and_extra_headers() {
        let mut out = Vec::new();
        let extra = vec![
            ("X-Trace".to_owned(), "1".to_owned()),
            ("Content-Length".to_owned(), "999".to_owned()),
        ];
        write_head(&mut out, 503, "application/json", Some(12), true, &extra);
        let text = String::from_utf8(out).expect("ascii");
        assert_eq!(
            text,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: 12\r\nconnection: close\r\nX-Trace: 1\r\n\r\n"
        );
    }

    #[test]
    fn extra_content_type_replaces_default_and_chunked_head() {
        let mut out = Vec::new();
        let extra = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
        write_head(&mut out, 200, "text/event-stream", None, false, &extra);
        let text = String::from_utf8(out).expect("ascii");
        assert!(!text.contains("text/event-stream"));
        assert!(text.contains("transfer-encoding: chunked\r\n"));
        assert!(text.ends_with("Content-Type: text/plain\r\n\r\n"));
    }

    #[test]
    fn event_framing_is_one_chunk() {
        let mut out = Vec::new();
        frame_event(&mut out, b"[DONE]");
        assert_eq!(out, b"e\r\ndata: [DONE]\n\n\r\n");
    }
}
