//! Request logging on the real binary: every inference request leaves one row, searchable with
//! Bifrost's `/api/logs` filters; content logging and logging itself can be turned off; rows
//! survive a restart.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Gateway, Mock, api, chat, one_key, provider_config, temp_dir, wait_until};
use serde_json::{Value, json};

const KEY: &str = "sk-logs-secret-value-0123456789";

fn config(mock: &Mock, client: Value) -> Value {
    let mut cfg = provider_config("openai", mock, one_key(KEY), json!({}));
    cfg["providers"]["groq"] = json!({
        "keys": [{"name": "groq-key", "value": "gsk-logs-other-secret-99", "models": ["*"], "weight": 1.0}],
        "network_config": {"base_url": mock.url()}
    });
    cfg["client"] = client;
    cfg
}

/// `GET /api/logs?{query}` (200 expected).
fn search(gw: &Gateway, query: &str) -> Value {
    let r = api(gw, "GET", &format!("/api/logs?{query}"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Waits until `GET /api/logs` counts `n` rows (the writer commits every ~50 ms).
fn wait_rows(gw: &Gateway, n: u64) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(Duration::from_secs(10), || {
        last = search(gw, "limit=1000");
        last["pagination"]["total_count"] == n
    });
    assert!(ok, "expected {n} rows, got {last}");
    last
}

fn ids(result: &Value) -> Vec<String> {
    result["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_chat_request_leaves_a_row_with_usage_and_no_secret() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, json!({"logging_headers": ["X-User-Id"]})));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "hello logging world"),
        &[("x-user-id", "user-7")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let all = wait_rows(&gw, 1);
    let row = &all["logs"][0];
    assert_eq!(row["provider"], "openai");
    assert_eq!(row["model"], "gpt-4o-mini");
    assert_eq!(row["object"], "chat_completion");
    assert_eq!(row["status"], "success");
    assert_eq!(row["stream"], false);
    assert_eq!(row["number_of_retries"], 0);
    assert_eq!(row["fallback_index"], 0);
    assert_eq!(row["selected_key_name"], "k1");
    assert!(!row["selected_key_id"].as_str().unwrap().is_empty());
    assert!(row["latency"].as_f64().unwrap() > 0.0, "{row}");
    // The mock counts words: 3 prompt words, "echo: hello logging world" is 4 answer words.
    assert_eq!(
        row["token_usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    );
    assert_eq!(row["input_history"][0]["content"], "hello logging world");
    assert_eq!(
        row["output_message"]["content"],
        "echo: hello logging world"
    );
    assert_eq!(row["metadata"]["x-user-id"], "user-7");
    assert!(row["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(row["created_at"], row["timestamp"]);
    assert_eq!(all["has_logs"], true);
    assert_eq!(all["stats"]["total_requests"], 1);
    assert_eq!(all["stats"]["success_rate"], 100.0);
    assert_eq!(all["stats"]["total_tokens"], 7);
    assert_eq!(all["pagination"]["limit"], 1000);
    assert_eq!(all["pagination"]["sort_by"], "timestamp");
    assert_eq!(all["pagination"]["order"], "desc");

    let id = row["id"].as_str().unwrap();
    let one = api(&gw, "GET", &format!("/api/logs/{id}"), None);
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), *row);
    for body in [all.to_string(), one.text()] {
        assert!(!body.contains(KEY), "the key value leaked: {body}");
    }
    let missing = api(&gw, "GET", "/api/logs/no-such-id", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["message"], "log not found");
    let dropped = api(&gw, "GET", "/api/logs/dropped", None);
    assert_eq!(dropped.json(), json!({"dropped_requests": 0}));
    let cfg = api(&gw, "GET", "/api/config", None).json();
    assert_eq!(cfg["is_logs_connected"], true);
}

#[test]
fn a_streamed_request_is_logged_with_its_usage() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = Gateway::start(&config(&mock, json!({})));
    let mut body = chat("openai/gpt-4o-mini", "stream me please");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.sse_data().last().map(String::as_str), Some("[DONE]"));
    let row = wait_rows(&gw, 1)["logs"][0].clone();
    assert_eq!(row["stream"], true);
    assert_eq!(row["object"], "chat_completion_stream");
    assert_eq!(row["status"], "success");
    assert_eq!(row["token_usage"]["prompt_tokens"], 3);
    assert!(
        row["token_usage"]["total_tokens"].as_u64().unwrap() > 3,
        "{row}"
    );
    let text = row["output_message"]["content"].as_str().unwrap();
    assert!(text.starts_with("echo:"), "{row}");
    let objects = search(&gw, "objects=chat_completion_stream");
    assert_eq!(objects["pagination"]["total_count"], 1);
    assert_eq!(
        search(&gw, "objects=chat_completion")["pagination"]["total_count"],
        0
    );
}

#[test]
fn upstream_errors_and_fallbacks_are_logged() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, json!({})));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini-fail-503", "boom"),
    );
    assert_eq!(r.status, 503);
    let row = wait_rows(&gw, 1)["logs"][0].clone();
    assert_eq!(row["status"], "error");
    assert_eq!(row["provider"], "openai");
    assert_eq!(row["error_details"]["status_code"], 503);
    assert!(
        row["error_details"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mock failure"),
        "{row}"
    );
    assert!(row.get("output_message").is_none());

    let mut body = chat("openai/gpt-4o-mini-fail-500", "fall back");
    body["fallbacks"] = json!(["groq/llama-3"]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let newest = wait_rows(&gw, 2)["logs"][0].clone();
    assert_eq!(newest["provider"], "groq");
    assert_eq!(newest["model"], "llama-3");
    assert_eq!(newest["fallback_index"], 1);
    assert_eq!(newest["selected_key_name"], "groq-key");
    assert_eq!(newest["status"], "success");
    let stats = api(&gw, "GET", "/api/logs/stats", None).json();
    assert_eq!(stats["total_requests"], 2);
    assert_eq!(stats["success_rate"], 50.0);
}

#[test]
fn filters_pagination_and_sorting_narrow_the_rows() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, json!({})));
    let send = |model: &str, text: &str| gw.post("/v1/chat/completions", &chat(model, text)).status;
    assert_eq!(send("openai/gpt-4o-mini-slow-120", "first slow one"), 200);
    assert_eq!(
        send("groq/llama-3", "second from groq with more words"),
        200
    );
    assert_eq!(send("openai/gpt-4o-mini-fail-500", "third fails"), 500);
    let all = wait_rows(&gw, 3);
    let order = ids(&all);
    let rows = all["logs"].as_array().unwrap().clone();
    // Newest first by default.
    assert_eq!(rows[0]["model"], "gpt-4o-mini-fail-500");
    assert_eq!(rows[2]["model"], "gpt-4o-mini-slow-120");

    let count = |q: &str| search(&gw, q)["pagination"]["total_count"].clone();
    assert_eq!(count("providers=groq"), 1);
    assert_eq!(count("providers=openai"), 2);
    assert_eq!(count("providers=groq,openai"), 3);
    assert_eq!(count("status=error"), 1);
    assert_eq!(count("status=success"), 2);
    assert_eq!(count("models=llama-3"), 1);
    assert_eq!(count("selected_key_ids=no-such-key"), 0);
    assert_eq!(count("min_latency=100"), 1);
    assert_eq!(count("max_latency=100"), 2);
    assert_eq!(count("min_tokens=8"), 1, "the groq row has 6 + 7 tokens");
    assert_eq!(count("content_search=MORE+WORDS"), 1);
    let openai_key = rows[2]["selected_key_id"].as_str().unwrap();
    let groq_key = rows[1]["selected_key_id"].as_str().unwrap();
    assert_ne!(openai_key, groq_key);
    assert_eq!(count(&format!("selected_key_ids={openai_key}")), 2);
    assert_eq!(count(&format!("selected_key_ids={groq_key}")), 1);

    // Time range: from the second row's start on, and up to the first row's start.
    let second = rows[1]["timestamp"].as_str().unwrap().replace(':', "%3A");
    let first = rows[2]["timestamp"].as_str().unwrap().replace(':', "%3A");
    assert_eq!(
        ids(&search(&gw, &format!("start_time={second}"))),
        order[..2]
    );
    assert_eq!(ids(&search(&gw, &format!("end_time={first}"))), order[2..]);

    // Pages and orders.
    let page = search(&gw, "limit=1&offset=1");
    assert_eq!(ids(&page), order[1..2]);
    assert_eq!(page["pagination"]["total_count"], 3);
    assert_eq!(
        page["stats"]["total_requests"], 3,
        "stats cover every match"
    );
    let asc = search(&gw, "order=asc");
    assert_eq!(ids(&asc), order.iter().rev().cloned().collect::<Vec<_>>());
    let slowest = search(&gw, "sort_by=latency&order=desc&limit=1");
    assert_eq!(slowest["logs"][0]["model"], "gpt-4o-mini-slow-120");
    let most_tokens = search(&gw, "sort_by=tokens&limit=1");
    assert_eq!(most_tokens["logs"][0]["provider"], "groq");

    // Bad parameters: Bifrost's messages, its error JSON.
    for (q, msg) in [
        ("limit=0", "limit must be greater than 0"),
        ("limit=1001", "limit cannot exceed 1000"),
        ("offset=-2", "offset cannot be negative"),
    ] {
        let r = api(&gw, "GET", &format!("/api/logs?{q}"), None);
        assert_eq!(r.status, 400, "{q}");
        let v = r.json();
        assert_eq!(v["error"]["message"], msg);
        assert_eq!(v["is_bifrost_error"], false);
    }

    // Deletion by ids.
    let gone = &order[0];
    let r = api(&gw, "DELETE", "/api/logs", Some(&json!({"ids": [gone]})));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["message"], "Logs deleted successfully");
    assert_eq!(
        api(&gw, "GET", &format!("/api/logs/{gone}"), None).status,
        404
    );
    assert_eq!(count(""), 2);
    let empty = api(&gw, "DELETE", "/api/logs", Some(&json!({"ids": []})));
    assert_eq!(empty.status, 400);
    assert_eq!(empty.json()["error"]["message"], "No log IDs provided");
}

#[test]
fn content_logging_off_keeps_metadata_only() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&config(&mock, json!({"disable_content_logging": true})));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "a private sentence"),
    );
    assert_eq!(r.status, 200);
    let all = wait_rows(&gw, 1);
    let row = &all["logs"][0];
    assert!(row.get("input_history").is_none(), "{row}");
    assert!(row.get("output_message").is_none(), "{row}");
    assert!(!all.to_string().contains("private sentence"), "{all}");
    assert_eq!(
        row["token_usage"]["total_tokens"], 7,
        "usage is still logged"
    );
    assert_eq!(
        search(&gw, "content_search=private")["pagination"]["total_count"],
        0
    );
}

#[test]
fn logging_off_leaves_no_rows_and_no_log_routes() {
    let mock = Mock::start(&[]);
    for (client, logs_store) in [
        (json!({"enable_logging": false}), None),
        (json!({}), Some(json!({"enabled": false, "type": "sqlite"}))),
    ] {
        let mut cfg = config(&mock, client);
        if let Some(ls) = logs_store {
            cfg["logs_store"] = ls;
        }
        let gw = Gateway::start(&cfg);
        let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "hi"));
        assert_eq!(r.status, 200);
        for path in ["/api/logs", "/api/logs/stats", "/api/logs/dropped"] {
            let r = api(&gw, "GET", path, None);
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(
                r.json()["error"]["message"],
                format!("Route not found: {path}")
            );
        }
        assert_eq!(
            api(&gw, "GET", "/api/config", None).json()["is_logs_connected"],
            false
        );
        assert!(!gw.dir.join("ringway-logs.lmdb").exists());
    }
}

#[test]
fn logs_survive_a_restart() {
    let mock = Mock::start(&[]);
    let app = temp_dir("logs-restart");
    std::fs::write(
        app.join("config.json"),
        serde_json::to_vec(&config(&mock, json!({}))).unwrap(),
    )
    .unwrap();
    // A `type` other than LMDB is accepted with a warning: the rows go to ringway's store.
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(app.join("config.json")).unwrap()).unwrap();
    cfg["logs_store"] = json!({"enabled": true, "type": "postgres", "config": {"host": "db"}});
    std::fs::write(app.join("config.json"), serde_json::to_vec(&cfg).unwrap()).unwrap();
    let mut gw = Gateway::start_app(&app);
    assert!(
        gw.logs().contains("logs_store.type \"postgres\""),
        "{}",
        gw.logs()
    );
    assert_eq!(
        gw.post(
            "/v1/chat/completions",
            &chat("openai/gpt-4o-mini", "remember me")
        )
        .status,
        200
    );
    let before = wait_rows(&gw, 1);
    assert!(gw.terminate(Duration::from_secs(10)).is_some());
    let gw = Gateway::start_app(&app);
    let after = search(&gw, "");
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(
        after["logs"][0]["input_history"][0]["content"],
        "remember me"
    );
    let _ = std::fs::remove_dir_all(&app);
}

#[test]
fn log_routes_need_the_admin_credentials() {
    use base64::Engine as _;
    let mock = Mock::start(&[]);
    let mut cfg = config(&mock, json!({}));
    cfg["governance"] = json!({"auth_config": {
        "is_enabled": true, "admin_username": "admin", "admin_password": "pw-logs"
    }});
    let gw = Gateway::start(&cfg);
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:pw-logs")
    );
    for path in [
        "/api/logs",
        "/api/logs/stats",
        "/api/logs/dropped",
        "/api/logs/x",
    ] {
        let anon = common::http::request(gw.addr, "GET", path, &[], b"");
        assert_eq!(anon.status, 401, "{path}");
    }
    let ok = common::http::request(
        gw.addr,
        "GET",
        "/api/logs",
        &[("authorization", &good)],
        b"",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["has_logs"], false);
    assert_eq!(ok.json()["logs"], json!([]));
}

#[test]
fn anthropic_clients_are_logged_with_their_usage() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = Gateway::start(&json!({ "providers": {
        "anthropic": { "keys": one_key("sk-ant-logs-secret-1"), "network_config": { "base_url": mock.url() } }
    }}));
    let body = |stream: bool| {
        json!({"model": "claude-3-5-haiku", "max_tokens": 64, "system": "be brief", "stream": stream,
               "messages": [{"role": "user", "content": "hi from claude code"}]})
    };
    let headers = [("anthropic-version", "2023-06-01")];
    let r = gw.post_with("/anthropic/v1/messages", &body(false), &headers);
    assert_eq!(r.status, 200, "{}", r.text());
    let s = gw.post_with("/anthropic/v1/messages", &body(true), &headers);
    assert_eq!(s.status, 200, "{}", s.text());
    let all = wait_rows(&gw, 2);
    assert!(!all.to_string().contains("sk-ant-logs-secret-1"));
    let (streamed, plain) = (&all["logs"][0], &all["logs"][1]);
    for row in [streamed, plain] {
        assert_eq!(row["provider"], "anthropic");
        assert_eq!(row["model"], "claude-3-5-haiku");
        assert_eq!(row["status"], "success");
        assert_eq!(row["input_history"][0]["role"], "system", "{row}");
        assert_eq!(row["input_history"][1]["content"], "hi from claude code");
        assert!(
            row["token_usage"]["prompt_tokens"].as_u64().unwrap() > 0,
            "{row}"
        );
        assert!(
            row["token_usage"]["completion_tokens"].as_u64().unwrap() > 0,
            "{row}"
        );
    }
    assert_eq!(plain["stream"], false);
    assert_eq!(
        plain["output_message"]["content"],
        "echo: hi from claude code"
    );
    assert_eq!(streamed["stream"], true);
    assert!(
        streamed["output_message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("echo:"),
        "{streamed}"
    );
}
