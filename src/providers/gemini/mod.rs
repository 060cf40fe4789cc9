//! Google Gemini API (`generativelanguage.googleapis.com`): translation to and from the unified
//! (OpenAI-shaped) schema, and the pieces of the `/genai` drop-in routes.
//!
//! Pure code, no I/O. Every pair is covered, since a client may speak either side:
//!
//! ```text
//! request    unified ChatRequest --request_to_gemini-->   generateContent body  (upstream gemini)
//!            generateContent     --request_from_gemini--> unified ChatRequest   (/genai routes)
//! response   GenerateContentResponse --response_from_gemini--> chat.completion
//!            chat.completion         --response_to_gemini-->   GenerateContentResponse
//! stream     Gemini SSE chunks   --GeminiToOpenAiStream--> chat.completion.chunk events
//!            OpenAI chunk events --OpenAiToGeminiStream--> Gemini SSE chunks
//! embedding  /v1/embeddings <-> :batchEmbedContents (and :embedContent from clients)
//! models     GET models <-> the gateway's OpenAI-shaped listing
//! errors     Google error body -> ProviderError (parse_error); GatewayError -> Google body
//!            (error_body) or `data: {"error": ...}` (error_event)
//! ```
//!
//! The model is part of the URL (`models/{model}:generateContent`), so the operation paths are
//! templates with a `{model}` placeholder that [`path_with_model`] fills per request. Tool call
//! ids carry Gemini thought signatures through OpenAI-shaped clients (see `call_id.rs`).
//!
//! Not translated (dropped or refused, see each function): Gemini built-in tools (Google
//! Search, code execution, URL context) towards other providers, `safetySettings`,
//! `cachedContent` and response modalities towards other providers, executable code and code
//! results, generated images and audio in answers, grounding and citation metadata, logprobs
//! results, non-text embedding inputs towards other providers, `countTokens`.

mod call_id;
mod client_request;
mod count_tokens;
mod embedding;
mod error;
mod genai_path;
mod models;
mod request;
mod response;
mod stream_to_gemini;
mod stream_to_openai;
pub mod wire;

use std::borrow::Cow;

use bytes::Bytes;

pub use call_id::SIGNATURE_SEPARATOR;
pub use client_request::{from_generate_request, request_from_gemini};
pub use count_tokens::{count_tokens_request, count_tokens_to_anthropic};
pub use embedding::{
    batch_request_for, batch_response_for_client, embedding_request_from_gemini,
    embedding_request_to_gemini, embedding_response_to_gemini, embedding_response_to_openai,
};
pub use error::{error_body, error_body_from_bifrost, error_event, parse_error, status_name};
pub use genai_path::{GenaiOp, GenaiPath, parse as parse_genai_path};
pub use models::{listing_from_gemini, listing_to_gemini};
pub use request::{request_to_gemini, to_generate_request};
pub use response::{
    chat_to_gemini, finish_reason, gemini_finish_reason, gemini_to_chat, response_from_gemini,
    response_to_gemini, usage_from_gemini, usage_to_gemini,
};
pub use stream_to_gemini::OpenAiToGeminiStream;
pub use stream_to_openai::GeminiToOpenAiStream;

use crate::error::RequestType;
use crate::json::{self, RequestFields};
use crate::providers::unified::TranslateError;

/// The placeholder the model fills in operation paths.
pub const MODEL_PLACEHOLDER: &str = "{model}";

/// The path of `op` below the versioned base (`/v1beta`), with a `{model}` placeholder, or
/// `None` when Gemini has no such operation (legacy completions).
pub fn operation_path(op: RequestType) -> Option<&'static str> {
    match op {
        // Responses requests are translated through chat (see `Codec::upstream_op`).
        RequestType::ChatCompletion | RequestType::Responses => {
            Some("/models/{model}:generateContent")
        }
        RequestType::ChatCompletionStream | RequestType::ResponsesStream => {
            Some("/models/{model}:streamGenerateContent?alt=sse")
        }
        // One path for any number of inputs; see `embedding`.
        RequestType::Embedding => Some("/models/{model}:batchEmbedContents"),
        // The default page holds 50 models; 1000 is the largest page Google serves.
        RequestType::ListModels => Some("/models?pageSize=1000"),
        RequestType::CountTokens => Some("/models/{model}:countTokens"),
        RequestType::TextCompletion | RequestType::TextCompletionStream => None,
    }
}

/// `template` with its `{model}` placeholder replaced by `model` (a leading `models/` dropped,
/// then percent-encoded as one path segment); templates without a placeholder are returned as
/// they are.
pub fn path_with_model<'t>(template: &'t str, model: &str) -> Cow<'t, str> {
    let Some(at) = template.find(MODEL_PLACEHOLDER) else {
        return Cow::Borrowed(template);
    };
    let model = model.strip_prefix("models/").unwrap_or(model);
    let mut out = String::with_capacity(template.len() + model.len());
    out.push_str(&template[..at]);
    for b in model.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(&template[at + MODEL_PLACEHOLDER.len()..]);
    Cow::Owned(out)
}

/// The body sent to a Gemini provider for a Gemini client: the client's bytes without
/// `fallbacks` (the model is in the URL, so nothing is spliced), except embeddings, which go
/// up as a `batchEmbedContents` body naming `model`.
pub fn passthrough_request(
    op: RequestType,
    body: &Bytes,
    fields: &RequestFields,
    model: &str,
) -> Result<Bytes, TranslateError> {
    if op == RequestType::Embedding {
        return Ok(Bytes::from(batch_request_for(body, model)?));
    }
    Ok(json::rewrite(body, fields, None))
}

/// A Gemini provider's embedding answer for a Gemini client: a one-vector batch answer also
/// gets `embedding`, for `:embedContent` clients whose request went up as a batch.
pub fn passthrough_embedding_response(body: Bytes) -> Bytes {
    match batch_response_for_client(&body) {
        Ok(v) => Bytes::from(v),
        Err(_) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn operation_paths_fill_the_model() {
        let chat = operation_path(RequestType::ChatCompletion).expect("chat");
        assert_eq!(
            path_with_model(&format!("/v1beta{chat}"), "gemini-2.0-flash"),
            "/v1beta/models/gemini-2.0-flash:generateContent"
        );
        let stream = operation_path(RequestType::ChatCompletionStream).expect("stream");
        assert_eq!(
            path_with_model(stream, "models/gemini-2.5-pro"),
            "/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            path_with_model(stream, "we ird/name?x"),
            "/models/we%20ird%2Fname%3Fx:streamGenerateContent?alt=sse"
        );
        assert!(matches!(
            path_with_model("/v1beta/models?pageSize=1000", "x"),
            Cow::Borrowed(_)
        ));
        assert!(operation_path(RequestType::TextCompletion).is_none());
    }

    #[test]
    fn passthrough_drops_fallbacks_and_batches_embeddings() {
        let body = Bytes::from_static(
            br#"{"contents":[{"parts":[{"text":"hi"}]}],"fallbacks":["openai/gpt-4o"]}"#,
        );
        let fields = json::read_fields(&body).expect("fields");
        let out =
            passthrough_request(RequestType::ChatCompletion, &body, &fields, "g").expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v, json!({"contents": [{"parts": [{"text": "hi"}]}]}));
        // Untouched bodies are not copied.
        let plain = Bytes::from_static(br#"{"contents":[]}"#);
        let fields = json::read_fields(&plain).expect("fields");
        let out =
            passthrough_request(RequestType::ChatCompletion, &plain, &fields, "g").expect("ok");
        assert_eq!(out.as_ptr(), plain.as_ptr());
        let single = Bytes::from_static(br#"{"content":{"parts":[{"text":"x"}]}}"#);
        let fields = json::read_fields(&single).expect("fields");
        let out = passthrough_request(RequestType::Embedding, &single, &fields, "e").expect("ok");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["requests"][0]["model"], "models/e");
    }

    #[test]
    fn passthrough_embedding_answers_gain_the_single_form() {
        let emb = Bytes::from_static(br#"{"embeddings":[{"values":[1.0]}]}"#);
        let v: Value = serde_json::from_slice(&passthrough_embedding_response(emb)).expect("json");
        assert_eq!(v["embedding"]["values"], json!([1.0]));
        let odd = Bytes::from_static(b"not json");
        assert_eq!(passthrough_embedding_response(odd.clone()), odd);
    }
}
