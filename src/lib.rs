//! ringway: a thread-per-core AI gateway, drop-in compatible with Bifrost.
//!
//! The request path, top to bottom (one core, no hand-offs):
//!
//! ```text
//! server::listen      one SO_REUSEPORT listener + monoio runtime per worker
//!  -> server::conn     HTTP/1.1 loop: limits, header/body/keep-alive timeouts
//!  -> server::router   /v1/*, /health, 404
//!  -> config::snapshot this core's config (one relaxed atomic load per request)
//!  -> json             one validating scan, field read (model, stream, fallbacks), byte splice
//!  -> routing::keys    provider/model -> enabled keys allowing the model -> weighted pick
//!  -> inference        admission (concurrency + buffer), retries with async backoff, fallbacks
//!  -> upstream         this core's keep-alive pool (DNS off-core, rustls, CONNECT/SOCKS5)
//!  -> sse              streamed responses relayed one event per write
//!  -> error            every failure rendered once, as Bifrost's error JSON
//! ```

pub mod admin;
pub mod alloc;
pub mod boxed;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod inference;
pub mod json;
pub mod logging;
pub mod plugins;
pub mod providers;
pub mod routing;
pub mod server;
pub mod sse;
pub mod store;
pub mod telemetry;
pub mod timer;
pub mod upstream;
