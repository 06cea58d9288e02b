//! The transaction log: every change to a unified record, a row per change with its fields'
//! old and new values, its source and the plugins behind it. Destinations catch up from it.
//!
//! A row's `changes` is a JSON array with an element per field: `[field, old, new]`, with the
//! plugin that made the value after them when one did. A create's values are not written
//! twice, in the record and in the log: its element is the field's name alone (`"Name"`, or
//! `["Domain", plugin]`), and its value is the record's as of that row, which reading finds
//! by undoing the record's later rows (`replay.rs`). On a load, this made the log a quarter
//! of its size; it holds because every change of a record is logged with its old value.

mod replay;

use super::Tx;
use super::codec::Stored;
use crate::wit::Value;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

/// One transaction-log entry: one field's change (a row of the log holds one or more; they
/// share its position).
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

/// A row of the transaction log to append: one change of one record, borrowing what it
/// records (a save logs a row per changed record: copying each string for each was measurable).
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
    /// The source that caused it (`connector/entity`).
    pub source: &'a str,
}

/// One field's change within a [`NewEntry`].
#[derive(Debug, Clone, Copy)]
pub struct FieldChange<'a> {
    /// The field changed, for creates and updates.
    pub field: Option<&'a str>,
    /// The old value, for updates.
    pub old: Option<&'a Value>,
    /// The new value.
    pub new: Option<&'a Value>,
    /// The plugin (and its version) that produced the value, if any.
    pub plugin: Option<&'a str>,
}

/// Whether a field change logged as `op` leaves its new value out of the log, the value
/// being the record's own: a create of a field the record did not have.
pub fn value_is_the_records(op: &str, had_old: bool) -> bool {
    op == "create" && !had_old
}

impl FieldChange<'_> {
    /// Whether the value is left out of the log (see [`value_is_the_records`]).
    fn value_is_the_records(&self, op: &str) -> bool {
        value_is_the_records(op, self.old.is_some()) && self.field.is_some()
    }
}

/// A [`FieldChange`] as logged in a row with op `.1`.
struct Logged<'a>(&'a FieldChange<'a>, &'a str);

impl Serialize for Logged<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        if c.value_is_the_records(self.1) {
            return match c.plugin {
                None => c.field.serialize(serializer),
                Some(plugin) => (c.field, plugin).serialize(serializer),
            };
        }
        let mut seq = serializer.serialize_seq(Some(3 + usize::from(c.plugin.is_some())))?;
        seq.serialize_element(&c.field)?;
        seq.serialize_element(&c.old.map(Stored))?;
        seq.serialize_element(&c.new.map(Stored))?;
        if let Some(plugin) = c.plugin {
            seq.serialize_element(plugin)?;
        }
        seq.end()
    }
}

/// The `changes` column of a row with op `op`.
fn encode_changes(op: &str, changes: &[FieldChange<'_>]) -> String {
    let logged: Vec<Logged<'_>> = changes.iter().map(|c| Logged(c, op)).collect();
    serde_json::to_string(&logged).unwrap_or_else(|_| "[]".into())
}

/// Appends a log row.
pub(in crate::store) const LOG_ROW: &str =
    "INSERT INTO txlog (cycle, at, entity, record_id, op, source, changes)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Appends a log row by `stmt`, prepared from [`LOG_ROW`].
pub(in crate::store) fn log_row(
    stmt: &mut rusqlite::Statement<'_>,
    e: &NewEntry<'_>,
    changes: &[FieldChange<'_>],
) -> rusqlite::Result<()> {
    stmt.execute(params![
        e.cycle,
        e.at,
        e.entity,
        e.record_id,
        e.op,
        e.source,
        encode_changes(e.op, changes)
    ])?;
    Ok(())
}

/// The newest `?1` log rows.
const LOG: &str = "SELECT seq, cycle, at, entity, record_id, op, source, changes FROM txlog
     ORDER BY seq DESC LIMIT ?1";

/// The newest `?2` log rows of record `?1`.
pub(super) const LOG_OF_RECORD: &str =
    "SELECT seq, cycle, at, entity, record_id, op, source, changes FROM txlog
     WHERE record_id = ?1 ORDER BY seq DESC LIMIT ?2";

impl Tx<'_> {
    /// Appends one row to the transaction log: `changes` of one record; its position is
    /// the next one. A create's new values are read back as the record's, so the caller
    /// saves the record in the same transaction and logs every later change of it.
    pub fn log(&self, e: &NewEntry<'_>, changes: &[FieldChange<'_>]) -> rusqlite::Result<()> {
        log_row(&mut *self.0.prepare_cached(LOG_ROW)?, e, changes)
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
            Some(record) => {
                let mut stmt = self.0.prepare_cached(LOG_OF_RECORD)?;
                replay::newest_entries(self, stmt.query(params![record, limit])?, limit)
            }
            None => {
                let mut stmt = self.0.prepare_cached(LOG)?;
                replay::newest_entries(self, stmt.query(params![limit])?, limit)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, Unified};
    use std::collections::BTreeMap;

    /// A record's change is one row however many fields it has, and a create's values are
    /// the record's: `wasync log` still shows a line per field, newest first, with the
    /// values each change made (a create's as they were before later updates), and counts
    /// lines, not rows, against its limit.
    #[test]
    fn a_change_is_one_row_and_reads_as_an_entry_per_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("open");
        let text = |t: &str| Value::Text(t.into());
        let (first, second, domain) = (text("Acme \"Ltd\""), text("Acme"), text("acme.com"));
        let entry = |op| NewEntry {
            cycle: 1,
            at: 10,
            entity: "Account",
            record_id: "a1",
            op,
            source: "sf/Account",
        };
        let change = |field, old, new, plugin| FieldChange {
            field: Some(field),
            old,
            new: Some(new),
            plugin,
        };
        let mut record = Unified {
            id: "a1".into(),
            fields: BTreeMap::from([
                ("Name".into(), first.clone()),
                ("Domain".into(), domain.clone()),
            ]),
            meta: BTreeMap::new(),
            source: "sf/Account".into(),
            created: 1,
            updated: 1,
            deleted: false,
        };
        store
            .transaction(|tx| {
                tx.put_record("Account", &record)?;
                tx.log(
                    &entry("create"),
                    &[
                        change("Name", None, &first, None),
                        change("Domain", None, &domain, Some("extract-domain@0.1.0")),
                    ],
                )
            })
            .expect("create");
        record.fields.insert("Name".into(), second.clone());
        record.fields.insert("Since".into(), Value::Null);
        store
            .transaction(|tx| {
                tx.put_record("Account", &record)?;
                tx.log(
                    &entry("update"),
                    &[
                        change("Name", Some(&first), &second, None),
                        change("Since", None, &Value::Null, None),
                    ],
                )
            })
            .expect("update");
        let stored: Vec<String> = store
            .conn
            .prepare("SELECT changes FROM txlog ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(
            stored,
            [
                r#"["Name",["Domain","extract-domain@0.1.0"]]"#,
                r#"[["Name","Acme \"Ltd\"","Acme"],["Since",null,null]]"#
            ]
        );
        let entries = store.read().log_entries(None, 10).expect("entries");
        let seen: Vec<_> = entries
            .iter()
            .map(|e| {
                let (seq, op, field) = (e.seq, e.op.as_str(), e.field.as_deref());
                (
                    seq,
                    op,
                    field,
                    e.old.as_deref(),
                    e.new.as_deref(),
                    e.plugin.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (2, "update", Some("Since"), Some("null"), Some("null"), None),
                (
                    2,
                    "update",
                    Some("Name"),
                    Some(r#""Acme \"Ltd\"""#),
                    Some(r#""Acme""#),
                    None
                ),
                (
                    1,
                    "create",
                    Some("Domain"),
                    None,
                    Some(r#""acme.com""#),
                    Some("extract-domain@0.1.0")
                ),
                (
                    1,
                    "create",
                    Some("Name"),
                    None,
                    Some(r#""Acme \"Ltd\"""#),
                    None
                ),
            ]
        );
        assert_eq!(store.read().log_entries(None, 3).expect("three").len(), 3);
        let of_record = store.read().log_entries(Some("a1"), 4).expect("of a1");
        assert_eq!(of_record, entries);
    }
}
