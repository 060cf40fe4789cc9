//! Timestamps of log rows: nanoseconds since the Unix epoch, shown as RFC 3339 (UTC), as Go's
//! `time.RFC3339Nano` prints them (trailing zeros of the fraction dropped).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::clock::civil_from_days;

/// Nanoseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` for `ns`.
pub fn format_ns(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rem = secs % 86_400;
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if frac > 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Parses an RFC 3339 timestamp (`Z` or a `±HH:MM` offset, optional fraction) into nanoseconds
/// since the epoch; `None` when it is not one (or is before 1970).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Only the first nine digits matter (nanoseconds).
        let digits = &s[start..i.min(start + 9)];
        let scale = 10i64.pow(u32::try_from(9 - digits.len()).unwrap_or(0));
        frac_ns = digits.parse::<i64>().ok()? * scale;
    }
    let offset_secs = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') => {
            if rest.as_bytes()[3] != b':' {
                return None;
            }
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    let ns = secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)?;
    u64::try_from(ns).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc3339_nano() {
        assert_eq!(format_ns(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_ns(1_714_566_645_120_000_000),
            "2024-05-01T12:30:45.12Z"
        );
        assert_eq!(
            format_ns(1_714_566_645_000_000_001),
            "2024-05-01T12:30:45.000000001Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for ns in [0, 1_714_566_645_120_000_000, 951_782_400_000_000_007] {
            assert_eq!(parse_rfc3339(&format_ns(ns)), Some(ns));
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T14:30:45+02:00"),
            Some(1_714_566_645_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T12:30:45.5-00:30"),
            Some(1_714_568_445_500_000_000)
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T12:30:45",
            "2024-13-01T12:30:45Z",
            "2024-05-01T12:30:45.Z",
            "2024-05-01T12:30:45+0200",
            "yesterday at noon!!",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
