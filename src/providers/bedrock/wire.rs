//! Bedrock Converse wire types (`POST /model/{modelId}/converse`).
//!
//! Converse unions (`ContentBlock`, `SystemContentBlock`, `Tool`, `ToolChoice`) are objects
//! with exactly one member set; they are modelled as structs of optional members, with the
//! members ringway does not translate kept in `extra` so that they survive a round trip.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Converse request body (the model id travels in the path).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    /// The conversation (user and assistant turns, alternating).
    #[serde(default)]
    pub messages: Vec<Message>,
    /// System prompt blocks (`text`, `cachePoint`, `guardContent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<ContentBlock>,
    /// Sampling settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfig>,
    /// Tools and tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// Model-specific fields passed through (`top_k`, `thinking`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_request_fields: Option<Value>,
    /// Every other member (`guardrailConfig`, `performanceConfig`, `requestMetadata`,
    /// `promptVariables`, `additionalModelResponseFieldPaths`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// Content blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

/// A content block: exactly one member is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlock {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageBlock>,
    /// A tool call by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use: Option<ToolUse>,
    /// A tool result from the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// Reasoning (thinking) of the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<ReasoningContent>,
    /// JSON content (inside tool results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A prompt-cache checkpoint (`{"type": "default"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_point: Option<Value>,
    /// Every other member (`document`, `video`, `guardContent`, `citationsContent`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// A default cache point.
    pub fn cache_point() -> Self {
        Self {
            cache_point: Some(serde_json::json!({"type": "default"})),
            ..Self::default()
        }
    }
}

/// `{"format": "png", "source": {"bytes": "<base64>"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: String,
    /// Where the bytes are.
    pub source: ImageSource,
}

/// The bytes of an image (base64 in JSON) or an S3 location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSource {
    /// Base64 of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    /// Every other member (`s3Location`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUse {
    /// Call id.
    pub tool_use_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments (a JSON object).
    #[serde(default)]
    pub input: Value,
}

/// The result of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    /// The call answered.
    pub tool_use_id: String,
    /// `text`, `json`, `image` or `document` blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `success` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Reasoning content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningContent {
    /// Readable reasoning with its signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_text: Option<ReasoningText>,
    /// Every other member (`redactedContent`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Readable reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningText {
    /// The reasoning.
    #[serde(default)]
    pub text: String,
    /// Signature to send back in later turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// `inferenceConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
}

impl InferenceConfig {
    /// True when no member is set (the block is then left out).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `toolConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// Tools (and cache points).
    #[serde(default)]
    pub tools: Vec<Tool>,
    /// `{"auto": {}}`, `{"any": {}}` or `{"tool": {"name": ...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
}

/// A tool entry: a tool spec or a cache point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_spec: Option<ToolSpec>,
    /// A cache point after the tools before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_point: Option<Value>,
    /// Every other member (`systemTool`), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool's name, description and input schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// Tool name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `{"json": <JSON schema>}`.
    pub input_schema: InputSchema,
}

/// A tool's input schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    /// JSON Schema of the arguments.
    pub json: Value,
}

/// A Converse response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    /// `{"message": {...}}`.
    pub output: Output,
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: String,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// `{"latencyMs": n}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Value>,
    /// Every other member (`additionalModelResponseFields`, `trace`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The output of a Converse call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// Token usage (`cacheRead`/`cacheWrite` tokens are not part of `inputTokens`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens outside the prompt cache.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Total.
    #[serde(default)]
    pub total_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_tokens: Option<u64>,
}
