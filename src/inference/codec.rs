//! How one attempt speaks to its provider and answers its client when their formats differ.
//!
//! Same-format pairs (OpenAI SDK to an OpenAI-family provider, Anthropic SDK to Anthropic) keep
//! the zero-copy path: the body is forwarded with only `model` spliced. Cross-format pairs decode
//! the request once into the unified (OpenAI-shaped) schema and translate both ways, streams
//! event by event.

use bytes::Bytes;

use super::Call;
use crate::error::GatewayError;
use crate::providers::anthropic::{self, AnthropicToOpenAiStream, OpenAiToAnthropicStream};
use crate::providers::catalog::WireFormat;
use crate::providers::unified::{self, ChatRequest};

/// The wire format the client speaks (chosen by the route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFormat {
    /// OpenAI's API (`/v1/*`, `/openai/*` and aliases).
    OpenAi,
    /// Anthropic's Messages API (`/anthropic/*`).
    Anthropic,
}

/// The translation an attempt needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Both sides speak the same format.
    Passthrough,
    /// OpenAI client, Anthropic provider.
    OpenAiToAnthropic,
    /// Anthropic client, OpenAI-family provider.
    AnthropicToOpenAi,
}

impl Codec {
    /// The codec between `client` and a provider speaking `provider`.
    pub fn between(client: ClientFormat, provider: WireFormat) -> Result<Codec, String> {
        match (client, provider) {
            (ClientFormat::OpenAi, WireFormat::OpenAi)
            | (ClientFormat::Anthropic, WireFormat::Anthropic) => Ok(Codec::Passthrough),
            (ClientFormat::OpenAi, WireFormat::Anthropic) => Ok(Codec::OpenAiToAnthropic),
            (ClientFormat::Anthropic, WireFormat::OpenAi) => Ok(Codec::AnthropicToOpenAi),
            (_, other) => Err(format!("{other:?}")),
        }
    }

    /// The body to send upstream for `model`.
    pub fn request_body(self, call: &Call<'_>, model: &str) -> Result<Bytes, GatewayError> {
        match self {
            Codec::Passthrough => Ok(super::attempt::upstream_body(call, model)),
            Codec::OpenAiToAnthropic => {
                let req = unified_request(call)?;
                anthropic::request_to_anthropic(req, model)
                    .map(Bytes::from)
                    .map_err(|e| GatewayError::BadRequest(e.to_string()))
            }
            Codec::AnthropicToOpenAi => {
                let mut req = unified_request(call)?.clone();
                req.model = model.to_string();
                if req.stream == Some(true) {
                    // Usage arrives only if asked for; the Anthropic client expects it at the end.
                    req.stream_options = Some(unified::StreamOptions {
                        include_usage: Some(true),
                        ..Default::default()
                    });
                }
                Ok(Bytes::from(unified::encode(&req)))
            }
        }
    }

    /// Translates a complete successful response body into the client's format.
    pub fn response_body(self, body: Bytes) -> Result<Bytes, GatewayError> {
        let translated = match self {
            Codec::Passthrough => return Ok(body),
            Codec::OpenAiToAnthropic => anthropic::response_from_anthropic(&body),
            Codec::AnthropicToOpenAi => anthropic::response_to_anthropic(&body),
        };
        translated
            .map(Bytes::from)
            .map_err(|e| GatewayError::Network(format!("untranslatable provider response: {e}")))
    }

    /// The stream translator for this codec, if events need translating.
    pub fn stream_translator(self, call: &Call<'_>, model: &str) -> Option<StreamTranslator> {
        match self {
            Codec::Passthrough => None,
            Codec::OpenAiToAnthropic => {
                let include_usage = unified_request(call)
                    .ok()
                    .and_then(|r| r.stream_options.as_ref())
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false);
                Some(StreamTranslator::FromAnthropic(Box::new(
                    AnthropicToOpenAiStream::new(include_usage),
                )))
            }
            Codec::AnthropicToOpenAi => Some(StreamTranslator::ToAnthropic(Box::new(
                OpenAiToAnthropicStream::new(model),
            ))),
        }
    }
}

/// The client's request in the unified schema, decoded once per request (fallbacks reuse it).
fn unified_request<'c>(call: &'c Call<'_>) -> Result<&'c ChatRequest, GatewayError> {
    let decoded = call.unified.get_or_init(|| match call.client {
        ClientFormat::OpenAi => serde_json::from_slice::<ChatRequest>(call.body)
            .map_err(|e| format!("invalid request body: {e}")),
        ClientFormat::Anthropic => {
            anthropic::request_from_anthropic(call.body).map_err(|e| e.to_string())
        }
    });
    decoded
        .as_ref()
        .map_err(|e| GatewayError::BadRequest(e.clone()))
}

/// Translates a stream event by event.
pub enum StreamTranslator {
    /// Anthropic events to OpenAI chunks.
    FromAnthropic(Box<AnthropicToOpenAiStream>),
    /// OpenAI chunks to Anthropic events.
    ToAnthropic(Box<OpenAiToAnthropicStream>),
}

impl StreamTranslator {
    /// Translates one raw upstream event into zero or more client events.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        match self {
            StreamTranslator::FromAnthropic(t) => t.push(event, out),
            StreamTranslator::ToAnthropic(t) => t.push(event, out),
        }
    }

    /// Completes (or reports as cut short) the stream once the upstream ended.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        match self {
            StreamTranslator::FromAnthropic(t) => t.finish(out),
            StreamTranslator::ToAnthropic(t) => t.finish(out),
        }
    }
}

/// The error event for a stream already sent to a client speaking `client`.
pub fn stream_error_event(client: ClientFormat, err: &GatewayError) -> Bytes {
    match client {
        ClientFormat::OpenAi => super::stream::error_event(err),
        ClientFormat::Anthropic => anthropic::error_event(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_pairs() {
        assert_eq!(
            Codec::between(ClientFormat::OpenAi, WireFormat::OpenAi),
            Ok(Codec::Passthrough)
        );
        assert_eq!(
            Codec::between(ClientFormat::Anthropic, WireFormat::Anthropic),
            Ok(Codec::Passthrough)
        );
        assert_eq!(
            Codec::between(ClientFormat::OpenAi, WireFormat::Anthropic),
            Ok(Codec::OpenAiToAnthropic)
        );
        assert_eq!(
            Codec::between(ClientFormat::Anthropic, WireFormat::OpenAi),
            Ok(Codec::AnthropicToOpenAi)
        );
        assert!(Codec::between(ClientFormat::OpenAi, WireFormat::Bedrock).is_err());
    }
}
