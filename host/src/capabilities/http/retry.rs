//! When to try a request again, and how long to wait first.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// A server that asks for a longer pause than this is not waited for in a cycle: the call
/// fails as rate-limited and the next cycle tries again.
pub const MAX_WAIT: Duration = Duration::from_secs(120);

/// Statuses worth another try: too many requests, and the server's passing failures.
pub fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The server's `Retry-After`: seconds to wait, or the time to try again at.
pub fn after(headers: &[(String, String)]) -> Option<Duration> {
    after_at(headers, SystemTime::now())
}

/// [`after`] as of `now`. RFC 9110 gives two forms: delta-seconds (`120`) and an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, or the two obsolete spellings recipients must still
/// read); a date already past means now. The dates are read by `httpdate`, the parser hyper
/// uses, rather than by hand.
fn after_at(headers: &[(String, String)], now: SystemTime) -> Option<Duration> {
    let value = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?
        .1
        .trim();
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Ok(_) => None,
        Err(_) => httpdate::parse_http_date(value)
            .ok()
            .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO)),
    }
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

    fn h(v: &str) -> Vec<(String, String)> {
        vec![("Retry-After".to_owned(), v.to_owned())]
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(after(&h("2")), Some(Duration::from_secs(2)));
        assert_eq!(after(&h("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(after(&h("-1")), None);
        assert_eq!(after(&h("soon")), None);
        assert_eq!(after(&[]), None);
    }

    #[test]
    fn retry_after_as_an_http_date_in_all_three_spellings() {
        // 2015-10-21T07:28:00Z, and the server says to come back 90 s later.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 90);
        for date in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(
                after_at(&h(date), now),
                Some(Duration::from_secs(90)),
                "{date}"
            );
        }
        let later = now + Duration::from_secs(3600);
        assert_eq!(
            after_at(&h("Wed, 21 Oct 2015 07:28:00 GMT"), later),
            Some(Duration::ZERO),
            "a date already past means now"
        );
        assert_eq!(after_at(&h("Wed, 32 Oct 2015 07:28:00 GMT"), now), None);
    }
}
