//! Errors in Google's shape: `{"error": {"code", "message", "status"}}`.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{ErrorBody, ErrorDetail};
use crate::error::{GatewayError, ProviderError};
use crate::providers::{openai, unified};

/// Normalises a Gemini error body into a [`ProviderError`].
///
/// Reads `{"error": {...}}` and the `[{"error": {...}}]` form that non-SSE streams answer with;
/// the body's `code` wins over `status` (a stream's first event carries no HTTP status of its
/// own). Bodies of another shape fall back to the OpenAI parser, which also handles plain text.
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    // serde reads a struct from an array too: pick the form by the first byte.
    let parsed = if body.trim_ascii_start().starts_with(b"[") {
        serde_json::from_slice::<Vec<ErrorBody>>(body)
            .ok()
            .and_then(|v| v.into_iter().next())
    } else {
        serde_json::from_slice::<ErrorBody>(body).ok()
    };
    let Some(ErrorBody { error }) = parsed else {
        return openai::parse_error(status, body);
    };
    let status = Some(error.code)
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(status);
    ProviderError {
        status,
        kind: error.status.filter(|s| !s.is_empty()),
        code: (error.code != 0).then(|| error.code.to_string()),
        message: if error.message.is_empty() {
            format!("provider returned status {status}")
        } else {
            error.message
        },
        ..ProviderError::default()
    }
}

/// Google's canonical status name for an HTTP status.
pub fn status_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// Whether `kind` looks like a canonical status name (`RESOURCE_EXHAUSTED`), so it can be kept.
fn is_status_name(kind: &str) -> bool {
    !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

fn error_of(err: &GatewayError) -> ErrorBody {
    let code = err.status();
    let status = match err {
        GatewayError::Provider(p) => p
            .kind
            .as_deref()
            .filter(|k| is_status_name(k))
            .unwrap_or_else(|| status_name(code)),
        _ => status_name(code),
    };
    ErrorBody {
        error: ErrorDetail {
            code,
            message: err.to_string(),
            status: Some(status.to_string()),
            details: None,
        },
    }
}

/// The error in Google's shape, for the `/genai/*` drop-in routes: `(status, body)`.
pub fn error_body(err: &GatewayError) -> (u16, Bytes) {
    (err.status(), Bytes::from(unified::encode(&error_of(err))))
}

/// A `data: {"error": ...}` SSE event carrying `err`, for a stream already sent to a Gemini
/// client.
pub fn error_event(err: &GatewayError) -> Bytes {
    let data = unified::encode(&error_of(err));
    let mut out = BytesMut::with_capacity(data.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(&data);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// Re-renders a Bifrost error JSON body (as the shared handlers answer) in Google's shape.
pub fn error_body_from_bifrost(status: u16, body: &[u8]) -> Bytes {
    let err = GatewayError::Provider(Box::new(ProviderError::from_bifrost_body(status, body)));
    error_body(&err).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const ERROR: &str = include_str!("../../../tests/fixtures/gemini/gemini_error.json");

    #[test]
    fn parses_gemini_error_bodies() {
        let e = parse_error(400, ERROR.as_bytes());
        assert_eq!(e.status, 400);
        assert_eq!(e.kind.as_deref(), Some("INVALID_ARGUMENT"));
        assert_eq!(e.code.as_deref(), Some("400"));
        assert!(e.message.starts_with("API key not valid"), "{}", e.message);
        let gw = GatewayError::Provider(Box::new(e));
        let v: Value = serde_json::from_slice(&gw.to_bifrost(&Default::default())).expect("json");
        assert_eq!(v["error"]["type"], "INVALID_ARGUMENT");
        assert_eq!(v["status_code"], 400);
        // The array form, and a stream event without an HTTP status of its own.
        let e = parse_error(
            500,
            br#"[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]"#,
        );
        assert_eq!((e.status, e.message.as_str()), (429, "quota"));
    }

    #[test]
    fn other_bodies_fall_back() {
        let e = parse_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = parse_error(
            400,
            br#"{"error":{"message":"bad","type":"invalid_request_error"}}"#,
        );
        assert_eq!(e.message, "bad");
        assert_eq!(e.status, 400);
        let e = parse_error(503, br#"{"error":{"code":503,"message":""}}"#);
        assert_eq!(e.message, "provider returned status 503");
    }

    #[test]
    fn gateway_errors_render_in_google_shape() {
        let (status, body) = error_body(&GatewayError::BadRequest("contents: bad".into()));
        assert_eq!(status, 400);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": 400, "message": "contents: bad",
                "status": "INVALID_ARGUMENT"}})
        );
        let (status, body) = error_body(&GatewayError::QueueFull);
        assert_eq!(status, 503);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["status"], "UNAVAILABLE");
        // A Google status from the provider is kept; an OpenAI type is not.
        let kept = GatewayError::Provider(Box::new(parse_error(400, ERROR.as_bytes())));
        let v: Value = serde_json::from_slice(&error_body(&kept).1).expect("json");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        let rate = GatewayError::Provider(Box::new(ProviderError {
            status: 429,
            kind: Some("rate_limit_exceeded".into()),
            message: "slow down".into(),
            ..ProviderError::default()
        }));
        let v: Value = serde_json::from_slice(&error_body(&rate).1).expect("json");
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(error_body(&GatewayError::Timeout(30)).0, 504);
        let v: Value = serde_json::from_slice(&error_body_from_bifrost(
            404,
            &GatewayError::UnknownProvider("x".into()).to_bifrost(&Default::default()),
        ))
        .expect("json");
        assert_eq!(v["error"]["code"], 404);
        assert_eq!(v["error"]["status"], "NOT_FOUND");
        assert!(v["error"]["message"].as_str().expect("m").contains("x"));
    }

    #[test]
    fn error_event_is_sse_json() {
        let ev = error_event(&GatewayError::Network("reset".into()));
        assert!(ev.starts_with(b"data: {\"error\":"));
        assert!(ev.ends_with(b"}\n\n"));
        let data = crate::sse::event_data(&ev).expect("data");
        let v: Value = serde_json::from_slice(&data).expect("json");
        assert_eq!(v["error"]["code"], 502);
        assert_eq!(v["error"]["status"], "UNAVAILABLE");
    }

    #[test]
    fn status_names() {
        for (code, name) in [
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (413, "INVALID_ARGUMENT"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
        ] {
            assert_eq!(status_name(code), name, "{code}");
        }
    }
}
