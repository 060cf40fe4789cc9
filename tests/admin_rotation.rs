//! Copy-on-write config under load: many keep-alive connections send requests continuously
//! while the provider's key (and, in the same write, an extra header) is replaced through the
//! API. Every connection switches within one request after the write returns, no request fails,
//! and no request mixes the old key with the new header or the other way round.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::http::request;
use common::{Gateway, Mock, chat, recorded_auth, recorded_body, recorded_headers};
use serde_json::json;

const CONNECTIONS: usize = 12;
const WARMUP_PER_CONNECTION: usize = 20;

/// What one client connection did for one request.
struct Sent {
    seq: usize,
    started: Instant,
    status: u16,
}

#[test]
fn key_rotation_reaches_every_core_within_one_request_without_failures() {
    let mock = Mock::start(&["--workers", "2"]);
    let provider = |key: &str, generation: &str| {
        json!({
            "keys": [{"id": "rotating-key", "name": "main", "value": key, "models": ["*"], "weight": 1.0}],
            "network_config": {"base_url": mock.url(), "extra_headers": {"x-config-gen": generation}},
            "concurrency_and_buffer_size": {"concurrency": 1000, "buffer_size": 5000}
        })
    };
    let old_key = "sk-old-key-aaaaaaaaaaaa";
    let new_key = "sk-new-key-bbbbbbbbbbbb";
    let gw = Gateway::start(&json!({"providers": {"openai": provider(old_key, "1")}}));
    mock.clear();

    let stop = Arc::new(AtomicBool::new(false));
    let warm = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(Barrier::new(CONNECTIONS + 1));
    let log: Arc<Mutex<HashMap<usize, Vec<Sent>>>> = Arc::default();
    let mut threads = Vec::new();
    for c in 0..CONNECTIONS {
        let (stop, warm, ready, log) = (
            Arc::clone(&stop),
            Arc::clone(&warm),
            Arc::clone(&ready),
            Arc::clone(&log),
        );
        let mut conn = gw.conn();
        threads.push(std::thread::spawn(move || {
            ready.wait();
            let mut sent = Vec::new();
            let mut seq = 0;
            while !stop.load(Ordering::SeqCst) {
                let body = chat("openai/gpt-4o", &format!("c{c}-r{seq}")).to_string();
                let started = Instant::now();
                let r = conn.send(
                    "POST",
                    "/v1/chat/completions",
                    &[("content-type", "application/json")],
                    body.as_bytes(),
                );
                sent.push(Sent {
                    seq,
                    started,
                    status: r.status,
                });
                seq += 1;
                if seq == WARMUP_PER_CONNECTION {
                    warm.fetch_add(1, Ordering::SeqCst);
                }
            }
            log.lock().unwrap().insert(c, sent);
        }));
    }
    ready.wait();
    let deadline = Instant::now() + Duration::from_secs(60);
    while warm.load(Ordering::SeqCst) < CONNECTIONS {
        assert!(Instant::now() < deadline, "load did not warm up");
        std::thread::sleep(Duration::from_millis(5));
    }

    // One write replaces the key and the header together.
    let put = request(
        gw.addr,
        "PUT",
        "/api/providers/openai",
        &[("content-type", "application/json")],
        provider(new_key, "2").to_string().as_bytes(),
    );
    let switched = Instant::now();
    assert_eq!(put.status, 200, "{}", put.text());

    // Keep the load going until every connection sent a few requests after the write.
    let after_start = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    assert!(after_start.elapsed() >= Duration::from_millis(300));
    let log = log.lock().unwrap();

    // What the upstream saw, by the message each request carried.
    let records = mock.requests();
    let total: usize = log.values().map(Vec::len).sum();
    assert!(
        records.len() < 10_000,
        "the mock's ring (10,000) overflowed: lower the load"
    );
    assert_eq!(
        records.len(),
        total,
        "every request reached the upstream once"
    );
    eprintln!("{total} requests on {CONNECTIONS} connections");
    let mut seen: HashMap<String, (String, String)> = HashMap::new();
    for r in &records {
        let text = recorded_body(r)["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string();
        let auth = recorded_auth(r).unwrap();
        let header = recorded_headers(r, "x-config-gen");
        assert_eq!(header.len(), 1, "{text}: {header:?}");
        seen.insert(text, (auth, header[0].clone()));
    }

    for (c, sent) in log.iter() {
        let mut switched_at = None;
        for s in sent {
            assert_eq!(s.status, 200, "connection {c} request {} failed", s.seq);
            let (auth, generation) = seen
                .get(&format!("c{c}-r{}", s.seq))
                .unwrap_or_else(|| panic!("c{c}-r{} never reached the upstream", s.seq));
            let is_new = match (auth.as_str(), generation.as_str()) {
                (a, "1") if a == format!("Bearer {old_key}") => false,
                (a, "2") if a == format!("Bearer {new_key}") => true,
                other => panic!("c{c}-r{}: mixed old and new settings: {other:?}", s.seq),
            };
            match (is_new, switched_at) {
                (true, None) => switched_at = Some(s.seq),
                (false, Some(at)) => panic!(
                    "connection {c}: request {} used the old key after request {at} used the new one",
                    s.seq
                ),
                _ => {}
            }
            if s.started > switched {
                assert!(
                    is_new,
                    "connection {c}: request {} started after the write returned and used the old key",
                    s.seq
                );
            }
        }
        let at = switched_at
            .unwrap_or_else(|| panic!("connection {c} never switched ({} requests)", sent.len()));
        assert!(
            at >= WARMUP_PER_CONNECTION,
            "connection {c} switched before the write"
        );
        // Within one request: every request that started after the write returned used the new
        // settings (checked above); make sure each connection actually sent some.
        let after = sent.iter().filter(|s| s.started > switched).count();
        assert!(
            after >= 3,
            "connection {c}: only {after} requests after the write"
        );
    }
}

#[test]
fn rotation_keeps_warm_upstream_connections() {
    let mock = Mock::start(&[]);
    let provider = |key: &str| {
        json!({
            "keys": [{"id": "k", "name": "main", "value": key, "models": ["*"]}],
            "network_config": {"base_url": mock.url()},
            "concurrency_and_buffer_size": {"concurrency": 100, "buffer_size": 100}
        })
    };
    // One worker and one client connection: exactly one upstream connection is needed.
    let gw = Gateway::start_with(
        &json!({"providers": {"openai": provider("sk-before-000000000")}}),
        common::Start {
            workers: Some(1),
            ..common::Start::default()
        },
    );
    let mut conn = gw.conn();
    let mut send = |text: &str| {
        let r = conn.send(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            chat("openai/gpt-4o", text).to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    for i in 0..5 {
        send(&format!("before {i}"));
    }
    assert_eq!(mock.stats()["connections"], 1);
    let put = request(
        gw.addr,
        "PUT",
        "/api/providers/openai/keys/k",
        &[("content-type", "application/json")],
        json!({"name": "main", "value": "sk-after-1111111111", "models": ["*"]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    for i in 0..5 {
        send(&format!("after {i}"));
    }
    let records = mock.requests();
    assert_eq!(
        recorded_auth(records.last().unwrap()).as_deref(),
        Some("Bearer sk-after-1111111111")
    );
    assert_eq!(
        mock.stats()["connections"],
        1,
        "the endpoint did not change: the warm upstream connection is reused"
    );
}
