//! Embeddings: OpenAI `/embeddings` <-> Cohere v2 `/embed`, requests and answers both ways.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::wire::{self, EmbedRequest, EmbedResponse};
use crate::providers::unified::{self, TranslateError};

/// `input_type` sent when the client names none (Cohere requires one for v3+ models; Bifrost
/// defaults to documents, the side most embeddings are made for).
pub const DEFAULT_INPUT_TYPE: &str = "search_document";

/// An OpenAI embeddings request, as far as the translation reads it.
#[derive(Debug, Deserialize)]
struct OpenAiEmbedRequest {
    #[serde(default)]
    input: Value,
    #[serde(default)]
    dimensions: Option<u64>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Encodes an OpenAI embeddings body as a Cohere v2 embed body for `model`.
///
/// `input` (a string or a list of strings) becomes `texts`; `dimensions` becomes
/// `output_dimension`; Cohere's own `input_type` and `truncate` may be sent as extra members
/// (`input_type` defaults to [`DEFAULT_INPUT_TYPE`]). Float embeddings are asked for; a base64
/// `encoding_format` is applied on the way back. Token-id inputs have no Cohere equivalent.
pub fn embed_request_to_cohere(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let req: OpenAiEmbedRequest = unified::decode(body)?;
    let texts = match req.input {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                _ => Err(TranslateError::Unsupported(format!(
                    "input[{i}]: Cohere embeds text only, not token ids"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Value::Null => return Err(TranslateError::Invalid("input is required".into())),
        _ => {
            return Err(TranslateError::Invalid(
                "input must be a string or an array of strings".into(),
            ));
        }
    };
    let input_type = match req.extra.get("input_type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => DEFAULT_INPUT_TYPE.to_string(),
    };
    let mut extra = Map::new();
    if let Some(t) = req.extra.get("truncate") {
        extra.insert("truncate".into(), t.clone());
    }
    Ok(unified::encode(&EmbedRequest {
        model: model.to_string(),
        texts: Some(texts),
        input_type: Some(input_type),
        embedding_types: Some(vec!["float".into()]),
        output_dimension: req.dimensions,
        extra,
    }))
}

/// One OpenAI embedding: floats, or little-endian f32 bytes in base64.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f64>),
    Base64(String),
}

#[derive(Debug, Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Debug, Serialize)]
struct EmbedUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[derive(Debug, Serialize)]
struct EmbedList<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: EmbedUsage,
}

/// Translates a Cohere embed answer into OpenAI's embeddings list for `model`; `base64` is
/// the client's `encoding_format: "base64"` (what the OpenAI Python SDK asks for by default).
pub fn embed_response_from_cohere(
    body: &[u8],
    model: &str,
    base64: bool,
) -> Result<Vec<u8>, TranslateError> {
    let resp: EmbedResponse = unified::decode(body)?;
    let vectors = resp.embeddings.float.ok_or_else(|| {
        TranslateError::Invalid("the provider's answer carries no float embeddings".into())
    })?;
    let prompt = resp
        .meta
        .as_ref()
        .and_then(|m| {
            let pick = |u: &Option<wire::Units>| u.as_ref().and_then(|u| u.input_tokens);
            pick(&m.tokens).or_else(|| pick(&m.billed_units))
        })
        .unwrap_or(0);
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| Embedding {
            object: "embedding",
            index,
            embedding: if base64 {
                Vector::Base64(to_base64(&v))
            } else {
                Vector::Floats(v)
            },
        })
        .collect();
    Ok(unified::encode(&EmbedList {
        object: "list",
        data,
        model,
        usage: EmbedUsage {
            prompt_tokens: prompt,
            total_tokens: prompt,
        },
    }))
}

/// OpenAI's base64 embedding: the f32 values, little-endian, base64-encoded.
fn to_base64(v: &[f64]) -> String {
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for x in v {
        // Embeddings are f32 upstream; the narrowing only undoes the JSON widening.
        bytes.extend_from_slice(&(*x as f32).to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Encodes a Cohere v2 embed body (the `/cohere/v2/embed` route) as an OpenAI embeddings body
/// for `model`: `texts` become `input`, `output_dimension` becomes `dimensions`, floats are
/// asked for. Image inputs and embedding types other than float are not translated.
pub fn embed_request_to_openai(body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let req: EmbedRequest = unified::decode(body)?;
    if let Some(other) = req
        .embedding_types
        .iter()
        .flatten()
        .find(|t| t.as_str() != "float")
    {
        return Err(TranslateError::Unsupported(format!(
            "embedding_types '{other}' (only float is translated)"
        )));
    }
    if ["images", "inputs"]
        .iter()
        .any(|k| req.extra.get(*k).is_some_and(|v| !v.is_null()))
    {
        return Err(TranslateError::Unsupported(
            "image inputs (only texts are translated)".into(),
        ));
    }
    let texts = req
        .texts
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TranslateError::Invalid("texts is required".into()))?;
    let mut out = serde_json::json!({
        "model": model,
        "input": texts,
        "encoding_format": "float",
    });
    if let (Some(d), Value::Object(o)) = (req.output_dimension, &mut out) {
        o.insert("dimensions".into(), Value::from(d));
    }
    Ok(unified::encode(&out))
}

/// An OpenAI embeddings list, as far as the translation reads it.
#[derive(Debug, Deserialize)]
struct OpenAiEmbedList {
    #[serde(default)]
    data: Vec<OpenAiEmbedding>,
    #[serde(default)]
    usage: Option<OpenAiEmbedUsage>,
}

#[derive(Debug, Deserialize)]
struct OpenAiEmbedding {
    #[serde(default)]
    index: usize,
    embedding: Value,
}

#[derive(Debug, Deserialize)]
struct OpenAiEmbedUsage {
    #[serde(default)]
    prompt_tokens: u64,
}

/// Translates an OpenAI embeddings list into a Cohere v2 embed answer; `request` is the
/// client's Cohere body, whose `texts` the answer echoes as Cohere does.
pub fn embed_response_to_cohere(openai: &[u8], request: &[u8]) -> Result<Vec<u8>, TranslateError> {
    let list: OpenAiEmbedList = unified::decode(openai)?;
    let texts = unified::decode::<EmbedRequest>(request)
        .ok()
        .and_then(|r| r.texts);
    let mut data = list.data;
    data.sort_by_key(|e| e.index);
    let vectors = data
        .into_iter()
        .map(|e| match e.embedding {
            Value::Array(items) => items
                .iter()
                .map(|x| {
                    x.as_f64().ok_or_else(|| {
                        TranslateError::Invalid("embedding holds a non-number".into())
                    })
                })
                .collect(),
            Value::String(b64) => from_base64(&b64),
            _ => Err(TranslateError::Invalid(
                "embedding is neither floats nor base64".into(),
            )),
        })
        .collect::<Result<Vec<Vec<f64>>, _>>()?;
    let prompt = list.usage.map_or(0, |u| u.prompt_tokens);
    Ok(unified::encode(&EmbedResponse {
        id: String::new(),
        embeddings: wire::Embeddings {
            float: Some(vectors),
            extra: Map::new(),
        },
        texts,
        meta: Some(wire::EmbedMeta {
            billed_units: Some(wire::Units {
                input_tokens: Some(prompt),
                output_tokens: None,
                extra: Map::new(),
            }),
            tokens: None,
            extra: Map::from_iter([(
                "api_version".to_string(),
                serde_json::json!({ "version": "2" }),
            )]),
        }),
        response_type: Some("embeddings_by_type".into()),
    }))
}

/// Little-endian f32 values from OpenAI's base64 embedding.
fn from_base64(b64: &str) -> Result<Vec<f64>, TranslateError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| TranslateError::Invalid(format!("base64 embedding: {e}")))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RESPONSE: &str =
        include_str!("../../../tests/fixtures/cohere/cohere_embed_response.json");

    fn request(body: Value) -> Result<Value, TranslateError> {
        let out = embed_request_to_cohere(&serde_json::to_vec(&body).expect("json"), "embed-v4.0")?;
        Ok(serde_json::from_slice(&out).expect("json"))
    }

    #[test]
    fn request_shapes() {
        let one = request(json!({"model": "cohere/embed-v4.0", "input": "hello"})).expect("ok");
        assert_eq!(
            one,
            json!({"model": "embed-v4.0", "texts": ["hello"], "input_type": "search_document",
                   "embedding_types": ["float"]})
        );
        let many = request(json!({"model": "x", "input": ["a", "b"], "dimensions": 256,
            "encoding_format": "base64", "input_type": "search_query", "truncate": "END",
            "user": "u1"}))
        .expect("ok");
        assert_eq!(
            many,
            json!({"model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_query",
                   "embedding_types": ["float"], "output_dimension": 256, "truncate": "END"})
        );
        assert!(matches!(
            request(json!({"model": "x", "input": [1, 2, 3]})),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(request(json!({"model": "x"})).is_err());
        assert!(request(json!({"model": "x", "input": {"a": 1}})).is_err());
    }

    #[test]
    fn response_floats_and_usage() {
        let out = embed_response_from_cohere(RESPONSE.as_bytes(), "embed-v4.0", false).expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["object"], "list");
        assert_eq!(v["model"], "embed-v4.0");
        assert_eq!(
            v["data"][0],
            json!({"object": "embedding", "index": 0,
            "embedding": [0.0123, -0.5, 0.25, 1.0]})
        );
        assert_eq!(v["data"][1]["index"], 1);
        assert_eq!(v["usage"], json!({"prompt_tokens": 6, "total_tokens": 6}));
    }

    #[test]
    fn response_base64_is_little_endian_f32() {
        let out = embed_response_from_cohere(RESPONSE.as_bytes(), "m", true).expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        let b64 = v["data"][0]["embedding"].as_str().expect("base64 string");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![0.0123f32, -0.5, 0.25, 1.0]);
    }

    #[test]
    fn response_without_floats_is_refused() {
        let body =
            br#"{"id":"x","embeddings":{"int8":[[1,2]]},"response_type":"embeddings_by_type"}"#;
        assert!(embed_response_from_cohere(body, "m", false).is_err());
    }

    #[test]
    fn cohere_request_as_openai() {
        let body = br#"{"model":"embed-v4.0","texts":["a","b"],"input_type":"search_query","embedding_types":["float"],"output_dimension":256,"truncate":"END"}"#;
        let out = embed_request_to_openai(body, "text-embedding-3-small").expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v,
            json!({"model": "text-embedding-3-small", "input": ["a", "b"],
                   "encoding_format": "float", "dimensions": 256})
        );
        let int8 = br#"{"model":"m","texts":["a"],"embedding_types":["int8"]}"#;
        assert!(matches!(
            embed_request_to_openai(int8, "m"),
            Err(TranslateError::Unsupported(_))
        ));
        let images = br#"{"model":"m","images":["data:image/png;base64,AA"]}"#;
        assert!(matches!(
            embed_request_to_openai(images, "m"),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(embed_request_to_openai(br#"{"model":"m","texts":[]}"#, "m").is_err());
    }

    #[test]
    fn openai_response_as_cohere() {
        let request =
            br#"{"model":"embed-v4.0","texts":["hello world","bye"],"input_type":"search_query"}"#;
        let b64 = super::to_base64(&[0.5, -0.25]);
        let openai = json!({"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 1, "embedding": b64},
                     {"object": "embedding", "index": 0, "embedding": [0.0123, 1.0]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}});
        let out = embed_response_to_cohere(openai.to_string().as_bytes(), request).expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["embeddings"]["float"],
            json!([[0.0123, 1.0], [0.5, -0.25]])
        );
        assert_eq!(v["texts"], json!(["hello world", "bye"]));
        assert_eq!(v["response_type"], "embeddings_by_type");
        assert_eq!(v["meta"]["billed_units"]["input_tokens"], 3);
        assert_eq!(v["meta"]["api_version"]["version"], "2");
        // And back: Cohere's answer through the provider-side translator gives the same floats.
        let again = embed_response_from_cohere(&out, "m", false).expect("ok");
        let again: Value = serde_json::from_slice(&again).expect("json");
        assert_eq!(again["data"][1]["embedding"], json!([0.5, -0.25]));
        assert!(
            embed_response_to_cohere(br#"{"data":[{"index":0,"embedding":{}}]}"#, request).is_err()
        );
    }
}
