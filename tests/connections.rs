//! Client and upstream connection handling: keep-alive, limits, malformed and hostile input.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{Conn, Gateway, Mock, Resp, Start, chat, one_key, provider_config, recorded_body};
use serde_json::{Value, json};

fn start(mock: &Mock, workers: usize) -> Gateway {
    start_cfg(
        &provider_config("openai", mock, one_key("sk-a"), json!({})),
        workers,
    )
}

fn start_cfg(cfg: &Value, workers: usize) -> Gateway {
    Gateway::start_with(
        cfg,
        Start {
            workers: Some(workers),
            ..Start::default()
        },
    )
}

fn chat_bytes(text: &str) -> Vec<u8> {
    serde_json::to_vec(&chat("openai/gpt-4o-mini", text)).expect("json")
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// Asserts Bifrost's error JSON with `status`; returns the body.
fn assert_bifrost_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert!(v["is_bifrost_error"].is_boolean(), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    v
}

#[test]
fn upstream_connections_are_reused() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 2);
    for i in 0..20 {
        // A fresh client connection each time: the upstream side must still be pooled.
        let r = gw.post(
            "/v1/chat/completions",
            &chat("openai/gpt-4o-mini", &format!("n{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let stats = mock.stats();
    assert_eq!(stats["requests"], 20, "{stats}");
    let conns = stats["connections"].as_u64().unwrap_or(u64::MAX);
    assert!(
        conns <= 2,
        "one pooled connection per worker at most: {stats}"
    );
}

#[test]
fn client_keep_alive_carries_several_requests() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut c = gw.conn();
    for i in 0..5 {
        let r = c.send(
            "POST",
            "/v1/chat/completions",
            &[JSON],
            &chat_bytes(&format!("m{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json()["choices"][0]["message"]["content"],
            format!("echo: m{i}")
        );
        assert_ne!(r.header("connection"), Some("close"));
    }
    let r = c.send("GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert!(
        !c.is_closed(Duration::from_millis(200)),
        "keep-alive connection closed"
    );
}

#[test]
fn connection_close_is_honoured() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut c = gw.conn();
    let r = c.send(
        "POST",
        "/v1/chat/completions",
        &[JSON, ("connection", "close")],
        &chat_bytes("bye"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed(Duration::from_secs(2)));
}

#[test]
fn body_over_the_limit_is_413() {
    let mock = Mock::start(&[]);
    let mut cfg = provider_config("openai", &mock, one_key("sk-a"), json!({}));
    cfg["client"] = json!({ "max_request_body_size_mb": 1 });
    let gw = start_cfg(&cfg, 1);

    // Declared too large: answered from the head alone.
    let mut c = gw.conn();
    c.write_raw(b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 2000000\r\n\r\n")
        .expect("write");
    let r = c.read_response().expect("response");
    assert_bifrost_error(&r, 413);

    // Chunked, growing past the limit.
    let mut c = gw.conn();
    c.write_raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .expect("write");
    let piece = vec![b' '; 64 * 1024];
    let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
    framed.extend_from_slice(&piece);
    framed.extend_from_slice(b"\r\n");
    for _ in 0..20 {
        if c.write_raw(&framed).is_err() {
            break; // The gateway answered and closed.
        }
    }
    let r = c.read_response().expect("response");
    assert_bifrost_error(&r, 413);

    // Just under the limit is fine.
    let mut body = chat("openai/gpt-4o-mini", "small");
    body["padding"] = json!("x".repeat(900 * 1024));
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn expect_100_continue_gets_an_interim_response() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let body = chat_bytes("continued");
    let mut c = gw.conn();
    c.write_raw(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .expect("write head");
    let interim = c.read_any_response().expect("interim response");
    assert_eq!(interim.status, 100);
    c.write_raw(&body).expect("write body");
    let r = c.read_response().expect("response");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: continued"
    );
}

#[test]
fn chunked_request_body_is_decoded() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let body = chat_bytes("in pieces");
    let mut raw = b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for piece in body.chunks(7) {
        raw.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let mut c = gw.conn();
    c.write_raw(&raw).expect("write");
    let r = c.read_response().expect("response");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: in pieces"
    );
    let sent = recorded_body(&mock.requests()[0]);
    assert_eq!(sent["model"], "gpt-4o-mini");
    // The connection stays usable after a chunked body.
    let r = c.send("GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn malformed_request_line_is_400_and_closes() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    for raw in [
        &b"THIS IS NOT HTTP\r\n\r\n"[..],
        b"GET /v1/models HTTP/9.9 extra\r\n\r\n",
        b"GET\r\n\r\n",
    ] {
        let mut c = gw.conn();
        c.write_raw(raw).expect("write");
        let r = c.read_response().expect("response");
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(raw),
            r.text()
        );
        assert!(
            c.is_closed(Duration::from_secs(2)),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert_eq!(gw.get("/health").status, 200);
}

#[test]
fn oversized_header_section_is_431() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut c = gw.conn();
    let big = "a".repeat(70 * 1024);
    let head = format!("GET /health HTTP/1.1\r\nhost: t\r\nx-big: {big}\r\n\r\n");
    // The gateway may answer and close before it has read everything.
    let _ = c.write_raw(head.as_bytes());
    let r = c.read_response().expect("response");
    assert_eq!(r.status, 431, "{}", r.text());
    assert_eq!(gw.get("/health").status, 200);
}

#[test]
fn slow_client_does_not_block_the_worker() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let started = Instant::now();
    let mut slow = gw.conn();
    slow.write_raw(b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-")
        .expect("write");
    // The only worker keeps serving other clients meanwhile.
    for i in 0..5 {
        let r = gw.post(
            "/v1/chat/completions",
            &chat("openai/gpt-4o-mini", &format!("o{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // And the half-sent head is given up on after the 10 s header timeout (408, then close).
    let _ = slow.stream.set_read_timeout(Some(Duration::from_secs(12)));
    let mut rest = Vec::new();
    let _ = slow.stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(12),
        "closed after {waited:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[test]
fn deeply_nested_bodies_are_rejected_without_crashing() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let arrays = "[".repeat(100_000);
    let mut objects = String::with_capacity(600_000);
    for _ in 0..100_000 {
        objects.push_str("{\"a\":");
    }
    let mut inside_model = String::from("{\"model\":\"openai/gpt-4o-mini\",\"messages\":");
    inside_model.push_str(&"[".repeat(100_000));
    for body in [arrays, objects, inside_model] {
        let r = common::http::request(
            gw.addr,
            "POST",
            "/v1/chat/completions",
            &[JSON],
            body.as_bytes(),
        );
        assert_bifrost_error(&r, 400);
        let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "alive"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(
        mock.requests().len(),
        3,
        "no deep body reached the upstream"
    );
}

#[test]
fn bad_bodies_get_bifrost_errors() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "malformed JSON",
            b"{\"model\": \"openai/gpt-4o\", ".to_vec(),
        ),
        ("not an object", b"[1, 2]".to_vec()),
        (
            "model not a string",
            br#"{"model": 42, "messages": []}"#.to_vec(),
        ),
        ("empty model", br#"{"model": "", "messages": []}"#.to_vec()),
        ("no model", br#"{"messages": []}"#.to_vec()),
        (
            "model without provider",
            br#"{"model": "gpt-4o", "messages": []}"#.to_vec(),
        ),
        (
            "unknown provider",
            br#"{"model": "nosuch/gpt-4o", "messages": []}"#.to_vec(),
        ),
    ];
    for (what, body) in cases {
        let r = common::http::request(gw.addr, "POST", "/v1/chat/completions", &[JSON], &body);
        let v = assert_bifrost_error(&r, 400);
        assert_eq!(
            v["extra_fields"]["request_type"], "chat_completion",
            "{what}: {v}"
        );
    }
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "nosuch/gpt-4o", "messages": []}),
    );
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nosuch"),
        "the unknown provider is named: {v}"
    );
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "", "messages": []}),
    );
    assert_eq!(r.json()["error"]["message"], "model is required");
    // The embeddings route tags its own request type.
    let r = gw.post("/v1/embeddings", &json!({"model": "gpt-4o", "input": "x"}));
    let v = assert_bifrost_error(&r, 400);
    assert_eq!(v["extra_fields"]["request_type"], "embedding");
    assert!(mock.requests().is_empty());
}

#[test]
fn truncated_body_does_not_disturb_other_requests() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut other = gw.conn();
    let r = other.send(
        "POST",
        "/v1/chat/completions",
        &[JSON],
        &chat_bytes("before"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    {
        let mut c = Conn::connect(gw.addr);
        c.write_raw(b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":")
            .expect("write");
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
    }
    let r = other.send(
        "POST",
        "/v1/chat/completions",
        &[JSON],
        &chat_bytes("after"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "fresh"));
    assert_eq!(r.status, 200, "{}", r.text());
    let seen: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| {
            recorded_body(r)["messages"][0]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(seen, vec!["before", "after", "fresh"]);
}

#[test]
fn upstream_connections_are_reused_after_errors_and_streams() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = start(&mock, 1);
    let mut c = gw.conn();
    let mut stream = chat("openai/gpt-4o-mini", "s");
    stream["stream"] = json!(true);
    let stream = serde_json::to_vec(&stream).expect("json");
    for i in 0..6 {
        let r = c.send(
            "POST",
            "/v1/chat/completions",
            &[JSON],
            &chat_bytes(&format!("ok{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let fail = serde_json::to_vec(&chat("openai/gpt-fail-500", "x")).expect("json");
        let r = c.send("POST", "/v1/chat/completions", &[JSON], &fail);
        assert_eq!(r.status, 500, "{}", r.text());
        let r = c.send("POST", "/v1/chat/completions", &[JSON], &stream);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.sse_data().last().map(String::as_str), Some("[DONE]"));
    }
    let stats = mock.stats();
    assert_eq!(stats["requests"], 18, "{stats}");
    assert_eq!(
        stats["connections"], 1,
        "one worker, one pooled connection: {stats}"
    );
}

#[test]
fn keep_alive_survives_error_responses() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut c = gw.conn();
    for (body, status) in [
        (b"{not json".to_vec(), 400),
        (chat_bytes("ok"), 200),
        (br#"{"model": "nosuch/x", "messages": []}"#.to_vec(), 400),
        (
            serde_json::to_vec(&chat("openai/gpt-fail-429", "x")).expect("json"),
            429,
        ),
        (chat_bytes("still ok"), 200),
    ] {
        let r = c.send("POST", "/v1/chat/completions", &[JSON], &body);
        assert_eq!(r.status, status, "{}", r.text());
    }
    let r = c.send("GET", "/v2/nothing", &[], b"");
    assert_eq!(r.status, 404);
    let r = c.send("GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let mut raw = Vec::new();
    for text in ["first", "second", "third"] {
        let body = chat_bytes(text);
        raw.extend_from_slice(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        raw.extend_from_slice(&body);
    }
    raw.extend_from_slice(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n");
    let mut c = gw.conn();
    c.write_raw(&raw).expect("write");
    for text in ["first", "second", "third"] {
        let r = c.read_response().expect("response");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json()["choices"][0]["message"]["content"],
            format!("echo: {text}")
        );
    }
    assert_eq!(c.read_response().expect("health").status, 200);
}

#[test]
fn ambiguous_framing_and_too_many_headers_are_refused() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, 1);
    let body = chat_bytes("x");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\ntransfer-encoding: chunked\r\n\r\n",
                body.len()
            )
            .into_bytes(),
            400,
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-length: -1\r\n\r\n".to_vec(),
            400,
        ),
        (
            {
                let mut h = b"GET /health HTTP/1.1\r\nhost: t\r\n".to_vec();
                for i in 0..150 {
                    h.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
                }
                h.extend_from_slice(b"\r\n");
                h
            },
            431,
        ),
    ];
    for (raw, status) in cases {
        let mut c = gw.conn();
        let _ = c.write_raw(&raw);
        let _ = c.write_raw(&body);
        let r = c.read_response().expect("response");
        assert_eq!(
            r.status,
            status,
            "{}: {}",
            String::from_utf8_lossy(&raw[..60]),
            r.text()
        );
        assert!(c.is_closed(Duration::from_secs(2)));
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn provider_proxy_config_from_config_json_is_used() {
    let mock = Mock::start(&[]);
    let proxy = common::connect_proxy::ConnectProxy::start();
    let cfg = json!({"providers": {
        "openai": {
            "keys": [{"name": "k", "value": "sk-proxied-000000", "models": ["*"]}],
            "network_config": {"base_url": mock.url()},
            "proxy_config": {"type": "http", "url": proxy.url(), "username": "svc",
                             "password": "env.RINGWAY_TEST_PROXY_PW"}
        },
        "groq": {
            "keys": [{"name": "k", "value": "gsk-direct-000000", "models": ["*"]}],
            "network_config": {"base_url": mock.url()}
        }
    }});
    let gw = Gateway::start_with(
        &cfg,
        common::Start {
            env: vec![("RINGWAY_TEST_PROXY_PW", "proxy-pw".into())],
            ..common::Start::default()
        },
    );
    for _ in 0..3 {
        let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "via proxy"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
    // "svc:proxy-pw": the password came from the environment.
    let auth = proxy.auth.lock().expect("lock").clone();
    assert!(!auth.is_empty());
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some("Basic c3ZjOnByb3h5LXB3")),
        "{auth:?}"
    );
    // The provider without a proxy goes direct.
    let r = gw.post("/v1/chat/completions", &chat("groq/llama", "direct"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(
        !gw.logs().contains("proxy-pw"),
        "the proxy password reached the log"
    );
}

/// `environment` takes `HTTP_PROXY` with Go's rules, as Bifrost does: loopback never goes through
/// it (which hosts do is covered by `upstream::env_proxy`'s tests), so a local server stays
/// reachable when the machine has a proxy configured.
#[test]
fn environment_proxy_type_never_proxies_loopback() {
    let mock = Mock::start(&[]);
    let proxy = common::connect_proxy::ConnectProxy::start();
    let cfg = json!({"providers": {"openai": {
        "keys": [{"name": "k", "value": "sk-env-proxy-000000", "models": ["*"]}],
        "network_config": {"base_url": mock.url()},
        "proxy_config": {"type": "environment"}
    }}});
    let gw = Gateway::start_with(
        &cfg,
        common::Start {
            env: vec![("HTTP_PROXY", proxy.url()), ("http_proxy", proxy.url())],
            ..common::Start::default()
        },
    );
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "env proxy"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(mock.requests().len(), 1);
}
