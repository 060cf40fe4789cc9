//! Cohere v2 bodies as serde types: chat request and response, embed request and response.
//!
//! Members the translators do not use are kept in `extra` maps at the top level (a Cohere
//! client's `documents`, `citation_options`, ... survive a round trip to a Cohere provider);
//! content blocks of types not modelled (`document`) are kept as raw values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /v2/chat` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `REQUIRED` or `NONE` (absent: the model decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling (OpenAI's `top_p`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// `{"type": "json_object", "json_schema": {...}}` or `{"type": "text"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Reasoning configuration (`{"type": "enabled", "token_budget": n}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Stream the answer as SSE events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Every other member (`documents`, `citation_options`, `safety_mode`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One message of a Cohere conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// A string or content blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// The assistant's plan before its tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_plan: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Citations of an assistant answer (not translated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

/// Message content: a string or an array of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed blocks.
    Blocks(Vec<Block>),
}

/// A content block: `text`, `image_url`, `thinking`, or anything else kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Reasoning of a `thinking` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Image of an `image_url` block (`{"url": ..., "detail": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<Value>,
    /// Every other member (`document`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Block {
    /// A `text` block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            kind: "text".into(),
            text: Some(text.into()),
            thinking: None,
            image_url: None,
            extra: Map::new(),
        }
    }
}

/// A tool definition (`{"type": "function", "function": {...}}`, as OpenAI's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: Function,
}

/// A callable function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// Function name.
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// Name and JSON-encoded arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<CallFunction>,
}

/// The function part of a tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallFunction {
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arguments as a JSON-encoded string.
    #[serde(default)]
    pub arguments: String,
}

fn function_type() -> String {
    "function".to_string()
}

/// `POST /v2/chat` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// `COMPLETE`, `STOP_SEQUENCE`, `MAX_TOKENS`, `TOOL_CALL`, `ERROR`, `TIMEOUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Log probabilities (not translated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

/// Cohere usage: billed units and actual tokens (which include Cohere's own preamble).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// What is billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_units: Option<Units>,
    /// Tokens the model actually read and wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Units>,
    /// Input tokens served from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
}

/// Input and output counts (tokens or billed units).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Units {
    /// Input count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Every other member (`search_units`, `classifications`, `image_tokens`), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v2/embed` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedRequest {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// Texts to embed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<String>>,
    /// `search_document`, `search_query`, `classification`, `clustering`, `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// `float`, `int8`, `uint8`, `binary`, `ubinary`, `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_types: Option<Vec<String>>,
    /// Embedding size (models that support several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<u64>,
    /// Every other member (`images`, `inputs`, `truncate`, `max_tokens`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v2/embed` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// Embeddings by type.
    #[serde(default)]
    pub embeddings: Embeddings,
    /// The embedded texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<String>>,
    /// Billing and version metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<EmbedMeta>,
    /// `embeddings_by_type` (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
}

/// Embeddings by type; only `float` is translated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    /// One float vector per input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<Vec<Vec<f64>>>,
    /// Every other type (`int8`, `base64`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Embed response metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedMeta {
    /// What is billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_units: Option<Units>,
    /// Tokens read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Units>,
    /// Every other member (`api_version`, `warnings`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Cohere's error body: `{"id": ..., "message": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}
