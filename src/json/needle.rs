//! Quoted keys that per-event paths look for before decoding anything.
//!
//! `memchr::memmem::find` builds its searcher (rare-byte ranking, prefilter) on every call,
//! which on a short event costs more than the search; these are built once.

use std::sync::LazyLock;

use memchr::memmem::Finder;

static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));

/// Whether `text` contains `"error"` (a key or a string: decoding tells which).
pub fn mentions_error(text: &[u8]) -> bool {
    ERROR.find(text).is_some()
}

/// Whether `text` contains `"usage"` (a key or a string: decoding tells which).
pub fn mentions_usage(text: &[u8]) -> bool {
    USAGE.find(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_quoted_word_only() {
        assert!(mentions_error(br#"{"error":{"message":"x"}}"#));
        assert!(!mentions_error(
            br#"{"choices":[{"delta":{"content":"error"}}]}"#[..20].as_ref()
        ));
        assert!(!mentions_error(b"error without quotes"));
        assert!(mentions_usage(br#"{"id":"c","usage":{"total_tokens":3}}"#));
        assert!(!mentions_usage(br#"{"id":"c","choices":[]}"#));
    }
}
