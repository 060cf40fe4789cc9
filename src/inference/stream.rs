//! Relays a provider's SSE stream to the client one event per write.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::admission::Permit;
use crate::error::{ErrorContext, GatewayError, ProviderError};
use crate::providers::openai;
use crate::sse::{self, SseFramer};
use crate::upstream::Response;

/// A live upstream stream, yielding complete SSE events.
///
/// Holds the provider's concurrency slot until the stream ends; dropping it (the client went
/// away) drops the upstream response, which closes that connection and so cancels the request.
pub struct SseRelay {
    resp: Response,
    framer: SseFramer,
    ready: VecDeque<Bytes>,
    idle_timeout: Duration,
    finished: bool,
    _permit: Option<Permit>,
}

impl SseRelay {
    /// Wraps an upstream response whose status was 2xx.
    pub fn new(resp: Response, idle_timeout: Duration, permit: Option<Permit>) -> Self {
        Self {
            resp,
            framer: SseFramer::new(),
            ready: VecDeque::new(),
            idle_timeout,
            finished: false,
            _permit: permit,
        }
    }

    /// Keeps the provider's concurrency slot until the stream ends.
    pub fn hold(&mut self, permit: Option<Permit>) {
        self._permit = permit;
    }

    /// Reads the first event; if it carries an `error` object, returns it as a provider error
    /// (so the request can still be retried or fall back: nothing was sent to the client yet).
    pub async fn first_event_error(&mut self) -> Option<ProviderError> {
        let first = self.next_event().await?;
        let data = sse::event_data(&first);
        let err = data.as_deref().and_then(error_in_data);
        if err.is_none() {
            self.ready.push_front(first);
        }
        err
    }

    /// An event that is already complete, without waiting for the upstream (None if none).
    pub fn next_ready(&mut self) -> Option<Bytes> {
        if let Some(ev) = self.ready.pop_front() {
            return Some(ev);
        }
        // A framing error is left for `next_event`, which reports it.
        self.framer.next_event().ok().flatten()
    }

    /// The next complete event (raw bytes, blank-line terminated), or `None` at the end.
    pub async fn next_event(&mut self) -> Option<Bytes> {
        loop {
            if let Some(ev) = self.ready.pop_front() {
                return Some(ev);
            }
            match self.framer.next_event() {
                Ok(Some(ev)) => return Some(ev),
                Ok(None) => {}
                Err(e) => {
                    // An event larger than the framer allows: end the stream with an error.
                    self.finished = true;
                    let _ = self.framer.take_rest();
                    return Some(error_event(&GatewayError::Network(e.to_string())));
                }
            }
            if self.finished {
                // A last event without its blank line still reaches the client, terminated.
                return self
                    .framer
                    .take_rest()
                    .filter(|r| !r.iter().all(u8::is_ascii_whitespace))
                    .map(|rest| {
                        let mut out = BytesMut::with_capacity(rest.len() + 2);
                        out.put_slice(&rest);
                        out.put_slice(b"\n\n");
                        out.freeze()
                    });
            }
            match monoio::time::timeout(self.idle_timeout, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.framer.push(&chunk),
                Ok(Ok(None)) => self.finished = true,
                Ok(Err(e)) => {
                    self.finished = true;
                    self.ready
                        .push_back(error_event(&GatewayError::Network(e.to_string())));
                }
                Err(_) => {
                    self.finished = true;
                    self.ready
                        .push_back(error_event(&GatewayError::Network(format!(
                            "stream idle for more than {} seconds",
                            self.idle_timeout.as_secs()
                        ))));
                }
            }
        }
    }
}

/// Extracts a provider error from an event's data, when it is `{"error": {...}}`.
fn error_in_data(data: &[u8]) -> Option<ProviderError> {
    // Cheap pre-check: most events carry no error and are never decoded.
    memchr::memmem::find(data, b"\"error\"")?;
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let e = v.get("error")?;
    if e.is_null() {
        return None;
    }
    let status = e
        .get("status_code")
        .or_else(|| v.get("status_code"))
        .and_then(|s| s.as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    Some(openai::parse_error(status, data))
}

/// An SSE event carrying a Bifrost error: `data: {"error": <bifrost error>}`.
pub fn error_event(err: &GatewayError) -> Bytes {
    let body = err.to_bifrost(&ErrorContext::default());
    let mut out = BytesMut::with_capacity(body.len() + 24);
    out.put_slice(b"data: {\"error\":");
    out.put_slice(&body);
    out.put_slice(b"}\n\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_error_events() {
        let e = error_in_data(br#"{"error":{"message":"overloaded","type":"server_error"}}"#)
            .expect("error");
        assert_eq!(e.message, "overloaded");
        assert_eq!(e.status, 500);
        assert!(error_in_data(br#"{"choices":[{"delta":{"content":"error"}}]}"#).is_none());
        assert!(error_in_data(br#"{"id":"x","error":null}"#).is_none());
    }

    #[test]
    fn error_event_is_sse_json() {
        let ev = error_event(&GatewayError::Network("reset".into()));
        assert!(ev.starts_with(b"data: {\"error\":"));
        assert!(ev.ends_with(b"}\n\n"));
        let json = &ev[6..ev.len() - 2];
        let v: serde_json::Value = serde_json::from_slice(json).expect("json");
        assert_eq!(v["error"]["status_code"], 502);
    }
}
