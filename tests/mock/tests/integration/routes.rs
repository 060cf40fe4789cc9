//! The OpenAI routes: answers, prefixes, auth.

use serde_json::json;

use crate::client::{Client, chat_body, mock};

#[test]
fn startup_line_and_health() {
    let m = mock(&[]);
    assert!(m.addr().ip().is_loopback());
    assert_ne!(m.addr().port(), 0);
    let r = Client::connect(m.addr()).request("GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

#[test]
fn chat_echoes_last_user_message_with_usage() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "you are terse"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "tell me \"quoted\" things\n ✓"}
        ]
    });
    let r = c.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o-mini");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(
        choice["message"]["content"],
        "echo: tell me \"quoted\" things\n ✓"
    );
    assert_eq!(choice["finish_reason"], "stop");
    // Words: 3 + 1 + 1 + 5 in the prompt; "echo:" plus 5 in the answer.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16})
    );
}

#[test]
fn chat_accepts_content_parts_and_any_prefix() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"}
    ]}]});
    for path in [
        "/v1/chat/completions",
        "/openai/v1/chat/completions",
        "/chat/completions",
    ] {
        let r = c.post(path, &body);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.json()["choices"][0]["message"]["content"],
            "echo: look at this"
        );
    }
}

#[test]
fn ids_increase() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let a = c.post("/v1/chat/completions", &chat_body("m", "x")).json();
    let b = c.post("/v1/chat/completions", &chat_body("m", "x")).json();
    assert_ne!(a["id"], b["id"]);
}

#[test]
fn tool_call_when_asked() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}
    ]);
    let body = json!({"model": "m", "tools": tools,
        "messages": [{"role": "user", "content": "Please call a tool for Paris"}]});
    let v = c.post("/v1/chat/completions", &body).json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert!(call["id"].as_str().unwrap().starts_with("call_mock_"));
    assert_eq!(call["function"]["name"], "get_weather");
    let args: serde_json::Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args.is_object());

    // Tools without the trigger phrase: a normal echo.
    let body =
        json!({"model": "m", "tools": tools, "messages": [{"role": "user", "content": "hi"}]});
    let v = c.post("/v1/chat/completions", &body).json();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hi");
}

#[test]
fn legacy_completions_string_and_array() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let v = c
        .post(
            "/v1/completions",
            &json!({"model": "gpt-3.5-turbo-instruct", "prompt": "say this"}),
        )
        .json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-mock-"));
    assert_eq!(v["choices"][0]["text"], "echo: say this");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 2);
    assert_eq!(v["usage"]["completion_tokens"], 3);

    let v = c
        .post(
            "/v1/completions",
            &json!({"model": "m", "prompt": ["one", "two two"]}),
        )
        .json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(choices[1]["text"], "echo: two two");
    assert_eq!(choices[1]["index"], 1);
}

#[test]
fn embeddings_are_deterministic_floats_or_base64() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let one = c
        .post(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": "hello world"}),
        )
        .json();
    assert_eq!(one["object"], "list");
    assert_eq!(one["model"], "text-embedding-3-small");
    assert_eq!(one["usage"], json!({"prompt_tokens": 2, "total_tokens": 2}));
    let e = one["data"][0]["embedding"].as_array().unwrap();
    assert_eq!(e.len(), 8);
    assert!(e.iter().all(|f| f.as_f64().unwrap().abs() <= 1.0));

    let many = c
        .post(
            "/v1/embeddings",
            &json!({"model": "e", "input": ["hello world", "other"]}),
        )
        .json();
    let data = many["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(
        data[0]["embedding"], one["data"][0]["embedding"],
        "same input, same vector"
    );
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);

    // The OpenAI SDKs ask for base64 by default: little-endian f32s.
    let b64 = c
        .post(
            "/v1/embeddings",
            &json!({"model": "e", "input": "hello world", "encoding_format": "base64"}),
        )
        .json();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let expected: Vec<f32> = e.iter().map(|f| f.as_f64().unwrap() as f32).collect();
    assert_eq!(floats, expected);

    let dims = c
        .post(
            "/v1/embeddings",
            &json!({"model": "e", "input": "x", "dimensions": 3}),
        )
        .json();
    assert_eq!(dims["data"][0]["embedding"].as_array().unwrap().len(), 3);
}

#[test]
fn models_list_and_retrieve() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let v = c.get("/v1/models").json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"gpt-4o-mini"));
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["object"] == "model" && d["owned_by"] == "mock")
    );
    let one = c.get("/openai/v1/models/gpt-4o").json();
    assert_eq!(one["id"], "gpt-4o");
}

#[test]
fn unknown_route_and_bad_bodies() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let r = c.post("/v1/nope", &json!({}));
    assert_eq!(r.status, 404);
    let v = r.json();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"].as_str().unwrap().contains("/v1/nope"));
    assert!(v["error"].get("code").is_some());

    let auth = ("Authorization", "Bearer k");
    let r = c.request("POST", "/v1/chat/completions", &[auth], b"{not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = c.post("/v1/chat/completions", &json!({"messages": []}));
    assert_eq!(r.status, 400);
    // Deep nesting is refused before sonic-rs sees it (it would overflow the stack).
    let deep = format!("{{\"model\":\"m\",\"messages\":{}}}", "[".repeat(50_000));
    let r = c.request("POST", "/v1/chat/completions", &[auth], deep.as_bytes());
    assert_eq!(r.status, 400);
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "still alive"))
            .status,
        200
    );
}

#[test]
fn auth_missing_bad_and_limited() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = serde_json::to_vec(&chat_body("m", "hi")).unwrap();
    let r = c.request("POST", "/v1/chat/completions", &[], &body);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = c.request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", "Basic abc")],
        &body,
    );
    assert_eq!(r.status, 401);

    let r = c.request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", "Bearer bad-key")],
        &body,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");

    let r = c.request(
        "GET",
        "/v1/models",
        &[("authorization", "bearer limited-1")],
        b"",
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("0"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");

    // Control routes need no auth.
    assert_eq!(c.request("GET", "/_mock/stats", &[], b"").status, 200);
}
