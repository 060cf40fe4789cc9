//! Complete answers: Bedrock Converse response -> unified chat.completion.

use serde_json::Map;

use super::wire::{ConverseResponse, TokenUsage};
use crate::providers::unified::{
    self, ChatResponse, Choice, FunctionCall, PromptTokensDetails, ResponseMessage, ToolCall,
    TranslateError, Usage,
};

/// Translates a Converse response body into a chat.completion body for `model` (Converse
/// responses name neither the model nor an id).
pub fn response_from_bedrock(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(converse_to_chat(unified::decode(body)?, model).to_vec())
}

/// Converts a Converse response into a chat completion.
///
/// Text blocks are joined, `toolUse` blocks become tool calls with JSON-string arguments,
/// `reasoningContent` becomes `reasoning`; other blocks (documents, citations, guard content)
/// are dropped.
pub fn converse_to_chat(resp: ConverseResponse, model: &str) -> ChatResponse {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for block in resp.output.message.into_iter().flat_map(|m| m.content) {
        if let Some(t) = block.text {
            text.push_str(&t);
        }
        if let Some(r) = block.reasoning_content.and_then(|r| r.reasoning_text) {
            reasoning.push_str(&r.text);
        }
        if let Some(u) = block.tool_use {
            calls.push(ToolCall {
                id: u.tool_use_id,
                kind: "function".into(),
                function: FunctionCall {
                    name: u.name,
                    arguments: if u.input.is_null() {
                        "{}".into()
                    } else {
                        u.input.to_string()
                    },
                },
                extra: Map::new(),
            });
        }
    }
    ChatResponse {
        id: new_id(),
        object: "chat.completion".into(),
        created: now_secs(),
        model: model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".into(),
                content: (!text.is_empty() || calls.is_empty()).then_some(text),
                tool_calls: (!calls.is_empty()).then_some(calls),
                refusal: None,
                reasoning: (!reasoning.is_empty()).then_some(reasoning),
                extra: Map::new(),
            },
            finish_reason: Some(finish_reason(&resp.stop_reason).to_string()),
            logprobs: None,
            extra: Map::new(),
        }],
        usage: resp.usage.as_ref().map(usage_from_bedrock),
        system_fingerprint: None,
        extra: Map::new(),
    }
}

/// Bedrock `stopReason` -> OpenAI `finish_reason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        // end_turn, stop_sequence and anything new.
        _ => "stop",
    }
}

/// Bedrock usage -> OpenAI usage: prompt tokens include the cache reads and writes, which
/// Bedrock counts apart from `inputTokens` (as Bifrost adds them).
pub fn usage_from_bedrock(u: &TokenUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_write_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens + read + write;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: u.output_tokens,
        total_tokens: u.total_tokens.max(prompt + u.output_tokens),
        prompt_tokens_details: u.cache_read_input_tokens.map(|r| PromptTokensDetails {
            cached_tokens: Some(r),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: None,
        extra: Map::new(),
    }
}

/// A response id (`chatcmpl-` and 24 random hex digits): Converse answers carry none.
pub(super) fn new_id() -> String {
    format!(
        "chatcmpl-{:08x}{:016x}",
        fastrand::u32(..),
        fastrand::u64(..)
    )
}

/// Unix seconds now.
pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const TEXT: &str = include_str!("../../../tests/fixtures/bedrock/converse_response_text.json");
    const TOOLS: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_response_tools.json");
    const TOOLS_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_response_tools_as_openai.json");

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn text_response() {
        let v = json_of(&response_from_bedrock(TEXT.as_bytes(), "anthropic.claude-x").expect("ok"));
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "anthropic.claude-x");
        assert!(v["id"].as_str().expect("id").starts_with("chatcmpl-"));
        assert!(v["created"].as_u64().expect("created") > 1_700_000_000);
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Hello! How can I help?"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19})
        );
    }

    #[test]
    fn tool_response_matches_fixture() {
        let mut v = json_of(
            &response_from_bedrock(TOOLS.as_bytes(), "anthropic.claude-3-5-sonnet").expect("ok"),
        );
        let obj = v.as_object_mut().expect("object");
        assert!(obj.remove("created").is_some());
        assert!(obj.remove("id").is_some());
        let expected: Value = serde_json::from_str(TOOLS_AS_OPENAI).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn stop_reasons() {
        for (bedrock, openai) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("model_context_window_exceeded", "length"),
            ("tool_use", "tool_calls"),
            ("guardrail_intervened", "content_filter"),
            ("content_filtered", "content_filter"),
            ("something_new", "stop"),
        ] {
            assert_eq!(finish_reason(bedrock), openai, "{bedrock}");
        }
    }

    #[test]
    fn bad_bodies_and_ids() {
        assert!(response_from_bedrock(b"nope", "m").is_err());
        assert!(response_from_bedrock(b"{\"stopReason\":\"end_turn\"}", "m").is_err());
        let v = json_of(
            &response_from_bedrock(br#"{"output":{},"stopReason":"end_turn"}"#, "m").expect("ok"),
        );
        assert_eq!(v["choices"][0]["message"]["content"], "");
        assert!(v.get("usage").is_none());
        assert_ne!(new_id(), new_id());
        assert_eq!(new_id().len(), "chatcmpl-".len() + 24);
    }
}
