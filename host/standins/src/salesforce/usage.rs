//! The org's API requests over a rolling 24 hours, as Salesforce counts them against its
//! daily limit: requests drop out of the count a day after they were made, in one-minute
//! steps, instead of the count starting over at midnight.

use std::collections::VecDeque;

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: i64 = 24 * 60;

/// Requests per minute over the last 24 hours.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// (minute since the epoch, requests made in it), oldest first.
    minutes: VecDeque<(i64, u64)>,
    total: u64,
}

impl Usage {
    /// Requests made in the 24 hours before `now_ms`.
    pub(crate) fn count(&mut self, now_ms: i64) -> u64 {
        let oldest = now_ms.div_euclid(MINUTE_MS) - DAY_MINUTES;
        while let Some(&(minute, calls)) = self.minutes.front() {
            if minute > oldest {
                break;
            }
            self.total -= calls;
            self.minutes.pop_front();
        }
        self.total
    }

    /// Counts a request made at `now_ms`.
    pub(crate) fn add(&mut self, now_ms: i64) {
        let minute = now_ms.div_euclid(MINUTE_MS);
        match self.minutes.back_mut() {
            Some((last, calls)) if *last >= minute => *calls += 1,
            _ => self.minutes.push_back((minute, 1)),
        }
        self.total += 1;
    }

    /// The requests counted when last looked at, without moving the window.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_leave_the_count_a_day_after_they_were_made() {
        let mut usage = Usage::default();
        let day = DAY_MINUTES * MINUTE_MS;
        usage.add(0);
        usage.add(30_000);
        usage.add(day / 2);
        assert_eq!(usage.count(day / 2), 3);
        assert_eq!(usage.count(day - 1), 3, "not yet a day");
        assert_eq!(usage.count(day), 1, "the first minute's two are a day old");
        assert_eq!(usage.count(day + day / 2), 0);
        usage.add(2 * day);
        assert_eq!(usage.total(), 1);
    }
}
