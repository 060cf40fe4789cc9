//! Gemini API bodies (`generateContent`, embeddings, model list, errors) as serde types.
//!
//! Google's REST surface is protobuf JSON: it accepts every field under its lowerCamelCase name
//! and under its original snake_case name, and the REST docs and some SDKs send the latter
//! (`system_instruction`, `inline_data`). Fields are written in camelCase and read in both.
//! Members the translators do not use are kept in `extra` maps where a Gemini-to-Gemini round
//! trip matters (generation config, tools, parts).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST models/{model}:generateContent` (and `:streamGenerateContent`) body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    /// The conversation.
    #[serde(default)]
    pub contents: Vec<Content>,
    /// System prompt.
    #[serde(
        default,
        alias = "system_instruction",
        skip_serializing_if = "Option::is_none"
    )]
    pub system_instruction: Option<Content>,
    /// Sampling and output settings.
    #[serde(
        default,
        alias = "generation_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub generation_config: Option<GenerationConfig>,
    /// Tools (function declarations, Google Search, code execution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Function calling mode.
    #[serde(
        default,
        alias = "tool_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_config: Option<ToolConfig>,
    /// Safety thresholds, kept as sent.
    #[serde(
        default,
        alias = "safety_settings",
        skip_serializing_if = "Option::is_none"
    )]
    pub safety_settings: Option<Value>,
    /// A cached content resource name (`cachedContents/...`).
    #[serde(
        default,
        alias = "cached_content",
        skip_serializing_if = "Option::is_none"
    )]
    pub cached_content: Option<String>,
}

/// One turn: a role and its parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// `user` or `model` (absent in a system instruction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The parts of the turn.
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// One part of a turn; exactly one of the payload fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The text is the model's reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Opaque signature of the model's reasoning (base64), to be sent back with the part.
    #[serde(
        default,
        alias = "thought_signature",
        skip_serializing_if = "Option::is_none"
    )]
    pub thought_signature: Option<String>,
    /// Inline bytes (images, audio, documents).
    #[serde(
        default,
        alias = "inline_data",
        skip_serializing_if = "Option::is_none"
    )]
    pub inline_data: Option<Blob>,
    /// A file by URI.
    #[serde(default, alias = "file_data", skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileData>,
    /// A function call by the model.
    #[serde(
        default,
        alias = "function_call",
        skip_serializing_if = "Option::is_none"
    )]
    pub function_call: Option<FunctionCall>,
    /// The result of a function call, in a user turn.
    #[serde(
        default,
        alias = "function_response",
        skip_serializing_if = "Option::is_none"
    )]
    pub function_response: Option<FunctionResponse>,
    /// Every other member (`executableCode`, `codeExecutionResult`, `videoMetadata`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }
}

/// Inline bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    /// MIME type of the data.
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    /// Base64 data.
    #[serde(default)]
    pub data: String,
}

/// A file by URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileData {
    /// MIME type of the file.
    #[serde(default, alias = "mime_type", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Where the file is (a Files API URI or a URL).
    #[serde(default, alias = "file_uri")]
    pub file_uri: String,
}

/// A function call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Call id (rarely sent by the Gemini API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

/// A function result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionResponse {
    /// The call answered, when the call had an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    #[serde(default)]
    pub name: String,
    /// The result as a JSON object.
    #[serde(default)]
    pub response: Value,
}

/// Sampling and output settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    /// Stop sequences.
    #[serde(
        default,
        alias = "stop_sequences",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_sequences: Option<Vec<String>>,
    /// Output MIME type (`text/plain`, `application/json`).
    #[serde(
        default,
        alias = "response_mime_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_mime_type: Option<String>,
    /// Output schema (OpenAPI subset, upper-case types).
    #[serde(
        default,
        alias = "response_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_schema: Option<Value>,
    /// Output schema (JSON Schema).
    #[serde(
        default,
        alias = "response_json_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_json_schema: Option<Value>,
    /// Number of candidates.
    #[serde(
        default,
        alias = "candidate_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub candidate_count: Option<u32>,
    /// Output token limit.
    #[serde(
        default,
        alias = "max_output_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_output_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, alias = "top_p", skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, alias = "top_k", skip_serializing_if = "Option::is_none")]
    pub top_k: Option<f64>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Presence penalty.
    #[serde(
        default,
        alias = "presence_penalty",
        skip_serializing_if = "Option::is_none"
    )]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(
        default,
        alias = "frequency_penalty",
        skip_serializing_if = "Option::is_none"
    )]
    pub frequency_penalty: Option<f64>,
    /// Return log probabilities.
    #[serde(
        default,
        alias = "response_logprobs",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_logprobs: Option<bool>,
    /// Number of top candidates returned with log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Reasoning settings.
    #[serde(
        default,
        alias = "thinking_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_config: Option<ThinkingConfig>,
    /// Every other member (`responseModalities`, `speechConfig`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Reasoning settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// Return the reasoning as `thought` parts.
    #[serde(
        default,
        alias = "include_thoughts",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_thoughts: Option<bool>,
    /// Reasoning token budget (0 disables, -1 is dynamic); Gemini 2.5.
    #[serde(
        default,
        alias = "thinking_budget",
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_budget: Option<i64>,
    /// `minimal`, `low`, `medium` or `high`; Gemini 3.
    #[serde(
        default,
        alias = "thinking_level",
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_level: Option<String>,
}

/// A tool: function declarations, or a built-in tool kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Functions the model may call.
    #[serde(
        default,
        alias = "function_declarations",
        skip_serializing_if = "Option::is_none"
    )]
    pub function_declarations: Option<Vec<FunctionDeclaration>>,
    /// Built-in tools (`googleSearch`, `codeExecution`, `urlContext`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A callable function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration {
    /// Function name.
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments schema (OpenAPI subset, upper-case types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Arguments schema (JSON Schema).
    #[serde(
        default,
        alias = "parameters_json_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters_json_schema: Option<Value>,
}

/// Tool settings shared by every tool of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// Function calling mode.
    #[serde(
        default,
        alias = "function_calling_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub function_calling_config: Option<FunctionCallingConfig>,
}

/// Function calling mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE` or `VALIDATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Functions the model may call in `ANY` mode.
    #[serde(
        default,
        alias = "allowed_function_names",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_function_names: Option<Vec<String>>,
}

/// A complete answer, or one chunk of a streamed answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    /// The answers.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, if it was.
    #[serde(
        default,
        alias = "prompt_feedback",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token usage.
    #[serde(
        default,
        alias = "usage_metadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub usage_metadata: Option<UsageMetadata>,
    /// Model that answered.
    #[serde(
        default,
        alias = "model_version",
        skip_serializing_if = "Option::is_none"
    )]
    pub model_version: Option<String>,
    /// Response id.
    #[serde(
        default,
        alias = "response_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_id: Option<String>,
}

/// One answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The model's turn (absent when the answer was blocked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, ...; absent on chunks before the last.
    #[serde(
        default,
        alias = "finish_reason",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_reason: Option<String>,
    /// Position among the candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// Why a prompt was blocked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// `SAFETY`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `OTHER`, ...
    #[serde(
        default,
        alias = "block_reason",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_reason: Option<String>,
}

/// Token usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    /// Input tokens (cached ones included).
    #[serde(default, alias = "prompt_token_count")]
    pub prompt_token_count: u64,
    /// Output tokens, reasoning excluded.
    #[serde(
        default,
        alias = "candidates_token_count",
        skip_serializing_if = "is_zero"
    )]
    pub candidates_token_count: u64,
    /// Every token of the exchange.
    #[serde(default, alias = "total_token_count")]
    pub total_token_count: u64,
    /// Reasoning tokens.
    #[serde(
        default,
        alias = "thoughts_token_count",
        skip_serializing_if = "is_zero"
    )]
    pub thoughts_token_count: u64,
    /// Input tokens read from the context cache.
    #[serde(
        default,
        alias = "cached_content_token_count",
        skip_serializing_if = "is_zero"
    )]
    pub cached_content_token_count: u64,
    /// Tokens of tool results fed back to the model (search results, code output).
    #[serde(
        default,
        alias = "tool_use_prompt_token_count",
        skip_serializing_if = "is_zero"
    )]
    pub tool_use_prompt_token_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `POST models/{model}:embedContent` body, and one entry of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedContentRequest {
    /// `models/{model}` (required in a batch entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What to embed; its text parts are embedded together.
    #[serde(default)]
    pub content: Content,
    /// `RETRIEVAL_QUERY`, `RETRIEVAL_DOCUMENT`, `SEMANTIC_SIMILARITY`, ...
    #[serde(default, alias = "task_type", skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// Document title (for `RETRIEVAL_DOCUMENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Truncate the embedding to this many dimensions.
    #[serde(
        default,
        alias = "output_dimensionality",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_dimensionality: Option<u32>,
}

/// `POST models/{model}:batchEmbedContents` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchEmbedContentsRequest {
    /// One entry per embedding.
    #[serde(default)]
    pub requests: Vec<EmbedContentRequest>,
}

/// An embedding response: `embedding` from `:embedContent`, `embeddings` from a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    /// The single embedding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<ContentEmbedding>,
    /// The batch's embeddings, in request order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<Vec<ContentEmbedding>>,
}

/// One embedding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentEmbedding {
    /// The vector.
    #[serde(default)]
    pub values: Vec<f64>,
}

/// `GET models` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListModelsResponse {
    /// The models.
    #[serde(default)]
    pub models: Vec<Model>,
    /// Token of the next page (absent on the last one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// One model of the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// `models/{id}`.
    pub name: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What the model is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Largest input, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_token_limit: Option<u64>,
    /// Largest output, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_token_limit: Option<u64>,
    /// `generateContent`, `countTokens`, `embedContent`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_generation_methods: Option<Vec<String>>,
    /// Every other member (`version`, `temperature`, `thinking`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An error body: `{"error": {"code", "message", "status"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// HTTP status.
    #[serde(default)]
    pub code: u16,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Canonical status name (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Structured details (error info, retry info), kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_snake_case_and_writes_camel_case() {
        let body = json!({
            "system_instruction": {"parts": [{"text": "be brief"}]},
            "contents": [{"role": "user", "parts": [
                {"text": "hi"},
                {"inline_data": {"mime_type": "image/png", "data": "AAAA"}}
            ]}],
            "generation_config": {"max_output_tokens": 10, "stop_sequences": ["x"],
                                  "responseModalities": ["TEXT"]},
            "tool_config": {"function_calling_config": {"mode": "ANY",
                            "allowed_function_names": ["f"]}}
        });
        let req: GenerateContentRequest = serde_json::from_value(body).expect("decodes");
        assert_eq!(
            req.system_instruction.as_ref().map(|s| s.parts.len()),
            Some(1)
        );
        let blob = req.contents[0].parts[1].inline_data.as_ref().expect("blob");
        assert_eq!(blob.mime_type, "image/png");
        let gc = req.generation_config.as_ref().expect("config");
        assert_eq!(gc.max_output_tokens, Some(10));
        assert_eq!(gc.extra["responseModalities"], json!(["TEXT"]));
        let fc = req
            .tool_config
            .as_ref()
            .and_then(|t| t.function_calling_config.as_ref())
            .expect("fc");
        assert_eq!(fc.allowed_function_names, Some(vec!["f".to_string()]));
        let out = serde_json::to_value(&req).expect("encodes");
        assert!(out.get("systemInstruction").is_some());
        assert_eq!(
            out["contents"][0]["parts"][1]["inlineData"]["mimeType"],
            "image/png"
        );
        assert_eq!(out["generationConfig"]["maxOutputTokens"], 10);
        assert_eq!(
            out["generationConfig"]["responseModalities"],
            json!(["TEXT"])
        );
    }

    #[test]
    fn usage_skips_zero_details() {
        let u = UsageMetadata {
            prompt_token_count: 3,
            candidates_token_count: 2,
            total_token_count: 5,
            ..UsageMetadata::default()
        };
        assert_eq!(
            serde_json::to_value(&u).expect("json"),
            json!({"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5})
        );
    }
}
