//! Stages 2 and 6, the entity pipelines: each source's (or destination's) entity functions in
//! order over the batch. A function keeps a record (maybe changed), attaches it to a unified
//! record, or stops it; a record it fails on is quarantined and the rest go on.

use super::build::{Destination, Step};
use super::fields::{self, new_id};
use super::read::set_aside;
use super::stage::Stage;
use super::work::{Cycle, Failed, Incoming, Outgoing};
use super::{per_item, record_json};
use crate::plugin::Function;
use crate::wit::EntityKind;
use crate::wit::Record;
use crate::wit::entity::Outcome;

/// Stage 2: the source entity pipelines. Events skip it.
///
/// Lookups find the stored records and those this batch will create, each newer than the
/// one before it in the cycle's order: a record attached to one created earlier in the batch
/// ends as it would have had they come in different cycles.
pub fn source(cx: &mut Cycle<'_>) -> anyhow::Result<()> {
    let (p, store, batch, report, now) = cx.parts();
    for (at, item) in batch.incoming.iter_mut().enumerate() {
        item.position = at;
    }
    if p.sources.iter().all(|s| s.functions.is_empty()) {
        return Ok(());
    }
    let pending = fields::pending(p, store, batch, now)?;
    let _lookups = p.lookups.snapshot_with(pending)?;
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
                    match result {
                        Ok(Outcome::Keep(record)) => returned(&mut item, &input, record),
                        Ok(Outcome::Attach(a)) => {
                            // Attached to the very record it creates: found first as pending.
                            if a.unified_id != new_id(&source.connector, &source.entity, &input.id)
                            {
                                report.attached += 1;
                                item.attached = Some(a.unified_id);
                            }
                            returned(&mut item, &input, a.record);
                        }
                        Ok(Outcome::Stop(reason)) => {
                            report.stopped += 1;
                            tracing::debug!(record = %input.id, "stopped by {}: {reason}", step.label);
                            continue;
                        }
                        Err(reason) => {
                            let reason = format!("{}: {reason}", step.label);
                            set_aside(p, batch, index, Stage::SourceEntity, &input, reason, now);
                            continue;
                        }
                    }
                    next.push(item);
                }
                records = next;
            }
        }
        kept.extend(records);
    }
    kept.sort_by_key(|i| i.position);
    batch.incoming = kept;
    Ok(())
}

/// Gives `item` back its record as a function returned it; fields mapped from the record
/// that went in no longer hold if the function changed it.
fn returned(item: &mut Incoming, input: &Record, record: Record) {
    if record != *input {
        item.mapped = None;
    }
    item.record = record;
}

/// What stands in an item's place while its record is lent to a function: allocates nothing.
fn lent() -> Record {
    Record {
        id: String::new(),
        watermark: crate::wit::Value::Null,
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

/// Stage 6 for one chunk of destination `d`: loads its records, then each entity function
/// keeps them (possibly changed) or stops them (counted, left out); a record a function
/// fails on waits for quarantine with why.
pub fn destination(cx: &mut Cycle<'_>, d: &Destination, out: &mut Outgoing) -> anyhow::Result<()> {
    let (p, store, _, report, _) = cx.parts();
    out.load(store, &p.entity)?;
    let mut kept = std::mem::take(&mut out.live);
    for step in &d.functions {
        let results = apply(step, &p.entity, &kept);
        let mut next = Vec::with_capacity(kept.len());
        for (record, result) in kept.into_iter().zip(results) {
            match result {
                Ok(Outcome::Keep(r)) => next.push(r),
                Ok(Outcome::Attach(a)) => next.push(a.record),
                Ok(Outcome::Stop(_)) => report.stopped += 1,
                Err(reason) => out.failed.push(Failed {
                    record_id: record.id.clone(),
                    stage: Stage::DestinationEntity,
                    record: record_json(&record),
                    reason: format!("{}: {reason}", step.label),
                }),
            }
        }
        kept = next;
    }
    out.live = kept;
    Ok(())
}
