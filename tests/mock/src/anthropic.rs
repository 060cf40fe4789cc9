//! The Anthropic Messages format: messages (plain and streamed), token counting, models.
//!
//! | route | answer |
//! |---|---|
//! | `POST .../messages` | `echo: <last user text>` (text blocks joined by a space); with `tools` and "call a tool" in the last user text, a `tool_use` block for the first tool with input `{}` and `stop_reason: "tool_use"` |
//! | `POST .../messages/count_tokens` | `{"input_tokens": n}` |
//! | `GET .../models`, `GET .../models/{id}` with an `anthropic-version` header | Anthropic's model list / one model (without the header these stay OpenAI routes) |
//!
//! Auth: `x-api-key` is required (401 `authentication_error` otherwise); keys starting with
//! `bad` get 401, keys starting with `limited` get 429 `rate_limit_error` with `retry-after: 0`.
//! A missing `anthropic-version` header gets 400 `invalid_request_error`, as Anthropic answers.
//! `max_tokens` is required on `/messages`. Token counts are word counts (system prompt and
//! every message's text for the input; `echo:` plus the echoed words for the output).
//!
//! Streams (`"stream": true`) send one event per HTTP chunk, `--chunk-delay-ms` apart:
//! `message_start`, `content_block_start`, `ping`, `--chunks` `content_block_delta` events
//! (text pieces; one `input_json_delta` for a tool call), `content_block_stop`, `message_delta`
//! (stop reason, output tokens), `message_stop`. Model-name directives work as on the OpenAI
//! routes: `fail-<status>` answers with an Anthropic error body, `stream-error` sends
//! `event: error` (`overloaded_error`) after the ping and two deltas, `stream-hang` and
//! `stream-cut` stall or close there. Ids: `msg_mock_N`, `toolu_mock_N`.

use std::{borrow::Cow, io, sync::OnceLock};

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
/// Models listed by `GET /models`: (id, display name, creation date).
const MODELS: &[(&str, &str, &str)] = &[
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
    ),
    (
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
    ),
];
/// Events sent before a `stream-*` fault breaks the stream: start, block start, ping, 2 deltas.
const BREAK_AFTER: usize = 5;

/// An Anthropic endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST .../messages`
    Messages,
    /// `POST .../messages/count_tokens`
    CountTokens,
    /// `GET .../models` (with `anthropic-version`)
    Models,
    /// `GET .../models/{id}` (with `anthropic-version`)
    Model,
}

/// Matches a request to an Anthropic endpoint; `None` leaves it to the OpenAI routes.
pub fn route(req: &Req<'_>) -> Option<Route> {
    let path = req.path;
    match req.method() {
        Method::Post if path.ends_with("/messages") => Some(Route::Messages),
        Method::Post if path.ends_with("/messages/count_tokens") => Some(Route::CountTokens),
        // The OpenAI routes share these paths; Anthropic clients always send the version.
        Method::Get if req.header("anthropic-version").is_some() => {
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

/// Serves an Anthropic route (auth and version first, then the endpoint).
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Some((status, kind, message)) = check_headers(req) {
        send_error(conn, req, extra, status, kind, message).await?;
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
            push_model(out, id, id, "2025-01-01T00:00:00Z");
            conn.send_scratch(200, JSON, req.close, extra).await?;
            Ok(Outcome::Done)
        }
        Route::Messages | Route::CountTokens => {
            if let Err(message) = check_body(req.body) {
                return bad_request(conn, req, extra, message).await;
            }
            let parsed = match parse(req.body, route == Route::Messages, None) {
                Ok(p) => p,
                Err(message) => return bad_request(conn, req, extra, &message).await,
            };
            let directives = Directives::parse(&parsed.model);
            if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
                return Ok(outcome);
            }
            if route == Route::CountTokens {
                let out = &mut conn.scratch;
                out.clear();
                out.extend_from_slice(b"{\"input_tokens\":");
                push_u64(out, parsed.input_words);
                out.push(b'}');
                conn.send_scratch(200, JSON, req.close, extra).await?;
                return Ok(Outcome::Done);
            }
            messages(shared, conn, req, extra, &parsed, &directives).await
        }
    }
}

/// Serves a Messages request as Vertex's `rawPredict`/`streamRawPredict` takes it: the model
/// comes from the path, the body must not name one and must carry
/// `anthropic_version: "vertex-2023-10-16"` (auth was checked by the caller).
pub async fn serve_vertex(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    model: &str,
) -> io::Result<Outcome> {
    if let Err(message) = check_body(req.body) {
        return bad_request(conn, req, extra, message).await;
    }
    let version = sonic_rs::get(req.body, ["anthropic_version"])
        .ok()
        .and_then(|v| str_of(&v).map(Cow::into_owned));
    if version.as_deref() != Some("vertex-2023-10-16") {
        let message = "anthropic_version: must be \"vertex-2023-10-16\" on Vertex";
        return bad_request(conn, req, extra, message).await;
    }
    if sonic_rs::get(req.body, ["model"]).is_ok() {
        let message = "model: Extra inputs are not permitted (Vertex takes it from the path)";
        return bad_request(conn, req, extra, message).await;
    }
    let parsed = match parse(req.body, true, Some(model)) {
        Ok(p) => p,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let directives = Directives::parse(&parsed.model);
    if let Some(outcome) = apply_directives(&directives, conn, req, extra).await? {
        return Ok(outcome);
    }
    messages(shared, conn, req, extra, &parsed, &directives).await
}

/// Auth and version checks: `(status, error type, message)` when the request is refused.
fn check_headers(req: &Req<'_>) -> Option<(u16, &'static str, &'static str)> {
    let key = req.header("x-api-key").unwrap_or(b"").trim_ascii();
    if key.is_empty() {
        return Some((401, "authentication_error", "x-api-key header is required"));
    }
    if key.starts_with(b"bad") {
        return Some((
            401,
            "authentication_error",
            "invalid x-api-key (mock: keys starting with \"bad\" are rejected)",
        ));
    }
    if key.starts_with(b"limited") {
        return Some((
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your rate limit (mock: keys starting with \"limited\" are limited)",
        ));
    }
    if req
        .header("anthropic-version")
        .is_none_or(|v| v.trim_ascii().is_empty())
    {
        return Some((
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    None
}

/// Anthropic's error type for a status.
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// Writes `{"type":"error","error":{"type":..,"message":..}}` into `out`.
fn write_error(out: &mut Vec<u8>, kind: &str, message: &str) {
    out.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":");
    push_str(out, kind);
    out.extend_from_slice(b",\"message\":");
    push_str(out, message);
    out.extend_from_slice(b"}}");
}

/// Sends an Anthropic error body; 429s carry `retry-after: 0` so that retries are fast.
async fn send_error(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    status: u16,
    kind: &str,
    message: &str,
) -> io::Result<()> {
    conn.scratch.clear();
    write_error(&mut conn.scratch, kind, message);
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
    send_error(conn, req, extra, 400, "invalid_request_error", message).await?;
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
        send_error(conn, req, extra, status, error_type(status), &message).await?;
        return Ok(Some(Outcome::Done));
    }
    Ok(None)
}

/// Rejects bodies sonic-rs must not see (over-deep nesting aborts the process).
fn check_body(body: &[u8]) -> Result<(), &'static str> {
    if body.is_empty() {
        return Err("request body is empty; a JSON object is required");
    }
    if !depth_ok(body, MAX_DEPTH) {
        return Err("request body nests too deeply");
    }
    Ok(())
}

/// What a messages (or count_tokens) request contributes to the answer.
#[derive(Debug, Default)]
struct MessagesRequest<'a> {
    model: Cow<'a, str>,
    stream: bool,
    last_user: Cow<'a, str>,
    input_words: u64,
    first_tool: Option<String>,
}

fn parse<'a>(
    body: &'a [u8],
    needs_max_tokens: bool,
    path_model: Option<&'a str>,
) -> Result<MessagesRequest<'a>, String> {
    let mut m = MessagesRequest::default();
    let mut model = None;
    let mut saw_messages = false;
    let mut saw_max_tokens = false;
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry.map_err(|e| format!("invalid JSON body: {e}"))?;
        match &*key {
            "model" => model = Some(str_of(&value).ok_or("model: Input should be a string")?),
            "max_tokens" => {
                value
                    .as_u64()
                    .ok_or("max_tokens: Input should be a valid integer")?;
                saw_max_tokens = true;
            }
            "stream" => m.stream = value.as_bool().unwrap_or(false),
            "system" => m.input_words += count_words(&content_text(value)),
            "messages" => {
                saw_messages = true;
                let messages = value
                    .into_array_iter()
                    .ok_or("messages: Input should be a valid list")?;
                for message in messages {
                    let message = message.map_err(|e| format!("invalid messages: {e}"))?;
                    read_message(message, &mut m)?;
                }
            }
            "tools" => m.first_tool = first_tool_name(value),
            _ => {}
        }
    }
    m.model = model
        .or(path_model.map(Cow::Borrowed))
        .ok_or("model: Field required")?;
    if !saw_messages {
        return Err("messages: Field required".into());
    }
    if needs_max_tokens && !saw_max_tokens {
        return Err("max_tokens: Field required".into());
    }
    m.input_words = m.input_words.max(1);
    Ok(m)
}

fn read_message<'a>(message: LazyValue<'a>, m: &mut MessagesRequest<'a>) -> Result<(), String> {
    let fields = message
        .into_object_iter()
        .ok_or("messages: each message must be an object")?;
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
    m.input_words += count_words(&text);
    if is_user {
        m.last_user = text;
    }
    Ok(())
}

fn first_tool_name(tools: LazyValue<'_>) -> Option<String> {
    let first = tools.into_array_iter()?.next()?.ok()?;
    Some(first.get("name")?.as_str()?.to_owned())
}

async fn messages(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    m: &MessagesRequest<'_>,
    directives: &Directives,
) -> io::Result<Outcome> {
    let id = shared.next_response_id();
    let tool = m
        .first_tool
        .as_deref()
        .filter(|_| m.last_user.to_ascii_lowercase().contains("call a tool"));
    let output_words = match tool {
        Some(name) => 1 + count_words(name),
        None => 1 + count_words(&m.last_user),
    };
    if m.stream {
        let events = stream_events(shared, m, id, tool, output_words);
        return drive_stream(shared, conn, req, extra, directives, &events).await;
    }
    let out = &mut conn.scratch;
    out.clear();
    out.extend_from_slice(b"{\"id\":\"msg_mock_");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_str(out, &m.model);
    out.extend_from_slice(b",\"content\":[");
    match tool {
        Some(name) => {
            out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":\"toolu_mock_");
            push_u64(out, id);
            out.extend_from_slice(b"\",\"name\":");
            push_str(out, name);
            out.extend_from_slice(b",\"input\":{}}],\"stop_reason\":\"tool_use\"");
        }
        None => {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"echo: ");
            push_escaped(out, &m.last_user);
            out.extend_from_slice(b"\"}],\"stop_reason\":\"end_turn\"");
        }
    }
    out.extend_from_slice(b",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    push_u64(out, m.input_words);
    out.extend_from_slice(
        b",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":",
    );
    push_u64(out, output_words);
    out.extend_from_slice(b"}}");
    conn.send_scratch(200, JSON, req.close, extra).await?;
    Ok(Outcome::Done)
}

/// The `(event name, data)` pairs of a streamed answer.
fn stream_events(
    shared: &Shared,
    m: &MessagesRequest<'_>,
    id: u64,
    tool: Option<&str>,
    output_words: u64,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut events = Vec::with_capacity(shared.settings.chunks + 6);
    let mut start = b"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_".to_vec();
    push_u64(&mut start, id);
    start.extend_from_slice(b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    push_str(&mut start, &m.model);
    start.extend_from_slice(
        b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":",
    );
    push_u64(&mut start, m.input_words);
    start.extend_from_slice(
        b",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}",
    );
    events.push(("message_start", start));

    let mut block = b"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":".to_vec();
    match tool {
        Some(name) => {
            block.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":\"toolu_mock_");
            push_u64(&mut block, id);
            block.extend_from_slice(b"\",\"name\":");
            push_str(&mut block, name);
            block.extend_from_slice(b",\"input\":{}}}");
        }
        None => block.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}}"),
    }
    events.push(("content_block_start", block));
    events.push(("ping", b"{\"type\":\"ping\"}".to_vec()));

    let delta = |kind: &str, field: &str, piece: &str| {
        let mut e =
            b"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"".to_vec();
        e.extend_from_slice(kind.as_bytes());
        e.extend_from_slice(b"\",\"");
        e.extend_from_slice(field.as_bytes());
        e.extend_from_slice(b"\":");
        push_str(&mut e, piece);
        e.extend_from_slice(b"}}");
        ("content_block_delta", e)
    };
    let stop_reason = match tool {
        Some(_) => {
            events.push(delta("input_json_delta", "partial_json", "{}"));
            "tool_use"
        }
        None => {
            let text = format!("echo: {}", m.last_user);
            for piece in split_even(&text, shared.settings.chunks.max(1)) {
                events.push(delta("text_delta", "text", piece));
            }
            "end_turn"
        }
    };
    events.push((
        "content_block_stop",
        b"{\"type\":\"content_block_stop\",\"index\":0}".to_vec(),
    ));
    let mut md = b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"".to_vec();
    md.extend_from_slice(stop_reason.as_bytes());
    md.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
    push_u64(&mut md, output_words);
    md.extend_from_slice(b"}}");
    events.push(("message_delta", md));
    events.push(("message_stop", b"{\"type\":\"message_stop\"}".to_vec()));
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
        let mut data = Vec::new();
        write_error(
            &mut data,
            "overloaded_error",
            "mock failure: stream broken by the model name",
        );
        send_named_event(conn, "error", &data).await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

fn push_model(out: &mut Vec<u8>, id: &str, display_name: &str, created_at: &str) {
    out.extend_from_slice(b"{\"type\":\"model\",\"id\":");
    push_str(out, id);
    out.extend_from_slice(b",\"display_name\":");
    push_str(out, display_name);
    out.extend_from_slice(b",\"created_at\":");
    push_str(out, created_at);
    out.push(b'}');
}

/// The `GET /models` body, built once.
fn models_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut out = b"{\"data\":[".to_vec();
        for (i, (id, name, created)) in MODELS.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_model(&mut out, id, name, created);
        }
        out.extend_from_slice(b"],\"has_more\":false,\"first_id\":");
        push_str(&mut out, MODELS[0].0);
        out.extend_from_slice(b",\"last_id\":");
        push_str(&mut out, MODELS[MODELS.len() - 1].0);
        out.push(b'}');
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn parse_reads_system_messages_and_tools() {
        let body = br#"{"model":"claude-x","max_tokens":10,"stream":true,
            "system":[{"type":"text","text":"be brief"}],
            "messages":[{"role":"user","content":"first question"},
                        {"role":"assistant","content":[{"type":"text","text":"an answer"}]},
                        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"},
                                                  {"type":"text","text":"say \"hi\""}]}],
            "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}"#;
        let m = parse(body, true, None).expect("valid");
        assert_eq!(m.model, "claude-x");
        assert!(m.stream);
        assert_eq!(m.last_user, "say \"hi\"");
        assert_eq!(m.input_words, 8);
        assert_eq!(m.first_tool.as_deref(), Some("get_weather"));
    }

    #[test]
    fn parse_errors() {
        let ok = br#"{"model":"m","messages":[]}"#;
        assert!(parse(ok, false, None).is_ok());
        assert_eq!(
            parse(ok, true, None).expect_err("needs max_tokens"),
            "max_tokens: Field required"
        );
        assert!(parse(br#"{"max_tokens":1,"messages":[]}"#, true, None).is_err());
        assert!(parse(br#"{"model":"m","max_tokens":1}"#, true, None).is_err());
        assert!(
            parse(
                br#"{"model":"m","max_tokens":"x","messages":[]}"#,
                true,
                None
            )
            .is_err()
        );
        assert!(parse(b"nope", false, None).is_err());
        assert!(check_body(&b"[".repeat(10_000)).is_err());
    }

    #[test]
    fn stream_events_are_valid_json_and_concatenate() {
        let shared = Shared::new(crate::state::Settings {
            chunks: 4,
            ..Default::default()
        });
        let m = MessagesRequest {
            model: "m\"x".into(),
            last_user: "a \"quoted\" line\n".into(),
            input_words: 3,
            ..MessagesRequest::default()
        };
        let events = stream_events(&shared, &m, 7, None, 4);
        let names: Vec<&str> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
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
        assert_eq!(parsed[0]["message"]["id"], "msg_mock_7");
        assert_eq!(parsed[0]["message"]["model"], "m\"x");
        assert_eq!(parsed[0]["message"]["usage"]["input_tokens"], 3);
        let text: String = parsed[3..7]
            .iter()
            .map(|p| p["delta"]["text"].as_str().expect("text").to_owned())
            .collect();
        assert_eq!(text, "echo: a \"quoted\" line\n");
        assert_eq!(parsed[8]["delta"]["stop_reason"], "end_turn");
        assert_eq!(parsed[8]["usage"]["output_tokens"], 4);
    }

    #[test]
    fn tool_stream_events() {
        let shared = Shared::default();
        let m = MessagesRequest {
            model: "m".into(),
            ..MessagesRequest::default()
        };
        let events = stream_events(&shared, &m, 3, Some("lookup"), 2);
        let parsed: Vec<Value> = events
            .iter()
            .map(|(_, d)| serde_json::from_slice(d).expect("json"))
            .collect();
        assert_eq!(
            parsed[1]["content_block"],
            serde_json::json!({"type": "tool_use", "id": "toolu_mock_3", "name": "lookup", "input": {}})
        );
        assert_eq!(parsed[3]["delta"]["partial_json"], "{}");
        assert_eq!(parsed[5]["delta"]["stop_reason"], "tool_use");
        assert_eq!(events.len(), 7);
    }

    #[test]
    fn error_types_and_models_body() {
        assert_eq!(error_type(529), "overloaded_error");
        assert_eq!(error_type(503), "api_error");
        assert_eq!(error_type(422), "invalid_request_error");
        let v: Value = serde_json::from_slice(models_body()).expect("json");
        assert_eq!(v["data"][0]["type"], "model");
        assert_eq!(v["first_id"], "claude-sonnet-4-5-20250929");
        assert_eq!(v["has_more"], false);
    }
}
