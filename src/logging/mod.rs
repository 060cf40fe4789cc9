//! Request logging (Bifrost's `logging` plugin): one row per inference request, searchable
//! through `GET /api/logs`.
//!
//! ```text
//! worker   inference::handle  -> request::RequestLog::begin (id, start, body clone)
//!          answer sent        -> LogEntry -> CoreLog::push (bounded per-core queue, never waits)
//!          streamed answer    -> stream::StreamLog rides the relay; pushes when the stream ends
//! writer   one thread: drain queues -> parse bodies (usage, messages) -> one LMDB txn per batch
//! admin    /api/logs handlers read the store (admin::logs)
//! ```
//!
//! Logging is on when `client.enable_logging` is true and `logs_store` is absent or enabled, as
//! in Bifrost; both are read at start (changing them needs a restart, as in Bifrost). When off,
//! workers hold no logger and a request pays one branch.

mod answer;
pub mod entry;
mod event;
pub mod extract;
pub mod key;
pub mod query;
pub mod request;
mod spans;
pub mod store;
pub mod stream;
pub mod time;
pub mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use store::{LogError, LogStore};
use writer::{CoreLog, Writer};

/// Bifrost's default `log_retention_days`.
pub const DEFAULT_RETENTION_DAYS: u64 = 365;

/// What `client` says about logging, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Keep inputs and outputs (`!disable_content_logging`).
    pub content: bool,
    /// Request headers copied into each row's `metadata` (lower-cased).
    pub headers: Vec<String>,
    /// Days rows are kept (`log_retention_days`; 0 means 365).
    pub retention_days: u64,
}

impl LogSettings {
    /// The retention as a duration.
    pub fn retention(&self) -> Duration {
        let days = if self.retention_days == 0 {
            DEFAULT_RETENTION_DAYS
        } else {
            self.retention_days
        };
        Duration::from_secs(days.saturating_mul(86_400))
    }
}

/// The running request log: its store and writer thread.
#[derive(Debug)]
pub struct Logging {
    store: Arc<LogStore>,
    writer: Writer,
    settings: Arc<LogSettings>,
}

impl Logging {
    /// Opens the store in `app_dir` and starts the writer.
    pub fn start(app_dir: &Path, settings: LogSettings) -> Result<Arc<Self>, LogError> {
        let store = Arc::new(LogStore::open(app_dir)?);
        let writer = Writer::start(
            Arc::clone(&store),
            settings.retention(),
            writer::QUEUE_PER_CORE,
        )
        .map_err(|source| LogError::Dir {
            path: store.path().to_path_buf(),
            source,
        })?;
        Ok(Arc::new(Self {
            store,
            writer,
            settings: Arc::new(settings),
        }))
    }

    /// A worker's logger (its own queue to the writer).
    pub fn core(&self) -> CoreLogger {
        CoreLogger {
            sink: self.writer.core(),
            settings: Arc::clone(&self.settings),
        }
    }

    /// The store, for the admin API.
    pub fn store(&self) -> &LogStore {
        &self.store
    }

    /// Entries dropped so far (full queues, failed commits).
    pub fn dropped(&self) -> u64 {
        self.writer.counters().dropped.load(Ordering::Relaxed)
    }

    /// Commits what is queued and stops the writer (at shutdown).
    pub fn shutdown(&self, wait: Duration) {
        self.writer.shutdown(wait);
    }
}

/// One worker's logger.
#[derive(Debug, Clone)]
pub struct CoreLogger {
    sink: CoreLog,
    settings: Arc<LogSettings>,
}

impl CoreLogger {
    /// The settings.
    pub fn settings(&self) -> &LogSettings {
        &self.settings
    }

    /// Queues a finished entry (dropped and counted when this core's queue is full).
    pub fn push(&self, entry: entry::LogEntry) {
        self.sink.push(entry);
    }
}
