//! The host's clock and how it writes instants: microseconds since the Unix epoch, UTC, the
//! unit of every timestamp in the store and in plugin values.

use std::time::{SystemTime, UNIX_EPOCH};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// UTC days since 1970-01-01, the unit of a daily API budget.
pub fn today() -> i64 {
    now_micros().div_euclid(MICROS_PER_DAY)
}

/// Microseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = wasync_civil::civil_from_days(days);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{fraction:06}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
    }
}
