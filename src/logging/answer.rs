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
use super::extract::MAX_PARSED_BODY;
use super::spans::{self, members};
use crate::json::scan::Kind;

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
    let [usage, choices] = members(body, &[b"usage", b"choices"])?;
    let usage = match &usage {
        Some(u) => spans::usage(body, u)?,
        None => None,
    };
    let message = match choices.as_ref().and_then(|c| spans::first_element(body, c)) {
        Some(first) if first.kind == Kind::Object => {
            let [message] = spans::members_at(body, &first, &[b"message"])?;
            message.map(|m| m.span)
        }
        _ => None,
    };
    Some(Answer { usage, message })
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
}
