//! Errors for a Responses client mid-stream (`event: error`).

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};

use crate::error::{ErrorContext, GatewayError};

/// An `event: error` SSE event for a stream already sent to a Responses client.
///
/// The data is OpenAI's error event (`type`, `code`, `message`, `param`, `sequence_number`)
/// merged into Bifrost's error JSON, so both OpenAI SDKs (which raise on an `error` member) and
/// Bifrost clients read it.
pub fn error_event(err: &GatewayError) -> Bytes {
    error_event_at(err, 0)
}

/// [`error_event`] with the stream's next sequence number.
pub(super) fn error_event_at(err: &GatewayError, sequence_number: u64) -> Bytes {
    let bifrost = err.to_bifrost(&ErrorContext::default());
    let mut data: Value = serde_json::from_slice(&bifrost).unwrap_or_else(|_| json!({}));
    let field = data.get("error").cloned().unwrap_or(Value::Null);
    let code = field
        .get("code")
        .filter(|c| !c.is_null())
        .or_else(|| field.get("type").filter(|t| !t.is_null()))
        .cloned()
        .unwrap_or_else(|| json!(err.status().to_string()));
    if let Value::Object(obj) = &mut data {
        obj.insert("type".into(), json!("error"));
        obj.insert("code".into(), code);
        obj.insert("message".into(), json!(err.to_string()));
        obj.insert(
            "param".into(),
            field.get("param").cloned().unwrap_or(Value::Null),
        );
        obj.insert("sequence_number".into(), json!(sequence_number));
    }
    event("error", &crate::providers::unified::encode(&data))
}

/// One SSE event in the Responses framing: `event: <type>` then `data: <json>`.
pub(super) fn event(kind: &str, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(kind.len() + data.len() + 16);
    out.put_slice(b"event: ");
    out.put_slice(kind.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(data);
    out.put_slice(b"\n\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProviderError;

    #[test]
    fn error_event_carries_both_shapes() {
        let err = GatewayError::Provider(Box::new(ProviderError {
            status: 429,
            code: Some("rate_limit_exceeded".into()),
            message: "slow down".into(),
            ..ProviderError::default()
        }));
        let ev = error_event_at(&err, 7);
        let text = std::str::from_utf8(&ev).expect("utf8");
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
        assert!(text.ends_with("}\n\n"));
        let data: Value =
            serde_json::from_str(&text["event: error\ndata: ".len()..]).expect("json");
        assert_eq!(data["type"], "error");
        assert_eq!(data["code"], "rate_limit_exceeded");
        assert_eq!(data["sequence_number"], 7);
        assert_eq!(data["status_code"], 429);
        assert_eq!(data["error"]["message"], "slow down");
        let net = error_event(&GatewayError::Network("reset".into()));
        let data: Value = serde_json::from_slice(&net["event: error\ndata: ".len()..net.len() - 2])
            .expect("json");
        assert_eq!(data["code"], "502");
    }
}
