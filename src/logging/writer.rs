//! The one writer thread, and each core's handle to it.
//!
//! ```text
//! core N: CoreLog::push   try_send on its own bounded channel; full -> drop + count (no wait)
//! writer: every FLUSH_EVERY, drain every core's channel (up to BATCH_MAX rows) -> parse bodies
//!         -> one LMDB write transaction -> commit; a full batch loops again without sleeping
//! ```
//!
//! Channels are per core so producers never share a queue's cache lines, and the writer is the
//! only consumer. Queued entries hold body buffers, so each core also has a byte budget: an
//! entry that would take its queue past [`BYTES_PER_CORE`] is dropped (and counted) too. The
//! retention sweep runs on the writer, at start and every hour.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::entry::LogEntry;
use super::store::LogStore;
use super::time::now_ns;

/// Longest wait before queued rows are committed.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Most rows in one write transaction.
pub const BATCH_MAX: usize = 2048;

/// Rows one core may have queued before new ones are dropped.
pub const QUEUE_PER_CORE: usize = 8192;

/// Body bytes one core's queued entries may hold (bounds memory when the writer falls behind).
pub const BYTES_PER_CORE: usize = 64 << 20;

/// How often rows older than the retention are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Counters shared by the cores and the writer.
#[derive(Debug, Default)]
pub struct Counters {
    /// Entries dropped because a queue was full or a commit failed.
    pub dropped: AtomicU64,
    /// Rows committed.
    pub written: AtomicU64,
    /// Write transactions committed.
    pub commits: AtomicU64,
}

/// Body bytes held by one core's queued entries; written by that core and the writer only.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Held(AtomicUsize);

/// One core's queue, as the writer sees it.
type CoreQueue = (Receiver<LogEntry>, Arc<Held>);

/// One core's sender.
#[derive(Debug, Clone)]
pub struct CoreLog {
    tx: SyncSender<LogEntry>,
    held: Arc<Held>,
    counters: Arc<Counters>,
}

impl CoreLog {
    /// Queues `entry` for the writer; drops (and counts) it when this core's queue is full or
    /// holds its byte budget already.
    pub fn push(&self, entry: LogEntry) {
        let bytes = entry.held_bytes();
        if self.held.0.load(Ordering::Relaxed) + bytes > BYTES_PER_CORE {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.tx.try_send(entry) {
            Ok(()) => {
                self.held.0.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The writer thread's handle.
#[derive(Debug)]
pub struct Writer {
    register: Mutex<mpsc::Sender<CoreQueue>>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    queue: usize,
}

impl Writer {
    /// Starts the writer over `store`; rows older than `retention` are swept.
    pub fn start(store: Arc<LogStore>, retention: Duration, queue: usize) -> std::io::Result<Self> {
        let (register, registered) = mpsc::channel::<CoreQueue>();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let counters = Arc::clone(&counters);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("ringway-logs".into())
                .spawn(move || run(&store, &registered, &counters, &stop, retention))?
        };
        Ok(Self {
            register: Mutex::new(register),
            counters,
            stop,
            thread: Mutex::new(Some(thread)),
            queue,
        })
    }

    /// A new core's sender (its own bounded queue).
    pub fn core(&self) -> CoreLog {
        let (tx, rx) = mpsc::sync_channel(self.queue);
        let held = Arc::new(Held::default());
        let sent = self
            .register
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send((rx, Arc::clone(&held)));
        if sent.is_err() {
            tracing::warn!("request log writer is gone: this core's requests are not logged");
        }
        CoreLog {
            tx,
            held,
            counters: Arc::clone(&self.counters),
        }
    }

    /// The shared counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Commits what is queued and stops the writer (waits at most `wait`).
    pub fn shutdown(&self, wait: Duration) {
        self.stop.store(true, Ordering::Release);
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return;
        };
        let deadline = Instant::now() + wait;
        while !handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if handle.is_finished() {
            let _ = handle.join();
        } else {
            tracing::warn!("request log writer did not finish in time; recent rows may be lost");
        }
    }
}

fn run(
    store: &LogStore,
    registered: &Receiver<CoreQueue>,
    counters: &Counters,
    stop: &AtomicBool,
    retention: Duration,
) {
    let mut cores: Vec<CoreQueue> = Vec::new();
    let mut next_sweep = Instant::now();
    let mut batch: Vec<LogEntry> = Vec::with_capacity(BATCH_MAX);
    loop {
        let stopping = stop.load(Ordering::Acquire);
        while let Ok(rx) = registered.try_recv() {
            cores.push(rx);
        }
        drain(&mut cores, &mut batch);
        let full = batch.len() >= BATCH_MAX;
        commit(store, &mut batch, counters);
        if Instant::now() >= next_sweep {
            sweep(store, retention);
            next_sweep = Instant::now() + SWEEP_EVERY;
        }
        if stopping && !full {
            return;
        }
        if !full {
            std::thread::sleep(FLUSH_EVERY);
        }
    }
}

/// Moves queued entries into `batch` (up to [`BATCH_MAX`]), fairly across cores; forgets the
/// channels of cores that are gone.
fn drain(cores: &mut Vec<CoreQueue>, batch: &mut Vec<LogEntry>) {
    let mut progress = true;
    while progress && batch.len() < BATCH_MAX {
        progress = false;
        cores.retain(|(rx, held)| {
            if batch.len() >= BATCH_MAX {
                return true;
            }
            match rx.try_recv() {
                Ok(e) => {
                    held.0.fetch_sub(e.held_bytes(), Ordering::Relaxed);
                    batch.push(e);
                    progress = true;
                    true
                }
                Err(TryRecvError::Empty) => true,
                Err(TryRecvError::Disconnected) => false,
            }
        });
    }
}

fn commit(store: &LogStore, batch: &mut Vec<LogEntry>, counters: &Counters) {
    if batch.is_empty() {
        return;
    }
    let rows: Vec<_> = batch.drain(..).map(LogEntry::into_row).collect();
    match store.put_batch(&rows) {
        Ok(()) => {
            counters
                .written
                .fetch_add(rows.len() as u64, Ordering::Relaxed);
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            // The requests were served; only their rows are lost, and counted as dropped.
            counters
                .dropped
                .fetch_add(rows.len() as u64, Ordering::Relaxed);
            tracing::warn!(error = %e, rows = rows.len(), "request log batch not stored");
        }
    }
}

fn sweep(store: &LogStore, retention: Duration) {
    let cutoff = now_ns().saturating_sub(u64::try_from(retention.as_nanos()).unwrap_or(u64::MAX));
    match store.sweep(cutoff) {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "request logs past retention deleted"),
        Err(e) => tracing::warn!(error = %e, "request log retention sweep failed"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::logging::entry::new_id;
    use crate::logging::store::tests::{summaries, temp_dir};

    fn entry(ts_ns: u64) -> LogEntry {
        LogEntry {
            id: new_id(ts_ns),
            ts_ns,
            object: "chat_completion",
            provider: "openai".into(),
            model: "m".into(),
            stream: false,
            retries: 0,
            fallback_index: 0,
            key_id: String::new(),
            key_name: String::new(),
            latency_ms: 1.0,
            status: 200,
            request: None,
            request_messages: None,
            response: None,
            events: Vec::new(),
            stream_error: None,
            metadata: Vec::new(),
            content: false,
        }
    }

    fn wait_for(f: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn rows_from_every_core_are_committed_in_batches() {
        let dir = temp_dir("writer");
        let store = Arc::new(LogStore::open(&dir).unwrap());
        let w = Writer::start(Arc::clone(&store), Duration::from_secs(86_400), 4096).unwrap();
        let (a, b) = (w.core(), w.core());
        let now = now_ns();
        for i in 0..1500 {
            a.push(entry(now + i));
            b.push(entry(now + i));
        }
        let c = w.counters();
        assert!(wait_for(|| c.written.load(Ordering::Relaxed) == 3000));
        let commits = c.commits.load(Ordering::Relaxed);
        assert!(
            (2..100).contains(&commits),
            "3000 rows in {commits} transactions"
        );
        assert_eq!(c.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(store.count_rows(), 3000);
        w.shutdown(Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let counters = Arc::new(Counters::default());
        let (tx, _rx) = mpsc::sync_channel(4);
        let core = CoreLog {
            tx,
            held: Arc::default(),
            counters: Arc::clone(&counters),
        };
        for i in 0..10 {
            core.push(entry(i));
        }
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn the_byte_budget_drops_and_counts() {
        let counters = Arc::new(Counters::default());
        let (tx, _rx) = mpsc::sync_channel(100);
        let core = CoreLog {
            tx,
            held: Arc::default(),
            counters: Arc::clone(&counters),
        };
        let mut big = entry(1);
        big.response = Some(bytes::Bytes::from(vec![b' '; BYTES_PER_CORE / 2 + 1]));
        core.push(big.clone());
        core.push(big);
        core.push(entry(2));
        assert_eq!(
            counters.dropped.load(Ordering::Relaxed),
            1,
            "the second big one"
        );
        assert_eq!(core.held.0.load(Ordering::Relaxed), BYTES_PER_CORE / 2 + 1);
    }

    #[test]
    fn shutdown_commits_what_is_queued_and_old_rows_are_swept() {
        let dir = temp_dir("writer-stop");
        let store = Arc::new(LogStore::open(&dir).unwrap());
        // A row from 1970 is past any retention: the sweep at start removes it.
        store.put_batch(&[entry(5).into_row()]).unwrap();
        let w = Writer::start(Arc::clone(&store), Duration::from_secs(86_400), 16).unwrap();
        let core = w.core();
        core.push(entry(now_ns()));
        w.shutdown(Duration::from_secs(5));
        assert_eq!(w.counters().written.load(Ordering::Relaxed), 1);
        let ts: Vec<u64> = summaries(&store, false).iter().map(|s| s.ts_ns).collect();
        assert_eq!(ts.len(), 1);
        assert!(ts[0] > 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
