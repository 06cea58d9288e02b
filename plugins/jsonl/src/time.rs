//! RFC 3339 timestamps to and from microseconds since the Unix epoch, without a date crate:
//! the connector needs only UTC instants, and the civil-date arithmetic is a few lines.

use wasync_sdk::Timestamp;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp into microseconds since the epoch (UTC).
///
/// Accepts `2024-03-01T12:00:00Z`, a fraction of any length (digits past microseconds are
/// dropped), an offset written `+01:00` or, as Salesforce writes it, `+0100`, and `t` or a
/// space for `T`. Anything else (including impossible dates) is `None`.
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
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let (micros, rest) = fraction(&b[19..])?;
    let offset = offset_seconds(rest)?;
    let seconds = (days_from_civil(year, month) + day - 1) * SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + second
        - offset;
    Some(seconds * MICROS_PER_SECOND + micros)
}

/// Formats microseconds since the epoch as RFC 3339 UTC with six fraction digits
/// (`2024-03-01T12:00:00.000000Z`), or `None` outside the years 0000–9999.
pub fn format_rfc3339(micros: Timestamp) -> Option<String> {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    ))
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

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the first of `month` in `year` (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month, day) of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARCH_1_2024_NOON: i64 = 1_709_294_400_000_000;

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!(
            parse_rfc3339("2024-03-01T12:00:00Z"),
            Some(MARCH_1_2024_NOON)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01t12:00:00z"),
            Some(MARCH_1_2024_NOON)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01 12:00:00Z"),
            Some(MARCH_1_2024_NOON)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T12:00:00.123+00:00"),
            Some(MARCH_1_2024_NOON + 123_000)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T12:00:00.000+0000"),
            Some(MARCH_1_2024_NOON)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T12:00:00.1234567891Z"),
            Some(MARCH_1_2024_NOON + 123_456)
        );
    }

    #[test]
    fn applies_offsets() {
        assert_eq!(
            parse_rfc3339("2024-03-01T13:30:00+01:30"),
            Some(MARCH_1_2024_NOON)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T07:00:00-0500"),
            Some(MARCH_1_2024_NOON)
        );
    }

    #[test]
    fn handles_epoch_leap_days_and_before_1970() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999Z"), Some(-1));
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(951_782_400_000_000)
        );
        assert_eq!(parse_rfc3339("1900-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
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
            "2024-03-01T12:00:00+24:00",
            "２024-03-01T12:00:00Z",
            "Acme Inc, the big one",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn formats_with_microseconds() {
        assert_eq!(
            format_rfc3339(MARCH_1_2024_NOON + 5).as_deref(),
            Some("2024-03-01T12:00:00.000005Z")
        );
        assert_eq!(
            format_rfc3339(-1).as_deref(),
            Some("1969-12-31T23:59:59.999999Z")
        );
        assert_eq!(format_rfc3339(i64::MAX), None);
    }

    #[test]
    fn round_trips() {
        for micros in [
            0,
            -1,
            MARCH_1_2024_NOON,
            951_782_400_000_001,
            253_402_300_799_999_999,
        ] {
            let text = format_rfc3339(micros).unwrap_or_default();
            assert_eq!(parse_rfc3339(&text), Some(micros), "{text}");
        }
    }
}
