//! Chat requests: unified (OpenAI) -> Cohere v2 chat, and back.

use serde_json::{Map, Value, json};

use super::wire::{self, Block, Content, Message};
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDef, ImageUrl,
    MessageContent, Role, Stop, ToolCall, ToolChoice, TranslateError,
};

/// Encodes `req` as a Cohere v2 chat body for `model` (the bare upstream model name).
pub fn request_to_cohere(req: &ChatRequest, model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&to_chat_request(req, model)?))
}

/// Converts a unified chat request into a Cohere v2 chat request.
///
/// Roles map one to one (`developer` becomes `system`); image parts become `image_url` blocks;
/// `top_p` is `p`, `top_k` (an extra member) is `k`, `stop` is `stop_sequences`. A named
/// `tool_choice` has no Cohere equivalent: the tool list is narrowed to that function and the
/// call made `REQUIRED`, which has the same effect.
pub fn to_chat_request(
    req: &ChatRequest,
    model: &str,
) -> Result<wire::ChatRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported(
            "n > 1 (Cohere returns one answer per request)".into(),
        ));
    }
    let messages = req
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| message_to_cohere(m, i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tools: Option<Vec<wire::Tool>> = req.tools.as_ref().map(|tools| {
        tools
            .iter()
            .filter_map(|t| {
                let f = t.function.as_ref().filter(|_| t.kind == "function")?;
                Some(wire::Tool {
                    kind: "function".into(),
                    function: wire::Function {
                        name: f.name.clone(),
                        description: f.description.clone(),
                        parameters: f.parameters.clone(),
                    },
                })
            })
            .collect()
    });
    let tool_choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(m)) => match m.as_str() {
            "none" => Some("NONE".to_string()),
            "required" => Some("REQUIRED".to_string()),
            // `auto` is Cohere's behaviour when tool_choice is absent.
            _ => None,
        },
        Some(ToolChoice::Named(named)) => {
            let name = &named.function.name;
            let list = tools.as_mut().ok_or_else(|| {
                TranslateError::Invalid(format!(
                    "tool_choice names '{name}' but there are no tools"
                ))
            })?;
            list.retain(|t| &t.function.name == name);
            if list.is_empty() {
                return Err(TranslateError::Invalid(format!(
                    "tool_choice names '{name}', which is not among the tools"
                )));
            }
            Some("REQUIRED".to_string())
        }
    };
    let mut extra = Map::new();
    if let Some(strict) = req.extra.get("strict_tools") {
        extra.insert("strict_tools".into(), strict.clone());
    }
    if let Some(mode) = req.extra.get("safety_mode") {
        extra.insert("safety_mode".into(), mode.clone());
    }
    Ok(wire::ChatRequest {
        model: model.to_string(),
        messages,
        tools: tools.filter(|t| !t.is_empty()),
        tool_choice,
        max_tokens: req.output_limit(),
        stop_sequences: req
            .stop
            .as_ref()
            .map(Stop::to_vec)
            .filter(|s| !s.is_empty()),
        temperature: req.temperature,
        p: req.top_p,
        k: req.extra.get("top_k").and_then(Value::as_u64),
        seed: req.seed,
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        response_format: req
            .response_format
            .as_ref()
            .map(response_format_to_cohere)
            .transpose()?,
        thinking: req.extra.get("thinking").cloned(),
        stream: req.is_stream().then_some(true),
        extra,
    })
}

fn message_to_cohere(msg: &ChatMessage, i: usize) -> Result<Message, TranslateError> {
    let role = match msg.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool | Role::Function => "tool",
    };
    let mut out = Message {
        role: role.to_string(),
        ..Message::default()
    };
    match msg.role {
        Role::Assistant => {
            // Cohere rejects an empty text next to tool calls; a null content is common there.
            out.content = msg
                .content
                .as_ref()
                .map(|c| c.joined_text(""))
                .filter(|t| !t.is_empty())
                .map(|t| Content::Text(t.into_owned()));
            let calls = msg.tool_calls.iter().flatten().map(|c| wire::ToolCall {
                id: Some(c.id.clone()),
                kind: "function".into(),
                function: Some(wire::CallFunction {
                    name: Some(c.function.name.clone()),
                    arguments: c.function.arguments.clone(),
                }),
            });
            out.tool_calls = Some(calls.collect::<Vec<_>>()).filter(|c| !c.is_empty());
        }
        Role::Tool | Role::Function => {
            out.tool_call_id = Some(msg.tool_call_id.clone().ok_or_else(|| {
                TranslateError::Invalid(format!("messages[{i}]: tool message without tool_call_id"))
            })?);
            // Cohere wants a tool result to be text (or documents); parts are joined.
            let text = msg
                .content
                .as_ref()
                .map(|c| c.joined_text("\n").into_owned())
                .unwrap_or_default();
            out.content = Some(Content::Text(text));
        }
        Role::System | Role::Developer => {
            let text = msg
                .content
                .as_ref()
                .map(|c| c.joined_text("\n").into_owned())
                .unwrap_or_default();
            out.content = Some(Content::Text(text));
        }
        Role::User => {
            out.content = match &msg.content {
                None => Some(Content::Text(String::new())),
                Some(MessageContent::Text(t)) => Some(Content::Text(t.clone())),
                Some(MessageContent::Parts(parts)) => Some(Content::Blocks(
                    parts
                        .iter()
                        .enumerate()
                        .map(|(k, p)| part_to_block(p, i, k))
                        .collect::<Result<_, _>>()?,
                )),
            };
        }
    }
    Ok(out)
}

fn part_to_block(part: &ContentPart, i: usize, k: usize) -> Result<Block, TranslateError> {
    match part.kind.as_str() {
        "text" => Ok(Block::text(part.text.clone().unwrap_or_default())),
        "image_url" => {
            let image = part.image_url.as_ref().ok_or_else(|| {
                TranslateError::Invalid(format!("messages[{i}].content[{k}]: image_url is missing"))
            })?;
            let mut url = json!({ "url": image.url });
            if let (Some(detail), Value::Object(o)) = (image.detail.as_ref(), &mut url) {
                o.insert("detail".into(), Value::String(detail.clone()));
            }
            Ok(Block {
                kind: "image_url".into(),
                text: None,
                thinking: None,
                image_url: Some(url),
                extra: Map::new(),
            })
        }
        other => Err(TranslateError::Unsupported(format!(
            "messages[{i}].content[{k}]: content part type '{other}'"
        ))),
    }
}

/// OpenAI `response_format` -> Cohere's (`json_schema` becomes a `json_object` with a schema).
fn response_format_to_cohere(format: &Value) -> Result<Value, TranslateError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({ "type": "text" })),
        Some("json_object") => Ok(json!({ "type": "json_object" })),
        Some("json_schema") => {
            let schema = format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .cloned()
                .ok_or_else(|| {
                    TranslateError::Invalid("response_format.json_schema.schema is missing".into())
                })?;
            Ok(json!({ "type": "json_object", "json_schema": schema }))
        }
        _ => Err(TranslateError::Unsupported(format!(
            "response_format {format}"
        ))),
    }
}

/// Decodes a Cohere v2 chat body (the `/cohere/v2/chat` route) into a unified chat request.
pub fn request_from_cohere(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    from_chat_request(unified::decode(body)?)
}

/// Converts a Cohere v2 chat request into a unified chat request.
///
/// Roles map one to one; `document` blocks of tool results become text (their data as JSON);
/// `p` is `top_p`, `k` is `top_k`, `stop_sequences` is `stop`; a `json_object` response format
/// with a schema becomes a `json_schema` one. Top-level `documents` (RAG grounding) have no
/// equivalent elsewhere and are refused; Cohere-only settings (`thinking`, `safety_mode`,
/// `citation_options`, `strict_tools`, `logprobs`, `priority`) are dropped.
pub fn from_chat_request(req: wire::ChatRequest) -> Result<ChatRequest, TranslateError> {
    if req.extra.get("documents").is_some_and(|d| !d.is_null()) {
        return Err(TranslateError::Unsupported(
            "documents (Cohere RAG grounding) are only served by Cohere providers".into(),
        ));
    }
    let messages = req
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| message_from_cohere(m, i))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = req.tools.map(|tools| {
        tools
            .into_iter()
            .map(|t| unified::Tool {
                kind: "function".into(),
                function: Some(FunctionDef {
                    name: t.function.name,
                    description: t.function.description,
                    parameters: t.function.parameters,
                    strict: None,
                    extra: Map::new(),
                }),
                extra: Map::new(),
            })
            .collect()
    });
    let tool_choice = match req.tool_choice.as_deref() {
        None => None,
        Some("REQUIRED") => Some(ToolChoice::Mode("required".into())),
        Some("NONE") => Some(ToolChoice::Mode("none".into())),
        Some(other) => {
            return Err(TranslateError::Invalid(format!(
                "tool_choice: '{other}' is not one of REQUIRED, NONE"
            )));
        }
    };
    let mut extra = Map::new();
    if let Some(k) = req.k {
        extra.insert("top_k".into(), Value::from(k));
    }
    Ok(ChatRequest {
        model: req.model,
        messages,
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.p,
        stop: req.stop_sequences.filter(|s| !s.is_empty()).map(Stop::Many),
        stream: req.stream,
        response_format: req
            .response_format
            .as_ref()
            .map(response_format_from_cohere)
            .transpose()?,
        tools,
        tool_choice,
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        seed: req.seed,
        extra,
        ..ChatRequest::default()
    })
}

fn message_from_cohere(m: Message, i: usize) -> Result<ChatMessage, TranslateError> {
    let role = match m.role.as_str() {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => {
            return Err(TranslateError::Invalid(format!(
                "messages[{i}].role: unexpected role '{other}' (system, user, assistant or tool)"
            )));
        }
    };
    let mut out = ChatMessage::text(role, "");
    out.content = match (role, m.content) {
        (_, None) => None,
        (_, Some(Content::Text(t))) => Some(MessageContent::Text(t)),
        (Role::User, Some(Content::Blocks(blocks))) => Some(MessageContent::Parts(
            blocks
                .into_iter()
                .enumerate()
                .map(|(k, b)| block_to_part(b, i, k))
                .collect::<Result<_, _>>()?,
        )),
        // Other roles take text: text blocks (and documents' data) joined; thinking dropped.
        (_, Some(Content::Blocks(blocks))) => {
            let texts: Vec<String> = blocks.into_iter().filter_map(block_text).collect();
            Some(MessageContent::Text(texts.join("\n")))
        }
    };
    if role == Role::Assistant {
        let calls: Vec<ToolCall> = m
            .tool_calls
            .into_iter()
            .flatten()
            .map(|c| {
                let f = c.function.unwrap_or_default();
                ToolCall {
                    id: c.id.unwrap_or_default(),
                    kind: "function".into(),
                    function: FunctionCall {
                        name: f.name.unwrap_or_default(),
                        arguments: f.arguments,
                    },
                    extra: Map::new(),
                }
            })
            .collect();
        if !calls.is_empty() {
            if out
                .content
                .as_ref()
                .is_some_and(|c| c.joined_text("").is_empty())
            {
                out.content = None;
            }
            out.tool_calls = Some(calls);
        }
    }
    if role == Role::Tool {
        out.tool_call_id = Some(m.tool_call_id.ok_or_else(|| {
            TranslateError::Invalid(format!("messages[{i}]: tool message without tool_call_id"))
        })?);
    }
    Ok(out)
}

/// The text a block contributes to a text-only message: text, or a document's data.
fn block_text(b: Block) -> Option<String> {
    match b.kind.as_str() {
        "text" => b.text,
        "document" => b.extra.get("document").map(|d| match d.get("data") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => d.to_string(),
        }),
        _ => None,
    }
}

fn block_to_part(b: Block, i: usize, k: usize) -> Result<ContentPart, TranslateError> {
    match b.kind.as_str() {
        "text" => Ok(ContentPart::text(b.text.unwrap_or_default())),
        "image_url" => {
            let image = b.image_url.unwrap_or(Value::Null);
            let url = match &image {
                Value::String(u) => u.clone(),
                v => v
                    .get("url")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        TranslateError::Invalid(format!(
                            "messages[{i}].content[{k}]: image_url.url is missing"
                        ))
                    })?,
            };
            let mut part = ContentPart::image(url);
            if let (Some(ImageUrl { detail, .. }), Some(d)) = (
                part.image_url.as_mut(),
                image.get("detail").and_then(Value::as_str),
            ) {
                *detail = Some(d.to_string());
            }
            Ok(part)
        }
        other => Err(TranslateError::Unsupported(format!(
            "messages[{i}].content[{k}]: content block type '{other}'"
        ))),
    }
}

/// Cohere `response_format` -> OpenAI's (a schema makes it a `json_schema` format).
fn response_format_from_cohere(format: &Value) -> Result<Value, TranslateError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({ "type": "text" })),
        Some("json_object") => match format.get("json_schema") {
            Some(schema) if !schema.is_null() => Ok(json!({
                "type": "json_schema",
                "json_schema": { "name": "response", "schema": schema }
            })),
            _ => Ok(json!({ "type": "json_object" })),
        },
        _ => Err(TranslateError::Unsupported(format!(
            "response_format {format}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: &str = include_str!("../../../tests/fixtures/cohere/openai_request.json");
    const EXPECTED: &str =
        include_str!("../../../tests/fixtures/cohere/openai_request_as_cohere.json");

    fn translate(body: &Value) -> Result<Value, TranslateError> {
        let bytes = serde_json::to_vec(body).expect("json");
        let req = ChatRequest::from_slice(&bytes)?;
        let out = request_to_cohere(&req, "command-a-03-2025")?;
        Ok(serde_json::from_slice(&out).expect("json"))
    }

    #[test]
    fn fixture_translates_every_role_and_parameter() {
        let body: Value = serde_json::from_str(OPENAI).expect("fixture");
        let expected: Value = serde_json::from_str(EXPECTED).expect("fixture");
        assert_eq!(translate(&body).expect("translates"), expected);
    }

    #[test]
    fn tool_choice_modes_and_named() {
        let base = json!({
            "model": "cohere/command-a",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
                {"type": "function", "function": {"name": "b"}}
            ]
        });
        let with = |choice: Value| {
            let mut b = base.clone();
            b["tool_choice"] = choice;
            translate(&b)
        };
        assert_eq!(with(json!("none")).expect("ok")["tool_choice"], "NONE");
        assert_eq!(
            with(json!("required")).expect("ok")["tool_choice"],
            "REQUIRED"
        );
        let auto = with(json!("auto")).expect("ok");
        assert!(auto.get("tool_choice").is_none());
        assert_eq!(auto["tools"].as_array().map(Vec::len), Some(2));
        let named = with(json!({"type": "function", "function": {"name": "b"}})).expect("ok");
        assert_eq!(named["tool_choice"], "REQUIRED");
        assert_eq!(
            named["tools"],
            json!([{"type": "function", "function": {"name": "b"}}])
        );
        let missing = with(json!({"type": "function", "function": {"name": "zz"}}));
        assert!(matches!(missing, Err(TranslateError::Invalid(_))));
    }

    #[test]
    fn refusals() {
        let n = json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]});
        assert!(matches!(translate(&n), Err(TranslateError::Unsupported(_))));
        let audio = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}]}]});
        let err = translate(&audio).expect_err("audio");
        assert!(err.to_string().contains("messages[0].content[0]"), "{err}");
        let orphan = json!({"model": "m", "messages": [{"role": "tool", "content": "42"}]});
        assert!(matches!(
            translate(&orphan),
            Err(TranslateError::Invalid(_))
        ));
        let schema =
            json!({"model": "m", "messages": [], "response_format": {"type": "json_schema"}});
        assert!(translate(&schema).is_err());
    }

    #[test]
    fn json_modes_and_stream_flag() {
        let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"}, "max_tokens": 5});
        let out = translate(&body).expect("ok");
        assert_eq!(out["stream"], true);
        assert_eq!(out["response_format"], json!({"type": "json_object"}));
        assert_eq!(out["max_tokens"], 5);
        assert!(out.get("stream_options").is_none(), "{out}");
    }

    const COHERE: &str = include_str!("../../../tests/fixtures/cohere/cohere_request.json");
    const COHERE_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/cohere/cohere_request_as_openai.json");

    #[test]
    fn cohere_request_fixture_decodes_into_the_hub() {
        let req = request_from_cohere(COHERE.as_bytes()).expect("decodes");
        let got: Value = serde_json::from_slice(&req.to_vec()).expect("json");
        let expected: Value = serde_json::from_str(COHERE_AS_OPENAI).expect("fixture");
        assert_eq!(got, expected);
    }

    #[test]
    fn cohere_round_trip_through_the_hub() {
        // Cohere -> hub -> Cohere keeps what both sides model.
        let req = request_from_cohere(COHERE.as_bytes()).expect("decodes");
        let back = to_chat_request(&req, "command-a-03-2025").expect("encodes");
        assert_eq!(back.messages.len(), 5);
        assert_eq!(back.tool_choice.as_deref(), Some("REQUIRED"));
        assert_eq!(back.p, Some(0.75));
        assert_eq!(back.k, Some(20));
        assert_eq!(back.stop_sequences, Some(vec!["STOP".to_string()]));
        assert_eq!(
            back.response_format,
            Some(json!({"type": "json_object", "json_schema": {"type": "object"}}))
        );
    }

    #[test]
    fn cohere_request_refusals() {
        let docs = br#"{"model":"m","messages":[],"documents":[{"data":{"t":"x"}}]}"#;
        assert!(matches!(
            request_from_cohere(docs),
            Err(TranslateError::Unsupported(_))
        ));
        let role = br#"{"model":"m","messages":[{"role":"chatbot","content":"x"}]}"#;
        let err = request_from_cohere(role).expect_err("role");
        assert!(err.to_string().contains("messages[0].role"), "{err}");
        let choice = br#"{"model":"m","messages":[],"tool_choice":"ANY"}"#;
        assert!(request_from_cohere(choice).is_err());
        let orphan = br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#;
        assert!(request_from_cohere(orphan).is_err());
        let doc_block = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"document","document":{"data":"x"}}]}]}"#;
        assert!(matches!(
            request_from_cohere(doc_block),
            Err(TranslateError::Unsupported(_))
        ));
    }
}
