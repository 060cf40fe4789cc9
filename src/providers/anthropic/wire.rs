//! Anthropic Messages API bodies as serde types (request, response, content blocks).
//!
//! Members the translators do not use are kept in `extra` maps where a round trip matters
//! (request and response top level, tools); unknown content block types decode as
//! [`Block::Unknown`] and are dropped by the translators.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::providers::members::decode_with_extra;

/// `POST /v1/messages` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MessagesRequest {
    /// Model name.
    pub model: String,
    /// The conversation (alternating user/assistant turns).
    pub messages: Vec<Message>,
    /// Output token limit (required by Anthropic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// System prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Request metadata (`user_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Custom stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Stream the answer as SSE events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    /// Tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Tool choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Extended thinking configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(MessagesRequest {
    model: "model" = Default::default(),
    messages: "messages",
    max_tokens: "max_tokens" = None,
    system: "system" = None,
    metadata: "metadata" = None,
    stop_sequences: "stop_sequences" = None,
    stream: "stream" = None,
    temperature: "temperature" = None,
    top_p: "top_p" = None,
    top_k: "top_k" = None,
    tools: "tools" = None,
    tool_choice: "tool_choice" = None,
    thinking: "thinking" = None,
});

/// The system prompt: a string or text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum System {
    /// Plain text.
    Text(String),
    /// Text blocks (which may carry `cache_control`).
    Blocks(Vec<TextBlock>),
}

/// A text block of the system prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// Always `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: String,
    /// Prompt caching marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

/// Request metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Opaque end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// A string or content blocks.
    pub content: Content,
}

/// Message content: a string or content blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content blocks.
    Blocks(Vec<Block>),
}

/// A content block (request or response).
/// Decoded by hand in one pass (`block_decode.rs`); encoded by derive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Prompt caching marker.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// An image.
    Image {
        /// Where the image comes from.
        source: ImageSource,
        /// Prompt caching marker.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A tool call by the assistant.
    ToolUse {
        /// Call id (`toolu_...`).
        id: String,
        /// Tool name.
        name: String,
        /// Arguments as a JSON object.
        input: Value,
        /// Prompt caching marker.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// The result of a tool call, in a user turn.
    ToolResult {
        /// The call answered.
        tool_use_id: String,
        /// The result: a string or text/image blocks.
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        /// The tool failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// Prompt caching marker.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// Extended thinking.
    Thinking {
        /// The reasoning text.
        thinking: String,
        /// Signature that lets the block be sent back.
        signature: String,
    },
    /// Encrypted thinking.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
    /// Any other block type (documents, server tool blocks, ...): not translated.
    #[serde(skip_serializing)]
    Unknown,
}

impl Block {
    /// A text block without cache control.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            cache_control: None,
        }
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageSource {
    /// `base64`, `url` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// MIME type of base64 data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Base64 data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every other member (`file_id`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(ImageSource {
    kind: "type",
    media_type: "media_type" = None,
    data: "data" = None,
    url: "url" = None,
});

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// Tool name.
    pub name: String,
    /// What the tool does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input (absent for server tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// `custom` (or absent) for client tools; a versioned type for server tools.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Prompt caching marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Every other member (server tool settings), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(Tool {
    name: "name",
    description: "description" = None,
    input_schema: "input_schema" = None,
    kind: "type" = None,
    cache_control: "cache_control" = None,
});

/// Tool choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// `auto`, `any`, `tool` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, for `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagesResponse {
    /// Message id (`msg_...`).
    pub id: String,
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `assistant`.
    pub role: String,
    /// Content blocks.
    pub content: Vec<Block>,
    /// Model that answered.
    pub model: String,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `pause_turn`, `refusal`.
    pub stop_reason: Option<String>,
    /// The stop sequence that matched.
    pub stop_sequence: Option<String>,
    /// Token usage.
    pub usage: Usage,
    /// Every other member, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(MessagesResponse {
    id: "id",
    kind: "type" = message_type(),
    role: "role" = assistant_role(),
    content: "content" = Default::default(),
    model: "model" = Default::default(),
    stop_reason: "stop_reason" = None,
    stop_sequence: "stop_sequence" = None,
    usage: "usage" = Default::default(),
});

fn message_type() -> String {
    "message".to_string()
}

fn assistant_role() -> String {
    "assistant".to_string()
}

/// Token usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Input tokens not read from or written to the cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Every other member (`service_tier`, `server_tool_use`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

decode_with_extra!(Usage {
    input_tokens: "input_tokens" = Default::default(),
    output_tokens: "output_tokens" = Default::default(),
    cache_creation_input_tokens: "cache_creation_input_tokens" = None,
    cache_read_input_tokens: "cache_read_input_tokens" = None,
});

impl Usage {
    /// Every input token, cached or not (OpenAI's `prompt_tokens`).
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens
            + self.cache_creation_input_tokens.unwrap_or(0)
            + self.cache_read_input_tokens.unwrap_or(0)
    }
}

/// An error body: `{"type": "error", "error": {"type", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    pub message: String,
}
