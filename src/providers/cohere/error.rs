//! Errors in Cohere's shape: `{"id": ..., "message": ...}`, and a failed stream's
//! `message-end`.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::ErrorBody;
use crate::error::{GatewayError, ProviderError};
use crate::json::write_json_string;
use crate::providers::{openai, unified};

/// Normalises a Cohere error body into a [`ProviderError`].
///
/// Cohere answers `{"id", "message"}` with the HTTP status as the only classification; that
/// shape, OpenAI-style bodies (from proxies in front of Cohere) and plain text are all read by
/// the OpenAI parser, which takes a bare top-level `message`.
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    openai::parse_error(status, body)
}

/// The error in Cohere's shape, for the `/cohere/*` drop-in routes: `(status, body)`. Cohere
/// classifies errors by HTTP status only, so the status is kept.
pub fn error_body(err: &GatewayError) -> (u16, Bytes) {
    let body = ErrorBody {
        id: None,
        message: err.to_string(),
    };
    (err.status(), Bytes::from(unified::encode(&body)))
}

/// The event ending a stream already sent to a Cohere client: a `message-end` with
/// `finish_reason: "ERROR"` and the message in `delta.error`, as Cohere reports a failure.
pub fn error_event(err: &GatewayError) -> Bytes {
    message_end_error(&err.to_string())
}

/// `event: message-end` carrying `error` (shared with the stream translator).
pub(super) fn message_end_error(error: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(error.len() + 112);
    out.put_slice(b"event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"error\":");
    write_json_string(&mut out, error);
    out.put_slice(b",\"finish_reason\":\"ERROR\"}}\n\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: &str = include_str!("../../../tests/fixtures/cohere/cohere_error.json");

    #[test]
    fn parses_cohere_error_body() {
        let e = parse_error(401, ERROR.as_bytes());
        assert_eq!(e.status, 401);
        assert_eq!(e.message, "invalid api token");
        assert!(e.kind.is_none() && e.code.is_none() && e.param.is_none());
        let gw = crate::error::GatewayError::Provider(Box::new(e));
        let v: serde_json::Value =
            serde_json::from_slice(&gw.to_bifrost(&Default::default())).expect("json");
        assert_eq!(v["status_code"], 401);
        assert_eq!(v["error"]["message"], "invalid api token");
    }

    #[test]
    fn other_bodies() {
        let limited = parse_error(
            429,
            br#"{"id":"x","message":"You are using a Trial key, which is limited to 20 API calls / minute."}"#,
        );
        assert!(limited.message.starts_with("You are using a Trial key"));
        assert_eq!(
            parse_error(502, b"<html>bad gateway</html>").message,
            "<html>bad gateway</html>"
        );
        assert_eq!(
            parse_error(500, b"").message,
            "provider returned status 500"
        );
    }

    #[test]
    fn gateway_errors_in_cohere_shape() {
        let (status, body) = error_body(&GatewayError::BadRequest("texts is required".into()));
        assert_eq!(status, 400);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, serde_json::json!({"message": "texts is required"}));
        assert_eq!(error_body(&GatewayError::QueueFull).0, 503);
        let ev = error_event(&GatewayError::Network("reset \"x\"".into()));
        assert!(ev.starts_with(b"event: message-end\ndata: {"));
        assert!(ev.ends_with(b"}\n\n"));
        let data = crate::sse::event_data(&ev).expect("data");
        let v: serde_json::Value = serde_json::from_slice(&data).expect("json");
        assert_eq!(v["type"], "message-end");
        assert_eq!(v["delta"]["finish_reason"], "ERROR");
        assert!(
            v["delta"]["error"]
                .as_str()
                .is_some_and(|m| m.contains("reset \"x\""))
        );
    }
}
