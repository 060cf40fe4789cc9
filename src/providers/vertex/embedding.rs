//! Text embeddings on Vertex: `:predict` with `instances`, not Gemini's `batchEmbedContents`.

use serde_json::{Map, Value, json};

use crate::error::GatewayError;
use crate::providers::unified::TranslateError;

/// An OpenAI embeddings body as a Vertex `:predict` body: one instance per input text,
/// `dimensions` as `outputDimensionality`, `autoTruncate` on (as Bifrost).
pub fn embedding_request(openai: &[u8]) -> Result<Vec<u8>, GatewayError> {
    let bad = |m: &str| GatewayError::BadRequest(m.to_string());
    let v: Value = serde_json::from_slice(openai).map_err(|_| bad("invalid embeddings body"))?;
    let texts: Vec<&str> = match v.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("vertex embeddings take text inputs only (no token arrays)"))?,
        _ => return Err(bad("embeddings need an input string or array of strings")),
    };
    if texts.is_empty() {
        return Err(bad("embeddings need at least one input"));
    }
    let instances: Vec<Value> = texts
        .into_iter()
        .map(|t| {
            let mut inst = Map::new();
            inst.insert("content".into(), Value::from(t));
            // Bifrost's extra params for Vertex text embeddings.
            for (from, to) in [("task_type", "task_type"), ("title", "title")] {
                if let Some(s) = v.get(from).and_then(Value::as_str) {
                    inst.insert(to.into(), Value::from(s));
                }
            }
            Value::Object(inst)
        })
        .collect();
    let mut parameters = Map::new();
    parameters.insert("autoTruncate".into(), Value::Bool(true));
    if let Some(d) = v.get("dimensions").and_then(Value::as_u64) {
        parameters.insert("outputDimensionality".into(), Value::from(d));
    }
    serde_json::to_vec(&json!({"instances": instances, "parameters": parameters}))
        .map_err(|e| GatewayError::Internal(e.to_string()))
}

/// A Vertex `:predict` embeddings answer as an OpenAI `list` of embeddings.
pub fn embedding_response_to_openai(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| TranslateError::Decode(e.to_string()))?;
    let predictions = v
        .get("predictions")
        .and_then(Value::as_array)
        .ok_or_else(|| TranslateError::Invalid("no predictions in the answer".into()))?;
    let mut data = Vec::with_capacity(predictions.len());
    let mut tokens = 0u64;
    for (i, p) in predictions.iter().enumerate() {
        let emb = p.get("embeddings");
        let values = emb
            .and_then(|e| e.get("values"))
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        tokens += emb
            .and_then(|e| e.get("statistics"))
            .and_then(|s| s.get("token_count"))
            .and_then(Value::as_f64)
            .map_or(0, |n| n as u64);
        data.push(json!({"object": "embedding", "embedding": values, "index": i}));
    }
    serde_json::to_vec(&json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .map_err(|e| TranslateError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_become_instances() {
        let out =
            embedding_request(br#"{"model":"m","input":["a","b"],"dimensions":8}"#).expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v,
            json!({"instances": [{"content": "a"}, {"content": "b"}],
                   "parameters": {"autoTruncate": true, "outputDimensionality": 8}})
        );
        assert!(embedding_request(br#"{"input":[[1,2]]}"#).is_err());
        assert!(embedding_request(br#"{"input":[]}"#).is_err());
    }

    #[test]
    fn predictions_become_a_list() {
        let body = br#"{"predictions":[{"embeddings":{"values":[0.5,1.0],"statistics":{"token_count":3,"truncated":false}}},{"embeddings":{"values":[2.0],"statistics":{"token_count":2}}}]}"#;
        let v: Value =
            serde_json::from_slice(&embedding_response_to_openai(body, "te").expect("ok"))
                .expect("json");
        assert_eq!(v["data"][1]["embedding"], json!([2.0]));
        assert_eq!(v["data"][1]["index"], 1);
        assert_eq!(v["usage"]["total_tokens"], 5);
        assert_eq!(v["model"], "te");
        assert!(embedding_response_to_openai(b"{}", "te").is_err());
    }
}
