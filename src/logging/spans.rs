//! Reading a few members out of a JSON text through the gateway's validating scanner: each
//! object is validated whole once, and only the members asked for are looked at. Anything the
//! readers would have to guess at (an escaped or repeated key among those asked for) makes
//! them give up, so that the caller takes its general path (a parsed `Value`).

use std::borrow::Cow;
use std::ops::Range;

use super::entry::TokenUsage;
use super::extract::{USAGE_COUNTS, counts_of};
use crate::json::MAX_DEPTH;
use crate::json::scan::{Kind, Member, scan_object, skip_ws, skip_ws_back};

/// A member's value: its kind, span, and (for a string) whether it has escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The value's kind.
    pub kind: Kind,
    /// Its span in the text it was found in.
    pub span: Range<usize>,
    /// A string with escapes.
    pub escaped: bool,
}

/// The value of each of `names` among `object`'s top-level members (validating the whole of
/// it); `None` when it is not a valid object or one of `names` is escaped or repeated.
pub fn members<const N: usize>(object: &[u8], names: &[&[u8]; N]) -> Option<[Option<Found>; N]> {
    let mut found: [Option<Found>; N] = std::array::from_fn(|_| None);
    let mut unusual = false;
    let scanned = scan_object(object, MAX_DEPTH, |m: &Member| {
        let key = &object[m.key.start + 1..m.key.end - 1];
        if m.key_escaped {
            // An escaped key might spell one of the names: the general path decodes it.
            unusual = true;
        } else if let Some(i) = names.iter().position(|n| *n == key) {
            let value = Found {
                kind: m.kind,
                span: m.value.clone(),
                escaped: m.value_escaped,
            };
            unusual |= found[i].replace(value).is_some();
        }
        Ok(())
    });
    (scanned.is_ok() && !unusual).then_some(found)
}

/// The members of the object `within` holds at `at` (spans relative to `within`).
pub fn members_at<const N: usize>(
    within: &[u8],
    at: &Found,
    names: &[&[u8]; N],
) -> Option<[Option<Found>; N]> {
    let mut found = members(&within[at.span.clone()], names)?;
    for f in found.iter_mut().flatten() {
        f.span = at.span.start + f.span.start..at.span.start + f.span.end;
    }
    Some(found)
}

/// The text of a string value found in `text` (`None` for another kind).
pub fn string<'a>(text: &'a [u8], f: &Found) -> Option<Cow<'a, str>> {
    if f.kind != Kind::String {
        return None;
    }
    let raw = &text[f.span.clone()];
    if f.escaped {
        return serde_json::from_slice::<String>(raw).ok().map(Cow::Owned);
    }
    // The scan checked the text's UTF-8.
    std::str::from_utf8(&raw[1..raw.len() - 1])
        .ok()
        .map(Cow::Borrowed)
}

/// A plain non-negative integer value (what `Value::as_u64` accepts), else `None`.
pub fn count(text: &[u8], f: &Found) -> Option<u64> {
    if f.kind != Kind::Number {
        return None;
    }
    std::str::from_utf8(&text[f.span.clone()])
        .ok()?
        .parse()
        .ok()
}

/// Token counts of the `usage` object at `at` in `text`; the outer `None` gives up (an escaped
/// or repeated count).
pub fn usage(text: &[u8], at: &Found) -> Option<Option<TokenUsage>> {
    if at.kind != Kind::Object {
        return Some(None);
    }
    let names = USAGE_COUNTS.map(str::as_bytes);
    let found = members_at(text, at, &names)?;
    Some(counts_of(found.map(|f| f.and_then(|f| count(text, &f)))))
}

/// The first element of the (valid) array at `at` in `text`, as a value found there.
pub fn first_element(text: &[u8], at: &Found) -> Option<Found> {
    if at.kind != Kind::Array {
        return None;
    }
    let span = first_element_span(text, at.span.clone())?;
    let kind = match text[span.start] {
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        b'"' => Kind::String,
        b't' | b'f' => Kind::Bool,
        b'n' => Kind::Null,
        _ => Kind::Number,
    };
    let escaped = kind == Kind::String && memchr::memchr(b'\\', &text[span.clone()]).is_some();
    Some(Found {
        kind,
        span,
        escaped,
    })
}

/// The span of the first element of the (valid) array at `array` in `text`.
fn first_element_span(text: &[u8], array: Range<usize>) -> Option<Range<usize>> {
    let start = skip_ws(text, array.start + 1);
    if start >= array.end || text[start] == b']' {
        return None;
    }
    // The array was validated: brackets outside strings nest properly and every string ends.
    let mut depth = 0usize;
    let mut i = start;
    while i < array.end {
        match text[i] {
            b'"' => {
                // To the closing quote, a vector at a time: past each backslash and the byte
                // it escapes.
                i += 1;
                loop {
                    i += memchr::memchr2(b'"', b'\\', &text[i..array.end])?;
                    if text[i] == b'"' {
                        break;
                    }
                    i += 2;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(start..skip_ws_back(text, i));
                }
                depth -= 1;
                if depth == 0 {
                    return Some(start..i + 1);
                }
            }
            b',' if depth == 0 => return Some(start..skip_ws_back(text, i)),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_elements() {
        let cases = [
            ("[1,2]", Some("1")),
            ("[ \"a,]\" , 2]", Some("\"a,]\"")),
            ("[\"\\\"]\"]", Some("\"\\\"]\"")),
            ("[{\"k\":[1,2]},3]", Some("{\"k\":[1,2]}")),
            ("[ [1,[2]] ]", Some("[1,[2]]")),
            ("[ true ]", Some("true")),
            ("[]", None),
            ("[ ]", None),
        ];
        for (text, want) in cases {
            let at = Found {
                kind: Kind::Array,
                span: 0..text.len(),
                escaped: false,
            };
            let got = first_element(text.as_bytes(), &at);
            assert_eq!(got.map(|f| &text[f.span]), want, "{text}");
        }
    }

    #[test]
    fn strings_and_counts() {
        let text = br#"{"a":"plain","b":"caf\u00e9 \"q\"","n":42,"f":1.5,"neg":-1}"#;
        let [a, b, n, f, neg] =
            members(text, &[b"a", b"b", b"n", b"f", b"neg"]).unwrap_or_default();
        let get = |x: &Option<Found>| x.clone().unwrap_or_else(|| panic!("member missing"));
        assert_eq!(string(text, &get(&a)).as_deref(), Some("plain"));
        assert_eq!(string(text, &get(&b)).as_deref(), Some("café \"q\""));
        assert_eq!(string(text, &get(&n)), None);
        assert_eq!(count(text, &get(&n)), Some(42));
        assert_eq!(count(text, &get(&f)), None);
        assert_eq!(count(text, &get(&neg)), None);
    }
}
