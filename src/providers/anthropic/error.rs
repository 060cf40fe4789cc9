//! Errors in Anthropic's shape: `{"type": "error", "error": {"type", "message"}}`.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{ErrorBody, ErrorDetail};
use crate::error::{GatewayError, ProviderError};
use crate::providers::{openai, unified};

/// Normalises an Anthropic error body into a [`ProviderError`].
///
/// Bodies that are not Anthropic-shaped (a proxy's HTML page, an OpenAI-style body) fall back
/// to the OpenAI parser, which also handles plain text.
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if b.kind == "error" => ProviderError {
            status,
            kind: Some(b.error.kind),
            code: None,
            message: if b.error.message.is_empty() {
                format!("provider returned status {status}")
            } else {
                b.error.message
            },
            ..ProviderError::default()
        },
        _ => openai::parse_error(status, body),
    }
}

/// Anthropic's error type for an HTTP status.
pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The HTTP status Anthropic uses for an error type (500 for unknown types).
pub fn status_of(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// Whether `kind` is one of Anthropic's error types (so it can be passed through as is).
fn is_anthropic_type(kind: &str) -> bool {
    status_of(kind) != 500 || kind == "api_error"
}

/// The error in Anthropic's shape, for the `/anthropic/*` drop-in routes: `(status, body)`.
pub fn error_body(err: &GatewayError) -> (u16, Bytes) {
    let status = err.status();
    (status, Bytes::from(unified::encode(&error_of(err))))
}

/// An `event: error` SSE event carrying `err`, for a stream already sent to an Anthropic client.
pub fn error_event(err: &GatewayError) -> Bytes {
    let data = unified::encode(&error_of(err));
    let mut out = BytesMut::with_capacity(data.len() + 24);
    out.put_slice(b"event: error\ndata: ");
    out.put_slice(&data);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// Re-renders a Bifrost error JSON body (as the shared handlers answer) in Anthropic's shape.
pub fn error_body_from_bifrost(status: u16, body: &[u8]) -> Bytes {
    let err = GatewayError::Provider(Box::new(ProviderError::from_bifrost_body(status, body)));
    error_body(&err).1
}

fn error_of(err: &GatewayError) -> ErrorBody {
    let kind = match err {
        GatewayError::Provider(p) => p
            .kind
            .as_deref()
            .filter(|k| is_anthropic_type(k))
            .unwrap_or_else(|| error_type(p.status)),
        _ => error_type(err.status()),
    };
    ErrorBody {
        kind: "error".into(),
        error: ErrorDetail {
            kind: kind.to_string(),
            message: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const ERROR: &str = include_str!("../../../tests/fixtures/anthropic/anthropic_error.json");

    #[test]
    fn parses_anthropic_error_body() {
        let e = parse_error(529, ERROR.as_bytes());
        assert_eq!(e.status, 529);
        assert_eq!(e.kind.as_deref(), Some("overloaded_error"));
        assert_eq!(e.message, "Overloaded");
        assert!(e.code.is_none() && e.param.is_none());
        let gw = GatewayError::Provider(Box::new(e));
        let v: Value = serde_json::from_slice(&gw.to_bifrost(&Default::default())).expect("json");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(v["status_code"], 529);
    }

    #[test]
    fn non_anthropic_bodies_fall_back() {
        let e = parse_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = parse_error(
            400,
            br#"{"error":{"message":"bad","type":"invalid_request_error"}}"#,
        );
        assert_eq!(e.message, "bad");
        let e = parse_error(
            500,
            br#"{"type":"error","error":{"type":"api_error","message":""}}"#,
        );
        assert_eq!(e.message, "provider returned status 500");
    }

    #[test]
    fn gateway_errors_render_in_anthropic_shape() {
        let (status, body) = error_body(&GatewayError::BadRequest("max_tokens: bad".into()));
        assert_eq!(status, 400);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["message"], "max_tokens: bad");

        let (status, body) = error_body(&GatewayError::QueueFull);
        assert_eq!(status, 503);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["type"], "api_error");

        let rate = GatewayError::Provider(Box::new(ProviderError {
            status: 429,
            kind: Some("rate_limit_exceeded".into()),
            message: "slow down".into(),
            ..ProviderError::default()
        }));
        let v: Value = serde_json::from_slice(&error_body(&rate).1).expect("json");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        let kept = GatewayError::Provider(Box::new(parse_error(529, ERROR.as_bytes())));
        let v: Value = serde_json::from_slice(&error_body(&kept).1).expect("json");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(error_body(&GatewayError::Timeout(30)).0, 504);
    }

    #[test]
    fn error_event_is_anthropic_sse() {
        let ev = error_event(&GatewayError::Network("reset".into()));
        assert!(ev.starts_with(b"event: error\ndata: {"));
        assert!(ev.ends_with(b"}\n\n"));
        let data = crate::sse::event_data(&ev).expect("data");
        let v: Value = serde_json::from_slice(&data).expect("json");
        assert_eq!(v["error"]["type"], "api_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .expect("msg")
                .contains("reset")
        );
    }

    #[test]
    fn status_and_type_tables_agree() {
        for status in [400, 401, 402, 403, 404, 413, 429, 504, 529] {
            assert_eq!(status_of(error_type(status)), status);
        }
        assert_eq!(error_type(500), "api_error");
        assert_eq!(error_type(418), "invalid_request_error");
        assert_eq!(status_of("something_new"), 500);
    }
}
