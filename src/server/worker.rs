//! One worker: its runtime, its listener, and the per-core state every request on it uses.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use monoio::net::{ListenerOpts, TcpListener};
use monoio::{FusionDriver, FusionRuntime, RuntimeBuilder};

use super::inference_auth::AuthCache;
use super::{ReadyInfo, Shared};
use crate::config::snapshot::{CoreView, Snapshot};
use crate::inference::admission::Admission;
use crate::logging::CoreLogger;
use crate::plugins::{CorePlugins, HookChain, PluginSet};
use crate::routing::table::RouteTable;
use crate::telemetry::metrics::CoreMetrics;
use crate::upstream::{Client, ClientOptions};

/// Per-core state: config view, upstream pool, admission gates. Never leaves its thread.
pub struct Worker {
    /// Index of this worker (0-based).
    pub index: usize,
    /// State shared with the other workers.
    pub shared: Arc<Shared>,
    /// This core's view of the published config.
    pub view: CoreView<RouteTable>,
    /// This core's upstream connection pools.
    pub client: Client,
    /// This core's per-provider admission gates.
    pub admission: Admission,
    /// This core's metric series.
    pub metrics: CoreMetrics,
    /// This core's view of the published plugin set.
    pub plugin_view: CoreView<PluginSet>,
    /// This core's plugin instances (rebuilt when a new set is published).
    pub plugins: CorePlugins,
    /// Inference credentials this core has seen accepted.
    pub auth_cache: AuthCache,
    /// This core's request logger (`None` when request logging is off).
    pub logs: Option<CoreLogger>,
}

impl Worker {
    /// The config snapshot to serve the next request with.
    pub fn table(&self) -> Snapshot<RouteTable> {
        self.view.current()
    }

    /// The hook chain to run the next request through: one relaxed load and one pointer
    /// comparison when the plugin set did not change.
    pub fn plugin_chain(&self) -> Rc<HookChain> {
        self.plugins.chain_for(&self.plugin_view.current())
    }

    /// Counts a request as in flight (for the shutdown drain) until the guard drops, panics
    /// included.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.shared.in_flight[self.index]
            .0
            .fetch_add(1, Ordering::AcqRel);
        InFlight(self)
    }

    /// Whether the gateway is draining.
    pub fn shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::Relaxed)
    }
}

/// A request counted as in flight; dropping it uncounts it.
pub struct InFlight<'a>(&'a Worker);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.shared.in_flight[self.0.index]
            .0
            .fetch_sub(1, Ordering::AcqRel);
    }
}

/// io_uring with the epoll driver as fallback, both with timers.
#[cfg(target_os = "linux")]
type WorkerRuntime = FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
>;
/// The epoll (kqueue) driver with timers.
#[cfg(not(target_os = "linux"))]
type WorkerRuntime = FusionRuntime<monoio::time::TimeDriver<monoio::LegacyDriver>>;

/// The worker's runtime. `coop` asks the kernel (5.19+) to run io_uring completion work when the
/// worker next enters it instead of interrupting it with an IPI: a worker enters the ring every
/// loop anyway, and under load those interrupts were a few percent of its time. Older kernels
/// refuse the flag; the caller then builds without it.
fn build_runtime(coop: bool) -> std::io::Result<WorkerRuntime> {
    let builder = RuntimeBuilder::<FusionDriver>::new()
        .enable_timer()
        .with_entries(4096);
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

/// Body of a worker thread: builds the runtime, binds, reports readiness, serves until shutdown.
pub fn run_worker(
    index: usize,
    shared: Arc<Shared>,
    addr: SocketAddr,
    ready: mpsc::Sender<std::io::Result<ReadyInfo>>,
) {
    let rt = build_runtime(true).or_else(|_| build_runtime(false));
    let mut rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let driver = match rt {
        #[cfg(target_os = "linux")]
        FusionRuntime::Uring(_) => "io_uring",
        FusionRuntime::Legacy(_) => "legacy",
    };
    rt.block_on(serve(index, shared, addr, driver, ready));
}

async fn serve(
    index: usize,
    shared: Arc<Shared>,
    addr: SocketAddr,
    driver: &'static str,
    ready: mpsc::Sender<std::io::Result<ReadyInfo>>,
) {
    let opts = ListenerOpts::new().reuse_port(true).backlog(4096);
    let listener = match TcpListener::bind_with_config(addr, &opts) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let bound = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let logs = shared.admin.logs().map(|l| l.core());
    let worker = Rc::new(Worker {
        index,
        view: CoreView::new(Arc::clone(&shared.publisher)),
        metrics: CoreMetrics::new(Arc::clone(&shared.metrics)),
        plugin_view: CoreView::new(Arc::clone(shared.admin.plugins())),
        plugins: CorePlugins::new(u32::try_from(index).unwrap_or(u32::MAX)),
        shared,
        client: Client::new(ClientOptions::default()),
        admission: Admission::new(),
        auth_cache: AuthCache::default(),
        logs,
    });
    let _ = ready.send(Ok(ReadyInfo {
        addr: bound,
        driver,
        listener_fd: listener.as_raw_fd(),
    }));
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                if worker.shutting_down() {
                    break;
                }
                let conn = super::conn::serve(stream, Rc::clone(&worker));
                // A panic drops the connection; the worker and its other connections go on.
                let task = crate::timer::TaskTimers::new(conn);
                monoio::spawn(super::guard::CatchPanic::logging(task, "connection task"));
            }
            Err(e) => {
                if worker.shutting_down() {
                    break;
                }
                // Out of descriptors or a transient accept error: back off briefly, keep serving.
                tracing::warn!(error = %e, "accept failed");
                monoio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    drop(listener);
    // Keep the runtime alive so connections finish their in-flight requests; the main thread
    // ends the process once every worker has drained (or the drain timeout passes).
    loop {
        monoio::time::sleep(Duration::from_secs(3600)).await;
    }
}
