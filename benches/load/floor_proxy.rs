//! The load bench's floor: the least a monoio reverse proxy can do per request.
//!
//! One thread, the same io_uring runtime settings as ringway's workers, one upstream keep-alive
//! connection per client connection, bytes forwarded untouched: no routing, no JSON, no
//! metrics, no pool. Whatever ringway costs above this is the gateway's own work; whatever this
//! costs above the direct run is the hop itself (two more sockets, one more process).
//!
//! Usage: `floor_proxy <listen port> <upstream port>` (both on 127.0.0.1). Prints
//! `floor listening on 127.0.0.1:<port>` once bound.

use std::net::SocketAddr;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use monoio::{FusionDriver, RuntimeBuilder};

/// How a message's body is delimited.
enum Framing {
    Length(usize),
    Chunked,
}

/// The head's length and the body's framing once the head is complete.
fn body_framing(buf: &[u8]) -> std::io::Result<Option<(usize, Framing)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let parsed = if buf.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut headers);
        resp.parse(buf)
    } else {
        let mut req = httparse::Request::new(&mut headers);
        req.parse(buf)
    };
    let head = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let mut framing = Framing::Length(0);
    for h in headers.iter().take_while(|h| !h.name.is_empty()) {
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("bad content-length"))?;
            framing = Framing::Length(len);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            framing = Framing::Chunked;
        }
    }
    Ok(Some((head, framing)))
}

/// Reads one HTTP/1.1 message (head, then a Content-Length or chunked body) into `buf`, keeping
/// anything read past it at the front of `rest`. `None` when the peer closed between messages.
async fn read_message(
    sock: &mut TcpStream,
    buf: &mut Vec<u8>,
    rest: &mut Vec<u8>,
) -> std::io::Result<Option<()>> {
    buf.clear();
    buf.append(rest);
    let mut want: Option<usize> = None;
    let mut chunked_from: Option<usize> = None;
    loop {
        if want.is_none() && chunked_from.is_none() {
            match body_framing(buf)? {
                Some((head, Framing::Length(len))) => want = Some(head + len),
                Some((head, Framing::Chunked)) => chunked_from = Some(head),
                None => {}
            }
        }
        if let Some(end) = want
            && buf.len() >= end
        {
            rest.extend_from_slice(&buf[end..]);
            buf.truncate(end);
            return Ok(Some(()));
        }
        // A chunked body ends with the zero-size chunk; the floor only relays whole messages.
        if let Some(from) = chunked_from
            && let Some(at) = memchr::memmem::find(&buf[from..], b"\r\n0\r\n\r\n")
        {
            let end = from + at + 7;
            rest.extend_from_slice(&buf[end..]);
            buf.truncate(end);
            return Ok(Some(()));
        }
        // Read straight into the buffer's spare capacity.
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let (res, slice) = sock.read(std::mem::take(buf).slice_mut(len..cap)).await;
        *buf = slice.into_inner();
        if res? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let mut up = TcpStream::connect(upstream).await?;
    let _ = up.set_nodelay(true);
    let (mut req, mut req_rest) = (Vec::with_capacity(4096), Vec::new());
    let (mut resp, mut resp_rest) = (Vec::with_capacity(4096), Vec::new());
    while read_message(&mut client, &mut req, &mut req_rest)
        .await?
        .is_some()
    {
        let (res, r) = up.write_all(std::mem::take(&mut req)).await;
        req = r;
        res?;
        if read_message(&mut up, &mut resp, &mut resp_rest)
            .await?
            .is_none()
        {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let (res, r) = client.write_all(std::mem::take(&mut resp)).await;
        resp = r;
        res?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = |a: Option<String>| -> std::io::Result<u16> {
        a.and_then(|s| s.parse().ok()).ok_or_else(|| {
            std::io::Error::other("usage: floor_proxy <listen port> <upstream port>")
        })
    };
    let listen = port(args.next())?;
    let upstream = SocketAddr::from(([127, 0, 0, 1], port(args.next())?));
    let mut urb = io_uring::IoUring::builder();
    urb.setup_coop_taskrun();
    let mut rt = RuntimeBuilder::<FusionDriver>::new()
        .enable_timer()
        .with_entries(4096)
        .uring_builder(urb)
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], listen)))?;
        println!("floor listening on {}", listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            monoio::spawn(async move {
                let _ = relay(conn, upstream).await;
            });
        }
    })
}
