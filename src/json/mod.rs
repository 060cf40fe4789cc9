//! Zero-copy JSON access for the same-format path.
//!
//! A request body is never turned into a DOM:
//!
//! 1. [`read_fields`]: one iterative pass ([`scan`]) validates the whole body, refuses nesting
//!    deeper than [`MAX_DEPTH`] (sonic-rs has no depth limit, and deep nesting overflows a
//!    worker's stack: see TOOLING.md), and reports the top-level members; only `model`,
//!    `stream` and `fallbacks` are decoded, with their byte spans recorded.
//! 2. [`rewrite`] then splices the new model in and the `fallbacks` member out, leaving every
//!    other byte of the body untouched (or returns the body itself when nothing changes).
//!
//! [`check_depth`] guards the bodies sonic-rs walks elsewhere (the request log's field
//! extraction from request and response bodies).

mod decode;
mod depth;
mod encode;
mod error;
mod fields;
mod needle;
mod rewrite;
pub mod scan;

pub use decode::from_slice;
pub use depth::{MAX_DEPTH, check_depth};
pub use encode::{append, to_vec};
pub use error::JsonError;
pub use fields::{RequestFields, read_fields, read_fields_with_depth, read_string_field};
pub use needle::{mentions_error, mentions_usage};
pub use rewrite::{rewrite, rewrite_segments, write_json_string};
