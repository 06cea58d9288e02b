//! How fast and how much a connector may call: a sliding-window rate limit, and a count of
//! calls per UTC day against an optional budget.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `requests` sends in any `window`: a send that would be one too many waits.
#[derive(Debug)]
pub struct RateWindow {
    requests: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl RateWindow {
    /// A window of `requests` per `window`.
    pub fn new(requests: u32, window: Duration) -> Self {
        RateWindow {
            requests: requests.max(1) as usize,
            window,
            sent: VecDeque::new(),
        }
    }

    /// Requests allowed per window, and the window.
    pub fn limit(&self) -> (usize, Duration) {
        (self.requests, self.window)
    }

    /// Books the next send: how long to wait from `now` before it may go.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            self.sent.pop_front();
        }
        let at = if self.sent.len() < self.requests {
            now
        } else {
            // The oldest of the last `requests` sends must leave the window first.
            let oldest = self.sent[self.sent.len() - self.requests];
            (oldest + self.window).max(now)
        };
        self.sent.push_back(at);
        at - now
    }
}

/// API calls of one connector: today's count (UTC days since 1970) against a daily budget,
/// and what has not been saved to the store yet.
#[derive(Debug)]
pub struct Ledger {
    day: i64,
    today: u64,
    unsaved: u64,
    budget: Option<u64>,
}

/// A call refused because the day's budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    /// The budget.
    pub budget: u64,
    /// The day it is spent for.
    pub day: i64,
}

impl Ledger {
    /// Starts from `today` calls already made on `day` (from the store).
    pub fn new(day: i64, today: u64, budget: Option<u64>) -> Self {
        Ledger {
            day,
            today,
            unsaved: 0,
            budget,
        }
    }

    /// Counts one call on `day`, unless the budget is spent.
    pub fn take(&mut self, day: i64) -> Result<(), Spent> {
        self.roll(day);
        if let Some(budget) = self.budget
            && self.today >= budget
        {
            return Err(Spent { budget, day });
        }
        self.today += 1;
        self.unsaved += 1;
        Ok(())
    }

    /// Whether no call is left for `day`.
    pub fn spent(&mut self, day: i64) -> bool {
        self.roll(day);
        self.budget.is_some_and(|b| self.today >= b)
    }

    /// Calls made on `day` so far.
    pub fn today(&mut self, day: i64) -> u64 {
        self.roll(day);
        self.today
    }

    /// Calls not yet saved, with their day; counts them as saved.
    pub fn take_unsaved(&mut self) -> (i64, u64) {
        (self.day, std::mem::take(&mut self.unsaved))
    }

    fn roll(&mut self, day: i64) {
        if day != self.day {
            // Calls of the old day not saved yet are lost to the store's count of that day,
            // which only status reads; the new day starts from zero either way.
            self.day = day;
            self.today = 0;
            self.unsaved = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_lets_its_requests_through_then_spaces_them() {
        let mut w = RateWindow::new(2, Duration::from_secs(1));
        let t = Instant::now();
        assert_eq!(w.reserve(t), Duration::ZERO);
        assert_eq!(w.reserve(t), Duration::ZERO);
        assert_eq!(w.reserve(t), Duration::from_secs(1));
        assert_eq!(w.reserve(t), Duration::from_secs(1));
        assert_eq!(w.reserve(t), Duration::from_secs(2));
        // Later, the window has moved on.
        let later = t + Duration::from_secs(10);
        assert_eq!(w.reserve(later), Duration::ZERO);
    }

    #[test]
    fn a_budget_refuses_once_spent_and_renews_the_next_day() {
        let mut l = Ledger::new(100, 1, Some(3));
        assert!(l.take(100).is_ok());
        assert!(l.take(100).is_ok());
        assert_eq!(
            l.take(100),
            Err(Spent {
                budget: 3,
                day: 100
            })
        );
        assert!(l.spent(100));
        assert_eq!(l.take_unsaved(), (100, 2));
        assert_eq!(l.take_unsaved(), (100, 0));
        assert!(!l.spent(101));
        assert!(l.take(101).is_ok());
        assert_eq!(l.today(101), 1);
    }

    #[test]
    fn no_budget_never_refuses() {
        let mut l = Ledger::new(0, 1_000_000, None);
        assert!(l.take(0).is_ok());
        assert!(!l.spent(0));
    }
}
