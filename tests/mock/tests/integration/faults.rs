//! Model-name directives: fail, hang, reset, slow and the broken streams.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{Client, End, chat_body, mock, stats};

fn stream_body(model: &str) -> serde_json::Value {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "a b c d e f g h"}]})
}

#[test]
fn fail_status() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    for status in [400u16, 429, 500, 503] {
        let r = c.post(
            "/v1/chat/completions",
            &chat_body(&format!("gpt-4o-fail-{status}"), "x"),
        );
        assert_eq!(r.status, status);
        let v = r.json();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("mock failure")
        );
        assert!(v["error"]["type"].is_string());
    }
    // Streams fail before the head too.
    let r = c.post("/v1/chat/completions", &stream_body("fail-502"));
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Embeddings honour directives as well.
    let r = c.post(
        "/v1/embeddings",
        &json!({"model": "fail-500", "input": "x"}),
    );
    assert_eq!(r.status, 500);
}

#[test]
fn slow_adds_latency() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let t = Instant::now();
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m-slow-150", "x"))
            .status,
        200
    );
    assert!(
        t.elapsed() >= Duration::from_millis(140),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn global_latency() {
    let m = mock(&["--latency-ms", "120"]);
    let mut c = Client::connect(m.addr());
    let t = Instant::now();
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "x")).status,
        200
    );
    assert!(
        t.elapsed() >= Duration::from_millis(110),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn hang_never_answers_but_keeps_the_socket() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    c.timeout(Duration::from_millis(300));
    let r = c.post("/v1/chat/completions", &chat_body("m-hang", "x"));
    assert_eq!(r.status, 0);
    assert_eq!(r.end, End::Timeout);
    assert_eq!(stats(m.addr())["open_connections"], 1);
    drop(c);
    // The mock notices the close and forgets the connection.
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats(m.addr())["open_connections"] != 0 {
        assert!(Instant::now() < deadline, "hung connection never closed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reset_aborts_before_any_byte() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let r = c.post("/v1/chat/completions", &chat_body("reset", "x"));
    assert_eq!(r.status, 0);
    assert_eq!(r.end, End::Reset);
}

#[test]
fn stream_error_sends_an_error_event_without_done() {
    let m = mock(&["--chunks", "10"]);
    let mut c = Client::connect(m.addr());
    let r = c.post("/v1/chat/completions", &stream_body("m-stream-error"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.end,
        End::Complete,
        "the chunked body is terminated properly"
    );
    let data = r.sse_data();
    assert_eq!(data.len(), 4, "role, 2 content chunks, error: {data:?}");
    assert!(!data.contains(&"[DONE]".to_owned()));
    let last: serde_json::Value = serde_json::from_str(&data[3]).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mock failure")
    );
    // Still keep-alive.
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "x")).status,
        200
    );
}

#[test]
fn stream_hang_stalls_after_two_chunks() {
    let m = mock(&["--chunks", "10"]);
    let mut c = Client::connect(m.addr());
    c.timeout(Duration::from_millis(300));
    let r = c.post("/v1/chat/completions", &stream_body("m-stream-hang"));
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::Timeout);
    assert_eq!(r.chunks.len(), 3, "role + 2 content chunks");
}

#[test]
fn stream_cut_closes_mid_stream() {
    let m = mock(&["--chunks", "10"]);
    let mut c = Client::connect(m.addr());
    let r = c.post("/v1/chat/completions", &stream_body("m-stream-cut"));
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::Eof, "no terminating chunk");
    assert_eq!(r.chunks.len(), 3);
}
