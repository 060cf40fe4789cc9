//! State shared by every worker thread.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use crate::{
    faults::Script,
    record::{Recorder, Stats},
};

/// Behaviour fixed at startup (from the command line).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Latency before every inference response head.
    pub latency: Duration,
    /// Pause between streamed events.
    pub chunk_delay: Duration,
    /// Events per streamed response (at least 3).
    pub chunks: usize,
    /// Whether inference requests are recorded.
    pub record: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            chunks: 20,
            record: true,
        }
    }
}

/// Everything the workers share.
#[derive(Debug, Default)]
pub struct Shared {
    /// Startup settings.
    pub settings: Settings,
    /// Counters for `/_mock/stats`.
    pub stats: Stats,
    /// The request ring for `/_mock/requests`.
    pub recorder: Recorder,
    /// The scripted step queue.
    pub script: Script,
    response_ids: AtomicU64,
    connection_ids: AtomicU64,
}

impl Shared {
    /// Shared state for `settings`.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// The next response id number (`chatcmpl-mock-N`), starting at 1.
    pub fn next_response_id(&self) -> u64 {
        self.response_ids.fetch_add(1, Relaxed) + 1
    }

    /// The next connection sequence number, starting at 1.
    pub fn next_connection_id(&self) -> u64 {
        self.connection_ids.fetch_add(1, Relaxed) + 1
    }
}
