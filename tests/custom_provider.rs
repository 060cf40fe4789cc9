//! `custom_provider_config`: a named provider reusing a base format, with `is_key_less`,
//! `allowed_requests` and `request_path_overrides`, end to end against the mock.

mod common;

use common::{Gateway, Mock, chat, one_key, recorded_body, recorded_headers};
use serde_json::json;

#[test]
fn keyless_custom_provider_sends_no_auth_and_overrides_paths() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "local-llm": {
            "keys": [],
            "network_config": { "base_url": format!("{}/open", mock.url()) },
            "custom_provider_config": {
                "base_provider_type": "openai",
                "is_key_less": true,
                "request_path_overrides": {
                    "chat_completion": "/serving/v3/chat/completions",
                    "embedding": "/serving/v3/embeddings"
                }
            }
        }
    }}));
    let r = gw.post("/v1/chat/completions", &chat("local-llm/llama-3", "no key"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "echo: no key");
    assert_eq!(r.json()["extra_fields"]["provider"], "local-llm");
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/open/serving/v3/chat/completions");
    assert!(recorded_headers(sent, "authorization").is_empty(), "{sent}");
    assert_eq!(recorded_body(sent)["model"], "llama-3");

    // The stream variant follows the chat override; an operation without one keeps the default.
    mock.clear();
    let mut body = chat("local-llm/llama-3", "streamed");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("data: [DONE]"));
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "local-llm/embedder", "input": "x"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = gw.post(
        "/v1/completions",
        &json!({"model": "local-llm/llama-3", "prompt": "x"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let paths: Vec<String> = mock
        .requests()
        .iter()
        .map(|s| s["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/open/serving/v3/chat/completions",
            "/open/serving/v3/embeddings",
            "/open/v1/completions"
        ]
    );
}

#[test]
fn custom_provider_with_keys_and_allowed_requests() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "openai-eu": {
            "keys": one_key("sk-eu-key-000000"),
            "network_config": { "base_url": format!("{}/eu", mock.url()) },
            "custom_provider_config": {
                "base_provider_type": "openai",
                "allowed_requests": { "chat_completion": true, "chat_completion_stream": false }
            }
        }
    }}));
    let r = gw.post("/v1/chat/completions", &chat("openai-eu/gpt-4o", "eu"));
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/eu/v1/chat/completions");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-eu-key-000000"]
    );
    // Streaming and embeddings are not allowed: Bifrost's unsupported-operation error, nothing
    // sent upstream.
    mock.clear();
    let mut body = chat("openai-eu/gpt-4o", "eu");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert_eq!(v["is_bifrost_error"], true, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("chat_completion_stream"),
        "{v}"
    );
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "openai-eu/text-embedding-3-small", "input": "x"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(mock.requests().is_empty());
    // The provider's name is its own: the base type's name does not reach it.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "x"));
    assert_eq!(r.status, 400, "{}", r.text());
}
