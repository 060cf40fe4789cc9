//! Google Vertex AI: Gemini and Anthropic models behind one provider, with OAuth2 auth.
//!
//! Vertex is not a wire format of its own: each model speaks its publisher's format, so the
//! existing translators do the work and this module only adds what Vertex changes:
//!
//! ```text
//! publisher  model (or its deployment) containing "claude" -> anthropic, else google
//! path       {base}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}
//!            google:    :generateContent, :streamGenerateContent?alt=sse, :predict (embeddings)
//!            anthropic: :rawPredict, :streamRawPredict
//! host       https://{region}-aiplatform.googleapis.com (region "global": aiplatform.googleapis.com)
//! body       google: the Gemini body; anthropic: the Messages body without `model`, with
//!            `anthropic_version: vertex-2023-10-16`; embeddings: {instances, parameters}
//! auth       service-account JSON -> RS256 JWT -> token_uri (jwt-bearer grant) -> Bearer token,
//!            cached per key until shortly before it expires
//! ```
//!
//! Not served: fine-tuned endpoint models (all-digit ids on `/endpoints/`), other publishers
//! (Mistral, Llama MaaS), model listing, count-tokens, batch, files, images, and credential
//! types other than `service_account` (external accounts, authorized users, the metadata server).

mod anthropic;
mod credentials;
mod embedding;
mod error;
mod inflight;
mod jwt;
mod key;
mod token;
mod url;

pub use anthropic::{ANTHROPIC_VERSION, anthropic_body};
pub use credentials::ServiceAccount;
pub use embedding::{embedding_request, embedding_response_to_openai};
pub use error::VertexAuthError;
pub use jwt::{JwtClaims, SCOPE, assertion};
pub use key::VertexKey;
pub use token::{TokenSource, token_response};
pub use url::{default_base_url, model_path};

use crate::error::{ProviderError, RequestType};
use crate::providers::catalog::WireFormat;
use crate::providers::gemini;

/// Who publishes a model on Vertex, which decides its wire format and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// Google's Gemini models (`publishers/google`), Gemini wire format.
    Google,
    /// Anthropic's Claude models (`publishers/anthropic`), Messages wire format.
    Anthropic,
}

impl Publisher {
    /// The publisher of `model` (an id or deployment name).
    pub fn of(model: &str) -> Publisher {
        // Vertex ids look like `claude-sonnet-4@20250514`; aliases may carry a prefix.
        if model.contains("claude") {
            Publisher::Anthropic
        } else {
            Publisher::Google
        }
    }

    /// The wire format the publisher's models speak.
    pub fn format(self) -> WireFormat {
        match self {
            Publisher::Google => WireFormat::Gemini,
            Publisher::Anthropic => WireFormat::Anthropic,
        }
    }

    /// The path segment after `publishers/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Publisher::Google => "google",
            Publisher::Anthropic => "anthropic",
        }
    }

    /// The method suffix (`:generateContent`, ...) of `op`, or `None` when not served.
    pub fn method(self, op: RequestType) -> Option<&'static str> {
        use RequestType as R;
        match (self, op) {
            (Publisher::Google, R::ChatCompletion | R::Responses) => Some(":generateContent"),
            (Publisher::Google, R::ChatCompletionStream | R::ResponsesStream) => {
                Some(":streamGenerateContent?alt=sse")
            }
            (Publisher::Google, R::Embedding) => Some(":predict"),
            (Publisher::Anthropic, R::ChatCompletion | R::Responses) => Some(":rawPredict"),
            (Publisher::Anthropic, R::ChatCompletionStream | R::ResponsesStream) => {
                Some(":streamRawPredict")
            }
            _ => None,
        }
    }
}

/// Normalises a Vertex error body: Claude models answer in Anthropic's shape when the model
/// itself refuses, but Google's front end answers auth, quota and routing errors in Google's
/// `{"error":{code,message,status}}` shape for every publisher.
pub fn parse_error(format: WireFormat, status: u16, body: &[u8]) -> ProviderError {
    let anthropic_shaped = format == WireFormat::Anthropic
        && sonic_rs::get(body, ["type"])
            .ok()
            .is_some_and(|t| t.as_raw_str() == "\"error\"");
    if anthropic_shaped {
        crate::providers::anthropic::parse_error(status, body)
    } else {
        gemini::parse_error(status, body)
    }
}

/// The operations Vertex serves for some publisher (checked before the model is known).
pub fn operation_path(op: RequestType) -> Option<&'static str> {
    Publisher::Google
        .method(op)
        .or_else(|| Publisher::Anthropic.method(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_either_shape() {
        let a = parse_error(
            WireFormat::Anthropic,
            429,
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        );
        assert_eq!(
            (a.message.as_str(), a.kind.as_deref()),
            ("slow down", Some("rate_limit_error"))
        );
        let g = parse_error(
            WireFormat::Anthropic,
            404,
            br#"{"error":{"code":404,"message":"Publisher model not found","status":"NOT_FOUND"}}"#,
        );
        assert_eq!(g.message, "Publisher model not found");
        assert_eq!(g.status, 404);
    }

    #[test]
    fn publisher_follows_the_model_name() {
        assert_eq!(
            Publisher::of("claude-sonnet-4@20250514"),
            Publisher::Anthropic
        );
        assert_eq!(Publisher::of("gemini-2.5-flash"), Publisher::Google);
        assert_eq!(Publisher::Anthropic.format(), WireFormat::Anthropic);
        assert_eq!(
            Publisher::Google.method(RequestType::ChatCompletionStream),
            Some(":streamGenerateContent?alt=sse")
        );
        assert_eq!(Publisher::Anthropic.method(RequestType::Embedding), None);
        assert!(operation_path(RequestType::TextCompletion).is_none());
        assert_eq!(operation_path(RequestType::Embedding), Some(":predict"));
    }
}
