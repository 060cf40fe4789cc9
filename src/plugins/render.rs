//! Bifrost's error JSON for plugin refusals and failures, and its SSE error event.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use crate::error::ErrorContext;

#[derive(Serialize)]
struct ErrorField<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    message: &'a str,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    is_bifrost_error: bool,
    status_code: u16,
    error: ErrorField<'a>,
    extra_fields: &'a ErrorContext,
}

/// `{"type"?, "is_bifrost_error", "status_code", "error": {"type"?, "code"?, "message"},
/// "extra_fields"}`.
pub(crate) fn error_json(
    is_bifrost_error: bool,
    status: u16,
    kind: Option<&str>,
    code: Option<&str>,
    message: &str,
    ctx: &ErrorContext,
) -> Bytes {
    let body = Body {
        kind,
        is_bifrost_error,
        status_code: status,
        error: ErrorField {
            kind,
            code,
            message,
        },
        extra_fields: ctx,
    };
    // Plain structs of strings always serialise; keep a static fallback rather than panic.
    match serde_json::to_vec(&body) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::from_static(
            br#"{"is_bifrost_error":true,"status_code":500,"error":{"message":"error encoding failed"},"extra_fields":{}}"#,
        ),
    }
}

/// An SSE event carrying an error body: `data: {"error": <body>}\n\n` (as the relay sends).
pub(crate) fn error_event(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(body.len() + 24);
    out.put_slice(b"data: {\"error\":");
    out.put_slice(body);
    out.put_slice(b"}\n\n");
    out.freeze()
}
