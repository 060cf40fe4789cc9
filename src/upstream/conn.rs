//! An established upstream connection: plain TCP or TLS over TCP.

use std::io;

use bytes::BytesMut;
use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use monoio_rustls::ClientTlsStream;
use std::os::fd::{AsRawFd, RawFd};

/// Bytes of spare room guaranteed before each read, unless the caller asks for less.
pub(crate) const MIN_READ_ROOM: usize = 4 * 1024;
/// Size of a fresh read buffer allocation.
const READ_ALLOC: usize = 16 * 1024;

/// A connection to an upstream (the proxy tunnel, if any, is already set up underneath).
pub(crate) enum Conn {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS; boxed because rustls state is large and the plain variant is the common test case.
    /// The descriptor of the TCP socket underneath is kept for liveness checks.
    Tls(Box<ClientTlsStream<TcpStream>>, RawFd),
}

impl Conn {
    /// Whether an idle pooled connection can still carry a request: nothing to read and no
    /// FIN or RST from the peer. One non-blocking `recv(MSG_PEEK)`, no await: a server that
    /// closed an idle connection is found here instead of after the request was sent.
    pub(crate) fn is_reusable(&self) -> bool {
        let fd = match self {
            Conn::Plain(s) => s.as_raw_fd(),
            Conn::Tls(_, fd) => *fd,
        };
        let mut byte = 0u8;
        // SAFETY: fd is a live socket owned by this connection; the buffer is one valid byte.
        let n = unsafe {
            libc::recv(
                fd,
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        // -1/EAGAIN: open and quiet. 0: the peer closed. >0: unexpected bytes (a close_notify,
        // or garbage) on a connection with no request in flight.
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }

    /// Reads whatever is available, appending it to `buf`; `Ok(0)` is end of stream.
    ///
    /// `min_room` is the spare capacity wanted for the read (more is allocated only if there
    /// is less than that; a caller that knows the exact remaining length passes it).
    pub(crate) async fn read_into(
        &mut self,
        buf: &mut BytesMut,
        min_room: usize,
    ) -> io::Result<usize> {
        read_append(self, buf, min_room).await
    }

    /// Writes all of `buf`, and hands it back.
    pub(crate) async fn write_all<T: IoBuf>(&mut self, buf: T) -> (io::Result<()>, T) {
        // The TLS futures are boxed: inline, their state (several hundred bytes) would be in
        // every exchange's future, copied on each request over plain TCP too.
        let (res, buf) = match self {
            Conn::Plain(s) => s.write_all(buf).await,
            Conn::Tls(s, _) => Box::pin(s.write_all(buf)).await,
        };
        (res.map(|_| ()), buf)
    }
}

/// Something we can read from with owned buffers.
pub(crate) trait ReadOwned {
    /// One read into `buf` (monoio's rent-style API).
    async fn read_owned<T: IoBufMut>(&mut self, buf: T) -> (io::Result<usize>, T);
}

impl ReadOwned for TcpStream {
    async fn read_owned<T: IoBufMut>(&mut self, buf: T) -> (io::Result<usize>, T) {
        self.read(buf).await
    }
}

impl ReadOwned for Conn {
    async fn read_owned<T: IoBufMut>(&mut self, buf: T) -> (io::Result<usize>, T) {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            // Boxed, as in `write_all`.
            Conn::Tls(s, _) => Box::pin(s.read(buf)).await,
        }
    }
}

/// Reads once, appending to `buf` (monoio's `BytesMut` impl would overwrite from the start,
/// so the read goes into the spare capacity through a slice).
pub(crate) async fn read_append<R: ReadOwned>(
    io: &mut R,
    buf: &mut BytesMut,
    min_room: usize,
) -> io::Result<usize> {
    let min_room = min_room.max(1);
    if buf.capacity() - buf.len() < min_room {
        buf.reserve(min_room.max(READ_ALLOC));
    }
    let owned = std::mem::take(buf);
    let (len, cap) = (owned.len(), owned.capacity());
    let (res, slice) = io.read_owned(owned.slice_mut(len..cap)).await;
    *buf = slice.into_inner();
    res
}
