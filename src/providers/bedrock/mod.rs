//! AWS Bedrock Converse: translation to and from the unified (OpenAI-shaped) schema, SigV4
//! signing and the AWS event-stream framing.
//!
//! Pure code, no I/O:
//!
//! ```text
//! request   unified ChatRequest --request_to_bedrock--> Converse body
//!           (path /model/{id}/converse[-stream], id from the key's deployments/arn, encoded)
//! auth      prepare: Bedrock API key (bearer) or SigV4 (access key, secret, session token)
//! response  Converse body --response_from_bedrock--> chat.completion
//! stream    event-stream bytes --EventStreamFramer--> messages
//!           --BedrockToOpenAiStream--> chat.completion.chunk events
//! errors    {"message"} bodies and stream exceptions -> ProviderError
//!
//! drop-in   (/bedrock/model/{id}/converse[-stream], the AWS SDKs' routes)
//!           Converse body --request_from_bedrock--> unified ChatRequest
//!           chat.completion --response_to_bedrock--> Converse body
//!           OpenAI chunk events --OpenAiToBedrockStream--> event-stream messages
//!           GatewayError -> {"message"} (error_body) or an exception message (error_event)
//! ```
//!
//! Not translated (dropped or refused, see each function): remote image URLs (Converse takes
//! bytes), documents/files, audio, video, OpenAI `response_format` (Bifrost turns json_schema
//! into a forced tool; here it is dropped), `reasoning_effort` (pass `thinking` through
//! `additionalModelRequestFields` instead), `tool_choice: "none"` (Converse has no such mode:
//! the tools stay offered, as in Bifrost), `parallel_tool_calls`, `n > 1`, logprobs,
//! `seed`, penalties, citations and guardrail traces in responses, reasoning signatures.
//! From AWS SDK clients towards other providers (a Bedrock provider gets the body as sent):
//! documents, videos, S3 image locations and guard content are refused; cache points, earlier
//! reasoning blocks, `additionalModelRequestFields`, `guardrailConfig` and the other
//! Bedrock-only members are dropped.

mod auth;
mod client;
mod error;
pub mod eventstream;
mod request;
mod response;
pub mod sigv4;
mod stream_to_bedrock;
mod stream_to_openai;
pub mod wire;

pub use auth::{
    BedrockKey, DEFAULT_REGION, PreparedRequest, SIGNING_SERVICE, decode_model_id, model_path,
    prepare,
};
pub use client::{
    chat_to_converse, error_body, error_event, from_converse_request, request_from_bedrock,
    response_to_bedrock, stop_reason, usage_to_bedrock,
};
pub use error::{
    exception_for_status, frame_error, message_error, parse_error, status_of_exception,
};
pub use eventstream::{EventStreamError, EventStreamFramer};
pub use request::{request_to_bedrock, to_converse_request};
pub use response::{converse_to_chat, finish_reason, response_from_bedrock, usage_from_bedrock};
pub use stream_to_bedrock::OpenAiToBedrockStream;
pub use stream_to_openai::{BedrockToOpenAiStream, stream_from_lines};

/// Path of Converse below `/model/{modelId}`.
pub const CONVERSE_PATH: &str = "/converse";

/// Path of ConverseStream below `/model/{modelId}`.
pub const CONVERSE_STREAM_PATH: &str = "/converse-stream";

/// Content type of a ConverseStream response.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";
