//! Embeddings: OpenAI `/v1/embeddings` <-> Gemini `:embedContent` / `:batchEmbedContents`.
//!
//! Upstream, ringway always calls `:batchEmbedContents` (one entry per input, as Bifrost does),
//! so one path serves any number of inputs. Towards Gemini clients an answer carries
//! `embeddings` and, when there is exactly one, `embedding` as well: that shape satisfies both
//! the `:embedContent` and the `:batchEmbedContents` client without knowing which was called.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{
    BatchEmbedContentsRequest, Content, ContentEmbedding, EmbedContentRequest, EmbedResponse, Part,
};
use crate::providers::unified::{self, TranslateError};

/// The parts of an OpenAI embeddings request the translation reads.
#[derive(Deserialize)]
struct OpenAiEmbeddingRequest {
    input: Value,
    #[serde(default)]
    dimensions: Option<u32>,
    #[serde(default, alias = "taskType")]
    task_type: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// Encodes an OpenAI embeddings body as a Gemini `batchEmbedContents` body for `model`.
pub fn embedding_request_to_gemini(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let req: OpenAiEmbeddingRequest = unified::decode(body)?;
    let inputs: Vec<String> = match req.input {
        Value::String(s) => vec![s],
        Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                _ => Err(TranslateError::Unsupported(format!(
                    "input[{i}]: token arrays (Gemini embeds text only)"
                ))),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(TranslateError::Invalid(
                "input must be a string or a non-empty array of strings".into(),
            ));
        }
    };
    let name = resource_name(model);
    let requests = inputs
        .into_iter()
        .map(|text| EmbedContentRequest {
            model: Some(name.clone()),
            content: Content {
                role: None,
                parts: vec![Part::text(text)],
            },
            task_type: req.task_type.clone(),
            title: req.title.clone(),
            output_dimensionality: req.dimensions,
        })
        .collect();
    Ok(unified::encode(&BatchEmbedContentsRequest { requests }))
}

/// Translates a Gemini embedding answer (single or batch) for `model` into an OpenAI
/// embeddings list.
///
/// Gemini reports no token usage for embeddings: the usage is zero.
pub fn embedding_response_to_openai(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let resp: EmbedResponse = unified::decode(body)?;
    let embeddings = match (resp.embeddings, resp.embedding) {
        (Some(list), _) => list,
        (None, Some(one)) => vec![one],
        (None, None) => {
            return Err(TranslateError::Invalid(
                "provider response has no embeddings".into(),
            ));
        }
    };
    let data: Vec<Value> = embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e.values}))
        .collect();
    Ok(unified::encode(&json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": 0, "total_tokens": 0}
    })))
}

/// Converts a Gemini embedding body (`:embedContent` or `:batchEmbedContents`) into an OpenAI
/// embeddings body for `model`; each content's text parts are embedded together.
pub fn embedding_request_from_gemini(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let requests = gemini_embed_requests(body)?;
    let mut input = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        if r.content.parts.iter().any(|p| p.text.is_none()) {
            return Err(TranslateError::Unsupported(format!(
                "requests[{i}].content: only text parts can be embedded by this provider"
            )));
        }
        let texts: Vec<&str> = r
            .content
            .parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect();
        input.push(Value::String(texts.join(" ")));
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.to_string()));
    out.insert("input".into(), Value::Array(input));
    if let Some(d) = requests.first().and_then(|r| r.output_dimensionality) {
        out.insert("dimensions".into(), json!(d));
    }
    Ok(unified::encode(&out))
}

/// The entries of a Gemini embedding body: the batch's, or the single request as one entry.
fn gemini_embed_requests(body: &[u8]) -> Result<Vec<EmbedContentRequest>, TranslateError> {
    #[derive(Deserialize)]
    struct Either {
        #[serde(default)]
        requests: Option<Vec<EmbedContentRequest>>,
        #[serde(flatten)]
        single: EmbedContentRequest,
    }
    let either: Either = unified::decode(body)?;
    let requests = match either.requests {
        Some(r) => r,
        None => vec![either.single],
    };
    if requests.is_empty() || requests.iter().any(|r| r.content.parts.is_empty()) {
        return Err(TranslateError::Invalid(
            "content with at least one part is required".into(),
        ));
    }
    Ok(requests)
}

/// A Gemini embedding body for `model` as the `batchEmbedContents` body sent upstream: a
/// single request becomes a one-entry batch, and every entry names `models/{model}`.
pub fn batch_request_for(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let name = resource_name(model);
    let requests = gemini_embed_requests(body)?
        .into_iter()
        .map(|r| EmbedContentRequest {
            model: Some(name.clone()),
            ..r
        })
        .collect();
    Ok(unified::encode(&BatchEmbedContentsRequest { requests }))
}

/// Translates an OpenAI embeddings list into a Gemini embedding answer.
pub fn embedding_response_to_gemini(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    #[derive(Deserialize)]
    struct List {
        data: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        index: Option<usize>,
        embedding: Value,
    }
    let mut list: List = unified::decode(body)?;
    list.data.sort_by_key(|i| i.index.unwrap_or(0));
    let embeddings = list
        .data
        .into_iter()
        .map(|item| {
            Ok(ContentEmbedding {
                values: vector(item.embedding)?,
            })
        })
        .collect::<Result<Vec<_>, TranslateError>>()?;
    Ok(unified::encode(&with_single(embeddings)))
}

/// `embeddings`, plus `embedding` when there is exactly one.
fn with_single(embeddings: Vec<ContentEmbedding>) -> EmbedResponse {
    EmbedResponse {
        embedding: (embeddings.len() == 1).then(|| embeddings[0].clone()),
        embeddings: Some(embeddings),
    }
}

/// A Gemini batch answer with `embedding` added when it holds one vector (for `:embedContent`
/// clients whose request went upstream as a one-entry batch).
pub fn batch_response_for_client(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    let resp: EmbedResponse = unified::decode(body)?;
    let embeddings = match (resp.embeddings, resp.embedding) {
        (Some(list), _) => list,
        (None, Some(one)) => vec![one],
        (None, None) => Vec::new(),
    };
    Ok(unified::encode(&with_single(embeddings)))
}

/// An OpenAI embedding: a float array, or base64 little-endian f32 (`encoding_format: base64`).
fn vector(v: Value) -> Result<Vec<f64>, TranslateError> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|x| {
                x.as_f64().ok_or_else(|| {
                    TranslateError::Invalid("embedding values must be numbers".into())
                })
            })
            .collect(),
        Value::String(b64) => {
            let bytes = STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| TranslateError::Invalid(format!("embedding base64: {e}")))?;
            Ok(bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect())
        }
        _ => Err(TranslateError::Invalid(
            "embedding must be an array or base64".into(),
        )),
    }
}

/// `models/{model}`, the resource name Gemini wants in batch entries.
fn resource_name(model: &str) -> String {
    if model.starts_with("models/") {
        model.to_string()
    } else {
        format!("models/{model}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn openai_request_becomes_a_batch() {
        let out = embedding_request_to_gemini(
            br#"{"model":"gemini/text-embedding-004","input":["a","b"],"dimensions":4,"encoding_format":"float"}"#,
            "text-embedding-004",
        )
        .expect("ok");
        assert_eq!(
            json_of(&out),
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]},
                 "outputDimensionality": 4},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]},
                 "outputDimensionality": 4}]})
        );
        let one =
            embedding_request_to_gemini(br#"{"input":"x","task_type":"RETRIEVAL_QUERY"}"#, "m")
                .expect("ok");
        assert_eq!(json_of(&one)["requests"][0]["taskType"], "RETRIEVAL_QUERY");
        for bad in [
            &br#"{"input":[1,2]}"#[..],
            br#"{"input":[]}"#,
            br#"{"x":1}"#,
        ] {
            assert!(embedding_request_to_gemini(bad, "m").is_err());
        }
    }

    #[test]
    fn gemini_answers_become_an_openai_list() {
        let v = json_of(
            &embedding_response_to_openai(
                br#"{"embeddings":[{"values":[0.1,-0.2]},{"values":[0.5,0.25]}]}"#,
                "text-embedding-004",
            )
            .expect("ok"),
        );
        assert_eq!(v["object"], "list");
        assert_eq!(v["model"], "text-embedding-004");
        assert_eq!(
            v["data"][1],
            json!({"object": "embedding", "index": 1, "embedding": [0.5, 0.25]})
        );
        assert_eq!(v["usage"]["prompt_tokens"], 0);
        let single = json_of(
            &embedding_response_to_openai(br#"{"embedding":{"values":[1.0]}}"#, "m").expect("ok"),
        );
        assert_eq!(single["data"][0]["embedding"], json!([1.0]));
        assert!(embedding_response_to_openai(b"{}", "m").is_err());
    }

    #[test]
    fn gemini_client_requests_both_shapes() {
        let single = br#"{"content":{"parts":[{"text":"hello"},{"text":"world"}]},"outputDimensionality":8}"#;
        let v =
            json_of(&embedding_request_from_gemini(single, "text-embedding-3-small").expect("ok"));
        assert_eq!(
            v,
            json!({"model": "text-embedding-3-small", "input": ["hello world"], "dimensions": 8})
        );
        let batch = br#"{"requests":[{"model":"models/x","content":{"parts":[{"text":"a"}]}},
            {"model":"models/x","content":{"parts":[{"text":"b"}]}}]}"#;
        let v = json_of(&embedding_request_from_gemini(batch, "m").expect("ok"));
        assert_eq!(v["input"], json!(["a", "b"]));
        let image =
            br#"{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA"}}]}}"#;
        assert!(matches!(
            embedding_request_from_gemini(image, "m"),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(embedding_request_from_gemini(br#"{"content":{"parts":[]}}"#, "m").is_err());
        // Towards a Gemini provider, a single request goes up as a one-entry batch.
        let up = json_of(&batch_request_for(single, "gemini-embedding-001").expect("ok"));
        assert_eq!(up["requests"][0]["model"], "models/gemini-embedding-001");
        assert_eq!(up["requests"][0]["outputDimensionality"], 8);
        assert_eq!(up["requests"][0]["content"]["parts"][1]["text"], "world");
        let up = json_of(&batch_request_for(batch, "other").expect("ok"));
        assert_eq!(up["requests"][1]["model"], "models/other");
    }

    #[test]
    fn openai_lists_become_gemini_answers() {
        let v = json_of(
            &embedding_response_to_gemini(
                br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,1.5]}],"model":"m"}"#,
            )
            .expect("ok"),
        );
        assert_eq!(
            v,
            json!({"embedding": {"values": [0.5, 1.5]}, "embeddings": [{"values": [0.5, 1.5]}]})
        );
        // base64 little-endian f32.
        let b64 = STANDARD.encode([1.0f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat());
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":[3]}},{{"index":0,"embedding":"{b64}"}}]}}"#
        );
        let v = json_of(&embedding_response_to_gemini(body.as_bytes()).expect("ok"));
        assert!(v.get("embedding").is_none());
        assert_eq!(v["embeddings"][0]["values"], json!([1.0, -2.0]));
        assert_eq!(v["embeddings"][1]["values"], json!([3.0]));
        let v = json_of(
            &batch_response_for_client(br#"{"embeddings":[{"values":[2.0]}]}"#).expect("ok"),
        );
        assert_eq!(v["embedding"]["values"], json!([2.0]));
    }
}
