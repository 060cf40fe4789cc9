//! What one streamed event tells a log row (its usage and its piece of the answer text), read
//! through the scanner's spans instead of a parsed `Value`: every event of a logged stream
//! passes here. Events the reader would have to guess at (a nested `message` or `response`
//! that may hold the usage, escaped or repeated keys, invalid JSON) are left to the general
//! path, and a test holds both to the same answers.

use std::borrow::Cow;

use super::entry::TokenUsage;
use super::extract::MAX_PARSED_BODY;
use super::spans::{self, Found, members, members_at};
use crate::json::scan::Kind;

/// What one event tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// Its usage counts.
    pub usage: Option<TokenUsage>,
    /// Its piece of the answer text.
    pub text: Option<Cow<'a, str>>,
}

/// Reads one event's data; `None` leaves it to the general path.
pub fn read(data: &[u8]) -> Option<Event<'_>> {
    if data.len() > MAX_PARSED_BODY {
        return None;
    }
    let [usage, message, response, choices, kind, delta] = members(
        data,
        &[
            b"usage",
            b"message",
            b"response",
            b"choices",
            b"type",
            b"delta",
        ],
    )?;
    // Usage may sit under `message` (Anthropic's message_start) or `response` (the Responses
    // API's last events): rare events, read whole by the general path.
    if message.is_some() || response.is_some() {
        return None;
    }
    let usage = match &usage {
        Some(u) => spans::usage(data, u)?,
        None => None,
    };
    // The first choice decides when there is one (chat and text completion chunks);
    // otherwise the event's type (Anthropic's and the Responses API's deltas).
    let text = match choices.as_ref().and_then(|c| spans::first_element(data, c)) {
        Some(choice) => choice_text(data, &choice)?,
        None => typed_text(data, kind.as_ref(), delta.as_ref())?,
    };
    Some(Event { usage, text })
}

/// `choice.delta.content`, else `choice.text` (when `delta.content` is absent), as a string.
fn choice_text<'a>(data: &'a [u8], choice: &Found) -> Option<Option<Cow<'a, str>>> {
    if choice.kind != Kind::Object {
        return Some(None);
    }
    let [delta, text] = members_at(data, choice, &[b"delta", b"text"])?;
    let content = match &delta {
        Some(d) if d.kind == Kind::Object => members_at(data, d, &[b"content"])?[0].clone(),
        _ => None,
    };
    Some(content.or(text).and_then(|t| spans::string(data, &t)))
}

/// The text of an Anthropic `content_block_delta` or a Responses `response.output_text.delta`.
fn typed_text<'a>(
    data: &'a [u8],
    kind: Option<&Found>,
    delta: Option<&Found>,
) -> Option<Option<Cow<'a, str>>> {
    let (Some(kind), Some(delta)) = (kind.and_then(|k| spans::string(data, k)), delta) else {
        return Some(None);
    };
    Some(match kind.as_ref() {
        "content_block_delta" if delta.kind == Kind::Object => {
            let [text] = members_at(data, delta, &[b"text"])?;
            text.and_then(|t| spans::string(data, &t))
        }
        "response.output_text.delta" => spans::string(data, delta),
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::logging::extract::{delta_text, parse_json, usage};
    use crate::sse;

    /// Every event's data in the SSE fixtures, plus edge cases.
    fn corpus() -> Vec<Vec<u8>> {
        let fixtures = [
            include_str!("../../tests/fixtures/anthropic/anthropic_stream_text.sse"),
            include_str!("../../tests/fixtures/anthropic/anthropic_stream_tools.sse"),
            include_str!("../../tests/fixtures/anthropic/anthropic_stream_error.sse"),
            include_str!("../../tests/fixtures/anthropic/openai_stream_text.sse"),
            include_str!("../../tests/fixtures/anthropic/openai_stream_tools.sse"),
            include_str!("../../tests/fixtures/anthropic/openai_stream_error.sse"),
            include_str!("../../tests/fixtures/responses/chat_text_stream.sse"),
            include_str!("../../tests/fixtures/responses/chat_tool_stream.sse"),
        ];
        let mut out: Vec<Vec<u8>> = fixtures
            .iter()
            .flat_map(|f| f.split("\n\n"))
            .filter_map(|ev| {
                sse::event_data(format!("{}\n\n", ev.trim()).as_bytes()).map(|d| d.into_owned())
            })
            .collect();
        for extra in [
            r#"{"choices":[{"index":0,"delta":{"content":"caf\u00e9 \"q\""}}]}"#,
            r#"{"choices":[{"delta":{"content":null},"text":"t"}]}"#,
            r#"{"choices":[{"delta":{"role":"assistant"},"text":"from text"}]}"#,
            r#"{"choices":[{"delta":"not an object","text":"t"}]}"#,
            r#"{"choices":[{"text":7}]}"#,
            r#"{"choices":["x"],"type":"content_block_delta","delta":{"text":"ignored"}}"#,
            r#"{"choices":[],"type":"content_block_delta","delta":{"text":"used"}}"#,
            r#"{"choices":{"0":{"text":"object choices"}},"type":"response.output_text.delta","delta":"d"}"#,
            r#"{"type":"response.output_text.delta","item_id":"m","delta":"piece"}"#,
            r#"{"type":"response.output_text.delta","delta":{"text":"not a string"}}"#,
            r#"{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            r#"{"type":"content_block_delta","delta":"wrong"}"#,
            r#"{"type":7,"delta":"x"}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#,
            r#"{"usage":{"input_tokens":3,"output_tokens":1.5}}"#,
            r#"{"usage":null,"choices":[{"delta":{"content":"x"}}]}"#,
            r#"{"usage":"n/a"}"#,
            r#"{"usage":{}}"#,
            r#"{"type":"message_start","message":{"usage":{"input_tokens":5}}}"#,
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":2}}}"#,
            r#"{"us\u0061ge":{"prompt_tokens":1}}"#,
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"[DONE]"#,
            r#"not json"#,
            r#"[1,2]"#,
        ] {
            out.push(extra.as_bytes().to_vec());
        }
        out
    }

    #[test]
    fn agrees_with_the_general_path() {
        let mut read_fast = 0;
        for data in corpus() {
            let text = String::from_utf8_lossy(&data).into_owned();
            let Some(fast) = read(&data) else {
                continue;
            };
            read_fast += 1;
            let v = parse_json(&data).unwrap_or_else(|| panic!("read fast but not JSON: {text}"));
            assert_eq!(fast.usage, usage(&v), "{text}");
            assert_eq!(fast.text.as_deref(), delta_text(&v), "{text}");
        }
        // Nearly every event takes the fast path.
        assert!(read_fast >= 40, "{read_fast}");
    }

    #[test]
    fn what_it_leaves_to_the_general_path() {
        for data in [
            r#"{"type":"message_start","message":{"usage":{"input_tokens":5}}}"#,
            r#"{"type":"response.completed","response":{"usage":{}}}"#,
            r#"{"us\u0061ge":{"prompt_tokens":1}}"#,
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
            "[DONE]",
            "not json",
        ] {
            assert_eq!(read(data.as_bytes()), None, "{data}");
        }
    }
}
