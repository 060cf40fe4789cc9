//! Cohere v2: chat and embed, translated to and from the unified (OpenAI-shaped) schema.
//!
//! Pure code, no I/O. Both sides are covered: a Cohere provider (an OpenAI-shaped request
//! served by Cohere) and a Cohere client (the `/cohere/v2/*` drop-in routes):
//!
//! ```text
//! request    unified ChatRequest   --request_to_cohere-->          /v2/chat body
//!            /v2/chat body         --request_from_cohere-->        unified ChatRequest
//!            OpenAI embeddings     --embed_request_to_cohere-->    /v2/embed body
//!            /v2/embed body        --embed_request_to_openai-->    OpenAI embeddings
//! response   /v2/chat answer       --response_from_cohere-->       chat.completion
//!            chat.completion       --response_to_cohere-->         /v2/chat answer
//!            /v2/embed answer      --embed_response_from_cohere--> embeddings list
//!            embeddings list       --embed_response_to_cohere-->   /v2/embed answer
//! stream     Cohere SSE events     --CohereToOpenAiStream-->       chat.completion.chunk events
//!            OpenAI chunk events   --OpenAiToCohereStream-->       Cohere SSE events
//! errors     Cohere error body     -> ProviderError (parse_error); GatewayError -> Cohere body
//!            (error_body) or a failed `message-end` (error_event)
//! ```
//!
//! The stream translators take one raw SSE event at a time (as framed by
//! [`crate::sse::SseFramer`]) and append zero or more complete output events.
//!
//! Not translated: Cohere `documents` and citations (RAG grounding has no OpenAI equivalent;
//! citations are dropped), log probabilities (`logprobs` is not requested), OpenAI `n > 1`,
//! audio and file parts, token-id embedding inputs, embedding types other than float (base64
//! is produced by ringway from the floats), `user` and `metadata` (Cohere has no field),
//! `parallel_tool_calls` and per-tool `strict` (Cohere decides; `strict_tools` may be sent as
//! an extra member). From a Cohere client to another provider: top-level `documents` are
//! refused, document blocks of tool results become text, and Cohere-only settings (`thinking`,
//! `safety_mode`, `citation_options`, `strict_tools`, `logprobs`) and past turns' `tool_plan`
//! are dropped; only float embeddings of texts are translated.

mod embed;
mod error;
mod request;
mod response;
mod stream_to_cohere;
mod stream_to_openai;
pub mod wire;

pub use embed::{
    DEFAULT_INPUT_TYPE, embed_request_to_cohere, embed_request_to_openai,
    embed_response_from_cohere, embed_response_to_cohere,
};
pub use error::{error_body, error_event, parse_error};
pub use request::{from_chat_request, request_from_cohere, request_to_cohere, to_chat_request};
pub use response::{
    chat_from_cohere, chat_to_cohere, cohere_finish_reason, finish_reason, response_from_cohere,
    response_to_cohere, usage_from_cohere, usage_to_cohere,
};
pub use stream_to_cohere::OpenAiToCohereStream;
pub use stream_to_openai::CohereToOpenAiStream;

/// Path of the chat endpoint below the versioned base (`/v2`).
pub const CHAT_PATH: &str = "/chat";

/// Path of the embed endpoint below the versioned base.
pub const EMBED_PATH: &str = "/embed";
