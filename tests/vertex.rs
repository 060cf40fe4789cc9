//! Google Vertex AI through ringway: Gemini and Anthropic models on Vertex paths, the
//! service-account token grant (cached, refreshed, failing), embeddings and the drop-in routes.
//!
//! The RSA key is generated per run with the `openssl` CLI; the mock checks the grant's shape.

mod common;

use std::time::Duration;

use common::{Gateway, Mock, api, chat, recorded_auth, recorded_body, temp_dir};
use serde_json::{Value, json};

const PROJECT: &str = "proj-1";
const REGION: &str = "us-central1";

/// A fresh PKCS#8 RSA key in PEM (test only, never leaves the temp dir).
fn test_key() -> String {
    let dir = temp_dir("vertex-key");
    let path = dir.join("key.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&path).expect("key file")
}

/// A service-account JSON whose token endpoint is the mock's.
fn service_account(mock: &Mock, email: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "kid-1",
        "private_key": test_key(),
        "client_email": email,
        "token_uri": format!("{}/token", mock.url()),
    })
    .to_string()
}

fn vertex_config(mock: &Mock, credentials: &str) -> Value {
    json!({ "providers": { "vertex": {
        "keys": [{
            "name": "vk", "value": "", "models": ["*"], "weight": 1.0,
            "vertex_key_config": {
                "project_id": PROJECT, "region": REGION, "auth_credentials": credentials,
                // A key with deployments serves only the models they name (Bifrost's key
                // filter): every model these tests use, `my-claude` as an alias.
                "deployments": {
                    "my-claude": "claude-3-5-haiku@20241022",
                    "claude-sonnet-4@20250514": "claude-sonnet-4@20250514",
                    "claude-fail-429": "claude-fail-429",
                    "claude-missing": "claude-missing",
                    "gemini-2.0-flash": "gemini-2.0-flash",
                    "text-embedding-005": "text-embedding-005"
                }
            }
        }],
        "network_config": { "base_url": mock.url() }
    }}})
}

fn gateway(mock: &Mock, email: &str) -> Gateway {
    Gateway::start(&vertex_config(mock, &service_account(mock, email)))
}

fn token_calls(mock: &Mock) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["path"] == "/token")
        .collect()
}

fn model_calls(mock: &Mock) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["path"] != "/token")
        .collect()
}

fn model_path(publisher: &str, model: &str, method: &str) -> String {
    format!(
        "/v1/projects/{PROJECT}/locations/{REGION}/publishers/{publisher}/models/{model}{method}"
    )
}

fn stream_text(data: &[String]) -> String {
    data.iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn gemini_on_vertex_chat_and_stream_share_one_token() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "hello vertex"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello vertex");
    assert_eq!(v["extra_fields"]["provider"], "vertex");

    let mut body = chat("vertex/gemini-2.0-flash", "stream it");
    body["stream"] = json!(true);
    let s = gw.post("/v1/chat/completions", &body);
    assert_eq!(s.status, 200, "{}", s.text());
    let data = s.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    assert_eq!(stream_text(&data), "echo: stream it");

    let calls = model_calls(&mock);
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["path"],
        model_path("google", "gemini-2.0-flash", ":generateContent")
    );
    assert_eq!(
        calls[1]["path"],
        model_path(
            "google",
            "gemini-2.0-flash",
            ":streamGenerateContent?alt=sse"
        )
    );
    assert_eq!(
        recorded_body(&calls[0])["contents"],
        json!([{ "role": "user", "parts": [{ "text": "hello vertex" }] }])
    );
    let tokens = token_calls(&mock);
    assert_eq!(tokens.len(), 1, "one token for both requests: {tokens:?}");
    let auth = recorded_auth(&calls[0]).expect("authorization");
    assert!(auth.starts_with("Bearer mock-token-"), "{auth}");
    assert_eq!(recorded_auth(&calls[1]).as_deref(), Some(auth.as_str()));
    let grant = tokens[0]["body"].as_str().unwrap_or_default();
    assert!(
        grant.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ),
        "{grant}"
    );
}

#[test]
fn anthropic_on_vertex_chat_stream_and_deployments() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let mut body = chat("vertex/claude-sonnet-4@20250514", "hello claude");
    body["max_tokens"] = json!(64);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: hello claude"
    );

    let mut stream = chat("vertex/my-claude", "stream claude");
    stream["stream"] = json!(true);
    let s = gw.post("/v1/chat/completions", &stream);
    assert_eq!(s.status, 200, "{}", s.text());
    assert_eq!(stream_text(&s.sse_data()), "echo: stream claude");

    let calls = model_calls(&mock);
    assert_eq!(
        calls[0]["path"],
        model_path("anthropic", "claude-sonnet-4@20250514", ":rawPredict")
    );
    // The alias is sent as the key's deployment.
    assert_eq!(
        calls[1]["path"],
        model_path(
            "anthropic",
            "claude-3-5-haiku@20241022",
            ":streamRawPredict"
        )
    );
    let sent = recorded_body(&calls[0]);
    assert!(sent.get("model").is_none(), "{sent}");
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(recorded_body(&calls[1])["stream"], true);
    assert!(common::recorded_headers(&calls[0], "anthropic-version").is_empty());
    assert_eq!(token_calls(&mock).len(), 1);
}

#[test]
fn embeddings_use_predict_instances() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "vertex/text-embedding-005", "input": ["one two", "three"], "dimensions": 4 }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["data"][1]["embedding"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    let calls = model_calls(&mock);
    assert_eq!(
        calls[0]["path"],
        model_path("google", "text-embedding-005", ":predict")
    );
    assert_eq!(
        recorded_body(&calls[0]),
        json!({ "instances": [{ "content": "one two" }, { "content": "three" }],
                "parameters": { "autoTruncate": true, "outputDimensionality": 4 } })
    );
}

#[test]
fn token_is_refreshed_after_expiry() {
    let mock = Mock::start(&[]);
    // The mock answers `short*` issuers with `expires_in: 2`: ringway refreshes after 1 s.
    let gw = gateway(&mock, "short-sa@proj-1.iam.gserviceaccount.com");
    let first = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "a"),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let again = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "b"),
    );
    assert_eq!(again.status, 200);
    assert_eq!(token_calls(&mock).len(), 1);
    std::thread::sleep(Duration::from_millis(1300));
    let later = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "c"),
    );
    assert_eq!(later.status, 200, "{}", later.text());
    assert_eq!(token_calls(&mock).len(), 2);
    let calls = model_calls(&mock);
    assert_ne!(recorded_auth(&calls[0]), recorded_auth(&calls[2]));
}

#[test]
fn token_endpoint_failure_is_a_bifrost_error() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "fail-sa@proj-1.iam.gserviceaccount.com");
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "x"),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    let v = r.json();
    assert_eq!(v["is_bifrost_error"], true);
    assert_eq!(v["status_code"], 502);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("token endpoint") && message.contains("invalid_grant"),
        "{message}"
    );
    assert_eq!(v["extra_fields"]["provider"], "vertex");
    assert!(
        model_calls(&mock).is_empty(),
        "no model call without a token"
    );
}

#[test]
fn bad_service_account_json_is_a_clear_error() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&vertex_config(&mock, "{not json"));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "x"),
    );
    assert_eq!(r.status, 500, "{}", r.text());
    let v = r.json();
    assert_eq!(v["is_bifrost_error"], true);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("auth_credentials") && message.contains("service-account"),
        "{message}"
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn drop_in_routes_reach_vertex() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let a = gw.post(
        "/anthropic/v1/messages",
        &json!({ "model": "vertex/claude-sonnet-4@20250514", "max_tokens": 32,
                 "messages": [{ "role": "user", "content": "from the anthropic sdk" }] }),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "echo: from the anthropic sdk");
    let g = gw.post(
        "/genai/v1beta/models/vertex/gemini-2.0-flash:generateContent",
        &json!({ "contents": [{ "role": "user", "parts": [{ "text": "from genai" }] }] }),
    );
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(
        g.json()["candidates"][0]["content"]["parts"][0]["text"],
        "echo: from genai"
    );
    let calls = model_calls(&mock);
    assert_eq!(
        calls[0]["path"],
        model_path("anthropic", "claude-sonnet-4@20250514", ":rawPredict")
    );
    let sent = recorded_body(&calls[0]);
    assert!(sent.get("model").is_none(), "{sent}");
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(
        calls[1]["path"],
        model_path("google", "gemini-2.0-flash", ":generateContent")
    );
}

#[test]
fn credentials_never_shown_by_the_admin_api() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let r = api(&gw, "GET", "/api/providers/vertex", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(!text.contains("sa@proj-1"), "{text}");
    let logs = gw.logs();
    assert!(!logs.contains("PRIVATE KEY"));
}

#[test]
fn concurrent_first_requests_on_one_core_share_one_fetch() {
    // The token answer takes 300 ms, so all requests arrive while the first fetch is in flight.
    let mock = Mock::start(&["--latency-ms", "300"]);
    let config = vertex_config(
        &mock,
        &service_account(&mock, "sa@proj-1.iam.gserviceaccount.com"),
    );
    let gw = Gateway::start_with(
        &config,
        common::Start {
            workers: Some(1),
            ..Default::default()
        },
    );
    let addr = gw.addr;
    let threads: Vec<_> = (0..5)
        .map(|i| {
            std::thread::spawn(move || {
                let body = chat("vertex/gemini-2.0-flash", &format!("hi {i}"));
                common::http::request(
                    addr,
                    "POST",
                    "/v1/chat/completions",
                    &[("content-type", "application/json")],
                    body.to_string().as_bytes(),
                )
                .status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), 200);
    }
    assert_eq!(token_calls(&mock).len(), 1);
    assert_eq!(model_calls(&mock).len(), 5);
}

#[test]
fn errors_keep_their_message_in_either_shape_and_a_refused_token_is_dropped() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    // Anthropic's own shape (the mock's Messages responder fails on `fail-429` model names).
    let mut body = chat("vertex/claude-fail-429", "x");
    body["max_tokens"] = json!(8);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["is_bifrost_error"], false);
    // Google's shape from Vertex's front end, for a Claude model.
    mock.script(json!([{
        "status": 404,
        "body": { "error": { "code": 404, "message": "Publisher model not found", "status": "NOT_FOUND" } }
    }]));
    let mut body = chat("vertex/claude-missing", "x");
    body["max_tokens"] = json!(8);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["message"], "Publisher model not found");
    assert_eq!(token_calls(&mock).len(), 1);
    // A 401 drops the cached token: the next request fetches a new one.
    mock.script(json!([{
        "status": 401,
        "body": { "error": { "code": 401, "message": "token revoked", "status": "UNAUTHENTICATED" } }
    }]));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "x"),
    );
    assert!(r.status >= 400, "{}", r.text());
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "y"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(token_calls(&mock).len(), 2);
}

#[test]
fn responses_api_reaches_claude_on_vertex() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let r = gw.post(
        "/v1/responses",
        &json!({ "model": "vertex/claude-sonnet-4@20250514", "input": "via responses",
                 "max_output_tokens": 16 }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response");
    assert_eq!(v["output"][0]["content"][0]["text"], "echo: via responses");
    let calls = model_calls(&mock);
    assert_eq!(
        calls[0]["path"],
        model_path("anthropic", "claude-sonnet-4@20250514", ":rawPredict")
    );
}

#[test]
fn drop_in_streams_and_genai_embeddings_reach_vertex() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock, "sa@proj-1.iam.gserviceaccount.com");
    let a = gw.post(
        "/anthropic/v1/messages",
        &json!({ "model": "vertex/claude-sonnet-4@20250514", "max_tokens": 32, "stream": true,
                 "messages": [{ "role": "user", "content": "stream claude" }] }),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let text: String = a
        .sse_data()
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "echo: stream claude");
    let g = gw.post(
        "/genai/v1beta/models/vertex/gemini-2.0-flash:streamGenerateContent?alt=sse",
        &json!({ "contents": [{ "role": "user", "parts": [{ "text": "stream genai" }] }] }),
    );
    assert_eq!(g.status, 200, "{}", g.text());
    let text: String = g
        .sse_data()
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "echo: stream genai");
    let e = gw.post(
        "/genai/v1beta/models/vertex/text-embedding-005:embedContent",
        &json!({ "content": { "parts": [{ "text": "embed me" }] }, "outputDimensionality": 3 }),
    );
    assert_eq!(e.status, 200, "{}", e.text());
    assert_eq!(
        e.json()["embedding"]["values"].as_array().map(Vec::len),
        Some(3)
    );
    let calls = model_calls(&mock);
    assert_eq!(
        calls[0]["path"],
        model_path("anthropic", "claude-sonnet-4@20250514", ":streamRawPredict")
    );
    assert_eq!(
        calls[1]["path"],
        model_path(
            "google",
            "gemini-2.0-flash",
            ":streamGenerateContent?alt=sse"
        )
    );
    assert_eq!(
        calls[2]["path"],
        model_path("google", "text-embedding-005", ":predict")
    );
    assert_eq!(
        recorded_body(&calls[2])["instances"],
        json!([{ "content": "embed me" }])
    );
}

#[test]
fn the_token_endpoint_is_reached_through_the_providers_proxy() {
    let mock = Mock::start(&[]);
    let proxy = common::connect_proxy::ConnectProxy::start();
    let mut cfg = vertex_config(
        &mock,
        &service_account(&mock, "sa@proj-1.iam.gserviceaccount.com"),
    );
    cfg["providers"]["vertex"]["proxy_config"] = json!({"type": "http", "url": proxy.url()});
    let gw = Gateway::start(&cfg);
    let r = gw.post(
        "/v1/chat/completions",
        &chat("vertex/gemini-2.0-flash", "via proxy"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(token_calls(&mock).len(), 1);
    // The grant and the generateContent call both went through the tunnel.
    assert_eq!(
        proxy.requests.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the token fetch bypassed the provider's proxy"
    );
}
