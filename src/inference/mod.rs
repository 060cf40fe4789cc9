//! Inference: from a parsed request to the provider's answer, with retries and fallbacks.
//!
//! ```text
//! handle          read model/stream/fallbacks (lazy, no DOM) -> provider/model
//!  -> attempt     provider route -> admission -> key -> upstream (retries with async backoff)
//!  -> fallbacks   on an error that allows it, each `provider/model` in order; the primary's
//!                 error is returned when all fail
//! ```

pub mod admission;
pub mod attempt;
pub mod codec;
pub mod models;
pub mod retry;
pub mod stream;
pub mod trail;

use std::cell::OnceCell;
use std::time::Instant;

use bytes::Bytes;

use crate::error::{ErrorContext, GatewayError, RequestType};
use crate::http::head::RequestHead;
use crate::json::{self, RequestFields};
use crate::logging::request::RequestLog;
use crate::plugins::{ChainRun, LlmRequestView, PluginStream, PreLlmOutcome};
use crate::providers::unified::ChatRequest;
use crate::routing::keys::KeyPin;
use crate::routing::table::{HeaderFilter, RouteTable};
use crate::server::reply::Reply;
use crate::server::worker::Worker;
use codec::ClientFormat;
use trail::Trail;

/// Request headers with this prefix are forwarded upstream without it (Bifrost's `x-bf-eh-*`).
const EXTRA_HEADER_PREFIX: &str = "x-bf-eh-";

/// Headers a client may never set upstream through `x-bf-eh-*`: credentials (ringway holds the
/// keys), framing and hop-by-hop headers, and ringway's own `x-bf-*` controls.
const EXTRA_HEADER_DENYLIST: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "upgrade",
    "expect",
    "accept",
];

/// Whether an `x-bf-eh-<name>` header may be forwarded as `<name>`.
pub fn forwardable(name: &str, filter: &HeaderFilter) -> bool {
    if name.is_empty()
        || name
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-bf-"))
        || EXTRA_HEADER_DENYLIST
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
    {
        return false;
    }
    if filter.denylist.iter().any(|d| d.eq_ignore_ascii_case(name)) {
        return false;
    }
    filter.allowlist.is_empty()
        || filter
            .allowlist
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
}

/// Splits `provider/model` on the first `/`, as Bifrost does.
pub fn split_model(model: &str) -> Result<(&str, &str), GatewayError> {
    let model = trim(model);
    if model.is_empty() {
        return Err(GatewayError::BadRequest("model is required".into()));
    }
    // A byte search: `str::split_once` with a char pattern costs several times more here.
    let slash = model.bytes().position(|b| b == b'/');
    match slash.map(|i| (&model[..i], &model[i + 1..])) {
        Some((p, m)) if !trim(p).is_empty() && !trim(m).is_empty() => Ok((trim(p), trim(m))),
        _ => Err(GatewayError::BadRequest(format!(
            "provider is required in model field (format: provider/model), got '{model}'"
        ))),
    }
}

/// `s` without leading and trailing Unicode whitespace (Go's `strings.TrimSpace`, as Bifrost
/// does). Every whitespace character is either an ASCII byte up to `' '` or starts with a byte
/// above 0x7f, so a name with printable ASCII at both ends is returned as it is, without
/// `str::trim`'s character decoding (this runs for each part of each request's model).
#[inline]
fn trim(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    if printable(s.as_bytes().first()) && printable(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// How a route names models: the unified API needs `provider/model`; a drop-in route (the
/// OpenAI SDK's base URL) also accepts bare model names for its default provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect<'p> {
    /// Provider of bare model names (and of names whose prefix is not a configured provider).
    pub default_provider: Option<&'static str>,
    /// Model named by the path (Azure deployment routes), used when the body has none.
    pub deployment: Option<&'p str>,
    /// The wire format the client speaks on this route.
    pub client: ClientFormat,
}

impl Dialect<'_> {
    /// `/v1/*`: `provider/model` only.
    pub const UNIFIED: Dialect<'static> = Dialect {
        default_provider: None,
        deployment: None,
        client: ClientFormat::OpenAi,
    };
    /// `/openai/*` and its aliases: bare names mean the openai provider.
    pub const OPENAI_SDK: Dialect<'static> = Dialect {
        default_provider: Some("openai"),
        deployment: None,
        client: ClientFormat::OpenAi,
    };
    /// `/anthropic/*`: Anthropic's Messages API; bare names mean the anthropic provider.
    pub const ANTHROPIC_SDK: Dialect<'static> = Dialect {
        default_provider: Some("anthropic"),
        deployment: None,
        client: ClientFormat::Anthropic,
    };
}

/// An error reply in the client's format (Anthropic clients get Anthropic's error shape).
pub fn error_reply(client: ClientFormat, err: &GatewayError, ctx: &ErrorContext) -> Reply {
    match client {
        ClientFormat::OpenAi | ClientFormat::Responses => Reply::error(err, ctx),
        ClientFormat::Anthropic => {
            let (status, body) = crate::providers::anthropic::error_body(err);
            let mut reply = Reply::json(status, body);
            reply.add_provider_headers(err);
            reply
        }
        ClientFormat::Gemini => {
            let (status, body) = crate::providers::gemini::error_body(err);
            let mut reply = Reply::json(status, body);
            reply.add_provider_headers(err);
            reply
        }
        ClientFormat::Bedrock => {
            let (status, body, kind) = crate::providers::bedrock::error_body(err);
            let mut reply = Reply::json(status, body);
            reply.add_provider_headers(err);
            // A Bedrock provider's own error type (forwarded above) wins.
            if !reply
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("x-amzn-errortype"))
            {
                reply
                    .headers
                    .push(("x-amzn-errortype".into(), kind.to_string().into()));
            }
            reply
        }
        ClientFormat::Cohere => {
            let (status, body) = crate::providers::cohere::error_body(err);
            let mut reply = Reply::json(status, body);
            reply.add_provider_headers(err);
            reply
        }
    }
}

/// Resolves the provider and model a request names on a route with `dialect`.
///
/// On a drop-in route a bare name (or one whose prefix is not a configured provider, like
/// `meta-llama/Llama-3`) belongs to the route's default provider; Azure deployment routes name
/// the model in the path when the body has none.
pub fn resolve_model<'a>(
    named: &'a str,
    dialect: Dialect<'a>,
    table: &RouteTable,
) -> Result<(&'a str, &'a str), GatewayError> {
    let Some(default) = dialect.default_provider else {
        return split_model(named);
    };
    let named = trim(named);
    let model = if named.is_empty() {
        dialect.deployment.unwrap_or("")
    } else {
        named
    };
    if model.is_empty() {
        return Err(GatewayError::BadRequest("model is required".into()));
    }
    if let Some((p, m)) = model.split_once('/')
        && !m.is_empty()
        && table.provider(p).is_some()
    {
        return Ok((p, m));
    }
    // Azure deployment routes fall back to openai when no azure provider is configured.
    let provider = if table.provider(default).is_none() && default == "azure" {
        "openai"
    } else {
        default
    };
    Ok((provider, model))
}

/// Resolves the provider and model `fields` name into `ctx`.
fn name_route(
    ctx: &mut ErrorContext,
    fields: &RequestFields,
    dialect: Dialect<'_>,
    table: &RouteTable,
) -> Result<(), GatewayError> {
    let named = fields.model.as_deref().unwrap_or("");
    let (provider, model) = resolve_model(named, dialect, table)?;
    ctx.provider = Some(provider.to_string());
    ctx.model_requested = Some(model.to_string());
    Ok(())
}

/// The reply for a stream a pre-LLM hook answered with: its events, written as one body.
fn stream_reply(stream: PluginStream) -> Reply {
    let mut body = Vec::with_capacity(stream.events.iter().map(Bytes::len).sum());
    for ev in &stream.events {
        body.extend_from_slice(ev);
    }
    Reply {
        status: stream.status,
        headers: stream.headers,
        body: crate::server::reply::ReplyBody::Full(Bytes::from(body)),
    }
}

/// The request-scoped inputs shared by the primary attempt and every fallback.
pub struct Call<'a> {
    /// Operation (streaming or not).
    pub op: RequestType,
    /// The client's body, forwarded byte for byte except the spliced fields.
    pub body: &'a Bytes,
    /// Spans of `model` and `fallbacks` inside `body`.
    pub fields: &'a RequestFields,
    /// `x-bf-eh-*` headers, forwarded upstream without the prefix.
    pub extra_headers: Vec<(&'a str, &'a str)>,
    /// An Anthropic SDK's `anthropic-beta` header: passed on to Anthropic-format providers,
    /// which need it to enable the beta features the body uses.
    pub anthropic_beta: Option<&'a str>,
    /// The wire format the client speaks.
    pub client: ClientFormat,
    /// The request decoded into the unified schema, for cross-format attempts (decoded at most
    /// once, and only when an attempt needs it). Boxed: the schema is large, and this cell sits
    /// in every request's future, translated or not.
    pub unified: OnceCell<Result<Box<ChatRequest>, String>>,
    /// What the attempts did: provider wait time, and for the request log the key, retries and
    /// fallback.
    pub trail: &'a Trail,
}

/// Serves one chat, text-completion or embedding request.
pub async fn handle(
    worker: &Worker,
    op: RequestType,
    dialect: Dialect<'_>,
    head: &RequestHead,
    body: Bytes,
    mut hooks: Option<&mut ChainRun>,
) -> Reply {
    let started = Instant::now();
    // Request logging off: this branch (and a few plain cell writes in the trail) is its cost.
    let log = worker
        .logs
        .as_ref()
        .map(|l| RequestLog::begin(l, head, &body));
    let trail = Trail::new(log.is_some());
    let (mut reply, provider, ctx) = serve(
        worker,
        op,
        dialect,
        head,
        body,
        &trail,
        hooks.as_deref_mut(),
    )
    .await;
    if let Some(run) = hooks {
        // Only plugins whose pre-LLM hook ran see the answer (a no-op otherwise).
        run.post_llm(&ctx, &mut reply);
    }
    // The gateway's own cost: everything but the time spent waiting on providers.
    let overhead = started.elapsed().saturating_sub(trail.waited_total());
    worker.metrics.request(
        provider.as_deref().unwrap_or(""),
        overhead,
        reply.status < 400,
    );
    // Requests refused before a provider was named (bad JSON, no model) leave no row, as in
    // Bifrost, whose handler rejects them before the logging plugin runs.
    if let Some(log) = log
        && let Some(outcome) = trail.outcome()
    {
        log.finish(outcome, &mut reply);
    }
    reply
}

async fn serve(
    worker: &Worker,
    op: RequestType,
    dialect: Dialect<'_>,
    head: &RequestHead,
    body: Bytes,
    trail: &Trail,
    hooks: Option<&mut ChainRun>,
) -> (Reply, Option<String>, ErrorContext) {
    let mut ctx = ErrorContext {
        request_type: Some(op.as_str()),
        ..ErrorContext::default()
    };
    let mut body = body;
    let mut fields = match json::read_fields(&body) {
        Ok(f) => f,
        Err(e) => {
            let reply = error_reply(dialect.client, &GatewayError::Json(e), &ctx);
            return (reply, None, ctx);
        }
    };
    let op = match (op, fields.stream) {
        (RequestType::ChatCompletion, true) => RequestType::ChatCompletionStream,
        (RequestType::TextCompletion, true) => RequestType::TextCompletionStream,
        (RequestType::Responses, true) => RequestType::ResponsesStream,
        (op, _) => op,
    };
    ctx.request_type = Some(op.as_str());
    trail.op(op);
    trail.messages(fields.messages_span.clone().filter(|_| !fields.has_system));
    let table = worker.table();
    if let Err(e) = name_route(&mut ctx, &fields, dialect, &table) {
        return (error_reply(dialect.client, &e, &ctx), None, ctx);
    }
    // The context goes back to the post-LLM hooks only when there are any (no clone otherwise).
    let hooked = hooks.is_some();
    if let Some(run) = hooks {
        let provider = ctx.provider.as_deref().unwrap_or("");
        let view = LlmRequestView {
            request_type: op.as_str(),
            provider,
            model: ctx.model_requested.as_deref().unwrap_or(""),
            stream: fields.stream,
            headers: &head.headers,
            body: &body,
        };
        let short = match run.pre_llm(&view) {
            Ok(PreLlmOutcome::Continue { body: None }) => None,
            Ok(PreLlmOutcome::Continue { body: Some(next) }) => {
                // A plugin rewrote the request: read its fields (and its model) again.
                let refreshed = json::read_fields(&next)
                    .map_err(GatewayError::Json)
                    .and_then(|f| {
                        name_route(&mut ctx, &f, dialect, &table)?;
                        Ok(f)
                    });
                match refreshed {
                    Ok(f) => {
                        fields = f;
                        body = next;
                        None
                    }
                    Err(e) => Some(error_reply(dialect.client, &e, &ctx)),
                }
            }
            Ok(PreLlmOutcome::Respond(reply)) => Some(reply),
            Ok(PreLlmOutcome::Reject(reject)) => Some(reject.reply(&ctx)),
            Ok(PreLlmOutcome::Stream(stream)) => Some(stream_reply(stream)),
            Err(e) => Some(e.reply(&ctx)),
        };
        if let Some(reply) = short {
            let served_by = ctx.provider.clone();
            trail.served(
                &table,
                served_by.as_deref().unwrap_or(""),
                ctx.model_requested.as_deref().unwrap_or(""),
            );
            return (reply, served_by, ctx);
        }
    }
    let provider = ctx.provider.as_deref().unwrap_or("");
    let model = ctx.model_requested.as_deref().unwrap_or("");

    let pin = head
        .header("x-bf-api-key-id")
        .map(KeyPin::Id)
        .or_else(|| head.header("x-bf-api-key").map(KeyPin::Name));
    let extra_headers = head
        .headers
        .iter()
        .filter_map(|(n, v)| {
            // First byte first: almost no header starts with `x`, and the full test is a call.
            if n.as_bytes().first().map(|b| b | 0x20) != Some(b'x') {
                return None;
            }
            let prefix = n.get(..EXTRA_HEADER_PREFIX.len())?;
            let name = &n[EXTRA_HEADER_PREFIX.len()..];
            (prefix.eq_ignore_ascii_case(EXTRA_HEADER_PREFIX)
                && forwardable(name, &table.client.header_filter))
            .then_some((name, v))
        })
        .collect();
    let call = Call {
        op,
        body: &body,
        fields: &fields,
        extra_headers,
        anthropic_beta: (dialect.client == ClientFormat::Anthropic)
            .then(|| head.header("anthropic-beta"))
            .flatten(),
        client: dialect.client,
        unified: OnceCell::new(),
        trail,
    };

    let finish = |reply: Reply, served_by: &str, model: &str| {
        trail.served(&table, served_by, model);
        let ctx = if hooked {
            ctx.clone()
        } else {
            ErrorContext::default()
        };
        (reply, Some(served_by.to_string()), ctx)
    };
    let primary = match attempt::run(worker, &table, &call, provider, model, pin, &ctx).await {
        Ok(reply) => return finish(reply, provider, model),
        Err(e) => e,
    };
    // Which key the primary's last attempt used: its error is the one returned if all fail.
    let primary_trail = (trail.key_index(), trail.retry_count());
    if primary.allows_fallbacks() {
        for (i, fallback) in fields.fallbacks.iter().enumerate() {
            let Ok((fp, fm)) = split_model(fallback) else {
                continue; // Bifrost drops entries without both parts.
            };
            if table.provider(fp).is_none() {
                continue;
            }
            let fctx = ErrorContext {
                provider: Some(fp.to_string()),
                model_requested: Some(fm.to_string()),
                request_type: ctx.request_type,
            };
            tracing::debug!(provider = fp, model = fm, "trying fallback");
            trail.fallback(u32::try_from(i + 1).unwrap_or(u32::MAX));
            // Bifrost clears pinned keys for fallbacks: a key name belongs to one provider.
            match attempt::run(worker, &table, &call, fp, fm, None, &fctx).await {
                Ok(reply) => return finish(reply, fp, fm),
                Err(e) if !e.allows_fallbacks() => {
                    return finish(error_reply(dialect.client, &e, &fctx), fp, fm);
                }
                Err(_) => continue,
            }
        }
    }
    // All failed: the primary's error is returned, so the row names the primary.
    trail.fallback(0);
    trail.key(primary_trail.0);
    trail.retries(primary_trail.1);
    finish(error_reply(dialect.client, &primary, &ctx), provider, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_agrees_with_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "gpt-4o",
            "openai/gpt-4o",
            "\u{a0}x",
            "x\u{3000}",
            "\u{85}",
            "é",
            "xé",
            "\u{1c}x",
            "x\u{7f}",
            "\u{2028}a\u{2029}",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn extra_header_filter() {
        let none = HeaderFilter::default();
        assert!(forwardable("x-trace", &none));
        for denied in [
            "Authorization",
            "cookie",
            "X-Api-Key",
            "x-bf-vk",
            "host",
            "",
        ] {
            assert!(!forwardable(denied, &none), "{denied}");
        }
        let deny = HeaderFilter {
            allowlist: vec![],
            denylist: vec!["x-secret".into()],
        };
        assert!(!forwardable("X-Secret", &deny));
        let allow = HeaderFilter {
            allowlist: vec!["x-allowed".into()],
            denylist: vec![],
        };
        assert!(forwardable("x-allowed", &allow));
        assert!(!forwardable("x-other", &allow));
    }

    #[test]
    fn splits_on_first_slash() {
        assert_eq!(
            split_model("openrouter/anthropic/claude").expect("ok"),
            ("openrouter", "anthropic/claude")
        );
        assert_eq!(
            split_model(" openai/gpt-4o ").expect("ok"),
            ("openai", "gpt-4o")
        );
        assert!(split_model("gpt-4o").is_err());
        assert!(split_model("").is_err());
        assert!(split_model("/x").is_err());
        assert!(split_model("openai/").is_err());
    }
}
