//! The server: one monoio runtime and one SO_REUSEPORT listener per worker thread.
//!
//! Nothing is handed between cores: a connection accepted by a worker is served, routed, sent
//! upstream and answered on that worker. The main thread only starts workers, waits for a
//! signal, and drains.

pub mod conn;
pub mod guard;
pub mod inference_auth;
pub mod reply;
pub mod router;
pub mod worker;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::config::snapshot::Publisher;
use crate::routing::table::RouteTable;

/// Limits that protect workers from slow or hostile clients.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Largest request head accepted.
    pub max_head_bytes: usize,
    /// Most headers accepted in one request.
    pub max_headers: usize,
    /// Time allowed for a whole request head once its first byte arrived.
    pub header_timeout: Duration,
    /// Time allowed between body reads.
    pub body_timeout: Duration,
    /// Time an idle keep-alive connection is kept open.
    pub keepalive_timeout: Duration,
    /// Time allowed for one write to the client.
    pub write_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// Stack of each worker thread.
const WORKER_STACK_BYTES: usize = 8 << 20;

/// A counter on its own cache line, so cores never write to a shared line on the hot path.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct PaddedCounter(pub AtomicUsize);

/// State shared by all workers: the config publisher and shutdown bookkeeping.
#[derive(Debug)]
pub struct Shared {
    /// The current config snapshot.
    pub publisher: Arc<Publisher<RouteTable>>,
    /// Number of worker threads.
    pub workers: usize,
    /// Set once a shutdown signal arrived: connections close after their current request.
    pub shutting_down: AtomicBool,
    /// Requests in flight, one counter per worker.
    pub in_flight: Vec<PaddedCounter>,
    /// Connection limits.
    pub limits: ConnLimits,
    /// Every core's metric series, for `GET /metrics`.
    pub metrics: Arc<crate::telemetry::metrics::Registry>,
    /// The management API's thread (`/api/*`); it publishes to `publisher`.
    pub admin: Arc<crate::admin::AdminHandle>,
}

impl Shared {
    /// Requests in flight across all workers.
    pub fn total_in_flight(&self) -> usize {
        self.in_flight
            .iter()
            .map(|c| c.0.load(Ordering::Acquire))
            .sum()
    }
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind.
    pub host: String,
    /// Port (0 = any free port).
    pub port: u16,
    /// Worker threads.
    pub workers: usize,
    /// Longest wait for in-flight requests after a shutdown signal.
    pub drain_timeout: Duration,
}

/// Failures while starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be parsed or bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A worker runtime could not start.
    #[error("worker {0} failed to start: {1}")]
    Worker(usize, String),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Serves `table` with an in-memory management API (no config store, admin auth off).
pub fn run(opts: ServeOptions, table: RouteTable) -> Result<(), ServeError> {
    let admin = crate::admin::AdminHandle::in_memory(table, opts.workers.max(1))
        .map_err(|e| ServeError::Worker(0, format!("admin thread: {e}")))?;
    run_with_admin(opts, admin)
}

/// Starts the workers, prints the bound address, serves until SIGTERM/SIGINT, then drains. The
/// config the workers serve is the one `admin` publishes.
pub fn run_with_admin(
    opts: ServeOptions,
    admin: Arc<crate::admin::AdminHandle>,
) -> Result<(), ServeError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(ServeError::Signals)?;
    }
    let workers = opts.workers.max(1);
    let shared = Arc::new(Shared {
        publisher: Arc::clone(admin.publisher()),
        workers,
        shutting_down: AtomicBool::new(false),
        in_flight: (0..workers).map(|_| PaddedCounter::default()).collect(),
        limits: ConnLimits::default(),
        metrics: Arc::default(),
        admin,
    });
    let mut addr = resolve_bind_addr(&opts.host, opts.port)?;
    let mut listener_fds = Vec::with_capacity(workers);
    let mut driver = "";
    for index in 0..workers {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("ringway-worker-{index}"))
            // Headroom above the 2 MiB default: translations recurse over JSON bounded at
            // 128 levels, and a worker must never overflow.
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || worker::run_worker(index, shared, addr, tx))
            .map_err(|e| ServeError::Worker(index, e.to_string()))?;
        let ready = rx
            .recv()
            .map_err(|_| ServeError::Worker(index, "exited during start-up".into()))?
            .map_err(|e| ServeError::Bind {
                addr: addr.to_string(),
                source: e,
            })?;
        // Port 0: every later worker binds the port the first one got.
        addr = ready.addr;
        driver = ready.driver;
        listener_fds.push(ready.listener_fd);
    }
    if driver == "legacy" {
        tracing::warn!("io_uring unavailable or disabled: running on the legacy epoll driver");
    }
    println!("ringway listening on {addr} (workers: {workers}, io: {driver})");
    tracing::info!(%addr, workers, driver, "ringway started");

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::info!("shutdown signal received: no new connections, draining in-flight requests");
    shared.shutting_down.store(true, Ordering::SeqCst);
    for fd in listener_fds {
        // Wakes each worker's pending accept with an error so it stops accepting at once.
        // SAFETY: shutdown(2) on a descriptor we own only changes the socket's state.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
    let deadline = Instant::now() + opts.drain_timeout;
    while shared.total_in_flight() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(logs) = shared.admin.logs() {
        // Rows of the requests just drained are still queued: commit them before exiting.
        logs.shutdown(Duration::from_secs(2));
    }
    let left = shared.total_in_flight();
    if left > 0 {
        tracing::warn!(
            left,
            "drain timeout reached; exiting with requests still in flight"
        );
    } else {
        tracing::info!("drained; exiting");
    }
    Ok(())
}

fn resolve_bind_addr(host: &str, port: u16) -> Result<SocketAddr, ServeError> {
    use std::net::ToSocketAddrs;
    // Resolved once on the main thread, before any worker runs.
    (host, port)
        .to_socket_addrs()
        .and_then(|mut it| {
            it.next()
                .ok_or_else(|| std::io::Error::other("no address found"))
        })
        .map_err(|e| ServeError::Bind {
            addr: format!("{host}:{port}"),
            source: e,
        })
}

/// What a started worker reports: bound address, io driver name, listener descriptor.
#[derive(Debug, Clone, Copy)]
pub struct ReadyInfo {
    /// The address the listener is bound to.
    pub addr: SocketAddr,
    /// `io_uring` or `legacy`.
    pub driver: &'static str,
    /// Raw descriptor of the listener (to shut it down from the main thread).
    pub listener_fd: i32,
}
