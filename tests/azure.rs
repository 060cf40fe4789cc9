//! Azure OpenAI through ringway: OpenAI clients reach per-key deployment URLs with `api-key`
//! auth and the key's API version; bodies stay OpenAI's (zero-copy, model spliced), streams
//! included; the Azure-style SDK route and Anthropic clients (translated) reach it too.

mod common;

use common::{Gateway, Mock, chat, recorded_body, recorded_headers};
use serde_json::{Value, json};

/// Two keys on one resource: `gpt-4o` maps to the `prod-gpt4o` deployment with a pinned API
/// version; the other key serves any other model as its own deployment, default API version.
fn gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "azure": { "keys": [
            { "name": "mapped", "value": "az-key-mapped", "models": ["gpt-4o"],
              "azure_key_config": { "endpoint": mock.url(),
                                    "deployments": { "gpt-4o": "prod-gpt4o" },
                                    "api_version": "2024-06-01" } },
            { "name": "plain", "value": "az-key-plain", "models": ["*"],
              "blacklisted_models": ["gpt-4o"],
              "azure_key_config": { "endpoint": format!("{}/openai", mock.url()) } }
        ] },
        "openai": { "keys": [{ "value": "sk-oai", "models": ["*"] }],
                    "network_config": { "base_url": mock.url() } }
    }}))
}

#[test]
fn openai_client_reaches_the_mapped_deployment_untouched() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let raw = br#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hello azure"}],"temperature":0.2,"logit_bias":{"50256":-100}}"#;
    let r = common::http::request(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        raw,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello azure");
    assert_eq!(v["extra_fields"]["provider"], "azure");

    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01"
    );
    assert_eq!(recorded_headers(sent, "api-key"), vec!["az-key-mapped"]);
    assert!(recorded_headers(sent, "authorization").is_empty());
    // Zero-copy: the client's bytes with only the model spliced.
    assert_eq!(
        sent["body"],
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hello azure"}],"temperature":0.2,"logit_bias":{"50256":-100}}"#
    );
}

#[test]
fn unmapped_models_are_deployments_with_the_default_api_version() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.post("/v1/chat/completions", &chat("azure/my-deploy", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "azure/text-embedding-3-small", "input": ["a", "b"] }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(2));
    let r = gw.post(
        "/v1/completions",
        &json!({ "model": "azure/gpt-35-instruct", "prompt": "say hi" }),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let sent = mock.requests();
    let paths: Vec<&str> = sent.iter().filter_map(|s| s["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21",
            "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
            "/openai/deployments/gpt-35-instruct/completions?api-version=2024-10-21",
        ]
    );
    for s in &sent {
        assert_eq!(recorded_headers(s, "api-key"), vec!["az-key-plain"]);
    }
}

#[test]
fn streams_pass_through() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let mut body = chat("azure/gpt-4o", "stream from azure");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk"))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: stream from azure");
    assert!(chunks.last().is_some_and(|c| c["usage"].is_object()));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01"
    );
    assert_eq!(recorded_body(sent)["stream"], true);
}

#[test]
fn azure_sdk_route_names_the_deployment_in_the_path() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    // The Azure OpenAI SDK sends no model and its own `api-key`, which must not leak upstream.
    let r = gw.post_with(
        "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21",
        &json!({ "messages": [{ "role": "user", "content": "from the azure sdk" }] }),
        &[("api-key", "client-key-must-not-leak")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: from the azure sdk"
    );
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(recorded_headers(sent, "api-key"), vec!["az-key-plain"]);
    assert_eq!(recorded_body(sent)["model"], "my-deploy");
}

#[test]
fn anthropic_client_reaches_azure_translated() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock);
    let body = json!({
        "model": "azure/gpt-4o", "max_tokens": 50, "system": "be brief",
        "messages": [{ "role": "user", "content": "from claude code" }]
    });
    let r = gw.post("/anthropic/v1/messages", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["content"][0]["text"], "echo: from claude code");
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01"
    );
    let up = recorded_body(sent);
    assert_eq!(
        up["messages"][0],
        json!({ "role": "system", "content": "be brief" })
    );
    let limit = up
        .get("max_completion_tokens")
        .or_else(|| up.get("max_tokens"));
    assert_eq!(limit, Some(&json!(50)), "{up}");
}

#[test]
fn errors_and_model_listing() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.post("/v1/chat/completions", &chat("azure/dep-fail-404", "x"));
    assert_eq!(r.status, 404, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure")),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["provider"], "azure");

    let r = gw.get("/v1/models?provider=azure");
    assert_eq!(r.status, 200, "{}", r.text());
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.iter().any(|id| id == "azure/gpt-4o"), "{ids:?}");
    let listed = mock
        .requests()
        .into_iter()
        .find(|s| s["method"] == "GET")
        .expect("models request");
    assert!(
        listed["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/openai/models?api-version=")),
        "{listed}"
    );
    assert_eq!(recorded_headers(&listed, "api-key").len(), 1);
}

#[test]
fn a_rejected_key_exhausts_the_credentials() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": { "azure": { "keys": [
        { "value": "bad-az-key", "models": ["*"],
          "azure_key_config": { "endpoint": mock.url() } }
    ] } } }));
    let r = gw.post("/v1/chat/completions", &chat("azure/gpt-4o", "x"));
    // Bifrost's answer once every key was refused (the mock's 401 for a `bad` key).
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "upstream_credentials_exhausted");
    assert_eq!(
        recorded_headers(&mock.requests()[0], "api-key"),
        vec!["bad-az-key"]
    );
}

#[test]
fn endpoint_and_api_version_from_the_environment() {
    let mock = Mock::start(&[]);
    let config = json!({ "providers": { "azure": { "keys": [
        { "value": "env.AZ_TEST_KEY", "models": ["*"],
          "azure_key_config": { "endpoint": "env.AZ_TEST_ENDPOINT",
                                "api_version": "env.AZ_TEST_VERSION" } }
    ] } } });
    let gw = Gateway::start_with(
        &config,
        common::Start {
            env: vec![
                ("AZ_TEST_KEY", "az-from-env".to_string()),
                ("AZ_TEST_ENDPOINT", mock.url()),
                ("AZ_TEST_VERSION", "2025-01-01-preview".to_string()),
            ],
            ..common::Start::default()
        },
    );
    let r = gw.post("/v1/chat/completions", &chat("azure/env-deploy", "x"));
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/openai/deployments/env-deploy/chat/completions?api-version=2025-01-01-preview"
    );
    assert_eq!(recorded_headers(sent, "api-key"), vec!["az-from-env"]);
}
