//! OpenAI's Responses API (`POST .../responses`): non-stream and stream in the real
//! `event: <type>` framing (no `[DONE]`), echoing the last user input text.
//!
//! Rarely on a hot path, so the body is read with serde_json (after the depth check) and the
//! answers are built as JSON values.

use std::io;

use serde_json::{Value, json};

use crate::{
    dispatch::{Outcome, Req},
    faults::Directives,
    json_read::{MAX_DEPTH, count_words, depth_ok},
    json_write::push_hex,
    record::now_secs,
    request::Method,
    response::{Conn, ExtraHeaders},
    state::Shared,
};

const JSON: &str = "application/json";
/// Events sent before a `stream-*` fault breaks the stream (created, in_progress, item added).
const BREAK_AFTER: usize = 3;

/// Whether the request is for the Responses endpoint.
pub fn route(req: &Req<'_>) -> bool {
    req.method() == Method::Post && req.path.ends_with("/responses")
}

/// What a Responses request contributes to the answer.
#[derive(Debug, Default, PartialEq)]
struct ResponsesRequest {
    model: String,
    stream: bool,
    last_user: String,
    input_words: u64,
    first_tool: Option<String>,
}

/// The text of a message `content`: a string, or its text parts joined by a space.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn parse(body: &[u8]) -> Result<ResponsesRequest, String> {
    if body.is_empty() || !depth_ok(body, MAX_DEPTH) {
        return Err("The request body must be a JSON object of sane depth.".into());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model is required")?;
    let mut r = ResponsesRequest {
        model: model.to_owned(),
        stream: v.get("stream").and_then(Value::as_bool).unwrap_or(false),
        ..ResponsesRequest::default()
    };
    if let Some(instructions) = v.get("instructions").and_then(Value::as_str) {
        r.input_words += count_words(instructions);
    }
    match v.get("input") {
        Some(Value::String(s)) => {
            r.input_words += count_words(s);
            r.last_user = s.clone();
        }
        Some(Value::Array(items)) => {
            for item in items {
                let text = match item.get("content") {
                    Some(c) => content_text(c),
                    None => item.get("output").map(content_text).unwrap_or_default(),
                };
                r.input_words += count_words(&text);
                if item.get("role").and_then(Value::as_str) == Some("user") {
                    r.last_user = text;
                }
            }
        }
        _ => return Err("input is required (a string or an array of items)".into()),
    }
    r.first_tool = v
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(r)
}

/// Serves `POST .../responses`.
pub async fn handle(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
) -> io::Result<Outcome> {
    let token = req.header("authorization").unwrap_or(b"").trim_ascii();
    let token = match token.split_at_checked(7) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case(b"bearer ") => t.trim_ascii(),
        _ => b"",
    };
    if token.is_empty() || token.starts_with(b"bad") {
        let body = error_body(
            "Incorrect API key provided.",
            "invalid_request_error",
            "invalid_api_key",
        );
        conn.send(401, JSON, &body, req.close, extra).await?;
        return Ok(Outcome::Done);
    }
    let r = match parse(req.body) {
        Ok(r) => r,
        Err(message) => {
            let body = error_body(&message, "invalid_request_error", "invalid_request");
            conn.send(400, JSON, &body, req.close, extra).await?;
            return Ok(Outcome::Done);
        }
    };
    let d = Directives::parse(&r.model);
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
        let body = error_body(&message, "server_error", "mock_failure");
        let mut headers = extra.to_vec();
        if status == 429 {
            headers.push(("retry-after".to_owned(), "0".to_owned()));
        }
        conn.send(status, JSON, &body, req.close, &headers).await?;
        return Ok(Outcome::Done);
    }
    let id = shared.next_response_id();
    let tool = r
        .first_tool
        .as_deref()
        .filter(|_| r.last_user.to_ascii_lowercase().contains("call a tool"));
    if r.stream {
        let events = stream_events(shared, &r, id, tool);
        return drive_stream(shared, conn, req, extra, &d, &events).await;
    }
    let response = response_object(&r, id, "completed", vec![output_item(&r, id, tool)]);
    let body = serde_json::to_vec(&response).unwrap_or_default();
    conn.send(200, JSON, &body, req.close, extra).await?;
    Ok(Outcome::Done)
}

fn error_body(message: &str, kind: &str, code: &str) -> Vec<u8> {
    let v = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    serde_json::to_vec(&v).unwrap_or_default()
}

fn answer_text(r: &ResponsesRequest) -> String {
    format!("echo: {}", r.last_user)
}

/// The completed output item: an echo message, or a call of the first tool.
fn output_item(r: &ResponsesRequest, id: u64, tool: Option<&str>) -> Value {
    match tool {
        Some(name) => json!({
            "type": "function_call", "id": format!("fc_mock_{id}"),
            "call_id": format!("call_mock_{id}"), "name": name, "arguments": "{}",
            "status": "completed",
        }),
        None => json!({
            "type": "message", "id": format!("msg_mock_{id}"), "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": answer_text(r), "annotations": []}],
        }),
    }
}

fn response_object(r: &ResponsesRequest, id: u64, status: &str, output: Vec<Value>) -> Value {
    let done = status == "completed";
    let output_words = output
        .iter()
        .map(|o| match o.get("type").and_then(Value::as_str) {
            Some("function_call") => 1 + count_words(o["name"].as_str().unwrap_or("")),
            _ => count_words(&answer_text(r)),
        })
        .sum::<u64>();
    json!({
        "id": format!("resp_mock_{id}"), "object": "response", "created_at": now_secs(),
        "status": status, "error": null, "incomplete_details": null, "model": r.model,
        "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "usage": if done {
            json!({"input_tokens": r.input_words, "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens": output_words, "output_tokens_details": {"reasoning_tokens": 0},
                   "total_tokens": r.input_words + output_words})
        } else {
            Value::Null
        },
    })
}

/// The `(event type, data)` pairs of a streamed answer, sequence numbers included.
fn stream_events(
    shared: &Shared,
    r: &ResponsesRequest,
    id: u64,
    tool: Option<&str>,
) -> Vec<(String, Vec<u8>)> {
    let mut events: Vec<(String, Value)> = Vec::new();
    let mut push = |kind: &str, mut data: Value| {
        if let Value::Object(m) = &mut data {
            m.insert("type".into(), json!(kind));
        }
        events.push((kind.to_owned(), data));
    };
    let started = response_object(r, id, "in_progress", vec![]);
    push("response.created", json!({"response": started}));
    push("response.in_progress", json!({"response": started}));
    let done = output_item(r, id, tool);
    let item_id = done["id"].clone();
    match tool {
        Some(_) => {
            let mut added = done.clone();
            added["arguments"] = json!("");
            added["status"] = json!("in_progress");
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            );
            push(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": 0, "delta": "{}"}),
            );
            push(
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": 0, "arguments": "{}"}),
            );
        }
        None => {
            let mut added = done.clone();
            added["content"] = json!([]);
            added["status"] = json!("in_progress");
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            );
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            push(
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part("")}),
            );
            let text = answer_text(r);
            let pieces = shared.settings.chunks.saturating_sub(2).max(1);
            for piece in split_even(&text, pieces)
                .into_iter()
                .filter(|p| !p.is_empty())
            {
                push(
                    "response.output_text.delta",
                    json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                           "delta": piece, "logprobs": []}),
                );
            }
            push(
                "response.output_text.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                       "text": text, "logprobs": []}),
            );
            push(
                "response.content_part.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                       "part": part(&text)}),
            );
        }
    }
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": done}),
    );
    let completed = response_object(r, id, "completed", vec![done]);
    push("response.completed", json!({"response": completed}));
    events
        .into_iter()
        .enumerate()
        .map(|(i, (kind, mut data))| {
            if let Value::Object(m) = &mut data {
                m.insert("sequence_number".into(), json!(i));
            }
            (kind, serde_json::to_vec(&data).unwrap_or_default())
        })
        .collect()
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

/// Sends `events` with the configured delay between them, unless a `stream-*` directive breaks
/// the stream after [`BREAK_AFTER`] events (`stream-error` sends OpenAI's `event: error`).
async fn drive_stream(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    extra: &ExtraHeaders,
    d: &Directives,
    events: &[(String, Vec<u8>)],
) -> io::Result<Outcome> {
    let delay = shared.settings.chunk_delay;
    conn.start_stream(req.close, extra).await?;
    let limit = if d.breaks_stream() {
        BREAK_AFTER.min(events.len())
    } else {
        events.len()
    };
    for (i, (name, data)) in events[..limit].iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            monoio::time::sleep(delay).await;
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
        let data = json!({"type": "error", "code": "mock_stream_error",
            "message": "mock failure: stream broken by the model name", "param": null,
            "sequence_number": limit});
        send_named_event(
            conn,
            "error",
            &serde_json::to_vec(&data).unwrap_or_default(),
        )
        .await?;
    }
    conn.end_stream().await?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_last_user_text_and_counts_words() {
        let r = parse(
            br#"{"model":"gpt-4o","stream":true,"instructions":"be nice","input":[
            {"role":"user","content":[{"type":"input_text","text":"first one"}]},
            {"type":"function_call_output","call_id":"c","output":"42"},
            {"role":"user","content":[{"type":"input_text","text":"hello"},{"type":"input_text","text":"there"}]}],
            "tools":[{"type":"function","name":"get_weather"}]}"#,
        )
        .expect("parses");
        assert_eq!(r.last_user, "hello there");
        assert_eq!(r.input_words, 2 + 2 + 1 + 2);
        assert!(r.stream);
        assert_eq!(r.first_tool.as_deref(), Some("get_weather"));
        assert_eq!(
            parse(br#"{"model":"m","input":"hi"}"#)
                .expect("ok")
                .last_user,
            "hi"
        );
        assert!(parse(br#"{"model":"m"}"#).is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn stream_events_are_sequenced_and_concatenate() {
        let shared = Shared::new(crate::state::Settings {
            chunks: 5,
            ..Default::default()
        });
        let r = parse(br#"{"model":"m","input":"a \"quoted\" line"}"#).expect("parses");
        let events = stream_events(&shared, &r, 1, None);
        assert_eq!(
            events.first().map(|e| e.0.as_str()),
            Some("response.created")
        );
        assert_eq!(
            events.last().map(|e| e.0.as_str()),
            Some("response.completed")
        );
        let mut text = String::new();
        for (i, (name, data)) in events.iter().enumerate() {
            let v: Value = serde_json::from_slice(data).expect("json");
            assert_eq!(v["type"], name.as_str());
            assert_eq!(v["sequence_number"], i);
            if name == "response.output_text.delta" {
                text.push_str(v["delta"].as_str().expect("delta"));
            }
        }
        assert_eq!(text, "echo: a \"quoted\" line");
        let tool = stream_events(&shared, &r, 2, Some("f"));
        assert!(
            tool.iter()
                .any(|e| e.0 == "response.function_call_arguments.done")
        );
    }
}
