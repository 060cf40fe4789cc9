//! SSE relay: event-by-event delivery, stream faults, client disconnects, first-event errors.

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, Mock, Start, one_key, provider_config, recorded_body, wait_until};
use serde_json::{Value, json};

fn stream_body(model: &str, text: &str) -> Value {
    json!({ "model": model, "stream": true, "messages": [{ "role": "user", "content": text }] })
}

/// The `content` deltas of OpenAI chat-chunk payloads, concatenated.
fn content_of(data: &[String]) -> String {
    data.iter()
        .filter(|d| d.as_str() != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// The last payload parsed as JSON, which must carry an `error` object.
fn last_error(data: &[String]) -> Value {
    let last = data.last().expect("at least one event");
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert!(v["error"].is_object(), "last event is not an error: {last}");
    v
}

#[test]
fn events_are_relayed_one_by_one_as_they_arrive() {
    // 8 events (role, 6 content pieces, finish) 50 ms apart, then [DONE].
    let mock = Mock::start(&["--chunk-delay-ms", "50", "--chunks", "8"]);
    let gw = Gateway::start_with(
        &provider_config("openai", &mock, one_key("sk-a"), json!({})),
        Start {
            workers: Some(1),
            ..Start::default()
        },
    );
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-4o-mini", "the quick brown fox"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("text/event-stream")),
        "{:?}",
        r.headers
    );
    let data = r.sse_data();
    assert_eq!(data.len(), 9, "8 events + [DONE]: {data:?}");
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert!(r.text().contains("data: [DONE]\n\n"), "{}", r.text());
    assert_eq!(content_of(&data), "echo: the quick brown fox");
    // Events are written as they arrive: with 50 ms between them they travel as separate
    // chunks (the gateway only groups events that reached it together, so a loaded machine
    // may merge a few), and every chunk carries whole events.
    assert!(
        (6..=9).contains(&r.chunks.len()),
        "{} chunks: {:?}",
        r.chunks.len(),
        r.chunks
    );
    for c in &r.chunks {
        let text = String::from_utf8_lossy(c);
        assert!(
            text.starts_with("data: ") && text.ends_with("\n\n"),
            "{text:?}"
        );
    }
    let first = r.chunk_times[0];
    let last = *r.chunk_times.last().expect("times");
    assert!(
        last.duration_since(first) >= Duration::from_millis(200),
        "events arrived in a burst: {:?}",
        last.duration_since(first)
    );
    // And not all at the end: the middle event came well before the last one.
    assert!(last.duration_since(r.chunk_times[4]) >= Duration::from_millis(100));
}

#[test]
fn provider_error_event_is_relayed() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-stream-error", "hi"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    assert!(data.len() >= 2, "events before the error: {data:?}");
    let err = last_error(&data);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("mock failure: stream broken"),
        "provider's error expected: {err}"
    );
}

#[test]
fn cut_stream_ends_with_an_error_event() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let started = Instant::now();
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-stream-cut", "hi"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    // The events sent before the cut still reach the client, then the gateway's error event.
    assert!(data.len() >= 2, "{data:?}");
    last_error(&data);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn hung_stream_ends_with_an_error_event_after_the_idle_timeout() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({ "stream_idle_timeout_in_seconds": 1 }),
    ));
    let started = Instant::now();
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-stream-hang", "hi"),
    );
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    assert!(data.len() >= 2, "{data:?}");
    last_error(&data);
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(8),
        "{elapsed:?}"
    );
}

#[test]
fn client_disconnect_closes_the_upstream_connection() {
    // A long stream: 100 events 100 ms apart (10 s).
    let mock = Mock::start(&["--chunk-delay-ms", "100", "--chunks", "100"]);
    let gw = Gateway::start_with(
        &provider_config("openai", &mock, one_key("sk-a"), json!({})),
        Start {
            workers: Some(1),
            ..Start::default()
        },
    );
    let open = || {
        mock.stats()["open_connections"]
            .as_u64()
            .unwrap_or(u64::MAX)
    };
    {
        let mut c = gw.conn();
        let body = serde_json::to_vec(&stream_body("openai/gpt-4o-mini", "hi")).expect("json");
        c.write_request(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &body,
        );
        // Read until the first event has arrived, then go away.
        let mut seen = Vec::new();
        let mut tmp = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("data: ") {
            let n = std::io::Read::read(&mut c.stream, &mut tmp).expect("read");
            assert!(n > 0, "gateway closed early");
            seen.extend_from_slice(&tmp[..n]);
        }
        assert_eq!(open(), 1, "the stream holds one upstream connection");
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
    }
    assert!(
        wait_until(Duration::from_secs(5), || open() == 0),
        "upstream connection still open: {}",
        mock.stats()
    );
    // The gateway keeps serving.
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A 200 SSE answer whose first event is an error.
fn error_first_step() -> Value {
    json!({
        "status": 200,
        "headers": { "content-type": "text/event-stream" },
        "body": "data: {\"error\":{\"message\":\"overloaded right now\",\"type\":\"server_error\"}}\n\n",
    })
}

#[test]
fn first_event_error_is_retried() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({ "max_retries": 1, "retry_backoff_initial": 10, "retry_backoff_max": 20 }),
    ));
    mock.script(json!([error_first_step()]));
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-4o-mini", "again"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(
        !r.text().contains("overloaded right now"),
        "the error event must not reach the client: {}",
        r.text()
    );
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(content_of(&data), "echo: again");
    assert_eq!(mock.requests().len(), 2);
}

#[test]
fn first_event_error_falls_back() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    mock.script(json!([error_first_step()]));
    let mut body = stream_body("openai/primary-model", "fall back");
    body["fallbacks"] = json!(["openai/backup-model"]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("overloaded right now"), "{}", r.text());
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(content_of(&data), "echo: fall back");
    let first: Value = serde_json::from_str(&data[0]).expect("json event");
    assert_eq!(first["model"], "backup-model");
    let seen = mock.requests();
    let models: Vec<Value> = seen
        .iter()
        .map(|r| recorded_body(r)["model"].clone())
        .collect();
    assert_eq!(models, vec![json!("primary-model"), json!("backup-model")]);
}

#[test]
fn upstream_error_before_the_stream_is_a_json_error() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("openai/gpt-fail-503", "hi"),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    let v = r.json();
    assert_eq!(
        v["extra_fields"]["request_type"], "chat_completion_stream",
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("503")),
        "{v}"
    );
}

#[test]
fn several_streams_share_one_client_connection() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let mut c = gw.conn();
    for text in ["one", "two", "three"] {
        let body = serde_json::to_vec(&stream_body("openai/gpt-4o-mini", text)).expect("json");
        let r = c.send(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let data = r.sse_data();
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        assert_eq!(content_of(&data), format!("echo: {text}"));
    }
    // Legacy completions stream too.
    let body = serde_json::to_vec(
        &json!({"model": "openai/gpt-3.5-turbo-instruct", "prompt": "abc", "stream": true}),
    )
    .expect("json");
    let r = c.send(
        "POST",
        "/v1/completions",
        &[("content-type", "application/json")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let text: String = data[..data.len() - 1]
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "echo: abc");
}
