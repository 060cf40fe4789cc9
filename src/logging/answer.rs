//! The parts of a complete OpenAI-shaped answer a log row keeps, read in one validating pass.
//!
//! The general path ([`Lazy`](super::extract::Lazy)) depth-checks the body, then walks it with
//! sonic-rs once for `usage` and once more for `choices[0].message`, and validates the message
//! again before copying it. Here the gateway's own scanner validates the whole body once and
//! hands out the top-level spans; the two small pieces under them are read off those spans.
//! Anything unusual (not an object, escaped or duplicate keys the row reads, too deep) is left
//! to the general path, so both give the same row.

use std::ops::Range;

use super::entry::TokenUsage;
use super::extract::{MAX_PARSED_BODY, counts};
use crate::json::MAX_DEPTH;
use crate::json::scan::{Kind, Member, is_ws, scan_object, skip_ws};

/// What a row reads from a complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The top-level `usage` counts (`None` when absent, not an object, or without counts).
    pub usage: Option<TokenUsage>,
    /// The span of `choices[0].message`, valid JSON (`None` when there is none).
    pub message: Option<Range<usize>>,
}

/// Reads `body`'s usage and first message span; `None` leaves the body to the general path.
pub fn read(body: &[u8]) -> Option<Answer> {
    if body.len() > MAX_PARSED_BODY {
        return None;
    }
    let top = members(body, &[b"usage", b"choices"])?;
    let usage = match &top[0] {
        Some((Kind::Object, span)) => usage(&body[span.clone()])?,
        _ => None,
    };
    let message = match &top[1] {
        Some((Kind::Array, span)) => match first_element(body, span.clone()) {
            Some(first) if body[first.start] == b'{' => {
                let inner = members(&body[first.clone()], &[b"message"])?;
                inner[0]
                    .as_ref()
                    .map(|(_, m)| first.start + m.start..first.start + m.end)
            }
            _ => None,
        },
        _ => None,
    };
    Some(Answer { usage, message })
}

/// A member's value: its kind and span.
type Value = (Kind, Range<usize>);

/// The value of each of `names` among `object`'s top-level members (validating the whole of
/// it); `None` when it is not a valid object or one of `names` is escaped or repeated.
fn members<const N: usize>(object: &[u8], names: &[&[u8]; N]) -> Option<[Option<Value>; N]> {
    let mut found: [Option<Value>; N] = std::array::from_fn(|_| None);
    let mut unusual = false;
    let scanned = scan_object(object, MAX_DEPTH, |m: &Member| {
        let key = &object[m.key.start + 1..m.key.end - 1];
        if m.key_escaped {
            // An escaped key might spell one of the names: the general path decodes it.
            unusual = true;
        } else if let Some(i) = names.iter().position(|n| *n == key) {
            unusual |= found[i].replace((m.kind, m.value.clone())).is_some();
        }
        Ok(())
    });
    (scanned.is_ok() && !unusual).then_some(found)
}

/// Token counts of a `usage` object (already validated); the outer `None` leaves it to the
/// general path (an escaped or repeated count).
fn usage(object: &[u8]) -> Option<Option<TokenUsage>> {
    const NAMES: [&[u8]; 5] = [
        b"prompt_tokens",
        b"input_tokens",
        b"completion_tokens",
        b"output_tokens",
        b"total_tokens",
    ];
    let found = members(object, &NAMES)?;
    let n: [Option<u64>; 5] = std::array::from_fn(|i| match &found[i] {
        // A count is a plain non-negative integer (`as_u64` of the general path).
        Some((Kind::Number, span)) => std::str::from_utf8(&object[span.clone()])
            .ok()?
            .parse()
            .ok(),
        _ => None,
    });
    Some(counts(n[0].or(n[1]), n[2].or(n[3]), n[4]))
}

/// The span of the first element of the (valid) array at `array` in `body`.
fn first_element(body: &[u8], array: Range<usize>) -> Option<Range<usize>> {
    let start = skip_ws(body, array.start + 1);
    if start >= array.end || body[start] == b']' {
        return None;
    }
    // The array was validated: brackets outside strings nest properly and every string ends.
    let mut depth = 0usize;
    let mut i = start;
    while i < array.end {
        match body[i] {
            b'"' => {
                i += 1;
                while body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(start..trim_end(body, start, i));
                }
                depth -= 1;
                if depth == 0 {
                    return Some(start..i + 1);
                }
            }
            b',' if depth == 0 => return Some(start..trim_end(body, start, i)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// `end` moved back over JSON whitespace, not before `start`.
fn trim_end(body: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && is_ws(body[end - 1]) {
        end -= 1;
    }
    end
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::logging::extract::Lazy;

    /// What the general path reads: usage and the raw `choices[0].message`.
    fn general(body: &[u8]) -> (Option<TokenUsage>, Option<Vec<u8>>) {
        let lazy = Lazy::new(body);
        let usage = lazy.and_then(Lazy::usage);
        let mut raw = Vec::new();
        let message = lazy
            .is_some_and(|l| l.copy_raw(&sonic_rs::pointer!["choices", 0, "message"], &mut raw))
            .then_some(raw);
        (usage, message)
    }

    #[test]
    fn agrees_with_the_general_path() {
        let bodies: &[&str] = &[
            r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#,
            r#" { "usage" : { "input_tokens" : 7 , "output_tokens" : 5 } , "choices" : [ { "message" : { "content" : "a \"q\" \\ [x] {y}" } } , {"message":{}} ] } "#,
            r#"{"choices":[ {"finish_reason":"stop","message":{"content":[1,[2,{"a":"]"}]]},"x":1} ],"usage":{"total_tokens":4}}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":1.5,"completion_tokens":-1,"total_tokens":"3"}}"#,
            r#"{"choices":[{"text":"no message"}],"usage":null}"#,
            r#"{"choices":[["not an object"]],"usage":[1]}"#,
            r#"{"choices":{"0":{"message":{}}},"usage":{}}"#,
            r#"{"type":"message","content":[{"type":"text","text":"anthropic"}],"usage":{"input_tokens":3,"output_tokens":4}}"#,
            r#"{"choices":[{"message":{"content":"caf\u00e9 ✓"}}],"usage":{"prompt_tokens":18446744073709551615}}"#,
            r#"{"choices":[{"message":"plain"}]}"#,
            r#"{"data":[{"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":5,"total_tokens":5}}"#,
        ];
        for body in bodies {
            let answer = read(body.as_bytes()).unwrap_or_else(|| panic!("not read: {body}"));
            let (usage, message) = general(body.as_bytes());
            assert_eq!(answer.usage, usage, "{body}");
            let ours = answer.message.map(|m| body.as_bytes()[m].to_vec());
            assert_eq!(ours, message, "{body}");
        }
    }

    #[test]
    fn unusual_bodies_are_left_to_the_general_path() {
        for body in [
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"{"us\u0061ge":{"prompt_tokens":1}}"#,
            r#"{"usage":{"prompt_tokens":1,"prompt_tokens":2}}"#,
            r#"{"choices":[{"message":{},"message":{}}]}"#,
            r#"{"choices":[{"message":{}}]"#,
            r#"[{"usage":{}}]"#,
            "not json",
        ] {
            assert_eq!(read(body.as_bytes()), None, "{body}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(read(deep.as_bytes()), None);
    }

    #[test]
    fn first_elements() {
        let cases = [
            ("[1,2]", Some("1")),
            ("[ \"a,]\" , 2]", Some("\"a,]\"")),
            ("[{\"k\":[1,2]},3]", Some("{\"k\":[1,2]}")),
            ("[ [1,[2]] ]", Some("[1,[2]]")),
            ("[ true ]", Some("true")),
            ("[]", None),
            ("[ ]", None),
        ];
        for (text, want) in cases {
            let got = first_element(text.as_bytes(), 0..text.len());
            assert_eq!(got.map(|r| &text[r]), want, "{text}");
        }
    }
}
