//! The `/_mock/*` routes: script queue, recording, stats and keep-alive accounting.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{Client, End, TOKEN, chat_body, mock, recorded, stats};

fn script(addr: std::net::SocketAddr, steps: serde_json::Value) -> serde_json::Value {
    let body = serde_json::to_vec(&steps).unwrap();
    let r = Client::connect(addr).request("POST", "/_mock/script", &[], &body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn script_steps_are_consumed_in_order_then_normal_behaviour_resumes() {
    let m = mock(&[]);
    let queued = script(
        m.addr(),
        json!([
            {"status": 500, "body": {"error": {"message": "boom"}}, "times": 2},
            {"status": 429, "body": "slow down", "headers": {"Retry-After": "1", "X-Mock": "yes"}},
            {"delay_ms": 100, "headers": {"X-Passthrough": "1"}}
        ]),
    );
    assert_eq!(queued["remaining"], 4);
    let mut c = Client::connect(m.addr());
    for _ in 0..2 {
        let r = c.post("/v1/chat/completions", &chat_body("m", "x"));
        assert_eq!(r.status, 500);
        assert_eq!(r.json()["error"]["message"], "boom");
    }
    // Any inference route consumes steps, even one that does not exist.
    let r = c.post("/v1/whatever", &json!({}));
    assert_eq!(r.status, 429);
    assert_eq!(r.body, b"slow down");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("x-mock"), Some("yes"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    // A step without status/body delays the normal answer and adds its headers.
    let t = Instant::now();
    let r = c.post("/v1/chat/completions", &chat_body("m", "x"));
    assert!(t.elapsed() >= Duration::from_millis(90));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-passthrough"), Some("1"));
    assert_eq!(r.json()["choices"][0]["message"]["content"], "echo: x");
    let r = c.post("/v1/chat/completions", &chat_body("m", "x"));
    assert_eq!(r.status, 200);
    assert!(r.header("x-passthrough").is_none());
}

#[test]
fn script_actions_and_clear() {
    let m = mock(&[]);
    script(
        m.addr(),
        json!([{"action": "reset"}, {"action": "close"}, {"action": "hang"}]),
    );
    let r = Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("m", "x"));
    assert_eq!(r.end, End::Reset);
    let r = Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("m", "x"));
    assert_eq!((r.status, r.end), (0, End::Eof));
    let mut c = Client::connect(m.addr());
    c.timeout(Duration::from_millis(200));
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "x")).end,
        End::Timeout
    );

    script(m.addr(), json!([{"status": 503, "times": 100}]));
    let r = Client::connect(m.addr()).request("DELETE", "/_mock/script", &[], b"");
    assert_eq!(r.json()["remaining"], 0);
    assert_eq!(
        Client::connect(m.addr())
            .post("/v1/chat/completions", &chat_body("m", "x"))
            .status,
        200
    );

    let r = Client::connect(m.addr()).request(
        "POST",
        "/_mock/script",
        &[],
        br#"[{"action":"explode"}]"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("explode")
    );
}

#[test]
fn requests_are_recorded_exactly() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let auth = format!("Bearer {TOKEN}");
    c.request(
        "POST",
        "/openai/v1/chat/completions?api-version=1",
        &[("Authorization", &auth), ("X-Mixed-CASE", "Value 1")],
        body,
    );
    c.request(
        "POST",
        "/v1/embeddings",
        &[("Authorization", &auth)],
        &[0xff, 0xfe, 0x00],
    );
    // Control and health traffic is not recorded.
    Client::connect(m.addr()).request("GET", "/health", &[], b"");
    let mut other = Client::connect(m.addr());
    other.get("/v1/models");

    let recs = recorded(m.addr());
    assert_eq!(recs.len(), 3);
    let first = &recs[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/openai/v1/chat/completions?api-version=1");
    assert_eq!(first["body"], std::str::from_utf8(body).unwrap());
    assert_eq!(first["body_encoding"], "utf8");
    let headers = first["headers"].as_array().unwrap();
    assert!(
        headers.contains(&json!(["X-Mixed-CASE", "Value 1"])),
        "{headers:?}"
    );
    assert!(headers.contains(&json!(["Authorization", auth])));
    assert_eq!(headers[0], json!(["Host", "mock"]), "order kept");
    assert!(first["time_ms"].as_u64().unwrap() > 1_600_000_000_000);

    let second = &recs[1];
    assert_eq!(second["body"], "//4A");
    assert_eq!(second["body_encoding"], "base64");
    assert_eq!(second["connection"], first["connection"]);
    assert_eq!(
        (
            first["connection_request"].as_u64(),
            second["connection_request"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_ne!(recs[2]["connection"], first["connection"]);
    assert_eq!(recs[2]["method"], "GET");

    let r = Client::connect(m.addr()).request("DELETE", "/_mock/requests", &[], b"");
    assert_eq!(r.json()["cleared"], 3);
    assert!(recorded(m.addr()).is_empty());
}

#[test]
fn no_record_keeps_the_ring_empty_but_counts() {
    let m = mock(&["--no-record"]);
    Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("m", "x"));
    assert!(recorded(m.addr()).is_empty());
    assert_eq!(stats(m.addr())["requests"], 1);
}

#[test]
fn keep_alive_reuse_shows_in_stats() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "one"))
            .status,
        200
    );
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "two"))
            .status,
        200
    );
    let s = stats(m.addr());
    assert_eq!(s["requests"], 2);
    assert_eq!(s["connections"], 1, "two requests, one connection: {s}");
    assert_eq!(s["open_connections"], 1);
    // The stats connections themselves are counted apart.
    assert!(s["accepted_connections"].as_u64().unwrap() >= 2);

    // Stats asked on the inference connection itself.
    let own = c.request("GET", "/_mock/stats", &[], b"").json();
    assert_eq!(own["connections"], 1);

    drop(c);
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats(m.addr())["open_connections"] != 0 {
        assert!(
            Instant::now() < deadline,
            "closed connection still counted as open"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = Client::connect(m.addr()).request("DELETE", "/_mock/stats", &[], b"");
    assert_eq!(r.json()["requests"], 0);
    Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("m", "x"));
    assert_eq!(stats(m.addr())["connections"], 1);
}

#[test]
fn reset_route_clears_everything() {
    let m = mock(&[]);
    Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("m", "x"));
    script(m.addr(), json!([{"status": 500}]));
    let r = Client::connect(m.addr()).request("POST", "/_mock/reset", &[], b"");
    assert_eq!(r.status, 200);
    assert!(recorded(m.addr()).is_empty());
    assert_eq!(stats(m.addr())["requests"], 0);
    assert_eq!(
        Client::connect(m.addr())
            .post("/v1/chat/completions", &chat_body("m", "x"))
            .status,
        200
    );
}
