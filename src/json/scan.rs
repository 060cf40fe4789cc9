//! One validating pass over an object body that reports its top-level members.
//!
//! The request path needs two things from a body: is it valid JSON (Bifrost answers 400 when
//! not), and where are its top-level members. sonic-rs's validating iterator answers both, but
//! it walks every skipped value through its recursive parser, most of a request's JSON cost;
//! this scan does the same job in one iterative pass (so deep nesting is refused at the limit
//! and can never overflow a stack), finding the end of each string 16 bytes at a time. sonic-rs
//! still decodes the values the gateway reads (`fields.rs`).
//!
//! Accepted: RFC 8259 JSON, except that `\u` escapes may name lone surrogates (Go's
//! `encoding/json`, which Bifrost uses, accepts them) and numbers have no range limit.

use std::ops::Range;

use super::JsonError;

/// The kind of a member's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{...}`
    Object,
    /// `[...]`
    Array,
    /// `"..."`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// One top-level member of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The key's span, quotes included.
    pub key: Range<usize>,
    /// Whether the key has escapes (its raw bytes are then not its text).
    pub key_escaped: bool,
    /// The value's span.
    pub value: Range<usize>,
    /// The value's kind.
    pub kind: Kind,
    /// For a string value, whether it has escapes.
    pub value_escaped: bool,
}

/// Containers nested deeper than this use a heap bit stack (the request limit is 128).
const INLINE_DEPTH: usize = 256;

/// Where the scanner is in the grammar.
#[derive(Clone, Copy)]
enum State {
    /// Just after `{`: a key or `}`.
    ObjectStart,
    /// Just after `[`: a value or `]`.
    ArrayStart,
    /// A value is expected.
    Value,
    /// A value ended: `,`, or the container's close.
    AfterValue,
}

/// Validates `body` as one JSON object nesting at most `max_depth` containers, calling
/// `member` for each top-level member in order. An error from `member` stops the scan.
pub fn scan_object(
    body: &[u8],
    max_depth: usize,
    mut member: impl FnMut(&Member) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    let open = skip_ws(body, 0);
    match body.get(open) {
        Some(b'{') => {}
        Some(_) => return Err(JsonError::NotObject),
        None => return Err(invalid("empty body")),
    }
    if max_depth == 0 {
        return Err(JsonError::TooDeep { max: 0 });
    }
    // One bit per open container: set for an object, clear for an array.
    let mut inline = [0u64; INLINE_DEPTH / 64];
    let mut heap = Vec::new();
    let bits: &mut [u64] = if max_depth <= INLINE_DEPTH {
        &mut inline
    } else {
        heap.resize(max_depth / 64 + 1, 0);
        &mut heap
    };
    bits[0] = 1;
    let mut depth = 1usize;
    let mut non_ascii = false;
    let mut i = open + 1;
    let mut state = State::ObjectStart;
    // The top-level member being read: set at its key, completed when its value ends.
    let mut current = Member {
        key: 0..0,
        key_escaped: false,
        value: 0..0,
        kind: Kind::Null,
        value_escaped: false,
    };
    loop {
        match state {
            State::ObjectStart => {
                i = skip_ws(body, i);
                match body.get(i) {
                    Some(b'}') => {
                        i += 1;
                        depth -= 1;
                        state = State::AfterValue;
                    }
                    Some(b'"') => {
                        i = key(body, i, depth, &mut current, &mut non_ascii)?;
                        state = State::Value;
                    }
                    _ => return Err(unexpected(body, i, "a key or `}`")),
                }
            }
            State::ArrayStart => {
                i = skip_ws(body, i);
                if body.get(i) == Some(&b']') {
                    i += 1;
                    depth -= 1;
                    state = State::AfterValue;
                } else {
                    state = State::Value;
                }
            }
            State::Value => {
                i = skip_ws(body, i);
                let start = i;
                let (kind, escaped) = match body.get(i) {
                    Some(&b) if b == b'{' || b == b'[' => {
                        if depth == max_depth {
                            return Err(JsonError::TooDeep { max: max_depth });
                        }
                        let object = b == b'{';
                        let (word, bit) = (depth / 64, depth % 64);
                        bits[word] = (bits[word] & !(1 << bit)) | (u64::from(object) << bit);
                        depth += 1;
                        i += 1;
                        if object {
                            state = State::ObjectStart;
                            (Kind::Object, false)
                        } else {
                            state = State::ArrayStart;
                            (Kind::Array, false)
                        }
                    }
                    Some(b'"') => {
                        let (end, escaped) = string_end(body, i + 1, &mut non_ascii)?;
                        i = end;
                        state = State::AfterValue;
                        (Kind::String, escaped)
                    }
                    Some(b'-' | b'0'..=b'9') => {
                        i = number_end(body, i)?;
                        state = State::AfterValue;
                        (Kind::Number, false)
                    }
                    Some(&b @ (b't' | b'f' | b'n')) => {
                        let (word, kind): (&[u8], _) = match b {
                            b't' => (b"true", Kind::Bool),
                            b'f' => (b"false", Kind::Bool),
                            _ => (b"null", Kind::Null),
                        };
                        i = literal_end(body, i, word)?;
                        state = State::AfterValue;
                        (kind, false)
                    }
                    _ => return Err(unexpected(body, i, "a value")),
                };
                // A value opened at depth 1 is a top-level member's (containers have already
                // raised the depth, hence the check on the kind).
                let member_depth = if matches!(kind, Kind::Object | Kind::Array) {
                    2
                } else {
                    1
                };
                if depth == member_depth {
                    current.value.start = start;
                    current.kind = kind;
                    current.value_escaped = escaped;
                }
            }
            State::AfterValue => {
                if depth == 1 {
                    current.value.end = i;
                    member(&current)?;
                } else if depth == 0 {
                    return match skip_ws(body, i) {
                        end if end == body.len() => finish(body, non_ascii),
                        end => Err(unexpected(body, end, "the end of the body")),
                    };
                }
                i = skip_ws(body, i);
                let top = depth - 1;
                let in_object = bits[top / 64] >> (top % 64) & 1 == 1;
                match (body.get(i), in_object) {
                    (Some(b','), true) => {
                        i = skip_ws(body, i + 1);
                        if body.get(i) != Some(&b'"') {
                            return Err(unexpected(body, i, "a key"));
                        }
                        i = key(body, i, depth, &mut current, &mut non_ascii)?;
                        state = State::Value;
                    }
                    (Some(b','), false) => {
                        i += 1;
                        state = State::Value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        i += 1;
                        depth -= 1;
                    }
                    (_, true) => return Err(unexpected(body, i, "`,` or `}`")),
                    (_, false) => return Err(unexpected(body, i, "`,` or `]`")),
                }
            }
        }
    }
}

/// Reads a key at `i` (its opening quote) and the colon after it; returns where the value
/// starts (before any whitespace). A top-level key is recorded in `current`.
#[inline(always)]
fn key(
    body: &[u8],
    i: usize,
    depth: usize,
    current: &mut Member,
    non_ascii: &mut bool,
) -> Result<usize, JsonError> {
    let (end, escaped) = string_end(body, i + 1, non_ascii)?;
    if depth == 1 {
        current.key = i..end;
        current.key_escaped = escaped;
    }
    let colon = skip_ws(body, end);
    if body.get(colon) != Some(&b':') {
        return Err(unexpected(body, colon, "`:`"));
    }
    Ok(colon + 1)
}

/// The body passed the grammar; bytes beyond ASCII (only legal inside strings) must also be
/// valid UTF-8.
fn finish(body: &[u8], non_ascii: bool) -> Result<(), JsonError> {
    if non_ascii && std::str::from_utf8(body).is_err() {
        return Err(invalid("invalid UTF-8"));
    }
    Ok(())
}

/// Index just past the closing quote of the string whose contents start at `from`, and whether
/// it has escapes. Inlined (as are the helpers it calls): it runs for every string, most of
/// them short keys, where a call and its returned tuple cost as much as the search.
#[inline(always)]
pub(crate) fn string_end(
    body: &[u8],
    from: usize,
    non_ascii: &mut bool,
) -> Result<(usize, bool), JsonError> {
    let mut i = from;
    let mut escaped = false;
    loop {
        i = next_special(body, i, non_ascii);
        match body.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                i = match body.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i + 2,
                    Some(b'u') => {
                        let hex = body.get(i + 2..i + 6);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return Err(invalid_at("`\\u` without four hex digits", i));
                        }
                        i + 6
                    }
                    _ => return Err(invalid_at("invalid escape in string", i)),
                };
            }
            Some(_) => return Err(invalid_at("control character in string", i)),
            None => return Err(invalid("unterminated string")),
        }
    }
}

/// Whether `b` ends a run of plain string bytes: a quote, a backslash or a control character.
#[inline]
const fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// First index at or after `i` holding a special byte (`body.len()` if none). Sets `non_ascii`
/// when it passes a byte above 0x7f (or may see one just beyond the special byte).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn next_special(body: &[u8], mut i: usize, non_ascii: &mut bool) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always available;
    // each unaligned 16-byte load starts at `i` with `i + 16 <= body.len()`.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control_max = _mm_set1_epi8(0x1f);
        while i + 16 <= body.len() {
            let x = _mm_loadu_si128(body.as_ptr().add(i).cast::<__m128i>());
            // x <= 0x1f exactly when min(x, 0x1f) == x (unsigned).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x);
            let special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                control,
            );
            let mask = _mm_movemask_epi8(special);
            if _mm_movemask_epi8(x) != 0 {
                *non_ascii = true;
            }
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    next_special_scalar(body, i, non_ascii)
}

/// [`next_special`] where SSE2 cannot be assumed.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn next_special(body: &[u8], i: usize, non_ascii: &mut bool) -> usize {
    next_special_scalar(body, i, non_ascii)
}

/// [`next_special`] a byte at a time (the tail shorter than a vector, other targets).
#[inline]
fn next_special_scalar(body: &[u8], mut i: usize, non_ascii: &mut bool) -> usize {
    while let Some(&b) = body.get(i) {
        if is_special(b) {
            return i;
        }
        *non_ascii |= b >= 0x80;
        i += 1;
    }
    i
}

/// Index just past the number starting at `i`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(body: &[u8], start: usize) -> Result<usize, JsonError> {
    let digits = |from: usize| {
        from + body
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut i = start;
    if body.get(i) == Some(&b'-') {
        i += 1;
    }
    match body.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return Err(invalid_at("malformed number", start)),
    }
    if body.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return Err(invalid_at("malformed number", start));
        }
        i = end;
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return Err(invalid_at("malformed number", start));
        }
        i = end;
    }
    Ok(i)
}

/// Index just past `word` at `i`, or an error if it is not there.
fn literal_end(body: &[u8], i: usize, word: &[u8]) -> Result<usize, JsonError> {
    if body.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(invalid_at("unknown literal", i))
    }
}

/// True for the four JSON whitespace bytes.
#[inline]
pub const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index just after the last non-whitespace byte before `end` (0 if none).
pub fn skip_ws_back(body: &[u8], end: usize) -> usize {
    let head = body.get(..end).unwrap_or_default();
    head.iter().rposition(|&b| !is_ws(b)).map_or(0, |p| p + 1)
}

/// First index at or after `i` that is not JSON whitespace (`body.len()` if none).
#[inline]
pub fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while body.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

#[cold]
fn invalid(why: &str) -> JsonError {
    JsonError::Invalid(why.to_string())
}

#[cold]
fn invalid_at(why: &str, at: usize) -> JsonError {
    JsonError::Invalid(format!("{why} at byte {at}"))
}

/// "expected X" at `i`, or the end of the body.
#[cold]
fn unexpected(body: &[u8], i: usize, expected: &str) -> JsonError {
    if i >= body.len() {
        JsonError::Invalid(format!("unexpected end of the body, expected {expected}"))
    } else {
        JsonError::Invalid(format!("expected {expected} at byte {i}"))
    }
}

#[cfg(test)]
mod tests;
