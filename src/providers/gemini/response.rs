//! Complete answers: Gemini `GenerateContentResponse` -> unified chat.completion, and back.

use serde_json::{Map, Value};

use super::call_id;
use super::wire::{self, Candidate, Content, FunctionCall, GenerateContentResponse, Part};
use crate::providers::unified::{
    self, ChatResponse, Choice, CompletionTokensDetails, FunctionCall as UnifiedCall,
    PromptTokensDetails, ResponseMessage, ToolCall, TranslateError, Usage,
};

/// Translates a Gemini `generateContent` body into a chat.completion body.
pub fn response_from_gemini(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(gemini_to_chat(unified::decode(body)?).to_vec())
}

/// Translates a chat.completion body into a Gemini `generateContent` body.
pub fn response_to_gemini(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&chat_to_gemini(ChatResponse::from_slice(
        body,
    )?)))
}

/// Converts a Gemini answer into a chat completion, one choice per candidate.
///
/// Text parts are joined, `thought` parts become `reasoning`, function calls become tool calls
/// (JSON-string arguments; the call's thought signature rides in its id, see `call_id.rs`). A
/// blocked prompt (no candidates) gives one empty choice with `content_filter`.
pub fn gemini_to_chat(resp: GenerateContentResponse) -> ChatResponse {
    let mut choices: Vec<Choice> = resp
        .candidates
        .into_iter()
        .enumerate()
        .map(|(pos, c)| candidate_to_choice(c, pos))
        .collect();
    if choices.is_empty() {
        let blocked = resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some());
        choices.push(Choice {
            index: 0,
            message: message(String::new(), String::new(), Vec::new()),
            finish_reason: Some(if blocked { "content_filter" } else { "stop" }.into()),
            logprobs: None,
            extra: Map::new(),
        });
    }
    ChatResponse {
        id: resp.response_id.unwrap_or_default(),
        object: "chat.completion".into(),
        created: now_secs(),
        model: resp.model_version.unwrap_or_default(),
        choices,
        usage: resp.usage_metadata.as_ref().map(usage_from_gemini),
        system_fingerprint: None,
        extra: Map::new(),
    }
}

fn candidate_to_choice(c: Candidate, pos: usize) -> Choice {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in c.content.map(|c| c.parts).unwrap_or_default() {
        if let Some(call) = part.function_call {
            calls.push(tool_call(call, part.thought_signature.as_deref()));
        } else if let Some(t) = part.text {
            if part.thought == Some(true) {
                reasoning.push_str(&t);
            } else {
                text.push_str(&t);
            }
        }
    }
    let mut finish = finish_reason(c.finish_reason.as_deref().unwrap_or("STOP"));
    // Gemini says STOP for a turn of function calls; OpenAI clients expect tool_calls.
    if !calls.is_empty() && finish == "stop" {
        finish = "tool_calls";
    }
    Choice {
        index: c.index.unwrap_or(pos as u32),
        message: message(text, reasoning, calls),
        finish_reason: Some(finish.into()),
        logprobs: None,
        extra: Map::new(),
    }
}

fn message(text: String, reasoning: String, calls: Vec<ToolCall>) -> ResponseMessage {
    ResponseMessage {
        role: "assistant".into(),
        content: (!text.is_empty() || calls.is_empty()).then_some(text),
        tool_calls: (!calls.is_empty()).then_some(calls),
        refusal: None,
        reasoning: (!reasoning.is_empty()).then_some(reasoning),
        extra: Map::new(),
    }
}

/// A Gemini function call as an OpenAI tool call (the id is Gemini's, else the function name).
pub(super) fn tool_call(call: FunctionCall, signature: Option<&str>) -> ToolCall {
    let base = call
        .id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| call.name.clone());
    ToolCall {
        id: call_id::with_signature(&base, signature),
        kind: "function".into(),
        function: UnifiedCall {
            name: call.name,
            arguments: call
                .args
                .as_ref()
                .map_or_else(|| "{}".to_string(), Value::to_string),
        },
        extra: Map::new(),
    }
}

/// Converts a chat completion into a Gemini answer, one candidate per choice.
pub fn chat_to_gemini(resp: ChatResponse) -> GenerateContentResponse {
    let candidates = resp
        .choices
        .into_iter()
        .map(|choice| {
            let m = choice.message;
            let mut parts = Vec::new();
            if let Some(r) = m.reasoning.filter(|r| !r.is_empty()) {
                parts.push(Part {
                    thought: Some(true),
                    ..Part::text(r)
                });
            }
            for t in [m.content, m.refusal].into_iter().flatten() {
                if !t.is_empty() {
                    parts.push(Part::text(t));
                }
            }
            for call in m.tool_calls.into_iter().flatten() {
                parts.push(function_call_part(
                    &call.id,
                    call.function.name,
                    &call.function.arguments,
                ));
            }
            Candidate {
                content: Some(Content {
                    role: Some("model".into()),
                    parts,
                }),
                finish_reason: Some(
                    gemini_finish_reason(choice.finish_reason.as_deref().unwrap_or("stop")).into(),
                ),
                index: Some(choice.index),
            }
        })
        .collect();
    GenerateContentResponse {
        candidates,
        prompt_feedback: None,
        usage_metadata: resp.usage.as_ref().map(usage_to_gemini),
        model_version: Some(resp.model).filter(|m| !m.is_empty()),
        response_id: Some(resp.id).filter(|id| !id.is_empty()),
    }
}

/// A `functionCall` part from an OpenAI tool call (a signature embedded in the id is restored).
pub(super) fn function_call_part(id: &str, name: String, arguments: &str) -> Part {
    let (base, signature) = call_id::split(id);
    // A model may emit broken argument JSON; the client still gets the call, with `{}`.
    let args = match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    };
    Part {
        function_call: Some(FunctionCall {
            id: Some(base.to_string()).filter(|b| !b.is_empty()),
            name,
            args: Some(args),
        }),
        thought_signature: signature,
        ..Part::default()
    }
}

/// Gemini `finishReason` -> OpenAI `finish_reason`.
pub fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => "content_filter",
        // STOP, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL and anything new.
        _ => "stop",
    }
}

/// OpenAI `finish_reason` -> Gemini `finishReason`.
pub fn gemini_finish_reason(reason: &str) -> &'static str {
    match reason {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        // stop, tool_calls, function_call: Gemini ends a turn of calls with STOP too.
        _ => "STOP",
    }
}

/// Gemini usage -> OpenAI usage (reasoning tokens count as completion tokens, as OpenAI does).
pub fn usage_from_gemini(u: &wire::UsageMetadata) -> Usage {
    let completion = u.candidates_token_count + u.thoughts_token_count;
    let total = if u.total_token_count > 0 {
        u.total_token_count
    } else {
        u.prompt_token_count + completion
    };
    Usage {
        prompt_tokens: u.prompt_token_count,
        completion_tokens: completion,
        total_tokens: total,
        prompt_tokens_details: (u.cached_content_token_count > 0).then(|| PromptTokensDetails {
            cached_tokens: Some(u.cached_content_token_count),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: (u.thoughts_token_count > 0).then(|| CompletionTokensDetails {
            reasoning_tokens: Some(u.thoughts_token_count),
            ..CompletionTokensDetails::default()
        }),
        extra: Map::new(),
    }
}

/// OpenAI usage -> Gemini usage (reasoning tokens reported apart, as Gemini does).
pub fn usage_to_gemini(u: &Usage) -> wire::UsageMetadata {
    let thoughts = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    wire::UsageMetadata {
        prompt_token_count: u.prompt_tokens,
        candidates_token_count: u.completion_tokens.saturating_sub(thoughts),
        total_token_count: if u.total_tokens > 0 {
            u.total_tokens
        } else {
            u.prompt_tokens + u.completion_tokens
        },
        thoughts_token_count: thoughts,
        cached_content_token_count: u.cached_tokens(),
        tool_use_prompt_token_count: 0,
    }
}

/// Unix seconds now (`created` of translated responses).
pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = include_str!("../../../tests/fixtures/gemini/gemini_response_text.json");
    const TOOLS: &str = include_str!("../../../tests/fixtures/gemini/gemini_response_tools.json");
    const TOOLS_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/gemini/gemini_response_tools_as_openai.json");
    const OPENAI_TOOLS: &str =
        include_str!("../../../tests/fixtures/gemini/openai_response_tools.json");
    const OPENAI_TOOLS_AS_GEMINI: &str =
        include_str!("../../../tests/fixtures/gemini/openai_response_tools_as_gemini.json");

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn text_answer_to_chat_completion() {
        let v = json_of(&response_from_gemini(TEXT.as_bytes()).expect("ok"));
        assert_eq!(v["id"], "resp-text-1");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "gemini-2.0-flash-001");
        assert!(v["created"].as_u64().expect("created") > 1_700_000_000);
        let choice = &v["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "Hello! How can I help?");
        assert!(choice["message"].get("tool_calls").is_none());
        assert_eq!(choice["finish_reason"], "stop");
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14})
        );
    }

    #[test]
    fn tool_answer_to_chat_completion_matches_fixture() {
        let mut v = json_of(&response_from_gemini(TOOLS.as_bytes()).expect("ok"));
        v.as_object_mut().expect("object").remove("created");
        let expected: Value = serde_json::from_str(TOOLS_AS_OPENAI).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn chat_completion_to_gemini_matches_fixture() {
        let v = json_of(&response_to_gemini(OPENAI_TOOLS.as_bytes()).expect("ok"));
        let expected: Value = serde_json::from_str(OPENAI_TOOLS_AS_GEMINI).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn round_trip_keeps_calls_signatures_and_usage() {
        let original: GenerateContentResponse = unified::decode(TOOLS.as_bytes()).expect("decodes");
        let back = chat_to_gemini(gemini_to_chat(original.clone()));
        let parts = |r: &GenerateContentResponse| -> Vec<Part> {
            r.candidates[0]
                .content
                .as_ref()
                .map(|c| c.parts.clone())
                .unwrap_or_default()
        };
        let calls = |r: &GenerateContentResponse| -> Vec<(String, Option<Value>, Option<String>)> {
            parts(r)
                .into_iter()
                .filter_map(|p| {
                    p.function_call
                        .map(|c| (c.name, c.args, p.thought_signature.clone()))
                })
                .collect()
        };
        assert_eq!(calls(&back), calls(&original));
        assert_eq!(back.usage_metadata, original.usage_metadata);
        assert_eq!(back.candidates[0].finish_reason.as_deref(), Some("STOP"));
    }

    #[test]
    fn finish_reasons_both_ways() {
        for (gemini, openai) in [
            ("STOP", "stop"),
            ("MAX_TOKENS", "length"),
            ("SAFETY", "content_filter"),
            ("RECITATION", "content_filter"),
            ("PROHIBITED_CONTENT", "content_filter"),
            ("MALFORMED_FUNCTION_CALL", "stop"),
            ("OTHER", "stop"),
            ("SOMETHING_NEW", "stop"),
        ] {
            assert_eq!(finish_reason(gemini), openai, "{gemini}");
        }
        for (openai, gemini) in [
            ("stop", "STOP"),
            ("length", "MAX_TOKENS"),
            ("content_filter", "SAFETY"),
            ("tool_calls", "STOP"),
        ] {
            assert_eq!(gemini_finish_reason(openai), gemini, "{openai}");
        }
        let body = TEXT.replace("\"STOP\"", "\"MAX_TOKENS\"");
        let v = json_of(&response_from_gemini(body.as_bytes()).expect("ok"));
        assert_eq!(v["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn blocked_prompts_and_multiple_candidates() {
        let blocked = br#"{"promptFeedback":{"blockReason":"SAFETY"},
            "usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}"#;
        let v = json_of(&response_from_gemini(blocked).expect("ok"));
        assert_eq!(v["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(v["choices"][0]["message"]["content"], "");
        assert_eq!(v["usage"]["completion_tokens"], 0);
        let two = br#"{"candidates":[
            {"content":{"role":"model","parts":[{"text":"a"}]},"finishReason":"STOP","index":0},
            {"content":{"role":"model","parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS","index":1}]}"#;
        let v = json_of(&response_from_gemini(two).expect("ok"));
        assert_eq!(v["choices"][1]["index"], 1);
        assert_eq!(v["choices"][1]["message"]["content"], "b");
        assert_eq!(v["choices"][1]["finish_reason"], "length");
        assert!(v.get("usage").is_none());
    }

    #[test]
    fn reasoning_and_cache_usage_both_ways() {
        let body = br#"{"candidates":[{"content":{"role":"model","parts":[
            {"text":"Let me think.","thought":true},{"text":"42"}]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":2,
            "thoughtsTokenCount":30,"cachedContentTokenCount":64,"totalTokenCount":132}}"#;
        let chat = gemini_to_chat(unified::decode(body).expect("decodes"));
        let m = &chat.choices[0].message;
        assert_eq!(m.content.as_deref(), Some("42"));
        assert_eq!(m.reasoning.as_deref(), Some("Let me think."));
        let u = chat.usage.as_ref().expect("usage");
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (100, 32, 132)
        );
        assert_eq!(u.cached_tokens(), 64);
        let back = chat_to_gemini(chat);
        let um = back.usage_metadata.expect("usage");
        assert_eq!(um.candidates_token_count, 2);
        assert_eq!(um.thoughts_token_count, 30);
        assert_eq!(um.cached_content_token_count, 64);
        let parts = &back.candidates[0].content.as_ref().expect("content").parts;
        assert_eq!(parts[0].thought, Some(true));
        assert_eq!(parts[1].text.as_deref(), Some("42"));
    }

    #[test]
    fn bad_bodies() {
        assert!(response_from_gemini(b"nope").is_err());
        assert!(response_from_gemini(br#"{"candidates":"x"}"#).is_err());
        assert!(response_to_gemini(b"[1]").is_err());
        let broken = br#"{"id":"x","model":"m","choices":[{"index":0,"finish_reason":"tool_calls",
            "message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}}]}"#;
        let v = json_of(&response_to_gemini(broken).expect("ok"));
        let call = &v["candidates"][0]["content"]["parts"][0]["functionCall"];
        assert_eq!(*call, json!({"id": "c1", "name": "f", "args": {}}));
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert!(v.get("usageMetadata").is_none());
    }
}
