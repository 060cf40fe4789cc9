//! Complete answers: Anthropic message -> unified chat.completion, and back.

use serde_json::{Map, Value};

use super::request::tool_input;
use super::wire::{self, Block, MessagesResponse};
use crate::providers::unified::{
    self, ChatResponse, Choice, FunctionCall, PromptTokensDetails, ResponseMessage, ToolCall,
    TranslateError, Usage,
};

/// Translates an Anthropic message body into a chat.completion body.
pub fn response_from_anthropic(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(message_to_chat(unified::decode(body)?).to_vec())
}

/// Translates a chat.completion body into an Anthropic message body.
pub fn response_to_anthropic(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&chat_to_message(
        ChatResponse::from_slice(body)?,
    )?))
}

/// Converts an Anthropic message into a chat completion.
///
/// Text blocks are joined, `tool_use` blocks become tool calls with JSON-string arguments,
/// thinking becomes `reasoning`; other block types (server tools, citations) are dropped.
pub fn message_to_chat(msg: MessagesResponse) -> ChatResponse {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for block in msg.content {
        match block {
            Block::Text { text: t, .. } => text.push_str(&t),
            Block::Thinking { thinking, .. } => reasoning.push_str(&thinking),
            Block::ToolUse {
                id, name, input, ..
            } => calls.push(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
                extra: Map::new(),
            }),
            _ => {}
        }
    }
    let finish = msg.stop_reason.as_deref().map(finish_reason);
    ChatResponse {
        id: msg.id,
        object: "chat.completion".into(),
        created: now_secs(),
        model: msg.model,
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
            finish_reason: finish.map(str::to_string),
            logprobs: None,
            extra: Map::new(),
        }],
        usage: Some(usage_from_anthropic(&msg.usage)),
        system_fingerprint: None,
        extra: Map::new(),
    }
}

/// Converts a chat completion (its first choice) into an Anthropic message.
pub fn chat_to_message(resp: ChatResponse) -> Result<MessagesResponse, TranslateError> {
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| TranslateError::Invalid("provider response has no choices".into()))?;
    let m = choice.message;
    let mut content = Vec::new();
    if let Some(r) = m.reasoning.filter(|r| !r.is_empty()) {
        // OpenAI-family providers give no signature; the block is informational for the client.
        content.push(Block::Thinking {
            thinking: r,
            signature: String::new(),
        });
    }
    if let Some(t) = m.content.filter(|t| !t.is_empty()) {
        content.push(Block::text(t));
    }
    if let Some(r) = m.refusal.filter(|r| !r.is_empty()) {
        content.push(Block::text(r));
    }
    for call in m.tool_calls.into_iter().flatten() {
        // A model may emit broken argument JSON; the client still gets the call, with `{}`.
        let input = tool_input(&call.function.arguments).unwrap_or(Value::Object(Map::new()));
        content.push(Block::ToolUse {
            id: call.id,
            name: call.function.name,
            input,
            cache_control: None,
        });
    }
    Ok(MessagesResponse {
        id: resp.id,
        kind: "message".into(),
        role: "assistant".into(),
        content,
        model: resp.model,
        stop_reason: Some(stop_reason(choice.finish_reason.as_deref().unwrap_or("stop")).into()),
        stop_sequence: None,
        usage: resp
            .usage
            .as_ref()
            .map(usage_to_anthropic)
            .unwrap_or_default(),
        extra: Map::new(),
    })
}

/// Anthropic `stop_reason` -> OpenAI `finish_reason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything new.
        _ => "stop",
    }
}

/// OpenAI `finish_reason` -> Anthropic `stop_reason`.
pub fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic usage -> OpenAI usage (`prompt_tokens` counts cached input as OpenAI does).
pub fn usage_from_anthropic(u: &wire::Usage) -> Usage {
    let prompt = u.prompt_tokens();
    let cached = u.cache_read_input_tokens;
    let has_cache = cached.is_some() || u.cache_creation_input_tokens.is_some();
    Usage {
        prompt_tokens: prompt,
        completion_tokens: u.output_tokens,
        total_tokens: prompt + u.output_tokens,
        prompt_tokens_details: has_cache.then(|| PromptTokensDetails {
            cached_tokens: Some(cached.unwrap_or(0)),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: None,
        extra: Map::new(),
    }
}

/// OpenAI usage -> Anthropic usage (cached prompt tokens reported as cache reads).
pub fn usage_to_anthropic(u: &Usage) -> wire::Usage {
    let cached = u.cached_tokens();
    wire::Usage {
        input_tokens: u.prompt_tokens.saturating_sub(cached),
        output_tokens: u.completion_tokens,
        cache_creation_input_tokens: Some(0),
        cache_read_input_tokens: Some(cached),
        extra: Map::new(),
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

    const TEXT: &str =
        include_str!("../../../tests/fixtures/anthropic/anthropic_response_text.json");
    const TOOLS: &str =
        include_str!("../../../tests/fixtures/anthropic/anthropic_response_tools.json");
    const TOOLS_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/anthropic/anthropic_response_tools_as_openai.json");
    const OPENAI_TOOLS: &str =
        include_str!("../../../tests/fixtures/anthropic/openai_response_tools.json");
    const OPENAI_TOOLS_AS_ANTHROPIC: &str =
        include_str!("../../../tests/fixtures/anthropic/openai_response_tools_as_anthropic.json");

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn text_message_to_chat_completion() {
        let v = json_of(&response_from_anthropic(TEXT.as_bytes()).expect("ok"));
        assert_eq!(v["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "claude-sonnet-4-5-20250929");
        assert!(v["created"].as_u64().expect("created") > 1_700_000_000);
        let choice = &v["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(
            choice["message"]["content"],
            "Hello! How can I help you today?"
        );
        assert!(choice["message"].get("tool_calls").is_none());
        assert_eq!(choice["finish_reason"], "stop");
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22})
        );
    }

    #[test]
    fn tool_message_to_chat_completion_matches_fixture() {
        let mut v = json_of(&response_from_anthropic(TOOLS.as_bytes()).expect("ok"));
        v.as_object_mut().expect("object").remove("created");
        let expected: Value = serde_json::from_str(TOOLS_AS_OPENAI).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn chat_completion_to_message_matches_fixture() {
        let v = json_of(&response_to_anthropic(OPENAI_TOOLS.as_bytes()).expect("ok"));
        let expected: Value = serde_json::from_str(OPENAI_TOOLS_AS_ANTHROPIC).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn stop_reasons_both_ways() {
        for (anthropic, openai) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("pause_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
        ] {
            assert_eq!(finish_reason(anthropic), openai, "{anthropic}");
        }
        for (openai, anthropic) in [
            ("stop", "end_turn"),
            ("length", "max_tokens"),
            ("tool_calls", "tool_use"),
            ("function_call", "tool_use"),
            ("content_filter", "refusal"),
        ] {
            assert_eq!(stop_reason(openai), anthropic, "{openai}");
        }
        let body = TEXT.replace("\"end_turn\"", "\"max_tokens\"");
        let v = json_of(&response_from_anthropic(body.as_bytes()).expect("ok"));
        assert_eq!(v["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn round_trip_keeps_text_calls_and_usage() {
        let chat = message_to_chat(unified::decode(TOOLS.as_bytes()).expect("decodes"));
        let back = chat_to_message(chat).expect("converts");
        let original: MessagesResponse = unified::decode(TOOLS.as_bytes()).expect("decodes");
        // Thinking loses its signature and server-tool blocks are not translated.
        let kept: Vec<Block> = original
            .content
            .iter()
            .filter(|b| matches!(b, Block::Text { .. } | Block::ToolUse { .. }))
            .cloned()
            .collect();
        assert_eq!(back.content[1..], kept[..]);
        assert!(
            matches!(&back.content[0], Block::Thinking { thinking, .. } if thinking == "Two cities, two calls.")
        );
        assert_eq!(back.stop_reason, original.stop_reason);
        assert_eq!(back.usage.prompt_tokens(), original.usage.prompt_tokens());
        assert_eq!(back.usage.output_tokens, original.usage.output_tokens);
    }

    #[test]
    fn bad_bodies() {
        assert!(response_from_anthropic(b"{\"type\":\"message\"}").is_err());
        assert!(response_to_anthropic(br#"{"id":"x","choices":[]}"#).is_err());
        assert!(response_to_anthropic(b"nope").is_err());
        // Broken tool arguments from a model still give the client its tool call.
        let body = br#"{"id":"x","model":"m","choices":[{"index":0,"finish_reason":"tool_calls",
            "message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}}]}"#;
        let v = json_of(&response_to_anthropic(body).expect("ok"));
        assert_eq!(v["content"][0]["input"], json!({}));
        assert_eq!(v["stop_reason"], "tool_use");
        assert_eq!(v["usage"]["input_tokens"], 0);
    }
}
