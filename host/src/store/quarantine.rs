//! Records set aside with the stage and reason they failed, to be retried and replayed.

use super::Tx;
use rusqlite::params;

/// A record set aside with the reason it could not go on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quarantined {
    /// Its number.
    pub id: i64,
    /// The pipeline.
    pub pipeline: String,
    /// The stage it failed in.
    pub stage: String,
    /// The connector it came from or was going to.
    pub connector: String,
    /// That connector's entity.
    pub entity: String,
    /// The record's id there (or the unified id, for destination stages).
    pub record_id: String,
    /// The record as JSON, so it can be replayed.
    pub record: String,
    /// Why.
    pub reason: String,
    /// How many times it was tried.
    pub attempts: i64,
    /// First and last failure (micros).
    pub first_at: i64,
    /// Last failure (micros).
    pub last_at: i64,
}

impl Tx<'_> {
    /// Sets a record aside, or counts one more attempt if it already is.
    pub fn quarantine(&self, q: &Quarantined) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO quarantine (pipeline, stage, connector, entity, record_id, record, reason, attempts, first_at, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8)
                 ON CONFLICT (pipeline, stage, connector, entity, record_id) WHERE resolved_at IS NULL
                 DO UPDATE SET record = ?6, reason = ?7, attempts = attempts + 1, last_at = ?8",
            )?
            .execute(params![q.pipeline, q.stage, q.connector, q.entity, q.record_id, q.record, q.reason, q.last_at])?;
        Ok(())
    }

    /// Marks a quarantined record as done with.
    pub fn resolve_quarantined(&self, id: i64, now: i64) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "UPDATE quarantine SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            )?
            .execute(params![id, now])?;
        Ok(())
    }

    /// Records still in quarantine, oldest first; for one pipeline and stage when given.
    pub fn quarantined(
        &self,
        pipeline: Option<&str>,
        stage: Option<&str>,
    ) -> rusqlite::Result<Vec<Quarantined>> {
        self.0
            .prepare_cached(
                "SELECT id, pipeline, stage, connector, entity, record_id, record, reason, attempts, first_at, last_at
                 FROM quarantine WHERE resolved_at IS NULL AND (?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR stage = ?2)
                 ORDER BY id",
            )?
            .query_map(params![pipeline, stage], |r| {
                Ok(Quarantined {
                    id: r.get(0)?,
                    pipeline: r.get(1)?,
                    stage: r.get(2)?,
                    connector: r.get(3)?,
                    entity: r.get(4)?,
                    record_id: r.get(5)?,
                    record: r.get(6)?,
                    reason: r.get(7)?,
                    attempts: r.get(8)?,
                    first_at: r.get(9)?,
                    last_at: r.get(10)?,
                })
            })?
            .collect()
    }
}
