//! Native plugins in the running gateway, managed through `/api/plugins` over real sockets:
//! the `stamp` example (Rust) and the C `hello` plugin loaded live, their hooks on the request
//! path (headers on every core, short-circuits without an upstream call, streams), a panic
//! contained, reloads with new config, disable, delete, persistence across a restart, load
//! failures that change nothing, start-up loading from `config.json`, and reloads under load.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::http::request;
use common::plugins::{build_c, c_example, stamp_path};
use common::{Gateway, Mock, api, chat, temp_dir};
use serde_json::{Value, json};

fn mock_config(mock: &Mock) -> Value {
    json!({
        "providers": {"openai": {
            "keys": [{"name": "k", "value": "sk-mock-plugin-tests", "models": ["*"], "weight": 1}],
            "network_config": {"base_url": mock.url()}
        }}
    })
}

fn stamp_body(value: &str) -> Value {
    json!({
        "name": "stamp",
        "enabled": true,
        "path": stamp_path(),
        "config": {"header": "x-stamp", "value": value, "block_word": "BLOCK",
                   "block_reply": "blocked by policy", "panic_on": "PANIC",
                   "api_key": "sk-plugin-secret-0123456789"}
    })
}

/// `n` chat requests, each on a fresh connection (so both workers serve some).
fn stamped(gw: &Gateway, n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| {
            let r = gw.post(
                "/v1/chat/completions",
                &chat("openai/gpt-4o-mini", &format!("hi {i}")),
            );
            assert_eq!(r.status, 200, "{}", r.text());
            r.header("x-stamp").map(str::to_string)
        })
        .collect()
}

fn status_of(gw: &Gateway, name: &str) -> Value {
    let r = api(gw, "GET", &format!("/api/plugins/{name}"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["status"].clone()
}

#[test]
fn stamp_managed_live_through_the_api() {
    let mock = Mock::start(&[]);
    let app = temp_dir("plugins-gw");
    std::fs::write(
        app.join("config.json"),
        serde_json::to_vec(&mock_config(&mock)).unwrap(),
    )
    .unwrap();
    let gw = Gateway::start_app(&app);

    // Nothing loaded: no header.
    assert!(stamped(&gw, 4).iter().all(Option::is_none));
    let r = api(&gw, "GET", "/api/plugins", None);
    assert_eq!(r.json(), json!({"count": 0, "plugins": []}));

    // POST loads it: 201 with the row; every core stamps from its next request.
    let r = api(&gw, "POST", "/api/plugins", Some(&stamp_body("v1")));
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["message"], "Plugin created successfully");
    let p = &v["plugin"];
    for field in [
        "id",
        "name",
        "enabled",
        "config",
        "isCustom",
        "path",
        "created_at",
        "version",
        "updated_at",
        "config_hash",
    ] {
        assert!(!p[field].is_null(), "plugin.{field} missing: {p}");
    }
    assert_eq!(
        (p["name"].as_str(), p["isCustom"].as_bool()),
        (Some("stamp"), Some(true))
    );
    assert_eq!(
        p["config"]["api_key"], "sk-p************************6789",
        "secrets in plugin config are redacted"
    );
    assert!(!r.text().contains("sk-plugin-secret-0123456789"));
    assert_eq!(
        api(&gw, "POST", "/api/plugins", Some(&stamp_body("v1"))).status,
        409
    );
    let all = stamped(&gw, 24);
    assert!(all.iter().all(|h| h.as_deref() == Some("v1")), "{all:?}");
    let listed = api(&gw, "GET", "/api/plugins", None).json();
    assert_eq!(listed["count"], 1);
    let row = &listed["plugins"][0];
    assert_eq!(row["actualName"], "stamp");
    assert_eq!(row["status"]["status"], "active");
    assert_eq!(row["status"]["types"], json!(["llm", "http"]));

    // Short-circuit: the provider is never called.
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "BLOCK"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "blocked by policy"
    );
    assert_eq!(r.header("x-stamp"), Some("v1"), "post-hooks still run");
    assert!(mock.requests().is_empty(), "the provider was called");

    // A streamed short-circuit answers with chunks.
    let mut body = chat("openai/gpt-4o-mini", "BLOCK");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    let text: String = r
        .sse_data()
        .iter()
        .filter(|d| d.as_str() != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "blocked by policy");
    assert!(mock.requests().is_empty());

    // A relayed upstream stream carries the header and every event.
    let mut body = chat("openai/gpt-4o-mini", "stream please");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-stamp"), Some("v1"));
    assert_eq!(r.sse_data().last().map(String::as_str), Some("[DONE]"));

    // A panic is contained: Bifrost's error JSON, the gateway keeps serving, counted.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "PANIC"));
    assert_eq!(r.status, 500, "{}", r.text());
    let e = r.json();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("stamp"),
        "{e}"
    );
    assert_eq!(e["is_bifrost_error"], true);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "after"));
    assert_eq!(r.status, 200, "the gateway keeps serving: {}", r.text());
    assert!(status_of(&gw, "stamp")["failures"].as_u64().unwrap() >= 1);

    // PUT with new config reloads it; a redacted secret sent back keeps the stored one.
    let mut put = stamp_body("v2");
    put["config"]["api_key"] = json!("sk-p************************6789");
    put.as_object_mut().unwrap().remove("name");
    let r = api(&gw, "PUT", "/api/plugins/stamp", Some(&put));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["plugin"]["config"]["value"], "v2");
    let all = stamped(&gw, 16);
    assert!(all.iter().all(|h| h.as_deref() == Some("v2")), "{all:?}");
    let stored = std::fs::read_dir(app.join("ringway.lmdb")).unwrap().count();
    assert!(stored > 0);

    // PUT enabled:false stops it.
    let r = api(
        &gw,
        "PUT",
        "/api/plugins/stamp",
        Some(&json!({"enabled": false})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(stamped(&gw, 8).iter().all(Option::is_none));
    assert_eq!(status_of(&gw, "stamp")["status"], "disabled");

    // Enabled again, then the state survives a restart.
    let r = api(
        &gw,
        "PUT",
        "/api/plugins/stamp",
        Some(&json!({"enabled": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mut gw = gw;
    assert!(gw.terminate(Duration::from_secs(10)).is_some());
    let gw = Gateway::start_app(&app);
    let all = stamped(&gw, 8);
    assert!(
        all.iter().all(|h| h.as_deref() == Some("v2")),
        "after restart: {all:?}"
    );
    let row = api(&gw, "GET", "/api/plugins/stamp", None).json();
    assert_eq!(row["status"]["status"], "active");

    // DELETE removes it, for good.
    assert_eq!(api(&gw, "DELETE", "/api/plugins/stamp", None).status, 200);
    assert!(stamped(&gw, 4).iter().all(Option::is_none));
    assert_eq!(api(&gw, "GET", "/api/plugins/stamp", None).status, 404);
    assert_eq!(api(&gw, "DELETE", "/api/plugins/stamp", None).status, 404);
    drop(gw);
    let _ = std::fs::remove_dir_all(&app);
}

#[test]
fn load_failures_and_bad_bodies_change_nothing() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&mock_config(&mock));

    // A missing file: 500 naming it, nothing stored.
    let missing = "/nonexistent/ringway/libnope.so";
    let r = api(
        &gw,
        "POST",
        "/api/plugins",
        Some(&json!({"name": "nope", "enabled": true, "path": missing})),
    );
    assert_eq!(r.status, 500, "{}", r.text());
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(missing) && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert_eq!(api(&gw, "GET", "/api/plugins/nope", None).status, 404);

    // An ABI-mismatched library is refused before any of its code runs.
    let mismatch = build_c("gw_mismatch", &c_example("abi_mismatch.c"), &[]);
    let r = api(
        &gw,
        "POST",
        "/api/plugins",
        Some(&json!({"name": "old", "enabled": true, "path": mismatch})),
    );
    assert_eq!(r.status, 500);
    assert!(r.text().contains("plugin ABI 2.0"), "{}", r.text());

    // A running plugin stays as it was when its reload fails.
    let r = api(&gw, "POST", "/api/plugins", Some(&stamp_body("kept")));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = api(
        &gw,
        "PUT",
        "/api/plugins/stamp",
        Some(&json!({"path": missing})),
    );
    assert_eq!(r.status, 500);
    let row = api(&gw, "GET", "/api/plugins/stamp", None).json();
    assert_eq!(row["path"], stamp_path(), "the stored row is unchanged");
    assert!(stamped(&gw, 4).iter().all(|h| h.as_deref() == Some("kept")));
    // A config the plugin rejects: 500 with its message.
    let r = api(
        &gw,
        "PUT",
        "/api/plugins/stamp",
        Some(&json!({"config": {"header": "not a header"}})),
    );
    assert_eq!(r.status, 500);
    assert!(r.text().contains("not a header name"), "{}", r.text());
    assert!(stamped(&gw, 2).iter().all(|h| h.as_deref() == Some("kept")));

    // Bad bodies: 400 naming the field.
    for (body, field) in [
        (json!({"enabled": "yes"}), "enabled"),
        (json!({"config": "x"}), "config"),
        (json!({"path": 7}), "path"),
        (json!({"placement": "first"}), "placement"),
        (json!({"order": "1"}), "order"),
    ] {
        let r = api(&gw, "PUT", "/api/plugins/stamp", Some(&body));
        assert_eq!(r.status, 400, "{body}");
        let m = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(m.starts_with(field), "{m}");
    }
    let r = request(
        gw.addr,
        "PUT",
        "/api/plugins/stamp",
        &[("content-type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    let r = api(&gw, "POST", "/api/plugins", Some(&json!({"enabled": true})));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("name"));
    assert_eq!(
        api(
            &gw,
            "PUT",
            "/api/plugins/ghost",
            Some(&json!({"enabled": true}))
        )
        .status,
        404
    );
    assert!(stamped(&gw, 2).iter().all(|h| h.as_deref() == Some("kept")));
}

#[test]
fn c_plugin_runs_in_the_gateway() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&mock_config(&mock));
    let lib = build_c("gw_hello", &c_example("hello.c"), &[]);
    let r = api(
        &gw,
        "POST",
        "/api/plugins",
        Some(&json!({"name": "hello", "enabled": true, "path": lib, "config": {"a": 1}})),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-hello"), Some("c"));
    assert_eq!(r.header("x-hello-slot"), Some("42"));
    assert_eq!(
        r.header("x-hello-config-bytes"),
        Some(json!({"a": 1}).to_string().len().to_string().as_str())
    );

    // Its transport pre-hook answers a path of its own; its pre-LLM hook refuses a model.
    let r = gw.get("/hello/ping");
    assert_eq!((r.status, r.json()), (200, json!({"pong": true})));
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat("openai/blocked", "hi"));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(mock.requests().is_empty());
}

#[test]
fn plugins_in_config_json_load_at_start_up() {
    let mock = Mock::start(&[]);
    let mut cfg = mock_config(&mock);
    cfg["plugins"] = json!([
        {"name": "stamp", "enabled": true, "path": stamp_path(),
         "config": {"header": "x-boot", "value": "yes"}},
        {"name": "broken", "enabled": true, "path": "/nonexistent/libbroken.so"},
        {"name": "semantic_cache", "enabled": true, "config": {"ttl": 300}}
    ]);
    let gw = Gateway::start(&cfg);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-boot"), Some("yes"));
    // What did not load is reported, not silently dropped.
    let broken = status_of(&gw, "broken");
    assert_eq!(broken["status"], "error");
    assert!(broken["logs"][0].as_str().unwrap().contains("libbroken.so"));
    assert_eq!(status_of(&gw, "semantic_cache")["status"], "error");
    let logs = gw.logs();
    assert!(logs.contains("libbroken.so"), "{logs}");
    assert!(logs.contains("semantic_cache"), "{logs}");
}

#[test]
fn reloads_under_load_fail_no_request() {
    let mock = Mock::start(&[]);
    let gw = Arc::new(Gateway::start(&mock_config(&mock)));
    let r = api(&gw, "POST", "/api/plugins", Some(&stamp_body("r0")));
    assert_eq!(r.status, 201, "{}", r.text());

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (gw, stop, served) = (Arc::clone(&gw), Arc::clone(&stop), Arc::clone(&served));
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                // Keep-alive connections: each must see reloads on its next request.
                let mut conn = gw.conn();
                let body = serde_json::to_vec(&chat("openai/gpt-4o-mini", "load")).unwrap();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) && i < 5_000 {
                    i += 1;
                    let r = conn.send(
                        "POST",
                        "/v1/chat/completions",
                        &[("content-type", "application/json")],
                        &body,
                    );
                    let stamp = r.header("x-stamp").map(str::to_string);
                    if r.status != 200 || !stamp.as_deref().is_some_and(|s| s.starts_with('r')) {
                        failures.push(format!("client {c}: {} {stamp:?} {}", r.status, r.text()));
                    }
                    served.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();

    for n in 1..=50 {
        let r = api(
            &gw,
            "PUT",
            "/api/plugins/stamp",
            Some(&json!({"config": {"header": "x-stamp", "value": format!("r{n}")}})),
        );
        assert_eq!(r.status, 200, "reload {n}: {}", r.text());
    }
    // After the last reload every connection sees the last config on its next request.
    let last = stamped(&gw, 6);
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        served.load(Ordering::Relaxed) > 50,
        "the load ran during the reloads"
    );
    assert!(last.iter().all(|h| h.as_deref() == Some("r50")), "{last:?}");
}
