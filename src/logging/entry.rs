//! What a log row holds: the entry a worker hands over (cheap to build: counters, names and
//! reference-counted body buffers), and the row the writer thread makes of it.
//!
//! A row is stored in two parts: the [`LogSummary`] every search reads and filters on, and the
//! [`LogContent`] (messages, error, metadata) read only for the rows a page shows or a content
//! search needs.

use std::ops::Range;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::format_ns;
use super::{answer, extract};

/// Token counts of one request (Bifrost's `token_usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
    /// Their total, as the provider reported it.
    pub total_tokens: u64,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Answered.
    Success,
    /// Answered with an error.
    Error,
}

impl Status {
    /// Bifrost's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
        }
    }
}

/// The searchable part of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSummary {
    /// The request id.
    pub id: String,
    /// Start of the request, nanoseconds since the epoch (the row key's prefix).
    pub ts_ns: u64,
    /// Request type (`chat_completion`, `chat_completion_stream`, `embedding`, ...).
    pub object: String,
    /// Provider that served (or failed) the request.
    pub provider: String,
    /// Model asked of that provider.
    pub model: String,
    /// Retries on the provider that answered.
    pub number_of_retries: u32,
    /// 0 for the primary, N for the N-th entry of `fallbacks`.
    pub fallback_index: u32,
    /// Id of the key used (empty for keyless providers).
    pub selected_key_id: String,
    /// Name of the key used.
    pub selected_key_name: String,
    /// Whole request time in milliseconds.
    pub latency: f64,
    /// Tokens, when the provider reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_usage: Option<TokenUsage>,
    /// How it ended.
    pub status: Status,
    /// A streamed answer.
    pub stream: bool,
}

impl LogSummary {
    /// Total tokens (0 when unknown), for filters and sorting.
    pub fn tokens(&self) -> u64 {
        self.token_usage.map_or(0, |u| u.total_tokens)
    }

    /// Appends the summary as JSON, byte for byte what serde_json writes for it. Written by
    /// hand: the writer encodes one per row, and the generic serializer spent most of its time
    /// on the member names.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let string = |out: &mut Vec<u8>, name: &[u8], v: &str| {
            out.extend_from_slice(name);
            crate::json::write_json_string(out, v);
        };
        let number = |out: &mut Vec<u8>, name: &[u8], v: u64| {
            out.extend_from_slice(name);
            crate::http::put_decimal(out, v);
        };
        string(out, b"{\"id\":", &self.id);
        number(out, b",\"ts_ns\":", self.ts_ns);
        string(out, b",\"object\":", &self.object);
        string(out, b",\"provider\":", &self.provider);
        string(out, b",\"model\":", &self.model);
        number(
            out,
            b",\"number_of_retries\":",
            self.number_of_retries.into(),
        );
        number(out, b",\"fallback_index\":", self.fallback_index.into());
        string(out, b",\"selected_key_id\":", &self.selected_key_id);
        string(out, b",\"selected_key_name\":", &self.selected_key_name);
        out.extend_from_slice(b",\"latency\":");
        // serde_json's own float formatting (and `null` for a non-finite value).
        let _ = serde_json::to_writer(&mut *out, &self.latency);
        if let Some(u) = &self.token_usage {
            number(
                out,
                b",\"token_usage\":{\"prompt_tokens\":",
                u.prompt_tokens,
            );
            number(out, b",\"completion_tokens\":", u.completion_tokens);
            number(out, b",\"total_tokens\":", u.total_tokens);
            out.push(b'}');
        }
        string(out, b",\"status\":", self.status.as_str());
        out.extend_from_slice(if self.stream {
            b",\"stream\":true}"
        } else {
            b",\"stream\":false}"
        });
    }
}

/// The heavy part of a row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogContent {
    /// Bifrost error JSON, for errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<Value>,
    /// Chat (or text completion) input messages, when content logging is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_history: Option<Value>,
    /// Responses API input items, when content logging is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses_input_history: Option<Value>,
    /// The answer message, when content logging is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_message: Option<Value>,
    /// Request headers named by `client.logging_headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl LogContent {
    /// Whether there is nothing to store.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A row as the API serves it (Bifrost's `Log` JSON).
pub fn row_json(summary: &LogSummary, content: Option<&LogContent>) -> Value {
    let ts = format_ns(summary.ts_ns);
    let mut m = Map::new();
    m.insert("id".into(), summary.id.clone().into());
    m.insert("timestamp".into(), ts.clone().into());
    m.insert("object".into(), summary.object.clone().into());
    m.insert("provider".into(), summary.provider.clone().into());
    m.insert("model".into(), summary.model.clone().into());
    m.insert("number_of_retries".into(), summary.number_of_retries.into());
    m.insert("fallback_index".into(), summary.fallback_index.into());
    m.insert(
        "selected_key_id".into(),
        summary.selected_key_id.clone().into(),
    );
    m.insert(
        "selected_key_name".into(),
        summary.selected_key_name.clone().into(),
    );
    m.insert("latency".into(), summary.latency.into());
    if let Some(u) = summary.token_usage {
        m.insert(
            "token_usage".into(),
            serde_json::to_value(u).unwrap_or(Value::Null),
        );
    }
    m.insert("status".into(), summary.status.as_str().into());
    m.insert("stream".into(), summary.stream.into());
    if let Some(c) = content {
        for (name, v) in [
            ("error_details", &c.error_details),
            ("input_history", &c.input_history),
            ("responses_input_history", &c.responses_input_history),
            ("output_message", &c.output_message),
        ] {
            if let Some(v) = v {
                m.insert(name.into(), v.clone());
            }
        }
        if let Some(meta) = &c.metadata {
            m.insert("metadata".into(), Value::Object(meta.clone()));
        }
    }
    m.insert("created_at".into(), ts.into());
    Value::Object(m)
}

/// What a worker hands to the writer for one finished request. Building it copies a few names
/// and clones body buffers (a reference count each); parsing happens on the writer thread.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// The request id.
    pub id: String,
    /// Start of the request, nanoseconds since the epoch.
    pub ts_ns: u64,
    /// Request type.
    pub object: &'static str,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// A streamed answer.
    pub stream: bool,
    /// Retries on the answering provider.
    pub retries: u32,
    /// Fallback position (0 = primary).
    pub fallback_index: u32,
    /// Key id.
    pub key_id: String,
    /// Key name.
    pub key_name: String,
    /// Whole request time in milliseconds.
    pub latency_ms: f64,
    /// HTTP status sent to the client.
    pub status: u16,
    /// The client's body, when content logging is on.
    pub request: Option<Bytes>,
    /// Span of the chat `messages` array in `request`, found (and validated) by the worker's
    /// scan of the body when no `system` member stands beside it: copied as it is.
    pub request_messages: Option<Range<usize>>,
    /// The body sent to the client (non-streamed answers and errors).
    pub response: Option<Bytes>,
    /// Streamed events kept for usage (always) and the answer text (content logging on).
    pub events: Vec<Bytes>,
    /// The error event that ended a stream early, or why it was cut short.
    pub stream_error: Option<Value>,
    /// Request headers named by `client.logging_headers`.
    pub metadata: Vec<(String, String)>,
    /// Content logging is on.
    pub content: bool,
}

impl LogEntry {
    /// Bytes of body buffers this entry keeps alive.
    pub fn held_bytes(&self) -> usize {
        self.request.as_ref().map_or(0, Bytes::len)
            + self.response.as_ref().map_or(0, Bytes::len)
            + self.events.iter().map(Bytes::len).sum::<usize>()
    }

    /// The row the writer stores: usage, messages and error are read out of the bodies here.
    pub fn into_row(self) -> (LogSummary, StoredContent) {
        let failed = self.status >= 400 || self.stream_error.is_some();
        let response = self.response.as_deref();
        // An OpenAI-shaped answer is read in one validating scan; anything else lazily.
        let scanned = response.and_then(answer::read);
        let lazy_response = match scanned {
            Some(_) => None,
            None => response.and_then(extract::Lazy::new),
        };
        // Non-streamed usage sits at the top of every format: read without building the body.
        let mut usage = match &scanned {
            Some(a) => a.usage,
            None => lazy_response.and_then(extract::Lazy::usage),
        };
        let mut content = ContentWriter::default();
        if self.stream {
            let streamed = extract::from_events(&self.events);
            usage = usage.or(streamed.usage);
            if self.content && !streamed.text.is_empty() {
                content.value(
                    "output_message",
                    &extract::assistant_message(&streamed.text),
                );
            }
        }
        if failed {
            let error = self
                .stream_error
                .clone()
                .or_else(|| response.and_then(extract::parse_json));
            if let Some(e) = &error {
                content.value("error_details", e);
            }
        } else if self.content
            && !self.stream
            && let Some(body) = response
        {
            // OpenAI-shaped answers: the message is copied as it is, not parsed and re-encoded.
            let spliced = match &scanned {
                Some(a) => a
                    .message
                    .as_ref()
                    .and_then(|span| body.get(span.clone()))
                    .is_some_and(|m| content.raw_piece("output_message", m)),
                None => content.raw(
                    "output_message",
                    lazy_response,
                    &sonic_rs::pointer!["choices", 0, "message"],
                ),
            };
            if !spliced
                && let Some(m) = extract::parse_json(body).and_then(|r| extract::output_message(&r))
            {
                content.value("output_message", &m);
            }
        }
        if self.content
            && let Some(req) = self.request.as_deref()
        {
            // Chat messages are copied as they are unless a top-level `system` (Anthropic) has to
            // join them. Where the worker's scan found them, nothing is read again.
            let chat = self.object.starts_with("chat");
            let copied = chat
                && self
                    .request_messages
                    .as_ref()
                    .and_then(|span| req.get(span.clone()))
                    .is_some_and(|history| content.raw_piece("input_history", history));
            let lazy_req = (!copied).then(|| extract::Lazy::new(req)).flatten();
            let chat = chat && lazy_req.is_some_and(|r| !r.has_field("system"));
            let spliced = copied
                || (chat
                    && content.raw("input_history", lazy_req, &sonic_rs::pointer!["messages"]));
            if !spliced && let Some(r) = extract::parse_json(req) {
                let input = extract::input(&r, self.object);
                if let Some(h) = &input.history {
                    content.value("input_history", h);
                }
                if let Some(h) = &input.responses {
                    content.value("responses_input_history", h);
                }
            }
        }
        if !self.metadata.is_empty() {
            let meta: Map<String, Value> = self
                .metadata
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            content.value("metadata", &Value::Object(meta));
        }
        let summary = LogSummary {
            id: self.id,
            ts_ns: self.ts_ns,
            object: self.object.to_string(),
            provider: self.provider,
            model: self.model,
            number_of_retries: self.retries,
            fallback_index: self.fallback_index,
            selected_key_id: self.key_id,
            selected_key_name: self.key_name,
            latency: self.latency_ms,
            token_usage: usage,
            status: if failed {
                Status::Error
            } else {
                Status::Success
            },
            stream: self.stream,
        };
        (summary, content.finish())
    }
}

/// A row's content as stored: the JSON object of a [`LogContent`] (empty when it has nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredContent(pub Vec<u8>);

impl StoredContent {
    /// Whether there is nothing to store.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The content, decoded.
    pub fn decode(&self) -> Result<LogContent, serde_json::Error> {
        if self.0.is_empty() {
            return Ok(LogContent::default());
        }
        serde_json::from_slice(&self.0)
    }
}

impl LogContent {
    /// The stored form of this content.
    pub fn encode(&self) -> StoredContent {
        if self.is_empty() {
            return StoredContent::default();
        }
        // Serialising plain values cannot fail.
        StoredContent(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// Builds a content object from encoded values and raw JSON copied out of bodies.
#[derive(Default)]
struct ContentWriter {
    out: Vec<u8>,
}

impl ContentWriter {
    fn key(&mut self, name: &str) {
        self.out.push(if self.out.is_empty() { b'{' } else { b',' });
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Adds `name: v`.
    fn value(&mut self, name: &str, v: &Value) {
        self.key(name);
        // Writing a `Value` into a Vec cannot fail.
        let _ = crate::json::append(&mut self.out, v);
    }

    /// Adds `name:` the JSON at `path` in `body` when it is there, small and valid; false
    /// otherwise (nothing is added).
    fn raw(
        &mut self,
        name: &str,
        body: Option<extract::Lazy<'_>>,
        path: &[sonic_rs::PointerNode],
    ) -> bool {
        let Some(body) = body else {
            return false;
        };
        let mark = self.out.len();
        self.key(name);
        if body.copy_raw(path, &mut self.out) {
            return true;
        }
        self.out.truncate(mark);
        false
    }

    /// Adds `name: piece`, a JSON value already validated, when it is small enough to keep as
    /// it is; false otherwise (nothing is added).
    fn raw_piece(&mut self, name: &str, piece: &[u8]) -> bool {
        if piece.len() > extract::MAX_RAW_PIECE {
            return false;
        }
        // Sized once: the pieces are most of the content, and growing by doubling copied them.
        self.out.reserve(name.len() + piece.len() + 6);
        self.key(name);
        self.out.extend_from_slice(piece);
        true
    }

    fn finish(mut self) -> StoredContent {
        if !self.out.is_empty() {
            self.out.push(b'}');
        }
        StoredContent(self.out)
    }
}

/// A UUID (version 7) for a request started at `ts_ns` (ringway has no request id of its own
/// to reuse). Version 7 starts with the time in milliseconds, so ids of successive requests
/// sort together and the store's id index is appended to rather than rewritten at random
/// places. One allocation: this runs on the worker for every logged request.
pub fn new_id(ts_ns: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = fastrand::u128(..).to_be_bytes();
    let ms = (ts_ns / 1_000_000).to_be_bytes();
    b[..6].copy_from_slice(&ms[2..]);
    // Version 7 and the RFC 9562 variant bits, so tools that check them accept it.
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_summary_encodes_as_serde_json_does() {
        let (base, _) = entry().into_row();
        let mut odd = base.clone();
        odd.model = "m\"q\\\n\u{1}é".into();
        odd.token_usage = None;
        odd.status = Status::Error;
        odd.stream = true;
        odd.latency = f64::NAN;
        let mut whole = base.clone();
        whole.latency = 3.0;
        whole.token_usage = Some(TokenUsage {
            prompt_tokens: u64::MAX,
            completion_tokens: 0,
            total_tokens: 7,
        });
        for s in [base, odd, whole] {
            let mut ours = Vec::new();
            s.encode(&mut ours);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&s).unwrap()
            );
        }
    }

    fn entry() -> LogEntry {
        LogEntry {
            id: new_id(1_714_566_645_000_000_000),
            ts_ns: 1_714_566_645_000_000_000,
            object: "chat_completion",
            provider: "openai".into(),
            model: "gpt-4o".into(),
            stream: false,
            retries: 1,
            fallback_index: 0,
            key_id: "k-1".into(),
            key_name: "main".into(),
            latency_ms: 12.5,
            status: 200,
            request: Some(Bytes::from_static(
                br#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"Hello There"}]}"#,
            )),
            request_messages: None,
            response: Some(Bytes::from_static(
                br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#,
            )),
            events: Vec::new(),
            stream_error: None,
            metadata: vec![("x-user".into(), "u1".into())],
            content: true,
        }
    }

    #[test]
    fn history_found_by_the_worker_scan_is_stored_as_the_lazy_read_stores_it() {
        let bodies: [&[u8]; 3] = [
            br#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"Hello There"}]}"#,
            br#"{ "messages" : [ {"role":"system","content":"be \"brief\""}, {"role":"user","content":[{"type":"text","text":"caf\u00e9"}]} ] , "model":"m"}"#,
            br#"{"model":"m","messages":[]}"#,
        ];
        for body in bodies {
            let fields = crate::json::read_fields(body).unwrap();
            let span = fields.messages_span.clone();
            assert!(span.is_some() && !fields.has_system);
            let mut lazy = entry();
            lazy.request = Some(Bytes::copy_from_slice(body));
            let mut scanned = lazy.clone();
            scanned.request_messages = span;
            assert_eq!(
                scanned.into_row(),
                lazy.into_row(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // A `system` beside the messages joins them: the worker hands no span, the lazy path runs.
        let anthropic =
            br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"hi"}]}"#;
        let fields = crate::json::read_fields(anthropic).unwrap();
        assert!(fields.has_system);
        assert!(fields.messages_span.is_some());
    }

    #[test]
    fn success_row_has_usage_messages_and_bifrost_fields() {
        let (s, c) = entry().into_row();
        let c = c.decode().unwrap();
        assert_eq!(s.status, Status::Success);
        assert_eq!(s.tokens(), 3);
        let row = row_json(&s, Some(&c));
        assert_eq!(row["timestamp"], "2024-05-01T12:30:45Z");
        assert_eq!(row["token_usage"]["prompt_tokens"], 2);
        assert_eq!(row["input_history"][0]["content"], "Hello There");
        assert_eq!(row["output_message"]["content"], "hi");
        assert_eq!(row["metadata"]["x-user"], "u1");
        assert!(extract::search_text(&c).contains("hello there"));
    }

    #[test]
    fn other_shapes_take_the_parsing_path() {
        let mut e = entry();
        e.request = Some(Bytes::from_static(
            br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"q"}]}"#,
        ));
        e.response = Some(Bytes::from_static(
            br#"{"type":"message","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":1,"output_tokens":2}}"#,
        ));
        let (s, c) = e.into_row();
        let c = c.decode().unwrap();
        assert_eq!(s.tokens(), 3);
        let h = c.input_history.unwrap();
        assert_eq!(
            (h[0]["role"].as_str(), h[1]["content"].as_str()),
            (Some("system"), Some("q"))
        );
        assert_eq!(c.output_message.unwrap()["content"], "x");
    }

    #[test]
    fn content_off_keeps_usage_only() {
        let mut e = entry();
        e.content = false;
        e.request = None;
        let (s, c) = e.into_row();
        let c = c.decode().unwrap();
        assert_eq!(s.tokens(), 3);
        assert!(c.input_history.is_none() && c.output_message.is_none());
        assert!(extract::search_text(&c).is_empty());
    }

    #[test]
    fn errors_keep_the_error_json() {
        let mut e = entry();
        e.status = 503;
        e.response = Some(Bytes::from_static(
            br#"{"is_bifrost_error":false,"status_code":503,"error":{"message":"down"}}"#,
        ));
        let (s, c) = e.into_row();
        let c = c.decode().unwrap();
        assert_eq!(s.status, Status::Error);
        assert_eq!(
            c.error_details,
            Some(json!({"is_bifrost_error":false,"status_code":503,"error":{"message":"down"}}))
        );
        assert!(c.output_message.is_none());
    }

    #[test]
    fn ids_are_uuid_v7_in_time_order() {
        let a = new_id(1_714_566_645_000_000_000);
        assert_eq!(a.len(), 36);
        // 1714566645000 ms = 0x018f3422_c508.
        assert!(a.starts_with("018f3422-c508-7"), "{a}");
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{a}");
        assert_ne!(a, new_id(1_714_566_645_000_000_000));
        assert!(new_id(1_714_566_645_001_000_000) > a);
    }
}
