//! `stamp`: the example plugin used by the tests and the README.
//!
//! Config: `{"header", "value", "block_word", "block_reply", "panic_on"}` (all optional).
//! - HTTP transport post-hook: adds the response header `header: value` (default
//!   `x-stamp: ringway`).
//! - Pre-LLM hook: when the last user message equals `block_word`, answers with a chat completion
//!   whose content is `block_reply` (a stream of chunks when the client asked for one); the
//!   provider is not called. When it equals `panic_on`, panics (the host contains it).
//!
//! Build: `cargo build --release -p ringway-plugins-abi --example stamp`
//! (gives `target/release/examples/libstamp.so`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ringway_plugins_abi::export_plugin;
use ringway_plugins_abi::sdk::{
    Action, Config, Cx, Fault, HookSet, Host, HttpRequest, HttpResponse, Instance, Level,
    LlmRequest, Plugin,
};
use serde_json::{Value, json};

/// The parsed config, shared by every core.
struct Settings {
    header: String,
    value: String,
    block_word: Option<String>,
    block_reply: String,
    panic_on: Option<String>,
}

/// The plugin: its settings.
struct Stamp(Arc<Settings>);

/// One core's instance.
struct StampCore(Arc<Settings>);

/// Whether `name` is a valid header field name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Plugin for Stamp {
    const NAME: &'static str = "stamp";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: HookSet = HookSet::PRE_LLM.with(HookSet::HTTP_POST);
    type Instance = StampCore;

    fn new(config: Config<'_>, host: &Host<'_>) -> Result<Self, Fault> {
        let cfg: Value = serde_json::from_slice(config.json())?;
        let text = |key: &str| -> Result<Option<String>, Fault> {
            match cfg.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Fault::new(format!("config.{key} must be a string"))),
            }
        };
        let header = text("header")?.unwrap_or_else(|| "x-stamp".to_string());
        if !is_token(&header) {
            return Err(Fault::new(format!(
                "config.header '{header}' is not a header name"
            )));
        }
        let value = text("value")?.unwrap_or_else(|| "ringway".to_string());
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Fault::new("config.value must not contain CR, LF or NUL"));
        }
        let settings = Settings {
            header,
            value,
            block_word: text("block_word")?,
            block_reply: text("block_reply")?.unwrap_or_else(|| "blocked by stamp".to_string()),
            panic_on: text("panic_on")?,
        };
        host.log(
            Level::Info,
            &format!("stamping responses with {}", settings.header),
        );
        Ok(Stamp(Arc::new(settings)))
    }

    fn instance(&self, _core: u32) -> Result<StampCore, Fault> {
        Ok(StampCore(Arc::clone(&self.0)))
    }
}

/// The text of the last message with role `user` (string content, or its text parts joined).
fn last_user_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let msg = v
        .get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    match msg.get("content")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl StampCore {
    /// Answers with `block_reply` as a chat completion, or as a stream of chunks.
    fn short_circuit(&self, cx: &mut Cx<'_>, req: &LlmRequest<'_>) -> Action {
        let id = format!("chatcmpl-stamp-{}", cx.request_id());
        let created = unix_now();
        let model = req.model();
        let reply = self.0.block_reply.as_str();
        if req.is_stream() {
            let chunk = |delta: Value, finish: Value| {
                json!({
                    "id": id, "object": "chat.completion.chunk", "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                })
                .to_string()
            };
            let first = chunk(json!({"role": "assistant", "content": reply}), Value::Null);
            let last = chunk(json!({}), json!("stop"));
            cx.push_sse_data(first.as_bytes());
            cx.push_sse_data(last.as_bytes());
            cx.push_sse_data(b"[DONE]");
            return Action::Stream;
        }
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        });
        cx.set_status(200);
        cx.set_header("content-type", "application/json");
        cx.set_body(body.to_string().as_bytes());
        Action::Respond
    }
}

impl Instance for StampCore {
    fn pre_llm(&mut self, cx: &mut Cx<'_>, req: &LlmRequest<'_>) -> Result<Action, Fault> {
        let s = &self.0;
        if s.block_word.is_none() && s.panic_on.is_none() {
            return Ok(Action::Continue);
        }
        let Some(last) = last_user_message(req.body()) else {
            return Ok(Action::Continue);
        };
        if s.panic_on.as_deref() == Some(last.as_str()) {
            panic!("stamp: the last user message is the configured panic_on word");
        }
        if s.block_word.as_deref() == Some(last.as_str()) {
            return Ok(self.short_circuit(cx, req));
        }
        Ok(Action::Continue)
    }

    fn http_post(
        &mut self,
        cx: &mut Cx<'_>,
        _req: &HttpRequest<'_>,
        _res: &HttpResponse<'_>,
    ) -> Result<Action, Fault> {
        cx.set_header(&self.0.header, &self.0.value);
        Ok(Action::Continue)
    }
}

export_plugin!(Stamp);
