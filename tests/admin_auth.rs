//! Admin auth: off by default; with `governance.auth_config` on, `/api/*` needs Basic credentials
//! or a session token (except login and is-auth-enabled), and so do inference routes unless
//! `disable_auth_on_inference`; the password is stored hashed and can be changed through
//! `PUT /api/config`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::http::{Resp, request};
use common::{Gateway, Mock, Start, chat, temp_dir};
use serde_json::{Value, json};

fn call(
    gw: &Gateway,
    method: &str,
    path: &str,
    body: Option<&Value>,
    auth: &[(&str, &str)],
) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(auth);
    let b = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    request(gw.addr, method, path, &h, &b)
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn config(mock: &Mock, auth: Value) -> Value {
    json!({
        "providers": {"openai": {
            "keys": [{"name": "k", "value": "sk-auth-test-0000000", "models": ["*"]}],
            "network_config": {"base_url": mock.url()}
        }},
        "governance": {"auth_config": auth}
    })
}

#[test]
fn auth_off_leaves_the_api_open() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(
        &mock,
        json!({"is_enabled": false, "admin_username": "admin", "admin_password": "pw"}),
    ));
    assert_eq!(call(&gw, "GET", "/api/providers", None, &[]).status, 200);
    let s = call(&gw, "GET", "/api/session/is-auth-enabled", None, &[]).json();
    assert_eq!(s["is_auth_enabled"], false);
    assert_eq!(s["auth_type"], "none");
    let login = call(
        &gw,
        "POST",
        "/api/session/login",
        Some(&json!({"username": "admin", "password": "pw"})),
        &[],
    );
    assert_eq!(login.status, 403, "{}", login.text());
}

#[test]
fn auth_on_protects_the_api_and_not_inference_when_disabled_there() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &config(
            &mock,
            json!({"is_enabled": true, "admin_username": "admin",
                   "admin_password": "env.RINGWAY_TEST_ADMIN_PW", "disable_auth_on_inference": true}),
        ),
        Start {
            env: vec![("RINGWAY_TEST_ADMIN_PW", "correct horse".into())],
            ..Start::default()
        },
    );
    // No credentials, wrong ones: 401 in Bifrost's error shape, on every protected route.
    for (method, path) in [
        ("GET", "/api/providers"),
        ("GET", "/api/providers/openai/keys"),
        ("GET", "/api/config"),
        ("PUT", "/api/proxy-config"),
        ("GET", "/api/openapi.json"),
        ("POST", "/api/session/logout"),
    ] {
        let r = call(&gw, method, path, Some(&json!({})), &[]);
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text());
        assert_eq!(r.json()["status_code"], 401);
    }
    let wrong = basic("admin", "battery staple");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &wrong)]
        )
        .status,
        401
    );
    let wrong_user = basic("root", "correct horse");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &wrong_user)]
        )
        .status,
        401
    );
    let good = basic("admin", "correct horse");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &good)]
        )
        .status,
        200
    );
    // Inference is not affected (`disable_auth_on_inference`).
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "hi"))
            .status,
        200
    );

    // Public routes.
    let s = call(&gw, "GET", "/api/session/is-auth-enabled", None, &[]).json();
    assert_eq!(s["is_auth_enabled"], true);
    assert_eq!(s["auth_type"], "password");
    assert_eq!(s["has_valid_token"], false);
    let bad_login = call(
        &gw,
        "POST",
        "/api/session/login",
        Some(&json!({"username": "admin", "password": "nope"})),
        &[],
    );
    assert_eq!(bad_login.status, 401);
    let login = call(
        &gw,
        "POST",
        "/api/session/login",
        Some(&json!({"username": "admin", "password": "correct horse"})),
        &[],
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let token = login.json()["token"].as_str().unwrap().to_string();
    let cookie = login.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with(&format!("token={token};")), "{cookie}");
    assert!(cookie.contains("HttpOnly"));

    // The token works as Bearer and as the cookie.
    let bearer = format!("Bearer {token}");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/config",
            None,
            &[("authorization", &bearer)]
        )
        .status,
        200
    );
    let cookie_header = format!("theme=dark; token={token}");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("cookie", &cookie_header)]
        )
        .status,
        200
    );
    let s = call(
        &gw,
        "GET",
        "/api/session/is-auth-enabled",
        None,
        &[("authorization", &bearer)],
    )
    .json();
    assert_eq!(s["has_valid_token"], true);
    let cfg = call(
        &gw,
        "GET",
        "/api/config",
        None,
        &[("authorization", &bearer)],
    )
    .json();
    assert_eq!(cfg["auth_config"]["admin_password"], "<redacted>");
    assert_eq!(cfg["auth_config"]["admin_username"], "admin");
    assert!(!cfg.to_string().contains("correct horse"));

    // Logout ends the session.
    let out = call(
        &gw,
        "POST",
        "/api/session/logout",
        None,
        &[("authorization", &bearer)],
    );
    assert_eq!(out.status, 200);
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &bearer)]
        )
        .status,
        401
    );
    assert!(
        !gw.logs().contains("correct horse"),
        "the password reached the log"
    );
}

#[test]
fn auth_on_protects_inference_by_default() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &config(
            &mock,
            json!({"is_enabled": true, "admin_username": "admin", "admin_password": "env.RINGWAY_TEST_ADMIN_PW"}),
        ),
        Start {
            env: vec![("RINGWAY_TEST_ADMIN_PW", "correct horse".into())],
            ..Start::default()
        },
    );
    let body = chat("openai/gpt-4o", "hi");
    let status =
        |headers: &[(&str, &str)]| gw.post_with("/v1/chat/completions", &body, headers).status;
    // No credentials, a provider key instead of them, wrong ones: Bifrost's 401, nothing sent
    // upstream.
    let refused = gw.post("/v1/chat/completions", &body);
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert_eq!(refused.json()["status_code"], 401);
    assert_eq!(refused.json()["is_bifrost_error"], false);
    assert_eq!(
        status(&[("authorization", "Bearer sk-some-openai-key")]),
        401
    );
    assert_eq!(status(&[("authorization", &basic("admin", "wrong"))]), 401);
    // Every inference route is covered, drop-in prefixes and model listing included.
    for (method, path) in [
        ("POST", "/openai/v1/chat/completions"),
        ("POST", "/anthropic/v1/messages"),
        ("GET", "/v1/models"),
        ("POST", "/genai/v1beta/models/gemini-pro:generateContent"),
    ] {
        let r = call(&gw, method, path, Some(&json!({})), &[]);
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text());
    }
    assert!(
        mock.requests().is_empty(),
        "a refused request reached the upstream"
    );
    // Health stays open.
    assert_eq!(call(&gw, "GET", "/health", None, &[]).status, 200);

    // Basic credentials, and the same base64 text as a Bearer key (what an SDK sends).
    let good = basic("admin", "correct horse");
    assert_eq!(status(&[("authorization", &good)]), 200);
    assert_eq!(status(&[("authorization", &good)]), 200, "cached verdict");
    let sdk_key = good.replacen("Basic", "Bearer", 1);
    assert_eq!(status(&[("authorization", &sdk_key)]), 200);

    // A session token works until logout, on every connection.
    let login = call(
        &gw,
        "POST",
        "/api/session/login",
        Some(&json!({"username": "admin", "password": "correct horse"})),
        &[],
    );
    let token = login.json()["token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    for _ in 0..4 {
        assert_eq!(status(&[("authorization", &bearer)]), 200);
    }
    let cookie = format!("token={token}");
    assert_eq!(status(&[("cookie", &cookie)]), 200);
    let s = call(&gw, "GET", "/api/session/is-auth-enabled", None, &[]).json();
    assert_eq!(s["inference_auth_enforced"], true);
    let out = call(
        &gw,
        "POST",
        "/api/session/logout",
        None,
        &[("authorization", &bearer)],
    );
    assert_eq!(out.status, 200);
    for _ in 0..4 {
        assert_eq!(
            status(&[("authorization", &bearer)]),
            401,
            "a logged-out token still reaches inference"
        );
    }

    // Turning the inference check off through PUT /api/config applies at once.
    let put = call(
        &gw,
        "PUT",
        "/api/config",
        Some(
            &json!({"auth_config": {"is_enabled": true, "admin_username": "admin",
                     "admin_password": "<redacted>", "disable_auth_on_inference": true}}),
        ),
        &[("authorization", &good)],
    );
    assert_eq!(put.status, 200, "{}", put.text());
    for _ in 0..4 {
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    assert!(
        !gw.logs().contains("correct horse"),
        "the password reached the log"
    );
}

#[test]
fn password_is_stored_hashed_and_changes_persist() {
    let mock = Mock::start(&[]);
    let app = temp_dir("admin-auth-store");
    let cfg = config(
        &mock,
        json!({"is_enabled": true, "admin_username": "admin", "admin_password": "first-Pa55word"}),
    );
    std::fs::write(app.join("config.json"), cfg.to_string()).unwrap();
    let mut gw = Gateway::start_app(&app);
    let first = basic("admin", "first-Pa55word");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &first)]
        )
        .status,
        200
    );
    let put = call(
        &gw,
        "PUT",
        "/api/config",
        Some(
            &json!({"auth_config": {"is_enabled": true, "admin_username": "admin", "admin_password": "second-Pa55word"}}),
        ),
        &[("authorization", &first)],
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &first)]
        )
        .status,
        401,
        "the old password stops working at once"
    );
    let second = basic("admin", "second-Pa55word");
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &second)]
        )
        .status,
        200
    );
    // "<redacted>" keeps the stored password.
    let keep = call(
        &gw,
        "PUT",
        "/api/config",
        Some(
            &json!({"auth_config": {"is_enabled": true, "admin_username": "admin", "admin_password": "<redacted>"}}),
        ),
        &[("authorization", &second)],
    );
    assert_eq!(keep.status, 200, "{}", keep.text());
    gw.terminate(Duration::from_secs(10)).unwrap();

    let store = std::fs::read(app.join("ringway.lmdb").join("data.mdb")).unwrap();
    let has = |needle: &[u8]| store.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"$argon2id$"),
        "the password is stored as an argon2 hash"
    );
    assert!(!has(b"second-Pa55word"), "plaintext password in the store");
    assert!(!has(b"first-Pa55word"), "plaintext password in the store");

    // config.json unchanged: the password changed through the API survives the restart.
    let gw = Gateway::start_app(&app);
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &second)]
        )
        .status,
        200
    );
    assert_eq!(
        call(
            &gw,
            "GET",
            "/api/providers",
            None,
            &[("authorization", &first)]
        )
        .status,
        401
    );
    // Turning auth off through the API opens the API again.
    let off = call(
        &gw,
        "PUT",
        "/api/config",
        Some(
            &json!({"auth_config": {"is_enabled": false, "admin_username": "admin", "admin_password": "<redacted>"}}),
        ),
        &[("authorization", &second)],
    );
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(call(&gw, "GET", "/api/providers", None, &[]).status, 200);
    drop(gw);
    let _ = std::fs::remove_dir_all(&app);
}
