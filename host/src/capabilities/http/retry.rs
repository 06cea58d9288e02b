//! When to try a request again, and how long to wait first.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A server that asks for a longer pause than this is not waited for in a cycle: the call
/// fails as rate-limited and the next cycle tries again.
pub const MAX_WAIT: Duration = Duration::from_secs(120);

/// Statuses worth another try: too many requests, and the server's passing failures.
pub fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The server's `Retry-After`, in its delta-seconds form.
pub fn after(headers: &[(String, String)]) -> Option<Duration> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Exponential backoff with jitter before try `tries + 1`: half of `first · 2^(tries-1)`
/// fixed, the other half random, so that clients that failed together do not come back
/// together.
pub fn backoff(first: Duration, tries: u32) -> Duration {
    let full = first.saturating_mul(1 << tries.saturating_sub(1).min(16));
    let half = full / 2;
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(tries);
    let random = hasher.finish() as f64 / u64::MAX as f64;
    half + half.mul_f64(random)
}

/// The start of a response body, for an error message: what the server said about itself.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter() {
        let first = Duration::from_millis(100);
        for tries in 1..6 {
            let full = first * (1 << (tries - 1));
            let wait = backoff(first, tries);
            assert!(wait >= full / 2 && wait <= full, "{tries}: {wait:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        let h = |v: &str| vec![("Retry-After".to_owned(), v.to_owned())];
        assert_eq!(after(&h("2")), Some(Duration::from_secs(2)));
        assert_eq!(after(&h("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(after(&h("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(after(&[]), None);
    }
}
