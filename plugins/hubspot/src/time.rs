//! HubSpot's datetime and date forms, on top of [`wasync_sdk::time`]: datetimes are read as
//! RFC 3339 text or milliseconds since the epoch and written with
//! [`format_millis`](wasync_sdk::time::format_millis); dates are midnight UTC only.

use wasync_sdk::Timestamp;
use wasync_sdk::time::{format_date, parse_rfc3339};

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The UTC date `YYYY-MM-DD` of a timestamp at midnight UTC, the form HubSpot's `date`
/// properties take; `None` for any other time of day or outside the years 0000–9999.
pub fn format_date_at_midnight(micros: Timestamp) -> Option<String> {
    (micros.rem_euclid(MICROS_PER_DAY) == 0)
        .then(|| format_date(micros))
        .flatten()
}

/// A HubSpot datetime value: ISO 8601 (RFC 3339) text or milliseconds since the epoch.
pub fn parse_datetime(text: &str) -> Option<Timestamp> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasync_sdk::time::format_millis;

    /// `2019-12-07T16:50:06.678Z`, the spec's example.
    const EXAMPLE: i64 = 1_575_737_406_678_000;

    #[test]
    fn parses_hubspot_datetimes() {
        assert_eq!(parse_datetime("2019-12-07T16:50:06.678Z"), Some(EXAMPLE));
        assert_eq!(parse_datetime("1575737406678"), Some(EXAMPLE));
        assert_eq!(
            parse_datetime("2019-12-07T17:50:06.678+01:00"),
            Some(EXAMPLE)
        );
        assert_eq!(parse_datetime("-1"), Some(-1000));
        assert_eq!(parse_datetime("0"), Some(0));
        for text in [
            "",
            "-",
            "2019-12-07",
            "99999999999999999999",
            "1.5",
            "yesterday",
        ] {
            assert_eq!(parse_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn reads_back_what_it_writes() {
        assert_eq!(
            format_millis(EXAMPLE + 999).as_deref(),
            Some("2019-12-07T16:50:06.678Z")
        );
        assert_eq!(
            parse_datetime(&format_millis(EXAMPLE).unwrap_or_default()),
            Some(EXAMPLE)
        );
    }

    #[test]
    fn formats_dates_at_midnight_only() {
        assert_eq!(
            format_date_at_midnight(1_709_251_200_000_000).as_deref(),
            Some("2024-03-01")
        );
        assert_eq!(format_date_at_midnight(1_709_251_200_000_001), None);
        assert_eq!(format_date_at_midnight(-1), None);
        assert_eq!(
            format_date_at_midnight(-86_400_000_000).as_deref(),
            Some("1969-12-31")
        );
        assert_eq!(format_date_at_midnight(i64::MIN), None);
    }
}
