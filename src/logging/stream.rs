//! A streamed answer's row: it travels with the relay, keeps the events it needs (reference
//! counted, not parsed) and is pushed to the writer when the relay is dropped, i.e. when the
//! stream ended or the client went away.

use std::time::Instant;

use bytes::Bytes;
use serde_json::{Value, json};

use super::CoreLogger;
use super::entry::LogEntry;

/// Bytes of events kept for the answer text when content logging is on.
const MAX_KEPT_BYTES: usize = 256 * 1024;

/// Events mentioning `usage` kept (the last ones carry the totals).
const MAX_USAGE_EVENTS: usize = 8;

/// A streamed request's row in the making.
#[derive(Debug)]
pub struct StreamLog {
    logger: CoreLogger,
    entry: Option<LogEntry>,
    started: Instant,
    kept_bytes: usize,
    usage_events: usize,
}

impl StreamLog {
    /// Follows the stream of `entry`, a request that started at `started`.
    pub fn new(logger: CoreLogger, entry: LogEntry, started: Instant) -> Self {
        Self {
            logger,
            entry: Some(entry),
            started,
            kept_bytes: 0,
            usage_events: 0,
        }
    }

    /// Sees one event on its way to the client.
    pub fn observe(&mut self, ev: &Bytes) {
        let Some(entry) = &mut self.entry else {
            return;
        };
        if entry.content && self.kept_bytes + ev.len() <= MAX_KEPT_BYTES {
            self.kept_bytes += ev.len();
            entry.events.push(ev.clone());
            return;
        }
        // A SIMD scan; only the few events that carry usage are kept.
        if self.usage_events < MAX_USAGE_EVENTS && crate::json::mentions_usage(ev) {
            self.usage_events += 1;
            entry.events.push(ev.clone());
        }
    }

    /// The stream failed: `error` is the Bifrost error JSON sent as its last event.
    pub fn fail(&mut self, error: Value) {
        if let Some(e) = &mut self.entry {
            e.stream_error = Some(error);
        }
    }

    /// The stream is over: `complete` unless the client went away first.
    pub fn finish(mut self, complete: bool) {
        let Some(mut entry) = self.entry.take() else {
            return;
        };
        if !complete && entry.stream_error.is_none() {
            entry.stream_error = Some(json!({
                "is_bifrost_error": true,
                "error": {
                    "type": "request_cancelled",
                    "message": "the client closed the connection before the stream finished"
                }
            }));
        }
        entry.latency_ms = self.started.elapsed().as_secs_f64() * 1e3;
        self.logger.push(entry);
    }
}
