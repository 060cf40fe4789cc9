//! Reading `model`, `stream` and `fallbacks` from a request body without building a DOM.
//!
//! [`scan_object`](super::scan::scan_object) validates the whole body in one pass and hands
//! out each top-level member's key and value spans; only the three fields the gateway needs are
//! decoded (by sonic-rs, when they hold escapes).

use std::ops::Range;

use sonic_rs::{JsonType, JsonValueTrait};

use super::scan::{Kind, Member, scan_object, skip_ws, skip_ws_back};
use super::{JsonError, MAX_DEPTH};

/// The request fields the gateway routes on, with the byte spans needed to rewrite the body.
///
/// Duplicate keys: the last occurrence wins for the decoded values (as with Go's
/// `encoding/json`; Bifrost is written in Go), but [`rewrite`](super::rewrite()) rewrites every
/// `model` occurrence and removes every `fallbacks` member, so an upstream with a first-wins
/// parser sees the same request. A `null` value is treated as if the member were absent (as Go
/// does for non-pointer fields), except that a `"fallbacks": null` member is still removed. Keys
/// match exactly (`encoding/json` would also accept `"Model"`; no SDK sends that).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFields {
    /// The top-level `model`, unescaped.
    pub model: Option<String>,
    /// Span of that `model` value in the body, quotes included.
    pub model_span: Option<Range<usize>>,
    /// The top-level `stream` flag (`false` when absent).
    pub stream: bool,
    /// The top-level `fallbacks` entries, unescaped, in order.
    pub fallbacks: Vec<String>,
    /// Span that removes the (last) `fallbacks` member: key, colon, value and one separating
    /// comma with the whitespace around it, so that the rest stays valid JSON.
    pub fallbacks_span: Option<Range<usize>>,
    /// Value spans of earlier duplicate `model` members (almost always empty).
    pub extra_model_spans: Vec<Range<usize>>,
    /// Further removal spans when `fallbacks` appears more than once (almost always empty);
    /// together with `fallbacks_span` they are disjoint and keep the body valid.
    pub extra_fallbacks_spans: Vec<Range<usize>>,
    /// Span of the (last) top-level `messages` value when it is an array: the request log
    /// copies the chat history from there instead of reading the body again.
    pub messages_span: Option<Range<usize>>,
    /// Whether the body has a top-level `system` member (Anthropic's, which joins the history).
    pub has_system: bool,
}

/// Reads the routing fields of a request body, rejecting invalid JSON and nesting deeper than
/// [`MAX_DEPTH`].
///
/// The whole body is validated (Bifrost answers 400 to malformed JSON) in the same pass that
/// finds the fields.
pub fn read_fields(body: &[u8]) -> Result<RequestFields, JsonError> {
    read_fields_with_depth(body, MAX_DEPTH)
}

/// [`read_fields`] with an explicit nesting limit.
pub fn read_fields_with_depth(body: &[u8], max_depth: usize) -> Result<RequestFields, JsonError> {
    let mut fields = RequestFields::default();
    // (member index, key start, value end) of every `fallbacks` member.
    let mut fallbacks_members: Vec<(usize, usize, usize)> = Vec::new();
    let mut index = 0;
    scan_object(body, max_depth, |m| {
        match key(body, m)?.as_ref() {
            b"model" => match m.kind {
                Kind::String => {
                    fields.model = Some(decode_string(body, m)?);
                    // The last one is the model span; earlier duplicates (rare) are extras.
                    if let Some(earlier) = fields.model_span.replace(m.value.clone()) {
                        fields.extra_model_spans.push(earlier);
                    }
                }
                Kind::Null => {}
                _ => return Err(wrong_type("model", "a string")),
            },
            b"stream" => match m.kind {
                Kind::Bool => fields.stream = body[m.value.start] == b't',
                Kind::Null => {}
                _ => return Err(wrong_type("stream", "a boolean")),
            },
            b"messages" => fields.messages_span = (m.kind == Kind::Array).then(|| m.value.clone()),
            b"system" => fields.has_system = true,
            b"fallbacks" => {
                fallbacks_members.push((index, m.key.start, m.value.end));
                match m.kind {
                    Kind::Array => fields.fallbacks = decode_string_array(&body[m.value.clone()])?,
                    Kind::Null => {}
                    _ => return Err(wrong_type("fallbacks", "an array of strings")),
                }
            }
            _ => {}
        }
        index += 1;
        Ok(())
    })?;

    let mut removals = removal_spans(body, &fallbacks_members)?;
    fields.fallbacks_span = removals.pop();
    fields.extra_fallbacks_spans = removals;
    Ok(fields)
}

/// Reads one top-level string field (`None` when absent or `null`).
///
/// For bodies other than chat requests (e.g. a `model` elsewhere). Validates the whole body like
/// [`read_fields`] (the last occurrence wins).
pub fn read_string_field(body: &[u8], field: &'static str) -> Result<Option<String>, JsonError> {
    let mut found = None;
    scan_object(body, MAX_DEPTH, |m| {
        if key(body, m)?.as_ref() == field.as_bytes() {
            found = match m.kind {
                Kind::String => Some(decode_string(body, m)?),
                Kind::Null => None,
                _ => return Err(wrong_type(field, "a string")),
            };
        }
        Ok(())
    })?;
    Ok(found)
}

/// A member's key as bytes: borrowed from the body unless it has escapes.
fn key<'a>(body: &'a [u8], m: &Member) -> Result<std::borrow::Cow<'a, [u8]>, JsonError> {
    let raw = &body[m.key.start + 1..m.key.end - 1];
    if !m.key_escaped {
        return Ok(raw.into());
    }
    let text: String = sonic_rs::from_slice(&body[m.key.clone()])?;
    Ok(text.into_bytes().into())
}

/// A string member's value, unescaped.
fn decode_string(body: &[u8], m: &Member) -> Result<String, JsonError> {
    if m.value_escaped {
        return sonic_rs::from_slice(&body[m.value.clone()]).map_err(|_| bad_escape());
    }
    // A plain string has no escapes to undo; its UTF-8 is checked here (the scan checks the
    // whole body's only once it reaches the end).
    std::str::from_utf8(&body[m.value.start + 1..m.value.end - 1])
        .map(str::to_owned)
        .map_err(|_| JsonError::Invalid("invalid UTF-8".into()))
}

/// A string whose escapes do not decode.
fn bad_escape() -> JsonError {
    JsonError::Invalid("invalid string escape".into())
}

/// Builds a [`JsonError::WrongType`].
fn wrong_type(field: &'static str, expected: &'static str) -> JsonError {
    JsonError::WrongType { field, expected }
}

/// Decodes an array (already validated) whose elements must all be strings.
fn decode_string_array(raw: &[u8]) -> Result<Vec<String>, JsonError> {
    let mut out = Vec::new();
    for elem in sonic_rs::to_array_iter(raw) {
        let elem = elem?;
        if elem.get_type() != JsonType::String {
            return Err(wrong_type("fallbacks", "an array of strings"));
        }
        out.push(elem.as_str().ok_or_else(bad_escape)?.to_owned());
    }
    Ok(out)
}

/// Turns the `fallbacks` members into disjoint removal spans that keep the object valid.
///
/// Adjacent members are merged into runs; each run is removed together with exactly one
/// separating comma: the one after it (up to the next key) if any, else the one before it.
fn removal_spans(
    body: &[u8],
    members: &[(usize, usize, usize)],
) -> Result<Vec<Range<usize>>, JsonError> {
    let mut runs: Vec<(usize, Range<usize>)> = Vec::new();
    for &(index, start, end) in members {
        match runs.last_mut() {
            Some((last_index, run)) if *last_index + 1 == index => {
                *last_index = index;
                run.end = end;
            }
            _ => runs.push((index, start..end)),
        }
    }
    runs.into_iter()
        .map(|(_, run)| {
            let next = skip_ws(body, run.end);
            if body.get(next) == Some(&b',') {
                return Ok(run.start..skip_ws(body, next + 1));
            }
            let prev = skip_ws_back(body, run.start);
            match prev.checked_sub(1).map(|p| body[p]) {
                Some(b',') => Ok(prev - 1..run.end),
                Some(b'{') => Ok(run),
                _ => Err(JsonError::Invalid("malformed object member".into())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
