//! serde decoding of a JSON body whose UTF-8 is checked once.

use serde::Deserialize;

/// Decodes `body` as `T`, checking its UTF-8 once: serde_json checks each string of a byte
/// slice on its own, and of a `str` not at all. Errors are serde_json's, as from `from_slice`.
pub fn from_slice<'de, T: Deserialize<'de>>(body: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}
