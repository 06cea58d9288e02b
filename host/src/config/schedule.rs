//! When a pipeline's cycle runs under `wasync serve`: every fixed interval (`30s`, `5m`,
//! `1h`), or at the minutes a cron expression names (`*/15 * * * *`, in UTC).

use std::time::Duration;
use wasync_civil::civil_from_days;

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MINUTES_PER_DAY: i64 = 24 * 60;

/// A pipeline's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A cycle this long after the last one began.
    Every(Duration),
    /// A cycle at each minute the expression matches.
    Cron(Box<Cron>),
}

/// A five-field cron expression: minute, hour, day of month, month, day of week, each a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether day of month and day of week were both restricted: then either may match,
    /// as in every cron since Vixie's.
    either_day: bool,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Every(Duration::from_secs(60))
    }
}

impl Schedule {
    /// Parses `30s`, `5m`, `2h`, `500ms` or a cron expression; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.split_whitespace().count() == 5 {
            return Cron::parse(text).map(|c| Schedule::Cron(Box::new(c)));
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or("an interval needs a unit: `30s`, `5m`, `1h`")?;
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().map_err(
            |_| "expected an interval (`30s`, `5m`, `1h`) or a cron expression (`*/5 * * * *`)",
        )?;
        let interval = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            other => return Err(format!("unknown unit `{other}` (use ms, s, m or h)")),
        };
        if interval < Duration::from_millis(100) {
            return Err("an interval must be at least 100ms".into());
        }
        Ok(Schedule::Every(interval))
    }

    /// The first time (micros) a cycle is due after one that began at `last` and `now`.
    pub fn next(&self, last: i64, now: i64) -> i64 {
        match self {
            Schedule::Every(interval) => last + interval.as_micros() as i64,
            Schedule::Cron(cron) => cron.next_after(now),
        }
    }
}

impl Cron {
    fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err("a cron expression has five fields".into());
        };
        let mut weekdays = set(weekday, 0, 7, "day of week", WEEKDAYS)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        Ok(Cron {
            minutes: set(minute, 0, 59, "minute", &[])?,
            hours: set(hour, 0, 23, "hour", &[])?,
            days: set(day, 1, 31, "day of month", &[])?,
            months: set(month, 1, 12, "month", MONTHS)?,
            weekdays,
            either_day: !day.starts_with('*') && !weekday.starts_with('*'),
        })
    }

    /// The first whole minute strictly after `after` (micros since the epoch) that matches.
    /// `None`-free: every valid expression matches some minute within eight years.
    fn next_after(&self, after: i64) -> i64 {
        let mut minute = after.div_euclid(MICROS_PER_MINUTE) + 1;
        let limit = minute + 8 * 366 * MINUTES_PER_DAY;
        while minute < limit {
            let day = minute.div_euclid(MINUTES_PER_DAY);
            if !self.day_matches(day) {
                minute = (day + 1) * MINUTES_PER_DAY;
                continue;
            }
            let of_day = minute - day * MINUTES_PER_DAY;
            let (hour, min) = (of_day / 60, of_day % 60);
            if self.hours & (1 << hour) == 0 {
                minute += 60 - min;
                continue;
            }
            if self.minutes & (1 << min) != 0 {
                return minute * MICROS_PER_MINUTE;
            }
            minute += 1;
        }
        // 31 February and the like: never. Try again in a day rather than spin.
        after + MINUTES_PER_DAY * MICROS_PER_MINUTE
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, month, of_month) = civil_from_days(day);
        let weekday = (day + 4).rem_euclid(7); // 1970-01-01 was a Thursday
        if self.months & (1 << month) == 0 {
            return false;
        }
        let by_date = self.days & (1 << of_month) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        match self.either_day {
            true => by_date || by_weekday,
            false => by_date && by_weekday,
        }
    }
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One cron field as a bit set: `*`, `N`, `A-B`, any of those `/STEP`, lists with `,`;
/// `names` spell the values from `min` on (`jan`, `mon`).
fn set(field: &str, min: u32, max: u32, what: &str, names: &[&str]) -> Result<u64, String> {
    let value = |text: &str| -> Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        let n = match names.iter().position(|n| *n == lower) {
            Some(i) => i as u32 + min,
            None => text
                .parse()
                .map_err(|_| format!("{what} `{text}` is not a number"))?,
        };
        match (min..=max).contains(&n) {
            true => Ok(n),
            false => Err(format!("{what} {n} is outside {min}-{max}")),
        }
    };
    let mut bits = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{what} step `{step}` is not a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range.split_once('-') {
            _ if range == "*" => (min, max),
            Some((a, b)) => (value(a)?, value(b)?),
            None if step > 1 => (value(range)?, max),
            None => {
                let n = value(range)?;
                (n, n)
            }
        };
        if from > to {
            return Err(format!("{what} range `{range}` runs backwards"));
        }
        for n in (from..=to).step_by(step as usize) {
            bits |= 1 << n;
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24T10:07:30Z (a Tuesday), in micros.
    const NOW: i64 = 1_795_514_850_000_000;

    fn at(text: &str) -> i64 {
        wasync_sdk::time::parse_rfc3339(text).expect("a test time")
    }

    fn next(expr: &str, after: &str) -> String {
        let Schedule::Cron(cron) = Schedule::parse(expr).expect("parses") else {
            panic!("{expr} is not cron");
        };
        let text = wasync_sdk::time::format_micros(cron.next_after(at(after))).expect("formats");
        text.replace(".000000Z", "Z")
    }

    #[test]
    fn intervals_have_units() {
        assert_eq!(
            Schedule::parse("30s"),
            Ok(Schedule::Every(Duration::from_secs(30)))
        );
        assert_eq!(
            Schedule::parse("5m"),
            Ok(Schedule::Every(Duration::from_secs(300)))
        );
        assert_eq!(
            Schedule::parse("250ms"),
            Ok(Schedule::Every(Duration::from_millis(250)))
        );
        assert!(Schedule::parse("30").expect_err("refused").contains("unit"));
        assert!(
            Schedule::parse("3d")
                .expect_err("refused")
                .contains("unknown unit `d`")
        );
        assert!(
            Schedule::parse("10ms")
                .expect_err("refused")
                .contains("at least")
        );
        let every = Schedule::parse("1m").expect("parses");
        assert_eq!(every.next(NOW, NOW + 5), NOW + 60_000_000);
    }

    #[test]
    fn cron_finds_the_next_matching_minute() {
        assert_eq!(at("2026-11-24T10:07:30Z"), NOW);
        assert_eq!(
            next("*/15 * * * *", "2026-11-24T10:07:30Z"),
            "2026-11-24T10:15:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-11-24T10:15:00Z"),
            "2026-11-24T10:30:00Z"
        );
        assert_eq!(
            next("0 3 * * *", "2026-11-24T10:07:30Z"),
            "2026-11-25T03:00:00Z"
        );
        assert_eq!(
            next("30 9 1 * *", "2026-11-24T10:07:30Z"),
            "2026-12-01T09:30:00Z"
        );
        assert_eq!(
            next("0 0 * * mon", "2026-11-24T10:07:30Z"),
            "2026-11-30T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 0", "2026-11-24T10:07:30Z"),
            "2026-11-29T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-11-24T10:07:30Z"),
            "2026-11-29T00:00:00Z"
        );
        assert_eq!(
            next("0 12 29 feb *", "2026-11-24T10:07:30Z"),
            "2028-02-29T12:00:00Z"
        );
        assert_eq!(
            next("5-10/5 1 * * *", "2026-11-24T10:07:30Z"),
            "2026-11-25T01:05:00Z"
        );
        assert_eq!(
            next("0 8 1,15 * *", "2026-12-01T08:00:00Z"),
            "2026-12-15T08:00:00Z"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_given() {
        // The 1st, or any Friday: Friday 2026-11-27 comes first.
        assert_eq!(
            next("0 0 1 * fri", "2026-11-24T10:07:30Z"),
            "2026-11-27T00:00:00Z"
        );
    }

    #[test]
    fn bad_cron_says_which_field() {
        let err = |e: &str| Schedule::parse(e).expect_err("refused");
        assert!(err("60 * * * *").contains("minute 60 is outside 0-59"));
        assert!(err("* 24 * * *").contains("hour 24"));
        assert!(err("* * 0 * *").contains("day of month 0"));
        assert!(err("* * * foo *").contains("month `foo` is not a number"));
        assert!(err("*/0 * * * *").contains("step `0`"));
        assert!(err("10-5 * * * *").contains("backwards"));
    }
}
