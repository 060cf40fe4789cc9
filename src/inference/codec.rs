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
use crate::error::{GatewayError, RequestType};
use crate::providers::anthropic::{self, AnthropicToOpenAiStream, OpenAiToAnthropicStream};
use crate::providers::bedrock::{self, BedrockToOpenAiStream, OpenAiToBedrockStream};
use crate::providers::catalog::WireFormat;
use crate::providers::cohere::{self, CohereToOpenAiStream, OpenAiToCohereStream};
use crate::providers::gemini::{self, GeminiToOpenAiStream, OpenAiToGeminiStream};
use crate::providers::responses::{self, ChatToResponsesStream};
use crate::providers::unified::{self, ChatRequest};
use crate::providers::vertex;

/// The wire format the client speaks (chosen by the route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFormat {
    /// OpenAI's API (`/v1/*`, `/openai/*` and aliases).
    OpenAi,
    /// Anthropic's Messages API (`/anthropic/*`).
    Anthropic,
    /// OpenAI's Responses API (`/v1/responses`, `/openai/v1/responses` and aliases).
    Responses,
    /// Google's Gemini API (`/genai/*`): model and streaming named by the path.
    Gemini,
    /// AWS Bedrock Converse (`/bedrock/model/{id}/converse[-stream]`): model and streaming
    /// named by the path, streams in the AWS event-stream framing.
    Bedrock,
    /// Cohere's v2 API (`/cohere/v2/chat`, `/cohere/v2/embed`).
    Cohere,
}

impl ClientFormat {
    /// The provider format that needs no translation for this client.
    fn native(self) -> WireFormat {
        match self {
            ClientFormat::OpenAi => WireFormat::OpenAi,
            ClientFormat::Anthropic => WireFormat::Anthropic,
            // Native only on providers with the Responses API: see `Codec::is_passthrough`.
            ClientFormat::Responses => WireFormat::OpenAi,
            ClientFormat::Gemini => WireFormat::Gemini,
            ClientFormat::Bedrock => WireFormat::Bedrock,
            ClientFormat::Cohere => WireFormat::Cohere,
        }
    }
}

/// The translation an attempt needs between a client and a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    client: ClientFormat,
    provider: WireFormat,
    /// The provider serves the Responses API itself (set by [`Codec::with_responses_api`]).
    native_responses: bool,
    /// The provider is Vertex AI speaking `provider` for this model (set by
    /// [`Codec::on_vertex`]): Anthropic bodies lose `model` and gain `anthropic_version`, and
    /// embeddings use Vertex's `:predict` shape.
    vertex: bool,
}

impl Codec {
    /// The codec between `client` and a provider speaking `provider`.
    pub fn between(client: ClientFormat, provider: WireFormat) -> Result<Codec, String> {
        // Vertex has no body format of its own: its codec is built for the model's publisher
        // (`ProviderRoute::format_for`), then marked with `on_vertex`.
        if provider == WireFormat::Vertex {
            return Err(format!("{provider:?}"));
        }
        Ok(Codec {
            client,
            provider,
            native_responses: false,
            vertex: false,
        })
    }

    /// Marks the provider as Vertex AI (the codec's format is then the model's publisher's).
    pub fn on_vertex(self, vertex: bool) -> Codec {
        Codec { vertex, ..self }
    }

    /// The wire format spoken upstream (a Vertex model's publisher format on Vertex).
    pub fn provider(self) -> WireFormat {
        self.provider
    }

    /// Marks whether the provider serves the Responses API itself (only then do Responses
    /// requests pass through; otherwise they are translated through chat).
    pub fn with_responses_api(self, native: bool) -> Codec {
        Codec {
            native_responses: native,
            ..self
        }
    }

    /// The operation sent upstream for the client's `op`: a translated Responses request is a
    /// chat completion for the provider.
    pub fn upstream_op(self, op: RequestType) -> RequestType {
        match op {
            RequestType::Responses if !self.is_passthrough() => RequestType::ChatCompletion,
            RequestType::ResponsesStream if !self.is_passthrough() => {
                RequestType::ChatCompletionStream
            }
            op => op,
        }
    }

    /// Whether bytes pass through untouched (but for the spliced model).
    pub fn is_passthrough(self) -> bool {
        match self.client {
            ClientFormat::Responses => self.native_responses && self.provider == WireFormat::OpenAi,
            // Azure OpenAI takes OpenAI bodies (the deployment is in the path).
            ClientFormat::OpenAi if self.provider == WireFormat::Azure => true,
            client => client.native() == self.provider,
        }
    }

    /// The body to send upstream for `model`.
    pub fn request_body(self, call: &Call<'_>, model: &str) -> Result<Bytes, GatewayError> {
        if self.vertex {
            return self.vertex_request_body(call, model);
        }
        if self.is_passthrough() {
            return match self.provider {
                // The model is in the URL: nothing to splice, and Gemini refuses unknown members.
                WireFormat::Gemini => Ok(gemini::passthrough_request(
                    call.op,
                    call.body,
                    call.fields,
                    model,
                )?),
                // The model is in the path and Converse refuses unknown members: as sent.
                WireFormat::Bedrock => Ok(call.body.clone()),
                _ => Ok(super::attempt::upstream_body(call, model)),
            };
        }
        if call.op == RequestType::CountTokens {
            return count_tokens_request(self.provider, call, model);
        }
        if call.op == RequestType::Embedding && self.client == ClientFormat::Gemini {
            return gemini_client_embedding(self.provider, call, model);
        }
        if call.op == RequestType::Embedding && self.client == ClientFormat::Cohere {
            return cohere_client_embedding(self.provider, call, model);
        }
        if call.op == RequestType::Embedding {
            return embedding_request(self.provider, call, model);
        }
        let req = unified_request(call)?;
        let encoded = match self.provider {
            WireFormat::Anthropic => anthropic::request_to_anthropic(req, model)
                .map_err(|e| GatewayError::BadRequest(e.to_string()))?,
            // The model id travels in the path (see `bedrock::model_path`).
            WireFormat::Bedrock => bedrock::request_to_bedrock(req)
                .map_err(|e| GatewayError::BadRequest(e.to_string()))?,
            WireFormat::Cohere => cohere::request_to_cohere(req, model)?,
            // The model travels in the path (`models/{model}:generateContent`).
            WireFormat::Gemini => gemini::request_to_gemini(req, model)?,
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

    /// The body for a Vertex model: the publisher format's body, reshaped where Vertex differs.
    fn vertex_request_body(self, call: &Call<'_>, model: &str) -> Result<Bytes, GatewayError> {
        if call.op == RequestType::Embedding {
            let openai = match self.client {
                ClientFormat::Gemini => {
                    Bytes::from(gemini::embedding_request_from_gemini(call.body, model)?)
                }
                ClientFormat::Cohere => {
                    Bytes::from(cohere::embed_request_to_openai(call.body, model)?)
                }
                _ => call.body.clone(),
            };
            return Ok(Bytes::from(vertex::embedding_request(&openai)?));
        }
        let plain = Codec {
            vertex: false,
            ..self
        }
        .request_body(call, model)?;
        match self.provider {
            WireFormat::Anthropic => vertex::anthropic_body(&plain),
            _ => Ok(plain),
        }
    }

    /// Translates a complete successful response body into the client's format (`model` names
    /// the answer when the provider's body does not).
    pub fn response_body(
        self,
        call: &Call<'_>,
        body: Bytes,
        model: &str,
    ) -> Result<Bytes, GatewayError> {
        let bad = |e: unified::TranslateError| {
            GatewayError::Network(format!("untranslatable provider response: {e}"))
        };
        if self.vertex && call.op == RequestType::Embedding {
            let openai = vertex::embedding_response_to_openai(&body, model).map_err(bad)?;
            let as_openai = Codec {
                provider: WireFormat::OpenAi,
                vertex: false,
                ..self
            };
            return as_openai.response_body(call, Bytes::from(openai), model);
        }
        if self.is_passthrough() {
            return Ok(match self.provider {
                // An `:embedContent` client's request went up as a one-entry batch.
                WireFormat::Gemini if call.op == RequestType::Embedding => {
                    gemini::passthrough_embedding_response(body)
                }
                _ => body,
            });
        }
        if call.op == RequestType::CountTokens {
            return count_tokens_response(self.provider, &body).map_err(bad);
        }
        let openai = match self.provider {
            WireFormat::Anthropic => {
                Bytes::from(anthropic::response_from_anthropic(&body).map_err(bad)?)
            }
            WireFormat::Bedrock => {
                Bytes::from(bedrock::response_from_bedrock(&body, model).map_err(bad)?)
            }
            WireFormat::Cohere if call.op == RequestType::Embedding => Bytes::from(
                cohere::embed_response_from_cohere(&body, model, wants_base64(call))
                    .map_err(bad)?,
            ),
            WireFormat::Cohere => {
                Bytes::from(cohere::response_from_cohere(&body, model).map_err(bad)?)
            }
            WireFormat::Gemini if call.op == RequestType::Embedding => {
                Bytes::from(gemini::embedding_response_to_openai(&body, model).map_err(bad)?)
            }
            WireFormat::Gemini => Bytes::from(gemini::response_from_gemini(&body).map_err(bad)?),
            _ => body,
        };
        Ok(match self.client {
            ClientFormat::OpenAi => openai,
            ClientFormat::Anthropic => {
                Bytes::from(anthropic::response_to_anthropic(&openai).map_err(bad)?)
            }
            ClientFormat::Responses => {
                Bytes::from(responses::response_from_chat(&openai).map_err(bad)?)
            }
            ClientFormat::Gemini if call.op == RequestType::Embedding => {
                Bytes::from(gemini::embedding_response_to_gemini(&openai).map_err(bad)?)
            }
            ClientFormat::Gemini => Bytes::from(gemini::response_to_gemini(&openai).map_err(bad)?),
            ClientFormat::Bedrock => {
                Bytes::from(bedrock::response_to_bedrock(&openai).map_err(bad)?)
            }
            ClientFormat::Cohere if call.op == RequestType::Embedding => {
                Bytes::from(cohere::embed_response_to_cohere(&openai, call.body).map_err(bad)?)
            }
            ClientFormat::Cohere => Bytes::from(cohere::response_to_cohere(&openai).map_err(bad)?),
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
            WireFormat::Bedrock => Some(ToOpenAi::Bedrock(Box::new(BedrockToOpenAiStream::new(
                include_usage,
                model,
            )))),
            WireFormat::Cohere => Some(ToOpenAi::Cohere(Box::new(CohereToOpenAiStream::new(
                include_usage,
                model,
            )))),
            WireFormat::Gemini => Some(ToOpenAi::Gemini(Box::new(GeminiToOpenAiStream::new(
                include_usage,
                model,
            )))),
            _ => None,
        };
        let from_openai = match self.client {
            ClientFormat::OpenAi => None,
            ClientFormat::Anthropic => Some(FromOpenAi::Anthropic(Box::new(
                OpenAiToAnthropicStream::new(model),
            ))),
            ClientFormat::Responses => Some(FromOpenAi::Responses(Box::new(
                ChatToResponsesStream::new(model),
            ))),
            ClientFormat::Gemini => Some(FromOpenAi::Gemini(Box::new(OpenAiToGeminiStream::new(
                model,
            )))),
            ClientFormat::Bedrock => {
                Some(FromOpenAi::Bedrock(Box::new(OpenAiToBedrockStream::new())))
            }
            ClientFormat::Cohere => Some(FromOpenAi::Cohere(Box::default())),
        };
        Some(StreamTranslator {
            to_openai,
            from_openai,
            hub: Vec::new(),
        })
    }
}

/// An embeddings request for a provider of another format than the client's (embedding bodies
/// are not chats, so they skip the unified chat schema).
fn embedding_request(
    provider: WireFormat,
    call: &Call<'_>,
    model: &str,
) -> Result<Bytes, GatewayError> {
    match provider {
        WireFormat::Cohere => Ok(Bytes::from(cohere::embed_request_to_cohere(
            call.body, model,
        )?)),
        WireFormat::Gemini => Ok(Bytes::from(gemini::embedding_request_to_gemini(
            call.body, model,
        )?)),
        other => Err(GatewayError::BadRequest(format!(
            "embeddings are not translated for {other:?} providers"
        ))),
    }
}

/// A Gemini client's embeddings request (`:embedContent` or `:batchEmbedContents`) for a
/// provider of another format: first as the OpenAI body, which the providers' arms take.
fn gemini_client_embedding(
    provider: WireFormat,
    call: &Call<'_>,
    model: &str,
) -> Result<Bytes, GatewayError> {
    let openai = gemini::embedding_request_from_gemini(call.body, model)?;
    match provider {
        WireFormat::OpenAi | WireFormat::Azure => Ok(Bytes::from(openai)),
        WireFormat::Cohere => Ok(Bytes::from(cohere::embed_request_to_cohere(
            &openai, model,
        )?)),
        other => Err(GatewayError::BadRequest(format!(
            "embeddings are not translated for {other:?} providers"
        ))),
    }
}

/// A Cohere client's embed request for a provider of another format: first as the OpenAI
/// body, which the providers' arms take.
fn cohere_client_embedding(
    provider: WireFormat,
    call: &Call<'_>,
    model: &str,
) -> Result<Bytes, GatewayError> {
    let openai = cohere::embed_request_to_openai(call.body, model)?;
    match provider {
        WireFormat::OpenAi | WireFormat::Azure => Ok(Bytes::from(openai)),
        WireFormat::Gemini => Ok(Bytes::from(gemini::embedding_request_to_gemini(
            &openai, model,
        )?)),
        other => Err(GatewayError::BadRequest(format!(
            "embeddings are not translated for {other:?} providers"
        ))),
    }
}

/// Whether an OpenAI embeddings request asked for base64 vectors (the OpenAI SDK's default).
fn wants_base64(call: &Call<'_>) -> bool {
    crate::json::read_string_field(call.body, "encoding_format")
        .ok()
        .flatten()
        .is_some_and(|f| f == "base64")
}

/// A count-tokens request for a provider whose format differs from the client's (only Gemini
/// gets here: `check_serves` refuses the formats that cannot count).
fn count_tokens_request(
    provider: WireFormat,
    call: &Call<'_>,
    model: &str,
) -> Result<Bytes, GatewayError> {
    let req = unified_request(call)?;
    match provider {
        WireFormat::Gemini => Ok(Bytes::from(gemini::count_tokens_request(req, model)?)),
        other => Err(GatewayError::BadRequest(format!(
            "count_tokens is not translated for the {other:?} format"
        ))),
    }
}

/// A provider's token count in the Anthropic client's shape (`{"input_tokens": n}`).
fn count_tokens_response(
    provider: WireFormat,
    body: &[u8],
) -> Result<Bytes, unified::TranslateError> {
    match provider {
        WireFormat::Gemini => gemini::count_tokens_to_anthropic(body).map(Bytes::from),
        _ => Ok(Bytes::copy_from_slice(body)),
    }
}

/// The client's request in the unified schema, decoded once per request (fallbacks reuse it).
fn unified_request<'c>(call: &'c Call<'_>) -> Result<&'c ChatRequest, GatewayError> {
    let decoded = call
        .unified
        .get_or_init(|| decode_unified(call).map(Box::new));
    decoded
        .as_ref()
        .map(|req| &**req)
        .map_err(|e| GatewayError::BadRequest(e.clone()))
}

/// Decodes the client's body, in its format, into the unified schema.
fn decode_unified(call: &Call<'_>) -> Result<ChatRequest, String> {
    match call.client {
        ClientFormat::OpenAi => crate::json::from_slice::<ChatRequest>(call.body)
            .map_err(|e| format!("invalid request body: {e}")),
        ClientFormat::Anthropic => {
            anthropic::request_from_anthropic(call.body).map_err(|e| e.to_string())
        }
        ClientFormat::Responses => {
            responses::request_from_responses(call.body).map_err(|e| e.to_string())
        }
        ClientFormat::Bedrock => {
            bedrock::request_from_bedrock(call.body, call.op.is_stream()).map_err(|e| e.to_string())
        }
        // Gemini bodies do not say whether to stream: the path did.
        ClientFormat::Gemini => {
            gemini::request_from_gemini(call.body, call.op.is_stream()).map_err(|e| e.to_string())
        }
        ClientFormat::Cohere => cohere::request_from_cohere(call.body).map_err(|e| e.to_string()),
    }
}

/// Provider events to OpenAI chunk events.
enum ToOpenAi {
    Anthropic(Box<AnthropicToOpenAiStream>),
    /// Takes whole event-stream messages (the relay frames them), not SSE events.
    Bedrock(Box<BedrockToOpenAiStream>),
    Cohere(Box<CohereToOpenAiStream>),
    Gemini(Box<GeminiToOpenAiStream>),
}

/// OpenAI chunk events to the client's events.
enum FromOpenAi {
    Anthropic(Box<OpenAiToAnthropicStream>),
    Responses(Box<ChatToResponsesStream>),
    Gemini(Box<OpenAiToGeminiStream>),
    /// Writes whole event-stream messages (the client gets the AWS framing, not SSE).
    Bedrock(Box<OpenAiToBedrockStream>),
    Cohere(Box<OpenAiToCohereStream>),
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
            Some(ToOpenAi::Bedrock(t)) => t.push(event, &mut self.hub),
            Some(ToOpenAi::Cohere(t)) => t.push(event, &mut self.hub),
            Some(ToOpenAi::Gemini(t)) => t.push(event, &mut self.hub),
        }
        self.forward(out);
    }

    /// Completes (or reports as cut short) the stream once the upstream ended.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        match &mut self.to_openai {
            None => {}
            Some(ToOpenAi::Anthropic(t)) => t.finish(&mut self.hub),
            Some(ToOpenAi::Bedrock(t)) => t.finish(&mut self.hub),
            Some(ToOpenAi::Cohere(t)) => t.finish(&mut self.hub),
            Some(ToOpenAi::Gemini(t)) => t.finish(&mut self.hub),
        }
        self.forward(out);
        match &mut self.from_openai {
            None => {}
            Some(FromOpenAi::Anthropic(t)) => t.finish(out),
            Some(FromOpenAi::Responses(t)) => t.finish(out),
            Some(FromOpenAi::Gemini(t)) => t.finish(out),
            Some(FromOpenAi::Bedrock(t)) => t.finish(out),
            Some(FromOpenAi::Cohere(t)) => t.finish(out),
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
            Some(FromOpenAi::Responses(t)) => {
                for ev in self.hub.drain(..) {
                    t.push(&ev, out);
                }
            }
            Some(FromOpenAi::Gemini(t)) => {
                for ev in self.hub.drain(..) {
                    t.push(&ev, out);
                }
            }
            Some(FromOpenAi::Bedrock(t)) => {
                for ev in self.hub.drain(..) {
                    t.push(&ev, out);
                }
            }
            Some(FromOpenAi::Cohere(t)) => {
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
        ClientFormat::Responses => responses::error_event(err),
        ClientFormat::Gemini => gemini::error_event(err),
        ClientFormat::Bedrock => bedrock::error_event(err),
        ClientFormat::Cohere => cohere::error_event(err),
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
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::Bedrock), Ok(false));
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::Cohere), Ok(false));
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::Azure), Ok(true));
        assert_eq!(pass(ClientFormat::Anthropic, WireFormat::Azure), Ok(false));
        assert!(Codec::between(ClientFormat::OpenAi, WireFormat::Vertex).is_err());
    }

    #[test]
    fn responses_pass_through_only_where_the_provider_has_the_api() {
        let codec = |p, native| {
            Codec::between(ClientFormat::Responses, p)
                .map(|c| c.with_responses_api(native))
                .expect("supported")
        };
        let native = codec(WireFormat::OpenAi, true);
        assert!(native.is_passthrough());
        assert_eq!(
            native.upstream_op(RequestType::ResponsesStream),
            RequestType::ResponsesStream
        );
        for translated in [
            codec(WireFormat::OpenAi, false),
            codec(WireFormat::Anthropic, true),
        ] {
            assert!(!translated.is_passthrough());
            assert_eq!(
                translated.upstream_op(RequestType::Responses),
                RequestType::ChatCompletion
            );
            assert_eq!(
                translated.upstream_op(RequestType::ResponsesStream),
                RequestType::ChatCompletionStream
            );
        }
        assert_eq!(
            codec(WireFormat::OpenAi, false).upstream_op(RequestType::Embedding),
            RequestType::Embedding
        );
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

    #[test]
    fn gemini_pairs() {
        let pass = |c, p| Codec::between(c, p).map(Codec::is_passthrough);
        assert_eq!(pass(ClientFormat::Gemini, WireFormat::Gemini), Ok(true));
        assert_eq!(pass(ClientFormat::OpenAi, WireFormat::Gemini), Ok(false));
        assert_eq!(pass(ClientFormat::Gemini, WireFormat::OpenAi), Ok(false));
        assert_eq!(pass(ClientFormat::Gemini, WireFormat::Anthropic), Ok(false));
    }

    #[test]
    fn gemini_stream_reaches_an_anthropic_client_through_the_hub() {
        let mut t = StreamTranslator {
            to_openai: Some(ToOpenAi::Gemini(Box::new(GeminiToOpenAiStream::new(
                true, "g",
            )))),
            from_openai: Some(FromOpenAi::Anthropic(Box::new(
                OpenAiToAnthropicStream::new("g"),
            ))),
            hub: Vec::new(),
        };
        let mut out = Vec::new();
        t.push(
            br#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1,"totalTokenCount":3}}"#,
            &mut out,
        );
        t.finish(&mut out);
        let text: String = out
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(text.starts_with("event: message_start"), "{text}");
        assert!(text.contains("\"text\":\"hi\""), "{text}");
        assert!(text.contains("\"output_tokens\":1"), "{text}");
        assert!(
            text.trim_end().ends_with("{\"type\":\"message_stop\"}"),
            "{text}"
        );
    }

    #[test]
    fn openai_stream_reaches_a_gemini_client() {
        let mut t = StreamTranslator {
            to_openai: None,
            from_openai: Some(FromOpenAi::Gemini(Box::new(OpenAiToGeminiStream::new("m")))),
            hub: Vec::new(),
        };
        let mut out = Vec::new();
        for ev in [
            &br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}

"#[..],
            br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

"#,
            b"data: [DONE]\n\n",
        ] {
            t.push(ev, &mut out);
        }
        t.finish(&mut out);
        assert_eq!(out.len(), 2);
        let last: serde_json::Value =
            serde_json::from_slice(&crate::sse::event_data(&out[1]).expect("data")).expect("json");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        let err = stream_error_event(ClientFormat::Gemini, &GatewayError::QueueFull);
        assert!(
            err.starts_with(b"data: {\"error\":{\"code\":503"),
            "{err:?}"
        );
    }
}
