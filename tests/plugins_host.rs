//! The plugin host with real libraries: the `stamp` example (Rust, built with cargo), the C
//! `hello` plugin (built with `cc`), an ABI-mismatched library, bad paths, reloads, and one
//! instance per worker thread.
//!
//! Needs `cargo` (the one running the tests) and a C compiler (`cc`, or `$CC`).

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

mod common;

use bytes::Bytes;
use common::plugins::{build_c, c_example, noop_path, scratch_dir, stamp_path};
use ringway::error::ErrorContext;
use ringway::plugins::{
    ChunkOutcome, Hook, HookChain, HttpPreOutcome, HttpRequestView, LlmRequestView, LoadedPlugin,
    Placement, PluginError, PluginSet, PluginSpec, PreLlmOutcome, SetEntry,
};
use ringway::server::reply::{Reply, ReplyBody};
use serde_json::{Value, json};

fn chain_of(plugin: Arc<LoadedPlugin>, core: u32) -> Rc<HookChain> {
    let set = Arc::new(PluginSet::new(vec![SetEntry::new(
        "p",
        plugin,
        Placement::PostBuiltin,
        0,
    )]));
    let (chain, errors) = HookChain::build(&set, core, None);
    assert!(errors.is_empty(), "{errors:?}");
    Rc::new(chain)
}

const HEADERS: &[(&str, &str)] = &[("host", "gateway"), ("content-type", "application/json")];

fn chat(last_user: &str, stream: bool) -> Bytes {
    Bytes::from(
        json!({
            "model": "openai/gpt-4o",
            "stream": stream,
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": last_user},
            ],
        })
        .to_string(),
    )
}

fn ctx(model: &str) -> ErrorContext {
    ErrorContext {
        provider: Some("openai".into()),
        model_requested: Some(model.into()),
        request_type: Some("chat_completion"),
    }
}

/// What one request through the chain produced.
struct Served {
    reply: Reply,
    provider_called: bool,
    stream_events: Vec<Bytes>,
    error: Option<PluginError>,
}

/// Serves a chat request through every hook; the "provider" answers 200 `{"upstream":true}`.
fn serve(chain: &Rc<HookChain>, method: &str, path: &str, model: &str, body: &Bytes) -> Served {
    let mut run = chain.start();
    let req = HttpRequestView {
        method,
        path,
        query: "",
        headers: HEADERS,
        body: &body[..],
    };
    let mut served = Served {
        reply: Reply::json(200, &b"{}"[..]),
        provider_called: false,
        stream_events: Vec::new(),
        error: None,
    };
    let ctx = ctx(model);
    served.reply = match run.http_pre(&req) {
        Ok(HttpPreOutcome::Respond(r)) => r,
        Ok(HttpPreOutcome::Reject(r)) => r.reply(&ErrorContext::default()),
        Err(e) => e.reply(&ErrorContext::default()),
        Ok(HttpPreOutcome::Continue(_)) => {
            let llm = LlmRequestView {
                request_type: "chat_completion",
                provider: "openai",
                model,
                stream: false,
                headers: HEADERS,
                body,
            };
            let mut reply = match run.pre_llm(&llm) {
                Ok(PreLlmOutcome::Continue { .. }) => {
                    served.provider_called = true;
                    Reply::json(200, &br#"{"upstream":true}"#[..])
                }
                Ok(PreLlmOutcome::Respond(r)) => r,
                Ok(PreLlmOutcome::Reject(r)) => r.reply(&ctx),
                Ok(PreLlmOutcome::Stream(s)) => {
                    for e in &s.events {
                        match run.stream_chunk(e) {
                            ChunkOutcome::Send => served.stream_events.push(e.clone()),
                            ChunkOutcome::Replace(b) | ChunkOutcome::End(b) => {
                                served.stream_events.push(b)
                            }
                            ChunkOutcome::Skip => {}
                        }
                    }
                    let mut r = Reply::json(s.status, Bytes::new());
                    r.headers = s.headers;
                    r
                }
                Err(e) => {
                    let r = e.reply(&ctx);
                    served.error = Some(e);
                    r
                }
            };
            run.post_llm(&ctx, &mut reply);
            reply
        }
    };
    run.http_post(&req, &mut served.reply);
    served
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

fn json_body(reply: &Reply) -> Value {
    match &reply.body {
        ReplyBody::Full(b) => serde_json::from_slice(b).expect("json body"),
        ReplyBody::Stream(_) => panic!("unexpected stream"),
    }
}

fn stamp_config() -> Value {
    json!({
        "header": "x-stamp",
        "value": "v1",
        "block_word": "BLOCK",
        "block_reply": "nope",
        "panic_on": "PANIC",
    })
}

#[test]
fn stamp_adds_its_header_and_short_circuits() {
    let plugin = LoadedPlugin::load(&stamp_path(), &stamp_config()).expect("stamp loads");
    assert_eq!(plugin.name(), "stamp");
    assert_eq!(plugin.abi_version(), (1, 0));
    assert_eq!(plugin.source_path(), Some(Path::new(&stamp_path())));
    let chain = chain_of(plugin, 0);

    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("hello", false),
    );
    assert!(s.provider_called);
    assert_eq!(s.reply.status, 200);
    assert_eq!(header(&s.reply, "x-stamp"), Some("v1"));
    assert_eq!(json_body(&s.reply)["upstream"], true);

    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("BLOCK", false),
    );
    assert!(
        !s.provider_called,
        "short-circuit: the provider is not called"
    );
    assert_eq!(s.reply.status, 200);
    assert_eq!(header(&s.reply, "x-stamp"), Some("v1"));
    let v = json_body(&s.reply);
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o");
    assert_eq!(v["choices"][0]["message"]["content"], "nope");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    // "BLOCK" not as the last user message: served normally.
    let mut body: Value = serde_json::from_slice(&chat("BLOCK", false)).expect("json");
    body["messages"]
        .as_array_mut()
        .expect("messages")
        .push(json!({"role": "user", "content": "and more"}));
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &Bytes::from(body.to_string()),
    );
    assert!(s.provider_called);
}

#[test]
fn stamp_short_circuits_a_stream_with_chunks() {
    let plugin = LoadedPlugin::load(&stamp_path(), &stamp_config()).expect("stamp loads");
    let chain = chain_of(plugin, 0);
    let mut run = chain.start();
    let body = chat("BLOCK", true);
    let llm = LlmRequestView {
        request_type: "chat_completion_stream",
        provider: "openai",
        model: "gpt-4o",
        stream: true,
        headers: HEADERS,
        body: &body,
    };
    let Ok(PreLlmOutcome::Stream(stream)) = run.pre_llm(&llm) else {
        panic!("expected a stream short-circuit");
    };
    assert_eq!(stream.status, 200);
    assert_eq!(stream.events.len(), 3);
    let first = std::str::from_utf8(&stream.events[0]).expect("utf8");
    let data: Value = serde_json::from_str(
        first
            .strip_prefix("data: ")
            .and_then(|d| d.strip_suffix("\n\n"))
            .expect("one data line"),
    )
    .expect("chunk json");
    assert_eq!(data["object"], "chat.completion.chunk");
    assert_eq!(data["choices"][0]["delta"]["content"], "nope");
    assert_eq!(&stream.events[2][..], b"data: [DONE]\n\n");
}

#[test]
fn stamp_panic_is_contained_and_disables_the_instance() {
    let plugin = LoadedPlugin::load(&stamp_path(), &stamp_config()).expect("stamp loads");
    let chain = chain_of(Arc::clone(&plugin), 0);
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("PANIC", false),
    );
    assert!(!s.provider_called);
    assert_eq!(s.reply.status, 500);
    let v = json_body(&s.reply);
    assert_eq!(v["is_bifrost_error"], true);
    assert_eq!(v["status_code"], 500);
    assert_eq!(v["error"]["type"], "plugin_error");
    let msg = v["error"]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("plugin 'stamp' failed in pre_llm: panicked: stamp: the last user message"),
        "{msg}"
    );
    assert!(matches!(
        s.error,
        Some(PluginError::HookFailed {
            hook: Hook::PreLlm,
            ..
        })
    ));
    assert!(chain.instances()[0].is_disabled());
    assert_eq!(plugin.failures(), 1);
    assert_eq!(plugin.disabled_instances(), 1);

    // The process and the core keep serving; the disabled instance is skipped.
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("PANIC", false),
    );
    assert!(s.provider_called);
    assert_eq!(s.reply.status, 200);
    assert_eq!(header(&s.reply, "x-stamp"), None);
    assert_eq!(plugin.failures(), 1);

    // Another core's instance is unaffected.
    let other = HookChain::build(chain.set(), 1, None).0;
    let other = Rc::new(other);
    let s = serve(
        &other,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("hi", false),
    );
    assert_eq!(header(&s.reply, "x-stamp"), Some("v1"));
}

#[test]
fn stamp_config_is_applied_and_validated() {
    let a = LoadedPlugin::load(&stamp_path(), &json!({"header": "x-a", "value": "one"}))
        .expect("loads");
    let b = LoadedPlugin::load(&stamp_path(), &json!({"header": "x-b", "value": "two"}))
        .expect("loads");
    let sa = serve(&chain_of(a, 0), "GET", "/health", "m", &Bytes::new());
    let sb = serve(&chain_of(b, 0), "GET", "/health", "m", &Bytes::new());
    assert_eq!(header(&sa.reply, "x-a"), Some("one"));
    assert_eq!(header(&sa.reply, "x-b"), None);
    assert_eq!(header(&sb.reply, "x-b"), Some("two"));

    // No config at all: the defaults.
    let defaults = LoadedPlugin::load(&stamp_path(), &Value::Null).expect("defaults");
    let s = serve(&chain_of(defaults, 0), "GET", "/health", "m", &Bytes::new());
    assert_eq!(header(&s.reply, "x-stamp"), Some("ringway"));
    let err = LoadedPlugin::load(&stamp_path(), &json!({"header": "bad header"}))
        .expect_err("invalid header name");
    assert_eq!(
        err.to_string(),
        "plugin 'stamp' refused its config: config.header 'bad header' is not a header name"
    );
    let err = LoadedPlugin::load(&stamp_path(), &json!({"value": 5})).expect_err("not a string");
    assert!(
        err.to_string().ends_with("config.value must be a string"),
        "{err}"
    );
}

#[test]
fn one_instance_per_worker_thread() {
    let set = Arc::new(
        PluginSet::load(&[PluginSpec {
            name: "stamp".into(),
            enabled: true,
            path: Some(stamp_path()),
            config: stamp_config(),
            placement: None,
            order: None,
        }])
        .expect("set loads"),
    );
    assert_eq!(set.len(), 1);
    let workers: Vec<_> = (0..4u32)
        .map(|core| {
            let set = Arc::clone(&set);
            std::thread::spawn(move || {
                // Built on the worker's own thread, as a worker does.
                let (chain, errors) = HookChain::build(&set, core, None);
                assert!(errors.is_empty());
                let chain = Rc::new(chain);
                (0..50)
                    .map(|_| {
                        serve(
                            &chain,
                            "POST",
                            "/v1/chat/completions",
                            "m",
                            &chat("x", false),
                        )
                    })
                    .filter(|s| header(&s.reply, "x-stamp") == Some("v1"))
                    .count()
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().expect("worker"), 50);
    }
}

#[test]
fn reload_of_the_same_path_gets_a_fresh_library() {
    let (stamp, noop) = (stamp_path(), noop_path());
    let path = scratch_dir().join("libreload.so");
    let path_s = path.to_string_lossy().into_owned();
    std::fs::copy(noop, &path).expect("copy noop");
    let first = LoadedPlugin::load(&path_s, &Value::Null).expect("first load");
    assert_eq!(first.name(), "noop");
    let first_chain = chain_of(Arc::clone(&first), 0);
    let in_flight = first_chain.start();

    // The file is rebuilt in place (a new inode, as a compiler's output is), then reloaded
    // while the first library is still in use.
    std::fs::remove_file(&path).expect("remove");
    std::fs::copy(stamp, &path).expect("copy stamp");
    let second = LoadedPlugin::load(&path_s, &stamp_config()).expect("second load");
    assert_eq!(
        second.name(),
        "stamp",
        "a fresh library, not the cached first one"
    );
    let second_chain = chain_of(second, 0);

    // Loading the same path again while both are loaded: a third, independent library.
    let third = LoadedPlugin::load(&path_s, &json!({"header": "x-third"})).expect("third load");
    assert_eq!(third.name(), "stamp");

    let s = serve(
        &first_chain,
        "POST",
        "/v1/chat/completions",
        "m",
        &chat("BLOCK", false),
    );
    assert!(s.provider_called, "noop does nothing");
    let s = serve(
        &second_chain,
        "POST",
        "/v1/chat/completions",
        "m",
        &chat("BLOCK", false),
    );
    assert!(!s.provider_called, "stamp short-circuits");
    let s = serve(&chain_of(third, 1), "GET", "/", "m", &Bytes::new());
    assert_eq!(header(&s.reply, "x-third"), Some("ringway"));

    // Dropping every handle of the first library (the request last) unloads it; the others
    // keep working.
    drop(first);
    drop(first_chain);
    drop(in_flight);
    let s = serve(&second_chain, "GET", "/", "m", &Bytes::new());
    assert_eq!(header(&s.reply, "x-stamp"), Some("v1"));

    // No staged copies of this test's file are left behind (other tests stage concurrently).
    let prefix = format!("ringway-plugin-{}-", std::process::id());
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix) && n.ends_with("-libreload.so"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn c_plugin_works() {
    let path = build_c("hello", &c_example("hello.c"), &[]);
    let plugin = LoadedPlugin::load(&path, &json!({"a": 1})).expect("C plugin loads");
    assert_eq!(plugin.name(), "hello");
    assert_eq!(plugin.version(), "1.0.0");
    let chain = chain_of(plugin, 0);

    // Transport pre-hook answers by itself.
    let s = serve(&chain, "GET", "/hello/ping", "m", &Bytes::new());
    assert!(!s.provider_called);
    assert_eq!(s.reply.status, 200);
    assert_eq!(json_body(&s.reply)["pong"], true);
    assert_eq!(header(&s.reply, "x-hello"), Some("c"));

    // The per-request slot set in pre_llm is read in post_llm; config reached config_new.
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("hi", false),
    );
    assert!(s.provider_called);
    assert_eq!(header(&s.reply, "x-hello-slot"), Some("42"));
    assert_eq!(header(&s.reply, "x-hello-config-bytes"), Some("7")); // {"a":1}

    // A deliberate refusal keeps the plugin's status and error fields.
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "blocked",
        &chat("hi", false),
    );
    assert!(!s.provider_called);
    assert_eq!(s.reply.status, 403);
    let v = json_body(&s.reply);
    assert_eq!(v["error"]["code"], "hello_blocked");
    assert_eq!(v["error"]["type"], "blocked");
    assert_eq!(v["extra_fields"]["model_requested"], "blocked");
    assert!(
        !chain.instances()[0].is_disabled(),
        "a refusal is not a failure"
    );
}

#[test]
fn c_plugin_with_an_older_descriptor_loads_without_its_newer_functions() {
    let path = build_c(
        "hello_old",
        &c_example("hello.c"),
        &["-DHELLO_OLD_DESCRIPTOR"],
    );
    let plugin = LoadedPlugin::load(&path, &Value::Null).expect("older descriptor loads");
    let chain = chain_of(plugin, 0);
    let s = serve(
        &chain,
        "POST",
        "/v1/chat/completions",
        "gpt-4o",
        &chat("hi", false),
    );
    assert_eq!(
        header(&s.reply, "x-hello-slot"),
        Some("42"),
        "post_llm is within the size"
    );
    assert_eq!(
        header(&s.reply, "x-hello"),
        None,
        "http_post is past the size: not called"
    );
}

#[test]
fn abi_mismatch_is_refused_with_a_clear_message() {
    let path = build_c("mismatch", &c_example("abi_mismatch.c"), &[]);
    // The library's config_new aborts the process if called: refusal must come first.
    let err = LoadedPlugin::load(&path, &Value::Null).expect_err("refused");
    assert!(matches!(
        err,
        PluginError::AbiMismatch {
            major: 2,
            minor: 0,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "plugin '{path}' was built for plugin ABI 2.0, but this ringway speaks ABI 1.0: \
             rebuild it against ringway-plugins-abi 1.x"
        )
    );
    assert_eq!(err.status(), 500);
}

#[test]
fn bad_paths_are_refused_with_clear_messages() {
    let err = LoadedPlugin::load("libstamp.so", &Value::Null).expect_err("no slash");
    assert!(matches!(err, PluginError::PathWithoutSlash(_)));
    assert!(err.to_string().contains("must contain a '/'"));

    let missing = scratch_dir().join("missing.so");
    let err = LoadedPlugin::load(&missing.to_string_lossy(), &Value::Null).expect_err("missing");
    assert!(
        err.to_string().contains("No such file or directory"),
        "{err}"
    );

    // A real shared library that is not a plugin.
    let src = scratch_dir().join("not_a_plugin.c");
    std::fs::write(&src, "int answer(void) { return 42; }\n").expect("write");
    let lib = build_c("not_a_plugin", &src, &[]);
    let err = LoadedPlugin::load(&lib, &Value::Null).expect_err("no entry");
    assert_eq!(
        err.to_string(),
        format!("'{lib}' is not a ringway plugin: it does not export `ringway_plugin_entry`")
    );

    // A set with one bad entry fails as a whole, naming the file.
    let err = PluginSet::load(&[PluginSpec {
        name: "x".into(),
        enabled: true,
        path: Some(missing.to_string_lossy().into_owned()),
        config: Value::Null,
        placement: None,
        order: None,
    }])
    .expect_err("set fails");
    assert!(err.to_string().contains("missing.so"));
}
