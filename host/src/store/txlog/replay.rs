//! Reading the log back, a [`LogEntry`] per field. Rows come newest first; each record's
//! values start as its stored ones and are undone row by row as its rows go by, so a create
//! whose values the log left out (they are the record's, see the module above) reads them as
//! they were just after it.

use super::LogEntry;
use crate::store::Tx;
use rusqlite::OptionalExtension;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// Rows of the log, newest first, as at most `limit` entries (a row holds one or more;
/// newest first within a row too).
pub(super) fn newest_entries(
    tx: &Tx<'_>,
    mut rows: rusqlite::Rows<'_>,
    limit: i64,
) -> rusqlite::Result<Vec<LogEntry>> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut values: HashMap<(String, String), Map<String, Json>> = HashMap::new();
    let mut entries = Vec::new();
    while entries.len() < limit {
        let Some(r) = rows.next()? else { break };
        let changes: Vec<Json> = serde_json::from_str(r.get_ref(7)?.as_str()?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
        })?;
        let (entity, record_id): (String, String) = (r.get(3)?, r.get(4)?);
        let key = (entity, record_id);
        if !values.contains_key(&key) {
            values.insert(key.clone(), stored_values(tx, &key.0, &key.1)?);
        }
        let now = values.get_mut(&key).expect("inserted above");
        let row = Row {
            seq: r.get(0)?,
            cycle: r.get(1)?,
            at: r.get(2)?,
            op: r.get(5)?,
            source: r.get(6)?,
        };
        for change in changes.iter().rev() {
            entries.push(row.entry(&key, change, now));
            undo(change, now);
        }
    }
    entries.truncate(limit);
    Ok(entries)
}

/// What the entries of one row share.
struct Row {
    seq: i64,
    cycle: i64,
    at: i64,
    op: String,
    source: String,
}

impl Row {
    /// The entry for one element of the row's changes; `now` holds the record's values just
    /// after the row. A value that was missing reads as JSON `null` in an update, and as no
    /// value where the op never has one.
    fn entry(
        &self,
        (entity, id): &(String, String),
        change: &Json,
        now: &Map<String, Json>,
    ) -> LogEntry {
        let value = |v: Option<&Json>, always: bool| match v {
            None | Some(Json::Null) if !always => None,
            None => Some("null".to_owned()),
            Some(v) => Some(v.to_string()),
        };
        let (field, old, new, plugin) = match change {
            Json::String(field) => (
                Some(field.as_str()),
                None,
                value(now.get(field), true),
                None,
            ),
            Json::Array(c) if c.len() == 2 => {
                let field = c[0].as_str();
                let new = value(field.and_then(|f| now.get(f)), true);
                (field, None, new, c[1].as_str())
            }
            Json::Array(c) => (
                c.first().and_then(Json::as_str),
                value(c.get(1), self.op == "update"),
                value(c.get(2), self.op != "delete"),
                c.get(3).and_then(Json::as_str),
            ),
            _ => (None, None, None, None),
        };
        LogEntry {
            seq: self.seq,
            cycle: self.cycle,
            at: self.at,
            entity: entity.clone(),
            record_id: id.clone(),
            op: self.op.clone(),
            field: field.map(str::to_owned),
            old,
            new,
            source: self.source.clone(),
            plugin: plugin.map(str::to_owned),
        }
    }
}

/// Takes one field change back out of a record's values: its old value returns, or the field
/// goes when it had none (a create's).
fn undo(change: &Json, values: &mut Map<String, Json>) {
    let (field, old) = match change {
        Json::String(field) => (Some(field.as_str()), None),
        Json::Array(c) if c.len() == 2 => (c[0].as_str(), None),
        Json::Array(c) => (c.first().and_then(Json::as_str), c.get(1)),
        _ => (None, None),
    };
    match (field, old) {
        (Some(field), Some(old)) if !old.is_null() => {
            values.insert(field.to_owned(), old.clone());
        }
        (Some(field), _) => {
            values.remove(field);
        }
        (None, _) => {}
    }
}

/// A record's stored values, in their stored form (none when the record is gone).
fn stored_values(tx: &Tx<'_>, entity: &str, id: &str) -> rusqlite::Result<Map<String, Json>> {
    let text: Option<String> =
        tx.0.prepare_cached("SELECT fields FROM records WHERE entity = ?1 AND id = ?2")?
            .query_row([entity, id], |r| r.get(0))
            .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}
