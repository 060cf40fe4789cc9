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
    if plainly_shallow(body, max_depth) {
        return Ok(());
    }
    walk(body, max_depth)
}

/// The structural walk behind [`check_depth`].
fn walk(body: &[u8], max_depth: usize) -> Result<(), JsonError> {
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

/// The common case, decided without walking the structure: no more `[`/`{` bytes in all than
/// `max_depth` (so nesting cannot exceed it), every backslash inside a string (an odd number
/// of unescaped quotes before it) with a valid escape after it, and an even number of
/// unescaped quotes in all (so every string is closed). Then the walk below passes too: it
/// meets the same escapes inside the same strings.
///
/// Bytes are counted by branch-free loops the compiler vectorises (byte counters per 255-byte
/// block) and escapes visited one by one; chat bodies have few. Several times faster than the
/// walk on chat bodies, whose many short strings each cost the walk a search.
fn plainly_shallow(body: &[u8], max_depth: usize) -> bool {
    if count(body, |b| (b | 0x20) == b'{') > max_depth {
        // (`[` is 0x5b and `{` is 0x7b: no other byte is 0x7b once bit 5 is set.)
        return false;
    }
    let mut unescaped_quotes = 0usize;
    let mut i = 0;
    loop {
        let next = memchr::memchr(b'\\', &body[i..]).map(|at| i + at);
        let end = next.unwrap_or(body.len());
        unescaped_quotes += count(&body[i..end], |b| b == b'"');
        let Some(p) = next else {
            return unescaped_quotes % 2 == 0;
        };
        if unescaped_quotes % 2 == 0 {
            return false; // a backslash outside a string: the walk decides
        }
        match body.get(p + 1) {
            Some(b'u') => {
                let hex = body.get(p + 2..p + 6);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i = p + 6;
            }
            Some(_) => i = p + 2,
            None => return false,
        }
    }
}

/// How many bytes of `bytes` satisfy `hit`, counted in a loop the compiler vectorises.
#[inline(always)]
fn count(bytes: &[u8], hit: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks(255)
        .map(|block| {
            let mut n = 0u8;
            for &b in block {
                n += u8::from(hit(b));
            }
            usize::from(n)
        })
        .sum()
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
    fn the_quick_pass_accepts_only_what_the_walk_accepts() {
        // Random bodies over the bytes that matter: whenever the quick pass says yes, the
        // walk must say yes too (and it must say yes often enough to matter).
        let with_escapes: &[u8] = b"[]{}\"\\u0aF:, ";
        let without: &[u8] = b"[]{}\"u0aF:, ";
        let mut rng = fastrand::Rng::with_seed(7);
        let mut quick = 0;
        for i in 0..50_000 {
            let alphabet = if i % 2 == 0 { with_escapes } else { without };
            let len = rng.usize(0..300);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let max = rng.usize(0..40);
            if plainly_shallow(&body, max) {
                quick += 1;
                assert_eq!(
                    walk(&body, max),
                    Ok(()),
                    "{:?} max {max}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        assert!(quick > 5000, "quick pass taken {quick} times");
        // Blocks of 255 bytes: counts carry across them.
        let body = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(!plainly_shallow(body.as_bytes(), 299));
        assert!(plainly_shallow(body.as_bytes(), 300));
        let quotes = "\"".repeat(511);
        assert!(!plainly_shallow(quotes.as_bytes(), 8));
    }

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
