//! The process: start-up banner, graceful shutdown, config errors, Bifrost's example configs,
//! secrets kept out of logs, Bifrost's flag spellings and the legacy io driver.

mod common;

use std::ffi::OsString;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Gateway, Mock, Start, chat, one_key, provider_config, run_ringway, temp_dir, wait_until,
};
use serde_json::{Value, json};

/// `ADDR (workers: N, io: DRIVER)` -> (N, DRIVER).
fn parse_banner(banner: &str) -> (usize, String) {
    let rest = banner
        .split_once(" (workers: ")
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("banner {banner:?}"));
    let (n, io) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", io: "))
        .unwrap_or_else(|| panic!("banner {banner:?}"));
    (
        n.parse().unwrap_or_else(|_| panic!("banner {banner:?}")),
        io.to_string(),
    )
}

#[test]
fn port_zero_prints_the_bound_address_workers_and_driver() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start_with(
        &provider_config("openai", &mock, one_key("sk-a"), json!({})),
        Start {
            workers: Some(2),
            ..Start::default()
        },
    );
    assert!(
        gw.banner.starts_with(&format!("{} (", gw.addr)),
        "{}",
        gw.banner
    );
    assert_ne!(gw.addr.port(), 0);
    let (workers, io) = parse_banner(&gw.banner);
    assert_eq!(workers, 2);
    assert!(io == "io_uring" || io == "legacy", "{}", gw.banner);
    assert_eq!(gw.get("/health").status, 200);
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_zero() {
    signal_drains_in_flight_requests_and_exits_zero("-TERM");
}

#[test]
fn sigint_drains_in_flight_requests_and_exits_zero() {
    signal_drains_in_flight_requests_and_exits_zero("-INT");
}

fn signal_drains_in_flight_requests_and_exits_zero(signal: &str) {
    let mock = Mock::start(&[]);
    let mut gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    let addr = gw.addr;
    let slow = thread::spawn(move || {
        common::http::request(
            addr,
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &serde_json::to_vec(&chat("openai/gpt-slow-1000", "finish me")).expect("json"),
        )
    });
    assert!(
        wait_until(Duration::from_secs(5), || mock.stats()["requests"] == 1),
        "the slow request never reached the mock"
    );
    let pid = gw.pid().expect("running").to_string();
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    // New connections are refused once the signal is seen (it is polled every 50 ms).
    assert!(
        wait_until(Duration::from_secs(2), || TcpStream::connect(addr).is_err()),
        "still accepting connections after {signal}"
    );
    let r = slow.join().expect("thread");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: finish me"
    );
    let exit = gw.wait_exit(Duration::from_secs(5)).expect("exited");
    assert!(exit.success(), "{exit:?}: {}", gw.logs());
    assert!(signalled.elapsed() < Duration::from_secs(6));
}

#[test]
fn sigterm_on_an_idle_gateway_exits_at_once() {
    let mock = Mock::start(&[]);
    let mut gw = Gateway::start(&provider_config(
        "openai",
        &mock,
        one_key("sk-a"),
        json!({}),
    ));
    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = gw.conn();
    assert_eq!(idle.send("GET", "/health", &[], b"").status, 200);
    let started = Instant::now();
    let exit = gw.terminate(Duration::from_secs(5)).expect("exited");
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn config_error_exits_non_zero_naming_the_json_path() {
    let dir = temp_dir("bad-config");
    let cfg = json!({ "providers": { "openai": { "keys": [
        { "name": "k", "value": "sk-a", "models": ["*"], "weight": -1.0 }
    ] } } });
    std::fs::write(dir.join("config.json"), cfg.to_string()).expect("write");
    let dir_arg = dir.to_string_lossy().into_owned();
    let out = run_ringway(
        &["--app-dir", &dir_arg, "--host", "127.0.0.1", "--port", "0"],
        &dir,
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{:?}", out.status);
    assert!(
        stderr.contains("providers.openai.keys[0].weight"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));

    // Broken JSON also names where.
    std::fs::write(
        dir.join("config.json"),
        b"{\"providers\": {\"openai\": [1,}}",
    )
    .expect("write");
    let out = run_ringway(&["--app-dir", &dir_arg, "--port", "0"], &dir, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("providers.openai"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn example_configs() -> Vec<PathBuf> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/spec/bifrost-configs"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

/// Every `env.NAME` the text references.
fn env_refs(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("env.")
        .map(|(i, _)| {
            text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Starts the gateway on `file` with `value(name)` for every referenced variable; returns the
/// failure, if any.
fn try_example(file: &Path, value: &dyn Fn(&str) -> String) -> Option<String> {
    let text = std::fs::read_to_string(file).expect("read config");
    let dir = temp_dir("example");
    std::fs::write(dir.join("config.json"), &text).expect("write");
    let env: Vec<(&str, String)> = Vec::new();
    let names = env_refs(&text);
    let env = names.iter().fold(env, |mut env, n| {
        env.push((n.as_str(), value(n)));
        env
    });
    let args: Vec<OsString> = vec![
        "--app-dir".into(),
        dir.clone().into(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        "0".into(),
        "--workers".into(),
        "1".into(),
    ];
    match Gateway::try_start_with_args(dir, &args, &env) {
        Ok(gw) => {
            let status = gw.get("/health").status;
            (status != 200).then(|| format!("{}: /health answered {status}", file.display()))
        }
        Err(e) => Some(format!("{}: {e}", file.display())),
    }
}

#[test]
fn every_bifrost_example_config_starts() {
    // Variables used as endpoints get a URL-shaped dummy (see the strict test below).
    let value = |name: &str| {
        if name.contains("ENDPOINT") {
            format!(
                "https://dummy-value-{}.example.com",
                name.to_ascii_lowercase()
            )
        } else {
            format!("dummy-value-{name}")
        }
    };
    let failures: Vec<String> = example_configs()
        .iter()
        .filter_map(|f| try_example(f, &value))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_bifrost_example_config_starts_with_plain_dummy_values() {
    let value = |name: &str| format!("dummy-value-{name}");
    let failures: Vec<String> = example_configs()
        .iter()
        .filter_map(|f| try_example(f, &value))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn logs_never_contain_key_values() {
    const CANARY: &str = "sk-secret-canary-123";
    // The mock answers 401 to tokens starting with "bad".
    const BAD_CANARY: &str = "bad-secret-canary-456";
    const ENV_CANARY: &str = "sk-env-canary-789";
    let mock = Mock::start(&["--chunks", "4"]);
    let cfg = json!({ "providers": { "openai": {
        "keys": [
            { "name": "good", "value": CANARY, "models": ["*"], "weight": 1.0 },
            { "name": "bad", "value": BAD_CANARY, "models": ["*"], "weight": 1.0 },
            { "name": "env", "value": "env.RINGWAY_TEST_CANARY_KEY", "models": ["*"], "weight": 1.0 }
        ],
        "network_config": { "base_url": mock.url(), "max_retries": 1, "retry_backoff_initial": 10, "retry_backoff_max": 20 }
    }}});
    let gw = Gateway::start_with(
        &cfg,
        Start {
            args: vec!["--log-level", "debug"],
            env: vec![("RINGWAY_TEST_CANARY_KEY", ENV_CANARY.to_string())],
            workers: Some(1),
        },
    );
    let pin = |name: &'static str| [("x-bf-api-key", name)];
    let mut statuses = Vec::new();
    for (model, headers) in [
        ("openai/gpt-4o-mini", pin("good")),
        ("openai/gpt-4o-mini", pin("bad")),
        ("openai/gpt-env", pin("env")),
        ("openai/gpt-fail-500", pin("good")),
        ("openai/gpt-fail-503", pin("env")),
        ("openai/gpt-reset", pin("good")),
    ] {
        statuses.push(
            gw.post_with("/v1/chat/completions", &chat(model, "hi"), &headers)
                .status,
        );
    }
    let mut stream = chat("openai/gpt-stream-error", "hi");
    stream["stream"] = json!(true);
    statuses.push(gw.post("/v1/chat/completions", &stream).status);
    statuses.push(gw.get("/v1/models").status);
    let mut bad_only = chat("openai/gpt-4o-mini", "hi");
    bad_only["fallbacks"] = json!(["openai/gpt-fail-401"]);
    statuses.push(
        gw.post_with("/v1/chat/completions", &bad_only, &pin("bad"))
            .status,
    );
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert_eq!(statuses[1], 502, "the refused key: {statuses:?}");
    assert_eq!(statuses[2], 200, "{statuses:?}");
    assert!(statuses[3..6].iter().all(|s| *s >= 500), "{statuses:?}");

    let logs = gw.logs();
    assert!(
        logs.contains("DEBUG"),
        "debug logging wrote nothing:\n{logs}"
    );
    for secret in [CANARY, BAD_CANARY, ENV_CANARY, "canary"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

#[test]
fn bifrost_flag_spellings_work() {
    let mock = Mock::start(&[]);
    let dir = temp_dir("go-flags");
    let cfg = provider_config("openai", &mock, one_key("sk-a"), json!({}));
    std::fs::write(dir.join("config.json"), cfg.to_string()).expect("write");
    let args: Vec<OsString> = vec![
        "-app-dir".into(),
        dir.clone().into(),
        "-port".into(),
        "0".into(),
        "-host".into(),
        "127.0.0.1".into(),
        "-log-level=warn".into(),
    ];
    let gw = Gateway::start_with_args(dir, &args, &[]);
    assert!(gw.addr.ip().is_loopback(), "{}", gw.banner);
    let r = gw.post(
        "/v1/chat/completions",
        &chat("openai/gpt-4o-mini", "go style"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: go style"
    );
}

#[test]
fn legacy_driver_serves() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = Gateway::start_with(
        &provider_config("openai", &mock, one_key("sk-a"), json!({})),
        Start {
            env: vec![("MONOIO_FORCE_LEGACY_DRIVER", "1".to_string())],
            workers: Some(1),
            ..Start::default()
        },
    );
    let (workers, io) = parse_banner(&gw.banner);
    assert_eq!((workers, io.as_str()), (1, "legacy"), "{}", gw.banner);
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o-mini", "epoll"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "echo: epoll");
    let mut body = chat("openai/gpt-4o-mini", "epoll stream");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let _: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("json event"))
        .collect();
}
