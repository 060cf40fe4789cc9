//! Inference: admission, retries with async backoff, fallbacks, and the upstream exchange.

pub mod admission;
pub mod retry;
