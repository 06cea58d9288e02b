//! Lookups for entity functions (Attach Record): a read-only connection of its own on the
//! store, so plugins see what earlier cycles committed, and for the source entity pipeline
//! the records this very batch is about to create.
//!
//! That second part keeps the end state independent of how changes are cut into batches:
//! two records that would meet by lookup when read in different cycles (the second attached
//! to the record the first created) meet the same way when read in one.

use crate::plugin::LookupSource;
use crate::store::{Store, Unified, lookup_matches};
use crate::wit::Value;
use crate::wit::{Error as PluginErrorValue, Field, Record};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The lookups of one pipeline.
pub struct StoreLookup {
    store: Mutex<Store>,
    /// Records this batch creates, each `created` in the order the batch takes them in.
    pending: Mutex<Pending>,
}

/// The records a batch creates, indexed by the fields lookups ask for, as they ask.
#[derive(Default)]
struct Pending {
    records: Vec<Unified>,
    /// Field → its normalised values → records holding it, in order.
    by_field: HashMap<String, HashMap<String, Vec<usize>>>,
}

impl Pending {
    /// Records matching every field, in order, at most `limit`.
    fn find(&mut self, matching: &[(&str, &Value)], limit: usize) -> Vec<Unified> {
        let Some((field, value)) = matching.first() else {
            return Vec::new();
        };
        let Some(key) = normalised(value) else {
            return Vec::new();
        };
        let records = &self.records;
        let index = self.by_field.entry((*field).to_owned()).or_insert_with(|| {
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (at, u) in records.iter().enumerate() {
                if let Some(key) = u.fields.get(*field).and_then(normalised) {
                    index.entry(key).or_default().push(at);
                }
            }
            index
        });
        index
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&at| &records[at])
            .filter(|u| lookup_matches(&u.fields, matching))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// A value as the index of [`Pending`] keys it: text trimmed and lowercased, as lookups
/// compare it (a superset of [`lookup_matches`]'s matches, which then decides).
fn normalised(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(t) => Some(t.trim().to_ascii_lowercase()),
        other => Some(crate::store::encode_value(other).to_string()),
    }
}

impl StoreLookup {
    /// Lookups through `store`, a read-only connection.
    pub fn new(store: Store) -> StoreLookup {
        StoreLookup {
            store: Mutex::new(store),
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Holds one read snapshot for the lookups until the guard drops: an entity function
    /// looks up once per record, and each lookup outside a transaction took SQLite's locks
    /// anew.
    pub fn snapshot(&self) -> anyhow::Result<LookupSnapshot<'_>> {
        self.snapshot_with(Vec::new())
    }

    /// Like [`StoreLookup::snapshot`], with lookups also finding `pending`, the records the
    /// batch will create, as if they were stored (after every stored one: they are newer).
    pub fn snapshot_with(&self, pending: Vec<Unified>) -> anyhow::Result<LookupSnapshot<'_>> {
        let began = self.store().begin_read()?;
        *self.pending() = Pending {
            records: pending,
            by_field: HashMap::new(),
        };
        Ok(LookupSnapshot {
            lookups: self,
            began,
        })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// See [`StoreLookup::snapshot`].
#[must_use = "the snapshot ends when this drops"]
pub struct LookupSnapshot<'a> {
    lookups: &'a StoreLookup,
    began: bool,
}

impl Drop for LookupSnapshot<'_> {
    fn drop(&mut self) {
        *self.lookups.pending() = Pending::default();
        if self.began {
            self.lookups.store().end_read();
        }
    }
}

impl LookupSource for StoreLookup {
    fn find(
        &self,
        entity: &str,
        matching: &[Field],
        limit: u32,
    ) -> Result<Vec<Record>, PluginErrorValue> {
        let limit = limit.min(1000) as usize;
        let matching: Vec<(&str, &Value)> = matching
            .iter()
            .map(|f| (f.name.as_str(), &f.value))
            .collect();
        let mut found = self
            .store()
            .find(entity, &matching, limit as u32)
            .map_err(|e| PluginErrorValue::Unavailable(e.to_string()))?;
        if found.len() < limit {
            let more = self.pending().find(&matching, limit - found.len());
            found.extend(more);
        }
        Ok(found.into_iter().map(super::record_of).collect())
    }
}
