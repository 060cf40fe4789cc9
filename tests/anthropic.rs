//! Anthropic both ways through ringway: OpenAI clients to an Anthropic provider (translated),
//! Anthropic clients (`/anthropic/v1/messages`) to Anthropic (zero-copy) and to OpenAI-family
//! providers (translated), streams included.

mod common;

use common::{Gateway, Mock, chat, one_key, recorded_body, recorded_headers};
use serde_json::{Value, json};

fn gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "anthropic": { "keys": one_key("sk-ant-1"), "network_config": { "base_url": mock.url() } },
        "openai": { "keys": one_key("sk-oai-1"), "network_config": { "base_url": mock.url() } }
    }}))
}

fn anthropic_body(model: &str, text: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 64,
        "system": "be brief",
        "messages": [{ "role": "user", "content": text }],
        "stream": stream
    })
}

#[test]
fn openai_client_to_anthropic_provider() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let mut body = chat("anthropic/claude-3-5-haiku", "hello claude");
    body["messages"] = json!([
        { "role": "system", "content": "be brief" },
        { "role": "user", "content": "hello claude" }
    ]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello claude");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["prompt_tokens"].as_u64().is_some(), "{v}");
    assert_eq!(v["extra_fields"]["provider"], "anthropic");

    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/messages");
    assert_eq!(recorded_headers(sent, "x-api-key"), vec!["sk-ant-1"]);
    assert_eq!(recorded_headers(sent, "anthropic-version").len(), 1);
    assert!(recorded_headers(sent, "authorization").is_empty());
    let up = recorded_body(sent);
    assert_eq!(up["model"], "claude-3-5-haiku");
    assert_eq!(up["system"], "be brief");
    assert!(
        up["max_tokens"].as_u64().is_some(),
        "default max_tokens: {up}"
    );
    assert_eq!(up["messages"][0]["role"], "user");
}

#[test]
fn openai_client_streams_from_anthropic_provider() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let mut body = chat("anthropic/claude-3-5-haiku", "stream me please");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let mut text = String::new();
    let mut finish = None;
    let mut usage = None;
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).expect("chunk json");
        assert_eq!(v["object"], "chat.completion.chunk", "{v}");
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
        if v["usage"].is_object() {
            usage = Some(v["usage"].clone());
        }
    }
    assert_eq!(text, "echo: stream me please");
    assert_eq!(finish.as_deref(), Some("stop"));
    assert!(usage.is_some(), "usage chunk requested: {data:?}");
}

#[test]
fn anthropic_client_to_anthropic_is_forwarded_untouched() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let raw = br#"{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"hi there"}],"metadata":{"user_id":"u1"}}"#;
    let r = common::http::request(
        gw.addr,
        "POST",
        "/anthropic/v1/messages",
        &[
            ("content-type", "application/json"),
            ("x-api-key", "client-key-must-not-leak"),
            ("anthropic-version", "2023-06-01"),
        ],
        raw,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "echo: hi there");
    let sent = &mock.requests()[0];
    assert_eq!(sent["body"].as_str().map(str::as_bytes), Some(&raw[..]));
    assert_eq!(recorded_headers(sent, "x-api-key"), vec!["sk-ant-1"]);
}

#[test]
fn anthropic_client_to_openai_provider_translates_both_ways() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/anthropic/v1/messages",
        &anthropic_body("openai/gpt-4o-mini", "from the anthropic sdk", false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["content"][0]["type"], "text");
    assert_eq!(v["content"][0]["text"], "echo: from the anthropic sdk");
    assert_eq!(v["stop_reason"], "end_turn");
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-oai-1"]
    );
    let up = recorded_body(sent);
    assert_eq!(up["model"], "gpt-4o-mini");
    assert_eq!(up["messages"][0]["role"], "system");

    // Streaming: Anthropic's event sequence built from OpenAI chunks.
    let r = gw.post(
        "/anthropic/v1/messages",
        &anthropic_body("openai/gpt-4o-mini", "stream it", true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"), "{text}");
    assert_eq!(events.last(), Some(&"message_stop"), "{text}");
    assert!(events.contains(&"content_block_delta"), "{text}");
    assert!(events.contains(&"message_delta"), "{text}");
    let joined: String = r
        .sse_data()
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["type"] == "content_block_delta")
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(joined, "echo: stream it");
}

#[test]
fn errors_take_the_clients_shape() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    // OpenAI client, Anthropic provider failing: Bifrost error JSON with the upstream status.
    let r = gw.post(
        "/v1/chat/completions",
        &chat("anthropic/claude-fail-429", "x"),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.json()["error"]["message"].as_str().is_some());
    // Anthropic client: Anthropic's error shape, for upstream and gateway errors alike.
    let r = gw.post(
        "/anthropic/v1/messages",
        &anthropic_body("claude-fail-429", "x", false),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "error", "{v}");
    assert!(v["error"]["type"].as_str().is_some(), "{v}");
    let r = gw.post(
        "/anthropic/v1/messages",
        &anthropic_body("nope/x", "x", false),
    );
    // An unknown prefix is part of the model name for the default (anthropic) provider.
    assert_eq!(r.status, 200, "{}", r.text());
    let r = common::http::request(
        gw.addr,
        "POST",
        "/anthropic/v1/messages",
        &[("content-type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["type"], "error");
    // Operations Anthropic has no equivalent for are refused as unsupported.
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "anthropic/claude-3-5-haiku", "input": "x" }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

fn anthropic_sdk(
    gw: &Gateway,
    path: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> common::http::Resp {
    let mut h = vec![
        ("content-type", "application/json"),
        ("x-api-key", "client-key-must-not-leak"),
        ("anthropic-version", "2023-06-01"),
    ];
    h.extend_from_slice(extra);
    common::http::request(gw.addr, "POST", path, &h, body)
}

#[test]
fn count_tokens_on_anthropic_is_forwarded_with_the_beta_header() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let raw = br#"{"model":"claude-3-5-haiku","system":"be brief","messages":[{"role":"user","content":"how many tokens is this"}]}"#;
    let beta = [("anthropic-beta", "token-counting-2024-11-01")];
    let r = anthropic_sdk(&gw, "/anthropic/v1/messages/count_tokens", raw, &beta);
    assert_eq!(r.status, 200, "{}", r.text());
    let n = r.json()["input_tokens"].as_u64().expect("input_tokens");
    assert!(n >= 5, "{n}");
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/messages/count_tokens");
    assert_eq!(sent["body"].as_str().map(str::as_bytes), Some(&raw[..]));
    assert_eq!(recorded_headers(sent, "x-api-key"), vec!["sk-ant-1"]);
    assert_eq!(
        recorded_headers(sent, "anthropic-beta"),
        vec!["token-counting-2024-11-01"]
    );

    // The prefixed form reaches the same provider with the prefix stripped.
    mock.clear();
    let r = gw.post(
        "/anthropic/v1/messages/count_tokens",
        &json!({"model": "anthropic/claude-3-5-haiku", "messages": [{"role": "user", "content": "two words"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        recorded_body(&mock.requests()[0])["model"],
        "claude-3-5-haiku"
    );

    // Messages carry the beta header too; a provider of another format never sees it.
    mock.clear();
    let body = anthropic_body("claude-3-5-haiku", "hi", false).to_string();
    let r = anthropic_sdk(&gw, "/anthropic/v1/messages", body.as_bytes(), &beta);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = anthropic_body("openai/gpt-4o", "hi", false).to_string();
    let r = anthropic_sdk(&gw, "/anthropic/v1/messages", body.as_bytes(), &beta);
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = mock.requests();
    assert_eq!(recorded_headers(&sent[0], "anthropic-beta").len(), 1);
    assert!(recorded_headers(&sent[1], "anthropic-beta").is_empty());

    // A provider that cannot count tokens: unsupported, in Anthropic's shape, nothing sent.
    mock.clear();
    let r = gw.post(
        "/anthropic/v1/messages/count_tokens",
        &json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("count_tokens"),
        "{v}"
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn count_tokens_on_gemini_is_translated() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "gemini": { "keys": one_key("gm-key-1"), "network_config": { "base_url": mock.url() } }
    }}));
    let r = gw.post(
        "/anthropic/v1/messages/count_tokens",
        &json!({"model": "gemini/gemini-2.0-flash", "system": "be brief",
                "messages": [{"role": "user", "content": "count these four words"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // "be brief" + "count these four words", counted by the mock as Gemini would.
    assert_eq!(r.json(), json!({"input_tokens": 6}));
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1beta/models/gemini-2.0-flash:countTokens");
    assert_eq!(recorded_headers(sent, "x-goog-api-key"), vec!["gm-key-1"]);
    let up = recorded_body(sent);
    assert_eq!(
        up["generateContentRequest"]["model"],
        "models/gemini-2.0-flash"
    );
    assert_eq!(
        up["generateContentRequest"]["systemInstruction"]["parts"][0]["text"],
        "be brief"
    );
}

#[test]
fn anthropic_models_route_lists_in_anthropics_shape() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.get("/anthropic/v1/models");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let data = v["data"].as_array().expect("data");
    assert!(!data.is_empty(), "{v}");
    assert_eq!(data[0]["id"], "claude-sonnet-4-5-20250929", "bare: {v}");
    assert_eq!(data[0]["type"], "model");
    assert_eq!(data[0]["display_name"], "Claude Sonnet 4.5");
    assert_eq!(data[0]["created_at"], "2025-09-29T00:00:00Z");
    assert_eq!(v["has_more"], false);
    assert_eq!(v["first_id"], data[0]["id"]);
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/models");
    assert_eq!(recorded_headers(sent, "x-api-key"), vec!["sk-ant-1"]);

    // Another provider's models keep their prefix, since an Anthropic client would name them so.
    let r = gw.get("/anthropic/v1/models?provider=openai");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        !ids.is_empty() && ids.iter().all(|id| id.starts_with("openai/")),
        "{ids:?}"
    );
    // Unknown provider: an error in Anthropic's shape.
    let r = gw.get("/anthropic/v1/models?provider=nope");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
}
