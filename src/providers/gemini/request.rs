//! Chat requests: unified (OpenAI) -> Gemini `generateContent`, and back.

use serde_json::{Map, Value, json};

use super::call_id;
use super::wire::{
    self, Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig, ToolConfig,
};
use crate::providers::unified::{
    self, ChatMessage, ChatRequest, ContentPart, MessageContent, Role, Stop, ToolChoice,
    TranslateError,
};

/// Encodes `req` as a Gemini `generateContent` body for `model` (the bare upstream model name,
/// which only gates model-specific settings: the model itself goes in the URL).
pub fn request_to_gemini(req: &ChatRequest, model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(unified::encode(&to_generate_request(req, model)?))
}

/// Converts a unified chat request into a Gemini `generateContent` request.
///
/// System and developer messages become `systemInstruction`; assistant turns become `model`
/// turns; consecutive tool results become one user turn of `functionResponse` parts, as Gemini
/// wants parallel results together.
pub fn to_generate_request(
    req: &ChatRequest,
    model: &str,
) -> Result<GenerateContentRequest, TranslateError> {
    let mut system: Vec<Part> = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    // Tool call id -> function name, from the assistant turns seen so far.
    let mut call_names: Vec<(String, String)> = Vec::new();
    let mut responses: Vec<Part> = Vec::new();
    let flush = |responses: &mut Vec<Part>, contents: &mut Vec<Content>| {
        if !responses.is_empty() {
            contents.push(turn("user", std::mem::take(responses)));
        }
    };
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            Role::System | Role::Developer => system.extend(text_parts(msg.content.as_ref())),
            Role::Tool | Role::Function => {
                responses.push(function_response_part(msg, i, &call_names)?);
            }
            Role::User => {
                flush(&mut responses, &mut contents);
                let parts = user_parts(msg, i)?;
                if !parts.is_empty() {
                    contents.push(turn("user", parts));
                }
            }
            Role::Assistant => {
                flush(&mut responses, &mut contents);
                let parts = model_parts(msg, &mut call_names);
                if !parts.is_empty() {
                    contents.push(turn("model", parts));
                }
            }
        }
    }
    flush(&mut responses, &mut contents);
    // Gemini needs at least one turn; a lone system prompt is the user's question (as OpenAI
    // treats it).
    if contents.is_empty() && !system.is_empty() {
        contents.push(turn("user", std::mem::take(&mut system)));
    }

    let declarations: Vec<FunctionDeclaration> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.kind == "function")
        .filter_map(|t| t.function.as_ref())
        .map(|f| FunctionDeclaration {
            name: f.name.clone(),
            description: f.description.clone(),
            parameters: None,
            // JSON Schema as is: Gemini's OpenAPI-subset `parameters` rejects common keywords.
            parameters_json_schema: f.parameters.clone(),
        })
        .collect();
    let has_functions = !declarations.is_empty();
    let mut tools = Vec::new();
    if has_functions {
        tools.push(wire::Tool {
            function_declarations: Some(declarations),
            extra: Map::new(),
        });
    }
    if req.extra.contains_key("web_search_options") {
        let mut extra = Map::new();
        extra.insert("googleSearch".into(), json!({}));
        tools.push(wire::Tool {
            function_declarations: None,
            extra,
        });
    }
    // Gemini rejects a function calling config without function declarations.
    let tool_config = if has_functions {
        tool_config_of(req.tool_choice.as_ref())?
    } else {
        None
    };

    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then(|| Content {
            role: None,
            parts: system,
        }),
        generation_config: generation_config(req, model, has_functions),
        tools: (!tools.is_empty()).then_some(tools),
        tool_config,
        safety_settings: req
            .extra
            .get("safety_settings")
            .or_else(|| req.extra.get("safetySettings"))
            .cloned(),
        cached_content: req
            .extra
            .get("cached_content")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn turn(role: &str, parts: Vec<Part>) -> Content {
    Content {
        role: Some(role.to_string()),
        parts,
    }
}

/// The non-empty text of a content as parts (Gemini rejects empty text parts).
fn text_parts(content: Option<&MessageContent>) -> Vec<Part> {
    match content {
        Some(MessageContent::Text(t)) if !t.is_empty() => vec![Part::text(t.clone())],
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .filter_map(|p| p.text.as_deref().filter(|t| !t.is_empty()))
            .map(Part::text)
            .collect(),
        _ => Vec::new(),
    }
}

fn user_parts(msg: &ChatMessage, i: usize) -> Result<Vec<Part>, TranslateError> {
    match &msg.content {
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (k, p) in parts.iter().enumerate() {
                if let Some(part) = part_to_gemini(p, i, k)? {
                    out.push(part);
                }
            }
            Ok(out)
        }
        other => Ok(text_parts(other.as_ref())),
    }
}

fn part_to_gemini(part: &ContentPart, i: usize, k: usize) -> Result<Option<Part>, TranslateError> {
    let at = || format!("messages[{i}].content[{k}]");
    match part.kind.as_str() {
        "text" => Ok(part
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(Part::text)),
        "image_url" => {
            let url = part
                .image_url
                .as_ref()
                .map(|u| u.url.as_str())
                .ok_or_else(|| {
                    TranslateError::Invalid(format!("{}: image_url is missing", at()))
                })?;
            media_part(url, "image/jpeg").map(Some).ok_or_else(|| {
                TranslateError::Unsupported(format!(
                    "{}: image URLs must be http(s) or base64 data URLs",
                    at()
                ))
            })
        }
        "input_audio" => {
            let audio = part.extra.get("input_audio");
            let data = audio.and_then(|a| a.get("data")).and_then(Value::as_str);
            let format = audio
                .and_then(|a| a.get("format"))
                .and_then(Value::as_str)
                .unwrap_or("mpeg");
            let data = data.ok_or_else(|| {
                TranslateError::Invalid(format!("{}: input_audio.data is missing", at()))
            })?;
            let mime_type = if format.contains('/') {
                format.to_string()
            } else {
                format!("audio/{format}")
            };
            Ok(Some(Part {
                inline_data: Some(Blob {
                    mime_type,
                    data: data.to_string(),
                }),
                ..Part::default()
            }))
        }
        "file" => {
            let file = part.extra.get("file");
            let get = |k: &str| file.and_then(|f| f.get(k)).and_then(Value::as_str);
            if let Some(data) = get("file_data") {
                return media_part(data, "application/pdf")
                    .map(Some)
                    .ok_or_else(|| {
                        TranslateError::Unsupported(format!(
                            "{}: file_data must be a base64 data URL",
                            at()
                        ))
                    });
            }
            match get("file_id") {
                Some(id) => Ok(Some(Part {
                    file_data: Some(FileData {
                        mime_type: None,
                        file_uri: id.to_string(),
                    }),
                    ..Part::default()
                })),
                None => Err(TranslateError::Invalid(format!(
                    "{}: file needs file_data or file_id",
                    at()
                ))),
            }
        }
        other => Err(TranslateError::Unsupported(format!(
            "{}: content part type '{other}'",
            at()
        ))),
    }
}

/// Inline data from a `data:<type>;base64,` URL, or a file reference from an http(s) URL.
fn media_part(url: &str, default_mime: &str) -> Option<Part> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',')?;
        let mime_type = meta.strip_suffix(";base64")?;
        return Some(Part {
            inline_data: Some(Blob {
                mime_type: if mime_type.is_empty() {
                    default_mime.to_string()
                } else {
                    mime_type.to_string()
                },
                data: data.to_string(),
            }),
            ..Part::default()
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Some(Part {
            file_data: Some(FileData {
                mime_type: Some(mime_from_url(url).unwrap_or(default_mime).to_string()),
                file_uri: url.to_string(),
            }),
            ..Part::default()
        });
    }
    None
}

/// The MIME type a URL's extension suggests.
fn mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?;
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => return None,
    })
}

/// A model turn: text, then function calls (with their thought signatures restored).
fn model_parts(msg: &ChatMessage, call_names: &mut Vec<(String, String)>) -> Vec<Part> {
    let mut parts = text_parts(msg.content.as_ref());
    for call in msg.tool_calls.iter().flatten() {
        let name = call.function.name.clone();
        let (base, signature) = call_id::split(&call.id);
        let id = if base.is_empty() { name.as_str() } else { base };
        call_names.push((call.id.clone(), name.clone()));
        if base != call.id {
            call_names.push((base.to_string(), name.clone()));
        }
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: Some(id.to_string()).filter(|i| !i.is_empty()),
                name,
                args: Some(call_args(&call.function.arguments)),
            }),
            // Gemini 3 rejects a replayed call without its signature; the dummy one is accepted.
            thought_signature: Some(signature.unwrap_or_else(call_id::skip_validator)),
            ..Part::default()
        });
    }
    parts
}

/// Tool-call arguments as the JSON object Gemini wants; anything else becomes `{}`.
fn call_args(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

fn function_response_part(
    msg: &ChatMessage,
    i: usize,
    call_names: &[(String, String)],
) -> Result<Part, TranslateError> {
    let call_id = msg.tool_call_id.as_deref().filter(|c| !c.is_empty());
    let name = call_id
        .and_then(|c| call_names.iter().rev().find(|(id, _)| id == c))
        .map(|(_, n)| n.clone())
        .or_else(|| msg.name.clone())
        .or_else(|| call_id.map(|c| call_id::split(c).0.to_string()))
        .ok_or_else(|| {
            TranslateError::Invalid(format!("messages[{i}]: tool message without tool_call_id"))
        })?;
    let text = msg
        .content
        .as_ref()
        .map(|c| c.joined_text("\n").into_owned())
        .unwrap_or_default();
    // Gemini wants an object; JSON objects are sent as they are, anything else is wrapped.
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "content": text }),
    };
    Ok(Part {
        function_response: Some(FunctionResponse {
            id: call_id.map(|c| call_id::split(c).0.to_string()),
            name,
            response,
        }),
        ..Part::default()
    })
}

fn tool_config_of(choice: Option<&ToolChoice>) -> Result<Option<ToolConfig>, TranslateError> {
    let config = |mode: &str, names: Option<Vec<String>>| ToolConfig {
        function_calling_config: Some(FunctionCallingConfig {
            mode: Some(mode.to_string()),
            allowed_function_names: names,
        }),
    };
    Ok(match choice {
        None => None,
        Some(ToolChoice::Mode(m)) => Some(match m.as_str() {
            "auto" => config("AUTO", None),
            "required" | "any" => config("ANY", None),
            "none" => config("NONE", None),
            other => {
                return Err(TranslateError::Invalid(format!(
                    "tool_choice: unknown mode '{other}'"
                )));
            }
        }),
        Some(ToolChoice::Named(n)) => Some(config("ANY", Some(vec![n.function.name.clone()]))),
    })
}

/// Gemini 3 and later (thinking levels instead of budgets, JSON output with tools).
fn is_gemini3_plus(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    m.find("gemini-")
        .and_then(|i| m[i + 7..].chars().next())
        .is_some_and(|c| c.is_ascii_digit() && c >= '3')
}

/// Models that accept a thinking configuration.
fn supports_thinking(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    m.contains("thinking") || m.contains("gemini-2.5") || is_gemini3_plus(model)
}

fn thinking_config(effort: &str, model: &str) -> Option<ThinkingConfig> {
    if !supports_thinking(model) {
        return None;
    }
    if is_gemini3_plus(model) {
        // Gemini 3 cannot switch thinking off; "none" asks for the least.
        let level = match effort {
            "none" | "minimal" | "low" => "low",
            _ => "high",
        };
        return Some(ThinkingConfig {
            include_thoughts: Some(effort != "none"),
            thinking_budget: None,
            thinking_level: Some(level.to_string()),
        });
    }
    let budget = match effort {
        "none" => 0,
        "minimal" => 512,
        "low" => 1024,
        "medium" => 8192,
        _ => 24576,
    };
    Some(ThinkingConfig {
        include_thoughts: Some(budget > 0),
        thinking_budget: Some(budget),
        thinking_level: None,
    })
}

fn generation_config(
    req: &ChatRequest,
    model: &str,
    has_functions: bool,
) -> Option<GenerationConfig> {
    let mut gc = GenerationConfig {
        stop_sequences: req
            .stop
            .as_ref()
            .map(Stop::to_vec)
            .filter(|s| !s.is_empty()),
        candidate_count: req.n,
        max_output_tokens: req.output_limit(),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.extra.get("top_k").and_then(Value::as_f64),
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        response_logprobs: req.logprobs,
        ..GenerationConfig::default()
    };
    if let Some(n) = req.top_logprobs.filter(|n| *n > 0) {
        gc.response_logprobs = Some(true);
        gc.logprobs = Some(n.min(20));
    }
    match req
        .response_format
        .as_ref()
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        Some("json_object") => gc.response_mime_type = Some("application/json".into()),
        Some("json_schema") => {
            gc.response_mime_type = Some("application/json".into());
            gc.response_json_schema = req
                .response_format
                .as_ref()
                .and_then(|f| f.get("json_schema"))
                .and_then(|s| s.get("schema"))
                .cloned();
        }
        _ => {}
    }
    // Before Gemini 3, JSON output and function calling cannot be combined: tools win.
    if has_functions && !is_gemini3_plus(model) {
        gc.response_mime_type = None;
        gc.response_json_schema = None;
    }
    gc.thinking_config = req
        .reasoning_effort
        .as_deref()
        .and_then(|e| thinking_config(e, model));
    (gc != GenerationConfig::default()).then_some(gc)
}

#[cfg(test)]
mod tests {
    use super::super::client_request::request_from_gemini;
    use super::*;

    fn fixture(name: &str) -> &'static str {
        match name {
            "openai_request" => include_str!("../../../tests/fixtures/gemini/openai_request.json"),
            "openai_request_as_gemini" => {
                include_str!("../../../tests/fixtures/gemini/openai_request_as_gemini.json")
            }
            _ => panic!("no fixture {name}"),
        }
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    fn chat(body: Value) -> ChatRequest {
        ChatRequest::from_slice(&serde_json::to_vec(&body).expect("json")).expect("request")
    }

    #[test]
    fn openai_request_to_gemini_matches_fixture() {
        let req = ChatRequest::from_slice(fixture("openai_request").as_bytes()).expect("decodes");
        let out = request_to_gemini(&req, "gemini-2.5-flash").expect("translates");
        let expected: Value =
            serde_json::from_str(fixture("openai_request_as_gemini")).expect("fixture");
        assert_eq!(json_of(&out), expected);
    }

    #[test]
    fn tool_choice_modes_both_ways() {
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]});
        for (openai, gemini) in [
            (json!("auto"), json!({"mode": "AUTO"})),
            (json!("required"), json!({"mode": "ANY"})),
            (json!("none"), json!({"mode": "NONE"})),
            (
                json!({"type": "function", "function": {"name": "f"}}),
                json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
            ),
        ] {
            let mut body = base.clone();
            body["tool_choice"] = openai.clone();
            let out = json_of(&request_to_gemini(&chat(body), "gemini-2.0-flash").expect("ok"));
            assert_eq!(out["toolConfig"]["functionCallingConfig"], gemini);
            let back =
                request_from_gemini(&serde_json::to_vec(&out).expect("json"), false).expect("b");
            assert_eq!(json_of(&back.to_vec())["tool_choice"], openai);
        }
        let mut body = base.clone();
        body["tool_choice"] = json!("sometimes");
        assert!(matches!(
            request_to_gemini(&chat(body), "g"),
            Err(TranslateError::Invalid(_))
        ));
        // Without function tools there is no function calling config at all.
        let out = json_of(
            &request_to_gemini(
                &chat(json!({"messages": [{"role": "user", "content": "x"}],
                    "tool_choice": "required"})),
                "g",
            )
            .expect("ok"),
        );
        assert!(out.get("toolConfig").is_none() && out.get("tools").is_none());
    }

    #[test]
    fn parallel_results_are_grouped_and_named_after_their_calls() {
        let req = chat(json!({"messages": [
            {"role": "user", "content": "weather in Paris and Berlin?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "get_time", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp\":21}"},
            {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
            {"role": "user", "content": "thanks"}
        ]}));
        let out = to_generate_request(&req, "gemini-2.0-flash").expect("ok");
        assert_eq!(out.contents.len(), 4);
        let results = &out.contents[2];
        assert_eq!(results.role.as_deref(), Some("user"));
        let fr: Vec<&FunctionResponse> = results
            .parts
            .iter()
            .filter_map(|p| p.function_response.as_ref())
            .collect();
        assert_eq!(fr.len(), 2);
        assert_eq!(fr[0].name, "get_weather");
        assert_eq!(fr[0].response, json!({"temp": 21}));
        assert_eq!(fr[1].name, "get_time");
        assert_eq!(fr[1].response, json!({"content": "noon"}));
        let calls = &out.contents[1].parts;
        assert_eq!(
            calls[1].function_call.as_ref().and_then(|c| c.args.clone()),
            Some(json!({}))
        );
        // Calls without a signature get the dummy one Gemini 3 accepts.
        assert_eq!(
            calls[0].thought_signature.as_deref(),
            Some(call_id::skip_validator().as_str())
        );
    }

    #[test]
    fn thought_signatures_embedded_in_ids_are_restored() {
        let id = call_id::with_signature("get_weather", Some("c2lnbmF0dXJl"));
        let req = chat(json!({"messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": id, "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "sunny"}
        ]}));
        let out = to_generate_request(&req, "gemini-3-pro-preview").expect("ok");
        let call = &out.contents[1].parts[0];
        assert_eq!(call.thought_signature.as_deref(), Some("c2lnbmF0dXJl"));
        assert_eq!(
            call.function_call.as_ref().and_then(|c| c.id.as_deref()),
            Some("get_weather")
        );
        let fr = out.contents[2].parts[0]
            .function_response
            .as_ref()
            .expect("fr");
        assert_eq!(fr.id.as_deref(), Some("get_weather"));
        assert_eq!(fr.name, "get_weather");
    }

    #[test]
    fn media_parts() {
        let req = chat(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "image_url", "image_url": {"url": "https://x.test/cat.webp?s=1"}},
            {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
            {"type": "file", "file": {"file_id": "files/abc"}}
        ]}]}));
        let out = json_of(&request_to_gemini(&req, "g").expect("ok"));
        assert_eq!(
            out["contents"][0]["parts"],
            json!([
                {"text": "look"},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://x.test/cat.webp?s=1"}},
                {"inlineData": {"mimeType": "audio/wav", "data": "UklG"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                {"fileData": {"fileUri": "files/abc"}}
            ])
        );
        let back = request_from_gemini(&serde_json::to_vec(&out).expect("j"), false).expect("b");
        let v = json_of(&back.to_vec());
        assert_eq!(
            v["messages"][0]["content"][1]["image_url"]["url"],
            "data:image/png;base64,AAAA"
        );
        assert_eq!(
            v["messages"][0]["content"][2]["image_url"]["url"],
            "https://x.test/cat.webp?s=1"
        );
        assert_eq!(
            v["messages"][0]["content"][3],
            json!({"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}})
        );
        assert_eq!(
            v["messages"][0]["content"][4]["file"]["file_data"],
            "data:application/pdf;base64,JVBE"
        );
        assert_eq!(
            v["messages"][0]["content"][5]["file"]["file_id"],
            "files/abc"
        );
        for bad in [
            json!({"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}),
            json!({"type": "video_url", "video_url": {"url": "https://x"}}),
        ] {
            let req = chat(json!({"messages": [{"role": "user", "content": [bad]}]}));
            assert!(matches!(
                request_to_gemini(&req, "g"),
                Err(TranslateError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn generation_config_and_thinking() {
        let req = chat(
            json!({"messages": [{"role": "system", "content": "only system"}],
            "max_tokens": 5, "n": 2, "top_logprobs": 50, "seed": 7,
            "response_format": {"type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}}},
            "reasoning_effort": "low", "top_k": 40, "web_search_options": {}}),
        );
        let out = json_of(&request_to_gemini(&req, "gemini-2.5-flash").expect("ok"));
        // A lone system message becomes the user's turn.
        assert_eq!(
            out["contents"],
            json!([{"role": "user", "parts": [{"text": "only system"}]}])
        );
        assert!(out.get("systemInstruction").is_none());
        assert_eq!(
            out["generationConfig"],
            json!({"responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object"}, "candidateCount": 2,
                "maxOutputTokens": 5, "topK": 40.0, "seed": 7, "responseLogprobs": true,
                "logprobs": 20, "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}})
        );
        assert_eq!(out["tools"], json!([{"googleSearch": {}}]));
        let g3 = json_of(&request_to_gemini(&req, "gemini-3-pro-preview").expect("ok"));
        assert_eq!(
            g3["generationConfig"]["thinkingConfig"],
            json!({"includeThoughts": true, "thinkingLevel": "low"})
        );
        // Models without thinking get no thinking config.
        let old = json_of(&request_to_gemini(&req, "gemini-2.0-flash").expect("ok"));
        assert!(old["generationConfig"].get("thinkingConfig").is_none());
        let plain = json_of(
            &request_to_gemini(
                &chat(json!({"messages": [{"role": "user", "content": "x"}]})),
                "g",
            )
            .expect("ok"),
        );
        assert_eq!(
            plain,
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
        );
    }
}
