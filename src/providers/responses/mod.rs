//! OpenAI Responses API (`POST /v1/responses`): translation to and from the unified chat schema.
//!
//! With the openai provider a Responses request is forwarded untouched (native). Every other
//! provider is served the way Bifrost does it, by converting to a chat request and back:
//!
//! ```text
//! request   Responses body   --request_from_responses-->  unified ChatRequest
//! response  chat.completion  --response_from_chat------>  Responses `response` object
//! stream    OpenAI chunks    --ChatToResponsesStream--->  `event: response.*` events (no [DONE])
//! errors    GatewayError     --error_event------------->  `event: error`
//! ```
//!
//! Pure code, no I/O. Not translated (refused with a 400, since ringway keeps no state or has
//! no chat equivalent): `previous_response_id`, `conversation`, built-in tools (web search, file
//! search, computer use, MCP), `input_file` and `file_id` images, item references. Reasoning
//! items in the input are dropped; reasoning text in an answer becomes a `reasoning` item with
//! a summary (streamed as `response.reasoning_summary_text.*`). Only the first choice is read.

mod error;
mod request;
mod response;
mod stream;

pub use error::error_event;
pub use request::request_from_responses;
pub use response::response_from_chat;
pub use stream::ChatToResponsesStream;

/// Whether a provider serves the Responses API itself (so requests pass through untouched).
///
/// Only OpenAI, to be safe: most OpenAI-compatible servers have no `/v1/responses`.
pub fn native_on(provider_spec_name: &str) -> bool {
    provider_spec_name == "openai"
}
