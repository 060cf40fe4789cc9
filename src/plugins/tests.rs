//! Hook-chain behaviour, with plugins compiled into the test through the same C ABI
//! (`LoadedPlugin::from_static`): ordering, short-circuits, edits, slots, failures, placement.
//! Loading real libraries (Rust and C) is covered by `tests/plugins_host.rs`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use ringway_plugins_abi::abi::{RW_ABI_MAJOR, RwPluginDescriptor, RwStr};
use ringway_plugins_abi::sdk::export::descriptor;
use ringway_plugins_abi::sdk::{
    Action, Config, Cx, Fault, HookSet, Host, HttpRequest, HttpResponse, Instance, LlmRequest,
    LlmResponse, Plugin, StreamChunk,
};
use serde_json::{Value, json};

use super::*;
use crate::error::ErrorContext;
use crate::server::reply::{Reply, ReplyBody};

thread_local! {
    /// What the recorder plugins did, in order (hooks run on the test's thread).
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(entry: String) {
    LOG.with(|l| l.borrow_mut().push(entry));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Config states freed so far (all threads).
static CONFIGS_FREED: AtomicUsize = AtomicUsize::new(0);

/// A plugin whose every hook does what its config says, logging `<tag>.<hook>`.
struct Recorder {
    tag: String,
    cfg: Value,
}

struct RecorderCore {
    tag: String,
    cfg: Value,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        CONFIGS_FREED.fetch_add(1, Ordering::SeqCst);
    }
}

impl Plugin for Recorder {
    const NAME: &'static str = "recorder";
    const VERSION: &'static str = "1.2.3";
    type Instance = RecorderCore;

    fn new(config: Config<'_>, _host: &Host<'_>) -> Result<Self, Fault> {
        let cfg: Value = serde_json::from_slice(config.json())?;
        if cfg.get("refuse").is_some() {
            return Err(Fault::new("refused as asked"));
        }
        let tag = cfg["tag"].as_str().unwrap_or("?").to_string();
        Ok(Recorder { tag, cfg })
    }

    fn instance(&self, core: u32) -> Result<RecorderCore, Fault> {
        if self.cfg.get("no_instance_on").and_then(Value::as_u64) == Some(u64::from(core)) {
            return Err(Fault::new("no instance on this core"));
        }
        Ok(RecorderCore {
            tag: self.tag.clone(),
            cfg: self.cfg.clone(),
        })
    }
}

impl RecorderCore {
    fn act(&self, hook: &str) -> &str {
        self.cfg
            .get(hook)
            .and_then(Value::as_str)
            .unwrap_or("continue")
    }

    /// The common behaviours; `None` for hook-specific ones.
    fn common(&self, cx: &mut Cx<'_>, hook: &str) -> Option<Result<Action, Fault>> {
        log(format!("{}.{hook}", self.tag));
        match self.act(hook) {
            "continue" => Some(Ok(Action::Continue)),
            "reject" => Some(Ok(cx.reject(
                403,
                "blocked",
                "no_entry",
                &format!("{} says no", self.tag),
            ))),
            "fail" => Some(Err(Fault::new(format!("{} failed on purpose", self.tag)))),
            "panic" => panic!("{} panics on purpose", self.tag),
            "skip" => Some(Ok(Action::Skip)),
            _ => None,
        }
    }
}

impl Instance for RecorderCore {
    fn http_pre(&mut self, cx: &mut Cx<'_>, req: &HttpRequest<'_>) -> Result<Action, Fault> {
        if let Some(h) = req.header("x-added") {
            log(format!("{}.saw x-added={h}", self.tag));
        }
        if let Some(r) = self.common(cx, "http_pre") {
            return r;
        }
        match self.act("http_pre") {
            "respond" => {
                cx.set_status(202);
                cx.set_header("x-answered-by", &self.tag);
                cx.set_body(b"{\"answered\":true}");
                Ok(Action::Respond)
            }
            "edit" => {
                cx.set_header("x-added", &self.tag);
                cx.remove_header("x-remove-me");
                cx.set_body(b"new body");
                Ok(Action::Continue)
            }
            other => Err(Fault::new(format!("unknown http_pre action {other}"))),
        }
    }

    fn pre_llm(&mut self, cx: &mut Cx<'_>, req: &LlmRequest<'_>) -> Result<Action, Fault> {
        log(format!(
            "{}.body={}",
            self.tag,
            String::from_utf8_lossy(req.body())
        ));
        cx.set_slot(u64::from(self.tag.as_bytes()[0]));
        if let Some(r) = self.common(cx, "pre_llm") {
            return r;
        }
        match self.act("pre_llm") {
            "respond" => {
                cx.set_body(b"{\"cached\":true}");
                Ok(Action::Respond)
            }
            "stream" => {
                cx.push_sse_data(b"{\"n\":1}");
                cx.push_sse_data(b"[DONE]");
                Ok(Action::Stream)
            }
            "edit" => {
                cx.set_body(format!("{{\"from\":\"{}\"}}", self.tag).as_bytes());
                Ok(Action::Continue)
            }
            other => Err(Fault::new(format!("unknown pre_llm action {other}"))),
        }
    }

    fn post_llm(&mut self, cx: &mut Cx<'_>, res: &LlmResponse<'_>) -> Result<Action, Fault> {
        log(format!(
            "{}.slot={} status={} error={} model={}",
            self.tag,
            cx.slot(),
            res.status(),
            res.is_error(),
            res.model()
        ));
        if let Some(r) = self.common(cx, "post_llm") {
            return r;
        }
        match self.act("post_llm") {
            "recover" => {
                cx.set_body(b"{\"recovered\":true}");
                Ok(Action::Respond)
            }
            "edit" => {
                cx.set_header("x-post-llm", &self.tag);
                Ok(Action::Continue)
            }
            other => Err(Fault::new(format!("unknown post_llm action {other}"))),
        }
    }

    fn http_post(
        &mut self,
        cx: &mut Cx<'_>,
        req: &HttpRequest<'_>,
        res: &HttpResponse<'_>,
    ) -> Result<Action, Fault> {
        log(format!(
            "{}.sees {} {} status={} x-a={}",
            self.tag,
            req.method(),
            req.path(),
            res.status(),
            res.header("x-a").unwrap_or("-")
        ));
        if let Some(r) = self.common(cx, "http_post") {
            return r;
        }
        match self.act("http_post") {
            "edit" => {
                let ok = cx.set_header("x-a", &self.tag);
                let framing = cx.set_header("content-length", "1");
                let injected = cx.set_header("x-evil", "a\r\nb: c");
                log(format!(
                    "{}.set={ok} framing={framing} injected={injected}",
                    self.tag
                ));
                Ok(Action::Continue)
            }
            other => Err(Fault::new(format!("unknown http_post action {other}"))),
        }
    }

    fn stream_chunk(&mut self, cx: &mut Cx<'_>, chunk: &StreamChunk<'_>) -> Result<Action, Fault> {
        log(format!(
            "{}.chunk={}",
            self.tag,
            String::from_utf8_lossy(chunk.data().unwrap_or(b"?"))
        ));
        if let Some(r) = self.common(cx, "stream_chunk") {
            return r;
        }
        match self.act("stream_chunk") {
            "upper" => {
                let upper = chunk.event().to_ascii_uppercase();
                cx.set_body(&upper);
                Ok(Action::Continue)
            }
            other => Err(Fault::new(format!("unknown stream_chunk action {other}"))),
        }
    }
}

static RECORDER: RwPluginDescriptor = descriptor::<Recorder>();

/// A plugin implementing only the HTTP post-hook.
struct PostOnly;
struct PostOnlyCore;

impl Plugin for PostOnly {
    const NAME: &'static str = "post-only";
    const VERSION: &'static str = "0";
    const HOOKS: HookSet = HookSet::HTTP_POST;
    type Instance = PostOnlyCore;

    fn new(_: Config<'_>, _: &Host<'_>) -> Result<Self, Fault> {
        Ok(PostOnly)
    }

    fn instance(&self, _: u32) -> Result<PostOnlyCore, Fault> {
        Ok(PostOnlyCore)
    }
}

impl Instance for PostOnlyCore {
    fn http_post(
        &mut self,
        cx: &mut Cx<'_>,
        _: &HttpRequest<'_>,
        _: &HttpResponse<'_>,
    ) -> Result<Action, Fault> {
        log("post-only.http_post".into());
        cx.set_header("x-post-only", "1");
        Ok(Action::Continue)
    }
}

static POST_ONLY: RwPluginDescriptor = descriptor::<PostOnly>();

fn recorder(cfg: Value) -> Arc<LoadedPlugin> {
    LoadedPlugin::from_static(&RECORDER, &cfg).expect("recorder loads")
}

/// A chain on core 0 of recorders configured by `cfgs`, in that order.
fn chain_of(cfgs: &[Value]) -> Rc<HookChain> {
    let entries = cfgs
        .iter()
        .map(|c| {
            let tag = c["tag"].as_str().expect("tag").to_string();
            SetEntry::new(tag, recorder(c.clone()), Placement::PostBuiltin, 0)
        })
        .collect();
    let set = Arc::new(PluginSet::new(entries));
    let (chain, errors) = HookChain::build(&set, 0, None);
    assert!(errors.is_empty(), "{errors:?}");
    Rc::new(chain)
}

const HEADERS: &[(&str, &str)] = &[("host", "gw"), ("x-remove-me", "1")];

fn http_req<'a>(body: &'a [u8]) -> HttpRequestView<'a, [(&'a str, &'a str)]> {
    HttpRequestView {
        method: "POST",
        path: "/v1/chat/completions",
        query: "",
        headers: HEADERS,
        body,
    }
}

fn llm_req(body: &Bytes) -> LlmRequestView<'_, [(&'static str, &'static str)]> {
    LlmRequestView {
        request_type: "chat_completion",
        provider: "openai",
        model: "gpt-4o",
        stream: false,
        headers: HEADERS,
        body,
    }
}

fn ctx() -> ErrorContext {
    ErrorContext {
        provider: Some("openai".into()),
        model_requested: Some("gpt-4o".into()),
        request_type: Some("chat_completion"),
    }
}

fn body_of(reply: &Reply) -> Value {
    match &reply.body {
        ReplyBody::Full(b) => serde_json::from_slice(b).expect("json body"),
        ReplyBody::Stream(_) => panic!("stream body"),
    }
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

/// Runs a whole request; the provider answers 200 `{"ok":true}` unless short-circuited.
fn full_request(chain: &Rc<HookChain>) -> (Reply, bool) {
    let mut run = chain.start();
    let req = http_req(b"{}");
    let mut provider_called = false;
    let mut reply = match run.http_pre(&req).expect("http_pre") {
        HttpPreOutcome::Respond(r) => r,
        HttpPreOutcome::Reject(r) => r.reply(&ErrorContext::default()),
        HttpPreOutcome::Continue(_) => {
            let body = Bytes::from_static(b"{\"messages\":[]}");
            let mut reply = match run.pre_llm(&llm_req(&body)) {
                Ok(PreLlmOutcome::Continue { .. }) => {
                    provider_called = true;
                    Reply::json(200, &br#"{"ok":true}"#[..])
                }
                Ok(PreLlmOutcome::Respond(r)) => r,
                Ok(PreLlmOutcome::Reject(r)) => r.reply(&ctx()),
                Ok(PreLlmOutcome::Stream(_)) => Reply::json(200, &b"{}"[..]),
                Err(e) => e.reply(&ctx()),
            };
            run.post_llm(&ctx(), &mut reply);
            reply
        }
    };
    run.http_post(&req, &mut reply);
    (reply, provider_called)
}

#[test]
fn pre_hooks_in_order_post_hooks_in_reverse() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b"}),
        json!({"tag": "c"}),
    ]);
    let (reply, called) = full_request(&chain);
    assert!(called);
    assert_eq!(reply.status, 200);
    let hooks: Vec<String> = take_log()
        .into_iter()
        .filter(|l| !l.contains('='))
        .collect();
    assert_eq!(
        hooks,
        [
            "a.http_pre",
            "b.http_pre",
            "c.http_pre",
            "a.pre_llm",
            "b.pre_llm",
            "c.pre_llm",
            "c.post_llm",
            "b.post_llm",
            "a.post_llm",
            "c.http_post",
            "b.http_post",
            "a.http_post",
        ]
    );
}

#[test]
fn pre_llm_short_circuit_skips_provider_and_later_plugins() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b", "pre_llm": "respond"}),
        json!({"tag": "c"}),
    ]);
    let (reply, called) = full_request(&chain);
    assert!(!called, "the provider is not called");
    assert_eq!(reply.status, 200);
    assert_eq!(body_of(&reply)["cached"], true);
    assert_eq!(header(&reply, "content-type"), Some("application/json"));
    let log = take_log();
    assert!(!log.iter().any(|l| l.starts_with("c.pre_llm")), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("c.slot")), "{log:?}");
    let posts: Vec<&String> = log.iter().filter(|l| l.contains(".slot=")).collect();
    // b short-circuited: its post-hook runs (first, reverse order), then a's; slots survive.
    assert_eq!(
        posts,
        [
            "b.slot=98 status=200 error=false model=gpt-4o",
            "a.slot=97 status=200 error=false model=gpt-4o",
        ]
    );
    // HTTP post-hooks run for all three: every http_pre ran.
    assert_eq!(log.iter().filter(|l| l.contains(".sees ")).count(), 3);
}

#[test]
fn http_pre_respond_runs_only_reached_post_hooks() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b", "http_pre": "respond"}),
        json!({"tag": "c"}),
    ]);
    let (reply, called) = full_request(&chain);
    assert!(!called);
    assert_eq!(reply.status, 202);
    assert_eq!(header(&reply, "x-answered-by"), Some("b"));
    assert_eq!(body_of(&reply)["answered"], true);
    let sees: Vec<String> = take_log()
        .into_iter()
        .filter(|l| l.contains(".sees "))
        .collect();
    assert_eq!(
        sees,
        [
            "b.sees POST /v1/chat/completions status=202 x-a=-",
            "a.sees POST /v1/chat/completions status=202 x-a=-",
        ]
    );
}

#[test]
fn rejection_keeps_status_and_renders_bifrost_error() {
    let chain = chain_of(&[json!({"tag": "a", "pre_llm": "reject"})]);
    let mut run = chain.start();
    run.http_pre(&http_req(b"")).expect("http_pre");
    let body = Bytes::from_static(b"{}");
    let Ok(PreLlmOutcome::Reject(reject)) = run.pre_llm(&llm_req(&body)) else {
        panic!("expected a rejection");
    };
    assert_eq!(reject.plugin, "recorder");
    let reply = reject.reply(&ctx());
    assert_eq!(reply.status, 403);
    let v = body_of(&reply);
    assert_eq!(v["status_code"], 403);
    assert_eq!(v["is_bifrost_error"], false);
    assert_eq!(v["error"]["type"], "blocked");
    assert_eq!(v["error"]["code"], "no_entry");
    assert_eq!(v["error"]["message"], "a says no");
    assert_eq!(v["extra_fields"]["provider"], "openai");
}

#[test]
fn stream_short_circuit_returns_events() {
    let chain = chain_of(&[json!({"tag": "a", "pre_llm": "stream"})]);
    let mut run = chain.start();
    let body = Bytes::from_static(b"{}");
    let Ok(PreLlmOutcome::Stream(stream)) = run.pre_llm(&llm_req(&body)) else {
        panic!("expected a stream");
    };
    assert_eq!(stream.status, 200);
    assert_eq!(
        stream.events,
        [
            Bytes::from_static(b"data: {\"n\":1}\n\n"),
            Bytes::from_static(b"data: [DONE]\n\n")
        ]
    );
    assert!(
        stream
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "text/event-stream")
    );
}

#[test]
fn failure_is_contained_disables_the_instance_and_counts() {
    take_log();
    let chain = chain_of(&[json!({"tag": "a"}), json!({"tag": "b", "pre_llm": "fail"})]);
    let b = Arc::clone(chain.instances()[1].plugin());
    let mut run = chain.start();
    run.http_pre(&http_req(b"")).expect("http_pre");
    let body = Bytes::from_static(b"{}");
    let err = match run.pre_llm(&llm_req(&body)) {
        Err(e) => e,
        Ok(_) => panic!("expected a failure"),
    };
    assert!(matches!(
        &err,
        PluginError::HookFailed { name, hook: Hook::PreLlm, message }
            if name == "recorder" && message == "b failed on purpose"
    ));
    let mut reply = err.reply(&ctx());
    assert_eq!(reply.status, 500);
    let v = body_of(&reply);
    assert_eq!(v["is_bifrost_error"], true);
    assert_eq!(v["error"]["type"], "plugin_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("failed in pre_llm")
    );
    // Post-hooks still run for the plugins before the failed one.
    run.post_llm(&ctx(), &mut reply);
    let log = take_log();
    assert!(
        log.iter()
            .any(|l| l.starts_with("a.slot=97 status=500 error=true")),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("b.slot")), "{log:?}");
    assert!(chain.instances()[1].is_disabled());
    assert_eq!(b.failures(), 1);
    assert_eq!(b.disabled_instances(), 1);

    // The next request skips the disabled instance and succeeds.
    let (reply, called) = full_request(&chain);
    assert!(called);
    assert_eq!(reply.status, 200);
    assert!(!take_log().iter().any(|l| l.starts_with("b.")));
    assert_eq!(b.failures(), 1);
}

#[test]
fn panic_in_pre_llm_becomes_an_error() {
    let chain = chain_of(&[json!({"tag": "p", "pre_llm": "panic"})]);
    let mut run = chain.start();
    let body = Bytes::from_static(b"{}");
    let Err(PluginError::HookFailed { message, hook, .. }) = run.pre_llm(&llm_req(&body)) else {
        panic!("expected a failure");
    };
    assert_eq!(hook, Hook::PreLlm);
    assert_eq!(message, "panicked: p panics on purpose");
    assert!(chain.instances()[0].is_disabled());
    assert_eq!(chain.instances()[0].plugin().failures(), 1);
}

#[test]
fn panic_in_post_llm_replaces_the_reply_and_later_post_hooks_run() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b", "post_llm": "panic"}),
    ]);
    let (reply, called) = full_request(&chain);
    assert!(called);
    assert_eq!(reply.status, 500);
    let v = body_of(&reply);
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("panicked: b panics on purpose")
    );
    let log = take_log();
    assert!(
        log.iter()
            .any(|l| l.starts_with("a.slot=97 status=500 error=true")),
        "{log:?}"
    );
}

#[test]
fn post_llm_can_recover_an_error() {
    let chain = chain_of(&[json!({"tag": "a", "post_llm": "recover"})]);
    let mut run = chain.start();
    let body = Bytes::from_static(b"{}");
    assert!(matches!(
        run.pre_llm(&llm_req(&body)),
        Ok(PreLlmOutcome::Continue { body: None })
    ));
    let mut reply = Reply::json(502, &b"{\"error\":{}}"[..]);
    run.post_llm(&ctx(), &mut reply);
    assert_eq!(reply.status, 200);
    assert_eq!(body_of(&reply)["recovered"], true);
}

#[test]
fn pre_llm_body_edits_reach_later_plugins_and_the_caller() {
    take_log();
    let chain = chain_of(&[json!({"tag": "a", "pre_llm": "edit"}), json!({"tag": "b"})]);
    let mut run = chain.start();
    let body = Bytes::from_static(b"{\"orig\":1}");
    let Ok(PreLlmOutcome::Continue { body: Some(new) }) = run.pre_llm(&llm_req(&body)) else {
        panic!("expected a new body");
    };
    assert_eq!(&new[..], b"{\"from\":\"a\"}");
    let log = take_log();
    assert_eq!(log[0], "a.body={\"orig\":1}");
    assert!(
        log.contains(&"b.body={\"from\":\"a\"}".to_string()),
        "{log:?}"
    );
}

#[test]
fn http_pre_edits_reach_later_plugins_and_the_caller() {
    take_log();
    let chain = chain_of(&[json!({"tag": "a", "http_pre": "edit"}), json!({"tag": "b"})]);
    let mut run = chain.start();
    let Ok(HttpPreOutcome::Continue(edits)) = run.http_pre(&http_req(b"old")) else {
        panic!("expected continue");
    };
    assert_eq!(edits.body.as_deref(), Some(&b"new body"[..]));
    assert_eq!(
        edits.headers,
        Some(vec![
            ("host".to_string(), "gw".to_string()),
            ("x-added".to_string(), "a".to_string())
        ])
    );
    assert!(take_log().contains(&"b.saw x-added=a".to_string()));
}

#[test]
fn nothing_changed_means_nothing_returned() {
    let chain = chain_of(&[json!({"tag": "a"}), json!({"tag": "b"})]);
    let mut run = chain.start();
    let Ok(HttpPreOutcome::Continue(edits)) = run.http_pre(&http_req(b"x")) else {
        panic!("expected continue");
    };
    assert_eq!(edits, RequestEdits::default());
    let body = Bytes::from_static(b"{}");
    assert!(matches!(
        run.pre_llm(&llm_req(&body)),
        Ok(PreLlmOutcome::Continue { body: None })
    ));
    assert_eq!(
        run.stream_chunk(&Bytes::from_static(b"data: 1\n\n")),
        ChunkOutcome::Send
    );
}

#[test]
fn http_post_edits_headers_and_refuses_framing_and_injection() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b", "http_post": "edit"}),
    ]);
    let (reply, _) = full_request(&chain);
    assert_eq!(header(&reply, "x-a"), Some("b"));
    assert_eq!(header(&reply, "content-length"), None);
    assert_eq!(header(&reply, "x-evil"), None);
    let log = take_log();
    assert!(
        log.contains(&"b.set=true framing=false injected=false".to_string()),
        "{log:?}"
    );
    // a runs after b (reverse order) and sees b's header.
    assert!(
        log.iter()
            .any(|l| l.starts_with("a.sees") && l.ends_with("x-a=b")),
        "{log:?}"
    );
}

#[test]
fn plugin_with_only_a_post_hook_runs_it() {
    take_log();
    let plugin = LoadedPlugin::from_static(&POST_ONLY, &Value::Null).expect("loads");
    let set = Arc::new(PluginSet::new(vec![SetEntry::new(
        "p",
        plugin,
        Placement::PostBuiltin,
        0,
    )]));
    let chain = Rc::new(HookChain::build(&set, 0, None).0);
    let (reply, called) = full_request(&chain);
    assert!(called);
    assert_eq!(header(&reply, "x-post-only"), Some("1"));
    assert_eq!(take_log(), ["post-only.http_post"]);
    assert_eq!(chain.instances()[0].plugin().types(), ["http"]);
}

#[test]
fn stream_chunks_are_replaced_skipped_or_ended() {
    take_log();
    let chain = chain_of(&[
        json!({"tag": "a"}),
        json!({"tag": "b", "stream_chunk": "upper"}),
    ]);
    let mut run = chain.start();
    let body = Bytes::from_static(b"{}");
    assert!(run.pre_llm(&llm_req(&body)).is_ok());
    let out = run.stream_chunk(&Bytes::from_static(b"data: hi\n\n"));
    assert_eq!(
        out,
        ChunkOutcome::Replace(Bytes::from_static(b"DATA: HI\n\n"))
    );
    let log = take_log();
    // b first (reverse), then a sees b's replacement (no `data:` field any more).
    assert_eq!(
        log.iter()
            .filter(|l| l.contains(".chunk="))
            .collect::<Vec<_>>(),
        ["b.chunk=hi", "a.chunk=?"]
    );

    let skip = chain_of(&[json!({"tag": "s", "stream_chunk": "skip"})]);
    let mut run = skip.start();
    assert!(run.pre_llm(&llm_req(&body)).is_ok());
    assert_eq!(
        run.stream_chunk(&Bytes::from_static(b"data: x\n\n")),
        ChunkOutcome::Skip
    );

    let end = chain_of(&[json!({"tag": "r", "stream_chunk": "reject"})]);
    let mut run = end.start();
    assert!(run.pre_llm(&llm_req(&body)).is_ok());
    let ChunkOutcome::End(event) = run.stream_chunk(&Bytes::from_static(b"data: x\n\n")) else {
        panic!("expected the stream to end");
    };
    let text = std::str::from_utf8(&event).expect("utf8");
    assert!(text.starts_with("data: {\"error\":{"), "{text}");
    assert!(
        text.contains("r says no") && text.ends_with("}\n\n"),
        "{text}"
    );
}

#[test]
fn an_action_a_hook_may_not_answer_is_a_failure() {
    let chain = chain_of(&[json!({"tag": "a", "http_pre": "skip"})]);
    let mut run = chain.start();
    let Err(PluginError::HookFailed { message, .. }) = run.http_pre(&http_req(b"")) else {
        panic!("expected a failure");
    };
    assert_eq!(message, "returned 4, which http_pre does not accept");
    assert!(chain.instances()[0].is_disabled());
}

#[test]
fn placement_then_order_then_registration() {
    let mk = |tag: &str, placement, order| {
        SetEntry::new(tag, recorder(json!({"tag": tag})), placement, order)
    };
    let set = PluginSet::new(vec![
        mk("post1", Placement::PostBuiltin, 0),
        mk("pre5", Placement::PreBuiltin, 5),
        mk("builtin", Placement::Builtin, 0),
        mk("pre1", Placement::PreBuiltin, 1),
        mk("post0b", Placement::PostBuiltin, 0),
        mk("post-1", Placement::PostBuiltin, -1),
    ]);
    let names: Vec<&str> = set.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["pre1", "pre5", "builtin", "post-1", "post1", "post0b"]
    );

    // Replacing keeps the registration position; new entries register last.
    let replaced = set.with_entry(mk("post1", Placement::PostBuiltin, 0));
    let names: Vec<&str> = replaced.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["pre1", "pre5", "builtin", "post-1", "post1", "post0b"]
    );
    let added = set.with_entry(mk("new", Placement::PostBuiltin, 0));
    assert_eq!(added.entries().last().map(|e| e.name.as_str()), Some("new"));
    let removed = set.without("builtin");
    assert!(removed.get("builtin").is_none());
    assert_eq!(removed.len(), 5);
}

#[test]
fn core_plugins_rebuild_on_new_set_and_carry_over_instances() {
    let a = recorder(json!({"tag": "a"}));
    let b = recorder(json!({"tag": "b"}));
    let set1 = Arc::new(PluginSet::new(vec![
        SetEntry::new("a", Arc::clone(&a), Placement::PostBuiltin, 0),
        SetEntry::new("b", Arc::clone(&b), Placement::PostBuiltin, 0),
    ]));
    let core = CorePlugins::new(3);
    let c1 = core.chain_for(&set1);
    assert_eq!(c1.len(), 2);
    assert_eq!(c1.core(), 3);
    assert!(
        Rc::ptr_eq(&c1, &core.chain_for(&set1)),
        "same set, same chain"
    );

    let b2 = recorder(json!({"tag": "b2"}));
    let set2 = Arc::new(set1.with_entry(SetEntry::new("b", b2, Placement::PostBuiltin, 0)));
    let c2 = core.chain_for(&set2);
    assert!(!Rc::ptr_eq(&c1, &c2));
    assert!(
        Rc::ptr_eq(&c1.instances()[0], &c2.instances()[0]),
        "a carried over"
    );
    assert!(
        !Rc::ptr_eq(&c1.instances()[1], &c2.instances()[1]),
        "b rebuilt"
    );
    // The old chain (a request in flight) still works.
    let (reply, _) = full_request(&c1);
    assert_eq!(reply.status, 200);
}

#[test]
fn instance_failure_leaves_the_plugin_out_on_that_core() {
    let p = recorder(json!({"tag": "x", "no_instance_on": 1}));
    let set = Arc::new(PluginSet::new(vec![SetEntry::new(
        "x",
        Arc::clone(&p),
        Placement::PostBuiltin,
        0,
    )]));
    let (chain0, errors0) = HookChain::build(&set, 0, None);
    assert!(errors0.is_empty());
    assert_eq!(chain0.len(), 1);
    let (chain1, errors1) = HookChain::build(&set, 1, None);
    assert_eq!(chain1.len(), 0);
    assert_eq!(
        errors1[0].to_string(),
        "plugin 'recorder' failed to create its instance on core 1: no instance on this core"
    );
    assert_eq!(p.failures(), 1);
}

#[test]
fn config_refusal_is_reported() {
    let err = LoadedPlugin::from_static(&RECORDER, &json!({"refuse": true})).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "plugin 'recorder' refused its config: refused as asked"
    );
    let bad = LoadedPlugin::from_static(&RECORDER, &json!("not an object"));
    // A string is valid JSON; the recorder accepts it (tag "?").
    assert!(bad.is_ok());
}

#[test]
fn config_state_is_freed_with_the_last_reference() {
    let before = CONFIGS_FREED.load(Ordering::SeqCst);
    let p = recorder(json!({"tag": "f"}));
    let inst = p.instance_for_core(0).expect("instance");
    drop(p);
    // The instance still holds the plugin.
    assert_eq!(inst.plugin().name(), "recorder");
    assert_eq!(inst.plugin().version(), "1.2.3");
    assert_eq!(inst.plugin().abi_version(), (RW_ABI_MAJOR, 0));
    assert!(inst.plugin().source_path().is_none());
    drop(inst);
    // Other tests free configs concurrently: at least ours was freed.
    assert!(CONFIGS_FREED.load(Ordering::SeqCst) > before);
}

static OTHER_MAJOR: RwPluginDescriptor = RwPluginDescriptor {
    abi_major: RW_ABI_MAJOR + 1,
    ..descriptor::<Recorder>()
};

static TOO_SMALL: RwPluginDescriptor = RwPluginDescriptor {
    size: 8,
    ..descriptor::<Recorder>()
};

/// As built against an older minor: the descriptor ends before `http_post`.
static OLDER_MINOR: RwPluginDescriptor = RwPluginDescriptor {
    size: std::mem::offset_of!(RwPluginDescriptor, http_post) as u32,
    ..descriptor::<Recorder>()
};

/// A size that cuts the `http_post` pointer in half.
static RAGGED: RwPluginDescriptor = RwPluginDescriptor {
    size: std::mem::offset_of!(RwPluginDescriptor, http_post) as u32 + 3,
    ..descriptor::<Recorder>()
};

static NAMELESS: RwPluginDescriptor = RwPluginDescriptor {
    name: RwStr::EMPTY,
    ..descriptor::<Recorder>()
};

#[test]
fn descriptor_checks() {
    let err = LoadedPlugin::from_static(&OTHER_MAJOR, &Value::Null).expect_err("refused");
    assert!(matches!(
        err,
        PluginError::AbiMismatch {
            major: 2,
            host_major: 1,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "plugin '<static>' was built for plugin ABI 2.0, but this ringway speaks ABI 1.0: \
         rebuild it against ringway-plugins-abi 1.x"
    );
    let err = LoadedPlugin::from_static(&TOO_SMALL, &Value::Null).expect_err("refused");
    assert!(err.to_string().contains("declares 8 bytes"), "{err}");
    let err = LoadedPlugin::from_static(&NAMELESS, &Value::Null).expect_err("refused");
    assert!(err.to_string().contains("name is empty"), "{err}");

    for desc in [&OLDER_MINOR, &RAGGED] {
        take_log();
        let old = LoadedPlugin::from_static(desc, &json!({"tag": "o"})).expect("older minor loads");
        assert!(old.fns().post_llm.is_some());
        assert!(
            old.fns().http_post.is_none(),
            "past the declared size: not implemented"
        );
        assert!(old.fns().stream_chunk.is_none());
        let set = Arc::new(PluginSet::new(vec![SetEntry::new(
            "o",
            old,
            Placement::PostBuiltin,
            0,
        )]));
        let chain = Rc::new(HookChain::build(&set, 0, None).0);
        let (reply, called) = full_request(&chain);
        assert!(called);
        assert_eq!(reply.status, 200);
        assert!(!take_log().iter().any(|l| l.starts_with("o.sees")));
    }
}

#[test]
fn bad_paths_give_clear_errors() {
    let err = LoadedPlugin::load("libstamp.so", &Value::Null).expect_err("no slash");
    assert_eq!(
        err.to_string(),
        "plugin path 'libstamp.so' must contain a '/' (write './libstamp.so' for a file in the \
         working directory)"
    );
    let err = LoadedPlugin::load("/nonexistent/libx.so", &Value::Null).expect_err("missing");
    assert!(
        err.to_string()
            .starts_with("cannot read plugin file '/nonexistent/libx.so': No such file"),
        "{err}"
    );
    let err = LoadedPlugin::load("/tmp", &Value::Null).expect_err("a directory");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let not_lib = std::env::temp_dir().join(format!("ringway-not-a-lib-{}.so", std::process::id()));
    std::fs::write(&not_lib, b"hello").expect("write");
    let err = LoadedPlugin::load(&not_lib.to_string_lossy(), &Value::Null).expect_err("not ELF");
    assert!(err.to_string().starts_with("cannot load plugin"), "{err}");
    let _ = std::fs::remove_file(&not_lib);
}

#[test]
fn spec_parses_config_entries() {
    let specs: Vec<PluginSpec> = serde_json::from_value(json!([
        {"name": "stamp", "enabled": true, "path": "./libstamp.so", "config": {"header": "x"}},
        {"name": "telemetry", "enabled": true},
        {"name": "p", "enabled": false, "placement": "pre_builtin", "order": -2}
    ]))
    .expect("specs");
    assert_eq!(specs[0].path.as_deref(), Some("./libstamp.so"));
    assert_eq!(specs[0].config["header"], "x");
    assert_eq!(specs[1].config, Value::Null);
    assert_eq!(specs[2].placement, Some(Placement::PreBuiltin));
    assert_eq!(specs[2].order, Some(-2));
    assert!(
        serde_json::from_value::<PluginSpec>(json!({"name": "x", "placement": "middle"})).is_err()
    );
    // Nothing enabled with a path: an empty set, nothing loaded.
    let set = PluginSet::load(&specs[1..]).expect("no library to load");
    assert!(set.is_empty());
    assert_eq!(Placement::parse("builtin"), Some(Placement::Builtin));
    assert_eq!(Placement::default().as_str(), "post_builtin");
}

#[test]
fn request_ids_are_unique_and_tagged_with_the_core() {
    let set = Arc::new(PluginSet::empty());
    let chain = Rc::new(HookChain::build(&set, 5, None).0);
    let a = chain.start().request_id();
    let b = chain.start().request_id();
    assert_ne!(a, b);
    assert_eq!(a >> 40, 5);
}
