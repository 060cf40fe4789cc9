//! `GET /v1/models`: every configured provider's models, prefixed, filterable by provider.

mod common;

use common::{Gateway, Mock, one_key};
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .expect("data array")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect()
}

/// `openai` and `groq` at the mock, `mistral` at a port nobody listens on.
fn config(mock: &Mock, dead: &str) -> Value {
    json!({ "providers": {
        "openai": { "keys": one_key("sk-openai"), "network_config": { "base_url": mock.url() } },
        "groq": { "keys": one_key("sk-groq"), "network_config": { "base_url": format!("{}/openai/v1", mock.url()) } },
        "mistral": { "keys": one_key("sk-mistral"), "network_config": { "base_url": dead } }
    }})
}

/// An address that refuses connections (a port bound and released).
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

#[test]
fn lists_every_providers_models_with_a_prefix() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, &dead_url()));
    let r = gw.get("/v1/models");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    let all = ids(&v);
    let openai: Vec<&String> = all.iter().filter(|i| i.starts_with("openai/")).collect();
    let groq: Vec<&String> = all.iter().filter(|i| i.starts_with("groq/")).collect();
    // The unreachable provider contributes nothing but hides nobody.
    assert!(!openai.is_empty() && openai.len() == groq.len(), "{all:?}");
    assert_eq!(openai.len() + groq.len(), all.len(), "{all:?}");
    assert!(all.contains(&"openai/gpt-4o-mini".to_string()), "{all:?}");
    assert!(all.contains(&"groq/gpt-4o-mini".to_string()), "{all:?}");

    // Each provider was asked with its own key on its own path.
    let seen = mock.requests();
    let paths: Vec<&str> = seen.iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(
        paths.contains(&"/v1/models") && paths.contains(&"/openai/v1/models"),
        "{paths:?}"
    );
    for r in &seen {
        let auth = common::recorded_auth(r);
        let expected = if r["path"] == "/v1/models" {
            "Bearer sk-openai"
        } else {
            "Bearer sk-groq"
        };
        assert_eq!(auth.as_deref(), Some(expected), "{r}");
    }
}

#[test]
fn provider_query_filters() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, &dead_url()));
    let r = gw.get("/v1/models?provider=groq");
    assert_eq!(r.status, 200, "{}", r.text());
    let only = ids(&r.json());
    assert!(!only.is_empty());
    assert!(only.iter().all(|i| i.starts_with("groq/")), "{only:?}");
    assert!(
        mock.requests()
            .iter()
            .all(|r| r["path"] == "/openai/v1/models")
    );

    let r = gw.get("/v1/models?provider=nosuch");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nosuch"))
    );

    // Asking for the unreachable provider alone is an error, not an empty list.
    let r = gw.get("/v1/models?provider=mistral");
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[test]
fn anthropic_models_are_listed_with_its_version_header() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "anthropic": { "keys": one_key("sk-ant-list"), "network_config": { "base_url": mock.url() } }
    }}));
    let r = gw.get("/v1/models?provider=anthropic");
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = ids(&r.json());
    assert!(!listed.is_empty(), "{}", r.text());
    assert!(
        listed.iter().all(|id| id.starts_with("anthropic/claude")),
        "{listed:?}"
    );
    let seen = mock.requests();
    let sent = seen
        .iter()
        .find(|q| q["path"].as_str().is_some_and(|p| p.ends_with("/models")))
        .expect("the listing went upstream");
    assert_eq!(
        common::recorded_headers(sent, "anthropic-version"),
        ["2023-06-01"]
    );
    assert_eq!(common::recorded_headers(sent, "x-api-key"), ["sk-ant-list"]);
}
