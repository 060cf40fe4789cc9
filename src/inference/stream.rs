//! Relays a provider's SSE stream to the client one event per write.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::admission::Permit;
use super::codec::{self, ClientFormat, StreamTranslator};
use crate::error::{ErrorContext, GatewayError, ProviderError};
use crate::logging::stream::StreamLog;
use crate::plugins::{ChainRun, ChunkOutcome};
use crate::providers::bedrock::EventStreamFramer;
use crate::providers::{self, catalog::WireFormat};
use crate::sse::{self, SseFramer};
use crate::timer::PooledTimer;
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
    /// Bounds each wait for the next upstream chunk (re-armed per chunk).
    timer: PooledTimer,
    finished: bool,
    client: ClientFormat,
    translator: Option<StreamTranslator>,
    translated: Vec<Bytes>,
    _permit: Option<Permit>,
    /// AWS event-stream framing (Bedrock) instead of SSE; see the binary-framing section below.
    binary: Option<EventStreamFramer>,
    /// The request's plugin run: each event goes through the stream-chunk hooks on its way out.
    hooks: Option<ChainRun>,
    /// A stream hook ended the stream: nothing more is sent.
    ended: bool,
    /// `send_back_raw_response`: each chunk carries the provider event it came from.
    echo_raw: bool,
    /// The request's log row, pushed when the relay is dropped (request logging on).
    log: Option<Box<StreamLog>>,
    /// A failure seen before a log was attached.
    early_failure: Option<serde_json::Value>,
}

impl SseRelay {
    /// Wraps an upstream response whose status was 2xx; `translator` converts events when the
    /// client speaks another format than the provider. `timer` bounds each idle wait.
    pub fn new(
        resp: Response,
        idle_timeout: Duration,
        timer: PooledTimer,
        client: ClientFormat,
        translator: Option<StreamTranslator>,
    ) -> Self {
        Self {
            resp,
            framer: SseFramer::new(),
            // One upstream read often holds many events: start with room for them.
            ready: VecDeque::with_capacity(16),
            idle_timeout,
            timer,
            finished: false,
            client,
            translator,
            translated: Vec::new(),
            _permit: None,
            binary: None,
            hooks: None,
            ended: false,
            echo_raw: false,
            log: None,
            early_failure: None,
        }
    }

    /// Logs this stream: `log` sees every event sent and is pushed when the relay is dropped.
    pub fn attach_log(&mut self, mut log: StreamLog) {
        // Events read before the relay reached the client (the first one) are queued already.
        for ev in &self.ready {
            log.observe(ev);
        }
        if let Some(e) = self.early_failure.take() {
            log.fail(e);
        }
        self.log = Some(Box::new(log));
    }

    /// Records `err`, which ends the stream, for its log row.
    fn log_failure(&mut self, err: &GatewayError) {
        // Rare (a failing stream), so the error JSON is rendered even when nothing logs it.
        let Ok(v) = serde_json::from_slice(&err.to_bifrost(&ErrorContext::default())) else {
            return;
        };
        match &mut self.log {
            Some(log) => log.fail(v),
            None => self.early_failure = Some(v),
        }
    }

    /// Puts each upstream event's data into the chunks made from it, as
    /// `extra_fields.raw_response` (Bifrost's `send_back_raw_response` on streams).
    pub fn echo_raw_response(&mut self) {
        self.echo_raw = true;
    }

    /// Runs every event sent from now on (those already queued included) through `run`'s
    /// stream-chunk hooks.
    pub fn attach_hooks(&mut self, run: ChainRun) {
        self.hooks = Some(run);
    }

    /// The next queued event, after the stream hooks (which may replace or drop it, or end
    /// the stream with an error event).
    fn pop_ready(&mut self) -> Option<Bytes> {
        loop {
            let ev = self.ready.pop_front()?;
            let Some(run) = &mut self.hooks else {
                return Some(ev);
            };
            match run.stream_chunk(&ev) {
                ChunkOutcome::Send => return Some(ev),
                ChunkOutcome::Replace(b) => return Some(b),
                ChunkOutcome::Skip => continue,
                ChunkOutcome::End(b) => {
                    // Dropping the upstream response closes that connection: the provider
                    // stops generating.
                    self.ready.clear();
                    self.finished = true;
                    self.ended = true;
                    return Some(b);
                }
            }
        }
    }

    /// Queues one upstream event for the client, translated if needed.
    fn emit(&mut self, raw: Bytes) {
        let first = self.ready.len();
        match &mut self.translator {
            None => self.ready.push_back(raw.clone()),
            Some(t) => {
                t.push(&raw, &mut self.translated);
                self.ready.extend(self.translated.drain(..));
            }
        }
        if self.echo_raw
            && let Some(data) = sse::event_data(&raw)
        {
            for ev in self.ready.iter_mut().skip(first) {
                if let Some(with) = with_raw_response(ev, &data) {
                    *ev = with;
                }
            }
        }
        if let Some(log) = &mut self.log {
            for ev in self.ready.iter().skip(first) {
                log.observe(ev);
            }
        }
    }

    /// The upstream ended: lets the translator complete (or flag as cut short) the stream.
    fn finish_translation(&mut self) {
        if let Some(t) = &mut self.translator {
            t.finish(&mut self.translated);
            self.ready.extend(self.translated.drain(..));
        }
    }

    /// Keeps the provider's concurrency slot until the stream ends.
    pub fn hold(&mut self, permit: Option<Permit>) {
        self._permit = permit;
    }

    /// Reads the first upstream event; if it carries an `error` object, returns it as a
    /// provider error (so the request can still be retried or fall back: nothing was sent to the
    /// client yet). Otherwise the event is queued for the client.
    pub async fn first_event_error(&mut self, provider: WireFormat) -> Option<ProviderError> {
        let first = match self.next_raw().await? {
            Ok(ev) => ev,
            Err(e) => {
                self.log_failure(&e);
                self.ready
                    .push_back(codec::stream_error_event(self.client, &e));
                return None;
            }
        };
        if self.binary.is_some() {
            return self.first_message_error(first);
        }
        let data = sse::event_data(&first);
        let err = data.as_deref().and_then(|d| error_in_data(provider, d));
        if err.is_none() {
            self.emit(first);
        }
        err
    }

    /// An event that is already complete, without waiting for the upstream (None if none).
    pub fn next_ready(&mut self) -> Option<Bytes> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(ev) = self.pop_ready() {
                return Some(ev);
            }
            // Framing errors are left for `next_event`, which reports them. Upstream chunks the
            // last socket read already brought in are framed too, so they share one write.
            if let Some(framer) = &mut self.binary {
                match framer.next_message() {
                    Ok(Some(raw)) => self.emit(raw),
                    Ok(None) => framer.push(&self.resp.buffered_chunk()?),
                    Err(_) => return None,
                }
                continue;
            }
            match self.framer.next_event() {
                Ok(Some(raw)) => self.emit(raw),
                Ok(None) if self.finished => return None,
                Ok(None) => self.framer.push(&self.resp.buffered_chunk()?),
                Err(_) => return None,
            }
        }
    }

    /// The next event for the client (raw bytes, blank-line terminated), or `None` at the end.
    pub async fn next_event(&mut self) -> Option<Bytes> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(ev) = self.pop_ready() {
                return Some(ev);
            }
            if self.finished {
                return None;
            }
            match self.next_raw().await {
                Some(Ok(raw)) => self.emit(raw),
                Some(Err(e)) => {
                    self.finished = true;
                    self.log_failure(&e);
                    self.ready
                        .push_back(codec::stream_error_event(self.client, &e));
                }
                None => {
                    self.finished = true;
                    self.finish_translation();
                }
            }
        }
    }

    /// The next complete upstream event, an error that ends the stream, or `None` at its end.
    async fn next_raw(&mut self) -> Option<Result<Bytes, GatewayError>> {
        if self.binary.is_some() {
            return self.next_raw_message().await;
        }
        loop {
            match self.framer.next_event() {
                Ok(Some(ev)) => return Some(Ok(ev)),
                Ok(None) => {}
                Err(e) => {
                    // An event larger than the framer allows: end the stream with an error.
                    let _ = self.framer.take_rest();
                    return Some(Err(GatewayError::Network(e.to_string())));
                }
            }
            if self.finished {
                // A last event without its blank line still counts, terminated.
                let rest = self.framer.take_rest()?;
                if rest.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let mut out = BytesMut::with_capacity(rest.len() + 2);
                out.put_slice(&rest);
                out.put_slice(b"\n\n");
                return Some(Ok(out.freeze()));
            }
            match self
                .timer
                .within(self.idle_timeout, self.resp.chunk())
                .await
            {
                Ok(Ok(Some(chunk))) => self.framer.push(&chunk),
                Ok(Ok(None)) => self.finished = true,
                Ok(Err(e)) => return Some(Err(GatewayError::Network(e.to_string()))),
                Err(_) => {
                    return Some(Err(GatewayError::Network(format!(
                        "stream idle for more than {} seconds",
                        self.idle_timeout.as_secs()
                    ))));
                }
            }
        }
    }
}

impl Drop for SseRelay {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            // Dropped before the upstream ended: the client went away mid-stream.
            log.finish(self.finished || self.ended);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Binary framing: AWS event-stream (`application/vnd.amazon.eventstream`, Bedrock ConverseStream).
// The relay hands whole messages (CRCs checked) to the translator instead of SSE events; the
// SSE path above is untouched when `binary` is `None`.

impl SseRelay {
    /// Frames the upstream body as AWS event-stream messages instead of SSE events.
    pub fn use_event_stream(&mut self) {
        self.binary = Some(EventStreamFramer::new());
    }

    /// `first_event_error` for event streams: an exception message first is the provider's
    /// error (still retryable); anything else is queued for the client.
    fn first_message_error(&mut self, first: Bytes) -> Option<ProviderError> {
        let err = providers::bedrock::frame_error(&first);
        if err.is_none() {
            self.emit(first);
        }
        err
    }

    /// `next_raw` for event streams: the next whole message, an error that ends the stream
    /// (bad checksum, idle upstream), or `None` at the end (a partial message left at the end
    /// is dropped; the translator reports the stream as cut short).
    async fn next_raw_message(&mut self) -> Option<Result<Bytes, GatewayError>> {
        loop {
            let framer = self.binary.as_mut()?;
            match framer.next_message() {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => {}
                Err(e) => {
                    // The stream cannot be resynchronised after a bad frame.
                    let _ = framer.take_rest();
                    self.finished = true;
                    return Some(Err(GatewayError::Network(e.to_string())));
                }
            }
            if self.finished {
                let _ = framer.take_rest();
                return None;
            }
            match self
                .timer
                .within(self.idle_timeout, self.resp.chunk())
                .await
            {
                Ok(Ok(Some(chunk))) => framer.push(&chunk),
                Ok(Ok(None)) => self.finished = true,
                Ok(Err(e)) => return Some(Err(GatewayError::Network(e.to_string()))),
                Err(_) => {
                    return Some(Err(GatewayError::Network(format!(
                        "stream idle for more than {} seconds",
                        self.idle_timeout.as_secs()
                    ))));
                }
            }
        }
    }
}

/// `ev` (`data: {...}` and its blank line) with `"extra_fields":{"raw_response":raw}` added to
/// its object; `None` for events that are not a JSON object (`[DONE]`).
fn with_raw_response(ev: &[u8], raw: &[u8]) -> Option<Bytes> {
    let data = sse::event_data(ev)?;
    let end = data.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if data.first() != Some(&b'{') || data[end] != b'}' {
        return None;
    }
    let mut obj = BytesMut::with_capacity(data.len() + raw.len() + 48);
    obj.put_slice(&data[..end]);
    if data[1..end].iter().any(|b| !b.is_ascii_whitespace()) {
        obj.put_u8(b',');
    }
    obj.put_slice(b"\"extra_fields\":{\"raw_response\":");
    super::attempt::put_raw(&mut obj, raw);
    obj.put_slice(b"}}");
    let mut out = BytesMut::with_capacity(obj.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(&obj);
    out.put_slice(b"\n\n");
    Some(out.freeze())
}

/// Extracts a provider error from an event's data, when it is `{"error": {...}}` (OpenAI) or
/// `{"type": "error", "error": {...}}` (Anthropic).
fn error_in_data(provider: WireFormat, data: &[u8]) -> Option<ProviderError> {
    // Cheap pre-check: most events carry no error and are never decoded.
    if !crate::json::mentions_error(data) {
        return None;
    }
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
        .unwrap_or_else(
            || match (provider, e.get("type").and_then(|t| t.as_str())) {
                // Anthropic names the status by type (overloaded_error is 529, rate_limit_error 429):
                // keep it, so the retry policy classifies the error as the status would.
                (WireFormat::Anthropic, Some(kind)) => crate::providers::anthropic::status_of(kind),
                _ => 500,
            },
        );
    Some(providers::parse_error(provider, status, data))
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
        let e = error_in_data(
            WireFormat::OpenAi,
            br#"{"error":{"message":"overloaded","type":"server_error"}}"#,
        )
        .expect("error");
        assert_eq!(e.message, "overloaded");
        assert_eq!(e.status, 500);
        let openai = WireFormat::OpenAi;
        assert!(error_in_data(openai, br#"{"choices":[{"delta":{"content":"error"}}]}"#).is_none());
        assert!(error_in_data(openai, br#"{"id":"x","error":null}"#).is_none());
        let a = error_in_data(
            WireFormat::Anthropic,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
        )
        .expect("anthropic error");
        assert_eq!(a.message, "busy");
        assert_eq!(a.status, 529);
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
