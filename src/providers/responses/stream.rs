//! OpenAI chat chunk events -> Responses stream events.

use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value, json};

use super::error::{error_event_at, event};
use super::response::{message_item, output_text, status_of, usage};
use crate::error::GatewayError;
use crate::http::{Append, put_decimal};
use crate::json::write_json_string;
use crate::providers::openai;
use crate::providers::unified::{ChatChunk, ToolCallDelta, Usage, encode};
use crate::sse;

/// The assistant message item being streamed.
struct TextItem {
    id: String,
    index: usize,
    text: String,
}

/// A reasoning item being streamed (its summary text).
struct ReasoningItem {
    id: String,
    index: usize,
    text: String,
}

/// A function call item being streamed.
struct CallItem {
    /// The tool call's `index` in the chat deltas.
    chat_index: u32,
    id: String,
    index: usize,
    call_id: String,
    name: String,
    arguments: String,
}

/// Translates a chat completion chunk stream into the Responses event stream.
///
/// Takes one raw SSE event at a time (`data: {chunk}` or `data: [DONE]`) and appends complete
/// `event: response.*` events: `response.created` and `response.in_progress` first, then per
/// output item `output_item.added`, `content_part.added`, `output_text.delta` /
/// `function_call_arguments.delta`, their `.done` events and `output_item.done`, and finally
/// `response.completed` (or `response.incomplete` when the output was cut by the token limit)
/// with the whole output and usage. An upstream error becomes `event: error`; nothing follows.
pub struct ChatToResponsesStream {
    model: String,
    id: String,
    created: u64,
    seq: u64,
    started: bool,
    done: bool,
    reasoning: Option<ReasoningItem>,
    text: Option<TextItem>,
    calls: Vec<CallItem>,
    /// Completed output items, in output index order.
    output: Vec<Value>,
    next_index: usize,
    usage: Option<Usage>,
    finish_reason: Option<String>,
}

impl ChatToResponsesStream {
    /// A translator for a stream answering `model` (used until a chunk names the model).
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            id: String::new(),
            created: 0,
            seq: 0,
            started: false,
            done: false,
            reasoning: None,
            text: None,
            calls: Vec::new(),
            output: Vec::new(),
            next_index: 0,
            usage: None,
            finish_reason: None,
        }
    }

    /// Translates one raw chat SSE event.
    pub fn push(&mut self, raw: &[u8], out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let Some(data) = sse::event_data(raw) else {
            return;
        };
        let data = data.trim_ascii();
        if data == b"[DONE]" {
            self.complete(out);
            return;
        }
        if let Some(err) = error_in(data) {
            self.fail(&err, out);
            return;
        }
        // A chunk the hub cannot read is skipped rather than ending the client's stream.
        let Ok(chunk) = ChatChunk::from_slice(data) else {
            return;
        };
        self.start(Some(&chunk), out);
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.reasoning.as_deref().filter(|t| !t.is_empty()) {
                self.reasoning_delta(text, out);
            }
            if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
                self.text_delta(text, out);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                self.call_delta(call, out);
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = Some(reason.clone());
            }
        }
    }

    /// The upstream ended: completes the response if the model finished, else reports the cut.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.finish_reason.is_some() {
            self.complete(out);
        } else {
            let err = GatewayError::Network("stream ended before the response completed".into());
            self.fail(&err, out);
        }
    }

    fn emit(&mut self, kind: &str, fields: Value, out: &mut Vec<Bytes>) {
        let mut obj = Map::new();
        obj.insert("type".into(), json!(kind));
        obj.insert("sequence_number".into(), json!(self.seq));
        if let Value::Object(f) = fields {
            obj.extend(f);
        }
        self.seq += 1;
        out.push(event(kind, &encode(&obj)));
    }

    fn snapshot(&self, status: &str, incomplete: Value) -> Value {
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": null,
            "incomplete_details": incomplete,
            "model": self.model,
            "output": self.output,
            "parallel_tool_calls": true,
            "tool_choice": "auto",
            "tools": [],
            "usage": if status == "in_progress" { Value::Null } else { usage(self.usage.as_ref()) },
        })
    }

    fn start(&mut self, chunk: Option<&ChatChunk>, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let chunk_id = chunk.map(|c| c.id.as_str()).filter(|i| !i.is_empty());
        self.id = format!("resp_{}", chunk_id.unwrap_or("ringway"));
        if let Some(c) = chunk {
            self.created = c.created;
            if !c.model.is_empty() {
                self.model = c.model.clone();
            }
        }
        let response = self.snapshot("in_progress", Value::Null);
        self.emit("response.created", json!({"response": response}), out);
        let response = self.snapshot("in_progress", Value::Null);
        self.emit("response.in_progress", json!({"response": response}), out);
    }

    fn text_delta(&mut self, text: &str, out: &mut Vec<Bytes>) {
        if self.text.is_none() {
            // Items are sequential: one kind starting closes the others.
            self.close_reasoning(out);
            self.close_calls(out);
            let item = TextItem {
                id: format!("msg_{}", self.id.trim_start_matches("resp_")),
                index: self.next_index,
                text: String::new(),
            };
            self.next_index += 1;
            let added = json!({
                "output_index": item.index,
                "item": {"type": "message", "id": item.id, "status": "in_progress",
                         "role": "assistant", "content": []},
            });
            self.emit("response.output_item.added", added, out);
            let part = json!({
                "item_id": item.id, "output_index": item.index, "content_index": 0,
                "part": output_text(""),
            });
            self.emit("response.content_part.added", part, out);
            self.text = Some(item);
        }
        let Some(item) = &mut self.text else {
            return;
        };
        item.text.push_str(text);
        let delta = Delta {
            kind: "response.output_text.delta",
            item_id: &item.id,
            output_index: item.index,
            part_index: Some("content_index"),
            delta: text,
            logprobs: true,
        };
        delta.push(&mut self.seq, out);
    }

    fn call_delta(&mut self, d: &ToolCallDelta, out: &mut Vec<Bytes>) {
        let chat_index = d.index.unwrap_or(0);
        let pos = match self.calls.iter().position(|c| c.chat_index == chat_index) {
            Some(p) => p,
            None => {
                self.close_reasoning(out);
                self.close_text(out);
                let call_id =
                    d.id.clone()
                        .unwrap_or_else(|| format!("call_{}_{chat_index}", self.id));
                let name = d
                    .function
                    .as_ref()
                    .and_then(|f| f.name.clone())
                    .unwrap_or_default();
                let call = CallItem {
                    chat_index,
                    id: format!("fc_{call_id}"),
                    index: self.next_index,
                    call_id,
                    name,
                    arguments: String::new(),
                };
                self.next_index += 1;
                let added = json!({
                    "output_index": call.index,
                    "item": {"type": "function_call", "id": call.id, "call_id": call.call_id,
                             "name": call.name, "arguments": "", "status": "in_progress"},
                });
                self.emit("response.output_item.added", added, out);
                self.calls.push(call);
                self.calls.len() - 1
            }
        };
        let Some(args) = d
            .function
            .as_ref()
            .and_then(|f| f.arguments.as_deref())
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        let call = &mut self.calls[pos];
        call.arguments.push_str(args);
        let delta = Delta {
            kind: "response.function_call_arguments.delta",
            item_id: &call.id,
            output_index: call.index,
            part_index: None,
            delta: args,
            logprobs: false,
        };
        delta.push(&mut self.seq, out);
    }

    fn reasoning_delta(&mut self, text: &str, out: &mut Vec<Bytes>) {
        if self.reasoning.is_none() {
            self.close_text(out);
            self.close_calls(out);
            let item = ReasoningItem {
                id: format!("rs_{}", self.id.trim_start_matches("resp_")),
                index: self.next_index,
                text: String::new(),
            };
            self.next_index += 1;
            let added = json!({
                "output_index": item.index,
                "item": {"type": "reasoning", "id": item.id, "summary": []},
            });
            self.emit("response.output_item.added", added, out);
            let part = json!({
                "item_id": item.id, "output_index": item.index, "summary_index": 0,
                "part": {"type": "summary_text", "text": ""},
            });
            self.emit("response.reasoning_summary_part.added", part, out);
            self.reasoning = Some(item);
        }
        let Some(item) = &mut self.reasoning else {
            return;
        };
        item.text.push_str(text);
        let delta = Delta {
            kind: "response.reasoning_summary_text.delta",
            item_id: &item.id,
            output_index: item.index,
            part_index: Some("summary_index"),
            delta: text,
            logprobs: false,
        };
        delta.push(&mut self.seq, out);
    }

    fn close_reasoning(&mut self, out: &mut Vec<Bytes>) {
        let Some(item) = self.reasoning.take() else {
            return;
        };
        let done = json!({
            "item_id": item.id, "output_index": item.index, "summary_index": 0, "text": item.text,
        });
        self.emit("response.reasoning_summary_text.done", done, out);
        let summary = json!({"type": "summary_text", "text": item.text});
        let part = json!({
            "item_id": item.id, "output_index": item.index, "summary_index": 0, "part": summary,
        });
        self.emit("response.reasoning_summary_part.done", part, out);
        let full = json!({"type": "reasoning", "id": item.id, "summary": [summary]});
        self.emit(
            "response.output_item.done",
            json!({"output_index": item.index, "item": full}),
            out,
        );
        self.output.push(full);
    }

    fn close_text(&mut self, out: &mut Vec<Bytes>) {
        let Some(item) = self.text.take() else {
            return;
        };
        let done = json!({
            "item_id": item.id, "output_index": item.index, "content_index": 0,
            "text": item.text, "logprobs": [],
        });
        self.emit("response.output_text.done", done, out);
        let part = json!({
            "item_id": item.id, "output_index": item.index, "content_index": 0,
            "part": output_text(&item.text),
        });
        self.emit("response.content_part.done", part, out);
        let full = message_item(&item.id, vec![output_text(&item.text)]);
        self.emit(
            "response.output_item.done",
            json!({"output_index": item.index, "item": full}),
            out,
        );
        self.output.push(full);
    }

    fn close_calls(&mut self, out: &mut Vec<Bytes>) {
        for call in std::mem::take(&mut self.calls) {
            let done = json!({
                "item_id": call.id, "output_index": call.index,
                "name": call.name, "arguments": call.arguments,
            });
            self.emit("response.function_call_arguments.done", done, out);
            let item = json!({
                "type": "function_call", "id": call.id, "call_id": call.call_id,
                "name": call.name, "arguments": call.arguments, "status": "completed",
            });
            self.emit(
                "response.output_item.done",
                json!({"output_index": call.index, "item": item}),
                out,
            );
            self.output.push(item);
        }
    }

    /// Closes the open item and sends the final response.
    fn complete(&mut self, out: &mut Vec<Bytes>) {
        self.start(None, out);
        // Opening an item closes the others, so at most one kind is still open here.
        self.close_reasoning(out);
        self.close_text(out);
        self.close_calls(out);
        let (status, incomplete) = status_of(self.finish_reason.as_deref());
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let response = self.snapshot(status, incomplete);
        self.emit(kind, json!({"response": response}), out);
        self.done = true;
    }

    fn fail(&mut self, err: &GatewayError, out: &mut Vec<Bytes>) {
        out.push(error_event_at(err, self.seq));
        self.seq += 1;
        self.done = true;
    }
}

/// One `*.delta` event: sent for every chunk, so written straight to bytes rather than built
/// as a `Value` (whose map allocates each key) and encoded. The members and their order are
/// what `emit` writes for the other events: `type`, `sequence_number`, then the event's own.
struct Delta<'a> {
    kind: &'static str,
    item_id: &'a str,
    output_index: usize,
    /// `content_index` or `summary_index` (always 0: one part per item), when the event has one.
    part_index: Option<&'static str>,
    delta: &'a str,
    /// Whether an empty `logprobs` array ends the event (text deltas).
    logprobs: bool,
}

impl Delta<'_> {
    /// Appends the event as number `seq`, and counts it.
    fn push(&self, seq: &mut u64, out: &mut Vec<Bytes>) {
        out.push(self.event(*seq));
        *seq += 1;
    }

    fn event(&self, seq: u64) -> Bytes {
        let mut out = BytesMut::with_capacity(
            2 * self.kind.len() + self.item_id.len() + self.delta.len() + 128,
        );
        out.append(b"event: ");
        out.append(self.kind.as_bytes());
        out.append(b"\ndata: {\"type\":\"");
        out.append(self.kind.as_bytes());
        out.append(b"\",\"sequence_number\":");
        put_decimal(&mut out, seq);
        out.append(b",\"item_id\":");
        write_json_string(&mut out, self.item_id);
        out.append(b",\"output_index\":");
        put_decimal(&mut out, self.output_index as u64);
        if let Some(name) = self.part_index {
            out.append(b",\"");
            out.append(name.as_bytes());
            out.append(b"\":0");
        }
        out.append(b",\"delta\":");
        write_json_string(&mut out, self.delta);
        if self.logprobs {
            out.append(b",\"logprobs\":[]");
        }
        out.append(b"}\n\n");
        out.freeze()
    }
}

/// An upstream error carried in a chunk's data, as a gateway error: OpenAI's
/// `{"error": {"message", ...}}` or, from ringway's own provider translators, a Bifrost error
/// (`{"error": {"status_code", "error": {"message", ...}}}`).
fn error_in(data: &[u8]) -> Option<GatewayError> {
    // Cheap pre-check: most chunks carry no error and are never decoded twice.
    if !crate::json::mentions_error(data) {
        return None;
    }
    let v: Value = crate::json::from_slice(data).ok()?;
    let e = v.get("error").filter(|e| !e.is_null())?;
    let status = e
        .get("status_code")
        .or_else(|| v.get("status_code"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    let inner = e.get("error").filter(|i| i.is_object()).unwrap_or(e);
    let body = encode(&json!({ "error": inner }));
    Some(GatewayError::Provider(Box::new(openai::parse_error(
        status, &body,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses translated events into `(event name, data)` pairs, checking the framing.
    fn parse(events: &[Bytes]) -> Vec<(String, Value)> {
        events
            .iter()
            .map(|ev| {
                let name = sse::event_name(ev).expect("event line");
                let data = sse::event_data(ev).expect("data line");
                assert!(ev.ends_with(b"\n\n"));
                (
                    String::from_utf8_lossy(name).into_owned(),
                    serde_json::from_slice(&data).expect("json data"),
                )
            })
            .collect()
    }

    /// Splits a fixture of blank-line separated SSE events.
    fn fixture_events(text: &str) -> Vec<String> {
        text.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| format!("{}\n\n", e.trim()))
            .collect()
    }

    fn run(text: &str, finish: bool) -> Vec<(String, Value)> {
        let mut t = ChatToResponsesStream::new("fallback-model");
        let mut out = Vec::new();
        for ev in fixture_events(text) {
            t.push(ev.as_bytes(), &mut out);
        }
        if finish {
            t.finish(&mut out);
        }
        parse(&out)
    }

    /// What `emit` writes for a delta event built as a `Value`, the general path.
    fn via_value(d: &Delta<'_>, seq: u64) -> Bytes {
        let mut obj = Map::new();
        obj.insert("type".into(), json!(d.kind));
        obj.insert("sequence_number".into(), json!(seq));
        obj.insert("item_id".into(), json!(d.item_id));
        obj.insert("output_index".into(), json!(d.output_index));
        if let Some(name) = d.part_index {
            obj.insert(name.into(), json!(0));
        }
        obj.insert("delta".into(), json!(d.delta));
        if d.logprobs {
            obj.insert("logprobs".into(), json!([]));
        }
        event(d.kind, &encode(&obj))
    }

    #[test]
    fn delta_events_are_the_bytes_the_value_path_writes() {
        let texts = [
            "",
            "Hello",
            "quote \" backslash \\ slash / tab \t newline \n",
            "control \u{1} \u{1f} del \u{7f}",
            "unicode é ✓ 😀 and a long run of plain text that spans several sixteen-byte chunks",
            "{\"city\":\"Paris\"}",
        ];
        let kinds = [
            ("response.output_text.delta", Some("content_index"), true),
            (
                "response.reasoning_summary_text.delta",
                Some("summary_index"),
                false,
            ),
            ("response.function_call_arguments.delta", None, false),
        ];
        for (kind, part_index, logprobs) in kinds {
            for (i, text) in texts.iter().enumerate() {
                let d = Delta {
                    kind,
                    item_id: if i % 2 == 0 {
                        "msg_chatcmpl-9"
                    } else {
                        "fc_call_\"odd\""
                    },
                    output_index: i * 7,
                    part_index,
                    delta: text,
                    logprobs,
                };
                let seq = (i as u64) * 1_000_003;
                assert_eq!(d.event(seq), via_value(&d, seq), "{kind} {text:?}");
            }
        }
    }

    #[test]
    fn text_stream_fixture() {
        let events = run(
            include_str!("../../../tests/fixtures/responses/chat_text_stream.sse"),
            true,
        );
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, (name, data)) in events.iter().enumerate() {
            assert_eq!(data["type"], name.as_str());
            assert_eq!(data["sequence_number"], i as u64);
        }
        assert_eq!(events[0].1["response"]["status"], "in_progress");
        assert_eq!(events[0].1["response"]["model"], "llama");
        assert_eq!(events[4].1["delta"], "Hello");
        assert_eq!(events[6].1["text"], "Hello world");
        let done = &events[9].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["id"], "resp_chatcmpl-9");
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello world");
        assert_eq!(done["usage"]["input_tokens"], 5);
        assert_eq!(done["usage"]["output_tokens"], 2);
    }

    #[test]
    fn tool_call_deltas_split_across_chunks() {
        let events = run(
            include_str!("../../../tests/fixtures/responses/chat_tool_stream.sse"),
            true,
        );
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(events[8].1["item"]["call_id"], "call_a");
        assert_eq!(events[8].1["item"]["name"], "get_weather");
        assert_eq!(events[8].1["output_index"], 1);
        assert_eq!(events[13].1["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(events[15].1["arguments"], "{\"city\":\"Rome\"}");
        let output = &events[17].1["response"]["output"];
        assert_eq!(output.as_array().map(Vec::len), Some(3));
        assert_eq!(output[1]["type"], "function_call");
        assert_eq!(output[2]["call_id"], "call_b");
    }

    #[test]
    fn reasoning_then_text() {
        let events = run(
            concat!(
                "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"let me \"}}]}\n\n",
                "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\"}}]}\n\n",
                "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"42\"},\"finish_reason\":\"stop\"}]}\n\n",
                "data: [DONE]\n\n",
            ),
            false,
        );
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(events[6].1["text"], "let me think");
        let output = &events[15].1["response"]["output"];
        assert_eq!(output[0]["type"], "reasoning");
        assert_eq!(output[0]["summary"][0]["text"], "let me think");
        assert_eq!(output[1]["content"][0]["text"], "42");
        assert_eq!(events[9].1["output_index"], 1);
    }

    #[test]
    fn error_mid_stream_ends_with_error_event() {
        let events = run(
            include_str!("../../../tests/fixtures/responses/chat_error_stream.sse"),
            true,
        );
        let (name, data) = events.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(data["type"], "error");
        assert_eq!(data["message"], "upstream overloaded");
        assert_eq!(data["code"], "server_error");
        assert!(!events.iter().any(|(n, _)| n == "response.completed"));
        // A Bifrost error from another translator (Anthropic's overloaded_error) keeps its parts.
        let bifrost = run(
            r#"data: {"error":{"is_bifrost_error":false,"status_code":529,"error":{"type":"overloaded_error","message":"busy"}}}"#,
            true,
        );
        let (name, data) = bifrost.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(data["message"], "busy");
        assert_eq!(data["code"], "overloaded_error");
        assert_eq!(data["status_code"], 529);
    }

    #[test]
    fn cut_stream_is_reported_and_length_is_incomplete() {
        let cut = run(
            "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n",
            true,
        );
        assert_eq!(cut.last().map(|(n, _)| n.as_str()), Some("error"));
        let length = run(
            "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n",
            false,
        );
        let (name, data) = length.last().expect("events");
        assert_eq!(name, "response.incomplete");
        assert_eq!(
            data["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        // Nothing after the end, even if the upstream keeps talking.
        let mut t = ChatToResponsesStream::new("m");
        let mut out = Vec::new();
        t.push(b"data: [DONE]\n\n", &mut out);
        let n = out.len();
        t.push(b"data: {\"choices\":[]}\n\n", &mut out);
        t.finish(&mut out);
        assert_eq!(out.len(), n);
        assert_eq!(
            parse(&out).last().map(|(n, _)| n.clone()).as_deref(),
            Some("response.completed")
        );
    }
}
