//! Chat requests: unified (OpenAI) -> Anthropic Messages, and back.

use serde_json::{Map, Value};

use super::DEFAULT_MAX_TOKENS;
use super::wire::{self, Block, Content, ImageSource, Message, MessagesRequest, System};
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDef, FunctionName,
    MessageContent, NamedToolChoice, Role, Stop, StreamOptions, ToolCall, ToolChoice,
    TranslateError,
};

/// Encodes `req` as an Anthropic Messages body for `model` (the bare upstream model name).
pub fn request_to_anthropic(req: &ChatRequest, model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&to_messages_request(req, model)?))
}

/// Converts a unified chat request into an Anthropic Messages request.
///
/// System and developer messages become `system`; tool results become `tool_result` blocks of a
/// user turn; consecutive turns of the same role are merged, as Anthropic requires alternation.
pub fn to_messages_request(
    req: &ChatRequest,
    model: &str,
) -> Result<MessagesRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported(
            "n > 1 (Anthropic returns one answer per request)".into(),
        ));
    }
    let mut system: Vec<wire::TextBlock> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Block>)> = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        let (role, blocks) = match msg.role {
            Role::System | Role::Developer => {
                system_blocks(msg, &mut system);
                continue;
            }
            Role::User => ("user", user_blocks(msg, i)?),
            Role::Assistant => ("assistant", assistant_blocks(msg, i)?),
            Role::Tool | Role::Function => ("user", vec![tool_result_block(msg, i)?]),
        };
        match turns.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, blocks)| Message {
            role: role.to_string(),
            content: compact(blocks),
        })
        .collect();

    let mut out = MessagesRequest {
        model: model.to_string(),
        messages,
        max_tokens: Some(req.output_limit().unwrap_or(DEFAULT_MAX_TOKENS)),
        system: match system.len() {
            0 => None,
            1 if system[0].cache_control.is_none() => system.pop().map(|b| System::Text(b.text)),
            _ => Some(System::Blocks(system)),
        },
        ..MessagesRequest::default()
    };
    // Recent Claude models reject temperature and top_p together; temperature wins (as Bifrost).
    out.temperature = req.temperature;
    if out.temperature.is_none() {
        out.top_p = req.top_p;
    }
    out.top_k = req.extra.get("top_k").and_then(Value::as_u64);
    out.thinking = req.extra.get("thinking").cloned();
    out.stop_sequences = req
        .stop
        .as_ref()
        .map(Stop::to_vec)
        .filter(|s| !s.is_empty());
    if req.is_stream() {
        out.stream = Some(true);
    }
    out.metadata = req.user.as_ref().map(|u| wire::Metadata {
        user_id: Some(u.clone()),
    });
    if let Some(tools) = &req.tools {
        out.tools = Some(tools.iter().map(tool_to_anthropic).collect());
    }
    out.tool_choice = tool_choice_to_anthropic(req)?;
    Ok(out)
}

fn system_blocks(msg: &ChatMessage, out: &mut Vec<wire::TextBlock>) {
    let block = |text: &str, cache_control: Option<Value>| wire::TextBlock {
        kind: "text".into(),
        text: text.to_string(),
        cache_control,
    };
    match &msg.content {
        Some(MessageContent::Text(t)) if !t.is_empty() => out.push(block(t, None)),
        Some(MessageContent::Parts(parts)) => {
            for p in parts {
                if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
                    out.push(block(t, p.extra.get("cache_control").cloned()));
                }
            }
        }
        _ => {}
    }
}

fn user_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<Block>, TranslateError> {
    match &msg.content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(t)) => Ok(vec![Block::text(t.clone())]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(k, p)| part_to_block(p, i, k))
            .collect(),
    }
}

fn part_to_block(part: &ContentPart, i: usize, k: usize) -> Result<Block, TranslateError> {
    let cache_control = part.extra.get("cache_control").cloned();
    match part.kind.as_str() {
        "text" => Ok(Block::Text {
            text: part.text.clone().unwrap_or_default(),
            cache_control,
        }),
        "image_url" => {
            let url = part
                .image_url
                .as_ref()
                .map(|u| u.url.as_str())
                .ok_or_else(|| {
                    TranslateError::Invalid(format!(
                        "messages[{i}].content[{k}]: image_url is missing"
                    ))
                })?;
            Ok(Block::Image {
                source: image_source(url).ok_or_else(|| {
                    TranslateError::Unsupported(format!(
                        "messages[{i}].content[{k}]: image URLs must be http(s) or base64 data URLs"
                    ))
                })?,
                cache_control,
            })
        }
        other => Err(TranslateError::Unsupported(format!(
            "messages[{i}].content[{k}]: content part type '{other}'"
        ))),
    }
}

/// An Anthropic image source from an http(s) URL or a `data:<type>;base64,<data>` URL.
fn image_source(url: &str) -> Option<ImageSource> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',')?;
        let media_type = meta.strip_suffix(";base64")?;
        return Some(ImageSource {
            kind: "base64".into(),
            media_type: Some(media_type.to_string()),
            data: Some(data.to_string()),
            url: None,
            extra: Map::new(),
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Some(ImageSource {
            kind: "url".into(),
            media_type: None,
            data: None,
            url: Some(url.to_string()),
            extra: Map::new(),
        });
    }
    None
}

fn assistant_blocks(msg: &ChatMessage, i: usize) -> Result<Vec<Block>, TranslateError> {
    let mut blocks = Vec::new();
    match &msg.content {
        // Anthropic rejects empty text blocks; an empty content next to tool calls is common.
        Some(MessageContent::Text(t)) if !t.is_empty() => blocks.push(Block::text(t.clone())),
        Some(MessageContent::Parts(parts)) => {
            for p in parts {
                if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(Block::Text {
                        text: t.to_string(),
                        cache_control: p.extra.get("cache_control").cloned(),
                    });
                }
            }
        }
        _ => {}
    }
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        blocks.push(Block::ToolUse {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input: tool_input(&call.function.arguments).ok_or_else(|| {
                TranslateError::Invalid(format!(
                    "messages[{i}].tool_calls[{k}].function.arguments is not a JSON object"
                ))
            })?,
            cache_control: None,
        });
    }
    Ok(blocks)
}

/// Tool-call arguments as the JSON object Anthropic wants (empty arguments mean `{}`).
pub(super) fn tool_input(arguments: &str) -> Option<Value> {
    if arguments.trim().is_empty() {
        return Some(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

fn tool_result_block(msg: &ChatMessage, i: usize) -> Result<Block, TranslateError> {
    let tool_use_id = msg.tool_call_id.clone().ok_or_else(|| {
        TranslateError::Invalid(format!("messages[{i}]: tool message without tool_call_id"))
    })?;
    let content = match &msg.content {
        None => None,
        Some(MessageContent::Text(t)) => Some(Content::Text(t.clone())),
        Some(MessageContent::Parts(parts)) => Some(Content::Blocks(
            parts
                .iter()
                .enumerate()
                .map(|(k, p)| part_to_block(p, i, k))
                .collect::<Result<_, _>>()?,
        )),
    };
    Ok(Block::ToolResult {
        tool_use_id,
        content,
        is_error: None,
        cache_control: None,
    })
}

/// A turn made of one plain text block is sent as a string, as most clients write it.
fn compact(mut blocks: Vec<Block>) -> Content {
    if blocks.len() == 1
        && let Some(Block::Text {
            cache_control: None,
            ..
        }) = blocks.first()
        && let Some(Block::Text { text, .. }) = blocks.pop()
    {
        return Content::Text(text);
    }
    Content::Blocks(blocks)
}

fn tool_to_anthropic(tool: &unified::Tool) -> wire::Tool {
    match &tool.function {
        Some(f) if tool.kind == "function" => wire::Tool {
            name: f.name.clone(),
            description: f.description.clone(),
            input_schema: Some(
                f.parameters
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            ),
            kind: None,
            cache_control: tool.extra.get("cache_control").cloned(),
            extra: Map::new(),
        },
        // Anthropic server tools written in OpenAI's tool list (`{"type": "web_search_...",
        // "name": ...}`) pass through as they are.
        _ => {
            let mut extra = tool.extra.clone();
            let name = match extra.remove("name") {
                Some(Value::String(n)) => n,
                _ => String::new(),
            };
            wire::Tool {
                name,
                description: None,
                input_schema: None,
                kind: Some(tool.kind.clone()),
                cache_control: extra.remove("cache_control"),
                extra,
            }
        }
    }
}

fn tool_choice_to_anthropic(req: &ChatRequest) -> Result<Option<wire::ToolChoice>, TranslateError> {
    let choice = |kind: &str, name: Option<String>| wire::ToolChoice {
        kind: kind.to_string(),
        name,
        disable_parallel_tool_use: None,
    };
    let mut out = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(m)) => match m.as_str() {
            "auto" => Some(choice("auto", None)),
            "required" => Some(choice("any", None)),
            "none" => Some(choice("none", None)),
            other => {
                return Err(TranslateError::Invalid(format!(
                    "tool_choice: unknown mode '{other}'"
                )));
            }
        },
        Some(ToolChoice::Named(n)) => Some(choice("tool", Some(n.function.name.clone()))),
    };
    if req.parallel_tool_calls == Some(false) && req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        let c = out.get_or_insert_with(|| choice("auto", None));
        if c.kind != "none" {
            c.disable_parallel_tool_use = Some(true);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Anthropic -> unified

/// Decodes an Anthropic Messages body into a unified chat request.
///
/// The result keeps the client's `model` string; a streamed request asks for a usage chunk
/// (`stream_options.include_usage`) so that the Anthropic `message_delta` can carry usage.
pub fn request_from_anthropic(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    from_messages_request(unified::decode(body)?)
}

/// Converts an Anthropic Messages request into a unified chat request.
pub fn from_messages_request(req: MessagesRequest) -> Result<ChatRequest, TranslateError> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    match req.system {
        Some(System::Text(t)) if !t.is_empty() => {
            messages.push(ChatMessage::text(Role::System, t));
        }
        Some(System::Blocks(blocks)) if !blocks.is_empty() => {
            let text: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
            messages.push(ChatMessage::text(Role::System, text.join("\n")));
        }
        _ => {}
    }
    for (i, m) in req.messages.into_iter().enumerate() {
        match m.role.as_str() {
            "user" => user_from_anthropic(m.content, &mut messages),
            "assistant" => messages.push(assistant_from_anthropic(m.content)),
            other => {
                return Err(TranslateError::Invalid(format!(
                    "messages[{i}].role: unexpected role '{other}' (user or assistant)"
                )));
            }
        }
    }
    let has_tools = req.tools.as_ref().is_some_and(|t| !t.is_empty());
    let tools = req
        .tools
        .map(|tools| tools.into_iter().map(tool_from_anthropic).collect())
        .transpose()?;
    let (tool_choice, parallel_tool_calls) = match req.tool_choice {
        None => (None, None),
        Some(c) => {
            let parallel = c
                .disable_parallel_tool_use
                .filter(|d| *d && has_tools)
                .map(|_| false);
            let choice = match c.kind.as_str() {
                "auto" => ToolChoice::Mode("auto".into()),
                "any" => ToolChoice::Mode("required".into()),
                "none" => ToolChoice::Mode("none".into()),
                "tool" => ToolChoice::Named(NamedToolChoice {
                    kind: "function".into(),
                    function: FunctionName {
                        name: c.name.unwrap_or_default(),
                    },
                }),
                other => {
                    return Err(TranslateError::Invalid(format!(
                        "tool_choice.type: unknown value '{other}'"
                    )));
                }
            };
            (Some(choice), parallel)
        }
    };
    let stream = req.stream == Some(true);
    Ok(ChatRequest {
        model: req.model,
        messages,
        max_completion_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop_sequences.filter(|s| !s.is_empty()).map(Stop::Many),
        stream: stream.then_some(true),
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Map::new(),
        }),
        user: req.metadata.and_then(|m| m.user_id),
        tools,
        tool_choice,
        parallel_tool_calls,
        ..ChatRequest::default()
    })
}

/// A user turn: tool results first (each its own `tool` message, as OpenAI wants them right
/// after the assistant's calls), then the rest as one user message.
fn user_from_anthropic(content: Content, out: &mut Vec<ChatMessage>) {
    let blocks = match content {
        Content::Text(t) => {
            out.push(ChatMessage::text(Role::User, t));
            return;
        }
        Content::Blocks(b) => b,
    };
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            Block::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                let text = match content {
                    None => String::new(),
                    Some(Content::Text(t)) => t,
                    Some(Content::Blocks(bs)) => blocks_text(&bs, "\n"),
                };
                out.push(ChatMessage {
                    tool_call_id: Some(tool_use_id),
                    ..ChatMessage::text(Role::Tool, text)
                });
            }
            other => {
                if let Some(p) = block_to_part(other) {
                    parts.push(p);
                }
            }
        }
    }
    if parts.is_empty() {
        return;
    }
    let content = if parts.len() == 1 && parts[0].kind == "text" && parts[0].extra.is_empty() {
        MessageContent::Text(parts.pop().and_then(|p| p.text).unwrap_or_default())
    } else {
        MessageContent::Parts(parts)
    };
    out.push(ChatMessage {
        content: Some(content),
        ..ChatMessage::text(Role::User, "")
    });
}

fn block_to_part(block: Block) -> Option<ContentPart> {
    match block {
        Block::Text {
            text,
            cache_control,
        } => {
            let mut p = ContentPart::text(text);
            if let Some(cc) = cache_control {
                p.extra.insert("cache_control".into(), cc);
            }
            Some(p)
        }
        Block::Image { source, .. } => image_url_of(&source).map(ContentPart::image),
        _ => None,
    }
}

fn image_url_of(source: &ImageSource) -> Option<String> {
    match source.kind.as_str() {
        "base64" => Some(format!(
            "data:{};base64,{}",
            source.media_type.as_deref().unwrap_or("image/png"),
            source.data.as_deref().unwrap_or("")
        )),
        "url" => source.url.clone(),
        _ => None,
    }
}

fn blocks_text(blocks: &[Block], sep: &str) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join(sep)
}

fn assistant_from_anthropic(content: Content) -> ChatMessage {
    let blocks = match content {
        Content::Text(t) => return ChatMessage::text(Role::Assistant, t),
        Content::Blocks(b) => b,
    };
    let text = blocks_text(&blocks, "");
    let calls: Vec<ToolCall> = blocks
        .into_iter()
        .filter_map(|b| match b {
            Block::ToolUse {
                id, name, input, ..
            } => Some(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
                extra: Map::new(),
            }),
            _ => None,
        })
        .collect();
    ChatMessage {
        content: (!text.is_empty() || calls.is_empty()).then_some(MessageContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..ChatMessage::text(Role::Assistant, "")
    }
}

fn tool_from_anthropic(tool: wire::Tool) -> Result<unified::Tool, TranslateError> {
    if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
        return Err(TranslateError::Unsupported(format!(
            "Anthropic server tool '{kind}' ({})",
            tool.name
        )));
    }
    Ok(unified::Tool {
        kind: "function".into(),
        function: Some(FunctionDef {
            name: tool.name,
            description: tool.description,
            parameters: tool.input_schema,
            strict: None,
            extra: Map::new(),
        }),
        extra: Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> &'static str {
        match name {
            "openai_request" => {
                include_str!("../../../tests/fixtures/anthropic/openai_request.json")
            }
            "openai_request_as_anthropic" => {
                include_str!("../../../tests/fixtures/anthropic/openai_request_as_anthropic.json")
            }
            "anthropic_request" => {
                include_str!("../../../tests/fixtures/anthropic/anthropic_request.json")
            }
            "anthropic_request_as_openai" => {
                include_str!("../../../tests/fixtures/anthropic/anthropic_request_as_openai.json")
            }
            _ => panic!("no fixture {name}"),
        }
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn openai_request_to_anthropic_matches_fixture() {
        let req = ChatRequest::from_slice(fixture("openai_request").as_bytes()).expect("decodes");
        let out = request_to_anthropic(&req, "claude-sonnet-4-5").expect("translates");
        let expected: Value =
            serde_json::from_str(fixture("openai_request_as_anthropic")).expect("fixture");
        assert_eq!(json_of(&out), expected);
    }

    #[test]
    fn anthropic_request_to_openai_matches_fixture() {
        let req = request_from_anthropic(fixture("anthropic_request").as_bytes()).expect("ok");
        let expected: Value =
            serde_json::from_str(fixture("anthropic_request_as_openai")).expect("fixture");
        assert_eq!(json_of(&req.to_vec()), expected);
    }

    #[test]
    fn max_tokens_default_and_spellings() {
        let mut req = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        )
        .expect("req");
        let out = to_messages_request(&req, "claude").expect("ok");
        assert_eq!(out.max_tokens, Some(4096));
        assert_eq!(out.stream, None);
        assert!(out.system.is_none() && out.tools.is_none() && out.tool_choice.is_none());
        req.max_tokens = Some(100);
        assert_eq!(
            to_messages_request(&req, "c").expect("ok").max_tokens,
            Some(100)
        );
        req.max_completion_tokens = Some(200);
        assert_eq!(
            to_messages_request(&req, "c").expect("ok").max_tokens,
            Some(200)
        );
    }

    #[test]
    fn tool_choice_modes_both_ways() {
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]});
        for (openai, anthropic) in [
            (json!("auto"), json!({"type": "auto"})),
            (json!("required"), json!({"type": "any"})),
            (json!("none"), json!({"type": "none"})),
            (
                json!({"type": "function", "function": {"name": "f"}}),
                json!({"type": "tool", "name": "f"}),
            ),
        ] {
            let mut body = base.clone();
            body["tool_choice"] = openai.clone();
            let req =
                ChatRequest::from_slice(&serde_json::to_vec(&body).expect("json")).expect("req");
            let out = json_of(&request_to_anthropic(&req, "c").expect("ok"));
            assert_eq!(out["tool_choice"], anthropic);
            // A tool without parameters still gets the object schema Anthropic requires.
            assert_eq!(out["tools"][0]["input_schema"]["type"], "object");
            let back =
                request_from_anthropic(&serde_json::to_vec(&out).expect("json")).expect("back");
            assert_eq!(json_of(&back.to_vec())["tool_choice"], openai);
        }
        let mut body = base.clone();
        body["tool_choice"] = json!("sometimes");
        let req = ChatRequest::from_slice(&serde_json::to_vec(&body).expect("json")).expect("r");
        assert!(matches!(
            request_to_anthropic(&req, "c"),
            Err(TranslateError::Invalid(_))
        ));
    }

    #[test]
    fn parallel_tool_calls_false_disables_parallel_use() {
        let req = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":false,
                "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#,
        )
        .expect("req");
        let out = json_of(&request_to_anthropic(&req, "c").expect("ok"));
        assert_eq!(
            out["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        let back = request_from_anthropic(&serde_json::to_vec(&out).expect("json")).expect("b");
        assert_eq!(back.parallel_tool_calls, Some(false));
    }

    #[test]
    fn rejects_what_anthropic_cannot_express() {
        let bad_args = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"assistant","tool_calls":[
                {"id":"c","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}"#,
        )
        .expect("req");
        let err = request_to_anthropic(&bad_args, "c").expect_err("arguments must be an object");
        assert!(
            err.to_string().contains("messages[0].tool_calls[0]"),
            "{err}"
        );

        let n2 = ChatRequest::from_slice(br#"{"model":"m","messages":[],"n":2}"#).expect("req");
        assert!(matches!(
            request_to_anthropic(&n2, "c"),
            Err(TranslateError::Unsupported(_))
        ));

        let audio = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":[
                {"type":"input_audio","input_audio":{"data":"AA","format":"wav"}}]}]}"#,
        )
        .expect("req");
        let err = request_to_anthropic(&audio, "c").expect_err("audio");
        assert!(err.to_string().contains("input_audio"), "{err}");

        let file_url = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":[
                {"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}"#,
        )
        .expect("req");
        assert!(request_to_anthropic(&file_url, "c").is_err());

        let orphan =
            ChatRequest::from_slice(br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#)
                .expect("req");
        assert!(request_to_anthropic(&orphan, "c").is_err());

        let server_tool =
            br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}"#;
        assert!(matches!(
            request_from_anthropic(server_tool),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(
            request_from_anthropic(
                br#"{"model":"m","messages":[{"role":"system","content":"x"}]}"#
            )
            .is_err()
        );
        assert!(request_from_anthropic(b"[1]").is_err());
    }

    #[test]
    fn server_tools_pass_through_to_anthropic() {
        let req = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],
                "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}"#,
        )
        .expect("req");
        let out = json_of(&request_to_anthropic(&req, "c").expect("ok"));
        assert_eq!(
            out["tools"][0],
            json!({"name": "web_search", "type": "web_search_20250305", "max_uses": 3})
        );
    }

    #[test]
    fn deep_nesting_is_refused_on_a_worker_sized_stack() {
        // tool_result blocks nest through untagged and tagged enums, the deepest decode path;
        // monoio workers run on 2 MiB stacks.
        let nested = |levels: usize| {
            let open = r#"{"type":"tool_result","tool_use_id":"t","content":["#;
            let body = format!(
                r#"{{"model":"m","max_tokens":1,"messages":[{{"role":"user","content":[{}{}]}}]}}"#,
                open.repeat(levels),
                "]}".repeat(levels)
            );
            body.replace("[]", "\"x\"")
        };
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                // 61 levels are 126 JSON levels: just under serde_json's limit of 128, the worst case.
                let shallow = request_from_anthropic(nested(61).as_bytes());
                let deep = request_from_anthropic(nested(5000).as_bytes());
                (shallow.is_ok(), deep.is_err())
            })
            .expect("thread");
        assert_eq!(worker.join().expect("no stack overflow"), (true, true));
    }

    #[test]
    fn top_p_only_without_temperature() {
        let req = ChatRequest::from_slice(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":0.5,"top_k":7}"#,
        )
        .expect("req");
        let out = to_messages_request(&req, "c").expect("ok");
        assert_eq!(out.top_p, Some(0.5));
        assert_eq!(out.top_k, Some(7));
        assert_eq!(out.temperature, None);
    }
}
