//! Reading a few members out of a JSON text through the gateway's validating scanner: each
//! object is validated whole once, and only the members asked for are looked at. Anything the
//! readers would have to guess at (an escaped or repeated key among those asked for) makes
//! them give up, so that the caller takes its general path (a parsed `Value`).

use std::borrow::Cow;
use std::ops::Range;

use super::entry::TokenUsage;
use super::extract::{USAGE_COUNTS, counts_of};
use crate::json::MAX_DEPTH;
use crate::json::scan::{self, Kind, Member, scan_object, skip_ws};

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

/// The members of the object `within` holds at `at` (spans relative to `within`). `within` was
/// validated whole by [`members`], so the object is walked without checking the grammar again.
pub fn members_at<const N: usize>(
    within: &[u8],
    at: &Found,
    names: &[&[u8]; N],
) -> Option<[Option<Found>; N]> {
    let mut found: [Option<Found>; N] = std::array::from_fn(|_| None);
    let end = at.span.end;
    let mut i = skip_ws(within, at.span.start);
    if within.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(within, i + 1);
    if within.get(i) == Some(&b'}') {
        return Some(found);
    }
    while i < end {
        let (key_end, key_escaped) = string_end(within, i, end)?;
        // An escaped key might spell one of the names: the general path decodes it.
        if key_escaped {
            return None;
        }
        let key = within.get(i + 1..key_end - 1)?;
        i = skip_ws(within, key_end);
        if within.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(within, i + 1);
        let value = value_at(within, start, end)?;
        if let Some(k) = names.iter().position(|n| *n == key)
            && found[k].replace(value.clone()).is_some()
        {
            return None;
        }
        i = skip_ws(within, value.span.end);
        match within.get(i) {
            Some(b',') => i = skip_ws(within, i + 1),
            Some(b'}') => return Some(found),
            _ => return None,
        }
    }
    None
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
    let start = skip_ws(text, at.span.start + 1);
    if start >= at.span.end || text[start] == b']' {
        return None;
    }
    value_at(text, start, at.span.end)
}

/// The value starting at `start` in already validated `text`, which ends before `end`.
fn value_at(text: &[u8], start: usize, end: usize) -> Option<Found> {
    let (kind, stop, escaped) = match *text.get(start)? {
        b'"' => {
            let (stop, escaped) = string_end(text, start, end)?;
            (Kind::String, stop, escaped)
        }
        b'{' => (Kind::Object, container_end(text, start, end)?, false),
        b'[' => (Kind::Array, container_end(text, start, end)?, false),
        b't' => (Kind::Bool, start + 4, false),
        b'f' => (Kind::Bool, start + 5, false),
        b'n' => (Kind::Null, start + 4, false),
        _ => {
            let len = text
                .get(start..end)?
                .iter()
                .take_while(|b| is_number_byte(**b))
                .count();
            (Kind::Number, start + len, false)
        }
    };
    (stop <= end).then_some(Found {
        kind,
        span: start..stop,
        escaped,
    })
}

/// Bytes a JSON number is made of.
fn is_number_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// Just past the closing quote of the string whose opening quote is at `at` (before `end`), and
/// whether it has escapes: the scanner's own inlined search, cheaper than a `memchr2` call on
/// the short keys and values most of these are.
fn string_end(text: &[u8], at: usize, end: usize) -> Option<(usize, bool)> {
    let mut non_ascii = false;
    let text = text.get(..end)?;
    scan::string_end(text, at + 1, &mut non_ascii).ok()
}

/// Just past the bracket closing the (valid) object or array opened at `at`.
fn container_end(text: &[u8], at: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    while i < end {
        match text[i] {
            b'"' => {
                i = string_end(text, i, end)?.0;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
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
    fn nested_members_agree_with_the_validating_scan() {
        let objects = [
            r#"{}"#,
            r#"{ }"#,
            r#"{"a":1,"b":"x","c":null}"#,
            r#"{ "a" : -1.5e+3 , "b" : [1,{"a":2}] , "c" : { "d" : "}" } }"#,
            r#"{"b":"q\"uote\\","a":true,"c":false}"#,
            r#"{"c":{"a":[]},"x":"a\u0041","a":{"b":"]"}}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"\u0061":1}"#,
            r#"{"other\n":1,"a":2}"#,
        ];
        for object in objects {
            // Nested in an array, as the readers find objects.
            let text = format!("[{object}, 0]");
            let whole = Found {
                kind: Kind::Array,
                span: 0..text.len(),
                escaped: false,
            };
            let at = first_element(text.as_bytes(), &whole).unwrap_or_else(|| panic!("{object}"));
            assert_eq!(&text[at.span.clone()], object);
            let names: [&[u8]; 3] = [b"a", b"b", b"c"];
            let walked = members_at(text.as_bytes(), &at, &names);
            let scanned = members(object.as_bytes(), &names);
            let shift = |f: Option<Found>| {
                f.map(|f| Found {
                    span: f.span.start + 1..f.span.end + 1,
                    ..f
                })
            };
            assert_eq!(walked, scanned.map(|m| m.map(shift)), "{object}");
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
