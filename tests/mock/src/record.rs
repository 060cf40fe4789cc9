//! What the mock saw: counters (`/_mock/stats`) and the request ring (`/_mock/requests`).

use std::{
    collections::VecDeque,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use base64::Engine;
use serde_json::{Value, json};

/// How many requests the ring keeps.
pub const RING_CAPACITY: usize = 10_000;

/// Connection and request counters shared by all workers.
///
/// "Inference" means any request outside `/_mock/*` and `/health`: connections that only carried
/// control traffic (a test asking for stats) are counted in `accepted*` only, so that a test can
/// check the gateway's connection reuse without subtracting its own connections.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    connections: AtomicU64,
    open_connections: AtomicU64,
    accepted: AtomicU64,
    accepted_open: AtomicU64,
}

impl Stats {
    /// Counts one inference request.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    /// The stats JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests.load(Relaxed),
            "connections": self.connections.load(Relaxed),
            "open_connections": self.open_connections.load(Relaxed),
            "accepted_connections": self.accepted.load(Relaxed),
            "accepted_open_connections": self.accepted_open.load(Relaxed),
        })
    }

    /// Zeroes the cumulative counters (open-connection gauges stay true).
    pub fn reset(&self) {
        self.requests.store(0, Relaxed);
        self.connections.store(0, Relaxed);
        self.accepted.store(0, Relaxed);
    }
}

/// Tracks one accepted connection in [`Stats`]; decrements the open gauges on drop.
pub struct ConnGuard<'a> {
    stats: &'a Stats,
    inference: bool,
}

impl<'a> ConnGuard<'a> {
    /// Counts an accepted connection.
    pub fn accept(stats: &'a Stats) -> Self {
        stats.accepted.fetch_add(1, Relaxed);
        stats.accepted_open.fetch_add(1, Relaxed);
        Self {
            stats,
            inference: false,
        }
    }

    /// Marks the connection as carrying inference traffic (counted once).
    pub fn mark_inference(&mut self) {
        if !self.inference {
            self.inference = true;
            self.stats.connections.fetch_add(1, Relaxed);
            self.stats.open_connections.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        self.stats.accepted_open.fetch_sub(1, Relaxed);
        if self.inference {
            self.stats.open_connections.fetch_sub(1, Relaxed);
        }
    }
}

/// One recorded inference request.
#[derive(Debug, Clone)]
pub struct Record {
    /// Method as sent.
    pub method: String,
    /// Request target (path and query).
    pub path: String,
    /// Headers in order, names in original case.
    pub headers: Vec<(String, String)>,
    /// Body bytes (decoded if chunked).
    pub body: Vec<u8>,
    /// Sequence number of the connection (1-based, in accept order across workers).
    pub connection: u64,
    /// Sequence number of the request on its connection (1-based).
    pub connection_request: u64,
    /// Arrival time, ms since the Unix epoch.
    pub time_ms: u64,
}

impl Record {
    /// The record as the JSON object `/_mock/requests` returns.
    pub fn to_json(&self) -> Value {
        let (body, encoding) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&self.body),
                "base64",
            ),
        };
        let headers: Vec<Value> = self
            .headers
            .iter()
            .map(|(n, v)| json!([n, v]))
            .collect::<Vec<_>>();
        json!({
            "method": self.method,
            "path": self.path,
            "headers": headers,
            "body": body,
            "body_encoding": encoding,
            "connection": self.connection,
            "connection_request": self.connection_request,
            "time_ms": self.time_ms,
        })
    }
}

/// A bounded ring of the last [`RING_CAPACITY`] requests, oldest first.
#[derive(Debug, Default)]
pub struct Recorder {
    ring: Mutex<VecDeque<Record>>,
}

impl Recorder {
    /// Appends a record, dropping the oldest when full.
    pub fn push(&self, record: Record) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len() >= RING_CAPACITY {
            ring.pop_front();
        }
        ring.push_back(record);
    }

    /// All records as a JSON array, oldest first.
    pub fn to_json(&self) -> Value {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        Value::Array(ring.iter().map(Record::to_json).collect())
    }

    /// Empties the ring; returns how many records it held.
    pub fn clear(&self) -> usize {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let n = ring.len();
        ring.clear();
        n
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Seconds since the Unix epoch (`created` fields).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8]) -> Record {
        Record {
            method: "POST".into(),
            path: "/v1/x?q=1".into(),
            headers: vec![("X-Mixed-Case".into(), "v".into())],
            body: body.to_vec(),
            connection: 3,
            connection_request: 2,
            time_ms: 1,
        }
    }

    #[test]
    fn ring_is_bounded_and_oldest_first() {
        let rec = Recorder::default();
        for i in 0..RING_CAPACITY + 5 {
            let mut r = record(b"");
            r.time_ms = i as u64;
            rec.push(r);
        }
        let all = rec.to_json();
        let arr = all.as_array().expect("array");
        assert_eq!(arr.len(), RING_CAPACITY);
        assert_eq!(arr[0]["time_ms"], 5);
        assert_eq!(rec.clear(), RING_CAPACITY);
        assert_eq!(rec.to_json(), json!([]));
    }

    #[test]
    fn body_is_text_or_base64() {
        let text = record(b"{\"a\":1}").to_json();
        assert_eq!(text["body"], "{\"a\":1}");
        assert_eq!(text["body_encoding"], "utf8");
        assert_eq!(text["headers"], json!([["X-Mixed-Case", "v"]]));
        let bin = record(&[0xff, 0x00, 0x80]).to_json();
        assert_eq!(bin["body"], "/wCA");
        assert_eq!(bin["body_encoding"], "base64");
    }

    #[test]
    fn guard_counts_inference_connections_once() {
        let stats = Stats::default();
        {
            let mut g = ConnGuard::accept(&stats);
            g.mark_inference();
            g.mark_inference();
            let _control_only = ConnGuard::accept(&stats);
            let s = stats.to_json();
            assert_eq!(s["connections"], 1);
            assert_eq!(s["open_connections"], 1);
            assert_eq!(s["accepted_connections"], 2);
            assert_eq!(s["accepted_open_connections"], 2);
        }
        let s = stats.to_json();
        assert_eq!(s["open_connections"], 0);
        assert_eq!(s["accepted_open_connections"], 0);
        assert_eq!(s["connections"], 1);
    }
}
