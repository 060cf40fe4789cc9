//! Model lists: Gemini `GET models` <-> the gateway's OpenAI-shaped listing.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{ListModelsResponse, Model};
use crate::providers::unified::{self, TranslateError};

/// Gemini's model list as an OpenAI-shaped listing (`{"object": "list", "data": [...]}`, ids
/// without `models/`; the gateway prefixes `provider/`), with the limits and methods Bifrost
/// reports.
pub fn listing_from_gemini(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    let list: ListModelsResponse = unified::decode(body)?;
    let data: Vec<Value> = list
        .models
        .into_iter()
        .map(|m| {
            let id = m
                .name
                .strip_prefix("models/")
                .unwrap_or(&m.name)
                .to_string();
            let mut entry = Map::new();
            entry.insert("id".into(), Value::String(id));
            entry.insert("object".into(), json!("model"));
            entry.insert("owned_by".into(), json!("google"));
            if let Some(n) = m.display_name {
                entry.insert("name".into(), Value::String(n));
            }
            if let Some(d) = m.description {
                entry.insert("description".into(), Value::String(d));
            }
            if let (Some(i), Some(o)) = (m.input_token_limit, m.output_token_limit) {
                entry.insert("context_length".into(), json!(i + o));
            }
            if let Some(i) = m.input_token_limit {
                entry.insert("max_input_tokens".into(), json!(i));
            }
            if let Some(o) = m.output_token_limit {
                entry.insert("max_output_tokens".into(), json!(o));
            }
            if let Some(methods) = m.supported_generation_methods {
                entry.insert("supported_methods".into(), json!(methods));
            }
            Value::Object(entry)
        })
        .collect();
    Ok(unified::encode(&json!({"object": "list", "data": data})))
}

/// The gateway's listing (`{"data": [{"id": "provider/model", ...}]}`) in Gemini's shape.
///
/// Models of `own_provider` are named `models/{model}` (the bare name the `/genai` routes give
/// to that provider); other providers' models keep their prefix (`models/openai/gpt-4o`), which
/// those routes resolve to that provider.
pub fn listing_to_gemini(body: &[u8], own_provider: &str) -> Result<Vec<u8>, TranslateError> {
    #[derive(Deserialize)]
    struct Listing {
        #[serde(default)]
        data: Vec<Map<String, Value>>,
    }
    let listing: Listing = unified::decode(body)?;
    let prefix = format!("{own_provider}/");
    let models = listing
        .data
        .into_iter()
        .filter_map(|m| {
            let id = m.get("id")?.as_str()?;
            let bare = id.strip_prefix(&prefix).unwrap_or(id);
            let str_of = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let methods = match m.get("supported_methods").and_then(Value::as_array) {
                Some(list) => list
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                // Unknown: say what the name suggests, so `supported_actions` filters still work.
                None if bare.contains("embed") => vec!["embedContent".to_string()],
                None => vec!["generateContent".to_string(), "countTokens".to_string()],
            };
            Some(Model {
                name: format!("models/{bare}"),
                display_name: str_of("name").or_else(|| Some(bare.to_string())),
                description: str_of("description"),
                input_token_limit: m.get("max_input_tokens").and_then(Value::as_u64),
                output_token_limit: m.get("max_output_tokens").and_then(Value::as_u64),
                supported_generation_methods: Some(methods),
                extra: Map::new(),
            })
        })
        .collect();
    Ok(unified::encode(&ListModelsResponse {
        models,
        next_page_token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODELS: &str = include_str!("../../../tests/fixtures/gemini/gemini_models.json");

    #[test]
    fn gemini_list_to_openai_entries() {
        let listing: Value =
            serde_json::from_slice(&listing_from_gemini(MODELS.as_bytes()).expect("ok"))
                .expect("json");
        assert_eq!(listing["object"], "list");
        let entries = listing["data"].as_array().expect("data");
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0],
            json!({"id": "gemini-2.5-flash", "object": "model", "owned_by": "google",
                "name": "Gemini 2.5 Flash", "description": "Fast and intelligent",
                "context_length": 1048576 + 65536, "max_input_tokens": 1048576,
                "max_output_tokens": 65536,
                "supported_methods": ["generateContent", "countTokens", "createCachedContent"]})
        );
        assert_eq!(entries[1]["supported_methods"], json!(["embedContent"]));
        assert!(listing_from_gemini(b"{\"models\":3}").is_err());
    }

    #[test]
    fn gateway_listing_to_gemini_list() {
        let body = json!({"object": "list", "data": [
            {"id": "gemini/gemini-2.5-flash", "name": "Gemini 2.5 Flash",
             "max_input_tokens": 10, "max_output_tokens": 5,
             "supported_methods": ["generateContent"]},
            {"id": "openai/text-embedding-3-small", "object": "model"},
            {"id": "openai/gpt-4o", "object": "model"},
            {"object": "model"}
        ]});
        let out = listing_to_gemini(&serde_json::to_vec(&body).expect("j"), "gemini").expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["models"][0],
            json!({"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
                "inputTokenLimit": 10, "outputTokenLimit": 5,
                "supportedGenerationMethods": ["generateContent"]})
        );
        assert_eq!(
            v["models"][1]["name"],
            "models/openai/text-embedding-3-small"
        );
        assert_eq!(
            v["models"][1]["supportedGenerationMethods"],
            json!(["embedContent"])
        );
        assert_eq!(v["models"][2]["displayName"], "openai/gpt-4o");
        assert_eq!(v["models"].as_array().map(Vec::len), Some(3));
    }
}
