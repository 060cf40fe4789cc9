//! The per-request side of logging, on the worker: what is taken at the start of a request and
//! how its entry is built at the end. Nothing here parses JSON or touches the store.

use std::ops::Range;
use std::time::Instant;

use bytes::Bytes;

use super::CoreLogger;
use super::entry::{LogEntry, new_id};
use super::extract::MAX_PARSED_BODY;
use super::stream::StreamLog;
use super::time::now_ns;
use crate::http::head::RequestHead;
use crate::server::reply::{Reply, ReplyBody};

/// A request being logged.
#[derive(Debug)]
pub struct RequestLog {
    logger: CoreLogger,
    id: String,
    ts_ns: u64,
    started: Instant,
    request: Option<Bytes>,
    metadata: Vec<(String, String)>,
}

/// What the inference path learnt about the request, for its row.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Request type (with the stream flag folded in).
    pub object: &'static str,
    /// Provider that answered (or failed last).
    pub provider: String,
    /// Model asked of it.
    pub model: String,
    /// Retries on that provider.
    pub retries: u32,
    /// Fallback position (0 = primary).
    pub fallback_index: u32,
    /// Key id and name (never the value).
    pub key: Option<(String, String)>,
    /// Span of the chat history in the client's body (see [`LogEntry::request_messages`]).
    pub messages: Option<Range<usize>>,
}

impl RequestLog {
    /// Starts logging a request whose client body is `body`.
    pub fn begin(logger: &CoreLogger, head: &RequestHead, body: &Bytes) -> Self {
        let settings = logger.settings();
        let metadata = settings
            .headers
            .iter()
            .filter_map(|h| head.header(h).map(|v| (h.clone(), v.to_string())))
            .collect();
        let ts_ns = now_ns();
        Self {
            logger: logger.clone(),
            id: new_id(ts_ns),
            ts_ns,
            started: Instant::now(),
            // Bodies too large to be parsed are not kept alive for nothing.
            request: (settings.content && body.len() <= MAX_PARSED_BODY).then(|| body.clone()),
            metadata,
        }
    }

    /// Finishes the row for `reply`: pushed now for a complete answer, or handed to the relay
    /// of a streamed one, which pushes it when the stream ends.
    pub fn finish(self, outcome: Outcome, reply: &mut Reply) {
        let (key_id, key_name) = outcome.key.unwrap_or_default();
        let content = self.logger.settings().content;
        let mut entry = LogEntry {
            id: self.id,
            ts_ns: self.ts_ns,
            object: outcome.object,
            provider: outcome.provider,
            model: outcome.model,
            stream: false,
            retries: outcome.retries,
            fallback_index: outcome.fallback_index,
            key_id,
            key_name,
            latency_ms: 0.0,
            status: reply.status,
            request: self.request,
            request_messages: outcome.messages,
            response: None,
            events: Vec::new(),
            stream_error: None,
            metadata: self.metadata,
            content,
        };
        match &mut reply.body {
            ReplyBody::Full(body) => {
                entry.latency_ms = self.started.elapsed().as_secs_f64() * 1e3;
                entry.response = (body.len() <= MAX_PARSED_BODY).then(|| body.clone());
                self.logger.push(entry);
            }
            ReplyBody::Stream(relay) => {
                entry.stream = true;
                relay.attach_log(StreamLog::new(self.logger, entry, self.started));
            }
        }
    }
}
