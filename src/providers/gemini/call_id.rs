//! Tool call ids that carry Gemini thought signatures through clients that know nothing of them.
//!
//! Gemini 2.5+ attaches a `thoughtSignature` to each function call and rejects (Gemini 3) or
//! degrades a conversation whose replayed calls lack it. OpenAI-shaped clients only echo a tool
//! call's `id`, so the signature travels inside the id, as Bifrost does:
//! `<id>_ts_<signature as unpadded base64url>` (url-safe so that the id stays within Anthropic's
//! `[A-Za-z0-9_-]` charset too).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Separator between a tool call id and the signature embedded in it (Bifrost's).
pub const SIGNATURE_SEPARATOR: &str = "_ts_";

/// The dummy signature Gemini accepts on a replayed call whose real signature was lost.
const SKIP_VALIDATOR: &[u8] = b"skip_thought_signature_validator";

/// `id` with `signature` (standard base64, as Gemini sends it) embedded, or `id` alone.
pub fn with_signature(id: &str, signature: Option<&str>) -> String {
    let Some(sig) = signature.filter(|s| !s.is_empty()) else {
        return id.to_string();
    };
    let encoded = match STANDARD.decode(sig) {
        Ok(bytes) => URL_SAFE_NO_PAD.encode(bytes),
        // Not standard base64 (a proxy rewrote it?): keep only what an id may carry.
        Err(_) => sig
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    };
    format!("{id}{SIGNATURE_SEPARATOR}{encoded}")
}

/// Splits an id into its base and the embedded signature (standard base64), if any.
pub fn split(id: &str) -> (&str, Option<String>) {
    match id.split_once(SIGNATURE_SEPARATOR) {
        Some((base, sig)) if !sig.is_empty() => {
            let standard = URL_SAFE_NO_PAD
                .decode(sig)
                .map(|bytes| STANDARD.encode(bytes))
                .unwrap_or_else(|_| sig.to_string());
            (base, Some(standard))
        }
        _ => (id, None),
    }
}

/// The dummy signature, base64-encoded for the wire.
pub fn skip_validator() -> String {
    STANDARD.encode(SKIP_VALIDATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_through_ids() {
        let sig = STANDARD.encode([0xfbu8, 0xff, 0x10, 0x00, 0x7e]);
        assert!(sig.contains('+') || sig.contains('/') || sig.ends_with('='));
        let id = with_signature("get_weather", Some(&sig));
        assert!(id.starts_with("get_weather_ts_"));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{id}"
        );
        assert_eq!(split(&id), ("get_weather", Some(sig)));
        assert_eq!(split("call_1"), ("call_1", None));
        assert_eq!(with_signature("c", None), "c");
        assert_eq!(with_signature("c", Some("")), "c");
        assert_eq!(
            STANDARD.decode(skip_validator()).expect("b64"),
            SKIP_VALIDATOR
        );
    }
}
