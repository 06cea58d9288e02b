//! The transaction log: every change to a unified record, field by field, with its source
//! and the plugins behind it. Destinations catch up from it.

use super::Tx;
use rusqlite::{OptionalExtension, params};

/// One transaction-log entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogEntry {
    /// Position in the log.
    pub seq: i64,
    /// The cycle that made the change.
    pub cycle: i64,
    /// When (micros).
    pub at: i64,
    /// The unified entity.
    pub entity: String,
    /// The unified record.
    pub record_id: String,
    /// `create`, `update`, `delete` or `merge`.
    pub op: String,
    /// The field changed, for creates and updates.
    pub field: Option<String>,
    /// The old value (JSON), for updates.
    pub old: Option<String>,
    /// The new value (JSON).
    pub new: Option<String>,
    /// The source that caused it (`connector/entity`).
    pub source: String,
    /// The plugin (and its digest) that produced the value, if any.
    pub plugin: Option<String>,
}

/// Distinct record ids of `?1` changed after position `?2` up to `?3`, in log order. Read
/// by position, the primary key.
pub(super) const CHANGED_SINCE: &str =
    "SELECT record_id FROM txlog WHERE seq > ?2 AND seq <= ?3 AND entity = ?1
     GROUP BY record_id ORDER BY MIN(seq)";

impl Tx<'_> {
    /// Appends entries to the transaction log.
    pub fn log(&self, entries: &[LogEntry]) -> rusqlite::Result<()> {
        let mut insert = self.0.prepare_cached(
            "INSERT INTO txlog (cycle, at, entity, record_id, op, field, old, new, source, plugin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for e in entries {
            insert.execute(params![
                e.cycle,
                e.at,
                e.entity,
                e.record_id,
                e.op,
                e.field,
                e.old,
                e.new,
                e.source,
                e.plugin
            ])?;
        }
        Ok(())
    }

    /// The last position in the transaction log (0 when empty).
    pub fn last_seq(&self) -> rusqlite::Result<i64> {
        self.0
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM txlog", [], |r| r.get(0))
    }

    /// Distinct record ids of `entity` changed after `after` up to `upto`, in log order.
    pub fn changed_since(
        &self,
        entity: &str,
        after: i64,
        upto: i64,
    ) -> rusqlite::Result<Vec<String>> {
        self.0
            .prepare_cached(CHANGED_SINCE)?
            .query_map(params![entity, after, upto], |r| r.get(0))?
            .collect()
    }

    /// Log entries, newest first, optionally for one record.
    pub fn log_entries(&self, record: Option<&str>, limit: i64) -> rusqlite::Result<Vec<LogEntry>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT seq, cycle, at, entity, record_id, op, field, old, new, source, plugin FROM txlog
             WHERE ?1 IS NULL OR record_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        stmt.query_map(params![record, limit], |r| {
            Ok(LogEntry {
                seq: r.get(0)?,
                cycle: r.get(1)?,
                at: r.get(2)?,
                entity: r.get(3)?,
                record_id: r.get(4)?,
                op: r.get(5)?,
                field: r.get(6)?,
                old: r.get(7)?,
                new: r.get(8)?,
                source: r.get(9)?,
                plugin: r.get(10)?,
            })
        })?
        .collect()
    }

    /// When log entry `seq` was made.
    pub fn log_time(&self, seq: i64) -> rusqlite::Result<Option<i64>> {
        self.0
            .query_row("SELECT at FROM txlog WHERE seq = ?1", params![seq], |r| {
                r.get(0)
            })
            .optional()
    }
}
