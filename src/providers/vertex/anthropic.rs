//! The Messages body as Vertex's `rawPredict` takes it.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::GatewayError;
use crate::json;

/// The `anthropic_version` Vertex requires in the body (it takes no header).
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// `body` (a Messages request) without `model` (it is in the path) and with
/// `anthropic_version` unless the client set one; members are copied as raw slices, no DOM.
pub fn anthropic_body(body: &[u8]) -> Result<Bytes, GatewayError> {
    let bad = |e: sonic_rs::Error| GatewayError::BadRequest(format!("invalid request body: {e}"));
    let mut out = BytesMut::with_capacity(body.len() + 48);
    out.put_u8(b'{');
    let mut has_version = false;
    let mut first = true;
    for member in sonic_rs::to_object_iter(body) {
        let (key, value) = member.map_err(bad)?;
        if key == "model" {
            continue;
        }
        has_version |= key == "anthropic_version";
        if !first {
            out.put_u8(b',');
        }
        first = false;
        json::write_json_string(&mut out, &key);
        out.put_u8(b':');
        out.put_slice(value.as_raw_str().as_bytes());
    }
    if !has_version {
        if !first {
            out.put_u8(b',');
        }
        out.put_slice(b"\"anthropic_version\":");
        json::write_json_string(&mut out, ANTHROPIC_VERSION);
    }
    out.put_u8(b'}');
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn model_out_version_in() {
        let out = anthropic_body(
            br#"{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi \"q\""}]}"#,
        )
        .expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v,
            json!({"max_tokens": 5, "messages": [{"role": "user", "content": "hi \"q\""}],
                   "anthropic_version": "vertex-2023-10-16"})
        );
        let kept = anthropic_body(br#"{"anthropic_version":"v2"}"#).expect("ok");
        assert_eq!(&kept[..], br#"{"anthropic_version":"v2"}"#);
        let empty = anthropic_body(b"{}").expect("ok");
        assert_eq!(&empty[..], br#"{"anthropic_version":"vertex-2023-10-16"}"#);
        assert!(anthropic_body(b"[1]").is_err());
    }
}
