//! Retry policy: which upstream failures are retried, on which key, after how long.

use std::time::Duration;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Give up and return the error.
    Stop,
    /// Retry on the same key after a backoff (5xx, network errors).
    SameKey,
    /// Retry on another key after a backoff (429).
    RotateKeyWithBackoff,
    /// The key is refused (401/402/403): retry on another key at once, without spending the budget.
    RotateKeyNow,
}

/// Classifies an upstream HTTP status (Bifrost's newer retry classes).
pub fn classify_status(status: u16) -> RetryAction {
    match status {
        // 529 is Anthropic's "overloaded": transient, like 503.
        500 | 502 | 503 | 504 | 529 => RetryAction::SameKey,
        429 => RetryAction::RotateKeyWithBackoff,
        401..=403 => RetryAction::RotateKeyNow,
        _ => RetryAction::Stop,
    }
}

/// Backoff before retry number `attempt` (0-based): `min(initial * 2^attempt, max)` times a
/// uniform jitter in [0.8, 1.2], never above `max`.
pub fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let base = initial
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    base.mul_f64(jitter).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify_status(503), RetryAction::SameKey);
        assert_eq!(classify_status(529), RetryAction::SameKey);
        assert_eq!(classify_status(429), RetryAction::RotateKeyWithBackoff);
        assert_eq!(classify_status(401), RetryAction::RotateKeyNow);
        assert_eq!(classify_status(403), RetryAction::RotateKeyNow);
        assert_eq!(classify_status(400), RetryAction::Stop);
        assert_eq!(classify_status(404), RetryAction::Stop);
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let i = Duration::from_millis(100);
        let m = Duration::from_millis(1000);
        for _ in 0..100 {
            let b0 = backoff(i, m, 0);
            assert!(b0 >= Duration::from_millis(80) && b0 <= Duration::from_millis(120));
            let b2 = backoff(i, m, 2);
            assert!(b2 >= Duration::from_millis(320) && b2 <= Duration::from_millis(480));
            assert!(backoff(i, m, 10) <= m);
            assert!(backoff(i, m, 40) <= m);
        }
    }
}
