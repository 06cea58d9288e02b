//! The cycle's working set: what stages 1–4 decided, waiting to be saved in stage 5.

use crate::plugin::bindings::{Record, Value};
use crate::store::{Quarantined, Stamp, Unified};
use std::collections::BTreeMap;

/// One record read from a source, on its way through the source pipelines.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Index of its source in the pipeline.
    pub source: usize,
    /// The record as the connector gave it (changed by entity functions).
    pub record: Record,
    /// The unified record an entity function attached it to.
    pub attached: Option<String>,
    /// The quarantine entry this is a retry of.
    pub retry_of: Option<i64>,
    /// Its place in the order the cycle takes records in (see `read`).
    pub position: usize,
    /// Its unified fields, when mapped before the entity pipeline needed them (see
    /// `fields::pending`) and not changed since.
    pub mapped: Option<Result<Mapped, String>>,
}

/// A mapped field: target name, value, and the plugin that made the value (if any).
pub type Mapped = Vec<(String, Value, Option<String>)>;

/// One change to the transaction log, before it has a position.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// `create`, `update`, `delete` or `merge`.
    pub op: &'static str,
    /// The field, for creates and updates.
    pub field: Option<String>,
    /// The old value.
    pub old: Option<Value>,
    /// The new value (for a merged-away record, the winner's id as text).
    pub new: Option<Value>,
    /// The source that caused it.
    pub source: String,
    /// The plugin that produced the value.
    pub plugin: Option<String>,
}

/// An external record mapped to a unified record.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The connector.
    pub connector: String,
    /// Its entity.
    pub entity: String,
    /// The external id.
    pub external_id: String,
    /// The watermark (JSON) of the version applied.
    pub seen: Option<String>,
}

/// A unified record being changed in this cycle.
#[derive(Debug, Clone)]
pub struct Work {
    /// As stored before the cycle (`None` for a new record).
    pub before: Option<Unified>,
    /// As it will be saved.
    pub after: Unified,
    /// What changed, in order.
    pub ops: Vec<Op>,
    /// External records mapped to it, with the watermark (JSON) of the version applied.
    pub mappings: Vec<Mapping>,
    /// Match keys to store for it (set by the merge stage).
    pub keys: Option<Vec<String>>,
    /// An event: appended, never matched or merged.
    pub event: bool,
    /// The records read this cycle that changed it, as indexes into [`Batch::taken`]: what
    /// is set aside when a later stage fails on it.
    pub inputs: Vec<usize>,
}

/// Everything stages 1–4 produce.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records read, per source, still going on.
    pub incoming: Vec<Incoming>,
    /// Records the source field pipelines took in (stage 3), kept until the merge stage.
    pub taken: Vec<Incoming>,
    /// New cursor per source index: (watermark, id) of the last record read.
    pub cursors: BTreeMap<usize, (Value, String)>,
    /// Sources (indexes) whose read this cycle reached their end.
    pub caught_up: Vec<usize>,
    /// Changed unified records by id.
    pub work: BTreeMap<String, Work>,
    /// Merges: (loser, winner).
    pub merges: Vec<(String, String)>,
    /// Records set aside.
    pub quarantined: Vec<Quarantined>,
    /// Quarantine entries that went through this time.
    pub resolved: Vec<i64>,
    /// Changes received by webhook that this batch takes in (intake rows).
    pub intake: Vec<i64>,
}

impl Work {
    /// A new, empty record.
    pub fn new(id: &str, source: &str, now: i64) -> Work {
        Work {
            before: None,
            after: Unified {
                id: id.to_owned(),
                fields: BTreeMap::new(),
                meta: BTreeMap::new(),
                source: source.to_owned(),
                created: now,
                updated: now,
                deleted: false,
            },
            ops: Vec::new(),
            mappings: Vec::new(),
            keys: None,
            event: false,
            inputs: Vec::new(),
        }
    }

    /// Work on a stored record.
    pub fn existing(record: Unified) -> Work {
        Work {
            before: Some(record.clone()),
            after: record,
            ops: Vec::new(),
            mappings: Vec::new(),
            keys: None,
            event: false,
            inputs: Vec::new(),
        }
    }

    /// Sets a field, logging the change; `plugin` made the value.
    pub fn set(&mut self, field: &str, value: Value, stamp: Stamp, plugin: Option<String>) {
        let old = self.after.fields.insert(field.to_owned(), value.clone());
        let op = if self.before.as_ref().is_none_or(|b| b.deleted) {
            "create"
        } else {
            "update"
        };
        self.ops.push(Op {
            op,
            field: Some(field.to_owned()),
            old,
            new: Some(value),
            source: stamp.source.clone(),
            plugin,
        });
        self.after.source = stamp.source.clone();
        self.after.meta.insert(field.to_owned(), stamp);
    }
}
