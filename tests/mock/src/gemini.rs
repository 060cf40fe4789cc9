//! The Google Gemini API format: generateContent (plain and streamed), embeddings, models.
//!
//! | route | answer |
//! |---|---|
//! | `POST .../models/{model}:generateContent` | `echo: <last user text>` (text parts joined by a space); with `tools` and "call a tool" in the last user text, a `functionCall` of the first declared function with `args: {}` and a `thoughtSignature` |
//! | `POST .../models/{model}:streamGenerateContent` | the same as SSE chunks (`?alt=sse` or not) |
//! | `POST .../models/{model}:embedContent` | `{"embedding": {"values": [...]}}`: `outputDimensionality` (default 8) deterministic floats |
//! | `POST .../models/{model}:batchEmbedContents` | `{"embeddings": [...]}`, one per request; each request's `model` must be `models/{model}` |
//! | `POST .../models/{model}:countTokens` | `{"totalTokens": n}`, n counted as `promptTokenCount` is; a `generateContentRequest` body must name `models/{model}` |
//! | `GET .../models`, `GET .../models/{id}` with a Gemini key (header or `?key=`) | Gemini's model list / one model (without a key these stay OpenAI routes) |
//!
//! Auth: the key comes in `x-goog-api-key` or `?key=`; none gets 403 `PERMISSION_DENIED`, keys
//! starting with `bad` get 400 `INVALID_ARGUMENT` (`API_KEY_INVALID`, as Google answers a wrong
//! key), keys starting with `limited` get 429 `RESOURCE_EXHAUSTED` with `retry-after: 0`. Like
//! Google, the mock refuses top-level members `generateContent` does not know (a stray `model`
//! is allowed, `stream` or `messages` get 400) and a request without `contents`.
//!
//! Usage: `promptTokenCount` counts the words of the system instruction and every text part;
//! `candidatesTokenCount` counts `echo:` plus the echoed words (2 for a function call).
//!
//! Streams send one `data: <json>` chunk per HTTP chunk, `--chunk-delay-ms` apart, and no end
//! marker: `--chunks` text pieces (each with `role: model` and a partial `usageMetadata`), the
//! last one with `finishReason: STOP` and the full usage; a function call is one chunk. The
//! model-name directives of the other formats work on the model in the path: `fail-<status>`
//! answers with a Google error body, `stream-error` sends `data: {"error": {...}}` (503
//! `UNAVAILABLE`) after two chunks, `stream-hang` and `stream-cut` stall or close there. Ids:
//! `mock-resp-N`.

use std::{borrow::Cow, io, sync::OnceLock};

use sonic_rs::{JsonValueTrait, LazyValue};

use crate::{
    dispatch::{Outcome, Req},
    faults::Directives,
    json_read::{MAX_DEPTH, content_text, count_words, depth_ok, str_of},
    json_write::{push_str, push_u64},
    request::Method,
    response::{Conn, ExtraHeaders},
    state::Shared,
};

const JSON: &str = "application/json";
/// Models listed by `GET /models`: (id, display name, input limit, output limit, methods).
const MODELS: &[(&str, &str, u64, u64, &str)] = &[
    (
        "gemini-2.5-flash",
        "Gemini 2.5 Flash",
        1_048_576,
        65_536,
        r#"["generateContent","countTokens"]"#,
    ),
    (
        "gemini-2.0-flash",
        "Gemini 2.0 Flash",
        1_048_576,
        8_192,
        r#"["generateContent","countTokens"]"#,
    ),
    (
        "text-embedding-004",
        "Text Embedding 004",
        2_048,
        1,
        r#"["embedContent"]"#,
    ),
];
/// Chunks sent before a `stream-*` fault breaks the stream.
const BREAK_AFTER: usize = 2;
/// Default and largest embedding size.
const EMBEDDING_DIMS: usize = 8;
const MAX_EMBEDDING_DIMS: usize = 4096;
/// The thought signature of the mock's function calls (base64 of `mock-signature`).
pub const SIGNATURE: &str = "bW9jay1zaWduYXR1cmU=";
/// Top-level members of a `generateContent` body.
const KNOWN_MEMBERS: &[&str] = &[
    "contents",
    "systemInstruction",
    "system_instruction",
    "generationConfig",
    "generation_config",
    "tools",
    "toolConfig",
    "tool_config",
    "safetySettings",
    "safety_settings",
    "cachedContent",
    "cached_content",
    "labels",
    "serviceTier",
    "service_tier",
    "model",
];

/// A Gemini endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST .../models/{model}:generateContent`
    Generate,
    /// `POST .../models/{model}:streamGenerateContent`
    Stream,
    /// `POST .../models/{model}:embedContent`
    Embed,
    /// `POST .../models/{model}:batchEmbedContents`
    BatchEmbed,
    /// `POST .../models/{model}:countTokens`
    CountTokens,
    /// `GET .../models` (with a Gemini key)
    Models,
    /// `GET .../models/{id}` (with a Gemini key)
    Model,
}

/// Matches a request to a Gemini endpoint; `None` leaves it to the other formats.
pub fn route(req: &Req<'_>) -> Option<Route> {
    let path = req.path;
    match req.method() {
        Method::Post => {
            let (head, method) = path.rsplit_once(':')?;
            head.rfind("/models/")?;
            match method {
                "generateContent" => Some(Route::Generate),
                "streamGenerateContent" => Some(Route::Stream),
                "embedContent" => Some(Route::Embed),
                "batchEmbedContents" => Some(Route::BatchEmbed),
                "countTokens" => Some(Route::CountTokens),
                _ => None,
            }
        }
        // The OpenAI routes share these paths; Gemini clients always send a Gemini key.
        Method::Get if api_key(req).is_some() => {
            if path.ends_with("/models") {
                Some(Route::Models)
            } else {
                path.rfind("/models/")
                    .filter(|i| path.len() > i + "/models/".len())
                    .map(|_| Route::Model)
            }
        }
        _ => None,
    }
}

/// The key of a request: `x-goog-api-key`, else the `key` query parameter.
fn api_key<'a>(req: &Req<'a>) -> Option<&'a [u8]> {
    if let Some(k) = req.header("x-goog-api-key") {
        return Some(k.trim_ascii());
    }
    let query = req.target.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
        .map(str::as_bytes)
}

/// The model named in the path (between `models/` and the method), `%2F` decoded.
fn path_model(path: &str) -> Cow<'_, str> {
    let start = path.rfind("/models/").map_or(0, |i| i + "/models/".len());
    let end = path
        .rfind(':')
        .filter(|e| *e >= start)
        .unwrap_or(path.len());
    let model = &path[start..end];
    if model.contains('%') {
        Cow::Owned(model.replace("%2F", "/").replace("%2f", "/"))
    } else {
        Cow::Borrowed(model)
    }
}

/// Serves a Gemini route (auth first, then the endpoint).
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Some((status, message, reason)) = check_auth(req) {
        send_error(conn, req, extra, status, message, reason).await?;
        return Ok(Outcome::Done);
    }
    serve(route, shared, conn, req, extra).await
}

/// Serves a Gemini route whose caller is already authenticated (Vertex checks its own
/// bearer token first).
pub async fn serve(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    match route {
        Route::Models => {
            conn.send(200, JSON, models_body(), req.close, extra)
                .await?;
            Ok(Outcome::Done)
        }
        Route::Model => {
            let id = req.path.rsplit('/').next().unwrap_or("");
            let out = &mut conn.scratch;
            out.clear();
            push_model(out, id, id, 1_000, 1_000, r#"["generateContent"]"#);
            conn.send_scratch(200, JSON, req.close, extra).await?;
            Ok(Outcome::Done)
        }
        Route::Generate | Route::Stream | Route::Embed | Route::BatchEmbed | Route::CountTokens => {
            if req.body.is_empty() || !depth_ok(req.body, MAX_DEPTH) {
                return bad_request(conn, req, extra, "Invalid JSON payload received.").await;
            }
            let model = path_model(req.path);
            let directives = Directives::parse(&model);
            if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
                return Ok(outcome);
            }
            match route {
                Route::Embed | Route::BatchEmbed => {
                    embed(conn, req, extra, &model, route == Route::BatchEmbed).await
                }
                Route::CountTokens => match count_tokens(req.body) {
                    Ok(n) => {
                        let out = &mut conn.scratch;
                        out.clear();
                        out.extend_from_slice(b"{\"totalTokens\":");
                        push_u64(out, n);
                        out.push(b'}');
                        conn.send_scratch(200, JSON, req.close, extra).await?;
                        Ok(Outcome::Done)
                    }
                    Err(message) => bad_request(conn, req, extra, &message).await,
                },
                _ => match parse(req.body) {
                    Ok(g) => {
                        generate(shared, conn, req, extra, &g, &model, &directives, route).await
                    }
                    Err(message) => bad_request(conn, req, extra, &message).await,
                },
            }
        }
    }
}

/// Auth check: `(status, message, reason)` when the request is refused.
fn check_auth(req: &Req<'_>) -> Option<(u16, &'static str, &'static str)> {
    let key = api_key(req).unwrap_or(b"");
    if key.is_empty() {
        return Some((
            403,
            "Method doesn't allow unregistered callers (callers without established identity). \
             Please use API Key or other form of API consumer identity to call this API.",
            "",
        ));
    }
    if key.starts_with(b"bad") {
        return Some((
            400,
            "API key not valid. Please pass a valid API key. (mock: keys starting with \"bad\" \
             are rejected)",
            "API_KEY_INVALID",
        ));
    }
    if key.starts_with(b"limited") {
        return Some((
            429,
            "Resource has been exhausted (e.g. check quota). (mock: keys starting with \
             \"limited\" are limited)",
            "",
        ));
    }
    None
}

/// Google's canonical status name for an HTTP status.
fn status_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// Writes `{"error":{"code","message","status"[,"details"]}}` into `out`.
fn write_error(out: &mut Vec<u8>, status: u16, message: &str, reason: &str) {
    out.extend_from_slice(b"{\"error\":{\"code\":");
    push_u64(out, u64::from(status));
    out.extend_from_slice(b",\"message\":");
    push_str(out, message);
    out.extend_from_slice(b",\"status\":");
    push_str(out, status_name(status));
    if !reason.is_empty() {
        out.extend_from_slice(
            b",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":",
        );
        push_str(out, reason);
        out.extend_from_slice(b",\"domain\":\"googleapis.com\"}]");
    }
    out.extend_from_slice(b"}}");
}

/// Sends a Google error body; 429s carry `retry-after: 0` so that retries are fast.
pub(crate) async fn send_error(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    status: u16,
    message: &str,
    reason: &str,
) -> io::Result<()> {
    conn.scratch.clear();
    write_error(&mut conn.scratch, status, message, reason);
    if status == 429 {
        let mut headers = extra.to_vec();
        headers.push(("retry-after".to_owned(), "0".to_owned()));
        conn.send_scratch(status, JSON, req.close, &headers).await
    } else {
        conn.send_scratch(status, JSON, req.close, extra).await
    }
}

pub(crate) async fn bad_request(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    message: &str,
) -> io::Result<Outcome> {
    send_error(conn, req, extra, 400, message, "").await?;
    Ok(Outcome::Done)
}

/// Applies the request-level directives; `Some` means the request was fully handled.
async fn apply_directives(
    d: &Directives,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Option<Outcome>> {
    if !d.slow.is_zero() {
        monoio::time::sleep(d.slow).await;
    }
    if d.reset {
        return Ok(Some(Outcome::Reset));
    }
    if d.hang {
        return Ok(Some(Outcome::Hang));
    }
    if let Some(status) = d.fail {
        let message = format!("mock failure: status {status} forced by the model name");
        send_error(conn, req, extra, status, &message, "").await?;
        return Ok(Some(Outcome::Done));
    }
    Ok(None)
}

/// What a `generateContent` request contributes to the answer.
#[derive(Debug, Default)]
struct GenerateRequest<'a> {
    last_user: Cow<'a, str>,
    input_words: u64,
    first_tool: Option<String>,
}

fn parse(body: &[u8]) -> Result<GenerateRequest<'_>, String> {
    let mut g = GenerateRequest::default();
    let mut saw_contents = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("Invalid JSON payload received. {e}"))?;
        match &*key {
            "contents" => {
                saw_contents = true;
                let contents = value
                    .into_array_iter()
                    .ok_or("Invalid value at 'contents', expected a list")?;
                for content in contents {
                    let content = content.map_err(|e| format!("Invalid contents: {e}"))?;
                    read_content(content, &mut g)?;
                }
            }
            "systemInstruction" | "system_instruction" => {
                if let Some(parts) = value.get("parts") {
                    g.input_words += count_words(&content_text(parts));
                }
            }
            "tools" => g.first_tool = first_function(&value),
            k if KNOWN_MEMBERS.contains(&k) => {}
            other => {
                return Err(format!(
                    "Invalid JSON payload received. Unknown name \"{other}\": Cannot find field."
                ));
            }
        }
    }
    if !saw_contents {
        return Err("* GenerateContentRequest.contents: contents is not specified".into());
    }
    g.input_words = g.input_words.max(1);
    Ok(g)
}

/// Words in a `:countTokens` body: `{"contents": [...]}` or `{"generateContentRequest": {...}}`
/// (which must name its model, as Google requires).
fn count_tokens(body: &[u8]) -> Result<u64, String> {
    let wrapped = sonic_rs::get(body, ["generateContentRequest"]).ok();
    match wrapped {
        Some(inner) => {
            let inner = inner.as_raw_str().as_bytes();
            let model = sonic_rs::get(inner, ["model"]).ok();
            if model.is_none_or(|m| !m.as_raw_str().starts_with("\"models/")) {
                return Err("generateContentRequest.model: must be models/{model}".into());
            }
            parse(inner).map(|g| g.input_words)
        }
        None => parse(body).map(|g| g.input_words),
    }
}

fn read_content<'a>(content: LazyValue<'a>, g: &mut GenerateRequest<'a>) -> Result<(), String> {
    let fields = content
        .into_object_iter()
        .ok_or("contents: each content must be an object")?;
    let mut is_user = true;
    let mut text = Cow::Borrowed("");
    for entry in fields {
        let (key, value) = entry.map_err(|e| format!("Invalid content: {e}"))?;
        match &*key {
            "role" => is_user = str_of(&value).is_none_or(|r| r == "user"),
            "parts" => text = content_text(value),
            _ => {}
        }
    }
    g.input_words += count_words(&text);
    if is_user {
        g.last_user = text;
    }
    Ok(())
}

/// The name of the first function declared in `tools` (either spelling).
fn first_function(tools: &LazyValue<'_>) -> Option<String> {
    let tool = tools.get(0)?;
    let decls = tool
        .get("functionDeclarations")
        .or_else(|| tool.get("function_declarations"))?;
    let first = decls.get(0)?;
    let name = first.get("name")?;
    name.as_str().map(str::to_owned)
}

#[allow(clippy::too_many_arguments)]
async fn generate(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    g: &GenerateRequest<'_>,
    model: &str,
    directives: &Directives,
    route: Route,
) -> io::Result<Outcome> {
    let id = shared.next_response_id();
    let tool = g
        .first_tool
        .as_deref()
        .filter(|_| g.last_user.to_ascii_lowercase().contains("call a tool"));
    let output_words = match tool {
        Some(_) => 2,
        None => 1 + count_words(&g.last_user),
    };
    let chunks = chunks(shared, g, model, id, tool, output_words);
    if route == Route::Stream {
        return drive_stream(shared, conn, req, extra, directives, &chunks).await;
    }
    // A complete answer is the last chunk with the whole text.
    let out = &mut conn.scratch;
    out.clear();
    match tool {
        Some(name) => write_chunk(out, g, model, id, Part::Call(name), true, output_words),
        None => {
            let text = format!("echo: {}", g.last_user);
            write_chunk(out, g, model, id, Part::Text(&text), true, output_words);
        }
    }
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

/// What a chunk carries.
enum Part<'a> {
    Text(&'a str),
    Call(&'a str),
}

/// The data of each streamed chunk.
fn chunks(
    shared: &Shared,
    g: &GenerateRequest<'_>,
    model: &str,
    id: u64,
    tool: Option<&str>,
    output_words: u64,
) -> Vec<Vec<u8>> {
    if let Some(name) = tool {
        let mut c = Vec::new();
        write_chunk(&mut c, g, model, id, Part::Call(name), true, output_words);
        return vec![c];
    }
    let text = format!("echo: {}", g.last_user);
    let pieces = split_even(&text, shared.settings.chunks.max(1));
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut c = Vec::new();
            write_chunk(
                &mut c,
                g,
                model,
                id,
                Part::Text(piece),
                i == last,
                output_words,
            );
            c
        })
        .collect()
}

/// Writes one `GenerateContentResponse`; the last one finishes and carries the full usage.
fn write_chunk(
    out: &mut Vec<u8>,
    g: &GenerateRequest<'_>,
    model: &str,
    id: u64,
    part: Part<'_>,
    last: bool,
    output_words: u64,
) {
    out.extend_from_slice(b"{\"candidates\":[{\"content\":{\"parts\":[");
    match part {
        Part::Text(t) => {
            out.extend_from_slice(b"{\"text\":");
            push_str(out, t);
            out.push(b'}');
        }
        Part::Call(name) => {
            out.extend_from_slice(b"{\"functionCall\":{\"name\":");
            push_str(out, name);
            out.extend_from_slice(b",\"args\":{}},\"thoughtSignature\":");
            push_str(out, SIGNATURE);
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"],\"role\":\"model\"}");
    if last {
        out.extend_from_slice(b",\"finishReason\":\"STOP\"");
    }
    out.extend_from_slice(b",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":");
    push_u64(out, g.input_words);
    if last {
        out.extend_from_slice(b",\"candidatesTokenCount\":");
        push_u64(out, output_words);
    }
    out.extend_from_slice(b",\"totalTokenCount\":");
    push_u64(out, g.input_words + if last { output_words } else { 0 });
    out.extend_from_slice(b"},\"modelVersion\":");
    push_str(out, model);
    out.extend_from_slice(b",\"responseId\":\"mock-resp-");
    push_u64(out, id);
    out.extend_from_slice(b"\"}");
}

/// Splits `text` into `n` pieces of nearly equal character counts (some may be empty).
fn split_even(text: &str, n: usize) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let chars = bounds.len() - 1;
    (0..n)
        .map(|k| &text[bounds[k * chars / n]..bounds[(k + 1) * chars / n]])
        .collect()
}

/// Sends `chunks`, each in its own HTTP chunk with the configured delay between them, unless a
/// `stream-*` directive breaks the stream after [`BREAK_AFTER`] chunks.
async fn drive_stream(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    d: &Directives,
    chunks: &[Vec<u8>],
) -> io::Result<Outcome> {
    let delay = shared.settings.chunk_delay;
    let pause = || async move {
        if !delay.is_zero() {
            monoio::time::sleep(delay).await;
        }
    };
    conn.start_stream(req.close, extra).await?;
    let limit = if d.breaks_stream() {
        BREAK_AFTER.min(chunks.len())
    } else {
        chunks.len()
    };
    for (i, data) in chunks[..limit].iter().enumerate() {
        if i > 0 {
            pause().await;
        }
        conn.send_event_bytes(data).await?;
    }
    if d.stream_hang {
        return Ok(Outcome::Hang);
    }
    if d.stream_cut {
        return Ok(Outcome::Close);
    }
    if d.stream_error {
        pause().await;
        let mut data = Vec::new();
        write_error(
            &mut data,
            503,
            "mock failure: stream broken by the model name",
            "",
        );
        conn.send_event_bytes(&data).await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

/// Answers `:embedContent` (one vector) or `:batchEmbedContents` (one per request).
async fn embed(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    model: &str,
    batch: bool,
) -> io::Result<Outcome> {
    let items = match embed_items(req.body, model, batch) {
        Ok(items) => items,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(if batch {
        b"{\"embeddings\":["
    } else {
        b"{\"embedding\":"
    });
    for (i, (text, dims)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"values\":[");
        for k in 0..*dims {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(format!("{:?}", embedding_value(text, k as u64)).as_bytes());
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(if batch { b"]}" } else { b"}" });
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

/// The (text, dimensions) of each embedding asked for.
fn embed_items(body: &[u8], model: &str, batch: bool) -> Result<Vec<(String, usize)>, String> {
    let one = |v: &LazyValue<'_>| -> Result<(String, usize), String> {
        let missing = "* EmbedContentRequest.content: content is not specified";
        let content = v.get("content").ok_or(missing)?;
        let parts = content.get("parts").ok_or(missing)?;
        let text = content_text(parts).into_owned();
        let dims = v
            .get("outputDimensionality")
            .or_else(|| v.get("output_dimensionality"))
            .and_then(|d| d.as_u64())
            .map_or(EMBEDDING_DIMS, |d| {
                (d as usize).clamp(1, MAX_EMBEDDING_DIMS)
            });
        Ok((text, dims))
    };
    let root: LazyValue<'_> =
        sonic_rs::get(body, &[] as &[&str]).map_err(|e| format!("Invalid JSON payload: {e}"))?;
    if !batch {
        return Ok(vec![one(&root)?]);
    }
    let requests = root
        .get("requests")
        .and_then(|r| r.into_array_iter())
        .ok_or("* BatchEmbedContentsRequest.requests: requests is not specified")?;
    let expected = format!("models/{model}");
    let mut items = Vec::new();
    for (i, r) in requests.enumerate() {
        let r = r.map_err(|e| format!("Invalid requests: {e}"))?;
        let named = r.get("model").and_then(|m| str_of(&m).map(Cow::into_owned));
        if named.as_deref() != Some(expected.as_str()) {
            return Err(format!(
                "* BatchEmbedContentsRequest.requests[{i}].model: model must be {expected}"
            ));
        }
        items.push(one(&r)?);
    }
    Ok(items)
}

/// Deterministic embedding component `k` of `text`, in [-1, 1) by 1/1024 steps (exact in f32
/// and in decimal text).
pub(crate) fn embedding_value(text: &str, k: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes().chain(k.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((h % 2048) as f64 - 1024.0) / 1024.0
}

fn push_model(out: &mut Vec<u8>, id: &str, display: &str, input: u64, output: u64, methods: &str) {
    out.extend_from_slice(b"{\"name\":");
    push_str(out, &format!("models/{id}"));
    out.extend_from_slice(b",\"version\":\"001\",\"displayName\":");
    push_str(out, display);
    out.extend_from_slice(b",\"inputTokenLimit\":");
    push_u64(out, input);
    out.extend_from_slice(b",\"outputTokenLimit\":");
    push_u64(out, output);
    out.extend_from_slice(b",\"supportedGenerationMethods\":");
    out.extend_from_slice(methods.as_bytes());
    out.push(b'}');
}

/// The `GET /models` body, built once.
fn models_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut out = b"{\"models\":[".to_vec();
        for (i, (id, name, input, output, methods)) in MODELS.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_model(&mut out, id, name, *input, *output, methods);
        }
        out.extend_from_slice(b"]}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn parse_reads_system_contents_and_tools() {
        let body = br#"{"system_instruction":{"parts":[{"text":"be brief"}]},
            "contents":[{"role":"user","parts":[{"text":"first question"}]},
                        {"role":"model","parts":[{"text":"an answer"}]},
                        {"parts":[{"functionResponse":{"name":"f","response":{}}},{"text":"say \"hi\""}]}],
            "tools":[{"functionDeclarations":[{"name":"get_weather"}]}],
            "generationConfig":{"maxOutputTokens":5},"model":"models/x"}"#;
        let g = parse(body).expect("valid");
        assert_eq!(g.last_user, "say \"hi\"");
        assert_eq!(g.input_words, 8);
        assert_eq!(g.first_tool.as_deref(), Some("get_weather"));
    }

    #[test]
    fn parse_refuses_what_gemini_does_not_know() {
        assert!(parse(br#"{"contents":[]}"#).is_ok());
        let err = parse(br#"{"contents":[],"stream":true}"#).expect_err("unknown member");
        assert!(err.contains("Unknown name \"stream\""), "{err}");
        assert!(parse(br#"{"messages":[]}"#).is_err());
        assert!(parse(br#"{}"#).is_err());
        assert!(parse(b"nope").is_err());
    }

    #[test]
    fn chunks_are_valid_json_and_concatenate() {
        let shared = Shared::new(crate::state::Settings {
            chunks: 4,
            ..Default::default()
        });
        let g = GenerateRequest {
            last_user: "a \"quoted\" line\n".into(),
            input_words: 3,
            ..GenerateRequest::default()
        };
        let chunks = chunks(&shared, &g, "m\"x", 7, None, 4);
        let parsed: Vec<Value> = chunks
            .iter()
            .map(|c| serde_json::from_slice(c).expect("json"))
            .collect();
        assert_eq!(parsed.len(), 4);
        let text: String = parsed
            .iter()
            .map(|p| {
                p["candidates"][0]["content"]["parts"][0]["text"]
                    .as_str()
                    .expect("text")
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "echo: a \"quoted\" line\n");
        assert!(
            parsed[..3]
                .iter()
                .all(|p| p["candidates"][0].get("finishReason").is_none())
        );
        assert_eq!(parsed[3]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            parsed[3]["usageMetadata"],
            json!({"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7})
        );
        assert_eq!(parsed[0]["modelVersion"], "m\"x");
        assert_eq!(parsed[0]["responseId"], "mock-resp-7");
        let tool = super::chunks(&shared, &g, "m", 1, Some("lookup"), 2);
        let v: Value = serde_json::from_slice(&tool[0]).expect("json");
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0],
            json!({"functionCall": {"name": "lookup", "args": {}}, "thoughtSignature": SIGNATURE})
        );
    }

    #[test]
    fn embedding_requests() {
        let single = br#"{"content":{"parts":[{"text":"hi"}]},"outputDimensionality":3}"#;
        let items = embed_items(single, "e", false).expect("ok");
        assert_eq!(items, vec![("hi".to_string(), 3)]);
        let batch = br#"{"requests":[{"model":"models/e","content":{"parts":[{"text":"a"}]}},
            {"model":"models/e","content":{"parts":[{"text":"b"}]}}]}"#;
        assert_eq!(embed_items(batch, "e", true).expect("ok").len(), 2);
        let err = embed_items(batch, "other", true).expect_err("model mismatch");
        assert!(err.contains("models/other"), "{err}");
        assert!(
            embed_items(br#"{"requests":[]}"#, "e", true)
                .expect("ok")
                .is_empty()
        );
        assert!(embed_items(br#"{"x":1}"#, "e", false).is_err());
        let v = embedding_value("a", 0);
        assert!((-1.0..1.0).contains(&v));
        assert_eq!(v, embedding_value("a", 0));
    }

    #[test]
    fn paths_errors_and_models() {
        assert_eq!(
            path_model("/v1beta/models/gemini-2.0-flash-fail-503:generateContent"),
            "gemini-2.0-flash-fail-503"
        );
        assert_eq!(path_model("/v1beta/models/a%2Fb:generateContent"), "a/b");
        assert_eq!(status_name(429), "RESOURCE_EXHAUSTED");
        let mut out = Vec::new();
        write_error(&mut out, 400, "bad key", "API_KEY_INVALID");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");
        let v: Value = serde_json::from_slice(models_body()).expect("json");
        assert_eq!(v["models"][0]["name"], "models/gemini-2.5-flash");
        assert_eq!(
            v["models"][2]["supportedGenerationMethods"],
            json!(["embedContent"])
        );
    }
}
