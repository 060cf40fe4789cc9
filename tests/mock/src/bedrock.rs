//! The AWS Bedrock Converse format: `converse` (JSON) and `converse-stream` (AWS event-stream).
//!
//! | route | answer |
//! |---|---|
//! | `POST .../model/{modelId}/converse` | `echo: <last user text>` (text blocks joined by a space); with `toolConfig` and "call a tool" in the last user text, a `toolUse` block for the first tool with input `{}` and `stopReason: "tool_use"` |
//! | `POST .../model/{modelId}/converse-stream` | the same answer as `application/vnd.amazon.eventstream` messages |
//!
//! The model id is percent-decoded from the path; its directives work as on the other formats.
//!
//! Auth: `Authorization` is required. `Bearer <token>` (a Bedrock API key) is accepted; otherwise
//! it must be a well-formed SigV4 header, `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/
//! <region>/bedrock/aws4_request, SignedHeaders=<names>, Signature=<64 hex>`, whose signed
//! headers include `host` and `x-amz-date` and are all present, with an `X-Amz-Date` of the
//! credential's day (the signature itself is not checked: the mock has no secret). Refused
//! requests get 403 `UnrecognizedClientException`; access keys (or tokens) starting with `bad`
//! get 403 too, starting with `limited` 429 `ThrottlingException`.
//!
//! Streams send one event-stream message per HTTP chunk, `--chunk-delay-ms` apart:
//! `messageStart`, (`contentBlockStart` for a tool call), `--chunks` `contentBlockDelta`
//! events (text pieces; one `toolUse` input delta for a tool call), `contentBlockStop`,
//! `messageStop`, `metadata` (usage). `stream-error` sends a `modelStreamErrorException`
//! message after the start and two deltas; `stream-hang` and `stream-cut` stall or close
//! there; `fail-<status>` answers with a Bedrock error body (`{"message"}` and
//! `x-amzn-errortype`). Tokens are word counts, as on the other formats.

use std::{borrow::Cow, io};

use sonic_rs::{JsonValueTrait, LazyValue};

use crate::{
    dispatch::{Outcome, Req},
    faults::Directives,
    json_read::{MAX_DEPTH, content_text, count_words, depth_ok, str_of},
    json_write::{push_escaped, push_hex, push_str, push_u64},
    request::Method,
    response::{Conn, ExtraHeaders, write_head},
    state::Shared,
};

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// Messages sent before a `stream-*` fault breaks the stream: start and two deltas.
const BREAK_AFTER: usize = 3;

/// A Bedrock runtime endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST .../model/{id}/converse`
    Converse,
    /// `POST .../model/{id}/converse-stream`
    ConverseStream,
}

/// Matches a request to a Bedrock endpoint; `None` leaves it to the other formats.
pub fn route(req: &Req<'_>) -> Option<Route> {
    if req.method() != Method::Post || !req.path.contains("/model/") {
        return None;
    }
    if req.path.ends_with("/converse") {
        Some(Route::Converse)
    } else if req.path.ends_with("/converse-stream") {
        Some(Route::ConverseStream)
    } else {
        None
    }
}

/// The model id in the path, percent-decoded.
pub fn model_id(path: &str) -> Option<String> {
    let start = path.find("/model/")? + "/model/".len();
    let end = path.rfind('/')?;
    let raw = path.get(start..end).filter(|s| !s.is_empty())?;
    percent_decode(raw)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Serves a Bedrock route (auth first, then the model's directives, then the answer).
pub async fn handle(
    route: Route,
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    if let Err((status, kind, message)) = check_auth(req) {
        send_error(conn, req, extra, status, kind, message).await?;
        return Ok(Outcome::Done);
    }
    let Some(model) = model_id(req.path) else {
        return bad_request(
            conn,
            req,
            extra,
            "The provided model identifier is invalid.",
        )
        .await;
    };
    if req.body.is_empty() || !depth_ok(req.body, MAX_DEPTH) {
        return bad_request(
            conn,
            req,
            extra,
            "Malformed input request, please reformat your input and try again.",
        )
        .await;
    }
    let parsed = match parse(req.body) {
        Ok(p) => p,
        Err(message) => return bad_request(conn, req, extra, &message).await,
    };
    let d = Directives::parse(&model);
    if !d.slow.is_zero() {
        monoio::time::sleep(d.slow).await;
    }
    if d.reset {
        return Ok(Outcome::Reset);
    }
    if d.hang {
        return Ok(Outcome::Hang);
    }
    if let Some(status) = d.fail {
        let message = format!("mock failure: status {status} forced by the model name");
        send_error(conn, req, extra, status, exception_for(status), &message).await?;
        return Ok(Outcome::Done);
    }
    let id = shared.next_response_id();
    let tool = parsed.first_tool.as_deref().filter(|_| {
        parsed
            .last_user
            .to_ascii_lowercase()
            .contains("call a tool")
    });
    let answer = Answer {
        tool,
        text: format!("echo: {}", parsed.last_user),
        input_words: parsed.input_words,
        output_words: match tool {
            Some(name) => 1 + count_words(name),
            None => 1 + count_words(&parsed.last_user),
        },
        id,
    };
    match route {
        Route::Converse => {
            let out = &mut conn.scratch;
            out.clear();
            write_response(out, &answer);
            conn.send_scratch(200, JSON, req.close, extra).await?;
            Ok(Outcome::Done)
        }
        Route::ConverseStream => {
            let events = stream_events(shared.settings.chunks, &answer);
            drive_stream(shared, conn, req, extra, &d, &events).await
        }
    }
}

/// The AWS exception type for a status.
pub fn exception_for(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

type Refusal = (u16, &'static str, &'static str);

/// Accepts a bearer token or a well-formed SigV4 `Authorization`.
fn check_auth(req: &Req<'_>) -> Result<(), Refusal> {
    let denied = |m| (403, "UnrecognizedClientException", m);
    let auth = req
        .header("authorization")
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::trim)
        .ok_or(denied("Missing Authentication Token"))?;
    let key = if let Some(token) = auth.strip_prefix("Bearer ") {
        token.trim()
    } else {
        let sig = parse_sigv4(auth).ok_or(denied(
            "Authorization header is not a well-formed AWS4-HMAC-SHA256 signature",
        ))?;
        let date = req
            .header("x-amz-date")
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or("");
        if date.len() != 16 || !date.starts_with(sig.date) || !date.ends_with('Z') {
            return Err(denied(
                "X-Amz-Date is missing or not of the credential's day",
            ));
        }
        if !sig.signed.contains(&"host") || !sig.signed.contains(&"x-amz-date") {
            return Err(denied("host and x-amz-date must be signed"));
        }
        if sig.signed.iter().any(|h| req.header(h).is_none()) {
            return Err(denied("a signed header is missing from the request"));
        }
        if sig.service != "bedrock" {
            return Err(denied(
                "credential should be scoped to correct service: 'bedrock'",
            ));
        }
        sig.access_key
    };
    if key.starts_with("bad") {
        return Err(denied(
            "The security token included in the request is invalid.",
        ));
    }
    if key.starts_with("limited") {
        return Err((
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again. (mock: keys starting with \"limited\" are limited)",
        ));
    }
    Ok(())
}

/// The parts of a SigV4 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct SigV4<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// `yyyymmdd`.
    pub date: &'a str,
    /// Region of the scope.
    pub region: &'a str,
    /// Service of the scope.
    pub service: &'a str,
    /// Signed header names.
    pub signed: Vec<&'a str>,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request,
/// SignedHeaders=a;b, Signature=<64 lowercase hex>`.
pub fn parse_sigv4(auth: &str) -> Option<SigV4<'_>> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let signature = signature?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut scope = credential?.split('/');
    let (access_key, date, region, service, terminal) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    if scope.next().is_some()
        || terminal != "aws4_request"
        || access_key.is_empty()
        || region.is_empty()
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let signed: Vec<&str> = signed?.split(';').collect();
    let sorted = signed.windows(2).all(|w| w[0] < w[1]);
    let lower = signed
        .iter()
        .all(|h| !h.is_empty() && h.bytes().all(|b| !b.is_ascii_uppercase()));
    (sorted && lower).then_some(SigV4 {
        access_key,
        date,
        region,
        service,
        signed,
    })
}

/// Writes `{"message": ...}` and sends it with `x-amzn-errortype`; 429 adds `retry-after: 0`.
async fn send_error(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    status: u16,
    kind: &str,
    message: &str,
) -> io::Result<()> {
    conn.scratch.clear();
    conn.scratch.extend_from_slice(b"{\"message\":");
    push_str(&mut conn.scratch, message);
    conn.scratch.push(b'}');
    let mut headers = extra.to_vec();
    headers.push((
        "x-amzn-errortype".to_owned(),
        format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    ));
    if status == 429 {
        headers.push(("retry-after".to_owned(), "0".to_owned()));
    }
    conn.send_scratch(status, JSON, req.close, &headers).await
}

async fn bad_request(
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    message: &str,
) -> io::Result<Outcome> {
    send_error(conn, req, extra, 400, "ValidationException", message).await?;
    Ok(Outcome::Done)
}

/// What a Converse request contributes to the answer.
#[derive(Debug, Default)]
pub struct ConverseRequest<'a> {
    /// Text of the last user turn.
    pub last_user: Cow<'a, str>,
    /// Words of the system prompt and every turn (at least 1).
    pub input_words: u64,
    /// Name of the first tool in `toolConfig`.
    pub first_tool: Option<String>,
}

/// Reads a Converse body lazily (no DOM).
pub fn parse(body: &[u8]) -> Result<ConverseRequest<'_>, String> {
    let fields = sonic_rs::to_object_iter(body);
    let mut m = ConverseRequest::default();
    let mut saw_messages = false;
    for entry in fields {
        let (key, value) = entry.map_err(|e| format!("Malformed input request: {e}"))?;
        match &*key {
            "messages" => {
                saw_messages = true;
                let messages = value
                    .into_array_iter()
                    .ok_or("messages: expected a list of messages")?;
                for message in messages {
                    let message = message.map_err(|e| format!("invalid messages: {e}"))?;
                    read_message(message, &mut m)?;
                }
            }
            "system" => m.input_words += count_words(&content_text(value)),
            "toolConfig" => m.first_tool = first_tool_name(value),
            "modelId" | "model" => {
                return Err(format!("extraneous key [{key}] is not permitted"));
            }
            _ => {}
        }
    }
    if !saw_messages {
        return Err("A conversation must start with a user message.".into());
    }
    m.input_words = m.input_words.max(1);
    Ok(m)
}

fn read_message<'a>(message: LazyValue<'a>, m: &mut ConverseRequest<'a>) -> Result<(), String> {
    let fields = message
        .into_object_iter()
        .ok_or("messages: each message must be an object")?;
    let mut is_user = false;
    let mut text = Cow::Borrowed("");
    for entry in fields {
        let (key, value) = entry.map_err(|e| format!("invalid message: {e}"))?;
        match &*key {
            "role" => {
                let role = str_of(&value).ok_or("role must be a string")?;
                if role != "user" && role != "assistant" {
                    return Err(format!("role '{role}' is not user or assistant"));
                }
                is_user = role == "user";
            }
            "content" => {
                if !value.is_array() {
                    return Err("content must be a list of content blocks".into());
                }
                text = content_text(value);
            }
            _ => {}
        }
    }
    m.input_words += count_words(&text);
    if is_user && !text.is_empty() {
        m.last_user = text;
    }
    Ok(())
}

fn first_tool_name(config: LazyValue<'_>) -> Option<String> {
    let tools = config.get("tools")?;
    let first = tools.into_array_iter()?.next()?.ok()?;
    Some(first.get("toolSpec")?.get("name")?.as_str()?.to_owned())
}

/// The answer to a Converse request.
struct Answer<'a> {
    tool: Option<&'a str>,
    text: String,
    input_words: u64,
    output_words: u64,
    id: u64,
}

fn write_usage(out: &mut Vec<u8>, a: &Answer<'_>) {
    out.extend_from_slice(b"\"usage\":{\"inputTokens\":");
    push_u64(out, a.input_words);
    out.extend_from_slice(b",\"outputTokens\":");
    push_u64(out, a.output_words);
    out.extend_from_slice(b",\"totalTokens\":");
    push_u64(out, a.input_words + a.output_words);
    out.push(b'}');
}

fn write_response(out: &mut Vec<u8>, a: &Answer<'_>) {
    out.extend_from_slice(b"{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[");
    match a.tool {
        Some(name) => {
            out.extend_from_slice(b"{\"toolUse\":{\"toolUseId\":\"tooluse_mock_");
            push_u64(out, a.id);
            out.extend_from_slice(b"\",\"name\":");
            push_str(out, name);
            out.extend_from_slice(b",\"input\":{}}}]}},\"stopReason\":\"tool_use\",");
        }
        None => {
            out.extend_from_slice(b"{\"text\":\"");
            push_escaped(out, &a.text);
            out.extend_from_slice(b"\"}]}},\"stopReason\":\"end_turn\",");
        }
    }
    write_usage(out, a);
    out.extend_from_slice(b",\"metrics\":{\"latencyMs\":1}}");
}

/// The `(event type, payload)` pairs of a streamed answer.
fn stream_events(chunks: usize, a: &Answer<'_>) -> Vec<(&'static str, Vec<u8>)> {
    let mut events = Vec::with_capacity(chunks + 5);
    events.push((
        "messageStart",
        b"{\"p\":\"abcdefgh\",\"role\":\"assistant\"}".to_vec(),
    ));
    let stop = match a.tool {
        Some(name) => {
            let mut start =
                b"{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_mock_"
                    .to_vec();
            push_u64(&mut start, a.id);
            start.extend_from_slice(b"\",\"name\":");
            push_str(&mut start, name);
            start.extend_from_slice(b"}}}");
            events.push(("contentBlockStart", start));
            events.push((
                "contentBlockDelta",
                b"{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}".to_vec(),
            ));
            "tool_use"
        }
        None => {
            for piece in split_even(&a.text, chunks.max(1)) {
                let mut e = b"{\"contentBlockIndex\":0,\"delta\":{\"text\":".to_vec();
                push_str(&mut e, piece);
                e.extend_from_slice(b"},\"p\":\"abc\"}");
                events.push(("contentBlockDelta", e));
            }
            "end_turn"
        }
    };
    events.push(("contentBlockStop", b"{\"contentBlockIndex\":0}".to_vec()));
    let mut ms = b"{\"stopReason\":\"".to_vec();
    ms.extend_from_slice(stop.as_bytes());
    ms.extend_from_slice(b"\"}");
    events.push(("messageStop", ms));
    let mut md = b"{".to_vec();
    write_usage(&mut md, a);
    md.extend_from_slice(b",\"metrics\":{\"latencyMs\":1}}");
    events.push(("metadata", md));
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

/// CRC-32 (IEEE), bitwise: independent of the gateway's implementation on purpose.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One event-stream message with string headers.
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hdr = Vec::new();
    for (name, value) in headers {
        hdr.push(name.len() as u8);
        hdr.extend_from_slice(name.as_bytes());
        hdr.push(7);
        hdr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hdr.extend_from_slice(value.as_bytes());
    }
    let total = 16 + hdr.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
    let prelude = crc32(&out);
    out.extend_from_slice(&prelude.to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn event_message(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// Sends one message as one HTTP chunk.
async fn send_message(conn: &mut Conn, message: &[u8]) -> io::Result<()> {
    push_hex(&mut conn.out, message.len());
    conn.out.extend_from_slice(b"\r\n");
    conn.out.extend_from_slice(message);
    conn.out.extend_from_slice(b"\r\n");
    conn.flush().await
}

/// Sends `events`, each in its own chunk with the configured delay between events, unless a
/// `stream-*` directive breaks the stream after [`BREAK_AFTER`] messages.
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
    write_head(&mut conn.out, 200, EVENT_STREAM, None, req.close, extra);
    conn.flush().await?;
    let limit = if d.breaks_stream() {
        BREAK_AFTER.min(events.len())
    } else {
        events.len()
    };
    for (i, (name, payload)) in events[..limit].iter().enumerate() {
        if i > 0 {
            pause().await;
        }
        send_message(conn, &event_message(name, payload)).await?;
    }
    if d.stream_hang {
        return Ok(Outcome::Hang);
    }
    if d.stream_cut {
        return Ok(Outcome::Close);
    }
    if d.stream_error {
        pause().await;
        let exception = encode_message(
            &[
                (":exception-type", "modelStreamErrorException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            b"{\"message\":\"mock failure: stream broken by the model name\"}",
        );
        send_message(conn, &exception).await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn model_ids_are_decoded() {
        assert_eq!(
            model_id("/model/anthropic.claude-v2%3A1/converse").as_deref(),
            Some("anthropic.claude-v2:1")
        );
        assert_eq!(
            model_id("/pre/model/arn%3Aaws%3Ax%2Fy/converse-stream").as_deref(),
            Some("arn:aws:x/y")
        );
        assert_eq!(model_id("/model//converse"), None);
        assert_eq!(model_id("/model/bad%zz/converse"), None);
    }

    #[test]
    fn sigv4_headers_are_parsed_strictly() {
        let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=c61ef7890fe1241fa23142b529b2240e09c0e5ed89f654dcd9874352937f768d";
        let s = parse_sigv4(good).expect("well formed");
        assert_eq!(s.access_key, "AKIDEXAMPLE");
        assert_eq!(s.date, "20240501");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.service, "bedrock");
        assert_eq!(s.signed, ["content-type", "host", "x-amz-date"]);
        for bad in [
            good.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA1 "),
            good.replace("aws4_request", "aws5_request"),
            good.replace("content-type;host", "host;content-type"),
            good.replace("Signature=c61e", "Signature=C61e"),
            good.replace("f768d", "f768"),
            good.replace("/20240501/", "/2024051/"),
            good.replace(", Signature", ", Extra=1, Signature"),
        ] {
            assert!(parse_sigv4(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn crc_and_frames() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let frame = event_message("messageStart", b"{}");
        let total = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(total, frame.len());
        assert_eq!(crc32(&frame[..8]).to_be_bytes(), frame[8..12]);
        let n = frame.len();
        assert_eq!(crc32(&frame[..n - 4]).to_be_bytes(), frame[n - 4..]);
    }

    #[test]
    fn parse_reads_messages_system_and_tools() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"first question"}]},
            {"role":"assistant","content":[{"text":"an answer"}]},
            {"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"42"}]}},{"text":"say \"hi\""}]}],
            "system":[{"text":"be brief"}],
            "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{}}}}]}}"#;
        let m = parse(body).expect("valid");
        assert_eq!(m.last_user, "say \"hi\"");
        assert_eq!(m.first_tool.as_deref(), Some("get_weather"));
        assert_eq!(m.input_words, 8);
        assert!(parse(br#"{"system":[]}"#).is_err());
        assert!(parse(br#"{"modelId":"x","messages":[]}"#).is_err());
        assert!(parse(br#"{"messages":[{"role":"system","content":[]}]}"#).is_err());
        assert!(parse(br#"{"messages":[{"role":"user","content":"text"}]}"#).is_err());
    }

    #[test]
    fn answers_are_valid_json() {
        let a = Answer {
            tool: None,
            text: "echo: a \"quoted\" line\n".into(),
            input_words: 3,
            output_words: 4,
            id: 7,
        };
        let mut out = Vec::new();
        write_response(&mut out, &a);
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["output"]["message"]["content"][0]["text"],
            "echo: a \"quoted\" line\n"
        );
        assert_eq!(v["usage"]["totalTokens"], 7);
        let events = stream_events(4, &a);
        let names: Vec<&str> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        let text: String = events[1..5]
            .iter()
            .map(|(_, p)| {
                let v: Value = serde_json::from_slice(p).expect("json");
                v["delta"]["text"].as_str().expect("text").to_owned()
            })
            .collect();
        assert_eq!(text, a.text);
        let tool = Answer {
            tool: Some("lookup"),
            ..a
        };
        let mut out = Vec::new();
        write_response(&mut out, &tool);
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["output"]["message"]["content"][0]["toolUse"]["name"],
            "lookup"
        );
        assert_eq!(v["stopReason"], "tool_use");
        let events = stream_events(4, &tool);
        for (_, p) in &events {
            let _: Value = serde_json::from_slice(p).expect("json");
        }
        assert_eq!(events[1].0, "contentBlockStart");
        assert_eq!(events.len(), 6);
    }
}
