//! Zero-copy JSON access for the same-format path.
//!
//! A request body is checked in two cheap passes and never turned into a DOM:
//!
//! 1. [`check_depth`]: a linear pre-scan rejecting nesting deeper than [`MAX_DEPTH`], because
//!    sonic-rs has no depth limit and deep nesting overflows a worker's stack (see TOOLING.md).
//! 2. [`read_fields`]: one sonic-rs lazy pass over the top-level object that validates the whole
//!    body and decodes only `model`, `stream` and `fallbacks`, recording their byte spans.
//!
//! [`rewrite`] then splices the new model in and the `fallbacks` member out, leaving every other
//! byte of the body untouched (or returns the body itself when nothing changes).

mod depth;
mod error;
mod fields;
mod rewrite;

pub use depth::{MAX_DEPTH, check_depth};
pub use error::JsonError;
pub use fields::{RequestFields, read_fields, read_fields_with_depth, read_string_field};
pub use rewrite::{rewrite, rewrite_segments, write_json_string};
