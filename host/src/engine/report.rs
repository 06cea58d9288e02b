//! What a cycle did: the counts `wasync status` shows, and the time of each stage.

use super::stage::{Stage, Stages};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Counts and stage times of one cycle.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The cycle's number.
    pub cycle: i64,
    /// The pipeline.
    pub pipeline: String,
    /// Records read from sources (retried quarantined ones included).
    pub read: u64,
    /// Records read per source (`connector/entity`).
    pub read_from: BTreeMap<String, u64>,
    /// Records an entity function attached to an existing unified record.
    pub attached: u64,
    /// Unified records created.
    pub created: u64,
    /// Unified records updated.
    pub updated: u64,
    /// Unified records deleted.
    pub deleted: u64,
    /// Records merged away into a winner.
    pub merged: u64,
    /// Records written to destinations (creates, updates, deletes).
    pub written: u64,
    /// Records written per destination (`connector/entity`).
    pub written_to: BTreeMap<String, u64>,
    /// Destination writes skipped because nothing changed there.
    pub skipped: u64,
    /// Records set aside in quarantine this cycle.
    pub quarantined: u64,
    /// Records stopped by entity functions (filters).
    pub stopped: u64,
    /// Duplicate groups found in dry-run mode, or stopped by the group-size guard.
    pub merge_reports: Vec<String>,
    /// Sources that could not be read this cycle, with why.
    pub errors: Vec<String>,
    /// API calls made this cycle, per connector with network.
    pub api_calls: BTreeMap<String, u64>,
    /// Whether any source said more records are waiting.
    pub more: bool,
    /// Sources not yet read through once, which destination writes wait for (see
    /// `write::held`).
    pub held_for: Vec<String>,
    /// Milliseconds per stage, in the order they ran.
    pub stages: Stages,
    /// When the cycle started.
    #[serde(skip)]
    pub started: Option<Instant>,
}

impl Report {
    /// Adds the time since `since` to `stage`.
    pub fn stage(&mut self, stage: Stage, since: Instant) {
        self.stages.add(stage, since.elapsed().as_secs_f64() * 1e3);
    }

    /// Total time.
    pub fn elapsed(&self) -> Duration {
        self.started.map(|s| s.elapsed()).unwrap_or_default()
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let calls: Vec<String> = self
            .api_calls
            .iter()
            .map(|(connector, n)| format!("{connector} {n}"))
            .collect();
        let calls = match calls.is_empty() {
            true => String::new(),
            false => format!(", API calls: {}", calls.join(", ")),
        };
        let held = match self.held_for.is_empty() {
            true => String::new(),
            false => format!(
                ", writes wait for the first read through {}",
                self.held_for.join(", ")
            ),
        };
        format!(
            "cycle {} of `{}`: read {}, created {}, updated {}, deleted {}, merged {}, written {}, skipped {}, quarantined {}{calls}{held} ({:.0} ms)",
            self.cycle,
            self.pipeline,
            self.read,
            self.created,
            self.updated,
            self.deleted,
            self.merged,
            self.written,
            self.skipped,
            self.quarantined,
            self.elapsed().as_secs_f64() * 1e3
        )
    }
}
