//! Chat requests from Gemini clients: a `generateContent` body -> unified (OpenAI) chat request.

use serde_json::{Map, Value, json};

use super::wire::{FunctionCallingConfig, GenerateContentRequest, GenerationConfig, Part};
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ContentPart, FunctionCall as UnifiedCall, FunctionDef,
    FunctionName, MessageContent, NamedToolChoice, Role, Stop, StreamOptions, ToolCall, ToolChoice,
    TranslateError,
};

/// Decodes a Gemini `generateContent` body into a unified chat request; `stream` comes from
/// the route (`:streamGenerateContent`), as Gemini bodies do not say.
pub fn request_from_gemini(body: &[u8], stream: bool) -> Result<ChatRequest, TranslateError> {
    from_generate_request(unified::decode(body)?, stream)
}

/// Converts a Gemini `generateContent` request into a unified chat request.
///
/// Calls without an id get one (the function name, suffixed when a turn calls the same function
/// twice); function responses are matched to the previous turn's calls by id, else by name in
/// order, so OpenAI-family providers see every result answer its call.
pub fn from_generate_request(
    req: GenerateContentRequest,
    stream: bool,
) -> Result<ChatRequest, TranslateError> {
    let mut messages = Vec::with_capacity(req.contents.len() + 1);
    if let Some(system) = req.system_instruction {
        let text = joined_text(&system.parts, "\n");
        if !text.is_empty() {
            messages.push(ChatMessage::text(Role::System, text));
        }
    }
    // Calls of the last model turn not answered yet: (id, name).
    let mut pending: Vec<(String, String)> = Vec::new();
    for (i, content) in req.contents.into_iter().enumerate() {
        match content.role.as_deref().unwrap_or("user") {
            "user" => user_from_gemini(content.parts, i, &mut pending, &mut messages)?,
            "model" | "assistant" => {
                messages.push(model_from_gemini(content.parts, &mut pending));
            }
            other => {
                return Err(TranslateError::Invalid(format!(
                    "contents[{i}].role: unexpected role '{other}' (user or model)"
                )));
            }
        }
    }

    let mut out = ChatRequest {
        messages,
        stream: stream.then_some(true),
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Map::new(),
        }),
        ..ChatRequest::default()
    };
    if let Some(gc) = req.generation_config {
        apply_generation_config(gc, &mut out)?;
    }
    let mut tools = Vec::new();
    for (t, tool) in req.tools.into_iter().flatten().enumerate() {
        if let Some(kind) = tool.extra.keys().next() {
            return Err(TranslateError::Unsupported(format!(
                "tools[{t}]: Gemini built-in tool '{kind}'"
            )));
        }
        for decl in tool.function_declarations.into_iter().flatten() {
            let parameters = decl
                .parameters_json_schema
                .or_else(|| decl.parameters.map(schema_to_json_schema));
            tools.push(unified::Tool {
                kind: "function".into(),
                function: Some(FunctionDef {
                    name: decl.name,
                    description: decl.description,
                    parameters,
                    strict: None,
                    extra: Map::new(),
                }),
                extra: Map::new(),
            });
        }
    }
    if !tools.is_empty() {
        out.tool_choice = req
            .tool_config
            .and_then(|c| c.function_calling_config)
            .map(tool_choice_of)
            .transpose()?;
        out.tools = Some(tools);
    }
    Ok(out)
}

/// The text of non-thought text parts, joined with `sep`.
fn joined_text(parts: &[Part], sep: &str) -> String {
    let texts: Vec<&str> = parts
        .iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text.as_deref())
        .collect();
    texts.join(sep)
}

/// A user turn: function responses first (each a `tool` message, as OpenAI wants them right
/// after the calls), then the rest as one user message.
fn user_from_gemini(
    parts: Vec<Part>,
    i: usize,
    pending: &mut Vec<(String, String)>,
    out: &mut Vec<ChatMessage>,
) -> Result<(), TranslateError> {
    let mut content = Vec::new();
    for (k, part) in parts.into_iter().enumerate() {
        if let Some(fr) = part.function_response {
            let by_id = fr
                .id
                .as_deref()
                .and_then(|id| pending.iter().position(|(p, _)| p == id));
            let slot = by_id.or_else(|| pending.iter().position(|(_, n)| *n == fr.name));
            let id = match slot {
                Some(s) => pending.remove(s).0,
                None => fr.id.clone().unwrap_or_else(|| fr.name.clone()),
            };
            out.push(ChatMessage {
                tool_call_id: Some(id),
                ..ChatMessage::text(Role::Tool, response_text(&fr.response))
            });
            continue;
        }
        if let Some(p) = part_from_gemini(part, i, k)? {
            content.push(p);
        }
    }
    if content.is_empty() {
        return Ok(());
    }
    let message = if content.len() == 1 && content[0].kind == "text" {
        ChatMessage::text(
            Role::User,
            content.pop().and_then(|p| p.text).unwrap_or_default(),
        )
    } else {
        ChatMessage {
            content: Some(MessageContent::Parts(content)),
            ..ChatMessage::text(Role::User, "")
        }
    };
    out.push(message);
    Ok(())
}

/// A function result as tool message text: a lone `content`/`output`/`result` string as is,
/// any other object as JSON.
fn response_text(response: &Value) -> String {
    if let Some(obj) = response.as_object()
        && obj.len() == 1
        && let Some(Value::String(s)) = ["content", "output", "result"]
            .iter()
            .find_map(|k| obj.get(*k))
    {
        return s.clone();
    }
    match response {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn part_from_gemini(part: Part, i: usize, k: usize) -> Result<Option<ContentPart>, TranslateError> {
    if part.thought == Some(true) {
        return Ok(None);
    }
    if let Some(t) = part.text {
        return Ok((!t.is_empty()).then(|| ContentPart::text(t)));
    }
    if let Some(blob) = part.inline_data {
        let mime = blob.mime_type.to_ascii_lowercase();
        let url = format!("data:{};base64,{}", blob.mime_type, blob.data);
        if mime.starts_with("image/") {
            return Ok(Some(ContentPart::image(url)));
        }
        return Ok(Some(match mime.strip_prefix("audio/") {
            Some(format) => typed_part("input_audio", json!({"data": blob.data, "format": format})),
            None => typed_part("file", json!({"file_data": url})),
        }));
    }
    if let Some(file) = part.file_data {
        let mime = file.mime_type.as_deref().unwrap_or("").to_ascii_lowercase();
        let is_url = file.file_uri.starts_with("http://") || file.file_uri.starts_with("https://");
        if mime.starts_with("image/") && is_url {
            return Ok(Some(ContentPart::image(file.file_uri)));
        }
        return Ok(Some(typed_part("file", json!({"file_id": file.file_uri}))));
    }
    if part.function_call.is_some() {
        return Err(TranslateError::Invalid(format!(
            "contents[{i}].parts[{k}]: functionCall in a user turn"
        )));
    }
    match part.extra.keys().next() {
        Some(kind) => Err(TranslateError::Unsupported(format!(
            "contents[{i}].parts[{k}]: part type '{kind}'"
        ))),
        None => Ok(None),
    }
}

/// A content part of type `kind` whose payload sits under the member of the same name.
fn typed_part(kind: &str, payload: Value) -> ContentPart {
    let mut extra = Map::new();
    extra.insert(kind.to_string(), payload);
    ContentPart {
        kind: kind.to_string(),
        text: None,
        image_url: None,
        extra,
    }
}

fn model_from_gemini(parts: Vec<Part>, pending: &mut Vec<(String, String)>) -> ChatMessage {
    let text = joined_text(&parts, "");
    let names: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.function_call.as_ref().map(|c| c.name.as_str()))
        .collect();
    pending.clear();
    let mut calls = Vec::new();
    for (j, call) in parts
        .iter()
        .filter_map(|p| p.function_call.as_ref())
        .enumerate()
    {
        let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None if names.iter().filter(|n| **n == call.name).count() > 1 => {
                format!("{}_{j}", call.name)
            }
            None => call.name.clone(),
        };
        pending.push((id.clone(), call.name.clone()));
        calls.push(ToolCall {
            id,
            kind: "function".into(),
            function: UnifiedCall {
                name: call.name.clone(),
                arguments: call
                    .args
                    .as_ref()
                    .map_or_else(|| "{}".to_string(), Value::to_string),
            },
            extra: Map::new(),
        });
    }
    ChatMessage {
        content: (!text.is_empty() || calls.is_empty()).then_some(MessageContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..ChatMessage::text(Role::Assistant, "")
    }
}

fn apply_generation_config(
    gc: GenerationConfig,
    out: &mut ChatRequest,
) -> Result<(), TranslateError> {
    out.temperature = gc.temperature;
    out.top_p = gc.top_p;
    out.max_completion_tokens = gc.max_output_tokens;
    out.stop = gc.stop_sequences.filter(|s| !s.is_empty()).map(Stop::Many);
    out.n = gc.candidate_count;
    out.seed = gc.seed;
    out.presence_penalty = gc.presence_penalty;
    out.frequency_penalty = gc.frequency_penalty;
    out.logprobs = gc.response_logprobs;
    out.top_logprobs = gc.logprobs;
    if let Some(k) = gc.top_k {
        out.extra.insert("top_k".into(), json!(k as u64));
    }
    if gc.response_mime_type.as_deref() == Some("application/json") {
        let schema = gc
            .response_json_schema
            .or_else(|| gc.response_schema.map(schema_to_json_schema));
        out.response_format = Some(match schema {
            Some(schema) => json!({"type": "json_schema",
                "json_schema": {"name": "response", "schema": schema}}),
            None => json!({"type": "json_object"}),
        });
    }
    if let Some(tc) = gc.thinking_config {
        out.reasoning_effort = match (tc.thinking_level, tc.thinking_budget) {
            (Some(level), _) => Some(level.to_ascii_lowercase()),
            (None, Some(0)) => Some("none".into()),
            (None, Some(b)) if (1..=1024).contains(&b) => Some("low".into()),
            (None, Some(b)) if (1025..=8192).contains(&b) => Some("medium".into()),
            (None, Some(b)) if b > 8192 => Some("high".into()),
            // Dynamic (-1) or thoughts without a budget: the provider's default.
            _ => None,
        };
    }
    Ok(())
}

fn tool_choice_of(fc: FunctionCallingConfig) -> Result<ToolChoice, TranslateError> {
    let names = fc.allowed_function_names.unwrap_or_default();
    Ok(match fc.mode.as_deref().unwrap_or("AUTO") {
        "AUTO" | "VALIDATED" | "MODE_UNSPECIFIED" => ToolChoice::Mode("auto".into()),
        "NONE" => ToolChoice::Mode("none".into()),
        "ANY" if names.len() == 1 => ToolChoice::Named(NamedToolChoice {
            kind: "function".into(),
            function: FunctionName {
                name: names[0].clone(),
            },
        }),
        "ANY" => ToolChoice::Mode("required".into()),
        other => {
            return Err(TranslateError::Invalid(format!(
                "toolConfig.functionCallingConfig.mode: unknown value '{other}'"
            )));
        }
    })
}

/// A Gemini (OpenAPI-subset) schema as JSON Schema: types in lower case, everything else as is.
pub(super) fn schema_to_json_schema(schema: Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("type", Value::String(t)) => Value::String(t.to_ascii_lowercase()),
                        // Literal values are data, not schemas.
                        ("enum" | "default" | "example" | "const", v) => v,
                        (_, v) => schema_to_json_schema(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(schema_to_json_schema).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEMINI_REQUEST: &str = include_str!("../../../tests/fixtures/gemini/gemini_request.json");
    const GEMINI_REQUEST_AS_OPENAI: &str =
        include_str!("../../../tests/fixtures/gemini/gemini_request_as_openai.json");

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn gemini_request_to_openai_matches_fixture() {
        let req = request_from_gemini(GEMINI_REQUEST.as_bytes(), false).expect("decodes");
        let expected: Value = serde_json::from_str(GEMINI_REQUEST_AS_OPENAI).expect("fixture");
        assert_eq!(json_of(&req.to_vec()), expected);
    }

    #[test]
    fn streaming_flag_comes_from_the_route() {
        let body = br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
        let req = request_from_gemini(body, true).expect("ok");
        assert!(req.is_stream() && req.include_usage());
        assert_eq!(req.messages[0].role, Role::User);
        let req = request_from_gemini(body, false).expect("ok");
        assert!(req.stream.is_none() && req.stream_options.is_none());
    }

    #[test]
    fn gemini_specifics_back_to_openai() {
        let body = json!({
            "contents": [
                {"role": "user", "parts": [{"text": "call twice"}]},
                {"role": "model", "parts": [
                    {"text": "thinking...", "thought": true},
                    {"functionCall": {"name": "f", "args": {"a": 1}}},
                    {"functionCall": {"name": "f", "args": {"a": 2}}}]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "f", "response": {"result": "one"}}},
                    {"functionResponse": {"name": "f", "response": {"x": 2}}}]}
            ],
            "generationConfig": {"responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING",
                "enum": ["X", "Y"]}}}, "topK": 3, "thinkingConfig": {"thinkingBudget": 0}},
            "tools": [{"functionDeclarations": [{"name": "f",
                "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}}]}]
        });
        let req = request_from_gemini(&serde_json::to_vec(&body).expect("j"), false).expect("ok");
        let v = json_of(&req.to_vec());
        let calls = &v["messages"][1]["tool_calls"];
        assert_eq!(calls[0]["id"], "f_0");
        assert_eq!(calls[1]["id"], "f_1");
        assert_eq!(calls[1]["function"]["arguments"], "{\"a\":2}");
        assert!(v["messages"][1].get("content").is_none(), "{v}");
        assert_eq!(
            v["messages"][2],
            json!({"role": "tool", "content": "one", "tool_call_id": "f_0"})
        );
        assert_eq!(v["messages"][3]["tool_call_id"], "f_1");
        assert_eq!(v["messages"][3]["content"], "{\"x\":2}");
        assert_eq!(
            v["response_format"]["json_schema"]["schema"],
            json!({"type": "object", "properties": {"a": {"type": "string", "enum": ["X", "Y"]}}})
        );
        assert_eq!(
            v["tools"][0]["function"]["parameters"]["properties"]["a"]["type"],
            "integer"
        );
        assert_eq!(v["top_k"], 3);
        assert_eq!(v["reasoning_effort"], "none");
        // Built-in tools and unknown roles cannot be expressed.
        let search = br#"{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}"#;
        assert!(matches!(
            request_from_gemini(search, false),
            Err(TranslateError::Unsupported(_))
        ));
        let role = br#"{"contents":[{"role":"system","parts":[{"text":"x"}]}]}"#;
        assert!(request_from_gemini(role, false).is_err());
        assert!(request_from_gemini(b"\"x\"", false).is_err());
    }
}
