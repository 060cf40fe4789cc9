//! The Anthropic Messages routes: answers, auth and version header, streams, faults.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Client, End, Response, mock, recorded};

const KEY: &str = "sk-ant-test";
const VERSION: &str = "2023-06-01";

type Headers = [(&'static str, &'static str)];

/// POSTs JSON with `x-api-key` and `anthropic-version`.
fn post(c: &mut Client, path: &str, body: &Value) -> Response {
    let body = serde_json::to_vec(body).unwrap();
    c.request(
        "POST",
        path,
        &[
            ("x-api-key", KEY),
            ("anthropic-version", VERSION),
            ("content-type", "application/json"),
        ],
        &body,
    )
}

fn message(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]})
}

/// `(event name, data)` of each SSE event of a body.
fn events(r: &Response) -> Vec<(String, Value)> {
    String::from_utf8_lossy(&r.body)
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').expect("two lines");
            let name = name.strip_prefix("event: ").expect("event line").to_owned();
            let data = data.strip_prefix("data: ").expect("data line");
            (name, serde_json::from_str(data).expect("data is JSON"))
        })
        .collect()
}

#[test]
fn message_echoes_last_user_text_with_usage() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "system": "you are terse",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "look at"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "text", "text": "this \"thing\""}
            ]}
        ]
    });
    for path in ["/v1/messages", "/anthropic/v1/messages"] {
        let r = post(&mut c, path, &body);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert!(v["id"].as_str().unwrap().starts_with("msg_mock_"));
        assert_eq!(v["type"], "message");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["model"], "claude-sonnet-4-5");
        assert_eq!(
            v["content"],
            json!([{"type": "text", "text": "echo: look at this \"thing\""}])
        );
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["stop_sequence"], Value::Null);
        // Words: 3 (system) + 1 + 1 + 4 in; "echo:" plus 4 out.
        assert_eq!(v["usage"]["input_tokens"], 9);
        assert_eq!(v["usage"]["output_tokens"], 5);
        assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
    }
}

#[test]
fn tool_use_when_asked() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let mut body = message("claude", "please call a tool");
    body["tools"] = json!([{"name": "get_weather", "input_schema": {"type": "object"}}]);
    let v = post(&mut c, "/v1/messages", &body).json();
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_mock_"));
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({}));
    // Without tools the text is echoed.
    let v = post(&mut c, "/v1/messages", &message("claude", "call a tool")).json();
    assert_eq!(v["content"][0]["text"], "echo: call a tool");
}

#[test]
fn auth_and_version_headers() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = serde_json::to_vec(&message("claude", "x")).unwrap();
    let cases: [(&Headers, u16, &str); 5] = [
        (
            &[("anthropic-version", VERSION)],
            401,
            "authentication_error",
        ),
        // Bearer auth is not Anthropic's API-key auth.
        (
            &[
                ("authorization", "Bearer sk-x"),
                ("anthropic-version", VERSION),
            ],
            401,
            "authentication_error",
        ),
        (
            &[("x-api-key", "bad-key"), ("anthropic-version", VERSION)],
            401,
            "authentication_error",
        ),
        (
            &[("x-api-key", "limited-key"), ("anthropic-version", VERSION)],
            429,
            "rate_limit_error",
        ),
        (&[("x-api-key", KEY)], 400, "invalid_request_error"),
    ];
    for (headers, status, kind) in cases {
        let r = c.request("POST", "/v1/messages", headers, &body);
        assert_eq!(r.status, status, "{headers:?}");
        let v = r.json();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], kind, "{headers:?}");
        assert!(v["error"]["message"].is_string());
        if status == 429 {
            assert_eq!(r.header("retry-after"), Some("0"));
        }
    }
}

#[test]
fn bad_bodies_get_invalid_request_errors() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let r = post(
        &mut c,
        "/v1/messages",
        &json!({"model": "claude", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert_eq!(r.json()["error"]["message"], "max_tokens: Field required");
    let r = post(
        &mut c,
        "/v1/messages",
        &json!({"max_tokens": 5, "messages": []}),
    );
    assert_eq!(r.status, 400);
    let r = c.request(
        "POST",
        "/v1/messages",
        &[("x-api-key", KEY), ("anthropic-version", VERSION)],
        "[".repeat(10_000).as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["type"], "error");
}

#[test]
fn stream_event_sequence_one_chunk_per_event() {
    let m = mock(&["--chunks", "3", "--chunk-delay-ms", "40"]);
    let mut c = Client::connect(m.addr());
    let mut body = message("claude-haiku", "stream me a sentence");
    body["stream"] = json!(true);
    let r = post(&mut c, "/v1/messages", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::Complete);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let evs = events(&r);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(r.chunks.len(), evs.len(), "one event per chunk");
    for (name, data) in &evs {
        assert_eq!(data["type"], name.as_str());
    }
    let start = &evs[0].1["message"];
    assert_eq!(start["model"], "claude-haiku");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["usage"]["input_tokens"], 4);
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = evs[3..6]
        .iter()
        .map(|(_, d)| {
            assert_eq!(d["index"], 0);
            assert_eq!(d["delta"]["type"], "text_delta");
            d["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "echo: stream me a sentence");
    assert_eq!(evs[7].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(evs[7].1["usage"]["output_tokens"], 5);
    for pair in r.chunks.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= Duration::from_millis(20));
    }
    // The connection is reusable after a stream.
    assert_eq!(post(&mut c, "/v1/messages", &message("m", "x")).status, 200);
}

#[test]
fn tool_use_stream() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let mut body = message("claude", "call a tool now");
    body["stream"] = json!(true);
    body["tools"] = json!([{"name": "lookup", "input_schema": {"type": "object"}}]);
    let evs = events(&post(&mut c, "/v1/messages", &body));
    assert_eq!(evs[1].1["content_block"]["type"], "tool_use");
    assert_eq!(evs[1].1["content_block"]["name"], "lookup");
    assert_eq!(evs[3].1["delta"]["type"], "input_json_delta");
    assert_eq!(evs[3].1["delta"]["partial_json"], "{}");
    assert_eq!(evs[5].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(evs.last().unwrap().0, "message_stop");
}

#[test]
fn faults_in_anthropic_shape() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    for (status, kind) in [
        (529u16, "overloaded_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
    ] {
        let r = post(
            &mut c,
            "/v1/messages",
            &message(&format!("claude-fail-{status}"), "x"),
        );
        assert_eq!(r.status, status);
        let v = r.json();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], kind);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("mock failure")
        );
    }

    let mut body = message("claude-stream-error", "a b c d e f g h");
    body["stream"] = json!(true);
    let r = post(&mut c, "/v1/messages", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::Complete);
    let evs = events(&r);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(
        evs[5].1["error"]["type"], "overloaded_error",
        "{:?}",
        evs[5].1
    );

    let mut body = message("claude-stream-cut", "a b c d e f g h");
    body["stream"] = json!(true);
    let r = post(&mut Client::connect(m.addr()), "/v1/messages", &body);
    assert_eq!(r.end, End::Eof);
    assert_eq!(events(&r).len(), 5);
}

#[test]
fn count_tokens_and_models() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let r = post(
        &mut c,
        "/v1/messages/count_tokens",
        &json!({"model": "claude", "system": "two words",
                "messages": [{"role": "user", "content": "three more words"}]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"input_tokens": 5}));

    let get = |c: &mut Client, path: &str, version: bool| {
        let mut headers = vec![("x-api-key", KEY), ("authorization", "Bearer sk-test")];
        if version {
            headers.push(("anthropic-version", VERSION));
        }
        c.request("GET", path, &headers, b"")
    };
    let v = get(&mut c, "/v1/models", true).json();
    assert_eq!(v["has_more"], false);
    assert_eq!(v["data"][0]["type"], "model");
    assert!(v["data"][0]["display_name"].is_string());
    assert_eq!(v["first_id"], v["data"][0]["id"]);
    let v = get(&mut c, "/v1/models/claude-x", true).json();
    assert_eq!(v["id"], "claude-x");
    assert_eq!(v["type"], "model");
    // Without the version header, GET /models stays the OpenAI route.
    let v = get(&mut c, "/v1/models", false).json();
    assert_eq!(v["object"], "list");
}

#[test]
fn requests_are_recorded() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    post(
        &mut c,
        "/anthropic/v1/messages",
        &message("claude", "hello"),
    );
    let recs = recorded(m.addr());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["path"], "/anthropic/v1/messages");
    let headers = recs[0]["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("x-api-key") && h[1] == KEY)
    );
    let body: Value = serde_json::from_str(recs[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["max_tokens"], 64);
}
