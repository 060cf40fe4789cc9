//! The unified (OpenAI-shaped) chat schema every translator converts to and from.
//!
//! Typed serde structs for a chat request, a chat response and a stream chunk. Each object keeps
//! the members it does not model in a `#[serde(flatten)] extra` map, so a field ringway does not
//! know about survives a decode/encode round trip. Decoding goes through serde_json, whose
//! recursion limit (128 levels) keeps hostile nesting from overflowing a worker's stack.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::GatewayError;
use crate::providers::members::decode_with_extra;

/// Why a body could not be translated between wire formats (a 400 for the client).
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The body is not valid JSON or does not match the expected shape.
    #[error("invalid request body: {0}")]
    Decode(String),
    /// The body is well formed but carries a value the conversion cannot accept.
    #[error("{0}")]
    Invalid(String),
    /// The request uses a feature the target format cannot express.
    #[error("not supported by the target provider: {0}")]
    Unsupported(String),
}

impl From<TranslateError> for GatewayError {
    fn from(e: TranslateError) -> Self {
        GatewayError::BadRequest(e.to_string())
    }
}

/// Decodes `body` as `T`, reporting the JSON path of the first mismatch.
pub fn decode<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, TranslateError> {
    // Path tracking costs on every element, so it only runs again to explain a failure.
    if let Ok(v) = crate::json::from_slice(body) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            TranslateError::Decode(inner.to_string())
        } else {
            TranslateError::Decode(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| TranslateError::Decode(e.to_string()))?;
    Ok(value)
}

/// Encodes a value as JSON bytes.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own structs (string keys, finite numbers from parsed JSON) cannot fail;
    // an empty object is the harmless fallback if it ever did. `json::to_vec` writes what
    // serde_json would, with a faster string escape.
    crate::json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

fn function_type() -> String {
    "function".to_string()
}

// ---------------------------------------------------------------------------------------------
// Request

/// A chat completion request (`POST /v1/chat/completions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatRequest {
    /// Model name (possibly `provider/model` as the client sent it).
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Legacy output token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Output token limit (includes reasoning tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Stream the answer as SSE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// End-user identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Free-form metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Output format (`text`, `json_object`, `json_schema`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Number of choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Which tool the model must (or must not) call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Sampling seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Return log probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// Number of most likely tokens returned with log probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Reasoning effort for reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ChatRequest {
    model: "model" = Default::default(),
    messages: "messages",
    max_tokens: "max_tokens" = None,
    max_completion_tokens: "max_completion_tokens" = None,
    temperature: "temperature" = None,
    top_p: "top_p" = None,
    stop: "stop" = None,
    stream: "stream" = None,
    stream_options: "stream_options" = None,
    user: "user" = None,
    metadata: "metadata" = None,
    response_format: "response_format" = None,
    n: "n" = None,
    tools: "tools" = None,
    tool_choice: "tool_choice" = None,
    parallel_tool_calls: "parallel_tool_calls" = None,
    frequency_penalty: "frequency_penalty" = None,
    presence_penalty: "presence_penalty" = None,
    seed: "seed" = None,
    logprobs: "logprobs" = None,
    top_logprobs: "top_logprobs" = None,
    reasoning_effort: "reasoning_effort" = None,
});

impl ChatRequest {
    /// Decodes a request body.
    pub fn from_slice(body: &[u8]) -> Result<Self, TranslateError> {
        decode(body)
    }

    /// Encodes the request as JSON.
    pub fn to_vec(&self) -> Vec<u8> {
        encode(self)
    }

    /// True when the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// True when a streamed answer should end with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The output token limit, whichever spelling the client used.
    pub fn output_limit(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from the application.
    System,
    /// Instructions from the developer (the newer name for `system`).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
    /// A legacy function result.
    Function,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text or content parts; absent or null for an assistant turn made of tool calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// Participant name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// An assistant refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ChatMessage {
    role: "role",
    content: "content" = None,
    name: "name" = None,
    tool_calls: "tool_calls" = None,
    tool_call_id: "tool_call_id" = None,
    refusal: "refusal" = None,
});

impl ChatMessage {
    /// A message with plain text content.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(MessageContent::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            refusal: None,
            extra: Map::new(),
        }
    }
}

/// Message content: a string or an array of typed parts.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Text, image and other parts.
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// The text of the content: the string, or the `text` parts joined with `sep`.
    pub fn joined_text(&self, sep: &str) -> Cow<'_, str> {
        match self {
            Self::Text(s) => Cow::Borrowed(s),
            Self::Parts(parts) => {
                let mut texts = parts.iter().filter_map(|p| p.text.as_deref());
                match (texts.next(), texts.next()) {
                    (None, _) => Cow::Borrowed(""),
                    (Some(only), None) => Cow::Borrowed(only),
                    (Some(a), Some(b)) => {
                        let mut s = format!("{a}{sep}{b}");
                        for t in texts {
                            s.push_str(sep);
                            s.push_str(t);
                        }
                        Cow::Owned(s)
                    }
                }
            }
        }
    }
}

impl Serialize for MessageContent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(t) => s.serialize_str(t),
            Self::Parts(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A hand-written visitor: an untagged enum would buffer the content and lose the error.
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(p) = seq.next_element()? {
                    parts.push(p);
                }
                Ok(MessageContent::Parts(parts))
            }
        }
        d.deserialize_any(ContentVisitor)
    }
}

/// One content part (`text`, `image_url`, or any other type, kept as sent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentPart {
    /// Part type: `text`, `image_url`, `input_audio`, `file`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The image of an `image_url` part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Every other member (`input_audio`, `file`, `cache_control`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ContentPart {
    kind: "type",
    text: "text" = None,
    image_url: "image_url" = None,
});

impl ContentPart {
    /// A `text` part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            kind: "text".into(),
            text: Some(text.into()),
            image_url: None,
            extra: Map::new(),
        }
    }

    /// An `image_url` part (an http(s) URL or a `data:` URL).
    pub fn image(url: impl Into<String>) -> Self {
        Self {
            kind: "image_url".into(),
            text: None,
            image_url: Some(ImageUrl {
                url: url.into(),
                detail: None,
                extra: Map::new(),
            }),
            extra: Map::new(),
        }
    }
}

/// The image of an `image_url` part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageUrl {
    /// http(s) URL or `data:<media type>;base64,<data>`.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ImageUrl {
    url: "url",
    detail: "detail" = None,
});

/// Stop sequences: one string or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// A single stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

impl Stop {
    /// The sequences as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

/// Streaming options.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamOptions {
    /// Send a final chunk with the usage (and empty `choices`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(StreamOptions {
    include_usage: "include_usage" = None,
});

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// `function` for function tools; other types are provider-specific.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function, for `function` tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDef>,
    /// Every other member (`cache_control`, provider-specific tool settings).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(Tool {
    kind: "type" = function_type(),
    function: "function" = None,
});

/// A callable function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionDef {
    /// Function name.
    pub name: String,
    /// What the function does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(FunctionDef {
    name: "name",
    description: "description" = None,
    parameters: "parameters" = None,
    strict: "strict" = None,
});

/// `tool_choice`: a mode or a named function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoice {
    /// `none`, `auto` or `required`.
    Mode(String),
    /// `{"type": "function", "function": {"name": ...}}`.
    Named(NamedToolChoice),
}

/// A tool choice naming one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedToolChoice {
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function to call.
    pub function: FunctionName,
}

/// A function reference by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionName {
    /// Function name.
    pub name: String,
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// Call id, echoed by the matching `tool` message.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ToolCall {
    id: "id" = Default::default(),
    kind: "type" = function_type(),
    function: "function",
});

/// A function invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON-encoded string.
    #[serde(default)]
    pub arguments: String,
}

// ---------------------------------------------------------------------------------------------
// Response

/// A chat completion (`object: "chat.completion"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatResponse {
    /// Response id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// Model that answered.
    pub model: String,
    /// The answers.
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ChatResponse {
    id: "id" = Default::default(),
    object: "object" = Default::default(),
    created: "created" = Default::default(),
    model: "model" = Default::default(),
    choices: "choices" = Default::default(),
    usage: "usage" = None,
    system_fingerprint: "system_fingerprint" = None,
});

impl ChatResponse {
    /// Decodes a response body.
    pub fn from_slice(body: &[u8]) -> Result<Self, TranslateError> {
        decode(body)
    }

    /// Encodes the response as JSON.
    pub fn to_vec(&self) -> Vec<u8> {
        encode(self)
    }
}

/// One answer of a chat completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// Position among the choices.
    pub index: u32,
    /// The assistant message.
    pub message: ResponseMessage,
    /// Why generation stopped: `stop`, `length`, `tool_calls`, `content_filter`.
    pub finish_reason: Option<String>,
    /// Log probabilities, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(Choice {
    index: "index" = Default::default(),
    message: "message",
    finish_reason: "finish_reason" = None,
    logprobs: "logprobs" = None,
});

/// The assistant message of a choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMessage {
    /// Always `assistant`.
    pub role: String,
    /// Text answer (null when the turn is only tool calls).
    pub content: Option<String>,
    /// Tool calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Refusal text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Reasoning text (Bifrost's `reasoning`), when the provider exposes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ResponseMessage {
    role: "role" = assistant_role(),
    content: "content" = None,
    tool_calls: "tool_calls" = None,
    refusal: "refusal" = None,
    reasoning: "reasoning" = None,
});

fn assistant_role() -> String {
    "assistant".to_string()
}

/// Token usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Input tokens (cached ones included).
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Sum of both.
    pub total_tokens: u64,
    /// Breakdown of the input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(Usage {
    prompt_tokens: "prompt_tokens" = Default::default(),
    completion_tokens: "completion_tokens" = Default::default(),
    total_tokens: "total_tokens" = Default::default(),
    prompt_tokens_details: "prompt_tokens_details" = None,
    completion_tokens_details: "completion_tokens_details" = None,
});

impl Usage {
    /// Input tokens served from the prompt cache.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
    }
}

/// Breakdown of the input tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PromptTokensDetails {
    /// Tokens read from the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Audio input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(PromptTokensDetails {
    cached_tokens: "cached_tokens" = None,
    audio_tokens: "audio_tokens" = None,
});

/// Breakdown of the output tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletionTokensDetails {
    /// Reasoning tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Audio output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(CompletionTokensDetails {
    reasoning_tokens: "reasoning_tokens" = None,
    audio_tokens: "audio_tokens" = None,
});

// ---------------------------------------------------------------------------------------------
// Stream chunk

/// One streamed chunk (`object: "chat.completion.chunk"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatChunk {
    /// Stream id (the same on every chunk).
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// Model that answers.
    pub model: String,
    /// Deltas; empty on the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk when `stream_options.include_usage` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ChatChunk {
    id: "id" = Default::default(),
    object: "object" = Default::default(),
    created: "created" = Default::default(),
    model: "model" = Default::default(),
    choices: "choices" = Default::default(),
    usage: "usage" = None,
    system_fingerprint: "system_fingerprint" = None,
});

impl ChatChunk {
    /// Decodes a chunk (the data of one SSE event).
    pub fn from_slice(data: &[u8]) -> Result<Self, TranslateError> {
        decode(data)
    }
}

/// The delta of one choice in a chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: Delta,
    /// Set on the chunk that ends the choice (serialised as null before that, as OpenAI does).
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log probabilities, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

/// Incremental message content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// `assistant`, on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool-call fragments to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Refusal text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Reasoning text to append (Bifrost's `reasoning`; `reasoning_content` is read as well).
    #[serde(
        default,
        alias = "reasoning_content",
        skip_serializing_if = "Option::is_none"
    )]
    pub reasoning: Option<String>,
}

/// A fragment of one tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call of the message this fragment belongs to.
    #[serde(default)]
    pub index: Option<u32>,
    /// Call id, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first fragment.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (first fragment) and a piece of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDelta>,
}

/// A fragment of a function call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDelta {
    /// Function name, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON-encoded arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trip_keeps_unknown_fields() {
        let body = json!({
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [
                    {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "f", "arguments": "{\"a\":1}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42"}
            ],
            "stop": ["a", "b"],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "fallbacks": ["anthropic/claude"],
            "logit_bias": {"50256": -100}
        });
        let bytes = serde_json::to_vec(&body).expect("json");
        let req = ChatRequest::from_slice(&bytes).expect("decodes");
        assert_eq!(req.messages.len(), 4);
        assert_eq!(req.stop, Some(Stop::Many(vec!["a".into(), "b".into()])));
        assert!(
            matches!(req.tool_choice, Some(ToolChoice::Named(ref n)) if n.function.name == "f")
        );
        assert!(req.extra.contains_key("fallbacks"));
        let Some(MessageContent::Parts(parts)) = &req.messages[1].content else {
            panic!("parts expected");
        };
        assert_eq!(
            parts[0].extra["cache_control"],
            json!({"type": "ephemeral"})
        );
        assert_eq!(parts[2].kind, "input_audio");
        assert!(parts[2].extra.contains_key("input_audio"));
        // Encoding again gives the same JSON (nulls dropped, everything else kept).
        let back: Value = serde_json::from_slice(&req.to_vec()).expect("json");
        let mut expected = body.clone();
        expected["messages"][2]
            .as_object_mut()
            .expect("object")
            .remove("content");
        assert_eq!(back, expected);
    }

    #[test]
    fn decode_errors_name_the_path() {
        let err =
            ChatRequest::from_slice(br#"{"model":"m","messages":[{"role":"user","content":5}]}"#)
                .expect_err("content must be text or parts");
        let msg = err.to_string();
        assert!(msg.contains("messages[0].content"), "{msg}");
        let err = ChatRequest::from_slice(br#"{"model":"m","messages":[{"role":"robot"}]}"#)
            .expect_err("unknown role");
        assert!(err.to_string().contains("messages[0].role"), "{err}");
        assert!(ChatRequest::from_slice(b"{} trailing").is_err());
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let body = format!(r#"{{"model":"m","messages":[],"metadata":{deep}}}"#);
        assert!(ChatRequest::from_slice(body.as_bytes()).is_err());
        let gw: GatewayError = err.into();
        assert_eq!(gw.status(), 400);
    }

    #[test]
    fn joined_text() {
        let c = MessageContent::Parts(vec![
            ContentPart::text("a"),
            ContentPart::image("https://x"),
            ContentPart::text("b"),
            ContentPart::text("c"),
        ]);
        assert_eq!(c.joined_text(" "), "a b c");
        assert_eq!(MessageContent::Text("x".into()).joined_text(" "), "x");
        assert_eq!(MessageContent::Parts(vec![]).joined_text(" "), "");
    }

    #[test]
    fn chunk_serialises_finish_reason_null_and_reads_reasoning_content() {
        let chunk = ChatChunk {
            id: "c".into(),
            object: "chat.completion.chunk".into(),
            choices: vec![ChunkChoice::default()],
            ..ChatChunk::default()
        };
        let v: Value = serde_json::from_slice(&encode(&chunk)).expect("json");
        assert_eq!(v["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(v["choices"][0]["delta"], json!({}));
        let c = ChatChunk::from_slice(
            br#"{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"hm"}}]}"#,
        )
        .expect("chunk");
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some("hm"));
    }

    #[test]
    fn response_usage_details() {
        let r = ChatResponse::from_slice(
            br#"{"id":"x","object":"chat.completion","created":1,"model":"m",
                "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
                "usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,
                         "prompt_tokens_details":{"cached_tokens":4}},"service_tier":"default"}"#,
        )
        .expect("response");
        assert_eq!(r.usage.as_ref().map(Usage::cached_tokens), Some(4));
        assert_eq!(r.extra["service_tier"], "default");
        assert_eq!(r.choices[0].message.content.as_deref(), Some("hi"));
    }
}
