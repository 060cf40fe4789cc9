//! Splicing a request body: new `model` value in, `fallbacks` member out, all else untouched.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::http::Append;

use super::RequestFields;

/// Returns `body` with every `model` value replaced by `new_model` (JSON-escaped) and every
/// `fallbacks` member removed.
///
/// Returns `body.clone()` (no copy) when nothing changes: no `fallbacks`, and `new_model` is
/// `None` or equal to the current model. A body without a `model` member gets none inserted.
pub fn rewrite(body: &Bytes, fields: &RequestFields, new_model: Option<&str>) -> Bytes {
    if fields.extra_model_spans.is_empty() && fields.extra_fallbacks_spans.is_empty() {
        return rewrite_single(body, fields, new_model);
    }
    let segments = rewrite_segments(body, fields, new_model);
    match segments.as_slice() {
        [] => Bytes::new(),
        [only] => only.clone(),
        _ => {
            let mut out = BytesMut::with_capacity(segments.iter().map(Bytes::len).sum());
            for seg in &segments {
                out.append(seg);
            }
            out.freeze()
        }
    }
}

/// [`rewrite`] for the usual body, where `model` and `fallbacks` appear at most once: one
/// exactly sized copy (a frozen buffer with spare room would allocate again), no segment list.
fn rewrite_single(body: &Bytes, fields: &RequestFields, new_model: Option<&str>) -> Bytes {
    let model = match (new_model, &fields.model_span) {
        (Some(new), Some(span)) if fields.model.as_deref() != Some(new) => {
            Some((span.clone(), Some(new)))
        }
        _ => None,
    };
    let removal = fields.fallbacks_span.clone().map(|span| (span, None));
    let mut edits = match (model, removal) {
        (None, None) => return body.clone(),
        (Some(a), Some(b)) if b.0.start < a.0.start => [Some(b), Some(a)],
        (a, b) => [a, b],
    };
    // Spans come from read_fields on this body; clamp anyway so a mismatched pair cannot panic.
    let mut pos = 0;
    let mut len = body.len();
    for (span, repl) in edits.iter_mut().flatten() {
        let start = span.start.clamp(pos, body.len());
        let end = span.end.clamp(start, body.len());
        len = len - (end - start) + repl.map_or(0, json_string_len);
        pos = end;
        *span = start..end;
    }
    let mut out = BytesMut::with_capacity(len);
    let mut pos = 0;
    for (span, repl) in edits.into_iter().flatten() {
        out.append(&body[pos..span.start]);
        if let Some(r) = repl {
            write_json_string(&mut out, r);
        }
        pos = span.end;
    }
    out.append(&body[pos..]);
    out.freeze()
}

/// The length of `s` written by [`write_json_string`].
fn json_string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// The rewritten body as zero-copy slices of `body` plus the new model value, in order, for a
/// vectored write that avoids copying large bodies. Same semantics as [`rewrite`].
pub fn rewrite_segments(
    body: &Bytes,
    fields: &RequestFields,
    new_model: Option<&str>,
) -> Vec<Bytes> {
    // (span, replacement); removals have no replacement.
    let mut edits: Vec<(Range<usize>, Option<&Bytes>)> = Vec::new();
    let replacement;
    if let (Some(new), Some(span)) = (new_model, &fields.model_span) {
        if fields.model.as_deref() != Some(new) || !fields.extra_model_spans.is_empty() {
            let mut buf = BytesMut::with_capacity(new.len() + 2);
            write_json_string(&mut buf, new);
            replacement = buf.freeze();
            edits.push((span.clone(), Some(&replacement)));
            for extra in &fields.extra_model_spans {
                edits.push((extra.clone(), Some(&replacement)));
            }
        }
    }
    for span in fields
        .fallbacks_span
        .iter()
        .chain(&fields.extra_fallbacks_spans)
    {
        edits.push((span.clone(), None));
    }
    if edits.is_empty() {
        return vec![body.clone()];
    }
    edits.sort_unstable_by_key(|(span, _)| span.start);

    let mut segments = Vec::with_capacity(edits.len() * 2 + 1);
    let mut pos = 0;
    for (span, repl) in edits {
        // Spans come from read_fields on this body; clamp anyway so a mismatched pair cannot panic.
        let start = span.start.clamp(pos, body.len());
        let end = span.end.clamp(start, body.len());
        if start > pos {
            segments.push(body.slice(pos..start));
        }
        if let Some(r) = repl {
            segments.push(r.clone());
        }
        pos = end;
    }
    if pos < body.len() {
        segments.push(body.slice(pos..));
    }
    segments
}

/// Appends `s` as a JSON string literal (quotes included), escaping only what JSON requires.
pub fn write_json_string(out: &mut impl Append, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.append_byte(b'"');
    let bytes = s.as_bytes();
    // Names and ids almost never need escaping: one branch-free pass (vectorised) says so, and
    // the string is copied whole.
    let needs_escape = |chunk: &[u8]| {
        chunk.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    };
    if !needs_escape(bytes) {
        out.append(bytes);
        out.append_byte(b'"');
        return;
    }
    // Prose has a newline or a quote now and then: 16-byte chunks without one are skipped
    // by the same branch-free test, and only the others are walked byte by byte.
    let mut start = 0;
    let mut chunk_at = 0;
    while chunk_at < bytes.len() {
        let end = (chunk_at + 16).min(bytes.len());
        let clean = match <&[u8; 16]>::try_from(&bytes[chunk_at..end]) {
            // A fixed width lets the compiler test the chunk in a few vector instructions.
            Ok(chunk) => !needs_escape(chunk),
            Err(_) => !needs_escape(&bytes[chunk_at..end]),
        };
        if clean {
            chunk_at = end;
            continue;
        }
        for (i, &b) in bytes.iter().enumerate().take(end).skip(chunk_at) {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ],
                _ => continue,
            };
            out.append(&bytes[start..i]);
            out.append(escape);
            start = i + 1;
        }
        chunk_at = end;
    }
    out.append(&bytes[start..]);
    out.append_byte(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_length_matches_what_is_written() {
        let long = "a plain name, longer than one vector of bytes: 0123456789".repeat(3);
        for s in [
            "",
            "gpt-4o",
            "q\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}é✓",
            "\u{0}x",
            "tail\"",
            "\\head",
            &long,
            &format!("{long}\u{1f}"),
        ] {
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            assert_eq!(json_string_len(s), out.len(), "{s:?}");
            assert_eq!(serde_json::from_slice::<String>(&out).expect("json"), s);
            let expected = serde_json::to_string(s).expect("serialise");
            assert_eq!(out, expected.as_bytes(), "{s:?}");
        }
    }
}
