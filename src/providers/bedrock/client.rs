//! The Bedrock drop-in side (`/bedrock/model/{id}/converse[-stream]`): a Converse request from
//! an AWS SDK into the unified schema, a chat.completion back into a Converse response, and
//! errors in Bedrock's shape.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::eventstream::encode_exception;
use super::request::tool_input;
use super::wire::{
    ContentBlock, ConverseRequest, ConverseResponse, Message, Output, ReasoningContent,
    ReasoningText, TokenUsage, ToolUse,
};
use crate::error::GatewayError;
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ChatResponse, ContentPart, FunctionCall, FunctionDef,
    FunctionName, MessageContent, NamedToolChoice, Role, Stop, StreamOptions, Tool, ToolCall,
    ToolChoice, TranslateError,
};

/// Decodes a Converse body into a unified chat request; `stream` is true on `converse-stream`
/// (the body does not say), and then a usage chunk is asked for, for the final `metadata`.
pub fn request_from_bedrock(body: &[u8], stream: bool) -> Result<ChatRequest, TranslateError> {
    from_converse_request(unified::decode(body)?, stream)
}

/// Converts a Converse request into a unified chat request (the model comes from the path).
pub fn from_converse_request(
    req: ConverseRequest,
    stream: bool,
) -> Result<ChatRequest, TranslateError> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    let system: Vec<&str> = req
        .system
        .iter()
        .filter_map(|b| b.text.as_deref())
        .collect();
    if !system.is_empty() {
        messages.push(ChatMessage::text(Role::System, system.join("\n")));
    }
    for (i, m) in req.messages.into_iter().enumerate() {
        match m.role.as_str() {
            "user" => user_from_converse(m.content, i, &mut messages)?,
            "assistant" => messages.push(assistant_from_converse(m.content, i)?),
            other => {
                return Err(TranslateError::Invalid(format!(
                    "messages[{i}].role: unexpected role '{other}' (user or assistant)"
                )));
            }
        }
    }
    let (tools, tool_choice) = match req.tool_config {
        None => (None, None),
        Some(tc) => {
            let tools: Vec<Tool> = tc
                .tools
                .into_iter()
                .filter_map(|t| t.tool_spec)
                .map(|spec| Tool {
                    kind: "function".into(),
                    function: Some(FunctionDef {
                        name: spec.name,
                        description: spec.description,
                        parameters: Some(spec.input_schema.json),
                        strict: None,
                        extra: Map::new(),
                    }),
                    extra: Map::new(),
                })
                .collect();
            let choice = match tc.tool_choice.as_ref().and_then(Value::as_object) {
                None => None,
                Some(c) if c.contains_key("auto") => Some(ToolChoice::Mode("auto".into())),
                Some(c) if c.contains_key("any") => Some(ToolChoice::Mode("required".into())),
                Some(c) => match c
                    .get("tool")
                    .and_then(|t| t.get("name"))
                    .and_then(Value::as_str)
                {
                    Some(name) => Some(ToolChoice::Named(NamedToolChoice {
                        kind: "function".into(),
                        function: FunctionName { name: name.into() },
                    })),
                    None => {
                        return Err(TranslateError::Invalid(
                            "toolConfig.toolChoice: expected auto, any or tool".into(),
                        ));
                    }
                },
            };
            ((!tools.is_empty()).then_some(tools), choice)
        }
    };
    let inference = req.inference_config.unwrap_or_default();
    Ok(ChatRequest {
        messages,
        max_completion_tokens: inference.max_tokens,
        temperature: inference.temperature,
        top_p: inference.top_p,
        stop: inference
            .stop_sequences
            .filter(|s| !s.is_empty())
            .map(Stop::Many),
        stream: stream.then_some(true),
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Map::new(),
        }),
        tools,
        tool_choice,
        ..ChatRequest::default()
    })
}

/// A user turn: tool results become `tool` messages (first, as OpenAI wants them right after
/// the assistant's calls), the other blocks one user message.
fn user_from_converse(
    blocks: Vec<ContentBlock>,
    i: usize,
    out: &mut Vec<ChatMessage>,
) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    for (k, b) in blocks.into_iter().enumerate() {
        if let Some(r) = b.tool_result {
            let text: Vec<String> = r
                .content
                .iter()
                .filter_map(|c| match (&c.text, &c.json) {
                    (Some(t), _) => Some(t.clone()),
                    (None, Some(j)) => Some(j.to_string()),
                    _ => None,
                })
                .collect();
            out.push(ChatMessage {
                tool_call_id: Some(r.tool_use_id),
                ..ChatMessage::text(Role::Tool, text.join("\n"))
            });
        } else if let Some(t) = b.text {
            parts.push(ContentPart::text(t));
        } else if let Some(img) = b.image {
            let bytes = img.source.bytes.ok_or_else(|| {
                TranslateError::Unsupported(format!(
                    "messages[{i}].content[{k}].image: only bytes sources (no S3 locations)"
                ))
            })?;
            parts.push(ContentPart::image(format!(
                "data:image/{};base64,{bytes}",
                img.format
            )));
        } else if b.cache_point.is_some() {
            // A cache checkpoint has no OpenAI equivalent; dropping it only loses caching.
        } else {
            let kind = b.extra.keys().next().map_or("unknown", String::as_str);
            return Err(TranslateError::Unsupported(format!(
                "messages[{i}].content[{k}]: '{kind}' blocks"
            )));
        }
    }
    let content = match parts.len() {
        0 => return Ok(()),
        1 if parts[0].kind == "text" => {
            MessageContent::Text(parts.pop().and_then(|p| p.text).unwrap_or_default())
        }
        _ => MessageContent::Parts(parts),
    };
    out.push(ChatMessage {
        content: Some(content),
        ..ChatMessage::text(Role::User, "")
    });
    Ok(())
}

fn assistant_from_converse(
    blocks: Vec<ContentBlock>,
    i: usize,
) -> Result<ChatMessage, TranslateError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for (k, b) in blocks.into_iter().enumerate() {
        if let Some(t) = b.text {
            text.push_str(&t);
        } else if let Some(u) = b.tool_use {
            calls.push(ToolCall {
                id: u.tool_use_id,
                kind: "function".into(),
                function: FunctionCall {
                    name: u.name,
                    arguments: u.input.to_string(),
                },
                extra: Map::new(),
            });
        } else if b.reasoning_content.is_some() || b.cache_point.is_some() {
            // Earlier reasoning is not sent back to OpenAI-family models.
        } else {
            let kind = b.extra.keys().next().map_or("unknown", String::as_str);
            return Err(TranslateError::Unsupported(format!(
                "messages[{i}].content[{k}]: '{kind}' blocks"
            )));
        }
    }
    Ok(ChatMessage {
        content: (!text.is_empty()).then_some(MessageContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..ChatMessage::text(Role::Assistant, "")
    })
}

/// Translates a chat.completion body into a Converse response body.
pub fn response_to_bedrock(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&chat_to_converse(
        ChatResponse::from_slice(body)?,
    )?))
}

/// Converts a chat completion (its first choice) into a Converse response.
pub fn chat_to_converse(resp: ChatResponse) -> Result<ConverseResponse, TranslateError> {
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| TranslateError::Invalid("provider response has no choices".into()))?;
    let m = choice.message;
    let mut content = Vec::new();
    if let Some(r) = m.reasoning.filter(|r| !r.is_empty()) {
        content.push(ContentBlock {
            reasoning_content: Some(ReasoningContent {
                reasoning_text: Some(ReasoningText {
                    text: r,
                    signature: None,
                }),
                extra: Map::new(),
            }),
            ..ContentBlock::default()
        });
    }
    for t in [m.content, m.refusal].into_iter().flatten() {
        if !t.is_empty() {
            content.push(ContentBlock::text(t));
        }
    }
    for call in m.tool_calls.into_iter().flatten() {
        content.push(ContentBlock {
            tool_use: Some(ToolUse {
                tool_use_id: call.id,
                name: call.function.name,
                // A model may emit broken argument JSON; the client still gets the call.
                input: tool_input(&call.function.arguments)
                    .unwrap_or_else(|| Value::Object(Map::new())),
            }),
            ..ContentBlock::default()
        });
    }
    Ok(ConverseResponse {
        output: Output {
            message: Some(Message {
                role: "assistant".into(),
                content,
            }),
        },
        stop_reason: stop_reason(choice.finish_reason.as_deref().unwrap_or("stop")).into(),
        usage: Some(
            resp.usage
                .as_ref()
                .map(usage_to_bedrock)
                .unwrap_or_default(),
        ),
        metrics: Some(json!({"latencyMs": 0})),
        extra: Map::new(),
    })
}

/// OpenAI `finish_reason` -> Bedrock `stopReason`.
pub fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "content_filtered",
        _ => "end_turn",
    }
}

/// OpenAI usage -> Bedrock usage (cached prompt tokens reported as cache reads).
pub fn usage_to_bedrock(u: &unified::Usage) -> TokenUsage {
    let cached = u.cached_tokens();
    TokenUsage {
        input_tokens: u.prompt_tokens.saturating_sub(cached),
        output_tokens: u.completion_tokens,
        total_tokens: u.prompt_tokens + u.completion_tokens,
        cache_read_input_tokens: (cached > 0).then_some(cached),
        cache_write_input_tokens: None,
    }
}

/// The exception name a stream or an SDK expects for a status (camelCase, as in streams).
fn exception_name(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "validationException",
        401 | 403 => "accessDeniedException",
        404 => "resourceNotFoundException",
        429 => "throttlingException",
        503 | 529 => "serviceUnavailableException",
        504 => "modelTimeoutException",
        _ => "internalServerException",
    }
}

/// The error in Bedrock's shape for the drop-in routes: `(status, body, x-amzn-errortype)`.
pub fn error_body(err: &GatewayError) -> (u16, Bytes, &'static str) {
    let status = err.status();
    let body = unified::encode(&json!({ "message": err.to_string() }));
    (
        status,
        Bytes::from(body),
        super::exception_for_status(status),
    )
}

/// An exception message carrying `err`, for a stream already sent to a Bedrock client.
pub fn error_event(err: &GatewayError) -> Bytes {
    let payload = unified::encode(&json!({ "message": err.to_string() }));
    Bytes::from(encode_exception(exception_name(err.status()), &payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::bedrock::eventstream::Message as Frame;

    const CONVERSE_REQUEST: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_request.json");
    const AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/bedrock/converse_request_as_openai.json");
    const OPENAI_RESPONSE: &str =
        include_str!("../../../tests/fixtures/bedrock/openai_response_tools.json");
    const AS_CONVERSE: &str =
        include_str!("../../../tests/fixtures/bedrock/openai_response_tools_as_converse.json");

    #[test]
    fn converse_request_to_openai_matches_fixture() {
        let req = request_from_bedrock(CONVERSE_REQUEST.as_bytes(), true).expect("converts");
        let v: Value = serde_json::from_slice(&req.to_vec()).expect("json");
        let expected: Value = serde_json::from_str(AS_OPENAI).expect("fixture");
        assert_eq!(v, expected);
        let plain = request_from_bedrock(CONVERSE_REQUEST.as_bytes(), false).expect("converts");
        assert!(plain.stream.is_none() && plain.stream_options.is_none());
    }

    #[test]
    fn converse_round_trip_through_the_hub() {
        // Converse -> unified -> Converse keeps messages, tools and settings.
        let original: ConverseRequest =
            unified::decode(CONVERSE_REQUEST.as_bytes()).expect("decodes");
        let hub = from_converse_request(original.clone(), false).expect("to hub");
        let back = crate::providers::bedrock::to_converse_request(&hub).expect("back");
        assert_eq!(back.system.len(), 1);
        assert_eq!(back.inference_config, original.inference_config);
        assert_eq!(back.messages.len(), original.messages.len());
        assert_eq!(
            back.messages[1].content[1].tool_use,
            original.messages[1].content[1].tool_use
        );
        assert_eq!(
            back.tool_config.as_ref().map(|t| &t.tool_choice),
            original.tool_config.as_ref().map(|t| &t.tool_choice)
        );
    }

    #[test]
    fn refusals() {
        for body in [
            r#"{"messages":[{"role":"system","content":[{"text":"x"}]}]}"#,
            r#"{"messages":[{"role":"user","content":[{"document":{"name":"d","format":"pdf","source":{"bytes":"AA=="}}}]}]}"#,
            r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/k"}}}}]}]}"#,
            r#"{"messages":[],"toolConfig":{"tools":[],"toolChoice":{"none":{}}}}"#,
            r#"{"messages":"nope"}"#,
        ] {
            assert!(
                request_from_bedrock(body.as_bytes(), false).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn chat_completion_to_converse_matches_fixture() {
        let v: Value =
            serde_json::from_slice(&response_to_bedrock(OPENAI_RESPONSE.as_bytes()).expect("ok"))
                .expect("json");
        let expected: Value = serde_json::from_str(AS_CONVERSE).expect("fixture");
        assert_eq!(v, expected);
        assert!(response_to_bedrock(br#"{"id":"x","choices":[]}"#).is_err());
        for (openai, bedrock) in [
            ("stop", "end_turn"),
            ("length", "max_tokens"),
            ("tool_calls", "tool_use"),
            ("content_filter", "content_filtered"),
        ] {
            assert_eq!(stop_reason(openai), bedrock);
        }
    }

    #[test]
    fn errors_in_bedrock_shape() {
        let (status, body, kind) = error_body(&GatewayError::BadRequest("bad input".into()));
        assert_eq!((status, kind), (400, "ValidationException"));
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, json!({"message": "bad input"}));
        let ev = error_event(&GatewayError::Timeout(30));
        let frame = Frame::decode(&ev).expect("frame");
        assert_eq!(frame.header_str(":message-type"), Some("exception"));
        assert_eq!(
            frame.header_str(":exception-type"),
            Some("modelTimeoutException")
        );
        let v: Value = serde_json::from_slice(frame.payload).expect("json");
        assert!(
            v["message"]
                .as_str()
                .expect("message")
                .contains("timed out")
        );
    }
}
