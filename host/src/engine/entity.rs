//! Stages 2 and 6, the entity pipelines: each source's (or destination's) entity functions in
//! order over the batch. A function keeps a record (maybe changed), attaches it to a unified
//! record, or stops it; a record it fails on is quarantined and the rest go on.

use super::build::Step;
use super::read::set_aside;
use super::work::{Batch, Incoming};
use super::{Pipeline, Report, per_item};
use crate::plugin::Function;
use crate::plugin::bindings::EntityKind;
use crate::plugin::bindings::Record;
use crate::plugin::bindings::entity_function::exports::wasync::plugin::entity::Outcome;

/// Stage 2: the source entity pipelines. Events skip it.
pub fn source(p: &Pipeline, batch: &mut Batch, report: &mut Report, now: i64) {
    let mut by_source: Vec<Vec<Incoming>> = p.sources.iter().map(|_| Vec::new()).collect();
    for item in std::mem::take(&mut batch.incoming) {
        if let Some(records) = by_source.get_mut(item.source) {
            records.push(item);
        }
    }
    let mut kept = Vec::new();
    for (index, (source, mut records)) in p.sources.iter().zip(by_source).enumerate() {
        if source.kind == EntityKind::Object {
            for step in &source.functions {
                // The records go to the function and come back changed: lend them, not copies.
                let inputs: Vec<Record> = records
                    .iter_mut()
                    .map(|i| std::mem::replace(&mut i.record, lent()))
                    .collect();
                let results = apply(step, &p.entity, &inputs);
                let mut next = Vec::with_capacity(records.len());
                for ((mut item, input), result) in records.into_iter().zip(inputs).zip(results) {
                    item.record = input;
                    match result {
                        Ok(Outcome::Keep(record)) => {
                            item.record = record;
                            next.push(item);
                        }
                        Ok(Outcome::Attach(attached)) => {
                            item.record = attached.record;
                            item.attached = Some(attached.unified_id);
                            report.attached += 1;
                            next.push(item);
                        }
                        Ok(Outcome::Stop(reason)) => {
                            report.stopped += 1;
                            tracing::debug!(record = %item.record.id, "stopped by {}: {reason}", step.label);
                        }
                        Err(reason) => {
                            let reason = format!("{}: {reason}", step.label);
                            set_aside(p, batch, index, "source-entity", &item.record, reason, now);
                        }
                    }
                }
                records = next;
            }
        }
        kept.extend(records);
    }
    batch.incoming = kept;
}

/// What stands in an item's place while its record is lent to a function: allocates nothing.
fn lent() -> Record {
    Record {
        id: String::new(),
        watermark: crate::Value::Null,
        fields: Vec::new(),
        deleted: false,
    }
}

/// Runs one entity function over records; one result per record, failures isolated.
pub fn apply(
    step: &Step<Function>,
    entity: &str,
    records: &[Record],
) -> Vec<Result<Outcome, String>> {
    per_item(&mut step.instance.lock(), records, |f, chunk| {
        f.apply(entity, chunk)
    })
}

/// Stage 6 for one destination's batch: records kept (possibly changed), and those that
/// failed with why. Stopped records are counted and left out.
pub fn destination(
    steps: &[Step<Function>],
    entity: &str,
    records: Vec<Record>,
    report: &mut Report,
) -> (Vec<Record>, Vec<(Record, String)>) {
    let mut kept = records;
    let mut failed = Vec::new();
    for step in steps {
        let results = apply(step, entity, &kept);
        let mut next = Vec::with_capacity(kept.len());
        for (record, result) in kept.into_iter().zip(results) {
            match result {
                Ok(Outcome::Keep(r)) => next.push(r),
                Ok(Outcome::Attach(a)) => next.push(a.record),
                Ok(Outcome::Stop(_)) => report.stopped += 1,
                Err(reason) => failed.push((record, format!("{}: {reason}", step.label))),
            }
        }
        kept = next;
    }
    (kept, failed)
}
