//! Complete chat answers: Cohere v2 -> unified chat.completion, and back.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Map;

use super::wire::{self, Block, Content, Message};
use crate::providers::unified::{
    self, ChatResponse, Choice, FunctionCall, PromptTokensDetails, ResponseMessage, ToolCall,
    TranslateError, Usage,
};

/// Translates a Cohere chat answer into a chat.completion body; Cohere's answer names no
/// model, so `model` (the one asked for) is reported.
pub fn response_from_cohere(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(chat_from_cohere(unified::decode(body)?, model).to_vec())
}

/// Converts a Cohere chat answer into a chat completion.
///
/// Text blocks are joined; `thinking` blocks and the `tool_plan` become `reasoning` (as
/// Bifrost does with the plan); tool calls keep their ids and JSON-string arguments; citations
/// and log probabilities are dropped.
pub fn chat_from_cohere(resp: wire::ChatResponse, model: &str) -> ChatResponse {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    if let Some(msg) = resp.message {
        match msg.content {
            Some(Content::Text(t)) => text = t,
            Some(Content::Blocks(blocks)) => {
                for b in blocks {
                    match b.kind.as_str() {
                        "text" => text.push_str(b.text.as_deref().unwrap_or("")),
                        "thinking" => reasoning.push_str(b.thinking.as_deref().unwrap_or("")),
                        _ => {}
                    }
                }
            }
            None => {}
        }
        if let Some(plan) = msg.tool_plan.filter(|p| !p.is_empty()) {
            if !reasoning.is_empty() {
                reasoning.push('\n');
            }
            reasoning.push_str(&plan);
        }
        for call in msg.tool_calls.into_iter().flatten() {
            let f = call.function.unwrap_or_default();
            calls.push(ToolCall {
                id: call.id.unwrap_or_default(),
                kind: "function".into(),
                function: FunctionCall {
                    name: f.name.unwrap_or_default(),
                    arguments: f.arguments,
                },
                extra: Map::new(),
            });
        }
    }
    ChatResponse {
        id: resp.id,
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
            finish_reason: resp
                .finish_reason
                .as_deref()
                .map(|f| finish_reason(f).to_string()),
            logprobs: None,
            extra: Map::new(),
        }],
        usage: resp.usage.as_ref().map(usage_from_cohere),
        system_fingerprint: None,
        extra: Map::new(),
    }
}

/// Cohere `finish_reason` -> OpenAI `finish_reason`; reasons OpenAI has no word for (`ERROR`,
/// `TIMEOUT`) pass through as Cohere spelled them, as Bifrost does.
pub fn finish_reason(reason: &str) -> &str {
    match reason {
        "COMPLETE" | "STOP_SEQUENCE" => "stop",
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        other => other,
    }
}

/// Cohere usage -> OpenAI usage: actual `tokens` when present (what the model read, as
/// Bifrost reports), else the billed units.
pub fn usage_from_cohere(u: &wire::Usage) -> Usage {
    let pick = |f: fn(&wire::Units) -> Option<u64>| {
        u.tokens
            .as_ref()
            .and_then(f)
            .or_else(|| u.billed_units.as_ref().and_then(f))
            .unwrap_or(0)
    };
    let prompt = pick(|x| x.input_tokens);
    let completion = pick(|x| x.output_tokens);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: u
            .cached_tokens
            .filter(|c| *c > 0)
            .map(|c| PromptTokensDetails {
                cached_tokens: Some(c),
                ..PromptTokensDetails::default()
            }),
        completion_tokens_details: None,
        extra: Map::new(),
    }
}

/// Translates a chat.completion body into a Cohere v2 chat answer (the `/cohere/v2/chat` route).
pub fn response_to_cohere(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&chat_to_cohere(ChatResponse::from_slice(
        body,
    )?)?))
}

/// Converts a chat completion (its first choice) into a Cohere chat answer.
///
/// Text becomes a `text` block; reasoning becomes the `tool_plan` of a tool-calling turn, or a
/// `thinking` block otherwise; a refusal is answered as text.
pub fn chat_to_cohere(resp: ChatResponse) -> Result<wire::ChatResponse, TranslateError> {
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| TranslateError::Invalid("provider response has no choices".into()))?;
    let m = choice.message;
    let calls: Vec<wire::ToolCall> = m
        .tool_calls
        .into_iter()
        .flatten()
        .map(|c| wire::ToolCall {
            id: Some(c.id),
            kind: "function".into(),
            function: Some(wire::CallFunction {
                name: Some(c.function.name),
                arguments: c.function.arguments,
            }),
        })
        .collect();
    let mut blocks = Vec::new();
    let reasoning = m.reasoning.filter(|r| !r.is_empty());
    let mut tool_plan = None;
    match reasoning {
        Some(r) if !calls.is_empty() => tool_plan = Some(r),
        Some(r) => blocks.push(Block {
            kind: "thinking".into(),
            text: None,
            thinking: Some(r),
            image_url: None,
            extra: Map::new(),
        }),
        None => {}
    }
    for text in [m.content, m.refusal].into_iter().flatten() {
        if !text.is_empty() {
            blocks.push(Block::text(text));
        }
    }
    let finish = choice.finish_reason.as_deref().unwrap_or("stop");
    Ok(wire::ChatResponse {
        id: resp.id,
        finish_reason: Some(cohere_finish_reason(finish, !calls.is_empty()).to_string()),
        message: Some(Message {
            role: "assistant".into(),
            content: (!blocks.is_empty()).then_some(Content::Blocks(blocks)),
            tool_plan,
            tool_calls: (!calls.is_empty()).then_some(calls),
            ..Message::default()
        }),
        usage: resp.usage.as_ref().map(usage_to_cohere),
        logprobs: None,
    })
}

/// OpenAI `finish_reason` -> Cohere's (a turn with tool calls is `TOOL_CALL` whatever it says).
pub fn cohere_finish_reason(finish: &str, has_calls: bool) -> &'static str {
    match finish {
        _ if has_calls => "TOOL_CALL",
        "length" => "MAX_TOKENS",
        "tool_calls" | "function_call" => "TOOL_CALL",
        "content_filter" => "ERROR",
        _ => "COMPLETE",
    }
}

/// OpenAI usage -> Cohere usage (the same counts as billed units and as tokens).
pub fn usage_to_cohere(u: &Usage) -> wire::Usage {
    let units = || wire::Units {
        input_tokens: Some(u.prompt_tokens),
        output_tokens: Some(u.completion_tokens),
        extra: Map::new(),
    };
    let cached = u.cached_tokens();
    wire::Usage {
        billed_units: Some(units()),
        tokens: Some(units()),
        cached_tokens: (cached > 0).then_some(cached),
    }
}

/// Seconds since the Unix epoch (the `created` of translated answers).
pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const TEXT: &str = include_str!("../../../tests/fixtures/cohere/cohere_response_text.json");
    const TOOLS: &str = include_str!("../../../tests/fixtures/cohere/cohere_response_tools.json");
    const TOOLS_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/cohere/cohere_response_tools_as_openai.json");

    fn translate(body: &str) -> Value {
        let out = response_from_cohere(body.as_bytes(), "command-a-03-2025").expect("translates");
        serde_json::from_slice(&out).expect("json")
    }

    #[test]
    fn text_answer() {
        let v = translate(TEXT);
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["id"], "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
        assert_eq!(v["model"], "command-a-03-2025");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Hello, \"world\"!\nHow are you?"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        // Actual tokens, not billed units; cached tokens reported as OpenAI does.
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens": 71, "completion_tokens": 9, "total_tokens": 80,
                   "prompt_tokens_details": {"cached_tokens": 64}})
        );
        assert!(v["created"].as_u64().is_some_and(|c| c > 1_600_000_000));
    }

    #[test]
    fn tool_answer_matches_fixture() {
        let mut v = translate(TOOLS);
        let expected: Value = serde_json::from_str(TOOLS_AS_OPENAI).expect("fixture");
        v["created"] = expected["created"].clone();
        assert_eq!(v, expected);
    }

    #[test]
    fn finish_reasons_and_billed_fallback() {
        assert_eq!(finish_reason("COMPLETE"), "stop");
        assert_eq!(finish_reason("STOP_SEQUENCE"), "stop");
        assert_eq!(finish_reason("MAX_TOKENS"), "length");
        assert_eq!(finish_reason("TOOL_CALL"), "tool_calls");
        assert_eq!(finish_reason("ERROR"), "ERROR");
        let u: wire::Usage = serde_json::from_value(
            json!({"billed_units": {"input_tokens": 3, "output_tokens": 4}}),
        )
        .expect("usage");
        let usage = usage_from_cohere(&u);
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (3, 4, 7)
        );
        assert!(usage.prompt_tokens_details.is_none());
    }

    #[test]
    fn thinking_blocks_and_bad_bodies() {
        let body = json!({"id": "x", "finish_reason": "MAX_TOKENS", "message": {"role": "assistant",
            "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "a"},
                        {"type": "text", "text": "b"}]}});
        let v = translate(&body.to_string());
        assert_eq!(v["choices"][0]["message"]["reasoning"], "hmm");
        assert_eq!(v["choices"][0]["message"]["content"], "ab");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert!(v.get("usage").is_none());
        assert!(response_from_cohere(b"{not json", "m").is_err());
        assert!(response_from_cohere(br#"{"message": 5}"#, "m").is_err());
    }

    const OPENAI_TOOLS: &str =
        include_str!("../../../tests/fixtures/cohere/openai_response_tools.json");
    const OPENAI_TOOLS_AS_COHERE: &str =
        include_str!("../../../tests/fixtures/cohere/openai_response_tools_as_cohere.json");

    #[test]
    fn openai_tool_answer_as_cohere_matches_fixture() {
        let out = response_to_cohere(OPENAI_TOOLS.as_bytes()).expect("translates");
        let v: Value = serde_json::from_slice(&out).expect("json");
        let expected: Value = serde_json::from_str(OPENAI_TOOLS_AS_COHERE).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn openai_text_answer_as_cohere() {
        let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi", "reasoning": "hm"},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4,
                      "prompt_tokens_details": {"cached_tokens": 2}}});
        let out = response_to_cohere(body.to_string().as_bytes()).expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["finish_reason"], "MAX_TOKENS");
        assert_eq!(
            v["message"]["content"],
            json!([{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "hi"}])
        );
        assert_eq!(
            v["usage"]["tokens"],
            json!({"input_tokens": 3, "output_tokens": 1})
        );
        assert_eq!(v["usage"]["cached_tokens"], 2);
        // Back through the hub: the same answer.
        let again = translate(&String::from_utf8(out).expect("utf8"));
        assert_eq!(again["choices"][0]["message"]["content"], "hi");
        assert_eq!(again["choices"][0]["finish_reason"], "length");
        assert!(response_to_cohere(br#"{"id":"x","choices":[]}"#).is_err());
        assert_eq!(cohere_finish_reason("stop", false), "COMPLETE");
        assert_eq!(cohere_finish_reason("stop", true), "TOOL_CALL");
    }
}
