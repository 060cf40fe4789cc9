//! Providers: the table of known providers and one module per wire format.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod catalog;
pub mod cohere;
mod cow_str;
pub mod gemini;
pub mod members;
pub mod openai;
pub mod openai_chunks;
pub mod responses;
pub mod unified;
pub mod vertex;

use crate::error::RequestType;
use catalog::WireFormat;

/// The path of `op` below a provider's versioned base, or `None` when the format has no such
/// operation (the request is refused as unsupported).
pub fn operation_path(format: WireFormat, op: RequestType) -> Option<&'static str> {
    match format {
        // Token counting is offered by the Anthropic and Gemini formats only.
        WireFormat::OpenAi if op == RequestType::CountTokens => None,
        WireFormat::OpenAi => Some(openai::operation_path(op)),
        // Below `/openai/deployments/{deployment}` (see `azure::DeploymentPaths`).
        WireFormat::Azure => match op {
            RequestType::Responses | RequestType::ResponsesStream | RequestType::CountTokens => {
                None
            }
            _ => Some(openai::operation_path(op)),
        },
        WireFormat::Cohere => match op {
            RequestType::ChatCompletion | RequestType::ChatCompletionStream => {
                Some(cohere::CHAT_PATH)
            }
            RequestType::Embedding => Some(cohere::EMBED_PATH),
            // Translated through chat (see `Codec::upstream_op`).
            RequestType::Responses | RequestType::ResponsesStream => Some(cohere::CHAT_PATH),
            _ => None,
        },
        WireFormat::Anthropic => match op {
            RequestType::ChatCompletion | RequestType::ChatCompletionStream => Some("/messages"),
            RequestType::ListModels => Some("/models"),
            RequestType::CountTokens => Some(anthropic::COUNT_TOKENS_PATH),
            // Served by translating to a Messages request (see `providers::responses`).
            RequestType::Responses | RequestType::ResponsesStream => Some("/messages"),
            _ => None,
        },
        // Below `/model/{modelId}`: the model id is part of the path (see `bedrock::model_path`).
        WireFormat::Bedrock => match op {
            RequestType::ChatCompletion => Some(bedrock::CONVERSE_PATH),
            RequestType::ChatCompletionStream => Some(bedrock::CONVERSE_STREAM_PATH),
            // Translated through chat (see `Codec::upstream_op`).
            RequestType::Responses => Some(bedrock::CONVERSE_PATH),
            RequestType::ResponsesStream => Some(bedrock::CONVERSE_STREAM_PATH),
            _ => None,
        },
        // The model is part of the path: `{model}` is filled per request (see `gemini`).
        WireFormat::Gemini => gemini::operation_path(op),
        // The publisher's method suffix: the full path is built per key (see `vertex::VertexKey`).
        WireFormat::Vertex => vertex::operation_path(op),
    }
}

/// Headers a format sends on every request besides the key.
pub fn static_headers(format: WireFormat) -> &'static [(&'static str, &'static str)] {
    match format {
        WireFormat::Anthropic => &[("anthropic-version", anthropic::API_VERSION)],
        _ => &[],
    }
}

/// Normalises a provider's error body into a [`crate::error::ProviderError`].
pub fn parse_error(format: WireFormat, status: u16, body: &[u8]) -> crate::error::ProviderError {
    match format {
        WireFormat::Anthropic => anthropic::parse_error(status, body),
        WireFormat::Bedrock => bedrock::parse_error(status, body),
        WireFormat::Azure => azure::parse_error(status, body),
        WireFormat::Cohere => cohere::parse_error(status, body),
        // Vertex answers errors in Google's `{"error":{code,message,status}}` shape.
        WireFormat::Gemini | WireFormat::Vertex => gemini::parse_error(status, body),
        _ => openai::parse_error(status, body),
    }
}
