//! What `wasync serve` prints about the cycles it runs. A burst of webhooks runs as many
//! micro-batches, and a line each would bury everything else (200 webhooks, 200 lines), so
//! lines are summarised: per pipeline, the first busy cycle after a quiet spell gets its own
//! line at once, and what follows within [`EVERY`] is added up into one line with the totals,
//! printed when the spell is over. Errors are printed at once, always.
//!
//! [`Lines`] is shared by every thread that runs cycles: one lock around the per-pipeline
//! totals, and a thread of its own that prints totals nobody else comes by to print.

use crate::engine::Report;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// At most one line per pipeline per this long (errors aside).
pub const EVERY: Duration = Duration::from_secs(5);

/// Where lines go: (summary lines, error lines).
type Sink = Box<dyn Fn(Line<'_>) + Send + Sync>;

/// One thing to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// What cycles did (stdout).
    Summary(&'a str),
    /// An error a cycle met (stderr).
    Error(&'a str),
}

/// The printer of cycle reports, for any number of threads.
pub struct Lines {
    every: Duration,
    state: Mutex<BTreeMap<String, Pipeline>>,
    /// Wakes the flusher when totals start waiting.
    waiting: Condvar,
    sink: Sink,
}

/// One pipeline's lines.
#[derive(Default)]
struct Pipeline {
    /// When its last line was printed.
    printed: Option<Instant>,
    /// Cycles added up since, not printed yet.
    pending: Option<Totals>,
}

/// Busy cycles added up.
#[derive(Default)]
struct Totals {
    cycles: u64,
    first: i64,
    last: i64,
    read: u64,
    created: u64,
    updated: u64,
    deleted: u64,
    merged: u64,
    written: u64,
    skipped: u64,
    quarantined: u64,
    api_calls: BTreeMap<String, u64>,
    ms: f64,
}

impl Totals {
    fn add(&mut self, report: &Report) {
        if self.cycles == 0 {
            self.first = report.cycle;
        }
        self.cycles += 1;
        self.last = report.cycle;
        self.read += report.read;
        self.created += report.created;
        self.updated += report.updated;
        self.deleted += report.deleted;
        self.merged += report.merged;
        self.written += report.written;
        self.skipped += report.skipped;
        self.quarantined += report.quarantined;
        for (connector, n) in &report.api_calls {
            *self.api_calls.entry(connector.clone()).or_default() += n;
        }
        self.ms += report.elapsed().as_secs_f64() * 1e3;
    }

    fn line(&self, pipeline: &str, over: Duration) -> String {
        let calls = match self.api_calls.is_empty() {
            true => String::new(),
            false => format!(
                ", API calls: {}",
                self.api_calls
                    .iter()
                    .map(|(connector, n)| format!("{connector} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "cycles {}-{} of `{pipeline}` ({} in {:.1} s): read {}, created {}, updated {}, deleted {}, merged {}, written {}, skipped {}, quarantined {}{calls} ({:.0} ms)",
            self.first,
            self.last,
            self.cycles,
            over.as_secs_f64(),
            self.read,
            self.created,
            self.updated,
            self.deleted,
            self.merged,
            self.written,
            self.skipped,
            self.quarantined,
            self.ms
        )
    }
}

/// Whether a cycle did anything worth a line.
fn busy(report: &Report) -> bool {
    report.read + report.written + report.quarantined > 0 || !report.errors.is_empty()
}

impl Lines {
    /// Lines to `sink`, at most one per pipeline per `every`; starts the thread that prints
    /// totals left waiting (it ends with the last `Arc`).
    pub fn start(every: Duration, sink: impl Fn(Line<'_>) + Send + Sync + 'static) -> Arc<Lines> {
        let lines = Arc::new(Lines {
            every,
            state: Mutex::new(BTreeMap::new()),
            waiting: Condvar::new(),
            sink: Box::new(sink),
        });
        let weak = Arc::downgrade(&lines);
        let started = std::thread::Builder::new()
            .name("wasync-lines".into())
            .spawn(move || flusher(&weak));
        if let Err(e) = started {
            // Totals are then printed by the next report, or at the end.
            tracing::warn!("cannot start the thread that prints cycle totals: {e}");
        }
        lines
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Pipeline>> {
        // A thread that panicked while printing left nothing half-done worth refusing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows a cycle's report: its errors at once, its counts in a line now or in the next
    /// totals.
    pub fn show(&self, report: &Report) {
        for error in &report.errors {
            (self.sink)(Line::Error(&format!("  error: {error}")));
        }
        if !busy(report) {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        let p = state.entry(report.pipeline.clone()).or_default();
        let quiet = p
            .printed
            .is_none_or(|at| now.duration_since(at) >= self.every);
        match p.pending.take() {
            None if quiet => {
                p.printed = Some(now);
                drop(state);
                (self.sink)(Line::Summary(&report.summary()));
            }
            pending => {
                let mut totals = pending.unwrap_or_default();
                totals.add(report);
                if quiet {
                    let line = totals.line(&report.pipeline, self.since(p.printed, now));
                    p.printed = Some(now);
                    drop(state);
                    (self.sink)(Line::Summary(&line));
                } else {
                    p.pending = Some(totals);
                    drop(state);
                    self.waiting.notify_all();
                }
            }
        }
    }

    /// Prints every total waiting, due or not (at the end of the service).
    pub fn flush(&self) {
        self.flush_due(Instant::now(), true);
    }

    /// Prints the totals whose time has come; returns when the next ones will be due.
    fn flush_due(&self, now: Instant, all: bool) -> Option<Instant> {
        let mut out = Vec::new();
        let mut next: Option<Instant> = None;
        {
            let mut state = self.lock();
            for (name, p) in state.iter_mut() {
                if p.pending.is_none() {
                    continue;
                }
                let due = p.printed.map_or(now, |at| at + self.every);
                if all || due <= now {
                    if let Some(totals) = p.pending.take() {
                        out.push(totals.line(name, self.since(p.printed, now)));
                        p.printed = Some(now);
                    }
                } else {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
        }
        for line in &out {
            (self.sink)(Line::Summary(line));
        }
        next
    }

    fn since(&self, printed: Option<Instant>, now: Instant) -> Duration {
        printed.map_or(self.every, |at| now.duration_since(at))
    }
}

/// The thread that prints totals when their time comes, so a burst's last line does not
/// wait for the next burst.
fn flusher(lines: &Weak<Lines>) {
    loop {
        let Some(lines) = lines.upgrade() else {
            return;
        };
        let next = lines.flush_due(Instant::now(), false);
        // Sleep until the next totals are due, or something waits, or a while has passed
        // (to notice the service ending).
        let wait = next.map_or(lines.every, |at| {
            at.saturating_duration_since(Instant::now())
        });
        let state = lines.lock();
        let _ = lines
            .waiting
            .wait_timeout(state, wait.max(Duration::from_millis(10)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(pipeline: &str, cycle: i64, read: u64) -> Report {
        Report {
            cycle,
            pipeline: pipeline.into(),
            read,
            written: read,
            ..Report::default()
        }
    }

    fn collecting(every: Duration) -> (Arc<Lines>, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = Arc::clone(&seen);
            move |line: Line<'_>| {
                let text = match line {
                    Line::Summary(s) => s.to_owned(),
                    Line::Error(e) => format!("ERR {e}"),
                };
                seen.lock().expect("lines").push(text);
            }
        };
        (Lines::start(every, sink), seen)
    }

    #[test]
    fn a_burst_is_one_line_then_one_total() {
        let (lines, seen) = collecting(Duration::from_secs(3600));
        for cycle in 1..=200 {
            lines.show(&report("events", cycle, 1));
        }
        lines.show(&report("orders", 7, 2));
        lines.show(&report("events", 201, 0)); // idle: nothing
        lines.flush();
        let seen = seen.lock().expect("lines").clone();
        assert_eq!(seen.len(), 3, "{seen:#?}");
        assert!(
            seen[0].starts_with("cycle 1 of `events`: read 1,"),
            "{seen:#?}"
        );
        assert!(
            seen[1].starts_with("cycle 7 of `orders`: read 2,"),
            "{seen:#?}"
        );
        assert!(
            seen[2].starts_with("cycles 2-200 of `events` (199 in ")
                && seen[2].contains(": read 199, created 0"),
            "{seen:#?}"
        );
    }

    #[test]
    fn totals_are_printed_when_due_without_another_report_and_errors_at_once() {
        let (lines, seen) = collecting(Duration::from_millis(100));
        lines.show(&report("events", 1, 1));
        lines.show(&report("events", 2, 1));
        let mut failed = report("events", 3, 0);
        failed.errors.push("the collector is down".into());
        lines.show(&failed);
        assert!(
            seen.lock()
                .expect("lines")
                .contains(&"ERR   error: the collector is down".to_owned())
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.lock().expect("lines").len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let seen = seen.lock().expect("lines").clone();
        assert_eq!(seen.len(), 3, "{seen:#?}");
        assert!(
            seen[2].starts_with("cycles 2-3 of `events` (2 in "),
            "{seen:#?}"
        );
    }

    #[test]
    fn lines_are_shared_by_threads() {
        fn shared<T: Send + Sync>(_: &T) {}
        let (lines, seen) = collecting(Duration::from_secs(3600));
        shared(&lines);
        std::thread::scope(|s| {
            for t in 0..4 {
                let lines = &lines;
                s.spawn(move || {
                    for cycle in 0..50 {
                        lines.show(&report(&format!("p{t}"), cycle, 1));
                    }
                });
            }
        });
        lines.flush();
        let seen = seen.lock().expect("lines").clone();
        assert_eq!(seen.len(), 8, "{seen:#?}");
    }
}
