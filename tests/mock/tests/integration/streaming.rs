//! Streamed answers: SSE framing, one chunk per event, delays between events.

use std::time::Duration;

use serde_json::json;

use crate::client::{Client, End, mock};

#[test]
fn chat_stream_events_arrive_separately_with_the_delay() {
    let m = mock(&["--chunks", "5", "--chunk-delay-ms", "60"]);
    let mut c = Client::connect(m.addr());
    let body = json!({"model": "gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "stream me a longer sentence please"}]});
    let r = c.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::Complete);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(r.header("content-length").is_none());

    let data = r.sse_data();
    assert_eq!(data.len(), 6, "5 events then [DONE]: {data:?}");
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    // One event per chunk.
    assert_eq!(r.chunks.len(), data.len());
    for (_, chunk) in &r.chunks {
        assert!(chunk.starts_with(b"data: ") && chunk.ends_with(b"\n\n"));
    }
    let events = r.sse_json();
    assert!(
        events
            .iter()
            .all(|e| e["object"] == "chat.completion.chunk" && e["model"] == "gpt-4o-mini")
    );
    assert!(events.iter().all(|e| e["id"] == events[0]["id"]));
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = events[1..4]
        .iter()
        .map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "echo: stream me a longer sentence please");
    assert!(
        events[..4]
            .iter()
            .all(|e| e["choices"][0]["finish_reason"].is_null())
    );
    assert_eq!(events[4]["choices"][0]["finish_reason"], "stop");

    for pair in r.chunks.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= Duration::from_millis(30),
            "gap {gap:?} shorter than half the delay"
        );
    }

    // The connection is reusable after a stream.
    assert_eq!(
        c.post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": []})
        )
        .status,
        200
    );
}

#[test]
fn chat_stream_usage_chunk_when_asked() {
    let m = mock(&["--chunks", "4"]);
    let mut c = Client::connect(m.addr());
    let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "two words"}]});
    let r = c.post("/v1/chat/completions", &body);
    let data = r.sse_data();
    assert_eq!(data.len(), 6, "4 events, usage, [DONE]: {data:?}");
    let events = r.sse_json();
    let usage = &events[4];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5})
    );
}

#[test]
fn chat_stream_tool_call() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = json!({"model": "m", "stream": true,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
        "messages": [{"role": "user", "content": "call a tool"}]});
    let events = c.post("/v1/chat/completions", &body).sse_json();
    assert_eq!(
        events[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "lookup"
    );
    assert_eq!(
        events.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn legacy_completion_stream() {
    let m = mock(&["--chunks", "4"]);
    let mut c = Client::connect(m.addr());
    let r = c.post(
        "/v1/completions",
        &json!({"model": "m", "prompt": "abc def", "stream": true}),
    );
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert_eq!(data.len(), 5, "{data:?}");
    assert_eq!(data[4], "[DONE]");
    let events = r.sse_json();
    assert!(events.iter().all(|e| e["object"] == "text_completion"));
    let text: String = events
        .iter()
        .map(|e| e["choices"][0]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "echo: abc def");
    assert_eq!(events[3]["choices"][0]["finish_reason"], "stop");
}
