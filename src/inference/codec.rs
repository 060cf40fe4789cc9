//! How one attempt speaks to its provider and answers its client when their formats differ.
//!
//! Same-format pairs (OpenAI SDK to an OpenAI-family provider, Anthropic SDK to Anthropic) keep
//! the zero-copy path: the body is forwarded with only `model` spliced. Every other pair goes
//! through the unified (OpenAI-shaped) schema, hub and spoke, so each wire format only knows
//! its own translation to and from the hub:
//!
//! ```text
//! request   client body --decode (client format)--> unified ChatRequest --encode (provider)--> upstream
//! response  upstream body --to OpenAI (provider)--> chat.completion --from OpenAI (client)--> client
//! stream    upstream event --provider->OpenAI translator--> chunk events --OpenAI->client--> client
//! ```
//!
//! Adding a format = one arm in each `match` below plus its module under `providers/`.

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

impl ClientFormat {
    /// The provider format that needs no translation for this client.
    fn native(self) -> WireFormat {
        match self {
            ClientFormat::OpenAi => WireFormat::OpenAi,
            ClientFormat::Anthropic => WireFormat::Anthropic,
        }
    }
}

/// The translation an attempt needs between a client and a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    client: ClientFormat,
    provider: WireFormat,
}

/// Whether ringway can send requests to a provider speaking `format`.
fn provider_supported(format: WireFormat) -> bool {
    matches!(format, WireFormat::OpenAi | WireFormat::Anthropic)
}

impl Codec {
    /// The codec between `client` and a provider speaking `provider`.
    pub fn between(client: ClientFormat, provider: WireFormat) -> Result<Codec, String> {
        if !provider_supported(provider) {
            return Err(format!("{provider:?}"));
        }
        Ok(Codec { client, provider })
    }

    /// Whether bytes pass through untouched (but for the spliced model).
    pub fn is_passthrough(self) -> bool {
        self.client.native() == self.provider
    }

    /// The body to send upstream for `model`.
    pub fn request_body(self, call: &Call<'_>, model: &str) -> Result<Bytes, GatewayError> {
        if self.is_passthrough() {
            return Ok(super::attempt::upstream_body(call, model));
        }
        let req = unified_request(call)?;
        let encoded = match self.provider {
            WireFormat::Anthropic => anthropic::request_to_anthropic(req, model)
                .map_err(|e| GatewayError::BadRequest(e.to_string()))?,
            _ => {
                let mut req = req.clone();
                req.model = model.to_string();
                if req.stream == Some(true) && self.client != ClientFormat::OpenAi {
                    // Usage arrives only if asked for; other clients expect it at the end.
                    req.stream_options = Some(unified::StreamOptions {
                        include_usage: Some(true),
                        ..Default::default()
                    });
                }
                unified::encode(&req)
            }
        };
        Ok(Bytes::from(encoded))
    }

    /// Translates a complete successful response body into the client's format.
    pub fn response_body(self, body: Bytes) -> Result<Bytes, GatewayError> {
        if self.is_passthrough() {
            return Ok(body);
        }
        let bad = |e: unified::TranslateError| {
            GatewayError::Network(format!("untranslatable provider response: {e}"))
        };
        let openai = match self.provider {
            WireFormat::Anthropic => {
                Bytes::from(anthropic::response_from_anthropic(&body).map_err(bad)?)
            }
            _ => body,
        };
        Ok(match self.client {
            ClientFormat::OpenAi => openai,
            ClientFormat::Anthropic => {
                Bytes::from(anthropic::response_to_anthropic(&openai).map_err(bad)?)
            }
        })
    }

    /// The stream translator for this codec, if events need translating.
    pub fn stream_translator(self, call: &Call<'_>, model: &str) -> Option<StreamTranslator> {
        if self.is_passthrough() {
            return None;
        }
        let include_usage = self.client != ClientFormat::OpenAi
            || unified_request(call)
                .ok()
                .and_then(|r| r.stream_options.as_ref())
                .and_then(|o| o.include_usage)
                .unwrap_or(false);
        let to_openai = match self.provider {
            WireFormat::Anthropic => Some(ToOpenAi::Anthropic(Box::new(
                AnthropicToOpenAiStream::new(include_usage),
            ))),
            _ => None,
        };
        let from_openai = match self.client {
            ClientFormat::OpenAi => None,
            ClientFormat::Anthropic => Some(FromOpenAi::Anthropic(Box::new(
                OpenAiToAnthropicStream::new(model),
            ))),
        };
        Some(StreamTranslator {
            to_openai,
            from_openai,
            hub: Vec::new(),
        })
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

/// Provider events to OpenAI chunk events.
enum ToOpenAi {
    Anthropic(Box<AnthropicToOpenAiStream>),
}

/// OpenAI chunk events to the client's events.
enum FromOpenAi {
    Anthropic(Box<OpenAiToAnthropicStream>),
}

/// Translates a stream event by event, through OpenAI chunks as the hub.
pub struct StreamTranslator {
    to_openai: Option<ToOpenAi>,
    from_openai: Option<FromOpenAi>,
    hub: Vec<Bytes>,
}

impl StreamTranslator {
    /// Translates one raw upstream event into zero or more client events.
    pub fn push(&mut self, event: &[u8], out: &mut Vec<Bytes>) {
        match &mut self.to_openai {
            None => self.hub.push(Bytes::copy_from_slice(event)),
            Some(ToOpenAi::Anthropic(t)) => t.push(event, &mut self.hub),
        }
        self.forward(out);
    }

    /// Completes (or reports as cut short) the stream once the upstream ended.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        match &mut self.to_openai {
            None => {}
            Some(ToOpenAi::Anthropic(t)) => t.finish(&mut self.hub),
        }
        self.forward(out);
        match &mut self.from_openai {
            None => {}
            Some(FromOpenAi::Anthropic(t)) => t.finish(out),
        }
    }

    fn forward(&mut self, out: &mut Vec<Bytes>) {
        match &mut self.from_openai {
            None => out.append(&mut self.hub),
            Some(FromOpenAi::Anthropic(t)) => {
                for ev in self.hub.drain(..) {
                    t.push(&ev, out);
                }
            }
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
        let pass = |c, p| Codec::between(c, p).map(Codec::is_passthrough);
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::OpenAi), Ok(true));
        assert_eq!(
            pass(ClientFormat::Anthropic, WireFormat::Anthropic),
            Ok(true)
        );
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::Anthropic), Ok(false));
        assert_eq!(pass(ClientFormat::Anthropic, WireFormat::OpenAi), Ok(false));
        assert!(Codec::between(ClientFormat::OpenAi, WireFormat::Bedrock).is_err());
    }

    #[test]
    fn anthropic_stream_reaches_an_openai_client_as_chunks() {
        let mut t = StreamTranslator {
            to_openai: Some(ToOpenAi::Anthropic(Box::new(AnthropicToOpenAiStream::new(
                false,
            )))),
            from_openai: None,
            hub: Vec::new(),
        };
        let mut out = Vec::new();
        for ev in [
            &br#"event: message_start
data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":0}}}

"#[..],
            br#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

"#,
            br#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}

"#,
        ] {
            t.push(ev, &mut out);
        }
        let text: String = out
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(text.contains("chat.completion.chunk"), "{text}");
        assert!(text.contains("\"hi\""), "{text}");
    }
}
