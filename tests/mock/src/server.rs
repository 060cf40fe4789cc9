//! Thread-per-core server: one monoio runtime and one SO_REUSEPORT listener per worker, and the
//! HTTP/1.1 keep-alive connection loop.

use std::{
    io,
    net::SocketAddr,
    os::fd::{AsRawFd, BorrowedFd},
    sync::{Arc, mpsc},
    thread::JoinHandle,
    time::Duration,
};

use monoio::{
    FusionDriver, RuntimeBuilder,
    net::{ListenerOpts, TcpListener, TcpStream},
};

use crate::{
    dispatch::{ConnInfo, Outcome, Req, dispatch},
    record::ConnGuard,
    request::{BodyLoc, Framing, Head, fill, read_body, read_head},
    response::Conn,
    state::Shared,
};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A worker thread could not be created.
    #[error("cannot spawn worker thread: {0}")]
    Spawn(io::Error),
    /// The runtime could not be built.
    #[error("cannot build the monoio runtime: {0}")]
    Runtime(io::Error),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// A worker thread died before reporting its listener.
    #[error("worker {0} exited before binding")]
    WorkerDied(usize),
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// The address every worker listens on.
    pub addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Blocks until every worker exits (they run until the process ends).
    pub fn wait(self) {
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// Starts `workers` threads listening on `addr`; port 0 picks a free port shared by all workers.
pub fn start(
    shared: Arc<Shared>,
    addr: SocketAddr,
    workers: usize,
) -> Result<Running, ServerError> {
    let (first, bound) = spawn_worker(0, Arc::clone(&shared), addr)?;
    let mut handles = vec![first];
    for index in 1..workers.max(1) {
        let (handle, _) = spawn_worker(index, Arc::clone(&shared), bound)?;
        handles.push(handle);
    }
    Ok(Running {
        addr: bound,
        workers: handles,
    })
}

/// Spawns one worker and waits until its listener is bound.
fn spawn_worker(
    index: usize,
    shared: Arc<Shared>,
    addr: SocketAddr,
) -> Result<(JoinHandle<()>, SocketAddr), ServerError> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("mock-worker-{index}"))
        .spawn(move || worker(shared, addr, tx))
        .map_err(ServerError::Spawn)?;
    match rx.recv() {
        Ok(Ok(bound)) => Ok((handle, bound)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ServerError::WorkerDied(index)),
    }
}

/// io_uring with the epoll driver as fallback, both with timers.
#[cfg(target_os = "linux")]
type WorkerRuntime = monoio::FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
>;
/// The epoll (kqueue) driver with timers.
#[cfg(not(target_os = "linux"))]
type WorkerRuntime = monoio::FusionRuntime<monoio::time::TimeDriver<monoio::LegacyDriver>>;

/// The worker's runtime. `coop` (Linux 5.19+; refused by older kernels, then built without)
/// has the kernel run completion work when the worker next enters the ring, instead of sending
/// it an interrupt for each arriving request: on loopback that interrupt is paid by the sender,
/// so without it the proxies under test were charged for the mock's wake-ups.
fn build_runtime(coop: bool) -> io::Result<WorkerRuntime> {
    let builder = RuntimeBuilder::<FusionDriver>::new().enable_timer();
    #[cfg(target_os = "linux")]
    let builder = if coop {
        let mut urb = io_uring::IoUring::builder();
        urb.setup_coop_taskrun();
        builder.uring_builder(urb)
    } else {
        builder
    };
    #[cfg(not(target_os = "linux"))]
    let _ = coop;
    builder.build()
}

fn worker(
    shared: Arc<Shared>,
    addr: SocketAddr,
    ready: mpsc::Sender<Result<SocketAddr, ServerError>>,
) {
    let mut rt = match build_runtime(true).or_else(|_| build_runtime(false)) {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(ServerError::Runtime(e)));
            return;
        }
    };
    rt.block_on(async move {
        let opts = ListenerOpts::new().backlog(4096);
        let listener = match TcpListener::bind_with_config(addr, &opts) {
            Ok(l) => l,
            Err(source) => {
                let _ = ready.send(Err(ServerError::Bind { addr, source }));
                return;
            }
        };
        let bound = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source });
        if ready.send(bound).is_err() {
            return;
        }
        drop(ready);
        loop {
            match listener.accept().await {
                Ok((io, _)) => {
                    monoio::spawn(serve(Arc::clone(&shared), io));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    eprintln!("ringway-mock: accept failed: {e}");
                    monoio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
}

/// Serves one connection until it closes.
async fn serve(shared: Arc<Shared>, io: TcpStream) {
    let _ = io.set_nodelay(true);
    let conn_id = shared.next_connection_id();
    let mut guard = ConnGuard::accept(&shared.stats);
    let mut conn = Conn::new(io);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut decoded = Vec::new();
    let mut head = Head::default();
    let mut seq = 0;
    loop {
        if let Err(e) = read_head(&mut conn.io, &mut buf, &mut head).await {
            reject(&mut conn, e.status()).await;
            return;
        }
        let buffered = buf.len() - head.len;
        let needs_more = match head.framing {
            Framing::Empty => false,
            Framing::Length(n) => buffered < n,
            Framing::Chunked => true,
        };
        if head.expect_continue && needs_more {
            conn.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            if conn.flush().await.is_err() {
                return;
            }
        }
        let (loc, consumed) = match read_body(&mut conn.io, &mut buf, &head, &mut decoded).await {
            Ok(read) => read,
            Err(e) => {
                reject(&mut conn, e.status()).await;
                return;
            }
        };
        seq += 1;
        let body: &[u8] = match &loc {
            BodyLoc::InBuf(range) => &buf[range.clone()],
            BodyLoc::Decoded => &decoded,
        };
        let target = head.target(&buf);
        let req = Req {
            head: &head,
            buf: &buf,
            path: target.split_once('?').map_or(target, |(path, _)| path),
            target,
            body,
            close: !head.keep_alive,
        };
        let info = ConnInfo { id: conn_id, seq };
        let outcome = dispatch(&shared, &mut conn, &req, info, &mut guard).await;
        let close = req.close;
        match outcome {
            Ok(Outcome::Done) if !close => {}
            Ok(Outcome::Done | Outcome::Close) | Err(_) => return,
            Ok(Outcome::Hang) => {
                drain_until_eof(&mut conn.io, &mut buf).await;
                return;
            }
            Ok(Outcome::Reset) => {
                abort(&conn.io);
                return;
            }
        }
        buf.drain(..consumed);
        // A huge body must not pin its buffer for the connection's lifetime.
        if buf.is_empty() && buf.capacity() > 1 << 20 {
            buf = Vec::with_capacity(16 * 1024);
        }
        if decoded.capacity() > 1 << 20 {
            decoded = Vec::new();
        }
    }
}

/// Answers a malformed request with a bare status, then the caller closes.
async fn reject(conn: &mut Conn, status: Option<u16>) {
    if let Some(status) = status {
        let _ = conn.send(status, "text/plain", b"", true, &[]).await;
    }
}

/// Reads and discards until the peer closes: a hung request keeps its socket open.
async fn drain_until_eof(io: &mut TcpStream, buf: &mut Vec<u8>) {
    loop {
        buf.clear();
        match fill(io, buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Makes the coming close send a TCP RST instead of a FIN (SO_LINGER with a zero timeout).
fn abort(io: &TcpStream) {
    // SAFETY: the descriptor belongs to `io`, which outlives this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(io.as_raw_fd()) };
    let _ = socket2::SockRef::from(&fd).set_linger(Some(Duration::ZERO));
}
