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

/// Record ids of `?1` changed after position `?2` up to `?3`, in log order, repeats
/// included. Read by position, the primary key.
pub(super) const CHANGED_SINCE: &str =
    "SELECT record_id FROM txlog WHERE seq > ?2 AND seq <= ?3 AND entity = ?1 ORDER BY seq";

/// A transaction-log entry to append, borrowing what it records (a save logs several per
/// record: copying each string for each was measurable).
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// The cycle that made the change.
    pub cycle: i64,
    /// When (micros).
    pub at: i64,
    /// The unified entity.
    pub entity: &'a str,
    /// The unified record.
    pub record_id: &'a str,
    /// `create`, `update`, `delete` or `merge`.
    pub op: &'a str,
    /// The field changed, for creates and updates.
    pub field: Option<&'a str>,
    /// The old value (JSON), for updates.
    pub old: Option<&'a str>,
    /// The new value (JSON).
    pub new: Option<&'a str>,
    /// The source that caused it (`connector/entity`).
    pub source: &'a str,
    /// The plugin (and its version) that produced the value, if any.
    pub plugin: Option<&'a str>,
}

/// The newest `?1` log entries.
const LOG: &str =
    "SELECT seq, cycle, at, entity, record_id, op, field, old, new, source, plugin FROM txlog
     ORDER BY seq DESC LIMIT ?1";

/// The newest `?2` log entries of record `?1`.
pub(super) const LOG_OF_RECORD: &str =
    "SELECT seq, cycle, at, entity, record_id, op, field, old, new, source, plugin FROM txlog
     WHERE record_id = ?1 ORDER BY seq DESC LIMIT ?2";

/// A log entry from a row of [`LOG`] or [`LOG_OF_RECORD`].
fn log_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
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
}

impl Tx<'_> {
    /// Appends one entry to the transaction log; its position is the next one.
    pub fn log(&self, e: &NewEntry<'_>) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO txlog (cycle, at, entity, record_id, op, field, old, new, source, plugin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
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
        // Each record once, at its first change: a set here, not SQLite's sorter (GROUP BY
        // sorted every entry's id, a few thousand instructions an entry).
        let mut stmt = self.0.prepare_cached(CHANGED_SINCE)?;
        let mut rows = stmt.query(params![entity, after, upto])?;
        let mut seen = std::collections::HashSet::new();
        let mut ids = Vec::new();
        while let Some(row) = rows.next()? {
            let id = row.get_ref(0)?.as_str()?;
            if !seen.contains(id) {
                seen.insert(id.to_owned());
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Log entries, newest first, optionally for one record.
    pub fn log_entries(&self, record: Option<&str>, limit: i64) -> rusqlite::Result<Vec<LogEntry>> {
        // Two statements, not `?1 IS NULL OR record_id = ?1`: with the OR, one record's
        // entries were found by scanning the whole log.
        match record {
            Some(record) => self
                .0
                .prepare_cached(LOG_OF_RECORD)?
                .query_map(params![record, limit], log_entry)?
                .collect(),
            None => self
                .0
                .prepare_cached(LOG)?
                .query_map(params![limit], log_entry)?
                .collect(),
        }
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
