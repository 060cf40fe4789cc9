//! OpenAI wire format: operation paths, auth headers and error bodies, for OpenAI and every
//! OpenAI-compatible provider (groq, mistral, xai, openrouter, ... vllm, ollama).
//!
//! Requests in this format are forwarded byte for byte (only `model` and `fallbacks` are spliced
//! by [`crate::json`]), so this module never decodes a request body.

use crate::error::{ProviderError, RequestType};
use crate::providers::catalog::AuthStyle;

/// The path of an operation below the provider's versioned base (`/v1`).
pub fn operation_path(op: RequestType) -> &'static str {
    match op {
        RequestType::ChatCompletion | RequestType::ChatCompletionStream => "/chat/completions",
        RequestType::TextCompletion | RequestType::TextCompletionStream => "/completions",
        RequestType::Embedding => "/embeddings",
        RequestType::ListModels => "/models",
        RequestType::Responses | RequestType::ResponsesStream => "/responses",
        // Not offered (see `providers::operation_path`): counting goes through Responses there.
        RequestType::CountTokens => "/responses/input_tokens",
    }
}

/// The auth header carrying `key` for a provider with the given auth style.
///
/// Returns `None` when the key is empty (self-hosted servers without auth).
pub fn auth_header(style: AuthStyle, key: &str) -> Option<(&'static str, String)> {
    if key.is_empty() {
        return None;
    }
    match style {
        AuthStyle::Bearer => Some(("Authorization", format!("Bearer {key}"))),
        AuthStyle::XApiKey => Some(("x-api-key", key.to_string())),
        AuthStyle::ApiKeyHeader => Some(("api-key", key.to_string())),
        AuthStyle::GoogApiKey => Some(("x-goog-api-key", key.to_string())),
        AuthStyle::Signed => None,
    }
}

/// Normalises an OpenAI-style error body (`{"error": {"message", "type", "code", "param"}}`,
/// a bare `{"message"}`, or plain text) into a [`ProviderError`].
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    let mut out = ProviderError {
        status,
        ..ProviderError::default()
    };
    // serde_json stops at 128 levels of nesting, so a hostile error body cannot overflow the stack.
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let obj = parsed.as_ref().and_then(|v| match v.get("error") {
        Some(e @ serde_json::Value::Object(_)) => Some(e),
        _ => v.as_object().map(|_| v),
    });
    if let Some(e) = obj {
        out.message = match (
            e.get("message"),
            parsed.as_ref().and_then(|v| v.get("error")),
        ) {
            (Some(serde_json::Value::String(m)), _) => m.clone(),
            (_, Some(serde_json::Value::String(m))) => m.clone(),
            _ => String::new(),
        };
        out.kind = e.get("type").and_then(|t| t.as_str()).map(str::to_string);
        out.code = match e.get("code") {
            Some(serde_json::Value::String(c)) => Some(c.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        out.param = e.get("param").filter(|p| !p.is_null()).cloned();
    }
    if out.message.is_empty() {
        let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
        out.message = if text.trim().is_empty() {
            format!("provider returned status {status}")
        } else {
            text.trim().to_string()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openai_error_body() {
        let e = parse_error(
            401,
            br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key","param":null}}"#,
        );
        assert_eq!(e.status, 401);
        assert_eq!(e.message, "Incorrect API key");
        assert_eq!(e.kind.as_deref(), Some("invalid_request_error"));
        assert_eq!(e.code.as_deref(), Some("invalid_api_key"));
        assert!(e.param.is_none());
    }

    #[test]
    fn numeric_code_and_plain_text() {
        let e = parse_error(500, br#"{"error":{"message":"boom","code":500}}"#);
        assert_eq!(e.code.as_deref(), Some("500"));
        let t = parse_error(502, b"upstream exploded");
        assert_eq!(t.message, "upstream exploded");
        let empty = parse_error(503, b"");
        assert_eq!(empty.message, "provider returned status 503");
        let s = parse_error(400, br#"{"error":"bad thing"}"#);
        assert_eq!(s.message, "bad thing");
    }

    #[test]
    fn auth_styles() {
        assert_eq!(
            auth_header(AuthStyle::Bearer, "k"),
            Some(("Authorization", "Bearer k".to_string()))
        );
        assert_eq!(auth_header(AuthStyle::Bearer, ""), None);
        assert_eq!(
            auth_header(AuthStyle::XApiKey, "k").map(|h| h.0),
            Some("x-api-key")
        );
    }
}
