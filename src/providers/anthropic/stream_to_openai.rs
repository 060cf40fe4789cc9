//! Anthropic SSE events -> OpenAI `chat.completion.chunk` events, one event at a time.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::error::status_of;
use super::response::{finish_reason, usage_from_anthropic};
use super::wire;
use crate::providers::cow_str::CowStr;
use crate::providers::openai_chunks::{self, ChunkWriter, Delta as Piece};
use crate::providers::unified::{self, Usage};
use crate::sse;

/// Translates an Anthropic Messages stream into an OpenAI chat completion stream.
///
/// Feed it each raw upstream event with [`push`](Self::push) and call [`finish`](Self::finish)
/// when the upstream ends. Output events are complete (`data: ...\n\n`): the role on the first
/// chunk, text and reasoning deltas, tool-call deltas (id and name first, then argument
/// pieces, each with the tool call's `index`), a finish-reason chunk, a usage chunk when asked
/// for, then `data: [DONE]`. An upstream `error` event becomes `data: {"error": ...}` (Bifrost's
/// error JSON) and ends the stream without `[DONE]`.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    include_usage: bool,
    /// `{"id":..,"object":"chat.completion.chunk","created":..,"model":..` shared by every chunk.
    chunks: ChunkWriter,
    /// Anthropic content block index -> what the block carries.
    blocks: Vec<(u32, BlockKind)>,
    next_tool: u32,
    usage: wire::Usage,
    finish: Option<&'static str>,
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// A tool call with its OpenAI `index`.
    Tool(u32),
    Other,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<CowStr<'a>>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default, borrow)]
    content_block: Option<StartBlock<'a>>,
    #[serde(default, borrow)]
    delta: Option<EventDelta<'a>>,
    #[serde(default)]
    usage: Option<DeltaUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<wire::Usage>,
}

#[derive(Deserialize)]
struct StartBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: CowStr<'a>,
    #[serde(default, borrow)]
    text: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    thinking: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    id: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    name: Option<CowStr<'a>>,
    #[serde(default)]
    input: Option<Value>,
}

#[derive(Deserialize)]
struct EventDelta<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    text: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    partial_json: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    thinking: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    stop_reason: Option<CowStr<'a>>,
}

/// `message_delta` usage: cumulative counts, each optional.
#[derive(Deserialize)]
struct DeltaUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// What a chunk's delta carries (at most one kind per chunk).
impl AnthropicToOpenAiStream {
    /// A translator; `include_usage` mirrors the client's `stream_options.include_usage`.
    pub fn new(include_usage: bool) -> Self {
        Self {
            include_usage,
            chunks: ChunkWriter::default(),
            blocks: Vec::new(),
            next_tool: 0,
            usage: wire::Usage::default(),
            finish: None,
            done: false,
        }
    }

    /// True once the stream has ended (`[DONE]` or an error was emitted).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Usage seen so far, in OpenAI terms.
    pub fn usage(&self) -> Usage {
        usage_from_anthropic(&self.usage)
    }

    /// Translates one raw upstream SSE event, appending the resulting events to `out`.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let Some(data) = sse::event_data(event) else {
            // Comments and data-less events (keep-alives) carry nothing to translate.
            return;
        };
        let ev: Event<'_> = match crate::json::from_slice(&data) {
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
        match kind {
            "message_start" => self.on_message_start(ev.message, out),
            "content_block_start" => self.on_block_start(ev.index, ev.content_block, out),
            "content_block_delta" => self.on_block_delta(ev.index, ev.delta, out),
            "message_delta" => {
                if let Some(u) = ev.usage {
                    self.merge_usage(&u);
                }
                let stop = ev.delta.as_ref().and_then(|d| d.stop_reason.as_deref());
                let finish = finish_reason(stop.unwrap_or("end_turn"));
                self.finish = Some(finish);
                self.emit(out, Piece::Finish(finish));
            }
            "message_stop" => self.end(out),
            "error" => self.on_error(ev.error, out),
            // An error object without a type: a gateway-made `{"error": ...}` event.
            "" if ev.error.is_some() => self.on_error(ev.error, out),
            // ping, content_block_stop, and event types added after this was written.
            _ => {}
        }
    }

    /// Ends the translation when the upstream closed: completes a stream that only lacked its
    /// `message_stop`, or reports a stream cut short as an error event.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.finish.is_some() {
            self.end(out);
        } else {
            self.fail(
                out,
                502,
                None,
                "stream ended before the provider finished the message".into(),
            );
        }
    }

    fn on_message_start(&mut self, message: Option<StartMessage>, out: &mut Vec<Bytes>) {
        let (id, model) = match message {
            Some(m) => {
                if let Some(u) = m.usage {
                    self.usage = u;
                }
                (m.id, m.model)
            }
            None => (String::new(), String::new()),
        };
        self.set_prefix(&id, &model);
        self.emit(out, Piece::Role);
    }

    fn set_prefix(&mut self, id: &str, model: &str) {
        self.chunks.start(id, model);
    }

    fn on_block_start(
        &mut self,
        index: Option<u32>,
        block: Option<StartBlock<'_>>,
        out: &mut Vec<Bytes>,
    ) {
        let (Some(index), Some(block)) = (index, block) else {
            return;
        };
        let kind = match &*block.kind {
            "text" => BlockKind::Text,
            "thinking" => BlockKind::Thinking,
            "tool_use" => {
                self.next_tool += 1;
                BlockKind::Tool(self.next_tool - 1)
            }
            _ => BlockKind::Other,
        };
        self.blocks.push((index, kind));
        match kind {
            BlockKind::Text => {
                if let Some(t) = block.text.as_deref().filter(|t| !t.is_empty()) {
                    self.emit(out, Piece::Content(t));
                }
            }
            BlockKind::Thinking => {
                if let Some(t) = block.thinking.as_deref().filter(|t| !t.is_empty()) {
                    self.emit(out, Piece::Reasoning(t));
                }
            }
            BlockKind::Tool(tool) => {
                self.emit(
                    out,
                    Piece::ToolStart {
                        index: tool,
                        id: block.id.as_deref().unwrap_or(""),
                        name: block.name.as_deref().unwrap_or(""),
                    },
                );
                // The input is `{}` at the start and arrives as deltas; a non-empty one is sent whole.
                if let Some(input) = block
                    .input
                    .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                {
                    let arguments = input.to_string();
                    self.emit(
                        out,
                        Piece::ToolArgs {
                            index: tool,
                            arguments: &arguments,
                        },
                    );
                }
            }
            BlockKind::Other => {}
        }
    }

    fn on_block_delta(
        &mut self,
        index: Option<u32>,
        delta: Option<EventDelta<'_>>,
        out: &mut Vec<Bytes>,
    ) {
        let Some(delta) = delta else {
            return;
        };
        let block = index.and_then(|i| {
            self.blocks
                .iter()
                .rev()
                .find(|(b, _)| *b == i)
                .map(|(_, k)| *k)
        });
        match delta.kind.as_deref().unwrap_or("") {
            "text_delta" => {
                if let Some(t) = delta.text.as_deref().filter(|t| !t.is_empty()) {
                    self.emit(out, Piece::Content(t));
                }
            }
            "thinking_delta" => {
                if let Some(t) = delta.thinking.as_deref().filter(|t| !t.is_empty()) {
                    self.emit(out, Piece::Reasoning(t));
                }
            }
            "input_json_delta" => {
                if let (Some(BlockKind::Tool(tool)), Some(args)) =
                    (block, delta.partial_json.as_deref())
                    && !args.is_empty()
                {
                    self.emit(
                        out,
                        Piece::ToolArgs {
                            index: tool,
                            arguments: args,
                        },
                    );
                }
            }
            // signature_delta, citations_delta: nothing to say in OpenAI's format.
            _ => {}
        }
    }

    fn merge_usage(&mut self, u: &DeltaUsage) {
        if let Some(n) = u.output_tokens {
            self.usage.output_tokens = n;
        }
        if let Some(n) = u.input_tokens {
            self.usage.input_tokens = n;
        }
        if u.cache_creation_input_tokens.is_some() {
            self.usage.cache_creation_input_tokens = u.cache_creation_input_tokens;
        }
        if u.cache_read_input_tokens.is_some() {
            self.usage.cache_read_input_tokens = u.cache_read_input_tokens;
        }
    }

    fn on_error(&mut self, error: Option<Value>, out: &mut Vec<Bytes>) {
        let error = error.unwrap_or(Value::Null);
        // Anthropic: {"type", "message"}; a gateway-made event nests Bifrost's error JSON.
        let inner = match error.get("error") {
            Some(e @ Value::Object(_)) => e,
            _ => &error,
        };
        let kind = inner
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        let message = match inner.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => match &error {
                Value::String(m) => m.clone(),
                _ => "provider stream error".to_string(),
            },
        };
        let status = error
            .get("status_code")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| kind.as_deref().map_or(500, status_of));
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
            self.chunks.usage(out, &unified::encode(&self.usage()));
        }
        out.push(Bytes::from_static(openai_chunks::DONE));
        self.done = true;
    }

    fn ensure_prefix(&mut self) {
        if !self.chunks.is_started() {
            self.set_prefix("", "");
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

    const TEXT: &str = include_str!("../../../tests/fixtures/anthropic/anthropic_stream_text.sse");
    const TOOLS: &str =
        include_str!("../../../tests/fixtures/anthropic/anthropic_stream_tools.sse");
    const ERROR: &str =
        include_str!("../../../tests/fixtures/anthropic/anthropic_stream_error.sse");

    /// Frames `stream` in small pieces, translates every event, and returns the output events.
    fn translate(stream: &str, include_usage: bool, finish: bool) -> Vec<Bytes> {
        let mut framer = SseFramer::new();
        let mut t = AnthropicToOpenAiStream::new(include_usage);
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(37) {
            framer.push(piece);
            while let Some(ev) = framer.next_event().expect("framed") {
                let before = out.len();
                t.push(&ev, &mut out);
                // One event in never needs the rest of the stream to produce its output.
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

    #[test]
    fn text_stream() {
        let out = translate(TEXT, true, true);
        assert!(sse::is_done(out.last().expect("events")));
        let chunks = data(&out);
        assert!(
            chunks
                .iter()
                .all(|c| c.get("id") == Some(&json!("msg_01Text")))
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
        assert_eq!(chunks[0]["model"], "claude-sonnet-4-5-20250929");
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hello, \"world\"!\nHow are you?");
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        assert_eq!(finish["choices"][0]["delta"], json!({}));
        let usage = chunks.last().expect("usage chunk");
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(
            usage["usage"],
            json!({"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40})
        );
        // message_start, 3 text deltas, message_delta, usage, [DONE]; ping and stops say nothing.
        assert_eq!(out.len(), 7);
    }

    #[test]
    fn without_include_usage_there_is_no_usage_chunk() {
        let out = translate(TEXT, false, true);
        let chunks = data(&out);
        assert!(chunks.iter().all(|c| c.get("usage").is_none()));
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn tool_stream_with_two_calls_and_split_arguments() {
        let out = translate(TOOLS, true, true);
        let chunks = data(&out);
        let reasoning: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["reasoning"].as_str())
            .collect();
        assert_eq!(reasoning, "Two cities: call twice.");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Checking both.");
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        // First delta of each call carries id, type and name; later ones only arguments.
        let starts: Vec<&&Value> = calls.iter().filter(|c| c.get("id").is_some()).collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(
            *starts[0],
            &json!({"index": 0, "id": "toolu_A", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}})
        );
        assert_eq!(starts[1]["index"], 1);
        assert_eq!(starts[1]["id"], "toolu_B");
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
        assert_eq!(usage["prompt_tokens"], 2000 + 90 + 10);
        assert_eq!(usage["completion_tokens"], 77);
        assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 2000);
        assert!(sse::is_done(out.last().expect("done")));
    }

    #[test]
    fn error_event_mid_stream_ends_without_done() {
        let out = translate(ERROR, false, true);
        let last = out.last().expect("events");
        assert!(!out.iter().any(|e| sse::is_done(e)));
        let v: Value = serde_json::from_slice(&sse::event_data(last).expect("data")).expect("json");
        assert_eq!(v["error"]["status_code"], 529);
        assert_eq!(v["error"]["error"]["type"], "overloaded_error");
        assert_eq!(v["error"]["error"]["message"], "Overloaded");
        let text: String = data(&out[..out.len() - 1])
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Partial answ");
    }

    #[test]
    fn cut_streams() {
        // Cut before message_delta: the client learns the stream broke.
        let cut = &TEXT[..TEXT.find("event: message_delta").expect("delta")];
        let out = translate(cut, false, true);
        let v: Value =
            serde_json::from_slice(&sse::event_data(out.last().expect("ev")).expect("d"))
                .expect("j");
        assert_eq!(v["error"]["status_code"], 502);
        // Cut after message_delta: the stream is completed with [DONE].
        let cut = &TEXT[..TEXT.find("event: message_stop").expect("stop")];
        let out = translate(cut, true, true);
        assert!(sse::is_done(out.last().expect("ev")));
        assert!(data(&out).last().expect("usage").get("usage").is_some());
    }

    #[test]
    fn garbage_and_extras() {
        let mut t = AnthropicToOpenAiStream::new(false);
        let mut out = Vec::new();
        t.push(b": keep-alive\n\n", &mut out);
        t.push(b"event: ping\ndata: {\"type\": \"ping\"}\n\n", &mut out);
        t.push(
            b"event: something_new\ndata: {\"type\": \"something_new\"}\n\n",
            &mut out,
        );
        assert!(out.is_empty());
        t.push(b"data: {not json\n\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
        t.push(
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            &mut out,
        );
        t.finish(&mut out);
        assert_eq!(out.len(), 1, "nothing after the end");
        // A gateway-made error event (no type) is recognised too.
        let mut t = AnthropicToOpenAiStream::new(false);
        let mut out = Vec::new();
        t.push(
            br#"data: {"error":{"status_code":504,"error":{"message":"idle"}}}"#,
            &mut out,
        );
        let v: Value = serde_json::from_slice(&sse::event_data(&out[0]).expect("d")).expect("j");
        assert_eq!(v["error"]["status_code"], 504);
        assert_eq!(v["error"]["error"]["message"], "idle");
    }
}
