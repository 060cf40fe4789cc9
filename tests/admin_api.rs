//! The management API over real sockets: every provider and key route, redaction and the
//! redacted-value round trip, every bad-body case, `/api/config`, `/api/proxy-config` (applied to
//! upstream connections), the OpenAPI document, and memory-only mode.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use common::connect_proxy::ConnectProxy;
use common::http::{Resp, request};
use common::{Gateway, Mock, Start, chat, recorded_auth, recorded_headers};
use serde_json::{Value, json};

/// One admin request on a fresh connection.
fn api(gw: &Gateway, method: &str, path: &str, body: Option<&Value>) -> Resp {
    api_raw(gw, method, path, body.map(|b| b.to_string().into_bytes()))
}

fn api_raw(gw: &Gateway, method: &str, path: &str, body: Option<Vec<u8>>) -> Resp {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    request(
        gw.addr,
        method,
        path,
        headers,
        body.as_deref().unwrap_or(b""),
    )
}

/// A config with `openai` (one key) and `groq` pointed at the mock.
fn two_providers(mock: &Mock) -> Value {
    json!({
        "providers": {
            "openai": {
                "keys": [{"name": "k1", "value": "sk-openai-first-0123456789", "models": ["*"], "weight": 1.0}],
                "network_config": {"base_url": mock.url()}
            },
            "groq": {
                "keys": [{"name": "g1", "value": "gsk-groq-first-0123456789", "models": ["*"], "weight": 1.0}],
                "network_config": {"base_url": mock.url()}
            }
        }
    })
}

/// Sends one chat request and returns the Authorization the mock saw for it.
fn upstream_auth(gw: &Gateway, mock: &Mock, model: &str) -> String {
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat(model, "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    recorded_auth(&reqs[0]).expect("authorization")
}

fn redacted(secret: &str) -> String {
    format!(
        "{}{}{}",
        &secret[..4],
        "*".repeat(24),
        &secret[secret.len() - 4..]
    )
}

#[test]
fn provider_routes_crud() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({
        "providers": {"openai": {
            "keys": [{"name": "k1", "value": "sk-openai-first-0123456789", "models": ["*"]}],
            "network_config": {"base_url": mock.url()}
        }}
    }));

    let list = api(&gw, "GET", "/api/providers", None);
    assert_eq!(list.status, 200, "{}", list.text());
    let v = list.json();
    assert_eq!(v["total"], 1);
    let p = &v["providers"][0];
    assert_eq!(p["name"], "openai");
    assert_eq!(p["status"], "active");
    assert_eq!(p["config_hash"].as_str().map(str::len), Some(32));
    assert_eq!(p["concurrency_and_buffer_size"]["concurrency"], 1000);
    assert_eq!(p["network_config"]["base_url"], mock.url());

    let one = api(&gw, "GET", "/api/providers/openai", None);
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), *p);

    // POST a new provider; it serves at once.
    let created = api(
        &gw,
        "POST",
        "/api/providers",
        Some(&json!({
            "provider": "groq",
            "keys": [{"name": "g1", "value": "gsk-groq-created-000111", "models": ["*"], "weight": 1}],
            "network_config": {"base_url": mock.url()},
            "concurrency_and_buffer_size": {"concurrency": 10, "buffer_size": 20}
        })),
    );
    assert_eq!(created.status, 200, "{}", created.text());
    let c = created.json();
    assert_eq!(c["name"], "groq");
    assert_eq!(c["status"], "active");
    assert!(c.get("config_hash").is_none(), "not from config.json: {c}");
    assert_eq!(c["concurrency_and_buffer_size"]["buffer_size"], 20);
    assert_eq!(
        upstream_auth(&gw, &mock, "groq/llama"),
        "Bearer gsk-groq-created-000111"
    );
    assert_eq!(api(&gw, "GET", "/api/providers", None).json()["total"], 2);

    // A second POST of the same name conflicts.
    let dup = api(
        &gw,
        "POST",
        "/api/providers",
        Some(&json!({"provider": "groq", "keys": []})),
    );
    assert_eq!(dup.status, 409, "{}", dup.text());
    assert_eq!(dup.json()["status_code"], 409);

    // PUT replaces the whole provider: the extra header appears upstream.
    let mut body = c.clone();
    body["network_config"]["extra_headers"] = json!({"x-team": "blue"});
    let put = api(&gw, "PUT", "/api/providers/groq", Some(&body));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        put.json()["network_config"]["extra_headers"]["x-team"],
        "blue"
    );
    mock.clear();
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("groq/llama", "x"))
            .status,
        200
    );
    let reqs = mock.requests();
    assert_eq!(recorded_headers(&reqs[0], "x-team"), ["blue"]);
    assert_eq!(
        recorded_auth(&reqs[0]).as_deref(),
        Some("Bearer gsk-groq-created-000111"),
        "the redacted key sent back kept the secret"
    );

    // DELETE answers with the removed provider; it stops serving.
    let del = api(&gw, "DELETE", "/api/providers/groq", None);
    assert_eq!(del.status, 200, "{}", del.text());
    assert_eq!(del.json()["status"], "deleted");
    assert_eq!(del.json()["name"], "groq");
    assert_eq!(api(&gw, "GET", "/api/providers/groq", None).status, 404);
    assert_eq!(api(&gw, "DELETE", "/api/providers/groq", None).status, 404);
    let r = gw.post("/v1/chat/completions", &chat("groq/llama", "x"));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(api(&gw, "GET", "/api/providers", None).json()["total"], 1);
}

#[test]
fn key_routes_crud_and_rotation() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let keys = api(&gw, "GET", "/api/providers/openai/keys", None);
    assert_eq!(keys.status, 200);
    let kv = keys.json();
    assert_eq!(kv["total"], 1);
    let id = kv["keys"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        kv["keys"][0]["value"],
        json!({"value": redacted("sk-openai-first-0123456789"), "env_var": "", "from_env": false})
    );

    let one = api(
        &gw,
        "GET",
        &format!("/api/providers/openai/keys/{id}"),
        None,
    );
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), kv["keys"][0]);

    // Add a second key (no id: a UUID is given), disable the first: traffic moves.
    let added = api(
        &gw,
        "POST",
        "/api/providers/openai/keys",
        Some(
            &json!({"name": "k2", "value": "sk-openai-second-987654321", "models": ["*"], "weight": 1}),
        ),
    );
    assert_eq!(added.status, 200, "{}", added.text());
    let new_id = added.json()["id"].as_str().unwrap().to_string();
    assert_eq!(new_id.len(), 36);
    assert_eq!(added.json()["enabled"], true);
    let mut first = kv["keys"][0].clone();
    first["enabled"] = json!(false);
    let put = api(
        &gw,
        "PUT",
        &format!("/api/providers/openai/keys/{id}"),
        Some(&first),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["enabled"], false);
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-openai-second-987654321"
    );

    // Rotate the second key's value.
    let rotated = api(
        &gw,
        "PUT",
        &format!("/api/providers/openai/keys/{new_id}"),
        Some(
            &json!({"name": "k2", "value": "sk-openai-rotated-55555", "models": ["*"], "weight": 1}),
        ),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    assert_eq!(
        rotated.json()["value"]["value"],
        redacted("sk-openai-rotated-55555")
    );
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-openai-rotated-55555"
    );

    // Ids are unique across providers.
    let dup = api(
        &gw,
        "POST",
        "/api/providers/groq/keys",
        Some(&json!({"id": new_id, "value": "gsk-x-0000000000", "models": ["*"]})),
    );
    assert_eq!(dup.status, 409, "{}", dup.text());

    // DELETE answers with the removed key; the first one (re-enabled) serves again.
    let del = api(
        &gw,
        "DELETE",
        &format!("/api/providers/openai/keys/{new_id}"),
        None,
    );
    assert_eq!(del.status, 200, "{}", del.text());
    assert_eq!(del.json()["id"], new_id);
    assert_eq!(
        api(
            &gw,
            "GET",
            &format!("/api/providers/openai/keys/{new_id}"),
            None
        )
        .status,
        404
    );
    first["enabled"] = json!(true);
    assert_eq!(
        api(
            &gw,
            "PUT",
            &format!("/api/providers/openai/keys/{id}"),
            Some(&first)
        )
        .status,
        200
    );
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-openai-first-0123456789"
    );

    // Unknown provider or key: 404.
    assert_eq!(
        api(&gw, "GET", "/api/providers/nope/keys", None).status,
        404
    );
    assert_eq!(
        api(
            &gw,
            "POST",
            "/api/providers/nope/keys",
            Some(&json!({"value": "x"}))
        )
        .status,
        404
    );
    assert_eq!(
        api(
            &gw,
            "PUT",
            "/api/providers/openai/keys/nope",
            Some(&json!({"value": "x"}))
        )
        .status,
        404
    );
    assert_eq!(
        api(&gw, "DELETE", "/api/providers/openai/keys/nope", None).status,
        404
    );
}

#[test]
fn secrets_are_redacted_and_redacted_values_round_trip() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &json!({"providers": {"openai": {
            "keys": [
                {"name": "lit", "value": "sk-literal-secret-abcdef", "models": ["*"], "weight": 1},
                {"name": "env", "value": "env.RINGWAY_ADMIN_TEST_KEY", "models": ["*"], "weight": 0}
            ],
            "network_config": {"base_url": mock.url()},
            "proxy_config": {"type": "none", "password": "proxy-password-xyz"}
        }}}),
        Start {
            env: vec![("RINGWAY_ADMIN_TEST_KEY", "sk-from-environment-777".into())],
            ..Start::default()
        },
    );
    let got = api(&gw, "GET", "/api/providers/openai", None);
    let text = got.text();
    for secret in [
        "sk-literal-secret-abcdef",
        "sk-from-environment-777",
        "proxy-password-xyz",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let v = got.json();
    assert_eq!(
        v["keys"][0]["value"]["value"],
        format!("sk-l{}cdef", "*".repeat(24))
    );
    assert_eq!(
        v["keys"][1]["value"],
        json!({"value": "env.RINGWAY_ADMIN_TEST_KEY", "env_var": "env.RINGWAY_ADMIN_TEST_KEY", "from_env": true})
    );
    assert_eq!(
        v["proxy_config"]["password"],
        format!("prox{}-xyz", "*".repeat(24))
    );

    // The GET answer sent back as the PUT body changes nothing.
    let put = api(&gw, "PUT", "/api/providers/openai", Some(&v));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json(), v);
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-literal-secret-abcdef"
    );
    // The env key, once it is the only one with weight, still resolves from the environment.
    let mut body = v.clone();
    body["keys"][0]["enabled"] = json!(false);
    assert_eq!(
        api(&gw, "PUT", "/api/providers/openai", Some(&body)).status,
        200
    );
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-from-environment-777"
    );
    // The stored proxy password survived both round trips (it shows the same redaction).
    let again = api(&gw, "GET", "/api/providers/openai", None).json();
    assert_eq!(
        again["proxy_config"]["password"],
        v["proxy_config"]["password"]
    );
}

/// Every bad body is a 400 in Bifrost's error JSON naming the field, and nothing is stored.
#[test]
fn bad_bodies_are_400_naming_the_field_and_change_nothing() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let before = api(&gw, "GET", "/api/providers", None).json();
    let config_before = api(&gw, "GET", "/api/config", None).json();
    let proxy_before = api(&gw, "GET", "/api/proxy-config", None).json();
    let key_id = before["providers"][1]["keys"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let full = |patch: Value| {
        let mut b = json!({
            "keys": [{"name": "k1", "value": "sk-x-0123456789", "models": ["*"]}],
            "network_config": {"base_url": mock.url()},
            "concurrency_and_buffer_size": {"concurrency": 10, "buffer_size": 20}
        });
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let key_path = format!("/api/providers/openai/keys/{key_id}");
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        ("POST", "/api/providers".into(), br#"{"provider": "mistral","#.to_vec(), "invalid JSON"),
        ("POST", "/api/providers".into(), b"".to_vec(), "body is empty"),
        ("PUT", "/api/providers/openai".into(), b"[1, 2]".to_vec(), "expected a JSON object"),
        ("POST", "/api/providers".into(), json!({"keys": []}).to_string().into_bytes(), "provider: required"),
        ("POST", "/api/providers".into(), json!({"provider": 7}).to_string().into_bytes(), "provider: expected a string"),
        ("POST", "/api/providers".into(), json!({"provider": "not-a-provider", "keys": []}).to_string().into_bytes(), "providers.not-a-provider: unknown provider"),
        ("POST", "/api/providers".into(),
            json!({"provider": "mine", "keys": [], "custom_provider_config": {"base_provider_type": "nonsense"}}).to_string().into_bytes(),
            "providers.mine.custom_provider_config.base_provider_type"),
        ("PUT", "/api/providers/openai".into(), full(json!({"keys": "sk-x"})).to_string().into_bytes(), "providers.openai.keys: expected an array"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"network_config": {"default_request_timeout_in_seconds": -5}})).to_string().into_bytes(),
            "providers.openai.network_config.default_request_timeout_in_seconds: must be >= 0"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"network_config": {"max_retries": "three"}})).to_string().into_bytes(),
            "providers.openai.network_config.max_retries"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"keys": [{"value": "sk-x-0123456789", "models": ["*"], "weight": -1}]})).to_string().into_bytes(),
            "providers.openai.keys[0].weight: must be >= 0"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"concurrency_and_buffer_size": {"concurrency": 100, "buffer_size": 10}})).to_string().into_bytes(),
            "providers.openai.concurrency_and_buffer_size.buffer_size: must be >= concurrency"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"concurrency_and_buffer_size": {"concurrency": 0, "buffer_size": 10}})).to_string().into_bytes(),
            "concurrency_and_buffer_size.concurrency: must be greater than 0"),
        ("PUT", "/api/providers/openai".into(),
            json!({"keys": [], "network_config": {}}).to_string().into_bytes(),
            "concurrency_and_buffer_size: required field is missing"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"network_config": {"base_url": "not a url"}})).to_string().into_bytes(),
            "providers.openai.network_config.base_url"),
        ("PUT", "/api/providers/openai".into(),
            full(json!({"proxy_config": {"type": "http"}})).to_string().into_bytes(),
            "providers.openai.proxy_config.url"),
        ("POST", "/api/providers/openai/keys".into(),
            json!({"value": "sk-y-0123456789", "models": ["*"], "weight": -0.5}).to_string().into_bytes(),
            "keys[1].weight: must be >= 0"),
        ("POST", "/api/providers/openai/keys".into(),
            json!({"value": "", "models": ["*"]}).to_string().into_bytes(),
            "Key value must not be empty"),
        ("PUT", key_path.clone(),
            json!({"value": "sk-y-0123456789", "models": "all"}).to_string().into_bytes(),
            "providers.openai.keys[0].models"),
        ("PUT", "/api/proxy-config".into(),
            json!({"enabled": true, "type": "http", "enable_for_inference": true}).to_string().into_bytes(),
            "url: proxy URL is required"),
        ("PUT", "/api/proxy-config".into(),
            json!({"enabled": true, "type": "http", "url": "http://127.0.0.1:1", "timeout": -3}).to_string().into_bytes(),
            "timeout: proxy timeout must be non-negative"),
        ("PUT", "/api/proxy-config".into(),
            json!({"enabled": "yes"}).to_string().into_bytes(),
            "enabled: invalid type"),
        ("PUT", "/api/proxy-config".into(),
            json!({"enabled": true, "type": "tcp", "url": "tcp://x:1"}).to_string().into_bytes(),
            "type: proxy type tcp is not yet supported"),
        ("PUT", "/api/config".into(),
            json!({"client_config": {"log_retention_days": 0}}).to_string().into_bytes(),
            "client_config.log_retention_days"),
        ("PUT", "/api/config".into(),
            json!({"client_config": {"max_request_body_size_mb": -1}}).to_string().into_bytes(),
            "client_config.max_request_body_size_mb: must be >= 0"),
        ("PUT", "/api/config".into(),
            json!({"client_config": {"drop_excess_requests": "sometimes"}}).to_string().into_bytes(),
            "client_config.drop_excess_requests"),
        ("PUT", "/api/config".into(),
            json!({"framework_config": {"pricing_sync_interval": 0}}).to_string().into_bytes(),
            "framework_config.pricing_sync_interval"),
        ("PUT", "/api/config".into(),
            json!({"auth_config": {"is_enabled": true, "admin_username": "admin"}}).to_string().into_bytes(),
            "auth_config.admin_password: auth password must be provided"),
    ];
    for (method, path, body, want) in cases {
        let r = api_raw(&gw, method, &path, Some(body.clone()));
        let shown = String::from_utf8_lossy(&body);
        assert_eq!(r.status, 400, "{method} {path} {shown}: {}", r.text());
        let v = r.json();
        assert_eq!(v["status_code"], 400, "{v}");
        assert_eq!(v["is_bifrost_error"], false, "{v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(want),
            "{method} {path} {shown}: want {want:?} in {msg:?}"
        );
    }
    assert_eq!(api(&gw, "GET", "/api/providers", None).json(), before);
    assert_eq!(api(&gw, "GET", "/api/config", None).json(), config_before);
    assert_eq!(
        api(&gw, "GET", "/api/proxy-config", None).json(),
        proxy_before
    );
    assert_eq!(
        upstream_auth(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-openai-first-0123456789"
    );
}

#[test]
fn client_config_get_put_hot_applies_and_flags_restarts() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let got = api(&gw, "GET", "/api/config", None);
    assert_eq!(got.status, 200, "{}", got.text());
    let v = got.json();
    assert_eq!(v["client_config"]["max_request_body_size_mb"], 100);
    assert_eq!(v["client_config"]["drop_excess_requests"], false);
    assert_eq!(v["is_db_connected"], true);
    assert_eq!(v["auth_config"]["is_enabled"], false);
    assert_eq!(v["restart_required"]["required"], false);
    assert_eq!(v["framework_config"]["pricing_sync_interval"], 86400);
    assert_eq!(v["proxy_config"]["enabled"], false);
    assert_eq!(v["config_store"]["type"], "lmdb");

    let mut client = v["client_config"].clone();
    client["max_request_body_size_mb"] = json!(1);
    client["prometheus_labels"] = json!(["team=a"]);
    client["drop_excess_requests"] = json!(true);
    let put = api(
        &gw,
        "PUT",
        "/api/config",
        Some(&json!({
            "client_config": client,
            "framework_config": {"pricing_sync_interval": 3600}
        })),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let p = put.json();
    assert_eq!(p["status"], "success");
    assert_eq!(p["restart_required"]["required"], true);
    assert!(
        p["restart_required"]["reason"]
            .as_str()
            .unwrap()
            .contains("Prometheus labels"),
        "{p}"
    );

    // The body limit applies to the very next request, on an existing connection too.
    let big = "x".repeat(1_100_000);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", &big));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "small"))
            .status,
        200
    );
    let after = api(&gw, "GET", "/api/config", None).json();
    assert_eq!(after["client_config"]["max_request_body_size_mb"], 1);
    assert_eq!(after["client_config"]["drop_excess_requests"], true);
    assert_eq!(after["framework_config"]["pricing_sync_interval"], 3600);
    assert_eq!(after["restart_required"]["required"], true);
}

#[test]
fn global_proxy_config_is_applied_to_upstream_connections() {
    let mock = Mock::start(&[]);
    let proxy = ConnectProxy::start();
    let gw = Gateway::start(&two_providers(&mock));
    let default = api(&gw, "GET", "/api/proxy-config", None);
    assert_eq!(default.status, 200);
    assert_eq!(default.json()["enabled"], false);
    assert_eq!(default.json()["type"], "http");

    let body = json!({
        "enabled": true, "type": "http", "url": proxy.url(),
        "username": "svc", "password": "proxy-pw", "enable_for_inference": true
    });
    let put = api(&gw, "PUT", "/api/proxy-config", Some(&body));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["status"], "success");
    let shown = api(&gw, "GET", "/api/proxy-config", None).json();
    assert_eq!(shown["password"], "<redacted>");
    assert_eq!(shown["url"], proxy.url());
    assert_eq!(
        api(&gw, "GET", "/api/config", None).json()["proxy_config"]["password"],
        "<redacted>"
    );

    assert_eq!(
        gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "via proxy"))
            .status,
        200
    );
    assert_eq!(
        proxy.requests.load(Ordering::SeqCst),
        1,
        "went through the proxy"
    );
    // "svc:proxy-pw"
    let want = Some("Basic c3ZjOnByb3h5LXB3".to_string());
    assert_eq!(proxy.auth.lock().unwrap().last().cloned().flatten(), want);

    // Sending the redacted password back keeps it; no_proxy sends the mock's host direct.
    let mut again = shown.clone();
    again["no_proxy"] = json!("127.0.0.1");
    assert_eq!(
        api(&gw, "PUT", "/api/proxy-config", Some(&again)).status,
        200
    );
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("groq/llama", "direct"))
            .status,
        200
    );
    assert_eq!(
        proxy.requests.load(Ordering::SeqCst),
        1,
        "no_proxy bypasses"
    );

    again["no_proxy"] = json!("");
    assert_eq!(
        api(&gw, "PUT", "/api/proxy-config", Some(&again)).status,
        200
    );
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("groq/llama", "proxied"))
            .status,
        200
    );
    assert_eq!(proxy.requests.load(Ordering::SeqCst), 2);
    assert!(proxy.auth.lock().unwrap().iter().all(|a| *a == want));

    // Not enabled for inference: direct again.
    again["enable_for_inference"] = json!(false);
    assert_eq!(
        api(&gw, "PUT", "/api/proxy-config", Some(&again)).status,
        200
    );
    let before = proxy.requests.load(Ordering::SeqCst);
    let mut c = gw.conn();
    for _ in 0..3 {
        let r = c.send(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            chat("openai/gpt-4o", "direct").to_string().as_bytes(),
        );
        assert_eq!(r.status, 200);
    }
    assert_eq!(proxy.requests.load(Ordering::SeqCst), before);
}

#[test]
fn global_proxy_timeout_bounds_the_connection_set_up() {
    // A proxy that accepts and never answers the CONNECT.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().flatten() {
            held.push(c);
        }
    });
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let body = json!({
        "enabled": true, "type": "http", "url": format!("http://{silent_addr}"),
        "timeout": 1, "enable_for_inference": true
    });
    assert_eq!(
        api(&gw, "PUT", "/api/proxy-config", Some(&body)).status,
        200
    );
    assert_eq!(
        api(&gw, "GET", "/api/proxy-config", None).json()["timeout"],
        1
    );
    let started = std::time::Instant::now();
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o", "stuck proxy"),
    );
    let took = started.elapsed();
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert_eq!(r.json()["is_bifrost_error"], true, "{}", r.text());
    // The client's own connect deadline is 10 s: the proxy's 1 s applied.
    assert!(took < std::time::Duration::from_secs(6), "took {took:?}");
    assert!(mock.requests().is_empty());
}

#[test]
fn openapi_document_and_unknown_routes() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&two_providers(&mock));
    let doc = api(&gw, "GET", "/api/openapi.json", None);
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    let v = doc.json();
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["paths"]["/api/providers/{provider}/keys/{key_id}"]["put"].is_object());

    let missing = api(&gw, "GET", "/api/nothing-here", None);
    assert_eq!(missing.status, 404);
    assert!(
        missing.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/nothing-here")
    );
    let wrong = api(&gw, "PATCH", "/api/providers/openai", Some(&json!({})));
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.json()["status_code"], 405);
    let version = api(&gw, "GET", "/api/version", None);
    assert_eq!(version.status, 200);
    assert!(version.json().as_str().unwrap().starts_with('v'));
}

#[test]
fn memory_only_mode_says_so_and_forgets_on_restart() {
    let mock = Mock::start(&[]);
    let mut cfg = two_providers(&mock);
    cfg["config_store"] = json!({"enabled": false});
    let app = common::temp_dir("admin-memory");
    std::fs::write(app.join("config.json"), cfg.to_string()).unwrap();
    let start = |app: &std::path::Path| {
        let args: Vec<std::ffi::OsString> = vec![
            "--app-dir".into(),
            app.into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            "--workers".into(),
            "2".into(),
        ];
        Gateway::start_with_args(common::temp_dir("admin-memory-log"), &args, &[])
    };
    let mut gw = start(&app);
    assert_eq!(
        api(&gw, "GET", "/api/config", None).json()["is_db_connected"],
        false
    );
    let del = api(&gw, "DELETE", "/api/providers/groq", None);
    assert_eq!(del.status, 200);
    assert!(
        del.json()["warning"]
            .as_str()
            .unwrap()
            .contains("in memory only"),
        "{}",
        del.text()
    );
    assert_eq!(del.header("x-ringway-config-persisted"), Some("false"));
    assert_eq!(api(&gw, "GET", "/api/providers", None).json()["total"], 1);
    assert!(gw.logs().contains("kept in memory only"), "{}", gw.logs());
    assert!(!app.join("ringway.lmdb").exists());
    gw.terminate(std::time::Duration::from_secs(5));
    let gw = start(&app);
    assert_eq!(
        api(&gw, "GET", "/api/providers", None).json()["total"],
        2,
        "the deletion was not persisted"
    );
    drop(gw);
    let _ = std::fs::remove_dir_all(&app);
}
