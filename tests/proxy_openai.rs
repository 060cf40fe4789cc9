//! The OpenAI-format path end to end: ringway + mock provider over real sockets.

mod common;

use common::{Gateway, Mock, chat, one_key, provider_config};
use serde_json::{Value, json};

#[test]
fn chat_completion_is_proxied_with_model_stripped_and_key_injected() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-test-123"),
        json!({}),
    ));
    let mut body = chat("openai/gpt-4o-mini", "hello there");
    body["temperature"] = json!(0.25);
    body["some_unknown_field"] = json!({"nested": [1, 2, 3]});
    body["fallbacks"] = json!(["groq/llama"]);
    let r = gw.post_with(
        "/v1/chat/completions",
        &body,
        &[("authorization", "Bearer client-secret-must-not-leak")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello there");
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["extra_fields"]["provider"], "openai");
    assert_eq!(v["extra_fields"]["model_requested"], "gpt-4o-mini");

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let sent = &reqs[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    let headers = sent["headers"].as_array().expect("headers");
    let auth: Vec<&str> = headers
        .iter()
        .filter(|h| {
            h[0].as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
        })
        .filter_map(|h| h[1].as_str())
        .collect();
    assert_eq!(
        auth,
        vec!["Bearer sk-test-123"],
        "only ringway's key goes upstream"
    );
    let upstream_body: serde_json::Value =
        serde_json::from_str(sent["body"].as_str().expect("body")).expect("json body");
    assert_eq!(upstream_body["model"], "gpt-4o-mini");
    assert!(upstream_body.get("fallbacks").is_none());
    assert_eq!(upstream_body["temperature"], 0.25);
    assert_eq!(
        upstream_body["some_unknown_field"]["nested"],
        json!([1, 2, 3])
    );
}

#[test]
fn untouched_bytes_are_forwarded_verbatim() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let raw = br#"{ "messages" : [ {"role":"user","content":"x \u00e9 \"q\""} ],  "model":"openai/m1" , "n":1 }"#;
    let r = common::http::request(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        raw,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = mock.requests();
    let body = sent[0]["body"].as_str().expect("body");
    assert_eq!(
        body,
        r#"{ "messages" : [ {"role":"user","content":"x \u00e9 \"q\""} ],  "model":"m1" , "n":1 }"#
    );
}

#[test]
fn completions_embeddings_and_models() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let r = gw.post(
        "/v1/completions",
        &json!({"model": "openai/gpt-3.5-turbo-instruct", "prompt": "say hi"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["object"], "text_completion");

    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "openai/text-embedding-3-small", "input": ["a", "b"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(2));

    let r = gw.get("/v1/models");
    assert_eq!(r.status, 200, "{}", r.text());
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id.starts_with("openai/")), "{ids:?}");

    let r = gw.get("/v1/models?provider=openai");
    assert_eq!(r.status, 200);
    let r = gw.get("/v1/models?provider=nope");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn health_and_unknown_routes() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let r = gw.get("/health");
    assert_eq!(r.status, 200);
    let r = gw.get("/v2/nothing");
    assert_eq!(r.status, 404);
    let v = r.json();
    assert_eq!(v["error"]["message"], "Route not found: /v2/nothing");
}

#[test]
fn openai_compatible_providers_use_their_paths() {
    let mock = Mock::start(&[]);
    // groq's default base carries an /openai prefix; with a base_url override ending in /v1 the
    // /v1 is normalised so the path is not doubled.
    let cfg = json!({ "providers": {
        "groq": { "keys": one_key("gsk-1"), "network_config": { "base_url": format!("{}/openai/v1/", mock.url()) } },
        "perplexity": { "keys": one_key("pplx-1"), "network_config": { "base_url": mock.url() } },
        "vllm": { "keys": [{ "name": "local", "value": "", "models": ["*"], "weight": 1 }],
                  "network_config": { "base_url": format!("{}/v1", mock.url()) } }
    }});
    let gw = Gateway::start(&cfg);
    for (model, path, auth) in [
        (
            "groq/llama-3.1-8b",
            "/openai/v1/chat/completions",
            Some("Bearer gsk-1"),
        ),
        (
            "perplexity/sonar",
            "/chat/completions",
            Some("Bearer pplx-1"),
        ),
        ("vllm/meta-llama/Llama-3-8B", "/v1/chat/completions", None),
    ] {
        mock.clear();
        let r = gw.post("/v1/chat/completions", &chat(model, "hi"));
        // The mock demands auth; a keyless vLLM request reaches it and is answered 401.
        let sent = mock.requests();
        assert_eq!(sent.len(), 1, "{model}: {}", r.text());
        assert_eq!(sent[0]["path"], path, "{model}");
        let got = sent[0]["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .find(|h| {
                h[0].as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
            })
            .and_then(|h| h[1].as_str().map(str::to_string));
        assert_eq!(got.as_deref(), auth, "{model}");
        if auth.is_some() {
            assert_eq!(r.status, 200, "{model}: {}", r.text());
        }
    }
}

#[test]
fn metrics_report_overhead_and_outcomes_per_provider() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &provider_config("openai", &mock, one_key("sk-a"), json!({})),
        common::Start {
            workers: Some(2),
            ..Default::default()
        },
    );
    for _ in 0..3 {
        assert_eq!(
            gw.post("/v1/chat/completions", &chat("openai/m", "x"))
                .status,
            200
        );
    }
    let failed = gw.post("/v1/chat/completions", &chat("openai/fail-500", "x"));
    assert_eq!(failed.status, 500);
    let text = gw.get("/metrics").text();
    assert!(
        text.contains("# TYPE bifrost_overhead_latency_microseconds histogram"),
        "{text}"
    );
    // Requests may land on either worker: the scrape sums both cores.
    assert!(
        text.contains(r#"bifrost_overhead_latency_microseconds_count{provider="openai"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bifrost_success_requests_total{provider="openai"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bifrost_error_requests_total{provider="openai"} 1"#),
        "{text}"
    );
    assert!(!text.contains("sk-a"), "no secrets in metrics");
    // Both histograms are cumulative once: buckets never decrease, and +Inf is the count.
    for name in [
        "bifrost_overhead_latency_microseconds",
        "bifrost_upstream_latency_seconds",
    ] {
        let prefix = format!("{name}_bucket{{");
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with(&prefix) && l.contains(r#"provider="openai""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(buckets.len() > 2, "{name}: {text}");
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{name}: {text}");
        let count: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_count{{provider=\"openai\"}} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name}_count missing: {text}"));
        assert_eq!(buckets.last().copied(), Some(count), "{name}: {text}");
    }
}

#[test]
fn openai_sdk_drop_in_routes_accept_bare_models() {
    let mock = Mock::start(&[]);
    let cfg = json!({ "providers": {
        "openai": { "keys": one_key("sk-o"), "network_config": { "base_url": mock.url() } },
        "groq": { "keys": one_key("gsk-g"), "network_config": { "base_url": mock.url() } }
    }});
    let gw = Gateway::start(&cfg);
    let sent_model = |mock: &Mock| -> (String, String) {
        let reqs = mock.requests();
        let last = reqs.last().expect("a request reached the mock");
        let body: serde_json::Value =
            serde_json::from_str(last["body"].as_str().expect("body")).expect("json");
        let auth = last["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .find(|h| {
                h[0].as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
            })
            .and_then(|h| h[1].as_str())
            .unwrap_or_default()
            .to_string();
        (body["model"].as_str().unwrap_or_default().to_string(), auth)
    };
    for (path, model, want_model, want_auth) in [
        (
            "/openai/v1/chat/completions",
            "gpt-4o-mini",
            "gpt-4o-mini",
            "Bearer sk-o",
        ),
        (
            "/openai/chat/completions",
            "gpt-4o-mini",
            "gpt-4o-mini",
            "Bearer sk-o",
        ),
        (
            "/openai/v1/chat/completions",
            "groq/llama-3",
            "llama-3",
            "Bearer gsk-g",
        ),
        // A prefix that is not a configured provider stays part of the model name.
        (
            "/openai/v1/chat/completions",
            "meta-llama/Llama-3",
            "meta-llama/Llama-3",
            "Bearer sk-o",
        ),
        (
            "/litellm/v1/chat/completions",
            "gpt-4o",
            "gpt-4o",
            "Bearer sk-o",
        ),
        (
            "/langchain/v1/chat/completions",
            "gpt-4o",
            "gpt-4o",
            "Bearer sk-o",
        ),
        (
            "/pydanticai/v1/chat/completions",
            "gpt-4o",
            "gpt-4o",
            "Bearer sk-o",
        ),
    ] {
        let r = gw.post(path, &chat(model, "hi"));
        assert_eq!(r.status, 200, "{path} {model}: {}", r.text());
        assert_eq!(
            sent_model(&mock),
            (want_model.to_string(), want_auth.to_string()),
            "{path}"
        );
    }
    // The unified route still insists on provider/model.
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "hi"))
            .status,
        400
    );

    // Azure-style deployment path: the model comes from the path when the body has none.
    let r = gw.post(
        "/openai/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21",
        &json!({ "messages": [{ "role": "user", "content": "hi" }] }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sent_model(&mock).0, "my-deployment");

    let r = gw.post(
        "/openai/v1/embeddings",
        &json!({ "model": "text-embedding-3-small", "input": "x" }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gw.get("/openai/v1/models").status, 200);
}

#[test]
fn provider_headers_reach_the_client_on_errors_too() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    mock.script(json!([{
        "status": 429,
        "body": { "error": { "message": "slow down", "type": "rate_limit_exceeded" } },
        "headers": { "retry-after": "7", "x-ratelimit-remaining-requests": "0" }
    }]));
    let r = gw.post("/v1/chat/completions", &chat("openai/m", "x"));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(r.json()["error"]["message"], "slow down");
}

#[test]
fn raw_request_and_response_are_echoed_when_configured() {
    let mock = Mock::start(&[]);
    let mut cfg = provider_config("openai", &mock, one_key("sk-a"), json!({}));
    cfg["providers"]["openai"]["send_back_raw_request"] = json!(true);
    cfg["providers"]["openai"]["send_back_raw_response"] = json!(true);
    let gw = Gateway::start(&cfg);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "raw"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["extra_fields"]["raw_request"]["model"], "gpt-4o-mini");
    assert_eq!(
        v["extra_fields"]["raw_response"]["choices"][0]["message"]["content"],
        "echo: raw"
    );
    // Streams: every chunk carries the provider event it came from.
    let mut body = chat("openai/gpt-4o-mini", "raw stream");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let chunks: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect();
    assert!(chunks.len() > 2, "{text}");
    for c in &chunks {
        let raw = &c["extra_fields"]["raw_response"];
        assert_eq!(raw["object"], "chat.completion.chunk", "{c}");
        assert_eq!(
            raw["choices"], c["choices"],
            "passthrough: the same chunk: {c}"
        );
    }
    assert!(text.contains("data: [DONE]"));
    // A provider error carries the raw exchange too: the body sent and the provider's error.
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-fail-429", "raw err"),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["extra_fields"]["raw_request"]["model"], "gpt-fail-429",
        "{v}"
    );
    assert!(
        v["extra_fields"]["raw_response"]["error"]["message"].is_string(),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["provider"], "openai");
    // Off by default: no raw fields.
    let plain = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let r = plain.post("/v1/chat/completions", &chat("openai/gpt-fail-429", "x"));
    let v = r.json();
    assert!(v["extra_fields"].get("raw_request").is_none(), "{v}");
    assert!(v["extra_fields"].get("raw_response").is_none(), "{v}");
}
