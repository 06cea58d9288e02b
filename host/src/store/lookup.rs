//! Lookups for entity functions (Attach Record): unified records whose fields equal given
//! values, text compared without regard to case and surrounding white space, through an
//! expression index per looked-up field.

use super::{Result, Store, Unified, codec, schema, unified_from_row};
use crate::wit::Value;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

/// A lookup's statement: the entity and fields it matches on, and its SQL.
pub(super) struct Lookup {
    entity: String,
    fields: Vec<String>,
    sql: std::sync::Arc<str>,
}

impl Store {
    /// Makes lookups on unified field `field` of `entity` use an index.
    pub fn index_lookup_field(&self, entity: &str, field: &str) -> Result<()> {
        let name = lookup_index(entity, field);
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {name} ON records(entity, {}) WHERE deleted = 0",
            schema::normalised_field(field)
        );
        self.conn.execute_batch(&sql).map_err(|e| self.err(e))
    }

    /// Unified records of `entity` whose fields equal all of `matching` (text compared
    /// without regard to ASCII case and surrounding white space), oldest first.
    /// Without their per-field meta (left empty): a lookup does not return it.
    pub fn find(
        &self,
        entity: &str,
        matching: &[(&str, &Value)],
        limit: u32,
    ) -> Result<Vec<Unified>> {
        let sql = self.lookup_sql(entity, matching)?;
        let mut args: Vec<rusqlite::types::Value> = vec![entity.to_owned().into()];
        for (_, value) in matching {
            let needle = match value {
                Value::Null => return Ok(Vec::new()),
                // As SQLite's `trim` in the index: spaces only.
                Value::Text(t) => t.trim_matches(' ').to_ascii_lowercase(),
                other => codec::encode_value(other).to_string(),
            };
            args.push(needle.into());
        }
        args.push(i64::from(limit).into());
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), unified_from_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The SQL of a lookup of `entity` on these fields, built the first time it is asked for.
    fn lookup_sql(&self, entity: &str, matching: &[(&str, &Value)]) -> Result<std::sync::Arc<str>> {
        let same = |l: &Lookup| {
            l.entity == entity
                && l.fields.len() == matching.len()
                && l.fields.iter().zip(matching).all(|(a, (b, _))| a == b)
        };
        if let Some(known) = self.lookups.borrow().iter().find(|l| same(l)) {
            return Ok(known.sql.clone());
        }
        // SQLite's planner, without statistics, prefers the primary key's `entity` prefix to
        // an expression index: name the index when the first field has one.
        let indexed = match matching.first() {
            Some((field, _)) => self.has_index(&lookup_index(entity, field))?,
            None => false,
        };
        let fields: Vec<&str> = matching.iter().map(|(f, _)| *f).collect();
        let sql: std::sync::Arc<str> = find_sql(entity, &fields, indexed).into();
        self.lookups.borrow_mut().push(Lookup {
            entity: entity.to_owned(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            sql: sql.clone(),
        });
        Ok(sql)
    }

    fn has_index(&self, name: &str) -> Result<bool> {
        let exists = self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1",
                params![name],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .is_some();
        Ok(exists)
    }
}

/// Whether `fields` equal all of `matching` as [`Store::find`]'s query compares them: text
/// trimmed of spaces and lowercased (ASCII), other values by their stored JSON. For records
/// not yet stored.
pub fn lookup_matches(fields: &BTreeMap<String, Value>, matching: &[(&str, &Value)]) -> bool {
    let normal = |v: &Value| match v {
        Value::Null => None,
        Value::Text(t) => Some(t.trim_matches(' ').to_ascii_lowercase()),
        other => Some(codec::encode_value(other).to_string()),
    };
    !matching.is_empty()
        && matching.iter().all(|(field, value)| {
            let (Some(needle), Some(have)) = (normal(value), fields.get(*field).and_then(normal))
            else {
                return false;
            };
            needle == have
        })
}

/// The query behind [`Store::find`]: `?1` the entity, then one parameter per field, then the
/// limit.
pub(super) fn find_sql(entity: &str, fields: &[&str], indexed: bool) -> String {
    let hint = match fields.first() {
        Some(field) if indexed => format!(" INDEXED BY {}", lookup_index(entity, field)),
        _ => String::new(),
    };
    let mut sql = format!(
        "SELECT id, fields, NULL, source, created, updated, deleted FROM records{hint} WHERE entity = ?1 AND deleted = 0",
    );
    for (i, field) in fields.iter().enumerate() {
        sql.push_str(&format!(
            " AND {} = ?{}",
            schema::normalised_field(field),
            i + 2
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created, id LIMIT ?{}",
        fields.len() + 2
    ));
    sql
}

/// The name of the index for lookups on `field` of `entity`.
fn lookup_index(entity: &str, field: &str) -> String {
    let name: String = format!("{entity}_{field}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("lookup_{name}")
}
