//! What `wasync sync` shows while it runs: on a terminal one line redrawn after every cycle
//! (a catch-up run can take thousands of cycles, and a line each would bury the errors), then
//! a final summary of all the pipeline's cycles.

use crate::engine::Report;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// The running totals of one pipeline's cycles.
pub struct Progress {
    pipeline: String,
    started: Instant,
    /// Whether to redraw a line on stderr (stderr is a terminal).
    live: bool,
    cycles: u64,
    total: Report,
}

impl Progress {
    /// Starts counting for `pipeline`; `live` redraws a progress line on stderr.
    pub fn new(pipeline: &str, live: bool) -> Progress {
        Progress {
            pipeline: pipeline.to_owned(),
            started: Instant::now(),
            live,
            cycles: 0,
            total: Report::default(),
        }
    }

    /// Adds a cycle's counts and redraws the line.
    pub fn add(&mut self, report: &Report) {
        self.cycles += 1;
        let t = &mut self.total;
        t.read += report.read;
        t.attached += report.attached;
        t.created += report.created;
        t.updated += report.updated;
        t.deleted += report.deleted;
        t.merged += report.merged;
        t.written += report.written;
        t.skipped += report.skipped;
        t.quarantined += report.quarantined;
        t.stopped += report.stopped;
        add_all(&mut t.read_from, &report.read_from);
        add_all(&mut t.written_to, &report.written_to);
        add_all(&mut t.api_calls, &report.api_calls);
        for (stage, ms) in report.stages.iter() {
            t.stages.add(stage, ms);
        }
        if self.live {
            let mut err = std::io::stderr().lock();
            // Carriage return and erase-line: the same line, redrawn.
            let _ = write!(err, "\r\x1b[2K{}", self.line());
            let _ = err.flush();
        }
    }

    /// Ends the live line, so what follows starts on a line of its own.
    pub fn pause(&self) {
        if self.live && self.cycles > 0 {
            eprintln!();
        }
    }

    /// The progress line: cycles, counts so far and the read rate.
    fn line(&self) -> String {
        let t = &self.total;
        format!(
            "`{}`: cycle {}, read {} ({}/s), created {}, updated {}, merged {}, written {}, quarantined {}, {}",
            self.pipeline,
            self.cycles,
            t.read,
            rate(t.read, self.started.elapsed()),
            t.created,
            t.updated,
            t.merged,
            t.written,
            t.quarantined,
            seconds(self.started.elapsed())
        )
    }

    /// The final summary: totals over all cycles, the rate, and where the time went.
    pub fn summary(&self) -> String {
        let t = &self.total;
        let elapsed = self.started.elapsed();
        let mut out = format!(
            "`{}`: {} cycle(s) in {}: read {}, created {}, updated {}, deleted {}, merged {}, written {}, skipped {}, quarantined {} ({} records read/s)",
            self.pipeline,
            self.cycles,
            seconds(elapsed),
            t.read,
            t.created,
            t.updated,
            t.deleted,
            t.merged,
            t.written,
            t.skipped,
            t.quarantined,
            rate(t.read, elapsed)
        );
        let total_ms = t.stages.total();
        if total_ms > 0.0 {
            let stages: Vec<String> = t
                .stages
                .iter()
                .map(|(s, ms)| format!("{s} {:.0}%", ms * 100.0 / total_ms))
                .collect();
            out.push_str(&format!("\n  time per stage: {}", stages.join(", ")));
        }
        out
    }
}

fn add_all(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

/// Records per second, whole.
fn rate(n: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        (n as f64 / secs).round() as u64
    } else {
        0
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stage;

    #[test]
    fn totals_add_up_over_cycles() {
        let mut progress = Progress::new("accounts", false);
        for read in [1000, 1000, 250] {
            let mut report = Report {
                read,
                created: read / 2,
                written: read,
                ..Report::default()
            };
            report.stages.add(Stage::Save, 30.0);
            report.stages.add(Stage::Read, 10.0);
            progress.add(&report);
        }
        let summary = progress.summary();
        assert!(
            summary.starts_with("`accounts`: 3 cycle(s) in "),
            "{summary}"
        );
        assert!(
            summary.contains("read 2250, created 1125, updated 0"),
            "{summary}"
        );
        assert!(summary.contains("written 2250"), "{summary}");
        assert!(
            summary.contains("time per stage: read 25%, save 75%"),
            "{summary}"
        );
    }
}
