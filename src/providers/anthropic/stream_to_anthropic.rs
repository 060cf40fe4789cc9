//! OpenAI `chat.completion.chunk` events -> Anthropic SSE events, one event at a time.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::error::{error_type, status_of};
use super::response::stop_reason;
use crate::json::write_json_string;
use crate::providers::cow_str::CowStr;
use crate::providers::unified::Usage;
use crate::sse;

/// Translates an OpenAI chat completion stream into an Anthropic Messages stream.
///
/// Feed it each raw upstream event with [`push`](Self::push) and call [`finish`](Self::finish)
/// when the upstream ends. Output: `message_start` on the first chunk, then one content block
/// per text run, reasoning run or tool call (`content_block_start`, deltas,
/// `content_block_stop`, with increasing block indexes), then `message_delta` (stop reason and
/// usage) and `message_stop` at `[DONE]`. An `{"error": ...}` chunk becomes `event: error`.
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: String,
    started: bool,
    done: bool,
    next_block: u32,
    open: Option<Open>,
    /// OpenAI tool-call index -> Anthropic block index.
    tools: Vec<(u32, u32)>,
    stop: Option<&'static str>,
    usage: Option<Usage>,
}

/// The content block currently open, with its Anthropic index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(u32),
    Thinking(u32),
    Tool(u32),
}

impl Open {
    fn index(self) -> u32 {
        match self {
            Self::Text(i) | Self::Thinking(i) | Self::Tool(i) => i,
        }
    }
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    id: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    model: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    choices: Vec<ChunkChoice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(default, borrow)]
    delta: Option<ChunkDelta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<CowStr<'a>>,
}

#[derive(Deserialize)]
struct ChunkDelta<'a> {
    #[serde(default, borrow)]
    content: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    refusal: Option<CowStr<'a>>,
    #[serde(default, borrow, alias = "reasoning_content")]
    reasoning: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    arguments: Option<CowStr<'a>>,
}

impl OpenAiToAnthropicStream {
    /// A translator; `model` names the model in `message_start` when chunks carry none.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            started: false,
            done: false,
            next_block: 0,
            open: None,
            tools: Vec::new(),
            stop: None,
            usage: None,
        }
    }

    /// True once `message_stop` or an error event was emitted.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Usage reported by the upstream so far (OpenAI terms), if any.
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Translates one raw upstream SSE event, appending the resulting events to `out`.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let Some(data) = sse::event_data(event) else {
            return;
        };
        if data.trim_ascii() == b"[DONE]" {
            self.end(out);
            return;
        }
        let chunk: Chunk<'_> = match crate::json::from_slice(&data) {
            Ok(c) => c,
            Err(e) => {
                self.fail(
                    out,
                    "api_error",
                    &format!("invalid stream chunk from provider: {e}"),
                );
                return;
            }
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            let (kind, message) = error_parts(&err);
            self.fail(out, kind, &message);
            return;
        }
        if !self.started {
            let id = chunk.id.as_deref().unwrap_or("");
            let model = chunk.model.as_deref().filter(|m| !m.is_empty());
            self.start(out, id, model);
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        // Anthropic has one answer per message: only the first choice is relayed.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                self.on_delta(delta, out);
            }
            if let Some(f) = choice.finish_reason {
                self.close_open(out);
                self.stop = Some(stop_reason(&f));
            }
        }
    }

    /// Ends the translation when the upstream closed: completes a stream that only lacked its
    /// `[DONE]`, or reports a stream cut short as an error event.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.stop.is_some() {
            self.end(out);
        } else {
            self.fail(
                out,
                "api_error",
                "stream ended before the provider finished the message",
            );
        }
    }

    fn on_delta(&mut self, delta: ChunkDelta<'_>, out: &mut Vec<Bytes>) {
        if let Some(t) = delta.reasoning.as_deref().filter(|t| !t.is_empty()) {
            let index = self.ensure_open(out, Open::Thinking(0));
            delta_event(out, index, b"thinking_delta", b"thinking", t);
        }
        for t in [delta.content.as_deref(), delta.refusal.as_deref()]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
        {
            let index = self.ensure_open(out, Open::Text(0));
            delta_event(out, index, b"text_delta", b"text", t);
        }
        for (pos, call) in delta.tool_calls.into_iter().flatten().enumerate() {
            let oi = call.index.unwrap_or(pos as u32);
            let function = call.function.as_ref();
            let block = match self.tools.iter().find(|(o, _)| *o == oi) {
                Some(&(_, b)) => b,
                None => {
                    self.close_open(out);
                    let b = self.next_block;
                    self.next_block += 1;
                    self.tools.push((oi, b));
                    self.open = Some(Open::Tool(b));
                    let id = call
                        .id
                        .as_deref()
                        .map_or_else(|| format!("toolu_{b}"), str::to_string);
                    let name = function.and_then(|f| f.name.as_deref()).unwrap_or("");
                    tool_start_event(out, b, &id, name);
                    b
                }
            };
            // Argument pieces of an earlier call (interleaved calls) go to that call's block.
            if let Some(args) = function
                .and_then(|f| f.arguments.as_deref())
                .filter(|a| !a.is_empty())
            {
                delta_event(out, block, b"input_json_delta", b"partial_json", args);
            }
        }
    }

    /// Returns the index of an open block of `kind`'s type, opening one if needed.
    fn ensure_open(&mut self, out: &mut Vec<Bytes>, kind: Open) -> u32 {
        match (self.open, kind) {
            (Some(o @ Open::Text(_)), Open::Text(_))
            | (Some(o @ Open::Thinking(_)), Open::Thinking(_)) => {
                return o.index();
            }
            _ => {}
        }
        self.close_open(out);
        let index = self.next_block;
        self.next_block += 1;
        let (open, block): (Open, &[u8]) = match kind {
            Open::Thinking(_) => (
                Open::Thinking(index),
                b"{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
            ),
            _ => (Open::Text(index), b"{\"type\":\"text\",\"text\":\"\"}"),
        };
        self.open = Some(open);
        let mut ev = event_head(b"content_block_start", 64);
        ev.extend_from_slice(b",\"index\":");
        ev.extend_from_slice(index.to_string().as_bytes());
        ev.extend_from_slice(b",\"content_block\":");
        ev.extend_from_slice(block);
        ev.extend_from_slice(b"}\n\n");
        out.push(Bytes::from(ev));
        index
    }

    fn close_open(&mut self, out: &mut Vec<Bytes>) {
        if let Some(open) = self.open.take() {
            let mut ev = event_head(b"content_block_stop", 16);
            ev.extend_from_slice(b",\"index\":");
            ev.extend_from_slice(open.index().to_string().as_bytes());
            ev.extend_from_slice(b"}\n\n");
            out.push(Bytes::from(ev));
        }
    }

    fn start(&mut self, out: &mut Vec<Bytes>, id: &str, model: Option<&str>) {
        self.started = true;
        let model = model.unwrap_or(&self.model);
        let mut ev = event_head(b"message_start", 192);
        ev.extend_from_slice(b",\"message\":{\"id\":");
        write_json_string(&mut ev, id);
        ev.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
        write_json_string(&mut ev, model);
        ev.extend_from_slice(
            b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\
              \"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n",
        );
        out.push(Bytes::from(ev));
    }

    /// Closes the open block and sends `message_delta` and `message_stop`.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            let model = self.model.clone();
            self.start(out, "", Some(&model));
        }
        self.close_open(out);
        let mut ev = event_head(b"message_delta", 160);
        ev.extend_from_slice(b",\"delta\":{\"stop_reason\":");
        write_json_string(&mut ev, self.stop.unwrap_or("end_turn"));
        ev.extend_from_slice(b",\"stop_sequence\":null},\"usage\":");
        match &self.usage {
            Some(u) => {
                let cached = u.cached_tokens();
                ev.extend_from_slice(b"{\"input_tokens\":");
                ev.extend_from_slice(
                    u.prompt_tokens
                        .saturating_sub(cached)
                        .to_string()
                        .as_bytes(),
                );
                ev.extend_from_slice(
                    b",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":",
                );
                ev.extend_from_slice(cached.to_string().as_bytes());
                ev.extend_from_slice(b",\"output_tokens\":");
                ev.extend_from_slice(u.completion_tokens.to_string().as_bytes());
                ev.push(b'}');
            }
            None => ev.extend_from_slice(b"{\"output_tokens\":0}"),
        }
        ev.extend_from_slice(b"}\n\n");
        out.push(Bytes::from(ev));
        out.push(Bytes::from_static(
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ));
        self.done = true;
    }

    /// Sends `event: error` and ends the stream.
    fn fail(&mut self, out: &mut Vec<Bytes>, kind: &str, message: &str) {
        let mut ev = event_head(b"error", 64 + message.len());
        ev.extend_from_slice(b",\"error\":{\"type\":");
        write_json_string(&mut ev, kind);
        ev.extend_from_slice(b",\"message\":");
        write_json_string(&mut ev, message);
        ev.extend_from_slice(b"}}\n\n");
        out.push(Bytes::from(ev));
        self.done = true;
    }
}

/// The Anthropic error type and message of an OpenAI or Bifrost error object.
fn error_parts(err: &Value) -> (&'static str, String) {
    // Bifrost's error JSON nests the provider error under `error` and has `status_code`.
    let inner = match err.get("error") {
        Some(e @ Value::Object(_)) => e,
        _ => err,
    };
    let message = match (inner.get("message"), err) {
        (Some(Value::String(m)), _) => m.clone(),
        (_, Value::String(m)) => m.clone(),
        _ => "provider stream error".to_string(),
    };
    let status = err
        .get("status_code")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let kind = inner.get("type").and_then(Value::as_str);
    let kind = match (kind, status) {
        (Some(k), _) if status_of(k) != 500 || k == "api_error" => error_type(status_of(k)),
        (_, Some(s)) => error_type(s),
        _ => "api_error",
    };
    (kind, message)
}

/// `event: <name>\ndata: {"type":"<name>"` (the caller completes the object).
fn event_head(name: &[u8], extra: usize) -> Vec<u8> {
    let mut ev = Vec::with_capacity(2 * name.len() + 32 + extra);
    ev.extend_from_slice(b"event: ");
    ev.extend_from_slice(name);
    ev.extend_from_slice(b"\ndata: {\"type\":\"");
    ev.extend_from_slice(name);
    ev.push(b'"');
    ev
}

fn delta_event(out: &mut Vec<Bytes>, index: u32, kind: &[u8], field: &[u8], text: &str) {
    let mut ev = event_head(b"content_block_delta", 48 + text.len());
    ev.extend_from_slice(b",\"index\":");
    ev.extend_from_slice(index.to_string().as_bytes());
    ev.extend_from_slice(b",\"delta\":{\"type\":\"");
    ev.extend_from_slice(kind);
    ev.extend_from_slice(b"\",\"");
    ev.extend_from_slice(field);
    ev.extend_from_slice(b"\":");
    write_json_string(&mut ev, text);
    ev.extend_from_slice(b"}}\n\n");
    out.push(Bytes::from(ev));
}

fn tool_start_event(out: &mut Vec<Bytes>, index: u32, id: &str, name: &str) {
    let mut ev = event_head(b"content_block_start", 96 + id.len() + name.len());
    ev.extend_from_slice(b",\"index\":");
    ev.extend_from_slice(index.to_string().as_bytes());
    ev.extend_from_slice(b",\"content_block\":{\"type\":\"tool_use\",\"id\":");
    write_json_string(&mut ev, id);
    ev.extend_from_slice(b",\"name\":");
    write_json_string(&mut ev, name);
    ev.extend_from_slice(b",\"input\":{}}}\n\n");
    out.push(Bytes::from(ev));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseFramer;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/anthropic/openai_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/anthropic/openai_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/anthropic/openai_stream_error.sse");

    /// Output events as (event name, data JSON).
    fn translate(stream: &str, finish: bool) -> Vec<(String, Value)> {
        let mut framer = SseFramer::new();
        let mut t = OpenAiToAnthropicStream::new("fallback-model");
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(41) {
            framer.push(piece);
            while let Some(ev) = framer.next_event().expect("framed") {
                t.push(&ev, &mut out);
            }
        }
        if finish {
            t.finish(&mut out);
        }
        out.iter()
            .map(|e| {
                let name =
                    String::from_utf8(sse::event_name(e).expect("name").to_vec()).expect("utf8");
                let data: Value =
                    serde_json::from_slice(&sse::event_data(e).expect("data")).expect("json");
                assert_eq!(data["type"], name.as_str(), "type matches the event name");
                (name, data)
            })
            .collect()
    }

    fn names(events: &[(String, Value)]) -> Vec<&str> {
        events.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn text_stream() {
        let events = translate(TEXT, true);
        assert_eq!(
            names(&events),
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let start = &events[0].1["message"];
        assert_eq!(start["id"], "chatcmpl-text");
        assert_eq!(start["model"], "gpt-4o-mini-2024-07-18");
        assert_eq!(start["role"], "assistant");
        assert_eq!(start["content"], json!([]));
        assert_eq!(
            events[1].1["content_block"],
            json!({"type": "text", "text": ""})
        );
        let text: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "Hello, \"world\"!\nBye.");
        assert!(events[2..5].iter().all(|(_, d)| d["index"] == 0));
        assert_eq!(
            events[6].1["delta"],
            json!({"stop_reason": "end_turn", "stop_sequence": null})
        );
        assert_eq!(
            events[6].1["usage"],
            json!({"input_tokens": 6, "cache_creation_input_tokens": 0,
                   "cache_read_input_tokens": 4, "output_tokens": 5})
        );
    }

    #[test]
    fn tool_stream_gets_one_block_per_call() {
        let events = translate(TOOLS, true);
        assert_eq!(
            names(&events),
            [
                "message_start",
                "content_block_start", // thinking 0
                "content_block_delta",
                "content_block_stop",
                "content_block_start", // text 1
                "content_block_delta",
                "content_block_stop",
                "content_block_start", // tool 2
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start", // tool 3
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[1].1["content_block"]["type"], "thinking");
        assert_eq!(
            events[2].1["delta"],
            json!({"type": "thinking_delta", "thinking": "Hmm."})
        );
        assert_eq!(
            events[7].1,
            json!({"type": "content_block_start", "index": 2,
                   "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}})
        );
        assert_eq!(events[11].1["content_block"]["id"], "call_2");
        assert_eq!(events[11].1["index"], 3);
        for (index, expected) in [
            (2, json!({"city": "Paris"})),
            (3, json!({"city": "Berlin", "days": 2})),
        ] {
            let args: String = events
                .iter()
                .filter(|(n, d)| n == "content_block_delta" && d["index"] == index)
                .map(|(_, d)| {
                    assert_eq!(d["delta"]["type"], "input_json_delta");
                    d["delta"]["partial_json"]
                        .as_str()
                        .expect("partial")
                        .to_string()
                })
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&args).expect("json"),
                expected
            );
        }
        // Block stops come in order, each after its own deltas.
        let stops: Vec<&Value> = events
            .iter()
            .filter(|(n, _)| n == "content_block_stop")
            .map(|(_, d)| &d["index"])
            .collect();
        assert_eq!(stops, [&json!(0), &json!(1), &json!(2), &json!(3)]);
        assert_eq!(events[16].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(events[16].1["usage"]["output_tokens"], 30);
        assert_eq!(events[16].1["usage"]["input_tokens"], 80);
    }

    #[test]
    fn error_chunk_mid_stream() {
        let events = translate(ERROR, true);
        let (name, data) = events.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(
            *data,
            json!({"type": "error", "error": {"type": "api_error", "message": "The server had an error"}})
        );
        assert!(!names(&events).contains(&"message_stop"));
    }

    #[test]
    fn bifrost_error_events_and_cut_streams() {
        let mut t = OpenAiToAnthropicStream::new("m");
        let mut out = Vec::new();
        t.push(
            br#"data: {"error":{"is_bifrost_error":false,"status_code":429,"error":{"type":"rate_limit_exceeded","message":"slow down"}}}"#,
            &mut out,
        );
        let v: Value = serde_json::from_slice(&sse::event_data(&out[0]).expect("d")).expect("j");
        assert_eq!(
            v["error"],
            json!({"type": "rate_limit_error", "message": "slow down"})
        );
        assert!(t.is_done());

        // Cut before any finish reason: an error event.
        let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").expect("finish")];
        let cut = &cut[..cut.rfind("data:").expect("event")];
        let events = translate(cut, true);
        assert_eq!(events.last().expect("ev").0, "error");
        // Cut after the finish reason but before [DONE]: completed normally.
        let cut = &TEXT[..TEXT.find("data: [DONE]").expect("done")];
        let events = translate(cut, true);
        assert_eq!(events.last().expect("ev").0, "message_stop");

        // A bare [DONE] still yields a well-formed (empty) message.
        let events = translate("data: [DONE]\n\n", false);
        assert_eq!(
            names(&events),
            ["message_start", "message_delta", "message_stop"]
        );
        assert_eq!(events[0].1["message"]["model"], "fallback-model");
        // Garbage ends the stream with an error.
        let events = translate("data: {nope\n\n", false);
        assert_eq!(names(&events), ["error"]);
    }

    #[test]
    fn interleaved_tool_calls_keep_their_blocks() {
        let stream = "\
data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}},{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{\"}}]}}]}\n\n\
data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}},{\"index\":1,\"function\":{\"arguments\":\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n\
data: [DONE]\n\n";
        let events = translate(stream, false);
        let args = |index: u64| -> String {
            events
                .iter()
                .filter(|(n, d)| n == "content_block_delta" && d["index"] == index)
                .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
                .collect()
        };
        assert_eq!(args(0), "{}");
        assert_eq!(args(1), "{}");
        assert_eq!(
            events
                .iter()
                .filter(|(n, _)| n == "content_block_start")
                .count(),
            2
        );
    }
}
