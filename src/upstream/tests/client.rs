//! Client behaviour against scripted upstreams.

use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;

use super::server::Server;
use super::{client, get, rt, target};
use crate::upstream::{Client, ClientOptions, Request, UpstreamError};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Request-Id: abc\r\n\r\nhello";

#[test]
fn keep_alive_reuses_one_connection() {
    let server = Server::fixed(HELLO);
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        for _ in 0..3 {
            let resp = c.send(&t, get("/v1/models")).await.expect("send");
            assert_eq!(resp.status, 200);
            assert_eq!(resp.header("x-request-id"), Some("abc"));
            assert_eq!(resp.content_length(), Some(5));
            assert_eq!(resp.bytes(1024).await.expect("body"), &b"hello"[..]);
            assert_eq!(c.idle_connections(), 1);
        }
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn writes_exactly_the_expected_head() {
    let server = Server::fixed(HELLO);
    let t = target(&format!("{}/v1/", server.url()));
    rt().block_on(async {
        let headers = [
            ("Authorization", "Bearer sk"),
            ("Content-Type", "application/json"),
        ];
        let req = Request {
            method: "POST",
            path: "/v1/chat/completions?x=1",
            headers: &headers,
            body: &Bytes::from_static(b"{\"model\":\"m\"}"),
        };
        let resp = client().send(&t, req).await.expect("send");
        resp.bytes(100).await.expect("body");
    });
    let seen = server.seen.lock().expect("lock")[0].clone();
    assert_eq!(
        seen.head,
        format!(
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer sk\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n",
            server.addr
        )
    );
    assert_eq!(seen.body, b"{\"model\":\"m\"}");
}

#[test]
fn large_body_arrives_whole() {
    let server = Server::start(|mut c| {
        while let Some(req) = c.read_request() {
            let sum: u64 = req.body.iter().map(|b| u64::from(*b)).sum();
            let text = format!("{} {}", req.body.len(), sum);
            c.write(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
                .as_bytes(),
            );
        }
    });
    let t = target(&server.url());
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expect = format!(
        "{} {}",
        body.len(),
        body.iter().map(|b| u64::from(*b)).sum::<u64>()
    );
    rt().block_on(async {
        let c = client();
        for _ in 0..2 {
            let req = Request {
                method: "POST",
                path: "/",
                headers: &[],
                body: &Bytes::from(body.clone()),
            };
            let resp = c.send(&t, req).await.expect("send");
            assert_eq!(resp.bytes(100).await.expect("body"), expect.as_bytes());
        }
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn chunked_body_is_decoded_and_connection_reused() {
    let server = Server::start(|mut c| {
        while c.read_request().is_some() {
            c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            c.write(b"5;ext=1\r\nhel");
            std::thread::sleep(Duration::from_millis(5));
            c.write(b"lo\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
        }
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        for _ in 0..2 {
            let resp = c.send(&t, get("/")).await.expect("send");
            assert_eq!(resp.content_length(), None);
            assert_eq!(resp.bytes(1024).await.expect("body"), &b"hello world"[..]);
        }
        assert_eq!(c.idle_connections(), 1);
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn chunk_delivers_pieces_as_they_arrive() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let server = Server::start(move |mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\ndata: 1\r\n");
        // The second piece is only sent once the client has seen the first one.
        let _ = go_rx.lock().expect("lock").recv();
        c.write(b"7\r\ndata: 2\r\n0\r\n\r\n");
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let mut resp = c.send(&t, get("/stream")).await.expect("send");
        let first = resp.chunk().await.expect("chunk").expect("some");
        assert_eq!(first, &b"data: 1"[..]);
        assert_eq!(c.idle_connections(), 0);
        go_tx.send(()).expect("signal");
        let second = resp.chunk().await.expect("chunk").expect("some");
        assert_eq!(second, &b"data: 2"[..]);
        // The terminator arrived with the last piece: the connection is already back.
        assert_eq!(c.idle_connections(), 1);
        assert_eq!(resp.chunk().await.expect("end"), None);
        assert_eq!(resp.chunk().await.expect("still end"), None);
    });
}

#[test]
fn buffered_chunks_come_without_a_read() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let server = Server::start(move |mut c| {
        c.read_request();
        // Three pieces in one write, then a fourth once the client asks for it.
        c.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n",
        );
        let _ = go_rx.lock().expect("lock").recv();
        c.write(b"1\r\nd\r\n0\r\n\r\n");
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let mut resp = c.send(&t, get("/stream")).await.expect("send");
        let mut got = vec![resp.chunk().await.expect("chunk").expect("some")];
        // What the same read brought in is there without awaiting: the head and three pieces
        // were one write, one loopback segment.
        while let Some(more) = resp.buffered_chunk() {
            got.push(more);
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(resp.buffered_chunk().is_none(), "nothing more is buffered");
        go_tx.send(()).expect("signal");
        while let Some(piece) = resp.chunk().await.expect("chunk") {
            got.push(piece);
        }
        assert_eq!(got.concat(), b"abcd");
        assert_eq!(resp.buffered_chunk(), None, "the end is for chunk() to say");
        assert_eq!(resp.chunk().await.expect("end"), None);
    });
}

#[test]
fn dropping_a_response_early_closes_its_connection() {
    let (closed_tx, closed_rx) = mpsc::channel::<bool>();
    let closed_tx = std::sync::Mutex::new(closed_tx);
    let server = Server::start(move |mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
        let closed = c.wait_closed();
        let _ = closed_tx.lock().expect("lock").send(closed);
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let mut resp = c.send(&t, get("/")).await.expect("send");
        assert_eq!(
            resp.chunk().await.expect("chunk"),
            Some(Bytes::from_static(b"hello"))
        );
        drop(resp);
        assert_eq!(c.idle_connections(), 0);
    });
    assert_eq!(closed_rx.recv_timeout(Duration::from_secs(5)), Ok(true));
}

#[test]
fn stale_pooled_connection_is_retried_once() {
    let (closed_tx, closed_rx) = mpsc::channel::<()>();
    let closed_tx = std::sync::Mutex::new(closed_tx);
    let server = Server::start(move |mut c| {
        if c.index == 0 {
            // Serve one request, then close while the client holds the connection idle.
            c.read_request();
            c.write(HELLO);
            c.close();
            let _ = closed_tx.lock().expect("lock").send(());
            return;
        }
        while c.read_request().is_some() {
            c.write(HELLO);
        }
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let resp = c.send(&t, get("/")).await.expect("first");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
        assert_eq!(c.idle_connections(), 1);
        closed_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("server closed");
        let resp = c.send(&t, get("/")).await.expect("retried transparently");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
    });
    assert_eq!(server.accepts(), 2);
    assert_eq!(server.seen.lock().expect("lock").len(), 2);
}

#[test]
fn no_retry_once_response_bytes_arrived() {
    let server = Server::start(|mut c| {
        c.read_request();
        c.write(HELLO);
        c.read_request();
        c.write(b"HTTP/1.1 200 O");
        c.close();
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        c.send(&t, get("/"))
            .await
            .expect("first")
            .bytes(100)
            .await
            .expect("body");
        let err = c.send(&t, get("/")).await.expect_err("must fail");
        assert!(matches!(err, UpstreamError::Protocol(_)), "{err:?}");
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn fresh_connection_closed_without_response_is_network_error() {
    let server = Server::start(|mut c| {
        c.read_request();
        c.close();
    });
    let t = target(&server.url());
    rt().block_on(async {
        let err = client().send(&t, get("/")).await.expect_err("must fail");
        assert!(err.is_network(), "{err:?}");
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn connect_refused_is_network() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let t = target(&format!("http://127.0.0.1:{port}"));
    rt().block_on(async {
        let err = client().send(&t, get("/")).await.expect_err("refused");
        assert!(matches!(err, UpstreamError::Connect { .. }), "{err:?}");
        assert!(err.is_network());
    });
}

#[test]
fn host_names_resolve_off_thread() {
    let server = Server::fixed(HELLO);
    let t = target(&format!("http://localhost:{}", server.addr.port()));
    rt().block_on(async {
        let c = client();
        // localhost may resolve to ::1 first, where nobody listens: the next address is tried.
        let resp = c.send(&t, get("/")).await.expect("send");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
    });
    let seen = server.seen.lock().expect("lock")[0].clone();
    assert!(
        seen.head
            .contains(&format!("\r\nHost: localhost:{}\r\n", server.addr.port()))
    );
}

#[test]
fn informational_responses_are_skipped() {
    let server = Server::fixed(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    );
    let t = target(&server.url());
    rt().block_on(async {
        let resp = client().send(&t, get("/")).await.expect("send");
        assert_eq!(resp.status, 201);
        assert_eq!(resp.header("link"), None);
        assert_eq!(resp.bytes(10).await.expect("body"), &b"ok"[..]);
    });
}

#[test]
fn bodiless_responses_keep_the_connection() {
    let server = Server::start(|mut c| {
        while let Some(req) = c.read_request() {
            if req.head.starts_with("HEAD") {
                c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            } else {
                c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
            }
        }
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let head = Request {
            method: "HEAD",
            path: "/",
            headers: &[],
            body: &Bytes::new(),
        };
        let mut resp = c.send(&t, head).await.expect("head");
        assert_eq!(resp.chunk().await.expect("no body"), None);
        assert_eq!(c.idle_connections(), 1);
        let resp = c.send(&t, get("/")).await.expect("204");
        assert_eq!(resp.status, 204);
        assert_eq!(resp.bytes(10).await.expect("empty"), Bytes::new());
    });
    assert_eq!(server.accepts(), 1);
}

#[test]
fn close_delimited_and_connection_close_are_not_pooled() {
    let server = Server::start(|mut c| {
        c.read_request();
        if c.index == 0 {
            c.write(b"HTTP/1.1 200 OK\r\n\r\nuntil close");
            c.close();
        } else {
            c.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye");
        }
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let resp = c.send(&t, get("/")).await.expect("send");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"until close"[..]);
        assert_eq!(c.idle_connections(), 0);
        let resp = c.send(&t, get("/")).await.expect("send");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"bye"[..]);
        assert_eq!(c.idle_connections(), 0);
    });
    assert_eq!(server.accepts(), 2);
}

#[test]
fn truncated_and_oversized_bodies_fail() {
    let server = Server::start(|mut c| {
        c.read_request();
        match c.index {
            0 => {
                c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
                c.close();
            }
            1 => c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"),
            _ => {
                c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n");
                c.write(b"5\r\nworld\r\n0\r\n\r\n");
            }
        }
        c.wait_closed();
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let err = c
            .send(&t, get("/"))
            .await
            .expect("head")
            .bytes(100)
            .await
            .expect_err("short");
        assert!(matches!(err, UpstreamError::Truncated), "{err:?}");
        assert_eq!(c.idle_connections(), 0);
        let err = c
            .send(&t, get("/"))
            .await
            .expect("head")
            .bytes(5)
            .await
            .expect_err("big");
        assert!(matches!(err, UpstreamError::BodyTooLarge), "{err:?}");
        let err = c
            .send(&t, get("/"))
            .await
            .expect("head")
            .bytes(8)
            .await
            .expect_err("big");
        assert!(matches!(err, UpstreamError::BodyTooLarge), "{err:?}");
    });
}

#[test]
fn malformed_chunked_body_is_a_protocol_error() {
    let server = Server::fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let err = c
            .send(&t, get("/"))
            .await
            .expect("head")
            .bytes(100)
            .await
            .expect_err("bad");
        assert!(matches!(err, UpstreamError::Protocol(_)), "{err:?}");
        assert_eq!(c.idle_connections(), 0);
    });
}

#[test]
fn idle_connections_expire() {
    let server = Server::fixed(HELLO);
    let t = target(&server.url());
    rt().block_on(async {
        let c = Client::new(ClientOptions {
            idle_timeout: Duration::from_millis(50),
            ..ClientOptions::default()
        });
        c.send(&t, get("/"))
            .await
            .expect("send")
            .bytes(10)
            .await
            .expect("body");
        assert_eq!(c.idle_connections(), 1);
        monoio::time::sleep(Duration::from_millis(80)).await;
        c.send(&t, get("/"))
            .await
            .expect("send")
            .bytes(10)
            .await
            .expect("body");
    });
    assert_eq!(server.accepts(), 2);
}

#[test]
fn idle_count_is_bounded_per_target() {
    let server = Server::fixed(HELLO);
    let t = target(&server.url());
    rt().block_on(async {
        let c = Client::new(ClientOptions {
            max_idle_per_target: 2,
            ..ClientOptions::default()
        });
        // Four requests in flight at once need four connections; only two stay idle.
        let r1 = c.send(&t, get("/")).await.expect("1");
        let r2 = c.send(&t, get("/")).await.expect("2");
        let r3 = c.send(&t, get("/")).await.expect("3");
        let r4 = c.send(&t, get("/")).await.expect("4");
        assert_eq!(c.idle_connections(), 0);
        for r in [r1, r2, r3, r4] {
            r.bytes(10).await.expect("body");
        }
        assert_eq!(c.idle_connections(), 2);
    });
    assert_eq!(server.accepts(), 4);
}

#[test]
fn https_to_a_plain_server_fails_cleanly() {
    // Not a real TLS test (no certificate tooling here): checks that the rustls/ring path runs
    // and that a non-TLS peer gives a non-network TLS error rather than a hang or a panic.
    let server = Server::start(|mut c| {
        c.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        c.wait_closed();
    });
    let t = target(&format!("https://127.0.0.1:{}", server.addr.port()));
    rt().block_on(async {
        let err = client().send(&t, get("/")).await.expect_err("not TLS");
        assert!(matches!(err, UpstreamError::Tls(_)), "{err:?}");
    });
}

#[test]
fn bad_request_is_rejected_before_connecting() {
    let server = Server::fixed(HELLO);
    let t = target(&server.url());
    rt().block_on(async {
        let req = Request {
            method: "GET",
            path: "/",
            headers: &[("X", "a\r\nb")],
            body: &Bytes::new(),
        };
        let err = client().send(&t, req).await.expect_err("invalid");
        assert!(matches!(err, UpstreamError::InvalidRequest(_)), "{err:?}");
        assert!(!err.is_network());
    });
    assert_eq!(server.accepts(), 0);
}

#[test]
fn chunk_after_a_cancelled_read_fails_instead_of_corrupting() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let server = Server::start(move |mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab");
        let _ = go_rx.lock().expect("lock").recv();
        c.write(b"c\r\n0\r\n\r\n");
        c.wait_closed();
    });
    let t = target(&server.url());
    rt().block_on(async {
        let c = client();
        let mut resp = c.send(&t, get("/")).await.expect("send");
        assert_eq!(
            resp.chunk().await.expect("first"),
            Some(Bytes::from_static(b"ab"))
        );
        // An idle timeout fires while the next read is pending.
        let timed_out = monoio::time::timeout(Duration::from_millis(30), resp.chunk()).await;
        assert!(timed_out.is_err());
        go_tx.send(()).expect("signal");
        let err = resp
            .chunk()
            .await
            .expect_err("cancelled read poisons the body");
        assert!(matches!(err, UpstreamError::Io(_)), "{err:?}");
        assert_eq!(c.idle_connections(), 0);
    });
}

#[test]
fn large_response_bodies() {
    let payload: Vec<u8> = (0..1_000_003u32).map(|i| (i % 253) as u8).collect();
    let body = payload.clone();
    let server = Server::start(move |mut c| {
        while c.read_request().is_some() {
            c.write(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            );
            for piece in body.chunks(70_000) {
                c.write(piece);
            }
        }
    });
    let chunked_body = payload.clone();
    let chunked = Server::start(move |mut c| {
        while c.read_request().is_some() {
            c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for piece in chunked_body.chunks(9_999) {
                c.write(format!("{:x}\r\n", piece.len()).as_bytes());
                c.write(piece);
                c.write(b"\r\n");
            }
            c.write(b"0\r\n\r\n");
        }
    });
    rt().block_on(async {
        let c = client();
        for _ in 0..2 {
            let got = c
                .send(&target(&server.url()), get("/"))
                .await
                .expect("send");
            assert_eq!(got.bytes(2_000_000).await.expect("body"), payload);
            let got = c
                .send(&target(&chunked.url()), get("/"))
                .await
                .expect("send");
            assert_eq!(got.bytes(2_000_000).await.expect("body"), payload);
        }
        // Streaming the same body piece by piece gives the same bytes.
        let mut resp = c
            .send(&target(&server.url()), get("/"))
            .await
            .expect("send");
        let mut streamed = Vec::new();
        while let Some(piece) = resp.chunk().await.expect("chunk") {
            streamed.extend_from_slice(&piece);
        }
        assert_eq!(streamed, payload);
        assert_eq!(c.idle_connections(), 2);
    });
    assert_eq!(server.accepts(), 1);
    assert_eq!(chunked.accepts(), 1);
}
