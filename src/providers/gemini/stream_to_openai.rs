//! Gemini SSE chunks (`:streamGenerateContent?alt=sse`) -> OpenAI `chat.completion.chunk`
//! events, one event at a time.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::response::{finish_reason, tool_call, usage_from_gemini};
use super::wire::{FunctionCall, PromptFeedback, UsageMetadata};
use crate::providers::cow_str::CowStr;
use crate::providers::openai_chunks::{self, ChunkWriter, Delta as Piece};
use crate::providers::unified;
use crate::sse;

/// Translates a Gemini stream into an OpenAI chat completion stream.
///
/// Each Gemini chunk is a partial `GenerateContentResponse`; feed each raw upstream event with
/// [`push`](Self::push) and call [`finish`](Self::finish) when the upstream ends (Gemini has no
/// end marker: the last chunk carries `finishReason`). Output events are complete
/// (`data: ...\n\n`): the role on each candidate's first chunk, text and reasoning deltas, one
/// tool-call delta per function call (Gemini sends calls whole: id, name and all arguments, with
/// the thought signature in the id), a finish-reason chunk per candidate, a usage chunk when
/// asked for, then `data: [DONE]`. An `{"error": ...}` event becomes Bifrost's error event and
/// ends the stream without `[DONE]`.
#[derive(Debug)]
pub struct GeminiToOpenAiStream {
    include_usage: bool,
    /// Model named in chunks that carry no `modelVersion`.
    model: String,
    /// `{"id":..,"object":"chat.completion.chunk","created":..,"model":..` shared by every chunk.
    chunks: ChunkWriter,
    /// Per candidate index: tool calls sent so far (OpenAI `index` of the next one).
    candidates: Vec<CandidateState>,
    usage: Option<UsageMetadata>,
    finished: bool,
    done: bool,
}

#[derive(Debug, Clone, Copy)]
struct CandidateState {
    index: u32,
    tools: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(default, borrow)]
    candidates: Vec<ChunkCandidate<'a>>,
    #[serde(default, alias = "usage_metadata")]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default, borrow, alias = "model_version")]
    model_version: Option<CowStr<'a>>,
    #[serde(default, borrow, alias = "response_id")]
    response_id: Option<CowStr<'a>>,
    #[serde(default, alias = "prompt_feedback")]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkCandidate<'a> {
    #[serde(default, borrow)]
    content: Option<ChunkContent<'a>>,
    #[serde(default, borrow, alias = "finish_reason")]
    finish_reason: Option<CowStr<'a>>,
    #[serde(default)]
    index: Option<u32>,
}

#[derive(Deserialize)]
struct ChunkContent<'a> {
    #[serde(default, borrow)]
    parts: Vec<ChunkPart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkPart<'a> {
    #[serde(default, borrow)]
    text: Option<CowStr<'a>>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default, borrow, alias = "thought_signature")]
    thought_signature: Option<CowStr<'a>>,
    #[serde(default, alias = "function_call")]
    function_call: Option<FunctionCall>,
}

/// What a chunk's delta carries (one kind per chunk).
impl GeminiToOpenAiStream {
    /// A translator; `include_usage` mirrors the client's `stream_options.include_usage`, and
    /// `model` names the model when chunks do not.
    pub fn new(include_usage: bool, model: &str) -> Self {
        Self {
            include_usage,
            model: model.to_string(),
            chunks: ChunkWriter::default(),
            candidates: Vec::new(),
            usage: None,
            finished: false,
            done: false,
        }
    }

    /// True once the stream has ended (`[DONE]` or an error was emitted).
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
        let chunk: Chunk<'_> = match crate::json::from_slice(&data) {
            Ok(c) => c,
            Err(e) => {
                self.fail(
                    out,
                    502,
                    None,
                    format!("invalid stream chunk from provider: {e}"),
                );
                return;
            }
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            self.on_error(&err, out);
            return;
        }
        if !self.chunks.is_started() {
            let id = chunk.response_id.as_deref().unwrap_or("");
            let model = match chunk.model_version.as_deref() {
                Some(m) if !m.is_empty() => m.to_string(),
                _ => self.model.clone(),
            };
            self.set_prefix(id, &model);
        }
        if chunk.usage_metadata.is_some() {
            self.usage = chunk.usage_metadata;
        }
        if chunk.candidates.is_empty()
            && chunk
                .prompt_feedback
                .as_ref()
                .is_some_and(|f| f.block_reason.is_some())
        {
            let state = self.candidate(0, out);
            self.emit(out, state.index, Piece::Finish("content_filter"));
            self.finished = true;
            return;
        }
        for (pos, c) in chunk.candidates.into_iter().enumerate() {
            self.on_candidate(c, pos as u32, out);
        }
    }

    /// Ends the translation when the upstream closed: completes a stream whose last chunk
    /// carried a finish reason, or reports a stream cut short as an error event.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if !self.finished {
            self.fail(
                out,
                502,
                None,
                "stream ended before the provider finished the message".into(),
            );
            return;
        }
        if self.include_usage {
            let usage = self
                .usage
                .as_ref()
                .map(usage_from_gemini)
                .unwrap_or_default();
            self.chunks.usage(out, &unified::encode(&usage));
        }
        out.push(Bytes::from_static(openai_chunks::DONE));
        self.done = true;
    }

    /// The state of candidate `index`, sending its role chunk the first time it is seen.
    fn candidate(&mut self, index: u32, out: &mut Vec<Bytes>) -> CandidateState {
        if let Some(s) = self.candidates.iter().find(|s| s.index == index) {
            return *s;
        }
        let state = CandidateState { index, tools: 0 };
        self.candidates.push(state);
        self.emit(out, index, Piece::Role);
        state
    }

    fn on_candidate(&mut self, c: ChunkCandidate<'_>, pos: u32, out: &mut Vec<Bytes>) {
        let index = c.index.unwrap_or(pos);
        self.candidate(index, out);
        for part in c.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                let tool = self.next_tool(index);
                let call = tool_call(call, part.thought_signature.as_deref());
                self.emit(
                    out,
                    index,
                    Piece::Tool {
                        index: tool,
                        id: &call.id,
                        name: &call.function.name,
                        arguments: &call.function.arguments,
                    },
                );
            } else if let Some(t) = part.text.as_deref().filter(|t| !t.is_empty()) {
                let piece = if part.thought == Some(true) {
                    Piece::Reasoning(t)
                } else {
                    Piece::Content(t)
                };
                self.emit(out, index, piece);
            }
        }
        if let Some(reason) = c.finish_reason.as_deref().filter(|r| !r.is_empty()) {
            let had_tools = self
                .candidates
                .iter()
                .any(|s| s.index == index && s.tools > 0);
            let finish = match finish_reason(reason) {
                "stop" if had_tools => "tool_calls",
                f => f,
            };
            self.emit(out, index, Piece::Finish(finish));
            self.finished = true;
        }
    }

    /// The OpenAI index of candidate `index`'s next tool call.
    fn next_tool(&mut self, index: u32) -> u32 {
        match self.candidates.iter_mut().find(|s| s.index == index) {
            Some(s) => {
                s.tools += 1;
                s.tools - 1
            }
            None => 0,
        }
    }

    fn on_error(&mut self, error: &Value, out: &mut Vec<Bytes>) {
        // Gemini: {"code", "message", "status"}; a gateway-made event nests Bifrost's error.
        let inner = match error.get("error") {
            Some(e @ Value::Object(_)) => e,
            _ => error,
        };
        let message = inner
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("provider stream error")
            .to_string();
        let status = error
            .get("status_code")
            .or_else(|| inner.get("code"))
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (400..=599).contains(s))
            .unwrap_or(500);
        let kind = inner
            .get("status")
            .or_else(|| inner.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.fail(out, status, kind, message);
    }

    /// Emits `data: {"error": <Bifrost error JSON>}` and ends the stream.
    fn fail(&mut self, out: &mut Vec<Bytes>, status: u16, kind: Option<String>, message: String) {
        out.push(openai_chunks::error_event(status, kind, message));
        self.done = true;
    }

    fn set_prefix(&mut self, id: &str, model: &str) {
        self.chunks.start(id, model);
    }

    fn emit(&mut self, out: &mut Vec<Bytes>, choice: u32, piece: Piece<'_>) {
        if !self.chunks.is_started() {
            self.chunks.start("", &self.model);
        }
        self.chunks.delta(out, choice, piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseFramer;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/gemini/gemini_stream_text.sse");
    const TOOLS: &str = include_str!("../../../tests/fixtures/gemini/gemini_stream_tools.sse");
    const ERROR: &str = include_str!("../../../tests/fixtures/gemini/gemini_stream_error.sse");

    /// Frames `stream` in small pieces, translates every event, and returns the output events.
    fn translate(stream: &str, include_usage: bool, finish: bool) -> Vec<Bytes> {
        let mut framer = SseFramer::new();
        let mut t = GeminiToOpenAiStream::new(include_usage, "fallback-model");
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

    #[test]
    fn text_stream() {
        let out = translate(TEXT, true, true);
        assert!(sse::is_done(out.last().expect("events")));
        let chunks = data(&out);
        assert!(chunks.iter().all(|c| c["id"] == "resp-stream-1"));
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
        assert_eq!(chunks[0]["model"], "gemini-2.0-flash-001");
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
            json!({"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16})
        );
        // role, 3 text deltas, finish, usage, [DONE].
        assert_eq!(out.len(), 7);
        let without = translate(TEXT, false, true);
        assert!(data(&without).iter().all(|c| c.get("usage").is_none()));
        assert_eq!(without.len(), 6);
    }

    #[test]
    fn tool_stream_with_reasoning_and_two_calls() {
        let out = translate(TOOLS, true, true);
        let chunks = data(&out);
        let reasoning: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["reasoning"].as_str())
            .collect();
        assert_eq!(reasoning, "Two cities: two calls.");
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0]["index"], 0);
        assert_eq!(calls[0]["type"], "function");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        let args: Value =
            serde_json::from_str(calls[0]["function"]["arguments"].as_str().expect("args"))
                .expect("json");
        assert_eq!(args, json!({"city": "Paris"}));
        // The first call's thought signature rides in its id; the second has none.
        let id0 = calls[0]["id"].as_str().expect("id");
        assert!(id0.starts_with("get_weather_ts_"), "{id0}");
        assert_eq!(calls[1]["index"], 1);
        assert_eq!(calls[1]["id"], "get_weather");
        let finish = chunks
            .iter()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
            .expect("finish");
        assert_eq!(finish, "tool_calls");
        let usage = &chunks.last().expect("usage")["usage"];
        assert_eq!(usage["completion_tokens"], 20 + 12);
        assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 12);
        assert!(sse::is_done(out.last().expect("done")));
    }

    #[test]
    fn error_event_mid_stream_ends_without_done() {
        let out = translate(ERROR, false, true);
        assert!(!out.iter().any(|e| sse::is_done(e)));
        let last = out.last().expect("events");
        let v: Value = serde_json::from_slice(&sse::event_data(last).expect("data")).expect("json");
        assert_eq!(v["error"]["status_code"], 503);
        assert_eq!(v["error"]["error"]["type"], "UNAVAILABLE");
        assert_eq!(v["error"]["error"]["message"], "The model is overloaded.");
        let text: String = data(&out[..out.len() - 1])
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Partial answ");
    }

    #[test]
    fn cut_streams_and_blocked_prompts() {
        let cut = &TEXT[..TEXT.rfind("data:").expect("last event")];
        let out = translate(cut, false, true);
        let v: Value =
            serde_json::from_slice(&sse::event_data(out.last().expect("ev")).expect("d"))
                .expect("j");
        assert_eq!(v["error"]["status_code"], 502);
        let mut t = GeminiToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            b"data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n",
            &mut out,
        );
        t.finish(&mut out);
        let chunks = data(&out);
        assert_eq!(chunks[0]["model"], "m");
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "content_filter");
        assert!(sse::is_done(out.last().expect("done")));
    }

    #[test]
    fn garbage_and_extras() {
        let mut t = GeminiToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(b": keep-alive\n\n", &mut out);
        assert!(out.is_empty());
        t.push(b"data: {not json\n\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(t.is_done());
        t.finish(&mut out);
        assert_eq!(out.len(), 1, "nothing after the end");
        // Two candidates get their own roles, deltas and finishes.
        let mut t = GeminiToOpenAiStream::new(false, "m");
        let mut out = Vec::new();
        t.push(
            br#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"a"}]},"index":0},{"content":{"role":"model","parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS","index":1}]}"#,
            &mut out,
        );
        t.push(
            br#"data: {"candidates":[{"content":{"parts":[{"text":"c"}]},"finishReason":"STOP","index":0}]}"#,
            &mut out,
        );
        t.finish(&mut out);
        let chunks = data(&out);
        let of = |i: u64| -> Vec<&Value> {
            chunks
                .iter()
                .filter(|c| c["choices"][0]["index"] == i)
                .collect()
        };
        assert_eq!(of(0).len(), 4);
        assert_eq!(of(1).len(), 3);
        assert_eq!(of(1)[2]["choices"][0]["finish_reason"], "length");
    }
}
