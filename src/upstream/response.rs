//! Upstream responses: head parsing, body framing, and streaming the body.
//!
//! A [`Response`] owns its connection until the body has been read to the end; at that point the
//! connection goes straight back to the pool if both sides allow keep-alive. Dropping a response
//! early closes the connection, which is how a client that goes away cancels the upstream call.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};

use super::conn::{Conn, MIN_READ_ROOM};
use super::error::UpstreamError;
use super::pool::PoolEntry;
use crate::http::chunked::ChunkedDecoder;
use crate::http::head::Headers;

/// Largest response head accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most response header fields accepted.
const MAX_HEADERS: usize = 128;
/// Largest single read of a content-length body.
const MAX_READ: usize = 64 * 1024;

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Status code.
    pub status: u16,
    /// Minor HTTP version (0 or 1).
    pub version: u8,
    /// Header fields in order.
    pub headers: Headers,
    /// Length of the head in bytes, final CRLF included.
    pub len: usize,
}

/// Parses a response head from the front of `buf`; `None` if it is not complete yet.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>, UpstreamError> {
    // Uninitialised slots: zeroing 128 of them (4 KB) cost more than parsing a typical head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(UpstreamError::Protocol("response head too large".into()));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(UpstreamError::Protocol(format!("bad response head: {e}"))),
    };
    if len > MAX_HEAD {
        return Err(UpstreamError::Protocol("response head too large".into()));
    }
    // obs-text values keep what can be kept rather than failing the response.
    let mut headers = Headers::with_capacity(len, resp.headers.len());
    for h in resp.headers.iter() {
        headers.push(h.name, h.value);
    }
    Ok(Some(Head {
        status: resp.code.unwrap_or(0),
        version: resp.version.unwrap_or(1),
        headers,
        len,
    }))
}

/// How the body of a response is delimited.
#[derive(Debug)]
enum Body {
    /// `Content-Length`: bytes still to read.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
    /// Until the server closes the connection.
    UntilClose,
    /// Fully read.
    Done,
    /// Reading failed earlier; the connection is gone.
    Failed,
}

/// Body framing and keep-alive for a head (RFC 9112 §6.3), from one pass over its fields.
fn framing(head: &Head, request_was_head: bool) -> Result<(Body, bool), UpstreamError> {
    use crate::http::same_name;
    let mut close = head.version == 0;
    let mut last_coding: Option<&str> = None;
    let mut has_length = false;
    // A bad length only matters when the length frames the body: kept until then.
    let mut length: Result<Option<u64>, UpstreamError> = Ok(None);
    for (name, value) in head.headers.iter() {
        if same_name(name, "content-length") {
            has_length = true;
            for v in list(value) {
                length = length.and_then(|prev| {
                    let n = parse_length(v)?;
                    match prev {
                        Some(p) if p != n => Err(UpstreamError::Protocol(
                            "conflicting content-length values".into(),
                        )),
                        _ => Ok(Some(n)),
                    }
                });
            }
        } else if same_name(name, "transfer-encoding") {
            last_coding = list(value).last().or(last_coding);
        } else if same_name(name, "connection") {
            for v in list(value) {
                if v.eq_ignore_ascii_case("close") {
                    close = true;
                } else if v.eq_ignore_ascii_case("keep-alive") && head.version == 0 {
                    close = false;
                }
            }
        }
    }
    if request_was_head || head.status == 204 || head.status == 304 || head.status < 200 {
        return Ok((Body::Done, !close));
    }
    if let Some(last) = last_coding {
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            // With both headers the message is suspect: use it, but do not reuse the connection.
            (Body::Chunked(ChunkedDecoder::new()), !close && !has_length)
        } else {
            (Body::UntilClose, false)
        });
    }
    Ok(match length? {
        Some(0) => (Body::Done, !close),
        Some(n) => (Body::Length(n), !close),
        None => (Body::UntilClose, false),
    })
}

/// A `Content-Length` value: digits only.
fn parse_length(v: &str) -> Result<u64, UpstreamError> {
    let bad = || UpstreamError::Protocol(format!("invalid content-length {v:?}"));
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    v.parse().map_err(|_| bad())
}

/// The comma-separated elements of one field value, without optional whitespace (space and
/// tab, RFC 9110 §5.6.1) and without empty ones.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|v| v.trim_matches([' ', '\t']))
        .filter(|v| !v.is_empty())
}

/// A response whose head has arrived; the body is read on demand.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields, in the order received.
    headers: Headers,
    /// `Content-Length`, when the body is delimited by one.
    content_length: Option<u64>,
    /// The connection, until the body is done (then pooled or closed).
    conn: Option<Conn>,
    /// Bytes read past what has been handed out.
    buf: BytesMut,
    /// Where body framing stands.
    body: Body,
    /// Both sides allow keep-alive.
    reusable: bool,
    /// Where the connection goes back to.
    pool: Rc<PoolEntry>,
    /// Data decoded ahead while checking whether a chunked body had ended.
    pending: Option<Bytes>,
    /// Bad framing found during that look-ahead, reported on the next call.
    deferred: Option<UpstreamError>,
    /// A read is in flight; still set on entry means the last `chunk()` future was dropped
    /// mid-read, which loses buffered bytes (the buffer is owned by the cancelled operation).
    reading: bool,
}

impl Response {
    /// Wraps a parsed head; an empty body completes (and pools the connection) at once.
    pub(crate) fn new(
        head: Head,
        conn: Conn,
        buf: BytesMut,
        request_was_head: bool,
        pool: Rc<PoolEntry>,
    ) -> Result<Response, UpstreamError> {
        let (body, reusable) = framing(&head, request_was_head)?;
        let content_length = match body {
            Body::Length(n) => Some(n),
            Body::Done => Some(0),
            _ => None,
        };
        let mut resp = Response {
            status: head.status,
            headers: head.headers,
            content_length,
            conn: Some(conn),
            buf,
            body,
            reusable,
            pool,
            pending: None,
            deferred: None,
            reading: false,
        };
        if matches!(resp.body, Body::Done) {
            resp.finish();
        }
        Ok(resp)
    }

    /// All header fields, in the order received (names as sent).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body length, when known up front (`Some(0)` for bodiless responses).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The next piece of the body as it arrives (chunked framing removed); `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        if let Some(e) = self.deferred.take() {
            if let Some(p) = self.pending.take() {
                self.deferred = Some(e);
                return Ok(Some(p));
            }
            return Err(e);
        }
        if self.reading {
            let e = io::Error::new(
                io::ErrorKind::Interrupted,
                "an earlier body read was cancelled",
            );
            return Err(self.fail(UpstreamError::Io(e)));
        }
        loop {
            if let Some(data) = self.decode_buffered()? {
                return Ok(Some(data));
            }
            match &self.body {
                Body::Done => return Ok(None),
                Body::Failed => {
                    return Err(UpstreamError::Protocol("body already failed".into()));
                }
                _ => {}
            }
            self.fill().await?;
        }
    }

    /// The next piece of the body that is already in memory, without reading: lets a relay
    /// send everything one socket read brought in one write. The end of the body and errors are
    /// left for [`Response::chunk`] to report.
    pub fn buffered_chunk(&mut self) -> Option<Bytes> {
        if self.reading {
            return None;
        }
        if self.deferred.is_some() {
            return self.pending.take();
        }
        match self.decode_buffered() {
            Ok(data) => data,
            Err(e) => {
                self.deferred = Some(e);
                None
            }
        }
    }

    /// Decodes one piece from the read buffer: `Ok(None)` when more bytes are needed or the
    /// body is complete (the state says which).
    fn decode_buffered(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        match &mut self.body {
            Body::Done | Body::Failed => Ok(None),
            Body::Length(rem) => {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let n = usize::try_from(*rem).map_or(self.buf.len(), |r| r.min(self.buf.len()));
                *rem -= n as u64;
                let data = self.buf.split_to(n).freeze();
                if *rem == 0 {
                    self.finish();
                }
                Ok(Some(data))
            }
            Body::Chunked(dec) => match dec.decode(&mut self.buf) {
                Ok(Some(data)) => {
                    // Look ahead so that a body whose end is already buffered releases its
                    // connection now, not on the caller's next call.
                    if !self.buf.is_empty() {
                        match dec.decode(&mut self.buf) {
                            Ok(Some(next)) => self.pending = Some(next),
                            Ok(None) if dec.is_done() => self.finish(),
                            Ok(None) => {}
                            Err(e) => {
                                let e = UpstreamError::Protocol(e.to_string());
                                self.deferred = Some(self.fail(e));
                            }
                        }
                    }
                    Ok(Some(data))
                }
                Ok(None) if dec.is_done() => {
                    self.finish();
                    Ok(None)
                }
                Ok(None) => Ok(None),
                Err(e) => Err(self.fail(UpstreamError::Protocol(e.to_string()))),
            },
            Body::UntilClose => {
                if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(self.buf.split().freeze()))
                }
            }
        }
    }

    /// The whole body; `BodyTooLarge` once it exceeds `limit` bytes.
    pub async fn bytes(mut self, limit: usize) -> Result<Bytes, UpstreamError> {
        if self.content_length.is_some_and(|n| n > limit as u64) {
            return Err(UpstreamError::BodyTooLarge);
        }
        if let Body::Length(rem) = self.body
            && let Ok(rem) = usize::try_from(rem)
            && self.pending.is_none()
            && !self.reading
        {
            // Known length: read it all into one exactly sized buffer, hand it out uncopied.
            if self.buf.capacity() < rem {
                self.buf.reserve(rem - self.buf.len());
            }
            while self.buf.len() < rem {
                self.fill().await?;
            }
            return Ok(self.chunk().await?.unwrap_or_default());
        }
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        if first.len() > limit {
            return Err(UpstreamError::BodyTooLarge);
        }
        let Some(second) = self.chunk().await? else {
            // Single piece: hand it out without copying.
            return Ok(first);
        };
        let hint = self
            .content_length
            .map_or(first.len() + second.len(), |n| n as usize);
        let mut all = BytesMut::with_capacity(hint.min(limit));
        all.extend_from_slice(&first);
        let mut next = Some(second);
        while let Some(piece) = next {
            if all.len() + piece.len() > limit {
                return Err(UpstreamError::BodyTooLarge);
            }
            all.extend_from_slice(&piece);
            next = self.chunk().await?;
        }
        Ok(all.freeze())
    }

    /// Reads more bytes into the buffer; handles end of stream for each framing.
    async fn fill(&mut self) -> Result<(), UpstreamError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(self.fail(UpstreamError::Truncated));
        };
        let min_room = match self.body {
            // Ask for what is still missing (capped), so an exactly sized buffer is not grown.
            Body::Length(rem) => {
                let missing = rem.saturating_sub(self.buf.len() as u64);
                usize::try_from(missing).map_or(MAX_READ, |m| m.min(MAX_READ))
            }
            _ => MIN_READ_ROOM,
        };
        let until_close = matches!(self.body, Body::UntilClose);
        self.reading = true;
        let read = conn.read_into(&mut self.buf, min_room).await;
        self.reading = false;
        match read {
            Ok(0) if until_close => {
                self.body = Body::Done;
                self.conn = None;
                Ok(())
            }
            // TLS peers often skip close_notify; for a close-delimited body EOF is the end.
            Err(e) if until_close && e.kind() == io::ErrorKind::UnexpectedEof => {
                self.body = Body::Done;
                self.conn = None;
                Ok(())
            }
            Ok(0) => Err(self.fail(UpstreamError::Truncated)),
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(UpstreamError::Io(e))),
        }
    }

    /// Marks the body failed and closes the connection.
    fn fail(&mut self, e: UpstreamError) -> UpstreamError {
        self.body = Body::Failed;
        self.conn = None;
        e
    }

    /// Body complete: pool the connection if keep-alive holds and nothing extra was sent.
    fn finish(&mut self) {
        self.body = Body::Done;
        if let Some(conn) = self.conn.take()
            && self.reusable
            && self.buf.is_empty()
        {
            self.pool.put(conn);
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("reusable", &self.reusable)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        parse_head(raw.as_bytes())
            .expect("valid")
            .expect("complete")
    }

    fn frame(raw: &str) -> (Body, bool) {
        framing(&head(raw), false).expect("valid framing")
    }

    #[test]
    fn parses_heads() {
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nA: b\r\n")
                .expect("partial ok")
                .is_none()
        );
        let h = head("HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nX: é\r\n\r\nbody");
        assert_eq!(h.status, 429);
        assert_eq!(
            h.len,
            "HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nX: é\r\n\r\n".len()
        );
        assert_eq!(h.headers.iter().next(), Some(("Retry-After", "3")));
        assert!(parse_head(b"HTTX/1.1 200 OK\r\n\r\n").is_err());
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 1));
        assert!(parse_head(&big).is_err());
        let mut many = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("h{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert!(parse_head(many.as_bytes()).is_err());
    }

    #[test]
    fn framing_rules() {
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            (Body::Length(5), true)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (Body::Done, true)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (Body::Chunked(_), true)
        ));
        assert!(matches!(
            frame(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n"
            ),
            (Body::Chunked(_), false)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
            (Body::UntilClose, false)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\n\r\n"),
            (Body::UntilClose, false)
        ));
        assert!(matches!(
            frame("HTTP/1.1 204 No Content\r\n\r\n"),
            (Body::Done, true)
        ));
        assert!(matches!(
            frame("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
            (Body::Done, true)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\n"),
            (Body::Length(1), false)
        ));
        assert!(matches!(
            frame("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"),
            (Body::Length(1), false)
        ));
        assert!(matches!(
            frame("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n"),
            (Body::Length(1), true)
        ));
        assert!(matches!(
            frame("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n"),
            (Body::Length(7), true)
        ));
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        assert!(matches!(framing(&h, true), Ok((Body::Done, true))));
    }

    #[test]
    fn bad_content_length_is_rejected() {
        for raw in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        ] {
            assert!(framing(&head(raw), false).is_err(), "{raw}");
        }
    }
}
