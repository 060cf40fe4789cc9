//! Anthropic Messages API: translation to and from the unified (OpenAI-shaped) schema.
//!
//! Pure code, no I/O. Every pair is covered, since a client may speak either side:
//!
//! ```text
//! request    unified ChatRequest --request_to_anthropic-->  Messages body      (upstream anthropic)
//!            Messages body       --request_from_anthropic-> unified ChatRequest (/anthropic route)
//! response   Messages body       --response_from_anthropic-> chat.completion
//!            chat.completion     --response_to_anthropic-->  Messages body
//! stream     Anthropic events    --AnthropicToOpenAiStream-> chat.completion.chunk events
//!            OpenAI chunk events --OpenAiToAnthropicStream-> Anthropic events
//! errors     Anthropic error body -> ProviderError (parse_error); GatewayError -> Anthropic body
//!            (error_body) or `event: error` (error_event)
//! ```
//!
//! The stream translators take one raw SSE event at a time (as framed by
//! [`crate::sse::SseFramer`]) and append zero or more complete output events; they never hold
//! more than the state of the current content block.
//!
//! Not translated (dropped or refused, see each function): Anthropic server tools and their
//! result blocks, documents/PDFs, citations, `thinking` configuration and signatures,
//! `top_k` towards OpenAI-family providers, OpenAI `response_format`, audio and file parts,
//! `n > 1`, logprobs.

mod block_decode;
mod error;
mod models;
mod request;
mod response;
mod stream_to_anthropic;
mod stream_to_openai;
pub mod wire;

pub use error::{
    error_body, error_body_from_bifrost, error_event, error_type, parse_error, status_of,
};
pub use models::listing_to_anthropic;
pub use request::{
    from_messages_request, request_from_anthropic, request_to_anthropic, to_messages_request,
};
pub use response::{
    chat_to_message, finish_reason, message_to_chat, response_from_anthropic,
    response_to_anthropic, stop_reason, usage_from_anthropic, usage_to_anthropic,
};
pub use stream_to_anthropic::OpenAiToAnthropicStream;
pub use stream_to_openai::AnthropicToOpenAiStream;

/// `max_tokens` sent when the client gave no limit (Anthropic requires one; Bifrost uses 4096).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The `anthropic-version` header value sent upstream.
pub const API_VERSION: &str = "2023-06-01";

/// Path of the Messages endpoint below the versioned base (`/v1`).
pub const MESSAGES_PATH: &str = "/messages";

/// Path of the token counting endpoint below the versioned base.
pub const COUNT_TOKENS_PATH: &str = "/messages/count_tokens";

/// Path of the model list below the versioned base.
pub const MODELS_PATH: &str = "/models";
