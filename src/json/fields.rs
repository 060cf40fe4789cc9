//! Reading `model`, `stream` and `fallbacks` from a request body without building a DOM.
//!
//! sonic-rs's lazy object iterator walks the top-level members once, validating every value it
//! skips (including UTF-8), and hands out each value as a slice of the body; the slice's offset is
//! the value's span. Only the three fields the gateway needs are decoded.

use std::borrow::Cow;
use std::ops::Range;

use sonic_rs::{JsonType, JsonValueTrait, LazyValue};

use super::{JsonError, MAX_DEPTH, check_depth};

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
    check_depth(body, max_depth)?;
    let open = object_start(body)?;

    let mut fields = RequestFields::default();
    let mut model_spans: Vec<Range<usize>> = Vec::new();
    // (member index, key start, value end) of every `fallbacks` member.
    let mut fallbacks_members: Vec<(usize, usize, usize)> = Vec::new();
    // Where the scan for the closing brace resumes: after the last value, or after `{`.
    let mut after_last = open + 1;

    for (index, entry) in sonic_rs::to_object_iter(body).enumerate() {
        let (key, value) = entry?;
        let span = value_span(body, &value)?;
        after_last = span.end;
        match key.as_ref() {
            "model" => match value.get_type() {
                JsonType::String => {
                    fields.model = Some(decode_str(&value)?.to_owned());
                    model_spans.push(span);
                }
                JsonType::Null => {}
                _ => return Err(wrong_type("model", "a string")),
            },
            "stream" => match value.get_type() {
                JsonType::Boolean => fields.stream = value.as_bool().unwrap_or_default(),
                JsonType::Null => {}
                _ => return Err(wrong_type("stream", "a boolean")),
            },
            "fallbacks" => {
                fallbacks_members.push((index, key_start(body, span.start)?, span.end));
                match value.get_type() {
                    JsonType::Array => fields.fallbacks = decode_string_array(value)?,
                    JsonType::Null => {}
                    _ => return Err(wrong_type("fallbacks", "an array of strings")),
                }
            }
            _ => {}
        }
    }
    check_trailing(body, after_last)?;

    fields.model_span = model_spans.pop();
    fields.extra_model_spans = model_spans;
    let mut removals = removal_spans(body, &fallbacks_members)?;
    fields.fallbacks_span = removals.pop();
    fields.extra_fallbacks_spans = removals;
    Ok(fields)
}

/// Reads one top-level string field (`None` when absent or `null`).
///
/// For bodies other than chat requests (e.g. a `model` elsewhere). Validates the whole body like
/// [`read_fields`] (the last occurrence wins) and runs the depth pre-scan first.
pub fn read_string_field(body: &[u8], field: &'static str) -> Result<Option<String>, JsonError> {
    check_depth(body, MAX_DEPTH)?;
    let mut after_last = object_start(body)? + 1;
    let mut found = None;
    // Keeps walking after a match: the last occurrence wins, as in read_fields.
    for entry in sonic_rs::to_object_iter(body) {
        let (key, value) = entry?;
        after_last = value_span(body, &value)?.end;
        if key == field {
            found = match value.get_type() {
                JsonType::String => Some(decode_str(&value)?.to_owned()),
                JsonType::Null => None,
                _ => return Err(wrong_type(field, "a string")),
            };
        }
    }
    check_trailing(body, after_last)?;
    Ok(found)
}

/// Index of the opening `{`, or why the body cannot be an object.
fn object_start(body: &[u8]) -> Result<usize, JsonError> {
    let open = skip_ws(body, 0);
    match body.get(open) {
        Some(b'{') => Ok(open),
        Some(_) => Err(JsonError::NotObject),
        None => Err(JsonError::Invalid("empty body".into())),
    }
}

/// Builds a [`JsonError::WrongType`].
fn wrong_type(field: &'static str, expected: &'static str) -> JsonError {
    JsonError::WrongType { field, expected }
}

/// The unescaped contents of a string value.
fn decode_str<'a>(value: &'a LazyValue<'_>) -> Result<&'a str, JsonError> {
    value
        .as_str()
        .ok_or_else(|| JsonError::Invalid("invalid string escape".into()))
}

/// Decodes an array whose elements must all be strings.
fn decode_string_array(value: LazyValue<'_>) -> Result<Vec<String>, JsonError> {
    let Some(iter) = value.into_array_iter() else {
        return Err(wrong_type("fallbacks", "an array of strings"));
    };
    let mut out = Vec::new();
    for elem in iter {
        let elem = elem?;
        if elem.get_type() != JsonType::String {
            return Err(wrong_type("fallbacks", "an array of strings"));
        }
        out.push(decode_str(&elem)?.to_owned());
    }
    Ok(out)
}

/// Where a lazily parsed value sits in `body`: its raw text is a subslice of the body.
fn value_span(body: &[u8], value: &LazyValue<'_>) -> Result<Range<usize>, JsonError> {
    let Cow::Borrowed(raw) = value.as_raw_cow() else {
        return Err(JsonError::Invalid(
            "value not borrowed from the body".into(),
        ));
    };
    let start = (raw.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let end = start.wrapping_add(raw.len());
    if start > body.len() || end > body.len() || end < start {
        return Err(JsonError::Invalid("value outside the body".into()));
    }
    Ok(start..end)
}

/// True for the four JSON whitespace bytes.
const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// First index at or after `from` that is not JSON whitespace (`body.len()` if none).
fn skip_ws(body: &[u8], from: usize) -> usize {
    let rest = body.get(from..).unwrap_or_default();
    from + rest.iter().position(|&b| !is_ws(b)).unwrap_or(rest.len())
}

/// Index just after the last non-whitespace byte before `end` (0 if none).
fn skip_ws_back(body: &[u8], end: usize) -> usize {
    let head = body.get(..end).unwrap_or_default();
    head.iter().rposition(|&b| !is_ws(b)).map_or(0, |p| p + 1)
}

/// Start of the key (its opening quote) of the member whose value starts at `value_start`.
///
/// Only called on members the validating iterator has accepted, so the bytes before the value
/// are `"key"`, optional whitespace, `:`, optional whitespace.
fn key_start(body: &[u8], value_start: usize) -> Result<usize, JsonError> {
    let broken = || JsonError::Invalid("malformed object member".into());
    let colon_end = skip_ws_back(body, value_start);
    if colon_end == 0 || body[colon_end - 1] != b':' {
        return Err(broken());
    }
    let quote_end = skip_ws_back(body, colon_end - 1);
    if quote_end == 0 || body[quote_end - 1] != b'"' {
        return Err(broken());
    }
    // The opening quote is the nearest `"` before the closing one that is not escaped, i.e. not
    // preceded by an odd run of backslashes (a key cannot contain an unescaped quote).
    let mut end = quote_end - 1;
    while let Some(q) = memchr::memrchr(b'"', &body[..end]) {
        let backslashes = body[..q].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            return Ok(q);
        }
        end = q;
    }
    Err(broken())
}

/// After the last member, only `}` and whitespace may follow.
fn check_trailing(body: &[u8], after_last: usize) -> Result<(), JsonError> {
    let close = skip_ws(body, after_last);
    if body.get(close) != Some(&b'}') {
        return Err(JsonError::Invalid(
            "expected `}` after the last member".into(),
        ));
    }
    if skip_ws(body, close + 1) != body.len() {
        return Err(JsonError::Invalid(
            "trailing characters after the JSON object".into(),
        ));
    }
    Ok(())
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
