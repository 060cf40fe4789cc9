//! Chat requests: unified (OpenAI) -> Bedrock Converse.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::wire::{
    ContentBlock, ConverseRequest, ImageBlock, ImageSource, InferenceConfig, InputSchema, Message,
    Tool, ToolConfig, ToolResult, ToolSpec, ToolUse,
};
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ContentPart, MessageContent, Role, Stop, ToolChoice,
    TranslateError,
};

/// Converse members a client may give at the top level of an OpenAI body (Bifrost reads them
/// from its extra params); they are passed through as they are.
const PASSTHROUGH: &[&str] = &[
    "guardrailConfig",
    "performanceConfig",
    "requestMetadata",
    "promptVariables",
    "additionalModelResponseFieldPaths",
];

/// Encodes `req` as a Converse body (the model goes in the path, not the body).
pub fn request_to_bedrock(req: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&to_converse_request(req)?))
}

/// Converts a unified chat request into a Converse request.
///
/// System and developer messages become `system`; consecutive tool messages become one user
/// turn of `toolResult` blocks; consecutive turns of one role are merged, as Converse wants
/// user and assistant to alternate.
pub fn to_converse_request(req: &ChatRequest) -> Result<ConverseRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported(
            "n > 1 (Bedrock returns one answer per request)".into(),
        ));
    }
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::with_capacity(req.messages.len());
    for (i, msg) in req.messages.iter().enumerate() {
        let (role, blocks) = match msg.role {
            Role::System | Role::Developer => {
                system_blocks(msg, i, &mut system)?;
                continue;
            }
            Role::User => ("user", user_blocks(msg, i)?),
            Role::Assistant => ("assistant", assistant_blocks(msg, i)?),
            Role::Tool | Role::Function => ("user", vec![tool_result_block(msg, i)?]),
        };
        if blocks.is_empty() {
            continue; // Converse rejects empty turns.
        }
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(Message {
                role: role.to_string(),
                content: blocks,
            }),
        }
    }

    let inference = InferenceConfig {
        max_tokens: req.output_limit(),
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: req
            .stop
            .as_ref()
            .map(Stop::to_vec)
            .filter(|s| !s.is_empty()),
    };
    let mut out = ConverseRequest {
        system,
        inference_config: (!inference.is_empty()).then_some(inference),
        tool_config: tool_config(req, &messages)?,
        ..ConverseRequest::default()
    };
    out.messages = messages;
    out.additional_model_request_fields = req
        .extra
        .get("additionalModelRequestFields")
        .filter(|v| v.is_object())
        .cloned();
    if let Some(top_k) = req.extra.get("top_k").filter(|v| v.is_number()) {
        let fields = out
            .additional_model_request_fields
            .get_or_insert_with(|| Value::Object(Map::new()));
        if let Some(obj) = fields.as_object_mut() {
            obj.entry("top_k").or_insert_with(|| top_k.clone());
        }
    }
    for name in PASSTHROUGH {
        if let Some(v) = req.extra.get(*name) {
            out.extra.insert((*name).to_string(), v.clone());
        }
    }
    Ok(out)
}

fn system_blocks(
    msg: &ChatMessage,
    i: usize,
    out: &mut Vec<ContentBlock>,
) -> Result<(), TranslateError> {
    match &msg.content {
        Some(MessageContent::Text(t)) if !t.is_empty() => out.push(ContentBlock::text(t.clone())),
        Some(MessageContent::Parts(parts)) => {
            for (k, p) in parts.iter().enumerate() {
                if p.kind != "text" {
                    return Err(TranslateError::Unsupported(format!(
                        "messages[{i}].content[{k}]: '{}' parts in a system message",
                        p.kind
                    )));
                }
                if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
                    out.push(ContentBlock::text(t));
                    if p.extra.contains_key("cache_control") {
                        out.push(ContentBlock::cache_point());
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn user_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<ContentBlock>, TranslateError> {
    match &msg.content {
        None => Ok(Vec::new()),
        // Converse rejects blank text blocks.
        Some(MessageContent::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(t)) => Ok(vec![ContentBlock::text(t.clone())]),
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (k, p) in parts.iter().enumerate() {
                part_blocks(p, i, k, &mut out)?;
            }
            Ok(out)
        }
    }
}

/// One OpenAI content part as Converse blocks (a cache point follows a part with
/// `cache_control`, as Bedrock wants it in a block of its own).
fn part_blocks(
    part: &ContentPart,
    i: usize,
    k: usize,
    out: &mut Vec<ContentBlock>,
) -> Result<(), TranslateError> {
    let at = || format!("messages[{i}].content[{k}]");
    match part.kind.as_str() {
        "text" => match part.text.as_deref() {
            Some(t) if !t.is_empty() => out.push(ContentBlock::text(t)),
            _ => return Ok(()),
        },
        "image_url" => {
            let url = part
                .image_url
                .as_ref()
                .map(|u| u.url.as_str())
                .ok_or_else(|| {
                    TranslateError::Invalid(format!("{}: image_url is missing", at()))
                })?;
            let image = image_block(url).ok_or_else(|| {
                TranslateError::Unsupported(format!(
                    "{}: Bedrock takes images as base64 data URLs only (no remote URLs)",
                    at()
                ))
            })?;
            out.push(ContentBlock {
                image: Some(image),
                ..ContentBlock::default()
            });
        }
        other => {
            return Err(TranslateError::Unsupported(format!(
                "{}: content part type '{other}'",
                at()
            )));
        }
    }
    if part.extra.contains_key("cache_control") {
        out.push(ContentBlock::cache_point());
    }
    Ok(())
}

/// A Converse image from a `data:image/<type>;base64,<data>` URL.
fn image_block(url: &str) -> Option<ImageBlock> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    let format = match media_type.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/jpeg" | "image/jpg" => "jpeg",
        _ => return None,
    };
    Some(ImageBlock {
        format: format.to_string(),
        source: ImageSource {
            bytes: Some(data.to_string()),
            extra: Map::new(),
        },
    })
}

fn assistant_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<ContentBlock>, TranslateError> {
    let mut blocks = Vec::new();
    match &msg.content {
        Some(MessageContent::Text(t)) if !t.is_empty() => {
            blocks.push(ContentBlock::text(t.clone()))
        }
        Some(MessageContent::Parts(parts)) => {
            for p in parts {
                if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(ContentBlock::text(t));
                }
            }
        }
        _ => {}
    }
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        let input = tool_input(&call.function.arguments).ok_or_else(|| {
            TranslateError::Invalid(format!(
                "messages[{i}].tool_calls[{k}].function.arguments is not a JSON object"
            ))
        })?;
        blocks.push(ContentBlock {
            tool_use: Some(ToolUse {
                tool_use_id: call.id.clone(),
                name: call.function.name.clone(),
                input,
            }),
            ..ContentBlock::default()
        });
    }
    Ok(blocks)
}

/// Tool-call arguments as the JSON object Converse wants (empty arguments mean `{}`).
pub(super) fn tool_input(arguments: &str) -> Option<Value> {
    if arguments.trim().is_empty() {
        return Some(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

fn tool_result_block(msg: &ChatMessage, i: usize) -> Result<ContentBlock, TranslateError> {
    let tool_use_id = msg.tool_call_id.clone().ok_or_else(|| {
        TranslateError::Invalid(format!("messages[{i}]: tool message without tool_call_id"))
    })?;
    let content = match &msg.content {
        None => Vec::new(),
        Some(MessageContent::Text(t)) => vec![result_text(t)],
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (k, p) in parts.iter().enumerate() {
                part_blocks(p, i, k, &mut out)?;
            }
            out
        }
    };
    Ok(ContentBlock {
        tool_result: Some(ToolResult {
            tool_use_id,
            content,
            status: Some("success".into()),
        }),
        ..ContentBlock::default()
    })
}

/// A tool result string: JSON becomes a `json` block (objects as they are, anything else
/// wrapped, since Converse takes only objects there), other text a `text` block.
fn result_text(text: &str) -> ContentBlock {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => ContentBlock {
            json: Some(v),
            ..ContentBlock::default()
        },
        Ok(v @ Value::Array(_)) => ContentBlock {
            json: Some(json!({ "results": v })),
            ..ContentBlock::default()
        },
        Ok(v) if !v.is_string() => ContentBlock {
            json: Some(json!({ "value": v })),
            ..ContentBlock::default()
        },
        _ => ContentBlock::text(text),
    }
}

/// `toolConfig` from `tools` and `tool_choice`; when the history holds tool calls but the
/// request names no tools, Converse still wants a tool config, so one is made from the names
/// in the history (as Bifrost does).
fn tool_config(
    req: &ChatRequest,
    messages: &[Message],
) -> Result<Option<ToolConfig>, TranslateError> {
    let mut tools = Vec::new();
    for (k, tool) in req.tools.iter().flatten().enumerate() {
        let Some(f) = tool.function.as_ref().filter(|_| tool.kind == "function") else {
            return Err(TranslateError::Unsupported(format!(
                "tools[{k}]: tool type '{}' (Bedrock takes function tools)",
                tool.kind
            )));
        };
        tools.push(Tool {
            tool_spec: Some(ToolSpec {
                name: f.name.clone(),
                description: f.description.clone(),
                input_schema: InputSchema {
                    json: f
                        .parameters
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                },
            }),
            ..Tool::default()
        });
        if tool.extra.contains_key("cache_control") {
            tools.push(Tool {
                cache_point: Some(json!({"type": "default"})),
                ..Tool::default()
            });
        }
    }
    if tools.is_empty() {
        let used: BTreeSet<&str> = messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|b| b.tool_use.as_ref().map(|u| u.name.as_str()))
            .collect();
        if used.is_empty() {
            return Ok(None);
        }
        tools = used
            .into_iter()
            .map(|name| Tool {
                tool_spec: Some(ToolSpec {
                    name: name.to_string(),
                    description: Some("Tool extracted from conversation history".into()),
                    input_schema: InputSchema {
                        json: json!({"type": "object", "properties": {}}),
                    },
                }),
                ..Tool::default()
            })
            .collect();
        return Ok(Some(ToolConfig {
            tools,
            tool_choice: None,
        }));
    }
    let tool_choice = match &req.tool_choice {
        // `auto` is Converse's default; it has no `none`, so the tools stay offered (as Bifrost).
        None => None,
        Some(ToolChoice::Mode(m)) => match m.as_str() {
            "auto" | "none" => None,
            "required" => Some(json!({"any": {}})),
            other => {
                return Err(TranslateError::Invalid(format!(
                    "tool_choice: unknown mode '{other}'"
                )));
            }
        },
        Some(ToolChoice::Named(n)) => Some(json!({"tool": {"name": n.function.name}})),
    };
    Ok(Some(ToolConfig { tools, tool_choice }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI_REQUEST: &str =
        include_str!("../../../tests/fixtures/bedrock/openai_request.json");
    const AS_CONVERSE: &str =
        include_str!("../../../tests/fixtures/bedrock/openai_request_as_converse.json");

    fn convert(body: &str) -> Result<Value, TranslateError> {
        let req = ChatRequest::from_slice(body.as_bytes())?;
        let bytes = request_to_bedrock(&req)?;
        Ok(serde_json::from_slice(&bytes).expect("valid JSON"))
    }

    #[test]
    fn full_request_matches_fixture() {
        let v = convert(OPENAI_REQUEST).expect("converts");
        let expected: Value = serde_json::from_str(AS_CONVERSE).expect("fixture");
        assert_eq!(v, expected);
    }

    #[test]
    fn minimal_request_has_no_optional_blocks() {
        let v = convert(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            .expect("converts");
        assert_eq!(
            v,
            json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
        );
    }

    #[test]
    fn tool_choice_modes() {
        let body = |choice: &str| {
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],
                "tools":[{{"type":"function","function":{{"name":"f"}}}}],"tool_choice":{choice}}}"#
            )
        };
        let v = convert(&body(r#""required""#)).expect("ok");
        assert_eq!(v["toolConfig"]["toolChoice"], json!({"any": {}}));
        assert_eq!(
            v["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
            json!({"type": "object", "properties": {}})
        );
        for mode in [r#""auto""#, r#""none""#] {
            let v = convert(&body(mode)).expect("ok");
            assert!(v["toolConfig"].get("toolChoice").is_none(), "{mode}");
            assert_eq!(v["toolConfig"]["tools"][0]["toolSpec"]["name"], "f");
        }
        let v = convert(&body(r#"{"type":"function","function":{"name":"f"}}"#)).expect("ok");
        assert_eq!(
            v["toolConfig"]["toolChoice"],
            json!({"tool": {"name": "f"}})
        );
        assert!(convert(&body(r#""sometimes""#)).is_err());
    }

    #[test]
    fn history_tools_without_tool_list_get_a_tool_config() {
        let v = convert(
            r#"{"model":"m","messages":[
                {"role":"user","content":"weather?"},
                {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":""}}]},
                {"role":"tool","tool_call_id":"t1","content":"sunny"}]}"#,
        )
        .expect("ok");
        assert_eq!(
            v["toolConfig"]["tools"][0]["toolSpec"]["name"],
            "get_weather"
        );
        assert_eq!(
            v["messages"][1]["content"][0]["toolUse"]["input"],
            json!({})
        );
        assert_eq!(
            v["messages"][2]["content"][0]["toolResult"]["content"],
            json!([{"text": "sunny"}])
        );
    }

    #[test]
    fn tool_results_wrap_non_object_json() {
        for (content, expected) in [
            (r#""{\"a\":1}""#, json!({"json": {"a": 1}})),
            (r#""[1,2]""#, json!({"json": {"results": [1, 2]}})),
            (r#""42""#, json!({"json": {"value": 42}})),
            (r#""\"quoted\"""#, json!({"text": "\"quoted\""})),
            (r#""plain""#, json!({"text": "plain"})),
        ] {
            let v = convert(&format!(
                r#"{{"model":"m","messages":[{{"role":"tool","tool_call_id":"t","content":{content}}}]}}"#
            ))
            .expect("ok");
            assert_eq!(
                v["messages"][0]["content"][0]["toolResult"]["content"][0], expected,
                "{content}"
            );
        }
    }

    #[test]
    fn refusals() {
        let refused = |body: &str| convert(body).expect_err(body).to_string();
        let m = refused(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#,
        );
        assert!(m.contains("messages[0].content[0]"), "{m}");
        assert!(refused(r#"{"model":"m","n":2,"messages":[]}"#).contains("n > 1"));
        assert!(
            refused(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#)
                .contains("input_audio")
        );
        assert!(
            refused(r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}"#)
                .contains("not a JSON object")
        );
        assert!(
            refused(r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#)
                .contains("tool_call_id")
        );
        assert!(
            refused(r#"{"model":"m","messages":[],"tools":[{"type":"web_search"}]}"#)
                .contains("web_search")
        );
    }
}
