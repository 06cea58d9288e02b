//! The cycle's working set: the context every stage shares ([`Cycle`]), what stages 1–4
//! decide for stage 5 to save ([`Batch`]), and one destination's chunk on its way through
//! stages 6–8 ([`Outgoing`]).

use super::stage::Stage;
use super::{Pipeline, Report, abort_point, record_of};
use crate::store::{Quarantined, Stamp, Store, Unified, value_is_the_records};
use crate::wit::external::Change;
use crate::wit::{Record, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// How a cycle runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Process only quarantined records (`wasync quarantine replay`); read nothing new.
    pub quarantine_only: bool,
    /// A micro-batch: process changes received by webhook instead of reading sources.
    pub received: bool,
    /// Read each source's next page while this cycle works on this one, for a caller that
    /// runs the next cycle at once when there is more (`wasync sync`, `wasync serve`): to
    /// one that stops after this cycle, the page would be a read wasted.
    pub read_ahead: bool,
}

/// What the stages of one cycle share, instead of a handful of arguments each.
pub struct Cycle<'a> {
    /// The pipeline.
    pub p: &'a Pipeline,
    /// The store.
    pub store: &'a mut Store,
    /// How the cycle runs.
    pub options: Options,
    /// What stages 1–4 decide, for stage 5.
    pub batch: Batch,
    /// What the cycle did.
    pub report: Report,
    /// The cycle's time (micros since the epoch), stamped on what it changes.
    pub now: i64,
}

impl<'a> Cycle<'a> {
    /// The parts a stage works with, borrowed apart: pipeline, store, batch, report, time.
    pub fn parts(&mut self) -> (&'a Pipeline, &mut Store, &mut Batch, &mut Report, i64) {
        (
            self.p,
            &mut *self.store,
            &mut self.batch,
            &mut self.report,
            self.now,
        )
    }

    /// Runs `stage`, adds its time to the report, then passes the point a test can cut the
    /// cycle off at.
    pub fn stage<T>(
        &mut self,
        stage: Stage,
        run: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let started = Instant::now();
        let out = run(self)?;
        self.report.stage(stage, started);
        abort_point(stage.name());
        Ok(out)
    }

    /// Runs `run` in one read snapshot of the store, for stages that read it per record.
    pub fn in_snapshot<T>(
        &mut self,
        run: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let began = self.store.begin_read()?;
        let out = run(self);
        if began {
            self.store.end_read();
        }
        out
    }
}

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
pub type Mapped = Vec<(String, Value, Option<Arc<str>>)>;

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
    pub source: Arc<str>,
    /// The plugin that produced the value.
    pub plugin: Option<Arc<str>>,
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

    /// Sets a field, logging the change (a create or an update); `plugin` made the value.
    pub fn set(&mut self, field: &str, value: Value, stamp: Stamp, plugin: Option<Arc<str>>) {
        self.set_as(self.set_op(), field, value, stamp, plugin);
    }

    /// How setting a field is logged: a create for a record new or deleted before the
    /// cycle, else an update.
    fn set_op(&self) -> &'static str {
        if self.before.as_ref().is_none_or(|b| b.deleted) {
            "create"
        } else {
            "update"
        }
    }

    /// Sets every field of `fields` on a record that has none yet, logging each as
    /// [`set`](Self::set) would, in their order; `fields` are sorted by name, each once
    /// (as a source's mappings are). The record's maps are built at once: inserting a field
    /// at a time into them was a sixth of stage 3.
    pub fn set_all(&mut self, fields: Mapped, stamp: &Stamp) {
        debug_assert!(self.after.fields.is_empty() && self.after.meta.is_empty());
        debug_assert!(fields.windows(2).all(|w| w[0].0 < w[1].0));
        let op = self.set_op();
        if !fields.is_empty() && *self.after.source != *stamp.source {
            self.after.source = stamp.source.to_string();
        }
        let keep_new = !value_is_the_records(op, false);
        let mut values = Vec::with_capacity(fields.len());
        let mut stamps = Vec::with_capacity(fields.len());
        self.ops.reserve(fields.len());
        for (field, value, plugin) in fields {
            self.ops.push(Op {
                op,
                field: Some(field.clone()),
                old: None,
                new: keep_new.then(|| value.clone()),
                source: stamp.source.clone(),
                plugin,
            });
            stamps.push((field.clone(), stamp.clone()));
            values.push((field, value));
        }
        self.after.fields = values.into_iter().collect();
        self.after.meta = stamps.into_iter().collect();
    }

    /// Sets a field, logging the change as `op`.
    pub fn set_as(
        &mut self,
        op: &'static str,
        field: &str,
        value: Value,
        stamp: Stamp,
        plugin: Option<Arc<str>>,
    ) {
        // The log takes a create's value from the record: no copy of it is kept for it.
        let had_old = self.after.fields.contains_key(field);
        let new = (!value_is_the_records(op, had_old)).then(|| value.clone());
        let old = self.after.fields.insert(field.to_owned(), value);
        if *self.after.source != *stamp.source {
            self.after.source = stamp.source.to_string();
        }
        self.ops.push(Op {
            op,
            field: Some(field.to_owned()),
            old,
            new,
            source: stamp.source.clone(),
            plugin,
        });
        self.after.meta.insert(field.to_owned(), stamp);
    }
}

/// One chunk of a destination's changed records, on its way through stages 6–8.
#[derive(Debug, Default)]
pub struct Outgoing {
    /// The unified ids in the chunk.
    pub ids: Vec<String>,
    /// Quarantine entries of earlier failures here that this chunk retries.
    pub retried: Vec<Quarantined>,
    /// Live records, as plugins see them: loaded for stage 6, narrowed by it for stage 7.
    pub live: Vec<Record>,
    /// Deleted records: id, and the source that deleted it.
    pub gone: Vec<(String, String)>,
    /// The changes to write (stage 7 makes them).
    pub pending: Vec<Pending>,
    /// Records that failed a stage, waiting to be quarantined with the write's results.
    pub failed: Vec<Failed>,
}

/// One change ready to write.
#[derive(Debug)]
pub struct Pending {
    /// The unified record.
    pub unified_id: String,
    /// The change.
    pub change: Change,
    /// What the destination will hold afterwards (JSON), to skip it next time; `None` for a
    /// delete.
    pub fields: Option<String>,
    /// Whether it creates the record there.
    pub created: bool,
}

/// A record that failed on its way to a destination.
#[derive(Debug)]
pub struct Failed {
    /// The unified record.
    pub record_id: String,
    /// Where.
    pub stage: Stage,
    /// The record as JSON, as quarantine keeps it.
    pub record: String,
    /// Why.
    pub reason: String,
}

impl Outgoing {
    /// Loads the chunk's unified records: live ones as plugins see them, deleted ones by id.
    pub fn load(&mut self, store: &Store, entity: &str) -> anyhow::Result<()> {
        for id in &self.ids {
            match store.record_values(entity, id)? {
                Some(u) if u.deleted => self.gone.push((u.id, u.source)),
                Some(u) => self.live.push(record_of(u)),
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(plugin: &Option<Arc<str>>) -> Mapped {
        vec![
            (
                "Domain".into(),
                Value::Text("acme.com".into()),
                plugin.clone(),
            ),
            ("Name".into(), Value::Text("Acme".into()), None),
            ("Size".into(), Value::Integer(5), None),
        ]
    }

    /// Setting a record's fields at once leaves it, and its log, as setting them one at a
    /// time does: for a new record (a create, whose values the log takes from the record)
    /// and for a stored one with no fields (an update, whose log keeps the values).
    #[test]
    fn set_all_is_set_field_by_field() {
        let stamp = Stamp {
            source: "s/Account".into(),
            at: 7,
        };
        let plugin: Option<Arc<str>> = Some("extract-domain@1".into());
        let stored = Work::new("u", "other/x", 1).after;
        for start in [Work::new("u", "other/x", 1), Work::existing(stored)] {
            let (mut one, mut all) = (start.clone(), start);
            for (name, value, made_by) in fields(&plugin) {
                one.set(&name, value, stamp.clone(), made_by);
            }
            all.set_all(fields(&plugin), &stamp);
            assert_eq!(all.after, one.after);
            assert_eq!(all.ops, one.ops);
            assert_eq!(all.after.source, "s/Account");
        }
    }
}
