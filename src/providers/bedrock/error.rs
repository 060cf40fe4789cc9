//! Bedrock errors: HTTP error bodies and in-stream exception messages.
//!
//! HTTP errors carry `{"message": "..."}` (the type is in the `x-amzn-errortype` header, which
//! the status implies well enough); stream exceptions are event-stream messages with
//! `:message-type: exception`, an `:exception-type` header and the same JSON payload.

use serde::Deserialize;

use super::eventstream::Message;
use crate::error::ProviderError;
use crate::providers::openai;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(default, rename = "__type")]
    kind: Option<String>,
}

/// Normalises a Bedrock error body into a [`ProviderError`]; bodies that are not Bedrock-shaped
/// fall back to the OpenAI parser (which also takes plain text).
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
            kind,
        }) => ProviderError {
            status,
            kind: Some(
                kind.as_deref()
                    // `__type` may be namespaced: `com.amazon.coral.validate#ValidationException`.
                    .map(|k| k.rsplit('#').next().unwrap_or(k).to_string())
                    .unwrap_or_else(|| exception_for_status(status).to_string()),
            ),
            code: None,
            message: if message.is_empty() {
                format!("provider returned status {status}")
            } else {
                message
            },
            ..ProviderError::default()
        },
        _ => openai::parse_error(status, body),
    }
}

/// The exception AWS reports for an HTTP status.
pub fn exception_for_status(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

/// The HTTP status for a stream exception type. Transient ones use the status the retry logic
/// recognises (as Bifrost maps them), so an exception as the first event is retried.
pub fn status_of_exception(exception: &str) -> u16 {
    // Stream headers spell them camelCase, HTTP error types PascalCase.
    let lower = exception.to_ascii_lowercase();
    match lower.as_str() {
        "throttlingexception" => 429,
        "serviceunavailableexception" | "modelnotreadyexception" | "modelstreamerrorexception" => {
            503
        }
        "modeltimeoutexception" => 504,
        "validationexception" => 400,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        _ => 500,
    }
}

/// The error an event-stream message carries, if it is not an ordinary event.
pub fn message_error(msg: &Message<'_>) -> Option<ProviderError> {
    match msg.header_str(":message-type").unwrap_or("event") {
        "event" => None,
        "exception" => {
            let kind = msg
                .header_str(":exception-type")
                .unwrap_or("internalServerException");
            let message = serde_json::from_slice::<ErrorBody>(msg.payload)
                .ok()
                .and_then(|b| b.message)
                .unwrap_or_else(|| String::from_utf8_lossy(msg.payload).into_owned());
            Some(ProviderError {
                status: status_of_exception(kind),
                kind: Some(kind.to_string()),
                code: None,
                message: format!("{kind}: {message}"),
                ..ProviderError::default()
            })
        }
        // `:message-type: error`: a protocol-level failure with code and message headers.
        _ => {
            let code = msg.header_str(":error-code").unwrap_or("InternalFailure");
            let message = msg.header_str(":error-message").unwrap_or("stream error");
            Some(ProviderError {
                status: status_of_exception(code),
                kind: Some(code.to_string()),
                code: None,
                message: format!("{code}: {message}"),
                ..ProviderError::default()
            })
        }
    }
}

/// The error carried by a raw frame (an undecodable frame counts as one).
pub fn frame_error(frame: &[u8]) -> Option<ProviderError> {
    match Message::decode(frame) {
        Ok(m) => message_error(&m),
        Err(e) => Some(ProviderError {
            status: 502,
            kind: None,
            code: None,
            message: format!("invalid stream from provider: {e}"),
            ..ProviderError::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::bedrock::eventstream::{encode, encode_event, encode_exception};

    const ERROR: &str = include_str!("../../../tests/fixtures/bedrock/bedrock_error.json");

    #[test]
    fn http_error_bodies() {
        let e = parse_error(400, ERROR.as_bytes());
        assert_eq!(e.status, 400);
        assert_eq!(e.kind.as_deref(), Some("ValidationException"));
        assert!(
            e.message
                .starts_with("The provided model identifier is invalid")
        );
        let e = parse_error(429, br#"{"message":"Too many requests, please wait"}"#);
        assert_eq!(e.kind.as_deref(), Some("ThrottlingException"));
        let e = parse_error(
            403,
            br#"{"Message":"denied","__type":"com.amazon.coral.service#AccessDeniedException"}"#,
        );
        assert_eq!(e.kind.as_deref(), Some("AccessDeniedException"));
        assert_eq!(e.message, "denied");
        assert_eq!(
            parse_error(500, br#"{"message":""}"#).message,
            "provider returned status 500"
        );
        // Not Bedrock-shaped: the OpenAI parser's answer.
        assert_eq!(
            parse_error(502, b"<html>bad gateway</html>").message,
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn stream_exceptions() {
        let frame = encode_exception("throttlingException", br#"{"message":"slow down"}"#);
        let e = frame_error(&frame).expect("error");
        assert_eq!(e.status, 429);
        assert_eq!(e.kind.as_deref(), Some("throttlingException"));
        assert_eq!(e.message, "throttlingException: slow down");
        for (kind, status) in [
            ("modelStreamErrorException", 503),
            ("modelTimeoutException", 504),
            ("validationException", 400),
            ("internalServerException", 500),
            ("serviceUnavailableException", 503),
        ] {
            assert_eq!(status_of_exception(kind), status, "{kind}");
        }
        assert!(frame_error(&encode_event("messageStart", b"{}")).is_none());
        let err = encode(
            &[
                (":message-type", "error"),
                (":error-code", "InternalFailure"),
                (":error-message", "boom"),
            ],
            b"",
        );
        assert_eq!(
            frame_error(&err).expect("error").message,
            "InternalFailure: boom"
        );
        assert_eq!(
            frame_error(b"garbage-garbage-garbage")
                .expect("error")
                .status,
            502
        );
        assert_eq!(exception_for_status(418), "InternalServerException");
    }
}
