//! The cycles run: when, and their counts and stage times.

use super::Tx;
use rusqlite::{OptionalExtension, params};

/// A finished cycle as stored.
#[derive(Debug, Clone)]
pub struct CycleRow {
    /// Its number.
    pub id: i64,
    /// When it started and finished (micros).
    pub started: i64,
    /// When it finished (micros).
    pub finished: i64,
    /// Its report (JSON).
    pub counts: String,
    /// Milliseconds per stage (JSON).
    pub stages: String,
}

impl Tx<'_> {
    /// Starts a cycle and returns its number.
    pub fn begin_cycle(&self, pipeline: &str, now: i64) -> rusqlite::Result<i64> {
        self.0.execute(
            "INSERT INTO cycles (pipeline, started, status) VALUES (?1, ?2, 'running')",
            params![pipeline, now],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    /// Finishes a cycle with its counts and stage times (JSON).
    pub fn finish_cycle(
        &self,
        cycle: i64,
        now: i64,
        status: &str,
        counts: &str,
        stages: &str,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "UPDATE cycles SET finished = ?2, status = ?3, counts = ?4, stages = ?5 WHERE id = ?1",
            params![cycle, now, status, counts, stages],
        )?;
        Ok(())
    }

    /// The last finished cycle of a pipeline: (id, started, finished, counts, stages).
    pub fn last_cycle(&self, pipeline: &str) -> rusqlite::Result<Option<CycleRow>> {
        self.0
            .query_row(
                "SELECT id, started, finished, counts, stages FROM cycles WHERE pipeline = ?1 AND status = 'done'
                 ORDER BY id DESC LIMIT 1",
                params![pipeline],
                |r| {
                    Ok(CycleRow {
                        id: r.get(0)?,
                        started: r.get(1)?,
                        finished: r.get(2)?,
                        counts: r.get(3)?,
                        stages: r.get(4)?,
                    })
                },
            )
            .optional()
    }
}
