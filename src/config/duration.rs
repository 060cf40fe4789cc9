//! Retry backoffs: integer milliseconds (legacy) or Go duration strings (`"500ms"`, `"1.5s"`, `"2m"`).

use std::time::Duration;

use serde::Serializer;
use serde_json::Value;

use super::decode::type_name;
use super::error::ConfigError;
use super::path::JsonPath;

/// Why a Go duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `[-+]?([0-9]*(\.[0-9]*)?unit)+`.
    #[error("invalid duration {0:?}: use a Go duration like \"500ms\", \"1.5s\" or \"2m\"")]
    Syntax(String),
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("unknown unit {unit:?} in duration {input:?} (use ns, us, ms, s, m or h)")]
    Unit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// Below zero.
    #[error("duration {0:?} is negative")]
    Negative(String),
    /// Larger than Go's `time.Duration` can hold (about 292 years).
    #[error("duration {0:?} is too large")]
    Overflow(String),
}

/// Nanoseconds per unit, as Go's `time.ParseDuration` spells them.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration string (`time.ParseDuration` syntax). Negative durations are refused.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(input.to_string());
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax());
        }
        let unit_len = after
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(syntax());
        }
        let mult = unit_nanos(unit).ok_or_else(|| DurationError::Unit {
            unit: unit.to_string(),
            input: input.to_string(),
        })?;
        let overflow = || DurationError::Overflow(input.to_string());
        let mut whole: u128 = 0;
        for b in int_part.bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u128::from(b - b'0')))
                .filter(|w| *w <= u128::from(u64::MAX))
                .ok_or_else(overflow)?;
        }
        // Fractions beyond nanosecond precision cannot matter: keep at most 18 digits.
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        for b in frac_part.bytes().take(18) {
            frac = frac * 10 + u128::from(b - b'0');
            scale *= 10;
        }
        total = whole
            .checked_mul(mult)
            .and_then(|t| t.checked_add(frac * mult / scale))
            .and_then(|t| total.checked_add(t))
            .filter(|t| *t <= i64::MAX as u128)
            .ok_or_else(overflow)?;
        rest = after;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(input.to_string()));
    }
    u64::try_from(total)
        .map(Duration::from_nanos)
        .map_err(|_| DurationError::Overflow(input.to_string()))
}

/// Reads a backoff: an integer is milliseconds, a string a Go duration.
pub(crate) fn decode_backoff(v: Value, path: &JsonPath) -> Result<Duration, ConfigError> {
    match v {
        Value::Number(n) => {
            if let Some(ms) = n.as_u64() {
                Ok(Duration::from_millis(ms))
            } else if n.as_i64().is_some() {
                Err(ConfigError::invalid(path, format!("must be >= 0, got {n}")))
            } else {
                Err(ConfigError::type_error(
                    path,
                    format!(
                        "expected integer milliseconds or a duration string like \"500ms\", got {n}"
                    ),
                ))
            }
        }
        Value::String(s) => {
            parse_go_duration(&s).map_err(|e| ConfigError::invalid(path, e.to_string()))
        }
        other => Err(ConfigError::type_error(
            path,
            format!(
                "expected integer milliseconds or a duration string like \"500ms\", got {}",
                type_name(&other)
            ),
        )),
    }
}

/// Writes a backoff back as integer milliseconds (Bifrost's format); a sub-millisecond remainder
/// rounds up so that a non-zero backoff never turns into 0 ("use the default").
pub(crate) fn serialize_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
    s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(s: &str) -> Duration {
        parse_go_duration(s).expect(s)
    }

    #[test]
    fn go_duration_syntax() {
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1m0.5s"), Duration::from_millis(60_500));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("1.s"), Duration::from_secs(1));
        assert_eq!(ok("10us"), Duration::from_micros(10));
        assert_eq!(ok("10µs"), Duration::from_micros(10));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("+3s"), Duration::from_secs(3));
        assert_eq!(ok("-0s"), Duration::ZERO);
    }

    #[test]
    fn go_duration_errors() {
        for bad in ["", "5", "ms", ".s", "1.5", "s5", "-", "+"] {
            assert!(
                matches!(parse_go_duration(bad), Err(DurationError::Syntax(_))),
                "{bad:?}"
            );
        }
        for bad_unit in ["5d", "1 s"] {
            assert!(
                matches!(parse_go_duration(bad_unit), Err(DurationError::Unit { .. })),
                "{bad_unit:?}"
            );
        }
        assert!(matches!(
            parse_go_duration("-5s"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_go_duration("9999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn backoff_values() {
        let p = JsonPath::root().key("retry_backoff_initial");
        assert_eq!(
            decode_backoff(json!(500), &p).expect("int"),
            Duration::from_millis(500)
        );
        assert_eq!(
            decode_backoff(json!("2s"), &p).expect("str"),
            Duration::from_secs(2)
        );
        let e = decode_backoff(json!(-1), &p).expect_err("negative");
        assert_eq!(e.to_string(), "retry_backoff_initial: must be >= 0, got -1");
        assert!(decode_backoff(json!(1.5), &p).is_err());
        assert!(decode_backoff(json!(true), &p).is_err());
        let e = decode_backoff(json!("fast"), &p).expect_err("syntax");
        assert!(
            e.to_string()
                .starts_with("retry_backoff_initial: invalid duration")
        );
    }

    #[test]
    fn writes_milliseconds() {
        #[derive(serde::Serialize)]
        struct W(#[serde(serialize_with = "serialize_millis")] Duration);
        let s = |d| serde_json::to_string(&W(d)).expect("ser");
        assert_eq!(s(Duration::from_millis(1500)), "1500");
        assert_eq!(s(Duration::from_micros(10)), "1");
        assert_eq!(s(Duration::ZERO), "0");
    }
}
