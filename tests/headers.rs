//! Which headers reach the provider: configured extra headers and `x-bf-eh-*` do; the client's
//! own credentials never do.

mod common;

use common::{Gateway, Mock, chat, one_key, provider_config, recorded_headers};
use serde_json::json;

#[test]
fn extra_headers_reach_the_provider_and_client_credentials_do_not() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-gateway"),
        json!({ "extra_headers": { "x-team": "blue", "x-region": "eu-west" } }),
    ));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[
            ("authorization", "Bearer client-secret-canary"),
            ("x-bf-eh-foo", "bar"),
            ("X-BF-EH-Trace-Id", "t-123"),
            ("x-api-key", "client-api-key-canary"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    assert_eq!(recorded_headers(sent, "x-team"), vec!["blue"]);
    assert_eq!(recorded_headers(sent, "x-region"), vec!["eu-west"]);
    assert_eq!(recorded_headers(sent, "foo"), vec!["bar"]);
    assert_eq!(recorded_headers(sent, "trace-id"), vec!["t-123"]);
    assert!(recorded_headers(sent, "x-bf-eh-foo").is_empty());
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-gateway"]
    );
    let all = sent["headers"].to_string();
    assert!(!all.contains("client-secret-canary"), "{all}");
    assert!(!all.contains("client-api-key-canary"), "{all}");
}

#[test]
fn extra_headers_also_reach_streams_and_model_listings() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-gateway"),
        json!({ "extra_headers": { "x-team": "blue" } }),
    ));
    let mut body = chat("openai/gpt-4o-mini", "hi");
    body["stream"] = json!(true);
    let r = gw.post_with("/v1/chat/completions", &body, &[("x-bf-eh-foo", "bar")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = gw.get("/v1/models");
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    for sent in &seen {
        assert_eq!(recorded_headers(sent, "x-team"), vec!["blue"], "{sent}");
    }
    assert_eq!(recorded_headers(&seen[0], "foo"), vec!["bar"]);
}

#[test]
fn extra_headers_cannot_override_framing_or_host() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-gateway"),
        json!({}),
    ));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[
            ("x-bf-eh-content-length", "3"),
            ("x-bf-eh-transfer-encoding", "chunked"),
            ("x-bf-eh-connection", "close"),
            ("x-bf-eh-host", "evil.example"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    let body_len = sent["body"].as_str().map_or(0, str::len).to_string();
    assert_eq!(
        recorded_headers(sent, "content-length"),
        vec![body_len],
        "{sent}"
    );
    assert!(
        recorded_headers(sent, "transfer-encoding").is_empty(),
        "{sent}"
    );
    let hosts = recorded_headers(sent, "host");
    assert!(hosts.len() == 1 && !hosts[0].contains("evil"), "{sent}");
    assert!(
        recorded_headers(sent, "connection")
            .iter()
            .all(|v| !v.eq_ignore_ascii_case("close")),
        "{sent}"
    );
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-gateway"],
        "{sent}"
    );
    // The pooled connection was not poisoned.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "again"));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn extra_header_authorization_is_not_duplicated() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-gateway"),
        json!({}),
    ));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[("x-bf-eh-authorization", "Bearer client-override")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    // Bifrost sets (replaces) context extra headers; two values would be ambiguous upstream.
    assert_eq!(recorded_headers(sent, "authorization").len(), 1, "{sent}");
}

#[test]
fn extra_headers_cannot_smuggle_credentials() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-gateway"),
        json!({}),
    ));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[
            ("x-bf-eh-cookie", "session=stolen"),
            ("x-bf-eh-proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("x-bf-eh-x-api-key", "client-key"),
            ("x-bf-eh-x-goog-api-key", "client-key"),
            ("x-bf-eh-x-bf-vk", "sk-bf-client"),
            ("x-bf-eh-x-bf-api-key", "other"),
            ("x-bf-eh-x-bf-api-key-id", "other"),
            ("x-bf-eh-x-harmless", "ok"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    for name in [
        "cookie",
        "proxy-authorization",
        "x-api-key",
        "x-goog-api-key",
        "x-bf-vk",
        "x-bf-api-key",
        "x-bf-api-key-id",
    ] {
        assert!(
            recorded_headers(sent, name).is_empty(),
            "{name} forwarded: {sent}"
        );
    }
    assert_eq!(recorded_headers(sent, "x-harmless"), vec!["ok"]);
}

#[test]
fn header_filter_config_limits_forwarded_extra_headers() {
    let mock = Mock::start(&[]);
    let mut cfg = provider_config("openai", &mock, one_key("sk-gateway"), json!({}));
    cfg["client"] = json!({ "header_filter_config": { "denylist": ["x-secret"] } });
    let gw = Gateway::start(&cfg);
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[("x-bf-eh-x-secret", "no"), ("x-bf-eh-x-fine", "yes")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    assert!(recorded_headers(sent, "x-secret").is_empty(), "{sent}");
    assert_eq!(recorded_headers(sent, "x-fine"), vec!["yes"]);
    drop(gw);

    mock.clear();
    cfg["client"] = json!({ "header_filter_config": { "allowlist": ["x-allowed"] } });
    let gw = Gateway::start(&cfg);
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hi"),
        &[("x-bf-eh-x-allowed", "1"), ("x-bf-eh-x-other", "2")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    assert_eq!(recorded_headers(sent, "x-allowed"), vec!["1"]);
    assert!(recorded_headers(sent, "x-other").is_empty(), "{sent}");
}
