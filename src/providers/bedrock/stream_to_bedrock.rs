//! OpenAI `chat.completion.chunk` events -> ConverseStream event-stream messages, for AWS SDK
//! clients of the `/bedrock/model/{id}/converse-stream` drop-in route.

use bytes::Bytes;
use serde_json::{Value, json};

use super::client::{stop_reason, usage_to_bedrock};
use super::eventstream::{encode_event, encode_exception};
use crate::http::put_decimal;
use crate::json::write_json_string;
use crate::providers::unified::{ChatChunk, Usage};
use crate::sse;

/// What the open Converse content block carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Reasoning,
    /// A tool call with its OpenAI index.
    Tool(u32),
}

/// Translates an OpenAI chat completion stream into a Bedrock ConverseStream.
///
/// Feed it each raw SSE event with [`push`](Self::push) and call [`finish`](Self::finish) when
/// the upstream ends. Output items are whole event-stream messages: `messageStart`, text and
/// reasoning `contentBlockDelta`s, a `contentBlockStart` per tool call then its argument
/// deltas, `contentBlockStop` when a block ends, `messageStop` on the finish reason, and
/// `metadata` (usage) at the end. An error event becomes an exception message.
#[derive(Debug, Default)]
pub struct OpenAiToBedrockStream {
    started: bool,
    block: Option<(u64, Block)>,
    next_block: u64,
    stopped: bool,
    usage: Option<Usage>,
    done: bool,
}

impl OpenAiToBedrockStream {
    /// A translator for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the stream has ended (`metadata` or an exception was emitted).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Translates one raw OpenAI SSE event, appending the resulting messages to `out`.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if sse::is_done(event) {
            self.end(out);
            return;
        }
        let Some(data) = sse::event_data(event) else {
            return; // comments and keep-alives
        };
        // Most events carry no error: decoded straight into the chunk, without a `Value` first.
        // Anything else takes the general path below, which tells errors apart.
        let fast = (!crate::json::mentions_error(&data))
            .then(|| ChatChunk::from_slice(&data).ok())
            .flatten();
        let chunk = match fast {
            Some(c) => c,
            None => match self.decode(&data, out) {
                Some(c) => c,
                None => return,
            },
        };
        self.chunk(chunk, out);
    }

    /// Decodes an event through a `Value`: reports an error event or an undecodable one (and
    /// returns `None`), else returns its chunk.
    fn decode(&mut self, data: &[u8], out: &mut Vec<Bytes>) -> Option<ChatChunk> {
        let value: Value = match crate::json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                self.fail(
                    out,
                    502,
                    &format!("invalid stream event from provider: {e}"),
                );
                return None;
            }
        };
        if let Some(err) = value.get("error").filter(|e| e.is_object()) {
            let inner = err.get("error").filter(|e| e.is_object()).unwrap_or(err);
            let message = inner
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("provider stream error");
            let status = err
                .get("status_code")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(500);
            self.fail(out, status, message);
            return None;
        }
        match serde_json::from_value(value) {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail(
                    out,
                    502,
                    &format!("invalid stream chunk from provider: {e}"),
                );
                None
            }
        }
    }

    /// Translates one decoded chunk.
    fn chunk(&mut self, chunk: ChatChunk, out: &mut Vec<Bytes>) {
        self.start(out);
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            return;
        };
        let delta = choice.delta;
        if let Some(t) = delta.reasoning.filter(|t| !t.is_empty()) {
            let i = self.open(Block::Reasoning, out);
            emit_delta(out, i, DeltaKind::Reasoning, &t);
        }
        if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
            let i = self.open(Block::Text, out);
            emit_delta(out, i, DeltaKind::Text, &t);
        }
        for call in delta.tool_calls.into_iter().flatten() {
            let tool = call.index.unwrap_or(0);
            let (name, args) = call
                .function
                .map(|f| (f.name, f.arguments))
                .unwrap_or_default();
            let i = if call.id.is_some() || self.block.map(|b| b.1) != Some(Block::Tool(tool)) {
                let i = self.open_new(Block::Tool(tool), out);
                emit(
                    out,
                    "contentBlockStart",
                    &json!({"contentBlockIndex": i, "start": {"toolUse": {
                        "toolUseId": call.id.unwrap_or_default(),
                        "name": name.unwrap_or_default()
                    }}}),
                );
                i
            } else {
                self.next_block - 1
            };
            if let Some(a) = args.filter(|a| !a.is_empty()) {
                emit_delta(out, i, DeltaKind::ToolInput, &a);
            }
        }
        if let Some(f) = choice.finish_reason {
            self.stop(out, stop_reason(&f));
        }
    }

    /// Ends the stream when the upstream closed: completes one that only lacked its end, or
    /// reports a stream cut short as an exception.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.stopped {
            self.end(out);
        } else {
            self.fail(
                out,
                502,
                "stream ended before the provider finished the message",
            );
        }
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.started = true;
            emit(out, "messageStart", &json!({"role": "assistant"}));
        }
    }

    /// The index of an open block of `kind`, opening one if needed.
    fn open(&mut self, kind: Block, out: &mut Vec<Bytes>) -> u64 {
        match self.block {
            Some((i, k)) if k == kind => i,
            _ => self.open_new(kind, out),
        }
    }

    /// Closes the open block (if any) and opens a new one.
    fn open_new(&mut self, kind: Block, out: &mut Vec<Bytes>) -> u64 {
        self.close(out);
        let i = self.next_block;
        self.next_block += 1;
        self.block = Some((i, kind));
        i
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if let Some((i, _)) = self.block.take() {
            emit(out, "contentBlockStop", &json!({"contentBlockIndex": i}));
        }
    }

    fn stop(&mut self, out: &mut Vec<Bytes>, reason: &str) {
        if self.stopped {
            return;
        }
        self.start(out);
        self.close(out);
        self.stopped = true;
        emit(out, "messageStop", &json!({"stopReason": reason}));
    }

    /// `messageStop` (if the finish reason never came) and the closing `metadata`.
    fn end(&mut self, out: &mut Vec<Bytes>) {
        self.stop(out, "end_turn");
        let usage = self
            .usage
            .as_ref()
            .map(usage_to_bedrock)
            .unwrap_or_default();
        emit(
            out,
            "metadata",
            &json!({"usage": usage, "metrics": {"latencyMs": 0}}),
        );
        self.done = true;
    }

    fn fail(&mut self, out: &mut Vec<Bytes>, status: u16, message: &str) {
        let kind = match status {
            400 | 413 | 422 => "validationException",
            429 => "throttlingException",
            503 | 529 => "serviceUnavailableException",
            504 => "modelTimeoutException",
            _ => "internalServerException",
        };
        let payload = json!({ "message": message }).to_string();
        out.push(Bytes::from(encode_exception(kind, payload.as_bytes())));
        self.done = true;
    }
}

/// What a `contentBlockDelta` carries.
#[derive(Debug, Clone, Copy)]
enum DeltaKind {
    Text,
    Reasoning,
    ToolInput,
}

/// A `contentBlockDelta` message: sent for every chunk, so its payload is written straight to
/// bytes (the same bytes `emit` writes for the `json!` value) instead of built as a `Value`.
fn emit_delta(out: &mut Vec<Bytes>, index: u64, kind: DeltaKind, text: &str) {
    out.push(Bytes::from(encode_event(
        "contentBlockDelta",
        &delta_payload(index, kind, text),
    )));
}

fn delta_payload(index: u64, kind: DeltaKind, text: &str) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = match kind {
        DeltaKind::Text => (b"{\"text\":", b"}}"),
        DeltaKind::Reasoning => (b"{\"reasoningContent\":{\"text\":", b"}}}"),
        DeltaKind::ToolInput => (b"{\"toolUse\":{\"input\":", b"}}}"),
    };
    let mut payload = Vec::with_capacity(text.len() + 64);
    payload.extend_from_slice(b"{\"contentBlockIndex\":");
    put_decimal(&mut payload, index);
    payload.extend_from_slice(b",\"delta\":");
    payload.extend_from_slice(open);
    write_json_string(&mut payload, text);
    payload.extend_from_slice(close);
    payload
}

fn emit(out: &mut Vec<Bytes>, event_type: &str, payload: &Value) {
    out.push(Bytes::from(encode_event(
        event_type,
        payload.to_string().as_bytes(),
    )));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::bedrock::eventstream::Message;
    use crate::sse::SseFramer;

    const TEXT: &str = include_str!("../../../tests/fixtures/bedrock/openai_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/bedrock/openai_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/bedrock/openai_stream_error.sse");

    #[test]
    fn delta_payloads_are_the_bytes_of_the_value_path() {
        let texts = [
            "",
            "Hello",
            "quote \" backslash \\ tab \t newline \n control \u{1} del \u{7f}",
            "unicode é ✓ 😀 and a run of plain text longer than sixteen bytes",
            "{\"city\":\"Paris\"}",
        ];
        for (n, t) in texts.iter().enumerate() {
            let i = n as u64 * 1_000_003;
            let cases = [
                (
                    DeltaKind::Text,
                    json!({"contentBlockIndex": i, "delta": {"text": t}}),
                ),
                (
                    DeltaKind::Reasoning,
                    json!({"contentBlockIndex": i, "delta": {"reasoningContent": {"text": t}}}),
                ),
                (
                    DeltaKind::ToolInput,
                    json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": t}}}),
                ),
            ];
            for (kind, value) in cases {
                assert_eq!(
                    String::from_utf8(delta_payload(i, kind, t)).expect("utf-8"),
                    value.to_string(),
                    "{kind:?} {t:?}"
                );
            }
        }
    }

    /// `(event type or "!exception", payload)` of every output message.
    fn translate(stream: &str, finish: bool) -> Vec<(String, Value)> {
        let mut framer = SseFramer::new();
        let mut t = OpenAiToBedrockStream::new();
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
            .map(|frame| {
                let m = Message::decode(frame).expect("valid frame");
                let name = match m.header_str(":message-type") {
                    Some("exception") => {
                        format!("!{}", m.header_str(":exception-type").unwrap_or(""))
                    }
                    _ => m.header_str(":event-type").unwrap_or("").to_string(),
                };
                (
                    name,
                    serde_json::from_slice(m.payload).expect("json payload"),
                )
            })
            .collect()
    }

    fn names(events: &[(String, Value)]) -> Vec<&str> {
        events.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn text_stream() {
        let out = translate(TEXT, true);
        assert_eq!(
            names(&out),
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        let text: String = out
            .iter()
            .filter_map(|(_, v)| v["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "Hello, \"world\"!\nHow are you?");
        assert!(out[1..4].iter().all(|(_, v)| v["contentBlockIndex"] == 0));
        assert_eq!(out[5].1, json!({"stopReason": "end_turn"}));
        assert_eq!(
            out[6].1["usage"],
            json!({"inputTokens": 25, "outputTokens": 15, "totalTokens": 40})
        );
    }

    #[test]
    fn tool_stream_opens_a_block_per_call() {
        let out = translate(TOOLS, true);
        let starts: Vec<&Value> = out
            .iter()
            .filter(|(n, _)| n == "contentBlockStart")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(
            *starts[0],
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "call_A", "name": "get_weather"}}})
        );
        assert_eq!(starts[1]["contentBlockIndex"], 2);
        for (block, expected) in [
            (1, json!({"city": "Paris"})),
            (2, json!({"city": "Berlin"})),
        ] {
            let args: String = out
                .iter()
                .filter(|(_, v)| v["contentBlockIndex"] == block)
                .filter_map(|(_, v)| v["delta"]["toolUse"]["input"].as_str())
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&args).expect("json"),
                expected
            );
        }
        // Every opened block is closed before the stop.
        let stops = out.iter().filter(|(n, _)| n == "contentBlockStop").count();
        assert_eq!(stops, 3);
        let stop = out.iter().find(|(n, _)| n == "messageStop").expect("stop");
        assert_eq!(stop.1["stopReason"], "tool_use");
        assert_eq!(out.last().map(|(n, _)| n.as_str()), Some("metadata"));
    }

    #[test]
    fn error_event_becomes_an_exception() {
        let out = translate(ERROR, true);
        let (name, payload) = out.last().expect("events");
        assert_eq!(name, "!throttlingException");
        assert_eq!(payload["message"], "Rate limit reached");
        assert!(!out.iter().any(|(n, _)| n == "metadata"));
    }

    #[test]
    fn cut_and_done_without_finish() {
        let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").expect("finish")];
        let cut = &cut[..cut.rfind("data:").expect("data")];
        let out = translate(cut, true);
        assert_eq!(
            out.last().map(|(n, _)| n.as_str()),
            Some("!internalServerException")
        );
        // [DONE] without a finish reason still closes the message.
        let mut t = OpenAiToBedrockStream::new();
        let mut out = Vec::new();
        t.push(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n",
            &mut out,
        );
        t.push(b"data: [DONE]\n\n", &mut out);
        t.push(b"data: {\"choices\":[]}\n\n", &mut out);
        assert!(t.is_done());
        assert_eq!(out.len(), 5, "start, delta, block stop, stop, metadata");
        let mut t = OpenAiToBedrockStream::new();
        let mut out = Vec::new();
        t.push(b": keep-alive\n\n", &mut out);
        assert!(out.is_empty());
        t.push(b"data: {nope\n\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
    }
}
