//! The gateway's model listing in Anthropic's shape, for `GET /anthropic/v1/models`.

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::providers::unified::{self, TranslateError};

#[derive(Serialize)]
struct Listing {
    data: Vec<Model>,
    has_more: bool,
    first_id: Option<String>,
    last_id: Option<String>,
}

#[derive(Serialize)]
struct Model {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    display_name: String,
    created_at: String,
}

/// Re-shapes a unified listing (`{"data": [{"id": "provider/model", ...}]}`); `own_provider`'s
/// models lose their prefix, as an Anthropic client names them bare.
pub fn listing_to_anthropic(body: &[u8], own_provider: &str) -> Result<Vec<u8>, TranslateError> {
    #[derive(Deserialize)]
    struct Unified {
        #[serde(default)]
        data: Vec<Map<String, Value>>,
    }
    let listing: Unified = unified::decode(body)?;
    let prefix = format!("{own_provider}/");
    let data: Vec<Model> = listing
        .data
        .iter()
        .filter_map(|m| {
            let id = m.get("id")?.as_str()?;
            let bare = id.strip_prefix(&prefix).unwrap_or(id);
            let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            // Anthropic's own entries carry `created_at`; OpenAI-shaped ones a unix `created`.
            let created_at = text("created_at").unwrap_or_else(|| {
                let secs = m.get("created").and_then(Value::as_u64).unwrap_or(0);
                crate::store::clock::rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
            });
            Some(Model {
                kind: "model",
                id: bare.to_string(),
                display_name: text("display_name").unwrap_or_else(|| bare.to_string()),
                created_at,
            })
        })
        .collect();
    Ok(unified::encode(&Listing {
        first_id: data.first().map(|m| m.id.clone()),
        last_id: data.last().map(|m| m.id.clone()),
        has_more: false,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unified_listing_to_anthropic_list() {
        let body = json!({"object": "list", "data": [
            {"id": "anthropic/claude-3-5-sonnet", "type": "model",
             "display_name": "Claude 3.5 Sonnet", "created_at": "2024-10-22T00:00:00Z"},
            {"id": "openai/gpt-4o", "object": "model", "created": 86400, "owned_by": "openai"}
        ]});
        let out: Value = serde_json::from_slice(
            &listing_to_anthropic(body.to_string().as_bytes(), "anthropic").expect("ok"),
        )
        .expect("json");
        assert_eq!(out["data"][0]["id"], "claude-3-5-sonnet");
        assert_eq!(out["data"][0]["display_name"], "Claude 3.5 Sonnet");
        assert_eq!(out["data"][0]["created_at"], "2024-10-22T00:00:00Z");
        assert_eq!(out["data"][1]["id"], "openai/gpt-4o");
        assert_eq!(out["data"][1]["type"], "model");
        assert!(
            out["data"][1]["created_at"]
                .as_str()
                .expect("date")
                .starts_with("1970-01-02T00:00:00")
        );
        assert_eq!(out["has_more"], false);
        assert_eq!(out["first_id"], "claude-3-5-sonnet");
        assert_eq!(out["last_id"], "openai/gpt-4o");
        let empty: Value = serde_json::from_slice(
            &listing_to_anthropic(br#"{"data":[]}"#, "anthropic").expect("ok"),
        )
        .expect("json");
        assert_eq!(empty["first_id"], Value::Null);
    }
}
