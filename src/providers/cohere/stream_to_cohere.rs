//! OpenAI `chat.completion.chunk` events -> Cohere v2 chat stream events, one event at a time.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::error::message_end_error;
use super::response::{cohere_finish_reason, usage_to_cohere};
use crate::json::write_json_string;
use crate::providers::unified::{self, Usage};
use crate::sse;

/// Translates an OpenAI chat completion stream into a Cohere v2 chat stream.
///
/// Feed it each raw upstream event with [`push`](Self::push) and call [`finish`](Self::finish)
/// when the upstream ends. Output (`event: <type>` + `data:`): `message-start` on the first
/// chunk, then one content block per text or reasoning run (`content-start`, `content-delta`,
/// `content-end`, with increasing content indexes; reasoning as `thinking` blocks), one
/// `tool-call-start` / `tool-call-delta` / `tool-call-end` run per tool call (with the tool
/// call's index), then `message-end` (finish reason and usage) at `[DONE]`. An
/// `{"error": ...}` chunk becomes a `message-end` with `finish_reason: "ERROR"` and the message
/// in `delta.error`, which is how Cohere reports a failure mid-stream.
#[derive(Debug)]
pub struct OpenAiToCohereStream {
    started: bool,
    done: bool,
    next_content: u32,
    open: Option<Open>,
    /// OpenAI tool-call index -> Cohere tool-call index.
    tools: Vec<(u32, u32)>,
    finish: Option<String>,
    usage: Option<Usage>,
}

/// The block currently open, with its Cohere index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(u32),
    Thinking(u32),
    Tool(u32),
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default, alias = "reasoning_content")]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// `event: <kind>\ndata: {"type":"<kind>"` (the caller completes the object).
fn head(kind: &str, extra: usize) -> Vec<u8> {
    let mut ev = Vec::with_capacity(2 * kind.len() + 32 + extra);
    ev.extend_from_slice(b"event: ");
    ev.extend_from_slice(kind.as_bytes());
    ev.extend_from_slice(b"\ndata: {\"type\":\"");
    ev.extend_from_slice(kind.as_bytes());
    ev.push(b'"');
    ev
}

/// `,"index":N`.
fn push_index(ev: &mut Vec<u8>, index: u32) {
    ev.extend_from_slice(b",\"index\":");
    ev.extend_from_slice(index.to_string().as_bytes());
}

impl Default for OpenAiToCohereStream {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenAiToCohereStream {
    /// A translator.
    pub fn new() -> Self {
        Self {
            started: false,
            done: false,
            next_content: 0,
            open: None,
            tools: Vec::new(),
            finish: None,
            usage: None,
        }
    }

    /// True once `message-end` was emitted.
    pub fn is_done(&self) -> bool {
        self.done
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
        let chunk: Chunk = match crate::json::from_slice(&data) {
            Ok(c) => c,
            Err(e) => {
                self.fail(out, &format!("invalid stream chunk from provider: {e}"));
                return;
            }
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            // OpenAI: {"message", ...}; a gateway-made event nests Bifrost's error JSON.
            let inner = err.get("error").filter(|e| e.is_object()).unwrap_or(&err);
            let message = match inner.get("message").or_else(|| err.get("message")) {
                Some(Value::String(m)) => m.clone(),
                _ => "provider stream error".to_string(),
            };
            self.fail(out, &message);
            return;
        }
        if !self.started {
            self.start(out, chunk.id.as_deref().unwrap_or(""));
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        // Cohere has one answer per message: only the first choice is relayed.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                self.on_delta(delta, out);
            }
            if let Some(f) = choice.finish_reason {
                self.close_open(out);
                self.finish = Some(f);
            }
        }
    }

    /// Ends the translation when the upstream closed: completes a stream that only lacked its
    /// `[DONE]`, or reports a stream cut short.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.finish.is_some() {
            self.end(out);
        } else {
            self.fail(out, "stream ended before the provider finished the message");
        }
    }

    fn on_delta(&mut self, delta: ChunkDelta, out: &mut Vec<Bytes>) {
        if let Some(t) = delta.reasoning.as_deref().filter(|t| !t.is_empty()) {
            let index = self.ensure_content(out, false);
            content_delta(out, index, b"thinking", t);
        }
        for t in [delta.content.as_deref(), delta.refusal.as_deref()]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
        {
            let index = self.ensure_content(out, true);
            content_delta(out, index, b"text", t);
        }
        for (pos, call) in delta.tool_calls.into_iter().flatten().enumerate() {
            let oi = call.index.unwrap_or(pos as u32);
            let function = call.function.as_ref();
            let index = match self.tools.iter().find(|(o, _)| *o == oi) {
                Some(&(_, c)) => c,
                None => {
                    self.close_open(out);
                    let c = self.tools.len() as u32;
                    self.tools.push((oi, c));
                    self.open = Some(Open::Tool(c));
                    let id = call.id.clone().unwrap_or_else(|| format!("call_{c}"));
                    let name = function.and_then(|f| f.name.as_deref()).unwrap_or("");
                    let mut ev = head("tool-call-start", 96 + id.len() + name.len());
                    push_index(&mut ev, c);
                    ev.extend_from_slice(b",\"delta\":{\"message\":{\"tool_calls\":{\"id\":");
                    write_json_string(&mut ev, &id);
                    ev.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
                    write_json_string(&mut ev, name);
                    ev.extend_from_slice(b",\"arguments\":\"\"}}}}}\n\n");
                    out.push(Bytes::from(ev));
                    c
                }
            };
            if let Some(args) = function
                .and_then(|f| f.arguments.as_deref())
                .filter(|a| !a.is_empty())
            {
                let mut ev = head("tool-call-delta", 64 + args.len());
                push_index(&mut ev, index);
                ev.extend_from_slice(
                    b",\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":",
                );
                write_json_string(&mut ev, args);
                ev.extend_from_slice(b"}}}}}\n\n");
                out.push(Bytes::from(ev));
            }
        }
    }

    /// The index of the open text (or thinking) block, opening one if needed.
    fn ensure_content(&mut self, out: &mut Vec<Bytes>, text: bool) -> u32 {
        match self.open {
            Some(Open::Text(i)) if text => return i,
            Some(Open::Thinking(i)) if !text => return i,
            _ => {}
        }
        self.close_open(out);
        let index = self.next_content;
        self.next_content += 1;
        self.open = Some(if text {
            Open::Text(index)
        } else {
            Open::Thinking(index)
        });
        let mut ev = head("content-start", 96);
        push_index(&mut ev, index);
        ev.extend_from_slice(if text {
            &b",\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n"[..]
        } else {
            &b",\"delta\":{\"message\":{\"content\":{\"type\":\"thinking\",\"thinking\":\"\"}}}}\n\n"[..]
        });
        out.push(Bytes::from(ev));
        index
    }

    fn close_open(&mut self, out: &mut Vec<Bytes>) {
        let (kind, index) = match self.open.take() {
            None => return,
            Some(Open::Text(i) | Open::Thinking(i)) => ("content-end", i),
            Some(Open::Tool(i)) => ("tool-call-end", i),
        };
        let mut ev = head(kind, 16);
        push_index(&mut ev, index);
        ev.extend_from_slice(b"}\n\n");
        out.push(Bytes::from(ev));
    }

    fn start(&mut self, out: &mut Vec<Bytes>, id: &str) {
        self.started = true;
        let mut ev = b"event: message-start\ndata: {\"id\":".to_vec();
        write_json_string(&mut ev, id);
        ev.extend_from_slice(
            b",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\
              \"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n",
        );
        out.push(Bytes::from(ev));
    }

    /// Closes the open block and sends `message-end`.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.start(out, "");
        }
        self.close_open(out);
        let reason = cohere_finish_reason(
            self.finish.as_deref().unwrap_or("stop"),
            !self.tools.is_empty(),
        );
        let mut ev = head("message-end", 192);
        ev.extend_from_slice(b",\"delta\":{\"finish_reason\":");
        write_json_string(&mut ev, reason);
        ev.extend_from_slice(b",\"usage\":");
        ev.extend_from_slice(&unified::encode(&usage_to_cohere(
            self.usage.as_ref().unwrap_or(&Usage::default()),
        )));
        ev.extend_from_slice(b"}}\n\n");
        out.push(Bytes::from(ev));
        self.done = true;
    }

    /// Ends the stream with Cohere's failed `message-end`.
    fn fail(&mut self, out: &mut Vec<Bytes>, message: &str) {
        if !self.started {
            self.start(out, "");
        }
        self.close_open(out);
        out.push(message_end_error(message));
        self.done = true;
    }
}

/// `content-delta` carrying `field` (`text` or `thinking`).
fn content_delta(out: &mut Vec<Bytes>, index: u32, field: &[u8], text: &str) {
    let mut ev = head("content-delta", 64 + text.len());
    push_index(&mut ev, index);
    ev.extend_from_slice(b",\"delta\":{\"message\":{\"content\":{\"");
    ev.extend_from_slice(field);
    ev.extend_from_slice(b"\":");
    write_json_string(&mut ev, text);
    ev.extend_from_slice(b"}}}}\n\n");
    out.push(Bytes::from(ev));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::cohere::CohereToOpenAiStream;
    use crate::sse::SseFramer;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/cohere/openai_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/cohere/openai_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/cohere/openai_stream_error.sse");

    fn translate(stream: &str, finish: bool) -> Vec<Bytes> {
        let mut framer = SseFramer::new();
        let mut t = OpenAiToCohereStream::new();
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(31) {
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

    /// `(event name, data)` of each output event; the name always matches the data's type.
    fn events(out: &[Bytes]) -> Vec<(String, Value)> {
        out.iter()
            .map(|e| {
                let name =
                    String::from_utf8(sse::event_name(e).expect("name").to_vec()).expect("utf8");
                let v: Value =
                    serde_json::from_slice(&sse::event_data(e).expect("data")).expect("json");
                assert_eq!(v["type"], name.as_str());
                (name, v)
            })
            .collect()
    }

    #[test]
    fn text_stream() {
        let evs = events(&translate(TEXT, true));
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message-start",
                "content-start",
                "content-delta",
                "content-delta",
                "content-delta",
                "content-end",
                "message-end"
            ]
        );
        assert_eq!(evs[0].1["id"], "chatcmpl-Text1");
        assert_eq!(evs[0].1["delta"]["message"]["role"], "assistant");
        let text: String = evs
            .iter()
            .filter_map(|(_, v)| v["delta"]["message"]["content"]["text"].as_str())
            .collect();
        assert_eq!(text, "Hello, \"world\"!\nHow are you?");
        let end = &evs[6].1["delta"];
        assert_eq!(end["finish_reason"], "COMPLETE");
        assert_eq!(
            end["usage"]["tokens"],
            json!({"input_tokens": 25, "output_tokens": 9})
        );
    }

    #[test]
    fn tool_stream_with_reasoning_and_two_calls() {
        let evs = events(&translate(TOOLS, true));
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.first(), Some(&"message-start"));
        assert_eq!(names.last(), Some(&"message-end"));
        assert_eq!(names.iter().filter(|n| **n == "tool-call-start").count(), 2);
        assert_eq!(names.iter().filter(|n| **n == "tool-call-end").count(), 2);
        let thinking: String = evs
            .iter()
            .filter_map(|(_, v)| v["delta"]["message"]["content"]["thinking"].as_str())
            .collect();
        assert_eq!(thinking, "Two cities.");
        let starts: Vec<&Value> = evs
            .iter()
            .filter(|(n, _)| n == "tool-call-start")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(starts[0]["index"], 0);
        assert_eq!(
            starts[0]["delta"]["message"]["tool_calls"],
            json!({"id": "call_A", "type": "function",
                   "function": {"name": "get_weather", "arguments": ""}})
        );
        assert_eq!(starts[1]["index"], 1);
        for (index, expected) in [
            (0, json!({"city": "Paris"})),
            (1, json!({"city": "Berlin"})),
        ] {
            let args: String = evs
                .iter()
                .filter(|(n, v)| n == "tool-call-delta" && v["index"] == index)
                .filter_map(|(_, v)| {
                    v["delta"]["message"]["tool_calls"]["function"]["arguments"].as_str()
                })
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&args).expect("json"),
                expected
            );
        }
        assert_eq!(
            evs.last().expect("end").1["delta"]["finish_reason"],
            "TOOL_CALL"
        );
    }

    #[test]
    fn error_mid_stream_becomes_a_failed_message_end() {
        let evs = events(&translate(ERROR, true));
        let (name, last) = evs.last().expect("events");
        assert_eq!(name, "message-end");
        assert_eq!(last["delta"]["finish_reason"], "ERROR");
        assert_eq!(last["delta"]["error"], "The server had an error");
        assert!(
            evs.iter().any(|(n, _)| n == "content-end"),
            "the open block is closed"
        );
    }

    #[test]
    fn cut_streams_and_round_trip() {
        let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").expect("finish")];
        let cut = &cut[..cut.rfind("data:").expect("event")];
        let evs = events(&translate(cut, true));
        assert_eq!(
            evs.last().expect("end").1["delta"]["finish_reason"],
            "ERROR"
        );
        // Without [DONE] but after the finish reason, the stream is completed.
        let no_done = TEXT.replace("data: [DONE]", "");
        let evs = events(&translate(&no_done, true));
        assert_eq!(
            evs.last().expect("end").1["delta"]["finish_reason"],
            "COMPLETE"
        );

        // OpenAI -> Cohere -> OpenAI gives the same text and finish reason back.
        let mut back = CohereToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        for ev in translate(TEXT, true) {
            back.push(&ev, &mut out);
        }
        let chunks: Vec<Value> = out
            .iter()
            .filter(|e| !sse::is_done(e))
            .map(|e| serde_json::from_slice(&sse::event_data(e).expect("d")).expect("j"))
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hello, \"world\"!\nHow are you?");
        assert!(sse::is_done(out.last().expect("done")));
    }
}
