//! Test harness: starts the real `ringway` binary and the mock provider on free ports and talks
//! to them over real sockets.

#![allow(dead_code, clippy::unwrap_used)]

pub mod connect_proxy;
pub mod http;
pub mod plugins;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[allow(unused_imports)]
pub use http::{Conn, Resp};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ringway-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ringway"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

/// Path of the mock provider binary, building it if this test run did not.
pub fn mock_bin() -> PathBuf {
    let path = target_dir().join("ringway-mock");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "ringway-mock"])
            .status()
            .expect("cargo build -p ringway-mock");
        assert!(status.success(), "building the mock provider failed");
    }
    path
}

/// Spawns `cmd`, waits for a stdout line starting with `prefix`, and returns the address after it.
fn spawn_and_wait(cmd: Command, prefix: &'static str, what: &str) -> (Child, SocketAddr) {
    let (child, addr, _) = spawn_and_wait_line(cmd, prefix, what);
    (child, addr)
}

/// Like [`spawn_and_wait`], also returning the rest of the ready line after `prefix`.
fn spawn_and_wait_line(
    cmd: Command,
    prefix: &'static str,
    what: &str,
) -> (Child, SocketAddr, String) {
    try_spawn_and_wait_line(cmd, prefix, what).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`spawn_and_wait_line`], returning an error when the child exits or stays silent.
fn try_spawn_and_wait_line(
    mut cmd: Command,
    prefix: &'static str,
    what: &str,
) -> Result<(Child, SocketAddr, String), String> {
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn {what}: {e}"))?;
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.to_string());
                break;
            }
        }
        // Keep draining so the child never blocks on a full pipe.
        for _ in lines {}
    });
    let rest = rx.recv_timeout(Duration::from_secs(30));
    let addr = rest.as_ref().ok().and_then(|rest| {
        rest.split_whitespace()
            .next()
            .and_then(|a| a.parse::<SocketAddr>().ok())
    });
    match (rest, addr) {
        (Ok(rest), Some(addr)) => Ok((child, addr, rest)),
        (rest, _) => {
            let _ = child.kill();
            let status = child.wait().ok();
            Err(format!(
                "{what} did not start ({status:?}); ready line: {rest:?}"
            ))
        }
    }
}

/// A running mock provider.
pub struct Mock {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Mock {
    /// Starts the mock with extra flags.
    pub fn start(args: &[&str]) -> Self {
        let mut cmd = Command::new(mock_bin());
        cmd.args(["--host", "127.0.0.1", "--port", "0"]).args(args);
        cmd.stderr(Stdio::null());
        let (child, addr) = spawn_and_wait(cmd, "ringway-mock listening on ", "mock");
        Self { child, addr }
    }

    /// Base URL for a provider's `network_config.base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every inference request the mock received, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let r = http::request(self.addr, "GET", "/_mock/requests", &[], b"");
        assert_eq!(r.status, 200);
        match r.json() {
            Value::Array(a) => a,
            other => panic!("requests: {other}"),
        }
    }

    /// Forgets recorded requests.
    pub fn clear(&self) {
        http::request(self.addr, "DELETE", "/_mock/requests", &[], b"");
    }

    /// Connection and request counters.
    pub fn stats(&self) -> Value {
        http::request(self.addr, "GET", "/_mock/stats", &[], b"").json()
    }

    /// Queues scripted responses for the next requests.
    pub fn script(&self, steps: Value) {
        let body = serde_json::to_vec(&steps).unwrap();
        let r = http::request(
            self.addr,
            "POST",
            "/_mock/script",
            &[("content-type", "application/json")],
            &body,
        );
        assert!(r.status < 300, "script rejected: {}", r.text());
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running gateway.
pub struct Gateway {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its app dir (config.json lives here).
    pub dir: PathBuf,
    /// The ready line after `ringway listening on ` (`ADDR (workers: N, io: DRIVER)`).
    pub banner: String,
    log: PathBuf,
}

/// Options for starting the gateway.
#[derive(Default)]
pub struct Start<'a> {
    /// Extra CLI flags.
    pub args: Vec<&'a str>,
    /// Extra environment.
    pub env: Vec<(&'a str, String)>,
    /// Worker count (default 2).
    pub workers: Option<usize>,
}

impl Gateway {
    /// Starts ringway with `config` written to a fresh app dir.
    pub fn start(config: &Value) -> Self {
        Self::start_with(config, Start::default())
    }

    /// Starts ringway with options.
    pub fn start_with(config: &Value, opts: Start<'_>) -> Self {
        let dir = temp_dir("gw");
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
        Self::start_in(dir, opts)
    }

    /// Starts ringway in an existing app dir.
    pub fn start_in(dir: PathBuf, opts: Start<'_>) -> Self {
        let workers = opts.workers.unwrap_or(2).to_string();
        let mut args: Vec<std::ffi::OsString> = vec!["--app-dir".into(), dir.clone().into()];
        for a in ["--host", "127.0.0.1", "--port", "0", "--workers", &workers] {
            args.push(a.into());
        }
        args.extend(opts.args.iter().map(Into::into));
        Self::start_with_args(dir, &args, &opts.env)
    }

    /// Starts ringway with exactly `args` (no defaults added); `dir` holds the log file and is
    /// removed on drop.
    pub fn start_with_args(
        dir: PathBuf,
        args: &[std::ffi::OsString],
        env: &[(&str, String)],
    ) -> Self {
        Self::try_start_with_args(dir, args, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Gateway::start_with_args`]; when the gateway does not start, the error carries
    /// what it logged.
    pub fn try_start_with_args(
        dir: PathBuf,
        args: &[std::ffi::OsString],
        env: &[(&str, String)],
    ) -> Result<Self, String> {
        let log = dir.join("ringway.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringway"));
        cmd.args(args).stderr(Stdio::from(log_file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        match try_spawn_and_wait_line(cmd, "ringway listening on ", "ringway") {
            Ok((child, addr, banner)) => Ok(Self {
                child: Some(child),
                addr,
                dir,
                banner,
                log,
            }),
            Err(e) => {
                let logged = std::fs::read_to_string(&log).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                Err(format!("{e}\n{logged}"))
            }
        }
    }

    /// Starts ringway (2 workers) on the app dir `app`, which outlives it: only the log dir is
    /// removed on drop, so a restart on the same `app` finds the store.
    pub fn start_app(app: &Path) -> Self {
        let args: Vec<std::ffi::OsString> = vec![
            "--app-dir".into(),
            app.into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            "--workers".into(),
            "2".into(),
        ];
        Self::start_with_args(temp_dir("app-log"), &args, &[])
    }

    /// A keep-alive client connection to the gateway.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.addr)
    }

    /// What the gateway logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs JSON on a fresh connection.
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.post_with(path, body, &[])
    }

    /// POSTs JSON with extra headers.
    pub fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        http::request(
            self.addr,
            "POST",
            path,
            &h,
            &serde_json::to_vec(body).unwrap(),
        )
    }

    /// GETs a path on a fresh connection.
    pub fn get(&self, path: &str) -> Resp {
        http::request(self.addr, "GET", path, &[], b"")
    }

    /// Sends SIGTERM and waits for the exit status (at most `wait`).
    pub fn terminate(&mut self, wait: Duration) -> Option<ExitStatus> {
        let pid = self.child.as_ref()?.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.wait_exit(wait)
    }

    /// Waits (at most `wait`) for the process to exit by itself; its status.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the process with SIGKILL (no drain, no clean store close) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Values of the header `name` (case-insensitive) in a request the mock recorded.
pub fn recorded_headers(record: &Value, name: &str) -> Vec<String> {
    record["headers"]
        .as_array()
        .expect("recorded headers")
        .iter()
        .filter(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .filter_map(|h| h[1].as_str().map(str::to_string))
        .collect()
}

/// The single `Authorization` value of a recorded request, if any.
pub fn recorded_auth(record: &Value) -> Option<String> {
    let mut all = recorded_headers(record, "authorization");
    assert!(all.len() <= 1, "several Authorization headers: {all:?}");
    all.pop()
}

/// The JSON body of a recorded request.
pub fn recorded_body(record: &Value) -> Value {
    serde_json::from_str(record["body"].as_str().expect("recorded body")).expect("JSON body")
}

/// Polls `f` every 20 ms until it returns true or `limit` passes; returns its last answer.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A config with one OpenAI-format provider pointed at the mock.
pub fn provider_config(name: &str, mock: &Mock, keys: Value, network: Value) -> Value {
    let mut network = network;
    if network.get("base_url").is_none() {
        network["base_url"] = json!(mock.url());
    }
    json!({ "providers": { name: { "keys": keys, "network_config": network } } })
}

/// One key allowing every model.
pub fn one_key(value: &str) -> Value {
    json!([{ "name": "k1", "value": value, "models": ["*"], "weight": 1.0 }])
}

/// A minimal chat body.
pub fn chat(model: &str, text: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": text }] })
}

/// Runs a command to completion, capturing output (for CLI tests).
pub fn run_ringway(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringway"));
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringway");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = std::process::Output {
        status: child.wait().expect("wait"),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out.stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut out.stderr);
    }
    out
}

/// One JSON request (a management API call) on a fresh connection.
pub fn api(gw: &Gateway, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let b = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    http::request(
        gw.addr,
        method,
        path,
        &[("content-type", "application/json")],
        &b,
    )
}
