//! Lazy JSON reading helpers on top of sonic-rs (no DOM on the hot paths).

use std::borrow::Cow;

use sonic_rs::{JsonValueTrait, LazyValue};

/// Deepest nesting accepted; sonic-rs has no limit and overflows the stack on deep input.
pub const MAX_DEPTH: usize = 128;

/// True when no object/array in `body` nests deeper than `max` (a linear scan that skips strings).
///
/// Run before any sonic-rs call: a few KB of `[` would otherwise abort the whole process.
pub fn depth_ok(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in body {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The unescaped text of a JSON string value, borrowed from the input when it has no escapes.
pub fn str_of<'a>(v: &LazyValue<'a>) -> Option<Cow<'a, str>> {
    if !v.is_str() {
        return None;
    }
    match v.as_raw_cow() {
        Cow::Borrowed(raw) if !raw.contains('\\') && raw.len() >= 2 => {
            Some(Cow::Borrowed(&raw[1..raw.len() - 1]))
        }
        _ => v.as_str().map(|s| Cow::Owned(s.to_owned())),
    }
}

/// The text of an OpenAI message `content`: a string, or the `text` parts of an array joined by
/// a space; anything else (null, images only) is empty.
pub fn content_text<'a>(v: LazyValue<'a>) -> Cow<'a, str> {
    if let Some(s) = str_of(&v) {
        return s;
    }
    let Some(parts) = v.into_array_iter() else {
        return Cow::Borrowed("");
    };
    let mut joined: Option<Cow<'a, str>> = None;
    for part in parts.flatten() {
        let Some(entries) = part.into_object_iter() else {
            continue;
        };
        for (key, value) in entries.flatten() {
            if key != "text" {
                continue;
            }
            let Some(text) = str_of(&value) else {
                continue;
            };
            joined = Some(match joined {
                None => text,
                Some(prev) => Cow::Owned(format!("{prev} {text}")),
            });
        }
    }
    joined.unwrap_or(Cow::Borrowed(""))
}

/// Words separated by ASCII whitespace: the mock's deterministic stand-in for a token count.
///
/// Byte-based on purpose (`split_whitespace` is Unicode-aware and shows up in profiles).
pub fn count_words(s: &str) -> u64 {
    let mut words = 0;
    let mut in_word = false;
    for &b in s.as_bytes() {
        let space = b.is_ascii_whitespace();
        words += u64::from(!space && !in_word);
        in_word = !space;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_counts_brackets_outside_strings_only() {
        assert!(depth_ok(br#"{"a":[[1]]}"#, 3));
        assert!(!depth_ok(br#"{"a":[[1]]}"#, 2));
        assert!(depth_ok(br#"{"a":"[[[[[[\"[[[["}"#, 1));
        let deep = "[".repeat(100_000);
        assert!(!depth_ok(deep.as_bytes(), MAX_DEPTH));
    }

    #[test]
    fn str_of_borrows_plain_and_unescapes_escaped() {
        let body = br#"{"a":"plain","b":"q\"x\u00e9","c":1}"#;
        let a = sonic_rs::get(&body[..], ["a"]).expect("a");
        assert!(matches!(str_of(&a), Some(Cow::Borrowed("plain"))));
        let b = sonic_rs::get(&body[..], ["b"]).expect("b");
        assert_eq!(str_of(&b).as_deref(), Some("q\"xé"));
        let c = sonic_rs::get(&body[..], ["c"]).expect("c");
        assert!(str_of(&c).is_none());
    }

    #[test]
    fn content_text_handles_strings_parts_and_null() {
        let body = br#"{"s":"hi there","p":[{"type":"text","text":"one"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"two"}],"n":null}"#;
        let get = |k: &str| sonic_rs::get(&body[..], [k]).expect("key");
        assert_eq!(content_text(get("s")), "hi there");
        assert_eq!(content_text(get("p")), "one two");
        assert_eq!(content_text(get("n")), "");
        assert_eq!(count_words(" a  b\nc "), 3);
        assert_eq!(count_words(""), 0);
        assert_eq!(count_words("héllo wörld ✓"), 3);
    }
}
