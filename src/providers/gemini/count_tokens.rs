//! `models/{model}:countTokens`, serving the Anthropic SDK's `messages/count_tokens` for Gemini
//! models: the Messages request goes up as the `generateContentRequest` it would be, so system
//! instruction and tools count too.

use serde::{Deserialize, Serialize};

use super::request::to_generate_request;
use super::wire::GenerateContentRequest;
use crate::providers::unified::{self, ChatRequest, TranslateError};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CountTokensRequest<'a> {
    generate_content_request: WithModel<'a>,
}

/// Gemini wants the model named inside the wrapped request as well as in the path.
#[derive(Serialize)]
struct WithModel<'a> {
    model: String,
    #[serde(flatten)]
    request: &'a GenerateContentRequest,
}

/// The `:countTokens` body for `req` on `model`.
pub fn count_tokens_request(req: &ChatRequest, model: &str) -> Result<Vec<u8>, TranslateError> {
    let generate = to_generate_request(req, model)?;
    let bare = model.strip_prefix("models/").unwrap_or(model);
    Ok(unified::encode(&CountTokensRequest {
        generate_content_request: WithModel {
            model: format!("models/{bare}"),
            request: &generate,
        },
    }))
}

/// Gemini's `{"totalTokens": n}` as Anthropic's `{"input_tokens": n}`.
pub fn count_tokens_to_anthropic(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Counted {
        #[serde(default)]
        total_tokens: u64,
    }
    let counted: Counted = unified::decode(body)?;
    Ok(format!("{{\"input_tokens\":{}}}", counted.total_tokens).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn wraps_the_generate_request_with_its_model() {
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "gemini-2.0-flash",
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": "count me"}]
        }))
        .expect("request");
        let out: Value =
            serde_json::from_slice(&count_tokens_request(&req, "gemini-2.0-flash").expect("ok"))
                .expect("json");
        let inner = &out["generateContentRequest"];
        assert_eq!(inner["model"], "models/gemini-2.0-flash");
        assert_eq!(inner["contents"][0]["parts"][0]["text"], "count me");
        assert_eq!(inner["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(out.as_object().map(|o| o.len()), Some(1));
    }

    #[test]
    fn total_tokens_become_input_tokens() {
        let out = count_tokens_to_anthropic(br#"{"totalTokens":42,"promptTokensDetails":[]}"#);
        assert_eq!(out.expect("ok"), br#"{"input_tokens":42}"#);
        assert!(count_tokens_to_anthropic(b"{not json").is_err());
        // proto3 JSON leaves out zero values.
        assert_eq!(
            count_tokens_to_anthropic(b"{}").expect("ok"),
            br#"{"input_tokens":0}"#
        );
    }
}
