//! The nesting-depth pre-scan that runs before any JSON parser sees a body.
//!
//! sonic-rs recurses without a depth limit: ~10k nested `[` overflow a 2 MiB worker stack and abort
//! the whole process (TOOLING.md). This scan is iterative and linear, so it is safe on any input.

use memchr::memchr2;

use super::JsonError;

/// The nesting limit the gateway applies to request bodies.
pub const MAX_DEPTH: usize = 128;

/// Byte classes for the structural scan outside strings.
const PLAIN: u8 = 0;
const OPEN: u8 = 1;
const CLOSE: u8 = 2;
const QUOTE: u8 = 3;

/// Class of every byte value, so the outer loop does one table load per byte.
static CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    t[b'[' as usize] = OPEN;
    t[b'{' as usize] = OPEN;
    t[b']' as usize] = CLOSE;
    t[b'}' as usize] = CLOSE;
    t[b'"' as usize] = QUOTE;
    t
};

/// Rejects `body` if arrays/objects nest deeper than `max_depth` outside strings.
///
/// One linear pass; long string contents are skipped with SIMD `memchr2`. It is not a validator
/// and leaves unbalanced brackets to the parser, but it does reject an unterminated string and a
/// `\u` escape without four hex digits, which sonic-rs's validating skip lets through.
pub fn check_depth(body: &[u8], max_depth: usize) -> Result<(), JsonError> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match CLASS[usize::from(b)] {
            OPEN => {
                depth += 1;
                if depth > max_depth {
                    return Err(JsonError::TooDeep { max: max_depth });
                }
                i += 1;
            }
            CLOSE => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            QUOTE => i = string_end(body, i + 1)?,
            _ => i += 1,
        }
    }
    Ok(())
}

/// Index just past the closing quote of the string whose contents start at `start`.
fn string_end(body: &[u8], start: usize) -> Result<usize, JsonError> {
    let unterminated = || JsonError::Invalid("unterminated string".into());
    let mut i = start;
    loop {
        let p = next_quote_or_backslash(body, i).ok_or_else(unterminated)?;
        if body[p] == b'"' {
            return Ok(p + 1);
        }
        match body.get(p + 1) {
            Some(b'u') => {
                let hex = body.get(p + 2..p + 6);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(JsonError::Invalid("invalid \\u escape in string".into()));
                }
                i = p + 6;
            }
            Some(_) => i = p + 2,
            None => return Err(unterminated()),
        }
    }
}

/// Position of the next `"` or `\\` at or after `from`.
///
/// Plain `memchr2` throughout: a scalar pre-scan for short strings measured slower (more
/// instructions under cachegrind) on both the 1 KB and the 100 KB bench bodies.
fn next_quote_or_backslash(body: &[u8], from: usize) -> Option<usize> {
    memchr2(b'"', b'\\', body.get(from..)?).map(|off| from + off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_up_to_the_limit() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(check_depth(ok.as_bytes(), 128), Ok(()));
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert_eq!(
            check_depth(deep.as_bytes(), 128),
            Err(JsonError::TooDeep { max: 128 })
        );
    }

    #[test]
    fn mixed_objects_and_arrays_count_together() {
        let body = br#"{"a":[{"b":[1]}]}"#;
        assert_eq!(check_depth(body, 4), Ok(()));
        assert_eq!(check_depth(body, 3), Err(JsonError::TooDeep { max: 3 }));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let body = br#"{"a":"[[[[{{{{\"[[[[\\","b":"\u005b"}"#;
        assert_eq!(check_depth(body, 1), Ok(()));
        // An escaped backslash before the quote ends the string, so the brackets after it count.
        let body = br#"["\\",[[]]]"#;
        assert_eq!(check_depth(body, 2), Err(JsonError::TooDeep { max: 2 }));
        assert_eq!(check_depth(body, 3), Ok(()));
    }

    #[test]
    fn closes_reduce_depth() {
        let body = format!("[{}]", "[],".repeat(1000) + "[]");
        assert_eq!(check_depth(body.as_bytes(), 2), Ok(()));
    }

    #[test]
    fn rejects_broken_strings() {
        assert!(matches!(
            check_depth(br#"{"a":"abc"#, 8),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            check_depth(br#"{"a":"abc\"#, 8),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            check_depth(br#"{"a":"\u12"}"#, 8),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            check_depth(br#"{"a":"\u12G4"}"#, 8),
            Err(JsonError::Invalid(_))
        ));
        assert_eq!(check_depth(br#"{"a":"\u12aF"}"#, 8), Ok(()));
    }

    #[test]
    fn huge_nesting_is_rejected_on_a_small_stack() {
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let arrays = "[".repeat(100_000);
                let objects = r#"{"a":"#.repeat(100_000);
                (
                    check_depth(arrays.as_bytes(), MAX_DEPTH),
                    check_depth(objects.as_bytes(), MAX_DEPTH),
                )
            })
            .expect("spawn");
        let (a, o) = handle.join().expect("no crash");
        assert_eq!(a, Err(JsonError::TooDeep { max: MAX_DEPTH }));
        assert_eq!(o, Err(JsonError::TooDeep { max: MAX_DEPTH }));
    }
}
