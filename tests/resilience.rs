//! Retries, key rotation, fallbacks and timeouts against a misbehaving upstream.

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, Mock, chat, recorded_auth, recorded_body};
use serde_json::{Value, json};

/// One `openai` provider at the mock with these keys and network settings.
fn config(mock: &Mock, keys: Value, network: Value) -> Value {
    let mut network = network;
    network["base_url"] = json!(mock.url());
    json!({ "providers": { "openai": { "keys": keys, "network_config": network } } })
}

fn keys(values: &[&str]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "name": format!("k{i}"), "value": v, "models": ["*"], "weight": 1.0 }))
            .collect(),
    )
}

/// Fast retries: 2 retries, 20-40 ms backoff.
fn fast_retries(max_retries: u32) -> Value {
    json!({ "max_retries": max_retries, "retry_backoff_initial": 20, "retry_backoff_max": 40 })
}

fn server_error(message: &str) -> Value {
    json!({ "status": 500, "body": { "error": { "message": message, "type": "server_error", "code": "boom" } } })
}

fn auths(mock: &Mock) -> Vec<Option<String>> {
    mock.requests().iter().map(recorded_auth).collect()
}

fn models(mock: &Mock) -> Vec<String> {
    mock.requests()
        .iter()
        .map(|r| {
            recorded_body(r)["model"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn server_error_then_success_is_retried() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a"]), fast_retries(2)));
    mock.script(json!([server_error("transient")]));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "retry me"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: retry me"
    );
    let a = auths(&mock);
    assert_eq!(a, vec![Some("Bearer sk-a".to_string()); 2]);
}

#[test]
fn server_error_retries_stay_on_the_same_key() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a", "sk-b"]), fast_retries(2)));
    // Ten rounds: a random re-pick would keep the key ten times with odds of 1 in 1024.
    for round in 0..10 {
        mock.clear();
        mock.script(json!([server_error("transient")]));
        let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
        assert_eq!(r.status, 200, "{}", r.text());
        let a = auths(&mock);
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(
            a[0], a[1],
            "round {round}: 5xx retries stay on the same key"
        );
    }
}

#[test]
fn server_errors_beyond_max_retries_keep_the_upstream_status_and_message() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a"]), fast_retries(2)));
    mock.script(json!([{ "status": 503, "body": { "error": { "message": "still down", "type": "server_error" } }, "times": 5 }]));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 503, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["message"], "still down");
    assert_eq!(v["is_bifrost_error"], false);
    assert_eq!(v["extra_fields"]["provider"], "openai");
    assert_eq!(mock.requests().len(), 3, "first attempt + 2 retries");
}

#[test]
fn backoff_respects_retry_backoff_initial() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        keys(&["sk-a"]),
        json!({ "max_retries": 1, "retry_backoff_initial": "400ms", "retry_backoff_max": "2s" }),
    ));
    mock.script(json!([server_error("once")]));
    let started = Instant::now();
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    let gap = seen[1]["time_ms"].as_u64().unwrap_or(0) - seen[0]["time_ms"].as_u64().unwrap_or(0);
    assert!(gap >= 320, "retry came {gap} ms after the first attempt");
    assert!(
        elapsed >= Duration::from_millis(320) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[test]
fn rate_limit_rotates_to_the_other_key() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a", "sk-b"]), fast_retries(1)));
    mock.script(json!([{ "status": 429, "body": { "error": { "message": "slow down", "type": "requests" } } }]));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 200, "{}", r.text());
    let a = auths(&mock);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_ne!(a[0], a[1], "a 429 moves to another key");
}

#[test]
fn rate_limited_key_by_token_is_avoided() {
    // The mock answers 429 to every token starting with "limited".
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        keys(&["limited-1", "sk-ok"]),
        fast_retries(1),
    ));
    for _ in 0..10 {
        let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let a = auths(&mock);
    assert_eq!(
        a.iter()
            .filter(|t| t.as_deref() == Some("Bearer sk-ok"))
            .count(),
        10,
        "{a:?}"
    );
}

#[test]
fn unauthorized_rotates_without_spending_retries() {
    let mock = Mock::start(&[]);
    // No retries at all: the second key is still tried after a 401.
    let gw = Gateway::start(&config(
        &mock,
        keys(&["sk-a", "sk-b"]),
        json!({ "max_retries": 0 }),
    ));
    mock.script(json!([{ "status": 401, "body": { "error": { "message": "invalid key", "type": "invalid_request_error" } } }]));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 200, "{}", r.text());
    let a = auths(&mock);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_ne!(a[0], a[1]);
}

#[test]
fn all_keys_refused_is_502_credentials_exhausted() {
    // Tokens starting with "bad" get a 401 from the mock.
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["bad-1", "bad-2"]), fast_retries(2)));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 502, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["type"], "upstream_credentials_exhausted", "{v}");
    let mut a = auths(&mock);
    a.sort();
    assert_eq!(
        a,
        vec![Some("Bearer bad-1".into()), Some("Bearer bad-2".into())]
    );
}

#[test]
fn bad_request_from_upstream_is_not_retried() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a", "sk-b"]), fast_retries(3)));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-fail-400", "x"));
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("status 400 forced"),
        "{v}"
    );
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn connection_reset_is_retried() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a"]), fast_retries(2)));
    mock.script(json!([{ "action": "reset" }]));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "after reset"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: after reset"
    );
    assert_eq!(mock.requests().len(), 2);
}

#[test]
fn resets_beyond_max_retries_are_a_502() {
    // A fresh gateway, so every attempt opens a fresh upstream connection.
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a"]), fast_retries(2)));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-reset", "x"));
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(mock.requests().len(), 3, "first attempt + 2 retries");
}

#[test]
fn a_reset_on_a_pooled_connection_is_not_resent_without_retries() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &config(&mock, keys(&["sk-a"]), json!({ "max_retries": 0 })),
        common::Start {
            workers: Some(1),
            ..common::Start::default()
        },
    );
    // Warm the pool, then have the provider reset the reused connection.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "warm"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(mock.stats()["connections"], 1);
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-reset", "x"));
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        mock.requests().len(),
        1,
        "max_retries 0: the provider sees one attempt"
    );
}

/// `openai` and `groq`, both at the mock.
fn two_providers(mock: &Mock) -> Value {
    json!({ "providers": {
        "openai": { "keys": keys(&["sk-openai"]), "network_config": { "base_url": mock.url() } },
        "groq": { "keys": keys(&["sk-groq"]), "network_config": { "base_url": format!("{}/openai/v1", mock.url()) } }
    }})
}

#[test]
fn fallbacks_are_tried_in_order_and_the_first_success_wins() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let mut body = chat("openai/primary-fail-503", "fb");
    body["fallbacks"] = json!([
        "openai/second-fail-500",
        "groq/llama-ok",
        "openai/never-tried"
    ]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["extra_fields"]["provider"], "groq", "{v}");
    assert_eq!(v["extra_fields"]["model_requested"], "llama-ok", "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: fb");
    assert_eq!(
        models(&mock),
        vec!["primary-fail-503", "second-fail-500", "llama-ok"]
    );
    let seen = mock.requests();
    assert_eq!(seen[2]["path"], "/openai/v1/chat/completions");
    assert_eq!(recorded_auth(&seen[2]).as_deref(), Some("Bearer sk-groq"));
    assert!(recorded_body(&seen[2]).get("fallbacks").is_none());
}

#[test]
fn all_fallbacks_failing_returns_the_primarys_error() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let mut body = chat("openai/primary-fail-503", "x");
    body["fallbacks"] = json!(["groq/other-fail-500", "openai/third-fail-429"]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 503, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("status 503"),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["provider"], "openai", "{v}");
    assert_eq!(
        v["extra_fields"]["model_requested"], "primary-fail-503",
        "{v}"
    );
    assert_eq!(
        models(&mock),
        vec!["primary-fail-503", "other-fail-500", "third-fail-429"]
    );
}

#[test]
fn malformed_and_unknown_fallbacks_are_skipped() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let mut body = chat("openai/primary-fail-500", "x");
    body["fallbacks"] = json!([
        "no-provider",
        "/no-provider",
        "openai/",
        "nosuch/model",
        "",
        "groq/good-model"
    ]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["extra_fields"]["model_requested"], "good-model");
    assert_eq!(models(&mock), vec!["primary-fail-500", "good-model"]);
}

#[test]
fn hung_upstream_times_out_with_504() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        keys(&["sk-a"]),
        json!({ "default_request_timeout_in_seconds": 1 }),
    ));
    let started = Instant::now();
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-hang", "x"));
    let elapsed = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(6),
        "{elapsed:?}"
    );
    // The gateway still serves.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_pinned_key_does_not_follow_the_request_to_fallbacks() {
    // Bifrost clears x-bf-api-key / x-bf-api-key-id before each fallback: the pin names a key of
    // the primary provider, and the fallback provider picks its own.
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "openai": {
            "keys": [{ "name": "openai-main", "value": "sk-openai", "models": ["*"], "weight": 1.0 }],
            "network_config": { "base_url": mock.url() }
        },
        "groq": {
            "keys": [{ "name": "groq-main", "value": "sk-groq", "models": ["*"], "weight": 1.0 }],
            "network_config": { "base_url": format!("{}/openai/v1", mock.url()) }
        }
    }}));
    let mut body = chat("openai/primary-fail-503", "x");
    body["fallbacks"] = json!(["groq/llama-ok"]);
    let r = gw.post_with(
        "/v1/chat/completions",
        &body,
        &[("x-bf-api-key", "openai-main")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["extra_fields"]["provider"], "groq");
    assert_eq!(models(&mock), vec!["primary-fail-503", "llama-ok"]);
}

#[test]
fn fallbacks_are_not_tried_after_a_request_error() {
    // A malformed request would fail the same way everywhere.
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let r = gw.post(
        "/v1/chat/completions",
        &json!({ "model": "gpt-4o", "fallbacks": ["groq/llama-ok"], "messages": [] }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(mock.requests().is_empty());
}

#[test]
fn faults_scripted_by_the_mock_flag_reach_the_client() {
    // The mock's `--script` flag queues faults at start: a 503, then a reset connection.
    let mock = Mock::start(&[
        "--script",
        r#"[{"status": 503, "body": {"error": {"message": "scripted at start", "type": "server_error"}}},
            {"action": "reset"}]"#,
    ]);
    let gw = Gateway::start(&config(&mock, keys(&["sk-a"]), fast_retries(0)));
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["message"], "scripted at start");
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert_eq!(r.json()["is_bifrost_error"], true, "{}", r.text());
    // The queue is spent: normal answers again.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "x"));
    assert_eq!(r.status, 200, "{}", r.text());
}
