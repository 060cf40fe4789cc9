//! Cohere v2 chat stream events -> OpenAI `chat.completion.chunk` events, one at a time.

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::response::{finish_reason, usage_from_cohere};
use super::wire;
use crate::providers::openai_chunks::{self, ChunkWriter, Delta as Piece};
use crate::providers::unified::{self, Usage};
use crate::sse;

/// Translates a Cohere v2 chat stream into an OpenAI chat completion stream.
///
/// Feed it each raw upstream event with [`push`](Self::push) and call [`finish`](Self::finish)
/// when the upstream ends. Output events are complete (`data: ...\n\n`): the role on
/// `message-start`, text deltas (`content-delta`), reasoning deltas (thinking content and
/// `tool-plan-delta`), tool-call deltas (`tool-call-start` gives id and name, each
/// `tool-call-delta` a piece of the arguments, with the tool call's `index`), then on
/// `message-end` a finish-reason chunk, a usage chunk when asked for, and `data: [DONE]`.
/// A `message-end` that reports an error (`delta.error`, `finish_reason: ERROR`) becomes
/// `data: {"error": ...}` (Bifrost's error JSON) and ends the stream without `[DONE]`.
#[derive(Debug)]
pub struct CohereToOpenAiStream {
    include_usage: bool,
    model: String,
    /// `data: {"id":..,"object":"chat.completion.chunk","created":..,"model":..`.
    chunks: ChunkWriter,
    /// Cohere tool-call index -> OpenAI tool-call index.
    tools: Vec<(Option<u32>, u32)>,
    usage: Usage,
    done: bool,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    delta: Option<EventDelta>,
    /// A gateway-made `{"error": ...}` event (no type).
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct EventDelta {
    #[serde(default)]
    message: Option<DeltaMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    usage: Option<wire::Usage>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct DeltaMessage {
    /// `message-start` carries `content: []`; content events an object.
    #[serde(default, deserialize_with = "object_or_first")]
    content: Option<DeltaContent>,
    #[serde(default)]
    tool_plan: Option<String>,
    /// `message-start` carries `tool_calls: []`; tool-call events an object.
    #[serde(default, deserialize_with = "object_or_first")]
    tool_calls: Option<DeltaToolCall>,
}

#[derive(Deserialize)]
struct DeltaContent {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
}

#[derive(Deserialize)]
struct DeltaToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<wire::CallFunction>,
}

/// Reads an object, or the first element of an array (empty arrays and null read as `None`).
fn object_or_first<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or an array of objects")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<T>()?;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// What a chunk's delta carries (one kind per chunk).
impl CohereToOpenAiStream {
    /// A translator answering for `model`; `include_usage` mirrors the client's
    /// `stream_options.include_usage`.
    pub fn new(include_usage: bool, model: &str) -> Self {
        Self {
            include_usage,
            model: model.to_string(),
            chunks: ChunkWriter::default(),
            tools: Vec::new(),
            usage: Usage::default(),
            done: false,
        }
    }

    /// True once the stream has ended (`[DONE]` or an error was emitted).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Usage reported by `message-end` (zero before it).
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Translates one raw upstream SSE event, appending the resulting events to `out`.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let Some(data) = sse::event_data(event) else {
            return; // Comments and keep-alives carry nothing.
        };
        if data.trim_ascii() == b"[DONE]" {
            self.finish(out);
            return;
        }
        let ev: Event = match crate::json::from_slice(&data) {
            Ok(ev) => ev,
            Err(e) => {
                self.fail(
                    out,
                    502,
                    None,
                    format!("invalid stream event from provider: {e}"),
                );
                return;
            }
        };
        let name = sse::event_name(event).and_then(|n| std::str::from_utf8(n).ok());
        let kind = ev.kind.as_deref().or(name).unwrap_or("");
        let message = ev.delta.as_ref().and_then(|d| d.message.as_ref());
        match kind {
            "message-start" => {
                self.set_prefix(ev.id.as_deref().unwrap_or(""));
                self.emit(out, Piece::Role);
            }
            // Thinking blocks carry `thinking`, text blocks `text`, in their start and deltas.
            "content-start" | "content-delta" => {
                self.on_content(message.and_then(|m| m.content.as_ref()), out);
            }
            "tool-plan-delta" => {
                if let Some(plan) = message.and_then(|m| m.tool_plan.as_deref())
                    && !plan.is_empty()
                {
                    self.emit(out, Piece::Reasoning(plan));
                }
            }
            "tool-call-start" => {
                let index = self.tools.len() as u32;
                self.tools.push((ev.index, index));
                let call = message.and_then(|m| m.tool_calls.as_ref());
                let f = call.and_then(|c| c.function.as_ref());
                self.emit(
                    out,
                    Piece::ToolStart {
                        index,
                        id: call.and_then(|c| c.id.as_deref()).unwrap_or(""),
                        name: f.and_then(|f| f.name.as_deref()).unwrap_or(""),
                    },
                );
                if let Some(args) = f.map(|f| f.arguments.as_str()).filter(|a| !a.is_empty()) {
                    self.emit(
                        out,
                        Piece::ToolArgs {
                            index,
                            arguments: args,
                        },
                    );
                }
            }
            "tool-call-delta" => {
                let args = message
                    .and_then(|m| m.tool_calls.as_ref())
                    .and_then(|c| c.function.as_ref())
                    .map(|f| f.arguments.as_str())
                    .filter(|a| !a.is_empty());
                // Deltas name their call by Cohere index; without one, the latest call.
                let index = self
                    .tools
                    .iter()
                    .rev()
                    .find(|(i, _)| ev.index.is_none() || *i == ev.index)
                    .map(|(_, o)| *o);
                if let (Some(index), Some(arguments)) = (index, args) {
                    self.emit(out, Piece::ToolArgs { index, arguments });
                }
            }
            "message-end" => self.on_message_end(ev.delta, out),
            "" if ev.error.is_some() => self.on_gateway_error(ev.error, out),
            // content-end, tool-call-end, citation-*, debug, and types added later.
            _ => {}
        }
    }

    /// Ends the translation when the upstream closed: a stream without its `message-end`
    /// is reported as cut short.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if !self.done {
            self.fail(
                out,
                502,
                None,
                "stream ended before the provider finished the message".into(),
            );
        }
    }

    fn on_content(&mut self, content: Option<&DeltaContent>, out: &mut Vec<Bytes>) {
        let Some(c) = content else {
            return;
        };
        if let Some(t) = c.thinking.as_deref().filter(|t| !t.is_empty()) {
            self.emit(out, Piece::Reasoning(t));
        }
        if let Some(t) = c.text.as_deref().filter(|t| !t.is_empty()) {
            self.emit(out, Piece::Content(t));
        }
    }

    fn on_message_end(&mut self, delta: Option<EventDelta>, out: &mut Vec<Bytes>) {
        let delta = delta.unwrap_or(EventDelta {
            message: None,
            finish_reason: None,
            usage: None,
            error: None,
        });
        if let Some(u) = &delta.usage {
            self.usage = usage_from_cohere(u);
        }
        let reason = delta.finish_reason.as_deref().unwrap_or("COMPLETE");
        if let Some(error) = delta.error.filter(|e| !e.is_empty()) {
            self.fail(out, 500, None, error);
            return;
        }
        if reason == "ERROR" {
            self.fail(
                out,
                500,
                None,
                "the provider failed while generating".into(),
            );
            return;
        }
        self.emit(out, Piece::Finish(finish_reason(reason)));
        self.end(out);
    }

    fn on_gateway_error(&mut self, error: Option<Value>, out: &mut Vec<Bytes>) {
        let error = error.unwrap_or(Value::Null);
        let inner = match error.get("error") {
            Some(e @ Value::Object(_)) => e,
            _ => &error,
        };
        let message = match inner.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => "provider stream error".to_string(),
        };
        let status = error
            .get("status_code")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(500);
        let kind = inner
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.fail(out, status, kind, message);
    }

    /// Emits `data: {"error": <Bifrost error JSON>}` and ends the stream.
    fn fail(&mut self, out: &mut Vec<Bytes>, status: u16, kind: Option<String>, message: String) {
        out.push(openai_chunks::error_event(status, kind, message));
        self.done = true;
    }

    /// The usage chunk (when asked for) and `[DONE]`.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        if self.include_usage {
            self.ensure_prefix();
            self.chunks.usage(out, &unified::encode(&self.usage));
        }
        out.push(Bytes::from_static(openai_chunks::DONE));
        self.done = true;
    }

    fn set_prefix(&mut self, id: &str) {
        self.chunks.start(id, &self.model);
    }

    fn ensure_prefix(&mut self) {
        if !self.chunks.is_started() {
            self.set_prefix("");
        }
    }

    fn emit(&mut self, out: &mut Vec<Bytes>, piece: Piece<'_>) {
        self.ensure_prefix();
        self.chunks.delta(out, 0, piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseFramer;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/cohere/cohere_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/cohere/cohere_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/cohere/cohere_stream_error.sse");

    /// Frames `stream` in small pieces, translates every event, and returns the output events.
    fn translate(stream: &str, include_usage: bool, finish: bool) -> Vec<Bytes> {
        let mut framer = SseFramer::new();
        let mut t = CohereToOpenAiStream::new(include_usage, "command-a-03-2025");
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(29) {
            framer.push(piece);
            while let Some(ev) = framer.next_event().expect("framed") {
                let before = out.len();
                t.push(&ev, &mut out);
                assert!(out[before..].iter().all(|e| e.ends_with(b"\n\n")));
            }
        }
        if finish {
            t.finish(&mut out);
        }
        out
    }

    fn data(events: &[Bytes]) -> Vec<Value> {
        events
            .iter()
            .filter(|e| !sse::is_done(e))
            .map(|e| serde_json::from_slice(&sse::event_data(e).expect("data")).expect("json"))
            .collect()
    }

    fn joined(chunks: &[Value], field: &str) -> String {
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"][field].as_str())
            .collect()
    }

    #[test]
    fn text_stream() {
        let out = translate(TEXT, true, true);
        assert!(sse::is_done(out.last().expect("events")));
        let chunks = data(&out);
        assert!(
            chunks
                .iter()
                .all(|c| c["id"] == "5a16c4e1-0f42-4a63-8e5b-6d1a0c1f4b3e")
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
        assert!(chunks.iter().all(|c| c["model"] == "command-a-03-2025"));
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(
            joined(&chunks, "content"),
            "Hello, \"world\"!\nHow are you?"
        );
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        assert_eq!(finish["choices"][0]["delta"], json!({}));
        let usage = chunks.last().expect("usage chunk");
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(
            usage["usage"],
            json!({"prompt_tokens": 68, "completion_tokens": 9, "total_tokens": 77})
        );
        // message-start, 3 text deltas, finish, usage, [DONE]; starts and ends say nothing.
        assert_eq!(out.len(), 7);
    }

    #[test]
    fn without_include_usage_there_is_no_usage_chunk() {
        let out = translate(TEXT, false, true);
        assert!(data(&out).iter().all(|c| c.get("usage").is_none()));
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn tool_stream_with_two_calls_and_split_arguments() {
        let out = translate(TOOLS, true, true);
        let chunks = data(&out);
        assert_eq!(joined(&chunks, "reasoning"), "I will check both cities.");
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        let starts: Vec<&&Value> = calls.iter().filter(|c| c.get("id").is_some()).collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(
            *starts[0],
            &json!({"index": 0, "id": "get_weather_p1", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}})
        );
        assert_eq!(starts[1]["index"], 1);
        assert_eq!(starts[1]["id"], "get_weather_b2");
        for (index, expected) in [
            (0, json!({"city": "Paris"})),
            (1, json!({"city": "Berlin", "days": 2})),
        ] {
            let args: String = calls
                .iter()
                .filter(|c| c["index"] == index)
                .filter_map(|c| c["function"]["arguments"].as_str())
                .collect();
            let parsed: Value = serde_json::from_str(&args).expect("arguments are JSON");
            assert_eq!(parsed, expected, "tool {index}");
        }
        let finish = chunks
            .iter()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
            .expect("finish");
        assert_eq!(finish, "tool_calls");
        let usage = &chunks.last().expect("usage")["usage"];
        assert_eq!(usage["prompt_tokens"], 1102);
        assert_eq!(usage["completion_tokens"], 61);
        assert!(sse::is_done(out.last().expect("done")));
    }

    #[test]
    fn error_mid_stream_ends_without_done() {
        let out = translate(ERROR, false, true);
        assert!(!out.iter().any(|e| sse::is_done(e)));
        let last = out.last().expect("events");
        let v: Value = serde_json::from_slice(&sse::event_data(last).expect("data")).expect("json");
        assert_eq!(v["error"]["status_code"], 500);
        assert_eq!(
            v["error"]["error"]["message"],
            "internal server error, please try again"
        );
        assert_eq!(
            joined(&data(&out[..out.len() - 1]), "content"),
            "Partial answ"
        );
    }

    #[test]
    fn thinking_blocks_become_reasoning() {
        let mut t = CohereToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        for ev in [
            r#"{"type":"message-start","id":"x","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#,
            r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}}"#,
            r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Let me think."}}}}"#,
            r#"{"type":"content-end","index":0}"#,
            r#"{"type":"content-start","index":1,"delta":{"message":{"content":{"type":"text","text":"Yes"}}}}"#,
            r#"{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":3,"text":"Yes","sources":[]}}}}"#,
            r#"{"type":"message-end","delta":{"finish_reason":"MAX_TOKENS"}}"#,
        ] {
            t.push(format!("data: {ev}\n\n").as_bytes(), &mut out);
        }
        let chunks = data(&out);
        assert_eq!(joined(&chunks, "reasoning"), "Let me think.");
        assert_eq!(joined(&chunks, "content"), "Yes");
        assert_eq!(
            chunks.last().expect("finish")["choices"][0]["finish_reason"],
            "length"
        );
        assert!(t.is_done());
    }

    #[test]
    fn cut_streams_garbage_and_extras() {
        // Cut before message-end: the client learns the stream broke.
        let cut = &TEXT[..TEXT.find("event: message-end").expect("end")];
        let out = translate(cut, false, true);
        let v: Value =
            serde_json::from_slice(&sse::event_data(out.last().expect("ev")).expect("d"))
                .expect("j");
        assert_eq!(v["error"]["status_code"], 502);

        let mut t = CohereToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(b": keep-alive\n\n", &mut out);
        t.push(b"event: debug\ndata: {\"type\":\"debug\"}\n\n", &mut out);
        t.push(
            b"event: something-new\ndata: {\"type\":\"something-new\"}\n\n",
            &mut out,
        );
        assert!(out.is_empty());
        t.push(b"data: {not json\n\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
        t.push(b"data: {\"type\":\"message-end\"}\n\n", &mut out);
        t.finish(&mut out);
        assert_eq!(out.len(), 1, "nothing after the end");

        // A gateway-made error event (no type) is recognised; finish_reason ERROR alone too.
        let mut t = CohereToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            br#"data: {"error":{"status_code":504,"error":{"message":"idle"}}}"#,
            &mut out,
        );
        let v: Value = serde_json::from_slice(&sse::event_data(&out[0]).expect("d")).expect("j");
        assert_eq!(v["error"]["status_code"], 504);
        assert_eq!(v["error"]["error"]["message"], "idle");
        let mut t = CohereToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            br#"data: {"type":"message-end","delta":{"finish_reason":"ERROR"}}"#,
            &mut out,
        );
        assert!(!sse::is_done(&out[0]));
        assert!(t.is_done());
    }
}
