//! RFC 3339 text to and from [`Timestamp`]s (microseconds since the Unix epoch, UTC), without
//! a date crate: connectors need only UTC instants, and the civil-date arithmetic is the few
//! lines of `wasync-civil`, shared with the host.
//!
//! Parsing takes the spellings services write ([`parse_rfc3339`]); formatting writes UTC
//! with six ([`format_micros`]) or three ([`format_millis`]) fraction digits, or just the date
//! ([`format_date`]). Formatting covers the years 0000 to 9999 and is `None` outside them.
//!
//! ```
//! use wasync_sdk::time::{format_millis, parse_rfc3339};
//!
//! let noon = parse_rfc3339("2024-03-01T13:00:00.123456789+0100");
//! assert_eq!(noon, Some(1_709_294_400_123_456));
//! assert_eq!(
//!     noon.and_then(format_millis).as_deref(),
//!     Some("2024-03-01T12:00:00.123Z")
//! );
//! ```

use crate::Timestamp;

const MICROS_PER_MILLI: i64 = 1_000;
const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
const MICROS_PER_DAY: i64 = SECONDS_PER_DAY * MICROS_PER_SECOND;

/// Parses an RFC 3339 timestamp into microseconds since the epoch (UTC).
///
/// Accepts `2024-03-01T12:00:00Z`, a fraction of any length (digits past microseconds are
/// dropped), an offset written `Z`, `+01:00` or, as Salesforce writes it, `+0100`, and `t` or
/// a space for `T` (`z` for `Z`). Anything else (including impossible dates) is `None`.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > i64::from(days_in_month(year, month as u32))
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let (micros, rest) = fraction(&b[19..])?;
    let offset = offset_seconds(rest)?;
    let seconds = days_from_civil(year, month as u32, day as u32) * SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + second
        - offset;
    Some(seconds * MICROS_PER_SECOND + micros)
}

/// Formats a timestamp as RFC 3339 UTC with six fraction digits
/// (`2024-03-01T12:00:00.000000Z`); `None` outside the years 0000 to 9999.
pub fn format_micros(micros: Timestamp) -> Option<String> {
    let (date, of_day) = split(micros)?;
    let (hour, minute, second) = clock(of_day);
    Some(format!(
        "{date}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
        of_day % MICROS_PER_SECOND
    ))
}

/// Formats a timestamp as RFC 3339 UTC with milliseconds (`2024-03-01T12:00:00.123Z`),
/// dropping finer digits (rounding down, also before 1970); `None` outside the years 0000 to
/// 9999.
pub fn format_millis(micros: Timestamp) -> Option<String> {
    let (date, of_day) = split(micros)?;
    let (hour, minute, second) = clock(of_day);
    Some(format!(
        "{date}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        of_day % MICROS_PER_SECOND / MICROS_PER_MILLI
    ))
}

/// The UTC date `YYYY-MM-DD` of a timestamp, whatever its time of day; `None` outside the
/// years 0000 to 9999.
pub fn format_date(micros: Timestamp) -> Option<String> {
    split(micros).map(|(date, _)| date)
}

/// A timestamp rounded down (towards the past) to the millisecond.
pub fn floor_millis(micros: Timestamp) -> Timestamp {
    micros - micros.rem_euclid(MICROS_PER_MILLI)
}

/// The `YYYY-MM-DD` date of a timestamp and the microseconds into its day, or `None` outside
/// the years 0000 to 9999.
fn split(micros: Timestamp) -> Option<(String, i64)> {
    let (year, month, day) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    (0..=9999).contains(&year).then(|| {
        (
            format!("{year:04}-{month:02}-{day:02}"),
            micros.rem_euclid(MICROS_PER_DAY),
        )
    })
}

/// (hour, minute, second) of the microseconds into a day.
fn clock(of_day: i64) -> (i64, i64, i64) {
    let seconds = of_day / MICROS_PER_SECOND;
    (seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// The value of a run of ASCII digits, or `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// An optional `.fraction`: its value in microseconds and the bytes after it.
fn fraction(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let Some(rest) = bytes.strip_prefix(b".") else {
        return Some((0, bytes));
    };
    let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let kept = &rest[..len.min(6)];
    let micros = digits(kept)? * 10i64.pow(6 - kept.len() as u32);
    Some((micros, &rest[len..]))
}

/// The offset east of UTC in seconds, from the timestamp's whole remaining tail.
fn offset_seconds(tail: &[u8]) -> Option<i64> {
    let (sign, rest) = match tail {
        [b'Z' | b'z'] => return Some(0),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match rest {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

/// The calendar arithmetic, shared with the host: (year, month, day) of a day counted from
/// 1970-01-01.
pub use wasync_civil::civil_from_days;
use wasync_civil::{days_from_civil, days_in_month};

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-01T12:00:00Z.
    const NOON: Timestamp = 1_709_294_400_000_000;

    #[test]
    fn parses_the_usual_spellings() {
        for (text, micros) in [
            ("2024-03-01T12:00:00Z", NOON),
            ("2024-03-01t12:00:00z", NOON),
            ("2024-03-01 12:00:00Z", NOON),
            ("2024-03-01T12:00:00.123+00:00", NOON + 123_000),
            ("2024-03-01T12:00:00.000+0000", NOON),
            ("2024-03-01T12:00:00.123Z", NOON + 123_000),
            ("2024-03-01T12:00:00.000001Z", NOON + 1),
            ("2024-03-01T12:00:00.1234569Z", NOON + 123_456),
            ("2024-03-01T12:00:00.1234567891Z", NOON + 123_456),
        ] {
            assert_eq!(parse_rfc3339(text), Some(micros), "{text}");
        }
    }

    #[test]
    fn applies_offsets() {
        for text in [
            "2024-03-01T13:30:00+01:30",
            "2024-03-01 13:30:00+01:30",
            "2024-03-01T07:00:00-0500",
        ] {
            assert_eq!(parse_rfc3339(text), Some(NOON), "{text}");
        }
    }

    #[test]
    fn handles_epoch_leap_days_and_before_1970() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999Z"), Some(-1));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999Z"), Some(-1_000));
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(951_782_400_000_000)
        );
        assert_eq!(parse_rfc3339("1900-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-02-30T12:00:00Z"), None);
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for text in [
            "",
            "2024-03-01",
            "2024-03-01T12:00:00",
            "2024-13-01T12:00:00Z",
            "2024-03-32T12:00:00Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T12:00:00.Z",
            "2024-03-01T12:00:00+1",
            "2024-03-01T12:00:00+01:00x",
            "2024-03-01T12:00:00+01:00 ",
            "2024-03-01T12:00:00+24:00",
            "2024-03-01X12:00:00Z",
            "２024-03-01T12:00:00Z",
            "Acme Inc, the big one",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn formats_micros_and_millis_rounding_down() {
        let micros_form = format_micros as fn(Timestamp) -> Option<String>;
        for (format, instant, text) in [
            (micros_form, NOON + 5, Some("2024-03-01T12:00:00.000005Z")),
            (micros_form, -1, Some("1969-12-31T23:59:59.999999Z")),
            (micros_form, i64::MAX, None),
            (
                format_millis,
                NOON + 123_999,
                Some("2024-03-01T12:00:00.123Z"),
            ),
            (format_millis, -1, Some("1969-12-31T23:59:59.999Z")),
            (format_millis, 0, Some("1970-01-01T00:00:00.000Z")),
            (format_millis, i64::MAX, None),
        ] {
            assert_eq!(format(instant).as_deref(), text, "{instant}");
        }
        assert_eq!(floor_millis(NOON + 1_999), NOON + 1_000);
        assert_eq!(floor_millis(-1), -1_000);
    }

    #[test]
    fn formats_dates_at_any_time_of_day() {
        assert_eq!(format_date(NOON - 1).as_deref(), Some("2024-03-01"));
        assert_eq!(
            format_date(1_709_251_200_000_000).as_deref(),
            Some("2024-03-01")
        );
        assert_eq!(format_date(-86_400_000_000).as_deref(), Some("1969-12-31"));
        assert_eq!(format_date(-1).as_deref(), Some("1969-12-31"));
        assert_eq!(format_date(i64::MAX), None);
    }

    #[test]
    fn round_trips() {
        let micros = [0, -1, NOON, 951_782_400_000_001, 253_402_300_799_999_999];
        let millis = micros.map(floor_millis);
        let micros_form = format_micros as fn(Timestamp) -> Option<String>;
        for (format, instants) in [(micros_form, micros), (format_millis, millis)] {
            for instant in instants {
                let text = format(instant).unwrap_or_default();
                assert_eq!(parse_rfc3339(&text), Some(instant), "{text}");
            }
        }
    }
}
