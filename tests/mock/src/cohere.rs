//! The Cohere v2 format: chat (plain and streamed) and embed.
//!
//! | route | answer |
//! |---|---|
//! | `POST .../v2/chat` | `echo: <last user text>` (text blocks joined by a space); with `tools` and "call a tool" in the last user text, a `tool_plan` and one tool call of the first tool with arguments `{}`, `finish_reason: "TOOL_CALL"` |
//! | `POST .../v2/embed` | `output_dimension` (default 8) deterministic floats per text under `embeddings.float` |
//!
//! Auth: `Authorization: Bearer <token>` is required (401 `{"id", "message"}` otherwise);
//! tokens starting with `bad` get 401, tokens starting with `limited` get 429 with
//! `retry-after: 0`. Like Cohere, the mock refuses what its API does not know: top-level
//! members outside the v2 chat / embed schema (an OpenAI-only `top_p`, `stop` or
//! `stream_options` gets 400), roles other than system/user/assistant/tool, a tool message
//! without `tool_call_id`, a `tool_choice` other than `REQUIRED`/`NONE`, and an embed request
//! without `input_type` or with an embedding type other than `float`.
//!
//! Usage: `billed_units` counts words (every message's text for the input; `echo:` plus the
//! echoed words for the output); `tokens.input_tokens` adds [`PREAMBLE_TOKENS`], as Cohere's
//! actual token count includes its own preamble, so tests can tell which one a client reports.
//!
//! Streams (`"stream": true`) send one `event: <type>\ndata: <json>` per HTTP chunk,
//! `--chunk-delay-ms` apart: `message-start`, `content-start`, `--chunks` `content-delta`
//! events, `content-end`, `message-end` (finish reason and usage); a tool call streams
//! `message-start`, `tool-plan-delta`, `tool-call-start`, `tool-call-delta`, `tool-call-end`,
//! `message-end`. Model-name directives work as on the other formats: `fail-<status>` answers
//! with a Cohere error body, `stream-error` ends the stream after the start events and two
//! deltas with a `message-end` carrying `finish_reason: "ERROR"` and `delta.error` (how Cohere
//! reports a failure mid-stream), `stream-hang` and `stream-cut` stall or close there.
//! Ids: `cohere-mock-N`, tool calls `<name>_mock_N`.

use std::{borrow::Cow, io};

use sonic_rs::{JsonValueTrait, LazyValue};

use crate::{
    dispatch::{Outcome, Req},
    faults::Directives,
    json_read::{MAX_DEPTH, content_text, count_words, depth_ok, str_of},
    json_write::{push_escaped, push_hex, push_str, push_u64},
    request::Method,
    response::{Conn, ExtraHeaders},
    state::Shared,
};

const JSON: &str = "application/json";
/// Tokens Cohere's own preamble adds to `usage.tokens.input_tokens` (not billed).
pub const PREAMBLE_TOKENS: u64 = 7;
/// Events sent before a `stream-*` fault breaks the stream: start, content start, 2 deltas.
const BREAK_AFTER: usize = 4;
/// Default and largest embedding size.
const EMBEDDING_DIMS: u64 = 8;
const MAX_EMBEDDING_DIMS: u64 = 4096;

/// Top-level members of a v2 chat request.
const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "strict_tools",
    "thinking",
    "priority",
    "stream",
];

/// Top-level members of a v2 embed request.
const EMBED_FIELDS: &[&str] = &[
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "embedding_types",
    "output_dimension",
    "max_tokens",
    "truncate",
    "priority",
];

/// A Cohere endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST .../v2/chat`
    Chat,
    /// `POST .../v2/embed`
    Embed,
}

/// Matches a request to a Cohere endpoint; `None` leaves it to the other formats.
pub fn route(req: &Req<'_>) -> Option<Route> {
    match req.method() {
        Method::Post if req.path.ends_with("/v2/chat") => Some(Route::Chat),
        Method::Post if req.path.ends_with("/v2/embed") => Some(Route::Embed),
        _ => None,
    }
}

/// Serves a Cohere route (auth first, then the endpoint).
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Some((status, message)) = check_auth(req) {
        send_error(conn, req, extra, status, message).await?;
        return Ok(Outcome::Done);
    }
    if req.body.is_empty() {
        return bad_request(conn, req, extra, "invalid request: body is empty").await;
    }
    if !depth_ok(req.body, MAX_DEPTH) {
        return bad_request(conn, req, extra, "invalid request: body nests too deeply").await;
    }
    match route {
        Route::Chat => {
            let chat = match parse_chat(req.body) {
                Ok(c) => c,
                Err(message) => return bad_request(conn, req, extra, &message).await,
            };
            let directives = Directives::parse(&chat.model);
            if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
                return Ok(outcome);
            }
            chat_answer(shared, conn, req, extra, &chat, &directives).await
        }
        Route::Embed => {
            let embed = match parse_embed(req.body) {
                Ok(e) => e,
                Err(message) => return bad_request(conn, req, extra, &message).await,
            };
            let directives = Directives::parse(&embed.model);
            if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
                return Ok(outcome);
            }
            embed_answer(shared, conn, req, extra, &embed).await
        }
    }
}

/// Auth check: `(status, message)` when the request is refused.
fn check_auth(req: &Req<'_>) -> Option<(u16, &'static str)> {
    let value = req.header("authorization").unwrap_or(b"").trim_ascii();
    let token = match value.split_at_checked(7) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => token.trim_ascii(),
        _ => return Some((401, "no api key supplied")),
    };
    if token.is_empty() {
        Some((401, "no api key supplied"))
    } else if token.starts_with(b"bad") {
        Some((401, "invalid api token"))
    } else if token.starts_with(b"limited") {
        Some((
            429,
            "You are using a Trial key, which is limited to 20 API calls / minute (mock: tokens starting with \"limited\" are limited).",
        ))
    } else {
        None
    }
}

/// Writes `{"id":"cohere-mock-error","message":..}` into `out`.
fn write_error(out: &mut Vec<u8>, message: &str) {
    out.extend_from_slice(b"{\"id\":\"cohere-mock-error\",\"message\":");
    push_str(out, message);
    out.push(b'}');
}

/// Sends a Cohere error body; 429s carry `retry-after: 0` so that retries are fast.
async fn send_error(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    status: u16,
    message: &str,
) -> io::Result<()> {
    conn.scratch.clear();
    write_error(&mut conn.scratch, message);
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
    send_error(conn, req, extra, 400, message).await?;
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
        send_error(conn, req, extra, status, &message).await?;
        return Ok(Some(Outcome::Done));
    }
    Ok(None)
}

/// What a chat request contributes to the answer.
#[derive(Debug, Default)]
struct ChatRequest<'a> {
    model: Cow<'a, str>,
    stream: bool,
    last_user: Cow<'a, str>,
    input_words: u64,
    first_tool: Option<String>,
}

fn parse_chat(body: &[u8]) -> Result<ChatRequest<'_>, String> {
    let mut chat = ChatRequest::default();
    let mut model = None;
    let mut saw_messages = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("invalid request: invalid JSON: {e}"))?;
        match &*key {
            "model" => {
                model = Some(str_of(&value).ok_or("invalid request: model must be a string")?)
            }
            "stream" => chat.stream = value.as_bool().unwrap_or(false),
            "messages" => {
                saw_messages = true;
                let messages = value
                    .into_array_iter()
                    .ok_or("invalid request: messages must be an array")?;
                for (i, message) in messages.enumerate() {
                    let message = message.map_err(|e| format!("invalid request: messages: {e}"))?;
                    read_message(message, i, &mut chat)?;
                }
            }
            "tools" => chat.first_tool = first_tool_name(value),
            "tool_choice" if !matches!(str_of(&value).as_deref(), Some("REQUIRED" | "NONE")) => {
                return Err("invalid request: tool_choice must be one of REQUIRED, NONE".into());
            }
            other if !CHAT_FIELDS.contains(&other) => {
                return Err(format!(
                    "invalid request: unknown field: parameter {other} is not a valid field"
                ));
            }
            _ => {}
        }
    }
    chat.model = model.ok_or("invalid request: model is required")?;
    if !saw_messages {
        return Err("invalid request: messages is required".into());
    }
    chat.input_words = chat.input_words.max(1);
    Ok(chat)
}

fn read_message<'a>(
    message: LazyValue<'a>,
    i: usize,
    chat: &mut ChatRequest<'a>,
) -> Result<(), String> {
    let fields = message
        .into_object_iter()
        .ok_or("invalid request: each message must be an object")?;
    let mut role = None;
    let mut text = Cow::Borrowed("");
    let mut has_call_id = false;
    for entry in fields {
        let (key, value) = entry.map_err(|e| format!("invalid request: message: {e}"))?;
        match &*key {
            "role" => role = str_of(&value),
            "content" => text = content_text(value),
            "tool_call_id" => has_call_id = value.is_str(),
            _ => {}
        }
    }
    match role.as_deref() {
        Some("user") => {
            chat.input_words += count_words(&text);
            chat.last_user = text;
        }
        Some("tool") if !has_call_id => {
            return Err(format!(
                "invalid request: messages[{i}]: tool messages need a tool_call_id"
            ));
        }
        Some("system" | "assistant" | "tool") => chat.input_words += count_words(&text),
        _ => {
            return Err(format!(
                "invalid request: messages[{i}].role must be one of system, user, assistant, tool"
            ));
        }
    }
    Ok(())
}

fn first_tool_name(tools: LazyValue<'_>) -> Option<String> {
    let first = tools.into_array_iter()?.next()?.ok()?;
    Some(first.get("function")?.get("name")?.as_str()?.to_owned())
}

/// Writes `{"billed_units":{..},"tokens":{..}}`.
fn write_usage(out: &mut Vec<u8>, input: u64, output: u64) {
    out.extend_from_slice(b"{\"billed_units\":{\"input_tokens\":");
    push_u64(out, input);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, output);
    out.extend_from_slice(b"},\"tokens\":{\"input_tokens\":");
    push_u64(out, input + PREAMBLE_TOKENS);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, output);
    out.extend_from_slice(b"}}");
}

fn write_tool_call(out: &mut Vec<u8>, id: u64, name: &str, arguments: &str) {
    out.extend_from_slice(b"{\"id\":");
    push_str(out, &format!("{name}_mock_{id}"));
    out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
    push_str(out, name);
    out.extend_from_slice(b",\"arguments\":");
    push_str(out, arguments);
    out.extend_from_slice(b"}}");
}

async fn chat_answer(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    chat: &ChatRequest<'_>,
    directives: &Directives,
) -> io::Result<Outcome> {
    let id = shared.next_response_id();
    let tool = chat
        .first_tool
        .as_deref()
        .filter(|_| chat.last_user.to_ascii_lowercase().contains("call a tool"));
    let output_words = match tool {
        Some(name) => 1 + count_words(name),
        None => 1 + count_words(&chat.last_user),
    };
    if chat.stream {
        let events = stream_events(shared, chat, id, tool, output_words);
        return drive_stream(shared, conn, req, extra, directives, &events).await;
    }
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"id\":\"cohere-mock-");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"message\":{\"role\":\"assistant\",");
    match tool {
        Some(name) => {
            out.extend_from_slice(b"\"tool_plan\":");
            push_str(out, &format!("I will call {name}."));
            out.extend_from_slice(b",\"tool_calls\":[");
            write_tool_call(out, id, name, "{}");
            out.extend_from_slice(b"]},\"finish_reason\":\"TOOL_CALL\"");
        }
        None => {
            out.extend_from_slice(b"\"content\":[{\"type\":\"text\",\"text\":\"echo: ");
            push_escaped(out, &chat.last_user);
            out.extend_from_slice(b"\"}]},\"finish_reason\":\"COMPLETE\"");
        }
    }
    out.extend_from_slice(b",\"usage\":");
    write_usage(out, chat.input_words, output_words);
    out.push(b'}');
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

/// The `(event type, data)` pairs of a streamed answer (`message-end` last).
fn stream_events(
    shared: &Shared,
    chat: &ChatRequest<'_>,
    id: u64,
    tool: Option<&str>,
    output_words: u64,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut events = Vec::with_capacity(shared.settings.chunks + 5);
    let mut start = b"{\"id\":\"cohere-mock-".to_vec();
    push_u64(&mut start, id);
    start.extend_from_slice(
        b"\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}",
    );
    events.push(("message-start", start));
    let finish = match tool {
        Some(name) => {
            let mut plan =
                b"{\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":".to_vec();
            push_str(&mut plan, &format!("I will call {name}."));
            plan.extend_from_slice(b"}}}");
            events.push(("tool-plan-delta", plan));
            let mut call = b"{\"type\":\"tool-call-start\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":".to_vec();
            write_tool_call(&mut call, id, name, "");
            call.extend_from_slice(b"}}}");
            events.push(("tool-call-start", call));
            events.push((
                "tool-call-delta",
                b"{\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{}\"}}}}}".to_vec(),
            ));
            events.push((
                "tool-call-end",
                b"{\"type\":\"tool-call-end\",\"index\":0}".to_vec(),
            ));
            "TOOL_CALL"
        }
        None => {
            events.push((
                "content-start",
                b"{\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}".to_vec(),
            ));
            let text = format!("echo: {}", chat.last_user);
            for piece in split_even(&text, shared.settings.chunks.max(1)) {
                let mut d = b"{\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":".to_vec();
                push_str(&mut d, piece);
                d.extend_from_slice(b"}}}}");
                events.push(("content-delta", d));
            }
            events.push((
                "content-end",
                b"{\"type\":\"content-end\",\"index\":0}".to_vec(),
            ));
            "COMPLETE"
        }
    };
    events.push((
        "message-end",
        message_end(finish, None, chat.input_words, output_words),
    ));
    events
}

/// A `message-end` event's data: finish reason, usage, and an error when it failed.
fn message_end(finish: &str, error: Option<&str>, input: u64, output: u64) -> Vec<u8> {
    let mut e = b"{\"type\":\"message-end\",\"delta\":{".to_vec();
    if let Some(error) = error {
        e.extend_from_slice(b"\"error\":");
        push_str(&mut e, error);
        e.push(b',');
    }
    e.extend_from_slice(b"\"finish_reason\":");
    push_str(&mut e, finish);
    e.extend_from_slice(b",\"usage\":");
    write_usage(&mut e, input, output);
    e.extend_from_slice(b"}}");
    e
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

/// Sends one `event: <name>\ndata: <data>\n\n` as one HTTP chunk.
async fn send_named_event(conn: &mut Conn, name: &str, data: &[u8]) -> io::Result<()> {
    let len = "event: ".len() + name.len() + "\ndata: ".len() + data.len() + 2;
    push_hex(&mut conn.out, len);
    conn.out.extend_from_slice(b"\r\nevent: ");
    conn.out.extend_from_slice(name.as_bytes());
    conn.out.extend_from_slice(b"\ndata: ");
    conn.out.extend_from_slice(data);
    conn.out.extend_from_slice(b"\n\n\r\n");
    conn.flush().await
}

/// Sends `events`, each in its own chunk with the configured delay between events, unless a
/// `stream-*` directive breaks the stream after [`BREAK_AFTER`] events.
async fn drive_stream(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    d: &Directives,
    events: &[(&'static str, Vec<u8>)],
) -> io::Result<Outcome> {
    let delay = shared.settings.chunk_delay;
    let pause = || async move {
        if !delay.is_zero() {
            monoio::time::sleep(delay).await;
        }
    };
    conn.start_stream(req.close, extra).await?;
    let limit = if d.breaks_stream() {
        BREAK_AFTER.min(events.len())
    } else {
        events.len()
    };
    for (i, (name, data)) in events[..limit].iter().enumerate() {
        if i > 0 {
            pause().await;
        }
        send_named_event(conn, name, data).await?;
    }
    if d.stream_hang {
        return Ok(Outcome::Hang);
    }
    if d.stream_cut {
        return Ok(Outcome::Close);
    }
    if d.stream_error {
        pause().await;
        let data = message_end(
            "ERROR",
            Some("mock failure: stream broken by the model name"),
            1,
            1,
        );
        send_named_event(conn, "message-end", &data).await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

/// What an embed request contributes to the answer.
#[derive(Debug, Default)]
struct EmbedRequest<'a> {
    model: Cow<'a, str>,
    texts: Vec<Cow<'a, str>>,
    dims: u64,
}

fn parse_embed(body: &[u8]) -> Result<EmbedRequest<'_>, String> {
    let mut e = EmbedRequest {
        dims: EMBEDDING_DIMS,
        ..EmbedRequest::default()
    };
    let mut model = None;
    let mut input_type = false;
    let mut saw_texts = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("invalid request: invalid JSON: {e}"))?;
        match &*key {
            "model" => {
                model = Some(str_of(&value).ok_or("invalid request: model must be a string")?)
            }
            "input_type" => input_type = value.is_str(),
            "output_dimension" => {
                e.dims = value
                    .as_u64()
                    .filter(|d| (1..=MAX_EMBEDDING_DIMS).contains(d))
                    .ok_or("invalid request: output_dimension must be a positive integer")?;
            }
            "embedding_types" => {
                let types = value
                    .into_array_iter()
                    .ok_or("invalid request: embedding_types must be an array")?;
                for t in types {
                    let t = t.map_err(|e| format!("invalid request: embedding_types: {e}"))?;
                    if str_of(&t).as_deref() != Some("float") {
                        return Err("invalid request: the mock only embeds as float".into());
                    }
                }
            }
            "texts" => {
                saw_texts = true;
                let texts = value
                    .into_array_iter()
                    .ok_or("invalid request: texts must be an array of strings")?;
                for t in texts {
                    let t = t.map_err(|e| format!("invalid request: texts: {e}"))?;
                    e.texts.push(
                        str_of(&t).ok_or("invalid request: texts must be an array of strings")?,
                    );
                }
            }
            other if !EMBED_FIELDS.contains(&other) => {
                return Err(format!(
                    "invalid request: unknown field: parameter {other} is not a valid field"
                ));
            }
            _ => {}
        }
    }
    e.model = model.ok_or("invalid request: model is required")?;
    if !input_type {
        return Err("invalid request: input_type is required for embed v3 and newer models".into());
    }
    if !saw_texts || e.texts.is_empty() {
        return Err("invalid request: texts must not be empty".into());
    }
    Ok(e)
}

/// Deterministic embedding component `k` of `text`: FNV-1a of the text and `k`, in [-1, 1).
pub fn embedding_value(text: &str, k: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes().chain(k.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // 1/1024 steps keep the value exact in both f32 and decimal text.
    ((h % 2048) as f64 - 1024.0) / 1024.0
}

async fn embed_answer(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    e: &EmbedRequest<'_>,
) -> io::Result<Outcome> {
    let id = shared.next_response_id();
    let words: u64 = e.texts.iter().map(|t| count_words(t)).sum::<u64>().max(1);
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"id\":\"cohere-mock-");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"embeddings\":{\"float\":[");
    for (i, text) in e.texts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for k in 0..e.dims {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(embedding_value(text, k).to_string().as_bytes());
        }
        out.push(b']');
    }
    out.extend_from_slice(b"]},\"texts\":[");
    for (i, text) in e.texts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, text);
    }
    out.extend_from_slice(
        b"],\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"input_tokens\":",
    );
    push_u64(out, words);
    out.extend_from_slice(b"}},\"response_type\":\"embeddings_by_type\"}");
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn parse_chat_reads_roles_tools_and_refuses_openai_fields() {
        let body = br#"{"model":"command-a","stream":true,
            "messages":[{"role":"system","content":"be brief"},
                        {"role":"user","content":"first question"},
                        {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                        {"role":"tool","tool_call_id":"c1","content":"42"},
                        {"role":"user","content":[{"type":"text","text":"say"},{"type":"text","text":"\"hi\""}]}],
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
            "tool_choice":"REQUIRED","p":0.5,"k":3,"stop_sequences":["x"]}"#;
        let c = parse_chat(body).expect("valid");
        assert_eq!(c.model, "command-a");
        assert!(c.stream);
        assert_eq!(c.last_user, "say \"hi\"");
        assert_eq!(c.input_words, 2 + 2 + 1 + 2);
        assert_eq!(c.first_tool.as_deref(), Some("get_weather"));
        for bad in [
            &br#"{"model":"m","messages":[],"top_p":1}"#[..],
            br#"{"model":"m","messages":[],"stream_options":{}}"#,
            br#"{"model":"m","messages":[],"tool_choice":"auto"}"#,
            br#"{"model":"m","messages":[{"role":"developer","content":"x"}]}"#,
            br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
            br#"{"messages":[]}"#,
            br#"{"model":"m"}"#,
            b"nope",
        ] {
            assert!(parse_chat(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn stream_events_are_valid_json() {
        let shared = Shared::new(crate::state::Settings {
            chunks: 3,
            ..Default::default()
        });
        let chat = ChatRequest {
            model: "m".into(),
            last_user: "a \"quoted\" line\n".into(),
            input_words: 3,
            ..ChatRequest::default()
        };
        let events = stream_events(&shared, &chat, 7, None, 4);
        let names: Vec<&str> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "message-start",
                "content-start",
                "content-delta",
                "content-delta",
                "content-delta",
                "content-end",
                "message-end"
            ]
        );
        let parsed: Vec<Value> = events
            .iter()
            .map(|(n, d)| {
                let v: Value = serde_json::from_slice(d).expect("json");
                assert_eq!(v["type"], *n);
                v
            })
            .collect();
        assert_eq!(parsed[0]["id"], "cohere-mock-7");
        let text: String = parsed[2..5]
            .iter()
            .map(|p| {
                p["delta"]["message"]["content"]["text"]
                    .as_str()
                    .expect("text")
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "echo: a \"quoted\" line\n");
        assert_eq!(parsed[6]["delta"]["finish_reason"], "COMPLETE");
        assert_eq!(
            parsed[6]["delta"]["usage"]["billed_units"]["input_tokens"],
            3
        );
        assert_eq!(
            parsed[6]["delta"]["usage"]["tokens"]["input_tokens"],
            3 + PREAMBLE_TOKENS
        );

        let tools = stream_events(&shared, &chat, 8, Some("lookup"), 2);
        let parsed: Vec<Value> = tools
            .iter()
            .map(|(_, d)| serde_json::from_slice(d).expect("json"))
            .collect();
        assert_eq!(
            parsed[2]["delta"]["message"]["tool_calls"]["id"],
            "lookup_mock_8"
        );
        assert_eq!(
            parsed[3]["delta"]["message"]["tool_calls"]["function"]["arguments"],
            "{}"
        );
        assert_eq!(parsed[5]["delta"]["finish_reason"], "TOOL_CALL");
        let err: Value =
            serde_json::from_slice(&message_end("ERROR", Some("x"), 1, 1)).expect("json");
        assert_eq!(err["delta"]["error"], "x");
    }

    #[test]
    fn parse_embed_requires_input_type_and_float() {
        let ok = br#"{"model":"embed-v4.0","texts":["a b","c"],"input_type":"search_document","embedding_types":["float"],"output_dimension":4}"#;
        let e = parse_embed(ok).expect("valid");
        assert_eq!(e.texts.len(), 2);
        assert_eq!(e.dims, 4);
        for bad in [
            &br#"{"model":"m","texts":["a"]}"#[..],
            br#"{"model":"m","texts":["a"],"input_type":"search_query","embedding_types":["int8"]}"#,
            br#"{"model":"m","texts":[],"input_type":"search_query"}"#,
            br#"{"model":"m","input":"a","input_type":"search_query"}"#,
        ] {
            assert!(parse_embed(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let v = embedding_value("a", 0);
        assert!((-1.0..1.0).contains(&v));
        assert_eq!(v, f64::from(v as f32), "exact in f32");
        assert_eq!(v, embedding_value("a", 0));
    }
}
