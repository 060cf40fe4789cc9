//! One client connection: an HTTP/1.1 keep-alive loop with limits and timeouts.
//!
//! Slow or hostile clients cannot pin a worker: the idle wait, the head, each body read and each
//! write have their own deadline, and every limit answers with Bifrost's error JSON (or, for
//! garbage that is not HTTP, a 400 and a closed connection). Nothing here blocks the core.

use std::rc::Rc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use super::reply::{Framing, LAST_CHUNK, Reply, ReplyBody, encode_chunk_parts, encode_head};
use super::router;
use super::worker::Worker;
use crate::error::{ErrorContext, GatewayError};
use crate::http::chunked::ChunkedDecoder;
use crate::http::head::{HeadError, HeadLimits, RequestHead, parse_request_head};
use crate::timer::{PooledTimer, lease};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 4 * 1024;

/// The connection's timers. Reads and writes each get their own, so that each one's deadline
/// only ever moves later (now plus the same limit), which re-arms it without a timer-wheel
/// operation.
struct Timers {
    read: PooledTimer,
    write: PooledTimer,
}

/// Why the loop stopped reading a request.
enum ReadFail {
    /// The peer closed or reset the connection, or went silent: close without a reply.
    Gone,
    /// Answer with this error, then close.
    Reply(GatewayError, u16),
}

/// Serves requests on `stream` until the client closes, a limit is hit, or shutdown.
pub async fn serve(mut stream: TcpStream, worker: Rc<Worker>) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut timers = Timers {
        read: lease(),
        write: lease(),
    };
    let timer = &mut timers;
    let limits = worker.shared.limits.clone();
    let head_limits = HeadLimits {
        max_head_bytes: limits.max_head_bytes,
        max_headers: limits.max_headers,
    };
    loop {
        let head = match read_head(&mut stream, &mut buf, &worker, &head_limits, timer).await {
            Ok(h) => h,
            Err(ReadFail::Gone) => return,
            Err(ReadFail::Reply(e, status)) => {
                let mut reply = Reply::error(&e, &ErrorContext::default());
                reply.status = status;
                let _ = write_reply(&mut stream, reply, false, &worker, timer).await;
                return;
            }
        };
        let table = worker.table();
        let max_body = table.client.max_request_body_bytes;
        let limit_mb = table.client.max_request_body_size_mb;
        drop(table);
        let body = match read_body(
            &mut stream,
            &mut buf,
            &head,
            &worker,
            max_body,
            limit_mb,
            timer,
        )
        .await
        {
            Ok(b) => b,
            Err(ReadFail::Gone) => return,
            Err(ReadFail::Reply(e, status)) => {
                let mut reply = Reply::error(&e, &ErrorContext::default());
                reply.status = status;
                let _ = write_reply(&mut stream, reply, false, &worker, timer).await;
                return;
            }
        };
        let in_flight = worker.in_flight();
        // Boxed so that an idle connection's task stays small: the request's (large) state
        // machine only exists while a request is being served.
        let reply = crate::boxed::in_place(|| router::route(&worker, &head, body)).await;
        let keep_alive = head.keep_alive && !worker.shutting_down();
        let written = write_reply(&mut stream, reply, keep_alive, &worker, timer).await;
        drop(in_flight);
        if written.is_err() || !keep_alive {
            return;
        }
    }
}

/// Reads more bytes into `buf`, appending. Returns 0 at EOF.
async fn read_more(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < READ_CHUNK / 2 {
        buf.reserve(READ_CHUNK);
    }
    let owned = std::mem::take(buf);
    let len = owned.len();
    let cap = owned.capacity();
    let (res, slice) = stream.read(owned.slice_mut(len..cap)).await;
    *buf = slice.into_inner();
    res
}

async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    worker: &Worker,
    head_limits: &HeadLimits,
    timer: &mut Timers,
) -> Result<RequestHead, ReadFail> {
    let limits = &worker.shared.limits;
    let mut deadline: Option<Instant> = None;
    loop {
        if !buf.is_empty() {
            match parse_request_head(buf, head_limits) {
                Ok(Some((head, len))) => {
                    let _ = buf.split_to(len);
                    return Ok(head);
                }
                Ok(None) => {}
                Err(e) => return Err(head_error(e)),
            }
            deadline.get_or_insert_with(|| Instant::now() + limits.header_timeout);
        } else if worker.shutting_down() {
            return Err(ReadFail::Gone);
        }
        // An idle keep-alive connection gets the keep-alive timeout; a started head gets the
        // header timeout, counted from its first byte.
        let read = read_more(stream, buf);
        let bounded = match deadline {
            Some(d) => timer.read.until(d, read),
            None => timer.read.within(limits.keepalive_timeout, read),
        };
        match bounded.await {
            Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFail::Gone),
            Ok(Ok(_)) => {}
            Err(_) if deadline.is_some() => {
                return Err(ReadFail::Reply(
                    GatewayError::BadRequest("timed out reading the request head".into()),
                    408,
                ));
            }
            Err(_) => return Err(ReadFail::Gone),
        }
    }
}

fn head_error(e: HeadError) -> ReadFail {
    let status = match e {
        HeadError::TooLarge | HeadError::TooManyHeaders => 431,
        _ => 400,
    };
    ReadFail::Reply(
        GatewayError::BadRequest(format!("malformed HTTP request: {e}")),
        status,
    )
}

async fn read_body(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    head: &RequestHead,
    worker: &Worker,
    max_body: usize,
    limit_mb: u64,
    timer: &mut Timers,
) -> Result<Bytes, ReadFail> {
    let too_large = || ReadFail::Reply(GatewayError::BodyTooLarge { limit_mb }, 413);
    let timeout = worker.shared.limits.body_timeout;
    if let Some(len) = head.content_length {
        let len = usize::try_from(len).map_err(|_| too_large())?;
        if len > max_body {
            return Err(too_large());
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        if head.expect_continue && buf.is_empty() {
            write_all(
                stream,
                Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"),
                worker,
                timer,
            )
            .await
            .map_err(|_| ReadFail::Gone)?;
        }
        if buf.capacity() < len {
            buf.reserve(len - buf.len());
        }
        while buf.len() < len {
            match timer.read.within(timeout, read_more(stream, buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFail::Gone),
                Ok(Ok(_)) => {}
                Err(_) => {
                    return Err(ReadFail::Reply(
                        GatewayError::BadRequest("timed out reading the request body".into()),
                        408,
                    ));
                }
            }
        }
        return Ok(buf.split_to(len).freeze());
    }
    if !head.chunked {
        return Ok(Bytes::new());
    }
    if head.expect_continue && buf.is_empty() {
        write_all(
            stream,
            Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"),
            worker,
            timer,
        )
        .await
        .map_err(|_| ReadFail::Gone)?;
    }
    let mut decoder = ChunkedDecoder::new();
    let mut body = BytesMut::new();
    loop {
        loop {
            match decoder.decode(buf) {
                Ok(Some(piece)) => {
                    if body.len() + piece.len() > max_body {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&piece);
                }
                Ok(None) if decoder.is_done() => return Ok(body.freeze()),
                Ok(None) => break,
                Err(e) => {
                    return Err(ReadFail::Reply(
                        GatewayError::BadRequest(format!("malformed chunked body: {e}")),
                        400,
                    ));
                }
            }
        }
        match timer.read.within(timeout, read_more(stream, buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFail::Gone),
            Ok(Ok(_)) => {}
            Err(_) => {
                return Err(ReadFail::Reply(
                    GatewayError::BadRequest("timed out reading the request body".into()),
                    408,
                ));
            }
        }
    }
}

async fn write_all<T: IoBuf>(
    stream: &mut TcpStream,
    data: T,
    worker: &Worker,
    timer: &mut Timers,
) -> std::io::Result<()> {
    let timeout = worker.shared.limits.write_timeout;
    match timer.write.within(timeout, stream.write_all(data)).await {
        Ok((res, _)) => res.map(|_| ()),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "client too slow to read",
        )),
    }
}

/// Most SSE events coalesced into one write when several arrived in one upstream read.
const MAX_EVENTS_PER_WRITE: usize = 64;

/// Small bodies are copied behind the head so the whole reply is one write.
const COALESCE_LIMIT: usize = 16 * 1024;

async fn write_reply(
    stream: &mut TcpStream,
    reply: Reply,
    keep_alive: bool,
    worker: &Worker,
    timer: &mut Timers,
) -> std::io::Result<()> {
    match reply.body {
        ReplyBody::Full(body) => {
            let mut out = BytesMut::with_capacity(256 + body.len().min(COALESCE_LIMIT));
            encode_head(
                &mut out,
                reply.status,
                &reply.headers,
                Framing::Length(body.len()),
                keep_alive,
            );
            // Written as a `BytesMut`: freezing a buffer with spare room would allocate.
            if body.len() <= COALESCE_LIMIT {
                out.extend_from_slice(&body);
                write_all(stream, out, worker, timer).await
            } else {
                write_all(stream, out, worker, timer).await?;
                write_all(stream, body, worker, timer).await
            }
        }
        ReplyBody::Stream(mut relay) => {
            // Room for the head and a first batch of events without growing (growing copies).
            let mut frame = BytesMut::with_capacity(8192);
            encode_head(
                &mut frame,
                reply.status,
                &reply.headers,
                Framing::Chunked,
                keep_alive,
            );
            // Each event is written as soon as it arrives; events that arrived together (one
            // upstream read) share one write, which delays none of them. The events already
            // buffered (the first one was read to check it for an error) go out with the head.
            let mut batch: Vec<Bytes> = Vec::with_capacity(MAX_EVENTS_PER_WRITE);
            loop {
                let event = if frame.is_empty() {
                    relay.next_event().await
                } else {
                    relay.next_ready()
                };
                let Some(event) = event else {
                    if frame.is_empty() {
                        break;
                    }
                    write_all(stream, frame.split(), worker, timer).await?;
                    continue;
                };
                batch.push(event);
                while batch.len() < MAX_EVENTS_PER_WRITE {
                    match relay.next_ready() {
                        Some(ev) => batch.push(ev),
                        None => break,
                    }
                }
                batch.retain(|e| !e.is_empty()); // an empty chunk would end the body early
                if batch.is_empty() {
                    continue;
                }
                encode_chunk_parts(&mut frame, &batch);
                batch.clear();
                write_all(stream, frame.split(), worker, timer).await?;
            }
            write_all(stream, Bytes::from_static(LAST_CHUNK), worker, timer).await
        }
    }
}
