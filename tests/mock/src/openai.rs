//! The OpenAI wire format: chat completions, legacy completions, embeddings, models.
//!
//! Paths are matched by suffix so that any base prefix (`/v1`, `/openai/v1`, none) works.
//! Answers are deterministic: chat echoes the last user message, token counts are word counts,
//! embeddings are hashes of the input.

use std::{borrow::Cow, io, sync::OnceLock};

use base64::Engine;
use sonic_rs::{JsonValueTrait, LazyValue};

use crate::{
    dispatch::{Outcome, Req},
    faults::Directives,
    json_read::{MAX_DEPTH, content_text, count_words, depth_ok, str_of},
    json_write::{push_escaped, push_str, push_u64},
    record::now_secs,
    request::Method,
    response::{Conn, ExtraHeaders},
    state::Shared,
};

const JSON: &str = "application/json";
/// Models listed by `GET /models`.
const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "text-embedding-3-large",
];
/// `created` of the listed models (a fixed date keeps the list byte-identical across runs).
const MODEL_CREATED: u64 = 1_700_000_000;
/// Streamed events sent before a `stream-*` fault breaks the stream: role + 2 content pieces.
const CHAT_BREAK_AFTER: usize = 3;
/// The same for legacy completions (no role event): 2 text pieces.
const TEXT_BREAK_AFTER: usize = 2;
/// Default and largest embedding size.
const EMBEDDING_DIMS: usize = 8;
const MAX_EMBEDDING_DIMS: usize = 4096;

/// An OpenAI endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST .../chat/completions`
    Chat,
    /// `POST .../completions`
    Completions,
    /// `POST .../embeddings`
    Embeddings,
    /// `GET .../models`
    Models,
    /// `GET .../models/{id}`
    Model,
}

/// Matches a request to an OpenAI endpoint by path suffix and method.
pub fn route(method: Method, path: &str) -> Option<Route> {
    match method {
        Method::Post if path.ends_with("/chat/completions") => Some(Route::Chat),
        Method::Post if path.ends_with("/completions") => Some(Route::Completions),
        Method::Post if path.ends_with("/embeddings") => Some(Route::Embeddings),
        Method::Get if path.ends_with("/models") => Some(Route::Models),
        Method::Get => path
            .rfind("/models/")
            .filter(|i| path.len() > i + "/models/".len())
            .map(|_| Route::Model),
        _ => None,
    }
}

/// Serves an OpenAI route (auth first, then the endpoint).
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Some(fail) = check_auth(req) {
        let (status, message, kind, code) = match fail {
            AuthFail::Missing => (
                401,
                "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            ),
            AuthFail::Bad => (
                401,
                "Incorrect API key provided (mock: tokens starting with \"bad\" are rejected).",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            AuthFail::Limited => (
                429,
                "Rate limit reached (mock: tokens starting with \"limited\" are limited).",
                "requests",
                Some("rate_limit_exceeded"),
            ),
        };
        send_error(conn, req, extra, status, message, kind, code).await?;
        return Ok(Outcome::Done);
    }
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
            out.extend_from_slice(b"{\"id\":");
            push_str(out, id);
            out.extend_from_slice(b",\"object\":\"model\",\"created\":");
            push_u64(out, MODEL_CREATED);
            out.extend_from_slice(b",\"owned_by\":\"mock\"}");
            conn.send_scratch(200, JSON, req.close, extra).await?;
            Ok(Outcome::Done)
        }
        Route::Chat => chat(shared, conn, req, extra).await,
        Route::Completions => completions(shared, conn, req, extra).await,
        Route::Embeddings => embeddings(shared, conn, req, extra).await,
    }
}

/// Answers an unknown route with OpenAI's 404 error.
pub async fn not_found(conn: &mut Conn, req: &Req<'_>, extra: &ExtraHeaders) -> io::Result<()> {
    let message = format!(
        "Invalid URL ({} {})",
        req.head.method_str(req.buf),
        req.path
    );
    send_error(
        conn,
        req,
        extra,
        404,
        &message,
        "invalid_request_error",
        Some("unknown_url"),
    )
    .await
}

enum AuthFail {
    Missing,
    Bad,
    Limited,
}

fn check_auth(req: &Req<'_>) -> Option<AuthFail> {
    // Below `/open/` the mock is a self-hosted server that takes no key.
    if req.path.starts_with("/open/") {
        return None;
    }
    // Azure OpenAI (paths with `?api-version=`) takes the key in `api-key`, not Bearer.
    let token = if req.target.contains("api-version=") {
        req.header("api-key").unwrap_or(b"").trim_ascii()
    } else {
        let value = req.header("authorization").unwrap_or(b"").trim_ascii();
        match value.split_at_checked(7) {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => token.trim_ascii(),
            _ => return Some(AuthFail::Missing),
        }
    };
    if token.is_empty() {
        Some(AuthFail::Missing)
    } else if token.starts_with(b"bad") {
        Some(AuthFail::Bad)
    } else if token.starts_with(b"limited") {
        Some(AuthFail::Limited)
    } else {
        None
    }
}

/// Sends an OpenAI-style error body; 429s carry `retry-after: 0` so that retries are fast.
async fn send_error(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    status: u16,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> io::Result<()> {
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"error\":{\"message\":");
    push_str(out, message);
    out.extend_from_slice(b",\"type\":");
    push_str(out, kind);
    out.extend_from_slice(b",\"param\":null,\"code\":");
    match code {
        Some(code) => push_str(out, code),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}}");
    if status == 429 {
        let mut headers = extra.to_vec();
        headers.push(("retry-after".to_owned(), "0".to_owned()));
        conn.send_scratch(status, JSON, req.close, &headers).await
    } else {
        conn.send_scratch(status, JSON, req.close, extra).await
    }
}

async fn bad_request(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    message: &str,
) -> io::Result<Outcome> {
    send_error(
        conn,
        req,
        extra,
        400,
        message,
        "invalid_request_error",
        Some("invalid_request"),
    )
    .await?;
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
        let kind = match status {
            400 | 404 | 409 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "requests",
            _ => "server_error",
        };
        send_error(
            conn,
            req,
            extra,
            status,
            &message,
            kind,
            Some("mock_failure"),
        )
        .await?;
        return Ok(Some(Outcome::Done));
    }
    Ok(None)
}

/// Rejects bodies sonic-rs must not see (over-deep nesting aborts the process).
fn check_body(body: &[u8]) -> Result<(), &'static str> {
    if body.is_empty() {
        return Err("The request body is empty; a JSON object is required.");
    }
    if !depth_ok(body, MAX_DEPTH) {
        return Err("The request body nests too deeply.");
    }
    Ok(())
}

/// What a chat request contributes to the answer.
#[derive(Debug, Default)]
struct ChatRequest<'a> {
    model: Cow<'a, str>,
    stream: bool,
    include_usage: bool,
    last_user: Cow<'a, str>,
    prompt_words: u64,
    first_tool: Option<String>,
}

fn parse_chat(body: &[u8]) -> Result<ChatRequest<'_>, String> {
    let mut chat = ChatRequest::default();
    let mut model = None;
    let mut saw_messages = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("invalid JSON body: {e}"))?;
        match &*key {
            "model" => model = Some(str_of(&value).ok_or("model must be a string")?),
            "stream" => chat.stream = value.as_bool().unwrap_or(false),
            "stream_options" => chat.include_usage = include_usage(&value),
            "messages" => {
                saw_messages = true;
                let messages = value.into_array_iter().ok_or("messages must be an array")?;
                for message in messages {
                    let message = message.map_err(|e| format!("invalid messages: {e}"))?;
                    read_message(message, &mut chat)?;
                }
            }
            "tools" => chat.first_tool = first_tool_name(value),
            _ => {}
        }
    }
    chat.model = model.ok_or("you must provide a model parameter")?;
    if !saw_messages {
        return Err("Missing required parameter: 'messages'.".into());
    }
    chat.prompt_words = chat.prompt_words.max(1);
    Ok(chat)
}

fn read_message<'a>(message: LazyValue<'a>, chat: &mut ChatRequest<'a>) -> Result<(), String> {
    let fields = message
        .into_object_iter()
        .ok_or("each message must be an object")?;
    let mut is_user = false;
    let mut text = Cow::Borrowed("");
    for entry in fields {
        let (key, value) = entry.map_err(|e| format!("invalid message: {e}"))?;
        match &*key {
            "role" => is_user = str_of(&value).is_some_and(|r| r == "user"),
            "content" => text = content_text(value),
            _ => {}
        }
    }
    chat.prompt_words += count_words(&text);
    if is_user {
        chat.last_user = text;
    }
    Ok(())
}

fn include_usage(options: &LazyValue<'_>) -> bool {
    options
        .get("include_usage")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn first_tool_name(tools: LazyValue<'_>) -> Option<String> {
    let first = tools.into_array_iter()?.next()?.ok()?;
    let name = first.get("function")?.get("name")?.as_str()?.to_owned();
    Some(name)
}

async fn chat(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Err(message) = check_body(req.body) {
        return bad_request(conn, req, extra, message).await;
    }
    let chat = match parse_chat(req.body) {
        Ok(chat) => chat,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let directives = Directives::parse(&chat.model);
    if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
        return Ok(outcome);
    }
    let id = shared.next_response_id();
    let created = now_secs();
    let tool = chat
        .first_tool
        .as_deref()
        .filter(|_| chat.last_user.to_ascii_lowercase().contains("call a tool"));
    let completion_words = match tool {
        Some(name) => 1 + count_words(name),
        None => 1 + count_words(&chat.last_user),
    };
    let usage = Usage::new(chat.prompt_words, completion_words);
    if chat.stream {
        let events = chat_events(shared, &chat, id, created, tool, usage);
        let ctx = StreamCtx {
            shared,
            req,
            extra,
            directives: &directives,
        };
        return drive_stream(conn, &ctx, &events, CHAT_BREAK_AFTER).await;
    }
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"id\":\"chatcmpl-mock-");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"object\":\"chat.completion\",\"created\":");
    push_u64(out, created);
    out.extend_from_slice(b",\"model\":");
    push_str(out, &chat.model);
    out.extend_from_slice(b",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",");
    match tool {
        Some(name) => {
            out.extend_from_slice(b"\"content\":null,\"tool_calls\":[");
            push_tool_call(out, id, name, "{}");
            out.extend_from_slice(b"]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]");
        }
        None => {
            out.extend_from_slice(b"\"content\":\"echo: ");
            push_escaped(out, &chat.last_user);
            out.extend_from_slice(b"\"},\"logprobs\":null,\"finish_reason\":\"stop\"}]");
        }
    }
    out.extend_from_slice(b",\"usage\":");
    usage.write(out);
    out.push(b'}');
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

fn push_tool_call(out: &mut Vec<u8>, id: u64, name: &str, arguments: &str) {
    out.extend_from_slice(b"{\"id\":\"call_mock_");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"type\":\"function\",\"function\":{\"name\":");
    push_str(out, name);
    out.extend_from_slice(b",\"arguments\":");
    push_str(out, arguments);
    out.extend_from_slice(b"}}");
}

/// Token usage derived from word counts.
#[derive(Debug, Clone, Copy)]
struct Usage {
    prompt: u64,
    completion: u64,
}

impl Usage {
    fn new(prompt: u64, completion: u64) -> Self {
        Self { prompt, completion }
    }

    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"prompt_tokens\":");
        push_u64(out, self.prompt);
        out.extend_from_slice(b",\"completion_tokens\":");
        push_u64(out, self.completion);
        out.extend_from_slice(b",\"total_tokens\":");
        push_u64(out, self.prompt + self.completion);
        out.push(b'}');
    }
}

/// The JSON payloads of a streamed chat answer, `[DONE]` excluded.
fn chat_events(
    shared: &Shared,
    chat: &ChatRequest<'_>,
    id: u64,
    created: u64,
    tool: Option<&str>,
    usage: Usage,
) -> Vec<Vec<u8>> {
    let mut prefix = b"{\"id\":\"chatcmpl-mock-".to_vec();
    push_u64(&mut prefix, id);
    prefix.extend_from_slice(b"\",\"object\":\"chat.completion.chunk\",\"created\":");
    push_u64(&mut prefix, created);
    prefix.extend_from_slice(b",\"model\":");
    push_str(&mut prefix, &chat.model);
    let event = |delta: &[u8], finish: Option<&str>| {
        let mut e = prefix.clone();
        e.extend_from_slice(b",\"choices\":[{\"index\":0,\"delta\":");
        e.extend_from_slice(delta);
        e.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(f) => push_str(&mut e, f),
            None => e.extend_from_slice(b"null"),
        }
        e.extend_from_slice(b"}]}");
        e
    };
    let mut events = Vec::with_capacity(shared.settings.chunks + 2);
    match tool {
        Some(name) => {
            let mut delta = b"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[".to_vec();
            let mut call = Vec::new();
            push_tool_call(&mut call, id, name, "");
            // Streamed tool calls carry an index before the id.
            delta.extend_from_slice(b"{\"index\":0,");
            delta.extend_from_slice(&call[1..]);
            delta.extend_from_slice(b"]}");
            events.push(event(&delta, None));
            let args = b"{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}";
            events.push(event(args, None));
            events.push(event(b"{}", Some("tool_calls")));
        }
        None => {
            events.push(event(b"{\"role\":\"assistant\",\"content\":\"\"}", None));
            let text = format!("echo: {}", chat.last_user);
            for piece in split_even(&text, shared.settings.chunks.saturating_sub(2).max(1)) {
                let mut delta = b"{\"content\":\"".to_vec();
                push_escaped(&mut delta, piece);
                delta.extend_from_slice(b"\"}");
                events.push(event(&delta, None));
            }
            events.push(event(b"{}", Some("stop")));
        }
    }
    if chat.include_usage {
        let mut e = prefix;
        e.extend_from_slice(b",\"choices\":[],\"usage\":");
        usage.write(&mut e);
        e.push(b'}');
        events.push(e);
    }
    events
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

/// What a streamed answer needs besides its events.
struct StreamCtx<'s, 'r> {
    shared: &'s Shared,
    req: &'s Req<'r>,
    extra: &'s ExtraHeaders,
    directives: &'s Directives,
}

/// Sends `events` as SSE, each in its own chunk with the configured delay between events, then
/// `[DONE]`, unless a `stream-*` directive breaks the stream after `break_after` events.
async fn drive_stream(
    conn: &mut Conn,
    ctx: &StreamCtx<'_, '_>,
    events: &[Vec<u8>],
    break_after: usize,
) -> io::Result<Outcome> {
    let delay = ctx.shared.settings.chunk_delay;
    let pause = || async move {
        if !delay.is_zero() {
            monoio::time::sleep(delay).await;
        }
    };
    conn.start_stream(ctx.req.close, ctx.extra).await?;
    let d = ctx.directives;
    let limit = if d.breaks_stream() {
        break_after.min(events.len())
    } else {
        events.len()
    };
    for (i, event) in events[..limit].iter().enumerate() {
        if i > 0 {
            pause().await;
        }
        conn.send_event_bytes(event).await?;
    }
    if d.stream_hang {
        return Ok(Outcome::Hang);
    }
    if d.stream_cut {
        return Ok(Outcome::Close);
    }
    pause().await;
    if d.stream_error {
        conn.send_event_bytes(
            b"{\"error\":{\"message\":\"mock failure: stream broken by the model name\",\
              \"type\":\"server_error\",\"param\":null,\"code\":\"mock_stream_error\"}}",
        )
        .await?;
    } else {
        conn.send_event_bytes(b"[DONE]").await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

/// What a legacy completion request contributes to the answer.
#[derive(Debug, Default)]
struct CompletionRequest<'a> {
    model: Cow<'a, str>,
    stream: bool,
    include_usage: bool,
    prompts: Vec<Cow<'a, str>>,
}

fn parse_completion(body: &[u8]) -> Result<CompletionRequest<'_>, String> {
    let mut c = CompletionRequest::default();
    let mut model = None;
    let mut saw_prompt = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("invalid JSON body: {e}"))?;
        match &*key {
            "model" => model = Some(str_of(&value).ok_or("model must be a string")?),
            "stream" => c.stream = value.as_bool().unwrap_or(false),
            "stream_options" => c.include_usage = include_usage(&value),
            "prompt" => {
                saw_prompt = true;
                c.prompts = texts_of(value)?;
            }
            _ => {}
        }
    }
    c.model = model.ok_or("you must provide a model parameter")?;
    if !saw_prompt || c.prompts.is_empty() {
        return Err("Missing required parameter: 'prompt'.".into());
    }
    Ok(c)
}

/// A string, or each element of an array: strings unescaped, anything else (token arrays) as
/// its raw JSON text.
fn texts_of(value: LazyValue<'_>) -> Result<Vec<Cow<'_, str>>, String> {
    if let Some(s) = str_of(&value) {
        return Ok(vec![s]);
    }
    if !value.is_array() {
        return Err("expected a string or an array".into());
    }
    // A single token array (`[1, 2, 3]`) is one input, not three.
    let first_is_number = value.get(0usize).is_some_and(|v| v.is_number());
    if first_is_number {
        return Ok(vec![value.as_raw_cow()]);
    }
    let mut out = Vec::new();
    if let Some(items) = value.into_array_iter() {
        for item in items {
            let item = item.map_err(|e| format!("invalid array: {e}"))?;
            out.push(str_of(&item).unwrap_or_else(|| item.as_raw_cow()));
        }
    }
    Ok(out)
}

async fn completions(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Err(message) = check_body(req.body) {
        return bad_request(conn, req, extra, message).await;
    }
    let c = match parse_completion(req.body) {
        Ok(c) => c,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let directives = Directives::parse(&c.model);
    if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
        return Ok(outcome);
    }
    let id = shared.next_response_id();
    let created = now_secs();
    let prompt_words: u64 = c.prompts.iter().map(|p| count_words(p)).sum::<u64>().max(1);
    let mut prefix = b"{\"id\":\"cmpl-mock-".to_vec();
    push_u64(&mut prefix, id);
    prefix.extend_from_slice(b"\",\"object\":\"text_completion\",\"created\":");
    push_u64(&mut prefix, created);
    prefix.extend_from_slice(b",\"model\":");
    push_str(&mut prefix, &c.model);
    if c.stream {
        // Streams answer the first prompt only.
        let first = c.prompts.first().map_or("", |p| p);
        let usage = Usage::new(prompt_words, 1 + count_words(first));
        let events = completion_events(shared, &c, prefix, first, usage);
        let ctx = StreamCtx {
            shared,
            req,
            extra,
            directives: &directives,
        };
        return drive_stream(conn, &ctx, &events, TEXT_BREAK_AFTER).await;
    }
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(&prefix);
    out.extend_from_slice(b",\"choices\":[");
    let mut completion_words = 0;
    for (i, prompt) in c.prompts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        completion_words += 1 + count_words(prompt);
        out.extend_from_slice(b"{\"text\":\"echo: ");
        push_escaped(out, prompt);
        out.extend_from_slice(b"\",\"index\":");
        push_u64(out, i as u64);
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":\"stop\"}");
    }
    out.extend_from_slice(b"],\"usage\":");
    Usage::new(prompt_words, completion_words).write(out);
    out.push(b'}');
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

fn completion_events(
    shared: &Shared,
    c: &CompletionRequest<'_>,
    prefix: Vec<u8>,
    prompt: &str,
    usage: Usage,
) -> Vec<Vec<u8>> {
    let event = |text: &str, finish: Option<&str>| {
        let mut e = prefix.clone();
        e.extend_from_slice(b",\"choices\":[{\"text\":\"");
        push_escaped(&mut e, text);
        e.extend_from_slice(b"\",\"index\":0,\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(f) => push_str(&mut e, f),
            None => e.extend_from_slice(b"null"),
        }
        e.extend_from_slice(b"}]}");
        e
    };
    let text = format!("echo: {prompt}");
    let mut events: Vec<Vec<u8>> =
        split_even(&text, shared.settings.chunks.saturating_sub(1).max(1))
            .into_iter()
            .map(|piece| event(piece, None))
            .collect();
    events.push(event("", Some("stop")));
    if c.include_usage {
        let mut e = prefix;
        e.extend_from_slice(b",\"choices\":[],\"usage\":");
        usage.write(&mut e);
        e.push(b'}');
        events.push(e);
    }
    events
}

/// What an embeddings request contributes to the answer.
#[derive(Debug, Default)]
struct EmbeddingRequest<'a> {
    model: Cow<'a, str>,
    inputs: Vec<Cow<'a, str>>,
    base64: bool,
    dims: usize,
}

fn parse_embedding(body: &[u8]) -> Result<EmbeddingRequest<'_>, String> {
    let mut e = EmbeddingRequest {
        dims: EMBEDDING_DIMS,
        ..EmbeddingRequest::default()
    };
    let mut model = None;
    let mut saw_input = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|err| format!("invalid JSON body: {err}"))?;
        match &*key {
            "model" => model = Some(str_of(&value).ok_or("model must be a string")?),
            "input" => {
                saw_input = true;
                e.inputs = texts_of(value)?;
            }
            "encoding_format" => e.base64 = str_of(&value).is_some_and(|f| f == "base64"),
            "dimensions" => {
                let dims = value
                    .as_u64()
                    .ok_or("dimensions must be a positive integer")?;
                e.dims = usize::try_from(dims)
                    .unwrap_or(usize::MAX)
                    .clamp(1, MAX_EMBEDDING_DIMS);
            }
            _ => {}
        }
    }
    e.model = model.ok_or("you must provide a model parameter")?;
    if !saw_input || e.inputs.is_empty() {
        return Err("Missing required parameter: 'input'.".into());
    }
    Ok(e)
}

async fn embeddings(
    _shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Err(message) = check_body(req.body) {
        return bad_request(conn, req, extra, message).await;
    }
    let e = match parse_embedding(req.body) {
        Ok(e) => e,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let directives = Directives::parse(&e.model);
    if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
        return Ok(outcome);
    }
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    let mut vector = Vec::with_capacity(e.dims);
    let mut words = 0;
    for (i, input) in e.inputs.iter().enumerate() {
        words += count_words(input);
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
        push_u64(out, i as u64);
        out.extend_from_slice(b",\"embedding\":");
        embedding_of(input, e.dims, &mut vector);
        if e.base64 {
            let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .as_bytes(),
            );
            out.push(b'"');
        } else {
            out.push(b'[');
            for (k, f) in vector.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(f.to_string().as_bytes());
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"model\":");
    push_str(out, &e.model);
    let words = words.max(1);
    out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    push_u64(out, words);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, words);
    out.extend_from_slice(b"}}");
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

/// A deterministic vector in [-1, 1) from a hash of `text`; each value has at most 24
/// significant bits so it prints and round-trips exactly as f32.
fn embedding_of(text: &str, dims: usize, out: &mut Vec<f32>) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    out.clear();
    for k in 0..dims as u64 {
        let mut x = h.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        let unit = (x >> 40) as f32 / (1u64 << 24) as f32;
        out.push(unit * 2.0 - 1.0);
    }
}

/// The `GET /models` body, built once.
fn models_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut out = b"{\"object\":\"list\",\"data\":[".to_vec();
        for (i, id) in MODELS.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            push_str(&mut out, id);
            out.extend_from_slice(b",\"object\":\"model\",\"created\":");
            push_u64(&mut out, MODEL_CREATED);
            out.extend_from_slice(b",\"owned_by\":\"mock\"}");
        }
        out.extend_from_slice(b"]}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_by_suffix_and_method() {
        assert_eq!(
            route(Method::Post, "/v1/chat/completions"),
            Some(Route::Chat)
        );
        assert_eq!(
            route(Method::Post, "/openai/v1/chat/completions"),
            Some(Route::Chat)
        );
        assert_eq!(route(Method::Post, "/chat/completions"), Some(Route::Chat));
        assert_eq!(
            route(Method::Post, "/v1/completions"),
            Some(Route::Completions)
        );
        assert_eq!(
            route(Method::Post, "/v1/embeddings"),
            Some(Route::Embeddings)
        );
        assert_eq!(route(Method::Get, "/v1/models"), Some(Route::Models));
        assert_eq!(route(Method::Get, "/v1/models/gpt-4o"), Some(Route::Model));
        assert_eq!(route(Method::Get, "/v1/models/"), None);
        assert_eq!(route(Method::Get, "/v1/chat/completions"), None);
        assert_eq!(route(Method::Post, "/v1/unknown"), None);
    }

    #[test]
    fn chat_parse_takes_last_user_message_and_counts_words() {
        let body =
            br#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"system","content":"be brief"},
                        {"role":"user","content":"first question"},
                        {"role":"assistant","content":"an answer"},
                        {"role":"user","content":[{"type":"text","text":"say \"hi\""}]}],
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}"#;
        let chat = parse_chat(body).expect("valid");
        assert_eq!(chat.model, "gpt-4o-mini");
        assert!(chat.stream && chat.include_usage);
        assert_eq!(chat.last_user, "say \"hi\"");
        assert_eq!(chat.prompt_words, 8);
        assert_eq!(chat.first_tool.as_deref(), Some("get_weather"));
    }

    #[test]
    fn chat_parse_errors() {
        assert!(parse_chat(br#"{"messages":[]}"#).is_err());
        assert!(parse_chat(br#"{"model":"m"}"#).is_err());
        assert!(parse_chat(br#"{"model":1,"messages":[]}"#).is_err());
        assert!(parse_chat(br#"{"model":"m","messages":[1]}"#).is_err());
        assert!(parse_chat(b"not json").is_err());
        assert!(check_body(&b"[".repeat(10_000)).is_err());
    }

    #[test]
    fn split_even_keeps_text_and_char_boundaries() {
        let text = "echo: héllo wörld";
        for n in 1..30 {
            let pieces = split_even(text, n);
            assert_eq!(pieces.len(), n);
            assert_eq!(pieces.concat(), text);
        }
    }

    #[test]
    fn streamed_chat_events_are_valid_json_and_concatenate() {
        let shared = Shared::new(crate::state::Settings {
            chunks: 6,
            ..Default::default()
        });
        let chat = ChatRequest {
            model: "m\"x".into(),
            include_usage: true,
            last_user: "a \"quoted\" line\n".into(),
            ..ChatRequest::default()
        };
        let events = chat_events(&shared, &chat, 7, 1, None, Usage::new(3, 4));
        assert_eq!(events.len(), 7);
        let parsed: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::from_slice(e).expect("json"))
            .collect();
        assert_eq!(parsed[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(parsed[0]["model"], "m\"x");
        let text: String = parsed[1..5]
            .iter()
            .map(|p| {
                p["choices"][0]["delta"]["content"]
                    .as_str()
                    .expect("content")
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "echo: a \"quoted\" line\n");
        assert_eq!(parsed[5]["choices"][0]["finish_reason"], "stop");
        assert_eq!(parsed[6]["usage"]["total_tokens"], 7);
    }

    #[test]
    fn streamed_tool_call_events() {
        let shared = Shared::default();
        let chat = ChatRequest {
            model: "m".into(),
            ..ChatRequest::default()
        };
        let events = chat_events(&shared, &chat, 3, 1, Some("lookup"), Usage::new(1, 2));
        let parsed: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::from_slice(e).expect("json"))
            .collect();
        let call = &parsed[0]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["index"], 0);
        assert_eq!(call["id"], "call_mock_3");
        assert_eq!(call["function"]["name"], "lookup");
        assert_eq!(
            parsed[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(parsed[2]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn embeddings_are_deterministic_and_bounded() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        embedding_of("hello", 8, &mut a);
        embedding_of("hello", 8, &mut b);
        embedding_of("hellp", 8, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|f| (-1.0..1.0).contains(f)));
        let printed: f32 = a[0].to_string().parse().expect("float");
        assert_eq!(printed, a[0]);
    }

    #[test]
    fn texts_of_accepts_strings_arrays_and_tokens() {
        let get = |body: &'static [u8]| sonic_rs::get(body, ["p"]).expect("p");
        assert_eq!(texts_of(get(br#"{"p":"one"}"#)).expect("s"), ["one"]);
        assert_eq!(texts_of(get(br#"{"p":["a","b"]}"#)).expect("a"), ["a", "b"]);
        assert_eq!(
            texts_of(get(br#"{"p":[[1,2],[3]]}"#)).expect("t"),
            ["[1,2]", "[3]"]
        );
        assert_eq!(texts_of(get(br#"{"p":[1,2,3]}"#)).expect("n"), ["[1,2,3]"]);
        assert!(texts_of(get(br#"{"p":5}"#)).is_err());
    }

    #[test]
    fn models_body_is_valid_json() {
        let v: serde_json::Value = serde_json::from_slice(models_body()).expect("json");
        assert_eq!(v["object"], "list");
        assert_eq!(v["data"][0]["id"], "gpt-4o-mini");
        assert_eq!(v["data"][0]["owned_by"], "mock");
    }
}
