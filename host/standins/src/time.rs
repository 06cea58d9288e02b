//! The servers' clock and the two systems' datetime formats, without a date crate.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A server's clock: the real time in milliseconds, never going backwards, so that the
/// timestamps one server hands out never decrease (two writes in one millisecond share it).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, at least the last value returned. Writers read it
    /// while holding their data's lock, so timestamps follow the order writes commit in
    /// (what keyset readers on `SystemModstamp` or `hs_lastmodifieddate` rely on).
    pub(crate) fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let previous = self.last.fetch_max(real, Ordering::SeqCst);
        previous.max(real)
    }
}

use wasync_civil::{civil_from_days, days_from_civil, days_in_month};

/// The parts of a millisecond timestamp: date, time of day and milliseconds, in UTC.
fn parts(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    )
}

/// HubSpot's format: `2019-12-07T16:50:06.678Z`.
pub(crate) fn iso_z(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

/// Salesforce's format: `2024-03-01T12:00:00.000+0000`.
pub(crate) fn iso_sf(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}+0000")
}

/// A date as `YYYY-MM-DD` from days since the epoch.
pub(crate) fn date_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn digits(s: &[u8], from: usize, n: usize) -> Option<u32> {
    let part = s.get(from..from + n)?;
    let mut value = 0u32;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    parse_date_prefix(b)
}

fn parse_date_prefix(b: &[u8]) -> Option<i64> {
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses an ISO 8601 datetime into milliseconds since the epoch:
/// `YYYY-MM-DDThh:mm:ss`, optional fraction (up to 9 digits), then `Z`, `±hh:mm`, `±hhmm`
/// or `±hh`. A zone is required.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let days = parse_date_prefix(b)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[13] != b':' || b[16] != b':' || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let fraction = &s[start..i];
        if fraction.is_empty() || fraction.len() > 9 {
            return None;
        }
        let padded = format!("{fraction:0<3}");
        millis = padded[..3].parse().ok()?;
    }
    let offset_minutes: i64 = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let zone = &b[i + 1..];
            let (h, m) = match zone.len() {
                2 => (digits(zone, 0, 2)?, 0),
                4 => (digits(zone, 0, 2)?, digits(zone, 2, 2)?),
                5 if zone[2] == b':' => (digits(zone, 0, 2)?, digits(zone, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let seconds =
        days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = 1_575_737_406_678; // 2019-12-07T16:50:06.678Z, the spec's example
        assert_eq!(iso_z(ms), "2019-12-07T16:50:06.678Z");
        assert_eq!(iso_sf(ms), "2019-12-07T16:50:06.678+0000");
        assert_eq!(parse_datetime(&iso_z(ms)), Some(ms));
        assert_eq!(parse_datetime(&iso_sf(ms)), Some(ms));
        assert_eq!(parse_datetime("2019-12-07T17:50:06.678+01:00"), Some(ms));
        assert_eq!(parse_datetime("2019-12-07T16:50:06Z"), Some(ms - 678));
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_date("2024-02-29").map(date_string).as_deref(),
            Some("2024-02-29")
        );
    }

    #[test]
    fn refuses_impossible_datetimes() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "é024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_clock_never_goes_back() {
        let clock = Clock::default();
        let mut last = 0;
        for _ in 0..1000 {
            let now = clock.now_ms();
            assert!(now >= last);
            last = now;
        }
    }
}
