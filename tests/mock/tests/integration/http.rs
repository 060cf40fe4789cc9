//! HTTP/1.1 details: chunked request bodies, pipelining, Expect, Connection: close, workers,
//! and the epoll fallback.

use std::{path::Path, time::Duration};

use ringway_mock::harness::MockProcess;

use crate::client::{Client, End, TOKEN, chat_body, mock, recorded};

#[test]
fn chunked_request_body() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = serde_json::to_vec(&chat_body("m", "chunked hello")).unwrap();
    let (a, b) = body.split_at(10);
    let mut raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        a.len()
    )
    .into_bytes();
    raw.extend_from_slice(a);
    raw.extend_from_slice(format!("\r\n{:x}\r\n", b.len()).as_bytes());
    raw.extend_from_slice(b);
    raw.extend_from_slice(b"\r\n0\r\n\r\n");
    // Send in two writes so the server has to wait for the rest.
    let (first, rest) = raw.split_at(raw.len() / 2);
    c.send_raw(first);
    std::thread::sleep(Duration::from_millis(20));
    c.send_raw(rest);
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: chunked hello"
    );
    assert_eq!(
        recorded(m.addr())[0]["body"],
        std::str::from_utf8(&body).unwrap()
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let mut raw = Vec::new();
    for text in ["first", "second"] {
        let body = serde_json::to_vec(&chat_body("m", text)).unwrap();
        raw.extend_from_slice(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        raw.extend_from_slice(&body);
    }
    c.send_raw(&raw);
    for text in ["first", "second"] {
        let r = c.read_response();
        assert_eq!(
            r.json()["choices"][0]["message"]["content"],
            format!("echo: {text}")
        );
    }
}

#[test]
fn expect_continue() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let body = serde_json::to_vec(&chat_body("m", "later")).unwrap();
    c.send_raw(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer {TOKEN}\r\n\
             Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(c.read_response().status, 100);
    c.send_raw(&body);
    assert_eq!(
        c.read_response().json()["choices"][0]["message"]["content"],
        "echo: later"
    );
}

#[test]
fn connection_close_is_honoured() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    let auth = format!("Bearer {TOKEN}");
    let r = c.request(
        "GET",
        "/v1/models",
        &[("Authorization", &auth), ("Connection", "close")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(c.wait_closed(Duration::from_secs(2)), End::Eof);
}

#[test]
fn malformed_head_gets_400_and_close() {
    let m = mock(&[]);
    let mut c = Client::connect(m.addr());
    c.send_raw(b"THIS IS NOT HTTP\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 400);
    assert_eq!(c.wait_closed(Duration::from_secs(2)), End::Eof);
}

#[test]
fn several_workers_share_one_port() {
    let m = mock(&["--workers", "2"]);
    let clients: Vec<Client> = (0..8).map(|_| Client::connect(m.addr())).collect();
    for mut c in clients {
        assert_eq!(
            c.post("/v1/chat/completions", &chat_body("m", "x")).status,
            200
        );
    }
    assert_eq!(recorded(m.addr()).len(), 8);
}

#[test]
fn legacy_epoll_driver_works() {
    let bin = Path::new(env!("CARGO_BIN_EXE_ringway-mock"));
    let m = MockProcess::spawn_with_env(
        bin,
        &["--chunks", "3"],
        &[("MONOIO_FORCE_LEGACY_DRIVER", "1")],
    )
    .expect("mock starts");
    let mut c = Client::connect(m.addr());
    assert_eq!(
        c.post("/v1/chat/completions", &chat_body("m", "x")).status,
        200
    );
    let body = serde_json::json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "y"}]});
    assert_eq!(
        c.post("/v1/chat/completions", &body)
            .sse_data()
            .last()
            .map(String::as_str),
        Some("[DONE]")
    );
    let r = Client::connect(m.addr()).post("/v1/chat/completions", &chat_body("reset", "x"));
    assert_eq!(r.end, End::Reset);
}
