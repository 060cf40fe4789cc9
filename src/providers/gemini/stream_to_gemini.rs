//! OpenAI `chat.completion.chunk` events -> Gemini SSE chunks, one event at a time.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::error::error_event;
use super::response::{function_call_part, gemini_finish_reason, usage_to_gemini};
use super::wire::{Candidate, GenerateContentResponse, Part};
use crate::error::{GatewayError, ProviderError};
use crate::json::write_json_string;
use crate::providers::cow_str::CowStr;
use crate::providers::unified::{self, Usage};
use crate::sse;

/// Translates an OpenAI chat completion stream into a Gemini `streamGenerateContent` stream.
///
/// Feed it each raw upstream event with [`push`](Self::push) and call [`finish`](Self::finish)
/// when the upstream ends. Text and reasoning deltas go out at once, one Gemini chunk each
/// (reasoning as `thought` parts). Gemini sends function calls whole, so tool-call fragments are
/// gathered and sent as `functionCall` parts when their choice finishes. The last chunk carries
/// each candidate's `finishReason` and the `usageMetadata` (OpenAI sends usage after the finish
/// reason, so it waits for `[DONE]`). An `{"error": ...}` chunk becomes Gemini's error event.
/// Gemini streams have no end marker: the stream just ends.
#[derive(Debug)]
pub struct OpenAiToGeminiStream {
    /// Model named when chunks carry none.
    model: String,
    id: String,
    calls: Vec<PendingCall>,
    /// (choice index, Gemini finish reason), in the order the choices finished.
    finishes: Vec<(u32, &'static str)>,
    usage: Option<Usage>,
    done: bool,
}

/// A tool call being gathered from its fragments.
#[derive(Debug)]
struct PendingCall {
    choice: u32,
    index: u32,
    id: String,
    name: String,
    arguments: String,
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

impl OpenAiToGeminiStream {
    /// A translator; `model` names the model when chunks carry none.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            id: String::new(),
            calls: Vec::new(),
            finishes: Vec::new(),
            usage: None,
            done: false,
        }
    }

    /// True once the last chunk or an error event was emitted.
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
        let chunk: Chunk<'_> = match crate::json::from_slice(&data) {
            Ok(c) => c,
            Err(e) => {
                self.fail(out, 502, format!("invalid stream chunk from provider: {e}"));
                return;
            }
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            let inner = match err.get("error") {
                Some(e @ Value::Object(_)) => e,
                _ => &err,
            };
            let message = inner
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("provider stream error")
                .to_string();
            let status = err
                .get("status_code")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(500);
            self.fail(out, status, message);
            return;
        }
        if self.id.is_empty()
            && let Some(id) = chunk.id.as_deref()
        {
            self.id = id.to_string();
        }
        if let Some(m) = chunk.model.as_deref().filter(|m| !m.is_empty())
            && m != self.model
        {
            self.model = m.to_string();
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for mut choice in chunk.choices {
            let index = choice.index;
            let tool_calls = choice.delta.as_mut().and_then(|d| d.tool_calls.take());
            for (pos, call) in tool_calls.into_iter().flatten().enumerate() {
                self.gather(index, pos as u32, call);
            }
            // (text, is a thought): written by hand, as this runs once per streamed token.
            let mut texts: [Option<(&str, bool)>; 3] = [None; 3];
            if let Some(delta) = &choice.delta {
                texts[0] = delta.reasoning.as_deref().map(|r| (r, true));
                texts[1] = delta.content.as_deref().map(|t| (t, false));
                texts[2] = delta.refusal.as_deref().map(|t| (t, false));
            }
            let mut calls = Vec::new();
            if let Some(reason) = choice.finish_reason.as_deref() {
                calls = self.take_calls(Some(index));
                if !self.finishes.iter().any(|(c, _)| *c == index) {
                    self.finishes.push((index, gemini_finish_reason(reason)));
                }
            }
            self.send_parts(out, index, &texts, &calls);
        }
    }

    /// Sends one chunk of candidate `index` with `texts` then `calls` as its parts (nothing
    /// when both are empty).
    fn send_parts(
        &self,
        out: &mut Vec<Bytes>,
        index: u32,
        texts: &[Option<(&str, bool)>],
        calls: &[Part],
    ) {
        let texts = texts.iter().flatten().filter(|(t, _)| !t.is_empty());
        if texts.clone().next().is_none() && calls.is_empty() {
            return;
        }
        let mut ev = Vec::with_capacity(160 + self.model.len() + self.id.len());
        ev.extend_from_slice(b"data: {\"candidates\":[{\"content\":{\"parts\":[");
        let mut first = true;
        for (text, thought) in texts {
            if !std::mem::take(&mut first) {
                ev.push(b',');
            }
            ev.extend_from_slice(b"{\"text\":");
            write_json_string(&mut ev, text);
            if *thought {
                ev.extend_from_slice(b",\"thought\":true");
            }
            ev.push(b'}');
        }
        for call in calls {
            if !std::mem::take(&mut first) {
                ev.push(b',');
            }
            ev.extend_from_slice(&unified::encode(call));
        }
        ev.extend_from_slice(b"],\"role\":\"model\"},\"index\":");
        ev.extend_from_slice(index.to_string().as_bytes());
        ev.extend_from_slice(b"}]");
        if !self.model.is_empty() {
            ev.extend_from_slice(b",\"modelVersion\":");
            write_json_string(&mut ev, &self.model);
        }
        if !self.id.is_empty() {
            ev.extend_from_slice(b",\"responseId\":");
            write_json_string(&mut ev, &self.id);
        }
        ev.extend_from_slice(b"}\n\n");
        out.push(Bytes::from(ev));
    }

    /// Ends the translation when the upstream closed: completes a stream that only lacked its
    /// `[DONE]`, or reports a stream cut short as an error event.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if self.finishes.is_empty() {
            self.fail(
                out,
                502,
                "stream ended before the provider finished the message".into(),
            );
        } else {
            self.end(out);
        }
    }

    fn gather(&mut self, choice: u32, pos: u32, call: ToolCallDelta<'_>) {
        let index = call.index.unwrap_or(pos);
        let function = call.function.as_ref();
        let args = function.and_then(|f| f.arguments.as_deref()).unwrap_or("");
        match self
            .calls
            .iter_mut()
            .find(|c| c.choice == choice && c.index == index)
        {
            Some(c) => {
                c.arguments.push_str(args);
                if let Some(name) = function.and_then(|f| f.name.as_deref())
                    && c.name.is_empty()
                {
                    c.name = name.to_string();
                }
            }
            None => self.calls.push(PendingCall {
                choice,
                index,
                id: call.id.as_deref().unwrap_or("").to_string(),
                name: function
                    .and_then(|f| f.name.as_deref())
                    .unwrap_or("")
                    .to_string(),
                arguments: args.to_string(),
            }),
        }
    }

    /// The gathered calls of `choice` (all choices for `None`) as `functionCall` parts.
    fn take_calls(&mut self, choice: Option<u32>) -> Vec<Part> {
        let (taken, kept): (Vec<PendingCall>, Vec<PendingCall>) = std::mem::take(&mut self.calls)
            .into_iter()
            .partition(|c| choice.is_none_or(|ch| c.choice == ch));
        self.calls = kept;
        taken
            .into_iter()
            .map(|c| function_call_part(&c.id, c.name, &c.arguments))
            .collect()
    }

    /// Sends calls still gathered, then the last chunk (finish reasons and usage).
    fn end(&mut self, out: &mut Vec<Bytes>) {
        let leftover = std::mem::take(&mut self.calls);
        let mut choices: Vec<u32> = leftover.iter().map(|c| c.choice).collect();
        choices.sort_unstable();
        choices.dedup();
        self.calls = leftover;
        for choice in choices {
            let parts = self.take_calls(Some(choice));
            self.send_parts(out, choice, &[], &parts);
        }
        let finishes = if self.finishes.is_empty() {
            vec![(0, "STOP")]
        } else {
            std::mem::take(&mut self.finishes)
        };
        let candidates = finishes
            .into_iter()
            .map(|(index, reason)| Candidate {
                content: None,
                finish_reason: Some(reason.to_string()),
                index: Some(index),
            })
            .collect();
        self.send_last(out, candidates);
        self.done = true;
    }

    /// Sends the last chunk: `candidates` (finish reasons) and the usage.
    fn send_last(&mut self, out: &mut Vec<Bytes>, candidates: Vec<Candidate>) {
        let chunk = GenerateContentResponse {
            candidates,
            prompt_feedback: None,
            usage_metadata: self.usage.as_ref().map(usage_to_gemini),
            model_version: Some(self.model.clone()).filter(|m| !m.is_empty()),
            response_id: Some(self.id.clone()).filter(|id| !id.is_empty()),
        };
        let data = unified::encode(&chunk);
        let mut ev = Vec::with_capacity(data.len() + 8);
        ev.extend_from_slice(b"data: ");
        ev.extend_from_slice(&data);
        ev.extend_from_slice(b"\n\n");
        out.push(Bytes::from(ev));
    }

    fn fail(&mut self, out: &mut Vec<Bytes>, status: u16, message: String) {
        let err = GatewayError::Provider(Box::new(ProviderError {
            status,
            kind: None,
            code: None,
            message,
            ..ProviderError::default()
        }));
        out.push(error_event(&err));
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseFramer;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/gemini/openai_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/gemini/openai_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/gemini/openai_stream_error.sse");

    fn translate(stream: &str, finish: bool) -> Vec<Value> {
        let mut framer = SseFramer::new();
        let mut t = OpenAiToGeminiStream::new("fallback");
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(31) {
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
                assert!(e.starts_with(b"data: ") && e.ends_with(b"\n\n"));
                serde_json::from_slice(&sse::event_data(e).expect("data")).expect("json")
            })
            .collect()
    }

    fn text_of(chunks: &[Value]) -> String {
        chunks
            .iter()
            .flat_map(|c| c["candidates"].as_array().cloned().unwrap_or_default())
            .flat_map(|c| {
                c["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|p| p.get("thought").is_none())
            .filter_map(|p| p["text"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn text_stream() {
        let chunks = translate(TEXT, true);
        assert_eq!(text_of(&chunks), "Hello, \"world\"!\nHow are you?");
        assert!(chunks.iter().all(|c| c["responseId"] == "chatcmpl-text"));
        assert!(chunks.iter().all(|c| c["modelVersion"] == "gpt-4o-mini"));
        assert_eq!(chunks[0]["candidates"][0]["content"]["role"], "model");
        let last = chunks.last().expect("last");
        assert_eq!(
            last["candidates"],
            json!([{"finishReason": "STOP", "index": 0}])
        );
        assert_eq!(
            last["usageMetadata"],
            json!({"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16})
        );
        // Only the last chunk finishes or carries usage.
        assert!(
            chunks[..chunks.len() - 1]
                .iter()
                .all(|c| c.get("usageMetadata").is_none()
                    && c["candidates"][0].get("finishReason").is_none())
        );
    }

    #[test]
    fn tool_call_fragments_are_sent_whole() {
        let chunks = translate(TOOLS, true);
        let calls: Vec<Value> = chunks
            .iter()
            .flat_map(|c| {
                c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p.get("functionCall").cloned())
            .collect();
        assert_eq!(
            calls,
            vec![
                json!({"id": "call_A", "name": "get_weather", "args": {"city": "Paris"}}),
                json!({"id": "call_B", "name": "get_weather", "args": {"city": "Berlin", "days": 2}})
            ]
        );
        let thought: String = chunks
            .iter()
            .flat_map(|c| {
                c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|p| p["thought"] == true)
            .filter_map(|p| p["text"].as_str().map(str::to_string))
            .collect();
        assert_eq!(thought, "Two cities.");
        assert_eq!(text_of(&chunks), "Checking both.");
        let last = chunks.last().expect("last");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["thoughtsTokenCount"], 5);
        assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 40 - 5);
    }

    #[test]
    fn error_chunk_becomes_a_gemini_error() {
        let chunks = translate(ERROR, true);
        let last = chunks.last().expect("error");
        assert_eq!(last["error"]["code"], 503);
        assert_eq!(last["error"]["status"], "UNAVAILABLE");
        assert_eq!(last["error"]["message"], "overloaded");
        assert_eq!(text_of(&chunks), "Partial answ");
    }

    #[test]
    fn cut_streams() {
        let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").expect("finish")];
        let cut = &cut[..cut.rfind("data:").expect("event")];
        let chunks = translate(cut, true);
        assert_eq!(chunks.last().expect("ev")["error"]["code"], 502);
        // Cut after the finish reason (no usage, no [DONE]): completed anyway.
        let cut = &TEXT[..TEXT.rfind("data: [DONE]").expect("done")];
        let chunks = translate(cut, true);
        assert_eq!(
            chunks.last().expect("last")["candidates"][0]["finishReason"],
            "STOP"
        );
        let mut t = OpenAiToGeminiStream::new("m");
        let mut out = Vec::new();
        t.push(b"data: {oops\n\n", &mut out);
        t.push(b"data: [DONE]\n\n", &mut out);
        t.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
    }

    #[test]
    fn calls_left_unfinished_are_flushed_at_done() {
        let mut t = OpenAiToGeminiStream::new("m");
        let mut out = Vec::new();
        t.push(
            br#"data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\""}}]}}]}"#,
            &mut out,
        );
        t.push(
            br#"data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}"#,
            &mut out,
        );
        assert!(out.is_empty(), "calls wait for their finish");
        t.push(b"data: [DONE]\n\n", &mut out);
        let v: Value = serde_json::from_slice(&sse::event_data(&out[0]).expect("d")).expect("j");
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"id": "c", "name": "f", "args": {"a": 1}})
        );
        assert_eq!(out.len(), 2);
    }
}
