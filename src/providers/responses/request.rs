//! Responses request -> unified chat request.

use serde_json::{Map, Value};

use crate::providers::unified::{
    ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDef, FunctionName, MessageContent,
    NamedToolChoice, Role, Tool, ToolCall, ToolChoice, TranslateError,
};

type Result<T> = std::result::Result<T, TranslateError>;

/// Decodes a Responses request body into the unified chat request.
///
/// Refuses what a stateless chat request cannot carry (`previous_response_id`, built-in tools,
/// file inputs) with [`TranslateError`], which the gateway answers with a 400.
pub fn request_from_responses(body: &[u8]) -> Result<ChatRequest> {
    // serde_json stops at 128 levels of nesting, so a hostile body cannot overflow the stack.
    let v: Value =
        crate::json::from_slice(body).map_err(|e| TranslateError::Decode(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(TranslateError::Decode("expected a JSON object".into()));
    };
    for stateful in ["previous_response_id", "conversation"] {
        if obj.get(stateful).is_some_and(|v| !v.is_null()) {
            return Err(TranslateError::Unsupported(format!(
                "{stateful}: ringway keeps no conversation state; send the full input instead"
            )));
        }
    }
    let mut req = ChatRequest {
        model: str_of(&obj, "model").unwrap_or_default().to_string(),
        ..ChatRequest::default()
    };
    if let Some(instructions) = str_of(&obj, "instructions").filter(|s| !s.is_empty()) {
        req.messages
            .push(ChatMessage::text(Role::System, instructions));
    }
    match obj.get("input") {
        Some(Value::String(text)) => req.messages.push(ChatMessage::text(Role::User, text)),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                push_item(&mut req.messages, item).map_err(|e| at(&format!("input[{i}]"), e))?;
            }
        }
        None | Some(Value::Null) => {
            return Err(TranslateError::Invalid("input is required".into()));
        }
        Some(_) => {
            return Err(TranslateError::Invalid(
                "input must be a string or an array of items".into(),
            ));
        }
    }
    req.max_completion_tokens = obj.get("max_output_tokens").and_then(Value::as_u64);
    req.temperature = obj.get("temperature").and_then(Value::as_f64);
    req.top_p = obj.get("top_p").and_then(Value::as_f64);
    req.stream = obj.get("stream").and_then(Value::as_bool);
    req.user = str_of(&obj, "user").map(str::to_string);
    req.parallel_tool_calls = obj.get("parallel_tool_calls").and_then(Value::as_bool);
    req.metadata = obj.get("metadata").and_then(Value::as_object).cloned();
    req.reasoning_effort = obj
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str)
        .map(str::to_string);
    req.response_format = obj
        .get("text")
        .and_then(|t| t.get("format"))
        .map(response_format)
        .transpose()?
        .flatten();
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        let tools = tools
            .iter()
            .enumerate()
            .map(|(i, t)| tool(t).map_err(|e| at(&format!("tools[{i}]"), e)))
            .collect::<Result<Vec<_>>>()?;
        req.tools = (!tools.is_empty()).then_some(tools);
    }
    req.tool_choice = obj
        .get("tool_choice")
        .map(tool_choice)
        .transpose()?
        .flatten();
    Ok(req)
}

fn at(path: &str, e: TranslateError) -> TranslateError {
    match e {
        TranslateError::Decode(m) => TranslateError::Decode(format!("{path}: {m}")),
        TranslateError::Invalid(m) => TranslateError::Invalid(format!("{path}: {m}")),
        TranslateError::Unsupported(m) => TranslateError::Unsupported(format!("{path}: {m}")),
    }
}

fn str_of<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key).and_then(Value::as_str)
}

fn required_str<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v str> {
    str_of(obj, key).ok_or_else(|| TranslateError::Invalid(format!("{key} is required")))
}

/// Appends one input item to the conversation.
fn push_item(messages: &mut Vec<ChatMessage>, item: &Value) -> Result<()> {
    let Value::Object(obj) = item else {
        return Err(TranslateError::Invalid(
            "an input item must be an object".into(),
        ));
    };
    // An item with a role and no type is an "easy input message".
    let kind = str_of(obj, "type").unwrap_or(if obj.contains_key("role") {
        "message"
    } else {
        ""
    });
    match kind {
        "message" => messages.push(message(obj)?),
        "function_call" => {
            let call = ToolCall {
                id: required_str(obj, "call_id")?.to_string(),
                kind: "function".into(),
                function: FunctionCall {
                    name: required_str(obj, "name")?.to_string(),
                    arguments: str_of(obj, "arguments").unwrap_or("{}").to_string(),
                },
                extra: Map::new(),
            };
            // Parallel calls arrive as consecutive items: they belong to one assistant turn.
            match messages.last_mut() {
                Some(last) if last.role == Role::Assistant && last.tool_calls.is_some() => {
                    last.tool_calls.get_or_insert_with(Vec::new).push(call);
                }
                _ => messages.push(ChatMessage {
                    role: Role::Assistant,
                    content: None,
                    name: None,
                    tool_calls: Some(vec![call]),
                    tool_call_id: None,
                    refusal: None,
                    extra: Map::new(),
                }),
            }
        }
        "function_call_output" => {
            let output = match obj.get("output") {
                Some(Value::String(s)) => MessageContent::Text(s.clone()),
                Some(Value::Array(parts)) => MessageContent::Parts(
                    parts.iter().map(content_part).collect::<Result<Vec<_>>>()?,
                ),
                _ => return Err(TranslateError::Invalid("output is required".into())),
            };
            messages.push(ChatMessage {
                role: Role::Tool,
                content: Some(output),
                name: None,
                tool_calls: None,
                tool_call_id: Some(required_str(obj, "call_id")?.to_string()),
                refusal: None,
                extra: Map::new(),
            });
        }
        // Reasoning from an earlier turn: chat requests have no place for it.
        "reasoning" => {}
        "" => return Err(TranslateError::Invalid("item type is required".into())),
        other => {
            return Err(TranslateError::Unsupported(format!(
                "input item type '{other}'"
            )));
        }
    }
    Ok(())
}

fn message(obj: &Map<String, Value>) -> Result<ChatMessage> {
    let role = match required_str(obj, "role")? {
        "user" => Role::User,
        "system" => Role::System,
        "developer" => Role::Developer,
        "assistant" => Role::Assistant,
        other => return Err(TranslateError::Invalid(format!("unknown role '{other}'"))),
    };
    let content = match obj.get("content") {
        Some(Value::String(s)) => MessageContent::Text(s.clone()),
        Some(Value::Array(parts)) => {
            let parts = parts
                .iter()
                .enumerate()
                .map(|(i, p)| content_part(p).map_err(|e| at(&format!("content[{i}]"), e)))
                .collect::<Result<Vec<_>>>()?;
            // Text-only content reads as a plain string (assistant history, system prompts).
            if parts.iter().all(|p| p.kind == "text") {
                MessageContent::Text(
                    parts
                        .iter()
                        .filter_map(|p| p.text.as_deref())
                        .collect::<Vec<_>>()
                        .join(""),
                )
            } else {
                MessageContent::Parts(parts)
            }
        }
        _ => return Err(TranslateError::Invalid("content is required".into())),
    };
    Ok(ChatMessage {
        role,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: None,
        refusal: None,
        extra: Map::new(),
    })
}

fn content_part(part: &Value) -> Result<ContentPart> {
    let Value::Object(obj) = part else {
        return Err(TranslateError::Invalid(
            "a content part must be an object".into(),
        ));
    };
    match str_of(obj, "type").unwrap_or("") {
        "input_text" | "output_text" | "text" => Ok(ContentPart::text(required_str(obj, "text")?)),
        "refusal" => Ok(ContentPart::text(required_str(obj, "refusal")?)),
        "input_image" => {
            let Some(url) = str_of(obj, "image_url") else {
                return Err(TranslateError::Unsupported(
                    "input_image without image_url (file_id needs the Files API)".into(),
                ));
            };
            let mut image = ContentPart::image(url);
            if let (Some(img), Some(detail)) = (&mut image.image_url, str_of(obj, "detail")) {
                img.detail = Some(detail.to_string());
            }
            Ok(image)
        }
        other => Err(TranslateError::Unsupported(format!(
            "content part type '{other}'"
        ))),
    }
}

fn tool(t: &Value) -> Result<Tool> {
    let Value::Object(obj) = t else {
        return Err(TranslateError::Invalid("a tool must be an object".into()));
    };
    match str_of(obj, "type").unwrap_or("") {
        "function" => Ok(Tool {
            kind: "function".into(),
            function: Some(FunctionDef {
                name: required_str(obj, "name")?.to_string(),
                description: str_of(obj, "description").map(str::to_string),
                parameters: obj.get("parameters").filter(|p| !p.is_null()).cloned(),
                strict: obj.get("strict").and_then(Value::as_bool),
                extra: Map::new(),
            }),
            extra: Map::new(),
        }),
        other => Err(TranslateError::Unsupported(format!(
            "tool type '{other}' (only function tools can be translated)"
        ))),
    }
}

fn tool_choice(v: &Value) -> Result<Option<ToolChoice>> {
    match v {
        Value::Null => Ok(None),
        Value::String(mode) => Ok(Some(ToolChoice::Mode(mode.clone()))),
        Value::Object(obj) => match str_of(obj, "type") {
            Some("function") => Ok(Some(ToolChoice::Named(NamedToolChoice {
                kind: "function".into(),
                function: FunctionName {
                    name: required_str(obj, "name")?.to_string(),
                },
            }))),
            other => Err(TranslateError::Unsupported(format!(
                "tool_choice type '{}'",
                other.unwrap_or("")
            ))),
        },
        _ => Err(TranslateError::Invalid(
            "tool_choice must be a string or an object".into(),
        )),
    }
}

/// `text.format` -> chat `response_format`.
fn response_format(format: &Value) -> Result<Option<Value>> {
    let kind = format.get("type").and_then(Value::as_str).unwrap_or("text");
    Ok(match kind {
        "text" => None,
        "json_object" => Some(serde_json::json!({"type": "json_object"})),
        "json_schema" => {
            let mut schema = Map::new();
            for key in ["name", "description", "schema", "strict"] {
                if let Some(v) = format.get(key) {
                    schema.insert(key.to_string(), v.clone());
                }
            }
            Some(serde_json::json!({"type": "json_schema", "json_schema": schema}))
        }
        other => {
            return Err(TranslateError::Unsupported(format!(
                "text.format type '{other}'"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<ChatRequest> {
        request_from_responses(&serde_json::to_vec(&v).expect("json"))
    }

    #[test]
    fn string_input_and_parameters() {
        let req = decode(json!({
            "model": "groq/llama", "input": "hello", "instructions": "be brief",
            "max_output_tokens": 50, "temperature": 0.5, "top_p": 0.9, "stream": true,
            "metadata": {"k": "v"}, "store": false
        }))
        .expect("decodes");
        assert_eq!(req.model, "groq/llama");
        assert_eq!(req.messages.len(), 2);
        assert_eq!(req.messages[0], ChatMessage::text(Role::System, "be brief"));
        assert_eq!(req.messages[1], ChatMessage::text(Role::User, "hello"));
        assert_eq!(req.max_completion_tokens, Some(50));
        assert_eq!(req.temperature, Some(0.5));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(req.stream, Some(true));
        assert_eq!(
            req.metadata.as_ref().and_then(|m| m.get("k")),
            Some(&json!("v"))
        );
    }

    #[test]
    fn fixture_items_with_image_and_tool_round_trip() {
        let body = include_bytes!("../../../tests/fixtures/responses/request_items.json");
        let req = request_from_responses(body).expect("decodes");
        let chat = serde_json::to_value(&req).expect("json");
        let expected: Value = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/responses/request_items.chat.json"
        ))
        .expect("fixture");
        assert_eq!(chat, expected);
    }

    #[test]
    fn parallel_function_calls_share_one_assistant_turn() {
        let req = decode(json!({"model": "m", "input": [
            {"role": "user", "content": "weather in A and B"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{\"c\":\"A\"}"},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{\"c\":\"B\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sun"},
            {"type": "function_call_output", "call_id": "c2", "output": "rain"}
        ]}))
        .expect("decodes");
        assert_eq!(req.messages.len(), 4);
        let calls = req.messages[1].tool_calls.as_ref().expect("calls");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].id, "c2");
        assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("c2"));
    }

    #[test]
    fn refusals() {
        let stateful =
            decode(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
        assert!(
            matches!(&stateful, Err(TranslateError::Unsupported(m)) if m.contains("previous_response_id")),
            "{stateful:?}"
        );
        let builtin =
            decode(json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}));
        assert!(matches!(&builtin, Err(TranslateError::Unsupported(m)) if m.contains("tools[0]")));
        let file = decode(json!({"model": "m", "input": [
            {"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}
        ]}));
        assert!(matches!(&file, Err(TranslateError::Unsupported(m)) if m.contains("input[0]")));
        assert!(matches!(
            decode(json!({"model": "m"})),
            Err(TranslateError::Invalid(_))
        ));
        assert!(matches!(
            decode(json!({"model": "m", "input": 3})),
            Err(TranslateError::Invalid(_))
        ));
        assert!(request_from_responses(b"[1]").is_err());
        assert!(request_from_responses(b"{").is_err());
    }

    #[test]
    fn tool_choice_and_text_format() {
        let req = decode(json!({"model": "m", "input": "x",
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
            "reasoning": {"effort": "low"}
        }))
        .expect("decodes");
        assert!(matches!(&req.tool_choice, Some(ToolChoice::Named(n)) if n.function.name == "f"));
        assert_eq!(
            req.response_format,
            Some(
                json!({"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}})
            )
        );
        assert_eq!(req.reasoning_effort.as_deref(), Some("low"));
        let auto =
            decode(json!({"model": "m", "input": "x", "tool_choice": "required"})).expect("ok");
        assert_eq!(auto.tool_choice, Some(ToolChoice::Mode("required".into())));
    }
}
