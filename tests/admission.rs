//! `concurrency_and_buffer_size` and `client.drop_excess_requests`: waiting and dropping.

mod common;

use std::thread;
use std::time::Duration;

use common::{Gateway, Mock, Resp, Start, chat, one_key, wait_until};
use serde_json::{Value, json};

/// One `openai` provider at the mock with a concurrency of 1 and a buffer of 1, on one worker.
fn start(mock: &Mock, drop_excess: bool) -> Gateway {
    let cfg = json!({
        "client": { "drop_excess_requests": drop_excess },
        "providers": { "openai": {
            "keys": one_key("sk-a"),
            "network_config": { "base_url": mock.url() },
            "concurrency_and_buffer_size": { "concurrency": 1, "buffer_size": 1 }
        }}
    });
    Gateway::start_with(
        &cfg,
        Start {
            workers: Some(1),
            ..Start::default()
        },
    )
}

fn post_in_thread(gw: &Gateway, body: Value) -> thread::JoinHandle<Resp> {
    let addr = gw.addr;
    thread::spawn(move || {
        common::http::request(
            addr,
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &serde_json::to_vec(&body).expect("json"),
        )
    })
}

fn upstream_requests(mock: &Mock) -> u64 {
    mock.stats()["requests"].as_u64().unwrap_or(0)
}

fn assert_dropped(r: &Resp) {
    assert_eq!(r.status, 503, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["type"], "request_dropped", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

/// Takes the one slot with a slow request, then sends two more at once; the slow one must
/// succeed. Returns the two others as `(answered, other)`, the 200 first when there is one.
fn overflow_by_two(gw: &Gateway, mock: &Mock) -> (Resp, Resp) {
    let slow = post_in_thread(gw, chat("openai/gpt-slow-1500", "slow"));
    assert!(
        wait_until(Duration::from_secs(5), || upstream_requests(mock) == 1),
        "the slow request never reached the mock"
    );
    let b = post_in_thread(gw, chat("openai/gpt-4o-mini", "b"));
    let c = post_in_thread(gw, chat("openai/gpt-4o-mini", "c"));
    let (b, c) = (b.join().expect("thread"), c.join().expect("thread"));
    assert_eq!(slow.join().expect("thread").status, 200);
    if b.status == 200 { (b, c) } else { (c, b) }
}

#[test]
fn dropping_refuses_only_when_the_queue_is_full_like_bifrost() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, true);
    // Bifrost's non-blocking send on a channel of buffer_size: one request fits in the queue and
    // waits for the slot, the next finds the queue full and is dropped at once.
    let (waited, refused) = overflow_by_two(&gw, &mock);
    assert_eq!(
        waited.status,
        200,
        "one request fits in the buffer: {}",
        waited.text()
    );
    assert_dropped(&refused);
    assert_eq!(
        upstream_requests(&mock),
        2,
        "the dropped request never went upstream"
    );
    // With the slot free again, requests pass.
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "again"));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn without_dropping_requests_beyond_the_buffer_wait_their_turn() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, false);
    let slow = post_in_thread(&gw, chat("openai/gpt-slow-1500", "slow"));
    assert!(
        wait_until(Duration::from_secs(5), || upstream_requests(&mock) == 1),
        "the slow request never reached the mock"
    );
    // Two more while the slot is busy, one more than the buffer holds: both wait (Bifrost blocks
    // on the full channel) and are served one at a time.
    let b = post_in_thread(&gw, chat("openai/gpt-4o-mini", "b"));
    let c = post_in_thread(&gw, chat("openai/gpt-4o-mini", "c"));
    let (b, c) = (b.join().expect("thread"), c.join().expect("thread"));
    let slow = slow.join().expect("thread");
    assert_eq!(slow.status, 200, "{}", slow.text());
    assert_eq!(b.status, 200, "{}", b.text());
    assert_eq!(c.status, 200, "{}", c.text());
    assert_eq!(upstream_requests(&mock), 3);
    // Concurrency 1: the waiters reached the mock only after the slow request finished.
    let seen = mock.requests();
    let t = |i: usize| seen[i]["time_ms"].as_u64().unwrap_or(0);
    assert!(
        t(1) >= t(0) + 1400,
        "waiter went upstream at +{} ms",
        t(1) - t(0)
    );
}

#[test]
fn drop_excess_requests_turned_on_through_the_api_applies_at_once() {
    let mock = Mock::start(&[]);
    let gw = start(&mock, false);
    let mut client = common::api(&gw, "GET", "/api/config", None).json()["client_config"].clone();
    assert_eq!(client["drop_excess_requests"], false);
    client["drop_excess_requests"] = json!(true);
    let put = common::api(
        &gw,
        "PUT",
        "/api/config",
        Some(&json!({"client_config": client})),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    // Hot-applied, as Bifrost does: no restart is asked for this setting.
    let cfg = common::api(&gw, "GET", "/api/config", None).json();
    assert_eq!(cfg["client_config"]["drop_excess_requests"], true);
    let reasons = cfg["restart_required"]["reason"].as_str().unwrap_or("");
    assert!(!reasons.contains("drop_excess"), "{cfg}");

    // Slot taken, one waiting in the buffer: the third is refused at once.
    let (_, refused) = overflow_by_two(&gw, &mock);
    assert_dropped(&refused);
}
