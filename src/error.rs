//! Typed gateway errors and their one mapping to Bifrost's error JSON.
//!
//! Every failure a client can see is a [`GatewayError`]; [`GatewayError::to_bifrost`] is the only
//! place that decides the status code and the JSON body, so the wire shape stays Bifrost's:
//! `{"is_bifrost_error", "status_code", "error": {"type", "code", "message", "param"}, "extra_fields"}`.

use bytes::Bytes;
use serde::Serialize;

use crate::json::JsonError;

/// The operation a request asked for, in Bifrost's `request_type` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// `POST /v1/chat/completions` without streaming.
    ChatCompletion,
    /// `POST /v1/chat/completions` with `stream: true`.
    ChatCompletionStream,
    /// `POST /v1/completions` without streaming.
    TextCompletion,
    /// `POST /v1/completions` with `stream: true`.
    TextCompletionStream,
    /// `POST /v1/embeddings`.
    Embedding,
    /// `GET /v1/models`.
    ListModels,
    /// `POST /v1/responses` without streaming.
    Responses,
    /// `POST /v1/responses` with `stream: true`.
    ResponsesStream,
    /// `POST /anthropic/v1/messages/count_tokens`: input tokens of a Messages request.
    CountTokens,
}

impl RequestType {
    /// Every request type, in [`RequestType::index`] order.
    pub const ALL: [RequestType; 9] = [
        Self::ChatCompletion,
        Self::ChatCompletionStream,
        Self::TextCompletion,
        Self::TextCompletionStream,
        Self::Embedding,
        Self::ListModels,
        Self::Responses,
        Self::ResponsesStream,
        Self::CountTokens,
    ];

    /// Position in [`RequestType::ALL`] (for per-operation tables).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Bifrost's name for the request type (also the key of `allowed_requests`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChatCompletion => "chat_completion",
            Self::ChatCompletionStream => "chat_completion_stream",
            Self::TextCompletion => "text_completion",
            Self::TextCompletionStream => "text_completion_stream",
            Self::Embedding => "embedding",
            Self::ListModels => "list_models",
            Self::Responses => "responses",
            Self::ResponsesStream => "responses_stream",
            Self::CountTokens => "count_tokens",
        }
    }

    /// Whether the response is an SSE stream.
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Self::ChatCompletionStream | Self::TextCompletionStream | Self::ResponsesStream
        )
    }
}

/// An error returned by an upstream provider, normalised from its body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderError {
    /// HTTP status the provider answered with.
    pub status: u16,
    /// `error.type` from the provider body, if any.
    pub kind: Option<String>,
    /// `error.code` from the provider body (numbers are stringified, as Bifrost does).
    pub code: Option<String>,
    /// Human-readable message.
    pub message: String,
    /// `error.param` from the provider body, if any.
    pub param: Option<serde_json::Value>,
    /// Provider headers passed on to the client (rate limits, `retry-after`, request ids).
    pub headers: Vec<(String, String)>,
    /// The body sent upstream, echoed as `extra_fields.raw_request` (`send_back_raw_request`).
    pub raw_request: Option<bytes::Bytes>,
    /// The provider's error body, echoed as `extra_fields.raw_response`
    /// (`send_back_raw_response`).
    pub raw_response: Option<bytes::Bytes>,
}

impl ProviderError {
    /// The error a Bifrost error JSON body (what the shared handlers answer) describes, to be
    /// re-rendered in a drop-in route's own format.
    pub fn from_bifrost_body(status: u16, body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let message = v
            .pointer("/error/message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("request failed")
            .to_string();
        Self {
            status,
            message,
            ..Self::default()
        }
    }
}

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A malformed request (bad JSON, wrong types, missing fields).
    #[error("{0}")]
    BadRequest(String),
    /// No route matches the path.
    #[error("Route not found: {0}")]
    RouteNotFound(String),
    /// The request body exceeds `client.max_request_body_size_mb`.
    #[error("request body too large: limit is {limit_mb} MB")]
    BodyTooLarge {
        /// Configured limit in megabytes.
        limit_mb: u64,
    },
    /// The body nests deeper than the gateway accepts, or is not valid JSON.
    #[error("invalid request body: {0}")]
    Json(#[from] JsonError),
    /// The provider in `provider/model` is not configured.
    #[error("failed to get config for provider: {0}")]
    UnknownProvider(String),
    /// The provider has no usable key for the model.
    #[error("no keys found that support model: {0}")]
    NoKeyForModel(String),
    /// The same for a provider whose keys map models to deployments (Azure, Bedrock), worded as
    /// Bifrost words it there.
    #[error("no keys found that support model/deployment: {0}")]
    NoKeyForDeployment(String),
    /// `x-bf-api-key` named a key that does not exist (or cannot serve the model).
    #[error("key '{0}' not found for provider")]
    PinnedKeyNotFound(String),
    /// The provider does not allow this request type (`custom_provider_config.allowed_requests`).
    #[error("{request_type} is not supported by {provider}")]
    Unsupported {
        /// Provider name.
        provider: String,
        /// Request type refused.
        request_type: &'static str,
    },
    /// The provider's wire format is not served yet.
    #[error("provider {0} uses a wire format this ringway build does not serve yet")]
    FormatNotServed(String),
    /// The provider's queue is full and `drop_excess_requests` is on.
    #[error("request dropped: queue is full")]
    QueueFull,
    /// The upstream did not answer within `default_request_timeout_in_seconds`.
    #[error(
        "request timed out after {0} seconds (increase network_config.default_request_timeout_in_seconds)"
    )]
    Timeout(u64),
    /// Connecting to or talking with the upstream failed before a response.
    #[error("error while making request to the provider: {0}")]
    Network(String),
    /// Every key was refused by the provider (401/402/403 on each).
    #[error("all keys for provider {0} were rejected by the upstream")]
    CredentialsExhausted(String),
    /// The provider answered with an error status.
    #[error("{}", .0.message)]
    Provider(Box<ProviderError>),
    /// The gateway is shutting down.
    #[error("gateway is shutting down")]
    ShuttingDown,
    /// A provider's token-based auth failed before the request was sent (Vertex OAuth2).
    #[error("{0}")]
    ProviderAuth(#[from] crate::providers::vertex::VertexAuthError),
    /// A bug or an unexpected state inside the gateway.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Bifrost's `extra_fields` on an error: who was asked for what.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorContext {
    /// Provider that served (or was asked to serve) the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model as the client asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_requested: Option<String>,
    /// Operation name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorField<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct BifrostErrorBody<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    is_bifrost_error: bool,
    status_code: u16,
    error: ErrorField<'a>,
    extra_fields: ExtraFields<'a>,
}

#[derive(Serialize)]
struct ExtraFields<'a> {
    #[serde(flatten)]
    ctx: &'a ErrorContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_request: Option<RawBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_response: Option<RawBody<'a>>,
}

/// A raw provider body: embedded as JSON when it is JSON, else as a string.
struct RawBody<'a>(&'a [u8]);

impl Serialize for RawBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_slice::<serde_json::Value>(self.0) {
            Ok(v) => v.serialize(s),
            Err(_) => s.serialize_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

impl GatewayError {
    /// The HTTP status this error is answered with (Bifrost's mapping).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_)
            | Self::Json(_)
            | Self::UnknownProvider(_)
            | Self::NoKeyForModel(_)
            | Self::NoKeyForDeployment(_)
            | Self::PinnedKeyNotFound(_)
            | Self::Unsupported { .. }
            | Self::FormatNotServed(_) => 400,
            Self::RouteNotFound(_) => 404,
            Self::BodyTooLarge { .. } => 413,
            Self::QueueFull | Self::ShuttingDown => 503,
            Self::Timeout(_) => 504,
            Self::Network(_) | Self::CredentialsExhausted(_) => 502,
            Self::Provider(p) => p.status,
            Self::ProviderAuth(e) => e.status(),
            Self::Internal(_) => 500,
        }
    }

    /// Whether the failure was decided by the gateway itself (Bifrost's `is_bifrost_error`).
    pub fn is_bifrost_error(&self) -> bool {
        !matches!(
            self,
            Self::Provider(_)
                | Self::BadRequest(_)
                | Self::Json(_)
                | Self::RouteNotFound(_)
                | Self::BodyTooLarge { .. }
                | Self::UnknownProvider(_)
                | Self::NoKeyForModel(_)
                | Self::NoKeyForDeployment(_)
                | Self::PinnedKeyNotFound(_)
        )
    }

    /// Bifrost's `error.type` for gateway-made errors.
    fn kind(&self) -> Option<&str> {
        match self {
            Self::QueueFull => Some("request_dropped"),
            Self::Timeout(_) => Some("request_timed_out"),
            Self::CredentialsExhausted(_) => Some("upstream_credentials_exhausted"),
            Self::Unsupported { .. } => Some("unsupported_operation"),
            Self::BodyTooLarge { .. } => Some("request_too_large"),
            Self::Provider(p) => p.kind.as_deref(),
            _ => None,
        }
    }

    /// Whether a fallback provider may be tried after this error (Bifrost's `AllowFallbacks`).
    pub fn allows_fallbacks(&self) -> bool {
        !matches!(
            self,
            Self::BadRequest(_)
                | Self::Json(_)
                | Self::BodyTooLarge { .. }
                | Self::RouteNotFound(_)
                | Self::ShuttingDown
        )
    }

    /// Renders the error as Bifrost's error JSON body.
    pub fn to_bifrost(&self, ctx: &ErrorContext) -> Bytes {
        let (code, param) = match self {
            Self::Provider(p) => (p.code.as_deref(), p.param.as_ref()),
            Self::CredentialsExhausted(_) => (Some("upstream_credentials_exhausted"), None),
            _ => (None, None),
        };
        let body = BifrostErrorBody {
            kind: self.kind(),
            is_bifrost_error: self.is_bifrost_error(),
            status_code: self.status(),
            error: ErrorField {
                kind: self.kind(),
                code,
                message: self.to_string(),
                param,
            },
            extra_fields: ExtraFields {
                ctx,
                raw_request: match self {
                    Self::Provider(p) => p.raw_request.as_deref().map(RawBody),
                    _ => None,
                },
                raw_response: match self {
                    Self::Provider(p) => p.raw_response.as_deref().map(RawBody),
                    _ => None,
                },
            },
        };
        // Serialising plain structs of strings cannot fail; keep a static fallback anyway.
        match serde_json::to_vec(&body) {
            Ok(v) => Bytes::from(v),
            Err(_) => Bytes::from_static(
                br#"{"is_bifrost_error":true,"status_code":500,"error":{"message":"error encoding failed"},"extra_fields":{}}"#,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &Bytes) -> serde_json::Value {
        serde_json::from_slice(b).expect("valid json")
    }

    #[test]
    fn bad_request_shape() {
        let e = GatewayError::BadRequest("model is required".into());
        let v = parse(&e.to_bifrost(&ErrorContext::default()));
        assert_eq!(e.status(), 400);
        assert_eq!(v["is_bifrost_error"], false);
        assert_eq!(v["status_code"], 400);
        assert_eq!(v["error"]["message"], "model is required");
        assert!(v["extra_fields"].is_object());
    }

    #[test]
    fn missing_keys_are_400_worded_per_provider_kind() {
        let e = GatewayError::NoKeyForDeployment("gpt-4o".into());
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.to_string(),
            "no keys found that support model/deployment: gpt-4o"
        );
        let e = GatewayError::NoKeyForModel("gpt-4o".into());
        assert_eq!(e.to_string(), "no keys found that support model: gpt-4o");
        assert_eq!(
            parse(&e.to_bifrost(&ErrorContext::default()))["is_bifrost_error"],
            false
        );
    }

    #[test]
    fn provider_error_keeps_upstream_fields() {
        let e = GatewayError::Provider(Box::new(ProviderError {
            status: 429,
            kind: Some("rate_limit_exceeded".into()),
            code: Some("rate_limit".into()),
            message: "slow down".into(),
            ..ProviderError::default()
        }));
        let ctx = ErrorContext {
            provider: Some("openai".into()),
            model_requested: Some("gpt-4o".into()),
            request_type: Some("chat_completion"),
        };
        let v = parse(&e.to_bifrost(&ctx));
        assert_eq!(e.status(), 429);
        assert_eq!(v["error"]["type"], "rate_limit_exceeded");
        assert_eq!(v["error"]["code"], "rate_limit");
        assert_eq!(v["extra_fields"]["provider"], "openai");
        assert_eq!(v["extra_fields"]["model_requested"], "gpt-4o");
        assert_eq!(v["extra_fields"]["request_type"], "chat_completion");
    }

    #[test]
    fn queue_full_is_503_request_dropped() {
        let e = GatewayError::QueueFull;
        let v = parse(&e.to_bifrost(&ErrorContext::default()));
        assert_eq!(e.status(), 503);
        assert_eq!(v["is_bifrost_error"], true);
        assert_eq!(v["error"]["type"], "request_dropped");
    }
}
