//! Cost of the plugin hook chain per request with 0, 1 and 5 `noop` dylib plugins.
//!
//! `noop` implements every hook and changes nothing, so the figures are the host's own cost:
//! building the views, the indirect call into the library, the SDK's `catch_unwind` wrapper and
//! checking the result. Per plugin per hook = (request/5 - request/0) / 5 / 4 (four hooks:
//! http_pre, pre_llm, post_llm, http_post). Target: under 100 ns.
//!
//! Prerequisite (done here automatically when cargo is available):
//! `cargo build --release -p ringway-plugins-abi --example noop`; or point
//! `RINGWAY_NOOP_PLUGIN` at an existing `libnoop.so`.
//! Run: `cargo bench --bench plugin_chain`.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use ringway::error::ErrorContext;
use ringway::plugins::{
    HookChain, HttpRequestView, LlmRequestView, LoadedPlugin, Placement, PluginSet, SetEntry,
};
use ringway::server::reply::Reply;

/// Builds (if needed) and locates `libnoop.so`.
fn noop_library() -> PathBuf {
    if let Some(path) = std::env::var_os("RINGWAY_NOOP_PLUGIN") {
        return PathBuf::from(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--release",
            "-p",
            "ringway-plugins-abi",
            "--example",
            "noop",
            "--message-format=json",
        ])
        .output()
        .expect("run cargo to build the noop example plugin");
    assert!(
        out.status.success(),
        "cargo build --release -p ringway-plugins-abi --example noop failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "noop")
        .find_map(|m| {
            m["filenames"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".so"))
                .map(PathBuf::from)
        })
        .expect("cargo reported libnoop.so")
}

/// A chain of `n` independently loaded copies of `noop` on core 0.
fn chain(lib: &str, n: usize) -> Rc<HookChain> {
    let entries = (0..n)
        .map(|i| {
            let plugin = LoadedPlugin::load(lib, &serde_json::Value::Null).expect("noop loads");
            SetEntry::new(format!("noop{i}"), plugin, Placement::PostBuiltin, 0)
        })
        .collect();
    let set = Arc::new(PluginSet::new(entries));
    let (chain, errors) = HookChain::build(&set, 0, None);
    assert!(errors.is_empty(), "{errors:?}");
    Rc::new(chain)
}

const HEADERS: &[(&str, &str)] = &[
    ("host", "gateway.local:8080"),
    ("user-agent", "OpenAI/Python 1.54.0"),
    ("accept", "application/json"),
    ("content-type", "application/json"),
    ("content-length", "1024"),
    ("authorization", "Bearer sk-test"),
    ("x-stainless-lang", "python"),
    ("x-stainless-os", "Linux"),
    ("x-request-id", "6a1c2d8e-1f0b-4c8e-9d7a-3b2f1e0c9a8b"),
    ("connection", "keep-alive"),
];

fn hook_chain(c: &mut Criterion) {
    let lib = noop_library();
    let lib = lib.to_string_lossy();
    let body = Bytes::from(format!(
        r#"{{"model":"openai/gpt-4o-mini","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(960)
    ));
    let ctx = ErrorContext {
        provider: Some("openai".into()),
        model_requested: Some("gpt-4o-mini".into()),
        request_type: Some("chat_completion"),
    };
    let http = HttpRequestView {
        method: "POST",
        path: "/v1/chat/completions",
        query: "",
        headers: HEADERS,
        body: &body[..],
    };
    let llm = LlmRequestView {
        request_type: "chat_completion",
        provider: "openai",
        model: "gpt-4o-mini",
        stream: false,
        headers: HEADERS,
        body: &body,
    };
    for n in [0usize, 1, 5] {
        let chain = chain(&lib, n);
        // One reply reused: noop never changes it, so no allocation is measured but ours.
        let mut reply = Reply::json(200, Bytes::from_static(br#"{"id":"x","choices":[]}"#));
        reply.headers.push(("x-request-id".into(), "abc".into()));
        c.bench_function(&format!("plugin_chain/request/{n}_plugins"), |b| {
            b.iter(|| {
                let mut run = chain.start();
                let pre = run.http_pre(black_box(&http)).is_ok();
                let llm_ok = run.pre_llm(black_box(&llm)).is_ok();
                run.post_llm(&ctx, &mut reply);
                run.http_post(&http, &mut reply);
                black_box((pre, llm_ok, reply.status))
            })
        });
        c.bench_function(&format!("plugin_chain/pre_llm/{n}_plugins"), |b| {
            let mut run = chain.start();
            b.iter(|| black_box(run.pre_llm(black_box(&llm)).is_ok()))
        });
    }
}

criterion_group!(benches, hook_chain);
criterion_main!(benches);
