//! Key selection end to end: weights, allow/deny lists, disabled keys, pins, vLLM keys.

mod common;

use common::{Gateway, Mock, chat, recorded_auth};
use serde_json::{Value, json};

/// A config with one `openai` provider at the mock and these keys.
fn config(mock: &Mock, keys: Value) -> Value {
    json!({ "providers": { "openai": { "keys": keys, "network_config": { "base_url": mock.url() } } } })
}

fn key(name: &str, value: &str, models: Value, weight: f64) -> Value {
    json!({ "name": name, "value": value, "models": models, "weight": weight })
}

/// Sends `n` chat requests for `model` on one keep-alive connection; returns the bearer
/// tokens the mock saw, in order.
fn tokens_for(
    gw: &Gateway,
    mock: &Mock,
    model: &str,
    n: usize,
    headers: &[(&str, &str)],
) -> Vec<String> {
    mock.clear();
    let mut c = gw.conn();
    let body = serde_json::to_vec(&chat(model, "hi")).expect("json");
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    for _ in 0..n {
        let r = c.send("POST", "/v1/chat/completions", &h, &body);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    mock.requests()
        .iter()
        .map(|r| {
            recorded_auth(r)
                .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string))
                .expect("bearer token")
        })
        .collect()
}

fn assert_400_with(r: &common::Resp, needle: &str) -> Value {
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {v}");
    v
}

#[test]
fn weighted_choice_follows_weights() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        json!([
            key("heavy", "sk-heavy", json!(["*"]), 3.0),
            key("light", "sk-light", json!(["*"]), 1.0)
        ]),
    ));
    let tokens = tokens_for(&gw, &mock, "openai/gpt-4o-mini", 200, &[]);
    assert_eq!(tokens.len(), 200);
    let heavy = tokens.iter().filter(|t| *t == "sk-heavy").count();
    let light = tokens.iter().filter(|t| *t == "sk-light").count();
    assert_eq!(heavy + light, 200, "{tokens:?}");
    // Expected 150/50; these bounds fail with odds far below one in a million.
    assert!((115..=185).contains(&heavy), "heavy {heavy}, light {light}");
}

#[test]
fn allow_list_and_blacklist_decide_the_key() {
    let mock = Mock::start(&[]);
    let mut wide = key("wide", "sk-wide", json!(["*"]), 1.0);
    wide["blacklisted_models"] = json!(["special-model"]);
    let gw = Gateway::start(&config(
        &mock,
        json!([
            key("narrow", "sk-narrow", json!(["special-model"]), 1.0),
            wide
        ]),
    ));
    let t = tokens_for(&gw, &mock, "openai/special-model", 20, &[]);
    assert!(t.iter().all(|t| t == "sk-narrow"), "{t:?}");
    let t = tokens_for(&gw, &mock, "openai/gpt-4o", 20, &[]);
    assert!(t.iter().all(|t| t == "sk-wide"), "{t:?}");
}

#[test]
fn blacklist_wins_over_allow_list() {
    let mock = Mock::start(&[]);
    let mut k = key("only", "sk-only", json!(["gpt-4o"]), 1.0);
    k["blacklisted_models"] = json!(["gpt-4o"]);
    let gw = Gateway::start(&config(&mock, json!([k])));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "hi"));
    assert_400_with(&r, "no keys found that support model");
    assert!(mock.requests().is_empty());
}

#[test]
fn disabled_key_is_skipped() {
    let mock = Mock::start(&[]);
    let mut off = key("off", "sk-off", json!(["*"]), 100.0);
    off["enabled"] = json!(false);
    let gw = Gateway::start(&config(
        &mock,
        json!([off, key("on", "sk-on", json!(["*"]), 0.01)]),
    ));
    let t = tokens_for(&gw, &mock, "openai/gpt-4o-mini", 20, &[]);
    assert!(t.iter().all(|t| t == "sk-on"), "{t:?}");
}

#[test]
fn empty_models_denies_in_version_2_and_allows_in_version_1() {
    let mock = Mock::start(&[]);
    let keys = json!([key("k", "sk-empty", json!([]), 1.0)]);
    let gw = Gateway::start(&config(&mock, keys.clone()));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "hi"));
    let v = assert_400_with(&r, "no keys found that support model");
    assert_eq!(v["extra_fields"]["provider"], "openai");
    assert!(mock.requests().is_empty());
    drop(gw);

    let mut v1 = config(&mock, keys);
    v1["version"] = json!(1);
    let gw = Gateway::start(&v1);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        recorded_auth(&mock.requests()[0]).as_deref(),
        Some("Bearer sk-empty")
    );
}

#[test]
fn headers_pin_a_key_by_name_or_id() {
    let mock = Mock::start(&[]);
    let mut a = key("alpha", "sk-alpha", json!(["*"]), 1.0);
    a["id"] = json!("key-id-alpha");
    let mut b = key("beta", "sk-beta", json!(["*"]), 1.0);
    b["id"] = json!("key-id-beta");
    let gw = Gateway::start(&config(&mock, json!([a, b])));

    let t = tokens_for(
        &gw,
        &mock,
        "openai/gpt-4o-mini",
        15,
        &[("x-bf-api-key", "beta")],
    );
    assert!(t.iter().all(|t| t == "sk-beta"), "{t:?}");
    let t = tokens_for(
        &gw,
        &mock,
        "openai/gpt-4o-mini",
        15,
        &[("x-bf-api-key-id", "key-id-alpha")],
    );
    assert!(t.iter().all(|t| t == "sk-alpha"), "{t:?}");
    // The id wins when both are given (Bifrost checks it first).
    let t = tokens_for(
        &gw,
        &mock,
        "openai/gpt-4o-mini",
        5,
        &[
            ("x-bf-api-key", "beta"),
            ("x-bf-api-key-id", "key-id-alpha"),
        ],
    );
    assert!(t.iter().all(|t| t == "sk-alpha"), "{t:?}");

    mock.clear();
    for h in [
        ("x-bf-api-key", "gamma"),
        ("x-bf-api-key-id", "key-id-gamma"),
    ] {
        let r = gw.post_with(
            "/v1/chat/completions",
            &chat("openai/gpt-4o-mini", "hi"),
            &[h],
        );
        assert_eq!(r.status, 400, "{h:?}: {}", r.text());
        let v = r.json();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn no_key_for_the_model_is_a_400_with_bifrosts_message() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        json!([key("k", "sk-k", json!(["gpt-4o"]), 1.0)]),
    ));
    let r = gw.post("/v1/chat/completions", &chat("openai/claude-3", "hi"));
    let v = assert_400_with(&r, "no keys found that support model");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("claude-3"),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["request_type"], "chat_completion");
    assert!(mock.requests().is_empty());
}

#[test]
fn vllm_keys_serve_only_their_model() {
    let mock = Mock::start(&[]);
    let vkey = |name: &str, model: &str| {
        json!({
            "name": name, "value": format!("tok-{name}"), "models": ["*"], "weight": 1.0,
            "vllm_key_config": { "url": mock.url(), "model_name": model }
        })
    };
    let cfg =
        json!({ "providers": { "vllm": { "keys": [vkey("a", "llama-a"), vkey("b", "qwen-b")] } } });
    let gw = Gateway::start(&cfg);
    let t = tokens_for(&gw, &mock, "vllm/llama-a", 10, &[]);
    assert!(t.iter().all(|t| t == "tok-a"), "{t:?}");
    let t = tokens_for(&gw, &mock, "vllm/qwen-b", 10, &[]);
    assert!(t.iter().all(|t| t == "tok-b"), "{t:?}");
    let sent = mock.requests();
    assert_eq!(sent[0]["path"], "/v1/chat/completions");

    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat("vllm/mistral-7b", "hi"));
    assert_400_with(&r, "no keys found that support model");
    assert!(mock.requests().is_empty());
}

#[test]
fn zero_weights_spread_uniformly() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        json!([
            key("a", "sk-a", json!(["*"]), 0.0),
            key("b", "sk-b", json!(["*"]), 0.0)
        ]),
    ));
    let tokens = tokens_for(&gw, &mock, "openai/gpt-4o-mini", 100, &[]);
    let a = tokens.iter().filter(|t| *t == "sk-a").count();
    assert!((20..=80).contains(&a), "a {a} of 100");
}
