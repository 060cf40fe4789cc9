//! ConverseStream event-stream messages -> OpenAI `chat.completion.chunk` events.

use bytes::Bytes;
use serde::Deserialize;

use super::error::message_error;
use super::eventstream::Message;
use super::response::{finish_reason, new_id, usage_from_bedrock};
use super::wire::TokenUsage;
use crate::providers::openai_chunks::{self, ChunkWriter, Delta as Piece};
use crate::providers::unified;

/// Translates a Bedrock ConverseStream into an OpenAI chat completion stream.
///
/// Feed it each raw event-stream message (as cut by
/// [`EventStreamFramer`](super::eventstream::EventStreamFramer)) with [`push`](Self::push) and
/// call [`finish`](Self::finish) when the upstream ends. Output events are complete SSE events:
/// the role on `messageStart`, text and reasoning deltas, tool-call deltas (id and name on
/// `contentBlockStart`, then argument pieces, each with the tool call's `index`), the finish
/// reason on `messageStop`, then on `metadata` (the last event) a usage chunk when asked for
/// and `data: [DONE]`. An exception message becomes `data: {"error": ...}` (Bifrost's error
/// JSON) and ends the stream without `[DONE]`.
#[derive(Debug)]
pub struct BedrockToOpenAiStream {
    include_usage: bool,
    model: String,
    /// `data: {"id":..,"object":"chat.completion.chunk","created":..,"model":..`.
    chunks: ChunkWriter,
    /// Converse content block index -> OpenAI tool call index.
    tools: Vec<(u64, u32)>,
    next_tool: u32,
    usage: Option<TokenUsage>,
    finish: Option<&'static str>,
    done: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(default)]
    content_block_index: Option<u64>,
    #[serde(default)]
    start: Option<BlockStart>,
    #[serde(default)]
    delta: Option<BlockDelta>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    tool_use: Option<ToolStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStart {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolDelta>,
    #[serde(default)]
    reasoning_content: Option<ReasoningDelta>,
}

#[derive(Deserialize)]
struct ToolDelta {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
struct ReasoningDelta {
    #[serde(default)]
    text: Option<String>,
}

/// What a chunk's delta carries (one kind per chunk).
impl BedrockToOpenAiStream {
    /// A translator; `include_usage` mirrors the client's `stream_options.include_usage` and
    /// `model` names the model in every chunk (ConverseStream events carry none).
    pub fn new(include_usage: bool, model: &str) -> Self {
        Self {
            include_usage,
            model: model.to_string(),
            chunks: ChunkWriter::default(),
            tools: Vec::new(),
            next_tool: 0,
            usage: None,
            finish: None,
            done: false,
        }
    }

    /// True once the stream has ended (`[DONE]` or an error was emitted).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Translates one raw event-stream message, appending the resulting events to `out`.
    pub fn push(&mut self, frame: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let msg = match Message::decode(frame) {
            Ok(m) => m,
            Err(e) => {
                self.fail(out, 502, None, format!("invalid stream from provider: {e}"));
                return;
            }
        };
        if let Some(err) = message_error(&msg) {
            self.fail(out, err.status, err.kind, err.message);
            return;
        }
        let Some(kind) = msg.header_str(":event-type") else {
            return;
        };
        let ev: Event = match crate::json::from_slice(msg.payload) {
            Ok(ev) => ev,
            Err(e) => {
                self.fail(
                    out,
                    502,
                    None,
                    format!("invalid {kind} event from provider: {e}"),
                );
                return;
            }
        };
        match kind {
            "messageStart" => self.emit(out, Piece::Role),
            "contentBlockStart" => {
                if let Some(tool) = ev.start.and_then(|s| s.tool_use) {
                    let index = self.tool_index(ev.content_block_index.unwrap_or(0));
                    self.emit(
                        out,
                        Piece::ToolStart {
                            index,
                            id: &tool.tool_use_id,
                            name: &tool.name,
                        },
                    );
                }
            }
            "contentBlockDelta" => {
                let Some(delta) = ev.delta else { return };
                if let Some(t) = delta.text.as_deref().filter(|t| !t.is_empty()) {
                    self.emit(out, Piece::Content(t));
                }
                if let Some(t) = delta
                    .reasoning_content
                    .as_ref()
                    .and_then(|r| r.text.as_deref())
                    .filter(|t| !t.is_empty())
                {
                    self.emit(out, Piece::Reasoning(t));
                }
                if let Some(tool) = delta.tool_use.filter(|t| !t.input.is_empty()) {
                    let index = self.tool_index(ev.content_block_index.unwrap_or(0));
                    self.emit(
                        out,
                        Piece::ToolArgs {
                            index,
                            arguments: &tool.input,
                        },
                    );
                }
            }
            "messageStop" => {
                let finish = finish_reason(ev.stop_reason.as_deref().unwrap_or("end_turn"));
                self.finish = Some(finish);
                self.emit(out, Piece::Finish(finish));
            }
            "metadata" => {
                self.usage = ev.usage;
                if self.finish.is_some() {
                    self.end(out);
                }
            }
            // contentBlockStop, and event types added after this was written.
            _ => {}
        }
    }

    /// Ends the translation when the upstream closed: completes a stream that only lacked its
    /// `metadata`, or reports a stream cut short as an error event.
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

    /// The OpenAI tool call index of a Converse content block (allocated on first sight).
    fn tool_index(&mut self, block: u64) -> u32 {
        if let Some((_, i)) = self.tools.iter().find(|(b, _)| *b == block) {
            return *i;
        }
        let i = self.next_tool;
        self.next_tool += 1;
        self.tools.push((block, i));
        i
    }

    /// Emits `data: {"error": <Bifrost error JSON>}` and ends the stream.
    fn fail(&mut self, out: &mut Vec<Bytes>, status: u16, kind: Option<String>, message: String) {
        out.push(openai_chunks::error_event(status, kind, message));
        self.done = true;
    }

    /// The usage chunk (when asked for and known) and `[DONE]`.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        if self.include_usage
            && let Some(u) = &self.usage
        {
            let usage = unified::encode(&usage_from_bedrock(u));
            self.ensure_prefix();
            self.chunks.usage(out, &usage);
        }
        out.push(Bytes::from_static(openai_chunks::DONE));
        self.done = true;
    }

    fn ensure_prefix(&mut self) {
        if !self.chunks.is_started() {
            self.chunks.start(&new_id(), &self.model);
        }
    }

    fn emit(&mut self, out: &mut Vec<Bytes>, piece: Piece<'_>) {
        self.ensure_prefix();
        self.chunks.delta(out, 0, piece);
    }
}

/// Reads a fixture of one event per line (`<event type> <JSON payload>`, or
/// `!<exception type> <JSON payload>`) into an event stream, for tests and benches.
pub fn stream_from_lines(lines: &str) -> Vec<u8> {
    use super::eventstream::{encode_event, encode_exception};
    let mut out = Vec::new();
    for line in lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, payload) = line.split_once(' ').unwrap_or((line, "{}"));
        let frame = match name.strip_prefix('!') {
            Some(exception) => encode_exception(exception, payload.as_bytes()),
            None => encode_event(name, payload.as_bytes()),
        };
        out.extend(frame);
    }
    out
}

/// The JSON of a chunk's `data:` (test helper shared with the codec tests).
#[cfg(test)]
pub(crate) fn chunk_json(event: &[u8]) -> Option<serde_json::Value> {
    let data = crate::sse::event_data(event)?;
    crate::json::from_slice(&data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::bedrock::eventstream::{EventStreamFramer, encode_event};
    use crate::sse;
    use serde_json::{Value, json};

    const TEXT: &str = include_str!("../../../tests/fixtures/bedrock/converse_stream_text.events");
    const TOOLS: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_stream_tools.events");
    const ERROR: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_stream_error.events");

    /// Frames the stream in small pieces, translates every message, returns the output events.
    fn translate(lines: &str, include_usage: bool, finish: bool) -> Vec<Bytes> {
        let stream = stream_from_lines(lines);
        let mut framer = EventStreamFramer::new();
        let mut t = BedrockToOpenAiStream::new(include_usage, "anthropic.claude-x");
        let mut out = Vec::new();
        for piece in stream.chunks(29) {
            framer.push(piece);
            while let Some(frame) = framer.next_message().expect("framed") {
                let before = out.len();
                t.push(&frame, &mut out);
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
            .map(|e| chunk_json(e).expect("json chunk"))
            .collect()
    }

    #[test]
    fn text_stream() {
        let out = translate(TEXT, true, true);
        assert!(sse::is_done(out.last().expect("events")));
        let chunks = data(&out);
        let id = chunks[0]["id"].clone();
        assert!(
            chunks
                .iter()
                .all(|c| c["id"] == id && c["model"] == "anthropic.claude-x")
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
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
        // messageStart, 3 deltas, messageStop, usage, [DONE]; block starts/stops say nothing.
        assert_eq!(out.len(), 7);
        // Without include_usage: no usage chunk, still [DONE] on metadata.
        let out = translate(TEXT, false, false);
        assert_eq!(out.len(), 6);
        assert!(sse::is_done(out.last().expect("done")));
        assert!(data(&out).iter().all(|c| c.get("usage").is_none()));
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
        let starts: Vec<&&Value> = calls.iter().filter(|c| c.get("id").is_some()).collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(
            *starts[0],
            &json!({"index": 0, "id": "tooluse_A", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}})
        );
        assert_eq!(starts[1]["index"], 1);
        assert_eq!(starts[1]["id"], "tooluse_B");
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
        assert_eq!(usage["prompt_tokens"], 2000 + 90);
        assert_eq!(usage["completion_tokens"], 77);
        assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 2000);
        assert!(sse::is_done(out.last().expect("done")));
    }

    #[test]
    fn exception_mid_stream_ends_without_done() {
        let out = translate(ERROR, false, true);
        assert!(!out.iter().any(|e| sse::is_done(e)));
        let v = chunk_json(out.last().expect("events")).expect("json");
        assert_eq!(v["error"]["status_code"], 503);
        assert_eq!(v["error"]["error"]["type"], "modelStreamErrorException");
        assert!(
            v["error"]["error"]["message"]
                .as_str()
                .expect("message")
                .contains("Model produced invalid sequence")
        );
        let text: String = data(&out[..out.len() - 1])
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Partial answ");
    }

    #[test]
    fn cut_streams() {
        // Cut before messageStop: the client learns the stream broke.
        let cut = &TEXT[..TEXT.find("messageStop").expect("stop")];
        let out = translate(cut, false, true);
        let v = chunk_json(out.last().expect("ev")).expect("json");
        assert_eq!(v["error"]["status_code"], 502);
        // Cut after messageStop (no metadata): completed with [DONE], no usage to report.
        let cut = &TEXT[..TEXT.find("metadata").expect("metadata")];
        let out = translate(cut, true, true);
        assert!(sse::is_done(out.last().expect("ev")));
        assert!(data(&out).iter().all(|c| c.get("usage").is_none()));
    }

    #[test]
    fn garbage_and_extras() {
        let mut t = BedrockToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            &encode_event("contentBlockStop", br#"{"contentBlockIndex":0}"#),
            &mut out,
        );
        t.push(&encode_event("somethingNew", br#"{"x":1}"#), &mut out);
        t.push(
            &super::super::eventstream::encode(&[(":message-type", "event")], b"{}"),
            &mut out,
        );
        assert!(out.is_empty());
        t.push(&encode_event("contentBlockDelta", b"{not json"), &mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
        t.push(
            &encode_event("messageStop", br#"{"stopReason":"end_turn"}"#),
            &mut out,
        );
        t.finish(&mut out);
        assert_eq!(out.len(), 1, "nothing after the end");
        // A frame with a broken checksum is an error too.
        let mut t = BedrockToOpenAiStream::new(false, "m");
        let mut frame = encode_event("messageStart", br#"{"role":"assistant"}"#);
        let n = frame.len();
        frame[n - 1] ^= 0xff;
        let mut out = Vec::new();
        t.push(&frame, &mut out);
        let v = chunk_json(&out[0]).expect("json");
        assert_eq!(v["error"]["status_code"], 502);
        // A tool delta whose start was never seen still gets an index.
        let mut t = BedrockToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            &encode_event(
                "contentBlockDelta",
                br#"{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}"#,
            ),
            &mut out,
        );
        let v = chunk_json(&out[0]).expect("json");
        assert_eq!(v["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
    }
}
