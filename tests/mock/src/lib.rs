//! ringway-mock: a mock LLM provider speaking the providers' wire formats over real HTTP/1.1.
//!
//! It is the upstream of the gateway's integration tests and the "direct" ceiling of the load
//! benchmark. A request goes:
//!
//! ```text
//! server   accept on this worker's SO_REUSEPORT listener -> keep-alive loop
//! request  head (httparse) -> body (Content-Length or chunked)
//! dispatch /health, /_mock/* (control) | count + record -> script step -> --latency-ms
//! format   openai (by path suffix) -> auth -> model-name directives -> answer (JSON or SSE)
//! ```
//!
//! Faults come from the model name (`fail-503`, `hang`, `reset`, `slow-200`, `stream-error`,
//! `stream-hang`, `stream-cut`) or from the script queue (`POST /_mock/script`).

pub mod anthropic;
pub mod bedrock;
pub mod cli;
pub mod cohere;
pub mod control;
pub mod dispatch;
pub mod faults;
pub mod gemini;
pub mod harness;
pub mod json_read;
pub mod json_write;
pub mod openai;
pub mod record;
pub mod request;
pub mod response;
pub mod responses;
pub mod server;
pub mod state;
pub mod vertex;
