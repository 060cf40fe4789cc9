//! Routes a parsed request to its handler.

use bytes::Bytes;

use super::reply::{Reply, ReplyBody};
use super::worker::Worker;
use crate::error::{ErrorContext, GatewayError, RequestType};
use crate::http::head::{Headers, Method, RequestHead};
use crate::inference::codec::ClientFormat;
use crate::inference::{self, Dialect};
use crate::plugins::{ChainRun, HttpPreOutcome, HttpRequestView};
use crate::providers::anthropic;
use crate::providers::gemini::{self, GenaiOp, GenaiPath};

/// Dispatches one request and returns its reply. Inference routes check the admin credentials
/// when those protect inference, then run through this core's plugin chain (HTTP transport
/// hooks here, LLM hooks in `inference`); `/health`, `/metrics` and the management API (which
/// checks its own credentials) do neither.
pub async fn route(worker: &Worker, head: &RequestHead, body: Bytes) -> Reply {
    let path = head.path.as_str();
    let control =
        path == "/health" || path == "/metrics" || path == "/api" || path.starts_with("/api/");
    if !control {
        if let Err(refused) = super::inference_auth::authorize(worker, head).await {
            return refused;
        }
        let chain = worker.plugin_chain();
        if !chain.is_empty() {
            return with_plugins(worker, head, body, chain.start()).await;
        }
    }
    dispatch(worker, head, body, None).await
}

/// Runs the HTTP transport hooks around [`dispatch`]; a streamed reply takes the run along
/// for its per-event hooks.
async fn with_plugins(
    worker: &Worker,
    head: &RequestHead,
    body: Bytes,
    mut run: ChainRun,
) -> Reply {
    let ctx = ErrorContext::default();
    let query = head.query.as_deref().unwrap_or("");
    let view = HttpRequestView {
        method: head.method.as_str(),
        path: &head.path,
        query,
        headers: &head.headers,
        body: &body,
    };
    let (mut reply, edited_head, body) = match run.http_pre(&view) {
        Ok(HttpPreOutcome::Continue(edits)) => {
            let edited = edits.headers.map(|h| RequestHead {
                headers: Headers::from_pairs(h.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
                ..head.clone()
            });
            let body = edits.body.unwrap_or(body);
            let h = edited.as_ref().unwrap_or(head);
            let reply = Box::pin(dispatch(worker, h, body.clone(), Some(&mut run))).await;
            (reply, edited, body)
        }
        Ok(HttpPreOutcome::Respond(reply)) => (reply, None, body),
        Ok(HttpPreOutcome::Reject(reject)) => (reject.reply(&ctx), None, body),
        Err(e) => (e.reply(&ctx), None, body),
    };
    let h = edited_head.as_ref().unwrap_or(head);
    let view = HttpRequestView {
        method: h.method.as_str(),
        path: &h.path,
        query,
        headers: &h.headers,
        body: &body,
    };
    run.http_post(&view, &mut reply);
    if let ReplyBody::Stream(relay) = &mut reply.body {
        relay.attach_hooks(run);
    }
    reply
}

/// Serves one request with `hooks` (when plugins are loaded) for the inference path.
///
/// Every branch but inference is boxed: this future is boxed for each request (see
/// `conn::serve`), so its size, the largest branch's, is copied on every request.
async fn dispatch(
    worker: &Worker,
    head: &RequestHead,
    body: Bytes,
    hooks: Option<&mut ChainRun>,
) -> Reply {
    let path = head.path.as_str();
    // Google GenAI SDK (`/genai/{v1beta,v1}/models...`): model and streaming named by the path.
    if let Some(genai) = gemini::parse_genai_path(path) {
        return genai_route(worker, head, body, genai, hooks).await;
    }
    // AWS SDKs (`/bedrock/model/{modelId}/converse[-stream]`): model and streaming named by the
    // path, the model id percent-encoded.
    if let Some((op, raw_id)) = bedrock_path(path) {
        return bedrock_route(worker, head, body, op, raw_id, hooks).await;
    }
    let op = match path {
        "/health" => {
            return match head.method {
                Method::Get | Method::Head => Reply::json(200, &br#"{"status":"ok"}"#[..]),
                _ => method_not_allowed(path),
            };
        }
        "/metrics" => {
            return match head.method {
                Method::Get => {
                    let mut r = Reply::json(200, worker.shared.metrics.render());
                    r.headers = vec![(
                        "content-type".into(),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8".into(),
                    )];
                    r
                }
                _ => method_not_allowed(path),
            };
        }
        _ if path == "/api" || path.starts_with("/api/") => {
            return Box::pin(crate::admin::route(worker, head, body)).await;
        }
        _ => match inference_route(path) {
            Some(r) => r,
            None => {
                return Reply::error(
                    &GatewayError::RouteNotFound(path.to_string()),
                    &ErrorContext::default(),
                );
            }
        },
    };
    match (op, head.method) {
        (InferenceRoute::Post(op, dialect), Method::Post) => {
            inference::handle(worker, op, dialect, head, body, hooks).await
        }
        (InferenceRoute::Get, Method::Get) => {
            Box::pin(inference::models::list(worker, head.query.as_deref())).await
        }
        (InferenceRoute::AnthropicModels, Method::Get) => {
            Box::pin(anthropic_models(worker, head.query.as_deref())).await
        }
        _ => method_not_allowed(path),
    }
}

/// `[/litellm|/langchain|/pydanticai]/bedrock/model/{id}/converse[-stream]`: the operation and
/// the raw (still percent-encoded) model id.
fn bedrock_path(path: &str) -> Option<(RequestType, &str)> {
    let rest = path.strip_prefix("/bedrock").or_else(|| {
        OPENAI_PREFIXES[1..]
            .iter()
            .find_map(|p| path.strip_prefix(p)?.strip_prefix("/bedrock"))
    })?;
    let (id, action) = rest.strip_prefix("/model/")?.rsplit_once('/')?;
    let op = match action {
        "converse" => RequestType::ChatCompletion,
        "converse-stream" => RequestType::ChatCompletionStream,
        _ => return None,
    };
    (!id.is_empty() && !id.contains('/')).then_some((op, id))
}

/// Serves a Converse request from an AWS SDK; bare model ids mean the bedrock provider, and a
/// decoded `provider/model` id reaches any provider.
async fn bedrock_route(
    worker: &Worker,
    head: &RequestHead,
    body: Bytes,
    op: RequestType,
    raw_id: &str,
    hooks: Option<&mut ChainRun>,
) -> Reply {
    if !matches!(head.method, Method::Post) {
        return method_not_allowed(head.path.as_str());
    }
    let id = crate::providers::bedrock::decode_model_id(raw_id);
    let dialect = Dialect {
        default_provider: Some("bedrock"),
        deployment: Some(&id),
        client: ClientFormat::Bedrock,
    };
    inference::handle(worker, op, dialect, head, body, hooks).await
}

#[derive(Clone, Copy)]
enum InferenceRoute<'p> {
    Post(RequestType, Dialect<'p>),
    Get,
    /// `GET /anthropic/v1/models`: the listing in Anthropic's shape.
    AnthropicModels,
}

/// `/cohere/v2/*`: Cohere's v2 API; bare model names mean the cohere provider.
const COHERE_SDK: Dialect<'static> = Dialect {
    default_provider: Some("cohere"),
    deployment: None,
    client: ClientFormat::Cohere,
};

/// Prefixes that serve the OpenAI-shaped API as a drop-in (Bifrost's integration routes): the
/// OpenAI SDK's base URL, and the LiteLLM / LangChain / PydanticAI aliases.
const OPENAI_PREFIXES: &[&str] = &["/openai", "/litellm", "/langchain", "/pydanticai"];

/// Maps an inference path to its operation and how the model is named on it.
fn inference_route(path: &str) -> Option<InferenceRoute<'_>> {
    if let Some(op) = path.strip_prefix("/v1").and_then(openai_operation) {
        return Some(op(Dialect::UNIFIED));
    }
    // Anthropic's SDK appends `/v1/messages` to its base URL, so `/anthropic` is the base to set
    // (also under the LiteLLM / LangChain / PydanticAI prefixes).
    let anthropic = path.strip_prefix("/anthropic").or_else(|| {
        OPENAI_PREFIXES[1..]
            .iter()
            .find_map(|p| path.strip_prefix(p)?.strip_prefix("/anthropic"))
    });
    match anthropic {
        Some("/v1/messages") => {
            return Some(InferenceRoute::Post(
                RequestType::ChatCompletion,
                Dialect::ANTHROPIC_SDK,
            ));
        }
        Some("/v1/messages/count_tokens") => {
            return Some(InferenceRoute::Post(
                RequestType::CountTokens,
                Dialect::ANTHROPIC_SDK,
            ));
        }
        Some("/v1/models") => return Some(InferenceRoute::AnthropicModels),
        _ => {}
    }
    // Cohere's SDK posts to `{base_url}/v2/chat` and `/v2/embed`, so `/cohere` is the base to
    // set (also under the LiteLLM / LangChain / PydanticAI prefixes).
    let cohere = path.strip_prefix("/cohere").or_else(|| {
        OPENAI_PREFIXES[1..]
            .iter()
            .find_map(|p| path.strip_prefix(p)?.strip_prefix("/cohere"))
    });
    if let Some(rest) = cohere {
        let op = match rest {
            "/v2/chat" => RequestType::ChatCompletion,
            "/v2/embed" => RequestType::Embedding,
            _ => return None,
        };
        return Some(InferenceRoute::Post(op, COHERE_SDK));
    }
    let rest = OPENAI_PREFIXES
        .iter()
        .find_map(|p| path.strip_prefix(p).filter(|r| r.starts_with('/')))?;
    // Azure OpenAI SDKs put the deployment in the path (`{endpoint}/openai/deployments/{id}/...`,
    // so with the endpoint at `/openai` the path carries `/openai` twice).
    let azure = rest
        .strip_prefix("/openai/deployments/")
        .or_else(|| rest.strip_prefix("/deployments/"));
    if let Some(tail) = azure {
        let (deployment, op_path) = tail.split_once('/')?;
        let op = openai_operation(&format!("/{op_path}"))?;
        return Some(op(Dialect {
            default_provider: Some("azure"),
            deployment: Some(deployment).filter(|d| !d.is_empty()),
            client: ClientFormat::OpenAi,
        }));
    }
    let op_path = rest.strip_prefix("/v1").unwrap_or(rest);
    openai_operation(op_path).map(|op| op(Dialect::OPENAI_SDK))
}

type RouteFn = for<'p> fn(Dialect<'p>) -> InferenceRoute<'p>;

/// The OpenAI-shaped operation at `path` (below the `/v1` segment).
fn openai_operation(path: &str) -> Option<RouteFn> {
    Some(match path {
        "/chat/completions" => |d| InferenceRoute::Post(RequestType::ChatCompletion, d),
        "/completions" => |d| InferenceRoute::Post(RequestType::TextCompletion, d),
        "/embeddings" => |d| InferenceRoute::Post(RequestType::Embedding, d),
        "/models" => |_| InferenceRoute::Get,
        // The Responses API: same model naming as the route, answered in Responses' format.
        "/responses" => |d| {
            let d = Dialect {
                client: ClientFormat::Responses,
                ..d
            };
            InferenceRoute::Post(RequestType::Responses, d)
        },
        _ => return None,
    })
}

/// Serves a Google GenAI SDK route, answered in Gemini's shape whatever provider serves the
/// model: bare model names mean the gemini provider, `provider/model` names another.
async fn genai_route(
    worker: &Worker,
    head: &RequestHead,
    body: Bytes,
    genai: GenaiPath<'_>,
    hooks: Option<&mut ChainRun>,
) -> Reply {
    let op = match (genai.op, head.method) {
        (GenaiOp::ListModels, Method::Get) => {
            return Box::pin(genai_models(worker, head.query.as_deref())).await;
        }
        (GenaiOp::Generate, Method::Post) => RequestType::ChatCompletion,
        (GenaiOp::StreamGenerate, Method::Post) => RequestType::ChatCompletionStream,
        (GenaiOp::EmbedContent | GenaiOp::BatchEmbedContents, Method::Post) => {
            RequestType::Embedding
        }
        _ => {
            let err = GatewayError::Provider(Box::new(crate::error::ProviderError {
                status: 405,
                message: format!("method not allowed on {}", head.path),
                ..Default::default()
            }));
            let (status, body) = gemini::error_body(&err);
            return Reply::json(status, body);
        }
    };
    let dialect = Dialect {
        default_provider: Some("gemini"),
        deployment: Some(&genai.model),
        client: ClientFormat::Gemini,
    };
    inference::handle(worker, op, dialect, head, body, hooks).await
}

/// `GET /genai/.../models`: the gemini provider's models (or `?provider=`'s, or every
/// provider's when no gemini provider is configured), in Gemini's list shape. The client's
/// `key=` never leaves the gateway.
async fn genai_models(worker: &Worker, query: Option<&str>) -> Reply {
    let shape = ListingShape {
        own: "gemini",
        listing: gemini::listing_to_gemini,
        error: gemini::error_body,
        bifrost_error: gemini::error_body_from_bifrost,
    };
    drop_in_models(worker, query, shape).await
}

/// `GET /anthropic/v1/models`: the same for the anthropic provider, in Anthropic's list shape
/// (its paging parameters are answered in one page).
async fn anthropic_models(worker: &Worker, query: Option<&str>) -> Reply {
    let shape = ListingShape {
        own: "anthropic",
        listing: anthropic::listing_to_anthropic,
        error: anthropic::error_body,
        bifrost_error: anthropic::error_body_from_bifrost,
    };
    drop_in_models(worker, query, shape).await
}

/// How a drop-in route answers a model listing in its SDK's format.
struct ListingShape {
    /// The provider bare model names mean (its models lose their prefix).
    own: &'static str,
    /// The unified listing in this format.
    listing: fn(&[u8], &str) -> Result<Vec<u8>, crate::providers::unified::TranslateError>,
    /// A gateway error in this format.
    error: fn(&GatewayError) -> (u16, Bytes),
    /// A Bifrost error body re-rendered in this format.
    bifrost_error: fn(u16, &[u8]) -> Bytes,
}

/// Lists `?provider=`'s models, else the route's own provider's when configured, else every
/// provider's, in `shape`. Only `provider` is passed on from the query.
async fn drop_in_models(worker: &Worker, query: Option<&str>, shape: ListingShape) -> Reply {
    let provider = query
        .and_then(|q| inference::models::query_param(q, "provider"))
        .or_else(|| {
            worker
                .table()
                .provider(shape.own)
                .map(|_| shape.own.to_string())
        });
    let query = provider.as_ref().map(|p| format!("provider={p}"));
    let reply = inference::models::list(worker, query.as_deref()).await;
    let super::reply::ReplyBody::Full(listing) = &reply.body else {
        return reply;
    };
    if reply.status >= 300 {
        return Reply::json(reply.status, (shape.bifrost_error)(reply.status, listing));
    }
    match (shape.listing)(listing, shape.own) {
        Ok(body) => Reply::json(200, body),
        Err(e) => {
            let (status, body) = (shape.error)(&GatewayError::Internal(e.to_string()));
            Reply::json(status, body)
        }
    }
}

fn method_not_allowed(path: &str) -> Reply {
    let mut r = Reply::error(
        &GatewayError::BadRequest(format!("method not allowed on {path}")),
        &ErrorContext::default(),
    );
    r.status = 405;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str) -> Option<(RequestType, Option<&str>, Option<&str>)> {
        match inference_route(path)? {
            InferenceRoute::Post(op, d) => Some((op, d.default_provider, d.deployment)),
            InferenceRoute::Get | InferenceRoute::AnthropicModels => None,
        }
    }

    #[test]
    fn unified_and_drop_in_paths() {
        assert_eq!(
            post("/v1/chat/completions"),
            Some((RequestType::ChatCompletion, None, None))
        );
        for p in [
            "/openai/v1/chat/completions",
            "/openai/chat/completions",
            "/litellm/v1/chat/completions",
            "/langchain/chat/completions",
            "/pydanticai/v1/chat/completions",
        ] {
            assert_eq!(
                post(p),
                Some((RequestType::ChatCompletion, Some("openai"), None)),
                "{p}"
            );
        }
        assert_eq!(
            post("/openai/v1/embeddings"),
            Some((RequestType::Embedding, Some("openai"), None))
        );
        assert!(matches!(
            inference_route("/openai/v1/models"),
            Some(InferenceRoute::Get)
        ));
        assert!(inference_route("/openaix/v1/chat/completions").is_none());
        assert!(inference_route("/v2/chat/completions").is_none());
    }

    #[test]
    fn responses_paths() {
        for (p, default) in [
            ("/v1/responses", None),
            ("/openai/v1/responses", Some("openai")),
            ("/openai/responses", Some("openai")),
            ("/litellm/v1/responses", Some("openai")),
            ("/pydanticai/responses", Some("openai")),
        ] {
            match inference_route(p) {
                Some(InferenceRoute::Post(RequestType::Responses, d)) => {
                    assert_eq!(d.client, ClientFormat::Responses, "{p}");
                    assert_eq!(d.default_provider, default, "{p}");
                }
                _ => panic!("{p} not routed"),
            }
        }
        assert!(inference_route("/v1/responses/resp_1").is_none());
    }

    #[test]
    fn anthropic_messages_paths() {
        for p in ["/anthropic/v1/messages", "/litellm/anthropic/v1/messages"] {
            match inference_route(p) {
                Some(InferenceRoute::Post(RequestType::ChatCompletion, d)) => {
                    assert_eq!(d.client, ClientFormat::Anthropic, "{p}");
                    assert_eq!(d.default_provider, Some("anthropic"), "{p}");
                }
                _ => panic!("{p} not routed"),
            }
        }
        for p in [
            "/anthropic/v1/messages/count_tokens",
            "/langchain/anthropic/v1/messages/count_tokens",
        ] {
            match inference_route(p) {
                Some(InferenceRoute::Post(RequestType::CountTokens, d)) => {
                    assert_eq!(d.client, ClientFormat::Anthropic, "{p}");
                }
                _ => panic!("{p} not routed"),
            }
        }
        assert!(matches!(
            inference_route("/anthropic/v1/models"),
            Some(InferenceRoute::AnthropicModels)
        ));
        assert!(inference_route("/anthropic/v1/nothing").is_none());
    }

    #[test]
    fn bedrock_converse_paths() {
        assert_eq!(
            bedrock_path("/bedrock/model/anthropic.claude-v2%3A1/converse"),
            Some((RequestType::ChatCompletion, "anthropic.claude-v2%3A1"))
        );
        assert_eq!(
            bedrock_path("/litellm/bedrock/model/openai%2Fgpt-4o/converse-stream"),
            Some((RequestType::ChatCompletionStream, "openai%2Fgpt-4o"))
        );
        for p in [
            "/bedrock/model//converse",
            "/bedrock/model/a/b/converse",
            "/bedrock/model/a/invoke",
            "/bedrock/models/a/converse",
            "/openai/bedrock/model/a/converse",
        ] {
            assert!(bedrock_path(p).is_none(), "{p}");
        }
    }

    #[test]
    fn cohere_paths() {
        for (p, op) in [
            ("/cohere/v2/chat", RequestType::ChatCompletion),
            ("/cohere/v2/embed", RequestType::Embedding),
            ("/litellm/cohere/v2/chat", RequestType::ChatCompletion),
            ("/langchain/cohere/v2/embed", RequestType::Embedding),
        ] {
            match inference_route(p) {
                Some(InferenceRoute::Post(got, d)) => {
                    assert_eq!(got, op, "{p}");
                    assert_eq!(d.client, ClientFormat::Cohere, "{p}");
                    assert_eq!(d.default_provider, Some("cohere"), "{p}");
                }
                _ => panic!("{p} not routed"),
            }
        }
        for p in [
            "/cohere/v1/chat",
            "/cohere/v2/rerank",
            "/cohere",
            "/openai/cohere/v2/chat",
        ] {
            assert!(inference_route(p).is_none(), "{p}");
        }
    }

    #[test]
    fn azure_deployment_paths() {
        for p in [
            "/openai/deployments/my-gpt/chat/completions",
            "/openai/openai/deployments/my-gpt/chat/completions",
        ] {
            assert_eq!(
                post(p),
                Some((RequestType::ChatCompletion, Some("azure"), Some("my-gpt"))),
                "{p}"
            );
        }
        assert!(post("/openai/deployments//chat/completions").is_some_and(|r| r.2.is_none()));
        assert!(inference_route("/openai/deployments/x/unknown").is_none());
    }
}
