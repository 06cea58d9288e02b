//! Stages 3 and 7, the field pipelines: field mappings with their transform chains, run over
//! the whole batch per mapping and per transform (one plugin call each, not one per record).
//! Stage 3 then compares with the stored record and applies data authority: unchanged fields
//! produce nothing.

use super::build::{Destination, FieldPipe};
use super::read::set_aside;
use super::stage::Stage;
use super::work::{Batch, Cycle, Failed, Incoming, Mapping, Op, Outgoing, Work};
use super::{Pipeline, field, per_item, record_json, write};
use crate::store::{Stamp, Store, Unified, decode_value, encode_value};
use crate::wit::{EntityKind, Record, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub use super::work::Mapped;

/// Maps the fields of each record through `pipes`. A record lacking a mapping's source field
/// gets nothing for that field (unknown is not empty). One result per record: its mapped
/// fields, or why a transform failed on it.
pub fn map(pipes: &[FieldPipe], records: &[&Record]) -> Vec<Result<Mapped, String>> {
    // Each record's fields sized once: grown a field at a time, they were a sixth of mapping.
    let mut out: Vec<Result<Mapped, String>> = records
        .iter()
        .map(|_| Ok(Vec::with_capacity(pipes.len())))
        .collect();
    for pipe in pipes {
        let mut rows: Vec<usize> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            if let (Ok(_), Some(value)) = (&out[i], field(record, &pipe.from)) {
                rows.push(i);
                values.push(value.clone());
            }
        }
        let mut made_by = None;
        for step in &pipe.chain {
            let results = per_item(&mut step.instance.lock(), &values, |t, chunk| {
                t.apply(chunk)
            });
            let (mut next_rows, mut next_values) = (
                Vec::with_capacity(rows.len()),
                Vec::with_capacity(values.len()),
            );
            for (row, result) in rows.into_iter().zip(results) {
                match result {
                    Ok(value) => {
                        next_rows.push(row);
                        next_values.push(value);
                    }
                    Err(reason) => {
                        out[row] = Err(format!("field `{}`: {}: {reason}", pipe.target, step.label))
                    }
                }
            }
            (rows, values) = (next_rows, next_values);
            // Every plugin of the chain, in order: the log says which versions made the value.
            made_by = Some(match made_by {
                Some(before) => format!("{before} > {}", step.label),
                None => step.label.clone(),
            });
        }
        let made_by: Option<std::sync::Arc<str>> = made_by.map(Into::into);
        for (row, value) in rows.into_iter().zip(values) {
            if let Ok(mapped) = &mut out[row] {
                mapped.push((pipe.target.clone(), value, made_by.clone()));
            }
        }
    }
    out
}

/// The unified id a new source record gets: derived from where it came from, so a replay of
/// a cut-off cycle names it the same.
pub fn new_id(connector: &str, entity: &str, external_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(connector)
        .chain_update([0])
        .chain_update(entity)
        .chain_update([0])
        .chain_update(external_id)
        .finalize();
    // Hex by hand: a `format!` per byte was most of the cost (13,000 instructions a record).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for b in &digest[..16] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 15)]));
    }
    id
}

/// When a source record's change happened, for data authority: its watermark when that is
/// a time or a number, else now.
fn change_time(record: &Record, now: i64) -> i64 {
    match record.watermark {
        Value::Timestamp(t) | Value::Integer(t) => t,
        _ => now,
    }
}

/// Maps the fields of every live record of `batch` not mapped yet, one batch per source.
pub fn premap(p: &Pipeline, batch: &mut Batch) {
    for (index, source) in p.sources.iter().enumerate() {
        let items: Vec<&mut Incoming> = batch
            .incoming
            .iter_mut()
            .filter(|i| i.source == index && i.mapped.is_none() && !i.record.deleted)
            .collect();
        if items.is_empty() {
            continue;
        }
        let records: Vec<&Record> = items.iter().map(|i| &i.record).collect();
        let mapped = map(&source.fields, &records);
        for (item, fields) in items.into_iter().zip(mapped) {
            item.mapped = Some(fields);
        }
    }
}

/// The unified records `batch` would create, as lookups should find them while the source
/// entity pipeline runs: one per live object record no ID mapping knows yet, with its mapped
/// fields, `created` in the order the cycle takes the records in. Maps the records.
pub fn pending(
    p: &Pipeline,
    store: &Store,
    batch: &mut Batch,
    now: i64,
) -> anyhow::Result<Vec<Unified>> {
    premap(p, batch);
    let mut pending = Vec::new();
    for item in &batch.incoming {
        let source = &p.sources[item.source];
        let Some(Ok(fields)) = &item.mapped else {
            continue;
        };
        if source.kind == EntityKind::Event
            || store
                .mapping(&source.connector, &source.entity, &item.record.id)?
                .is_some()
        {
            continue;
        }
        let mut new = Work::new(
            &new_id(&source.connector, &source.entity, &item.record.id),
            &source.label,
            now + item.position as i64,
        )
        .after;
        new.fields = fields
            .iter()
            .map(|(name, value, _)| (name.clone(), value.clone()))
            .collect();
        pending.push(new);
    }
    Ok(pending)
}

/// Stage 3: source field pipelines, unified ids, change detection and data authority, each
/// record in the order the cycle takes them in, so that a batch ends as if its records had
/// come one at a time.
pub fn source(cx: &mut Cycle<'_>) -> anyhow::Result<()> {
    let (p, store, batch, _, now) = cx.parts();
    premap(p, batch);
    let mut incoming = std::mem::take(&mut batch.incoming);
    incoming.sort_by_key(|i| i.position);
    for (at, item) in incoming.iter_mut().enumerate() {
        let index = item.source;
        let source = &p.sources[index];
        let fields = match item.mapped.take() {
            Some(Ok(fields)) if !item.record.deleted => fields,
            Some(Err(reason)) if !item.record.deleted => {
                set_aside(
                    p,
                    batch,
                    index,
                    Stage::SourceFields,
                    &item.record,
                    reason,
                    now,
                );
                continue;
            }
            _ => Vec::new(),
        };
        let stamp = Stamp {
            source: source.label.as_str().into(),
            at: change_time(&item.record, now),
        };
        let changed = if source.kind == EntityKind::Event {
            append_event(p, store, batch, item, fields, stamp, now)?
        } else {
            apply_change(p, store, batch, item, fields, stamp, now)?
        };
        if let Some(w) = changed.and_then(|id| batch.work.get_mut(&id)) {
            w.inputs.push(at);
        }
        if let Some(q) = item.retry_of {
            batch.resolved.push(q);
        }
    }
    batch.taken = incoming;
    Ok(())
}

/// Loads (or starts, as created at `created`) the working copy of unified record `id`.
fn work<'a>(
    p: &Pipeline,
    store: &Store,
    batch: &'a mut Batch,
    id: &str,
    source: &str,
    created: i64,
) -> anyhow::Result<&'a mut Work> {
    if !batch.work.contains_key(id) {
        let work = match store.record(&p.entity, id)? {
            Some(record) => Work::existing(record),
            None => Work::new(id, source, created),
        };
        batch.work.insert(id.to_owned(), work);
    }
    Ok(batch.work.get_mut(id).expect("inserted above"))
}

/// The mapping of a source record, with the version applied.
fn mapping(source: &super::Source, record: &Record) -> Mapping {
    Mapping {
        connector: source.connector.clone(),
        entity: source.entity.clone(),
        external_id: record.id.clone(),
        seen: Some(encode_value(&record.watermark).to_string()),
    }
}

/// Whether watermark `a` is not later than `b`: a version already applied. Watermarks of
/// different kinds, or null ones, never count as seen.
fn not_later(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Timestamp(a), Value::Timestamp(b)) | (Value::Integer(a), Value::Integer(b)) => {
            a <= b
        }
        (Value::Text(a), Value::Text(b)) => a <= b,
        _ => false,
    }
}

/// An object change: find its unified record, then accept each field data authority allows.
/// A version of the external record that was already applied (a cycle re-run after a crash,
/// a redelivery) changes nothing. Returns the unified record it went to, if any.
fn apply_change(
    p: &Pipeline,
    store: &Store,
    batch: &mut Batch,
    item: &Incoming,
    fields: Mapped,
    stamp: Stamp,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let source = &p.sources[item.source];
    let external = &item.record.id;
    let (mapped, seen) = match store.mapping(&source.connector, &source.entity, external)? {
        Some((id, seen)) => (Some(id), seen),
        None => (None, None),
    };
    let seen = seen
        .and_then(|s| serde_json::from_str(&s).ok())
        .map(|j| decode_value(&j));
    if item.retry_of.is_none() && seen.is_some_and(|seen| not_later(&item.record.watermark, &seen))
    {
        return Ok(None);
    }
    let id = mapped
        .or_else(|| item.attached.clone())
        .unwrap_or_else(|| new_id(&source.connector, &source.entity, external));
    let created = now + item.position as i64;
    let w = work(p, store, batch, &id, &source.label, created)?;
    w.mappings.push(mapping(source, &item.record));
    if item.record.deleted {
        if w.before.is_some() && !w.after.deleted {
            w.after.deleted = true;
            w.after.source = stamp.source.to_string();
            w.ops.push(Op {
                op: "delete",
                field: None,
                old: None,
                new: None,
                source: stamp.source,
                plugin: None,
            });
        }
        return Ok(Some(id));
    }
    // A deleted record comes back only for a real change: an echo or a replay of the values
    // it had must not undo the delete.
    let revived = w.after.deleted;
    if revived {
        if fields
            .iter()
            .all(|(name, value, _)| w.after.fields.get(name) == Some(value))
        {
            return Ok(Some(id));
        }
        w.after.deleted = false;
    }
    // A record with no fields yet (a create) takes what authority accepts at once.
    let sorted = fields.windows(2).all(|w| w[0].0 < w[1].0);
    if sorted && w.after.fields.is_empty() && w.after.meta.is_empty() {
        let accepted: Mapped = fields
            .into_iter()
            .filter(|(name, value, _)| {
                revived || p.authority.accepts(name, None, None, value, &stamp)
            })
            .collect();
        w.set_all(accepted, &stamp);
        return Ok(Some(id));
    }
    for (name, value, plugin) in fields {
        let current = w.after.fields.get(&name);
        if current == Some(&value) {
            continue;
        }
        if revived
            || p.authority
                .accepts(&name, current, w.after.meta.get(&name), &value, &stamp)
        {
            w.set(&name, value, stamp.clone(), plugin);
        }
    }
    Ok(Some(id))
}

/// An event: appended as a new unified record, never updated or merged. Returns its id
/// when it is new.
fn append_event(
    p: &Pipeline,
    store: &Store,
    batch: &mut Batch,
    item: &Incoming,
    fields: Mapped,
    stamp: Stamp,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let source = &p.sources[item.source];
    let id = new_id(&source.connector, &source.entity, &item.record.id);
    if store.record(&p.entity, &id)?.is_some() || batch.work.contains_key(&id) {
        return Ok(None);
    }
    let mut w = Work::new(&id, &source.label, now);
    w.event = true;
    w.mappings.push(mapping(source, &item.record));
    for (name, value, plugin) in fields {
        w.set(&name, value, stamp.clone(), plugin);
    }
    batch.work.insert(id.clone(), w);
    Ok(Some(id))
}

/// Stage 7 for one chunk of destination `d`: the destination's fields of each record, and
/// from them the change to write there (or none, when it already holds them); a record a
/// field pipeline fails on waits for quarantine with why.
pub fn destination(cx: &mut Cycle<'_>, d: &Destination, out: &mut Outgoing) -> anyhow::Result<()> {
    let (p, store, _, report, _) = cx.parts();
    let refs: Vec<&Record> = out.live.iter().collect();
    let mapped = map(&d.fields, &refs);
    for (record, result) in out.live.iter().zip(mapped) {
        match result {
            Ok(fields) => {
                let mut fields: BTreeMap<String, Value> = fields
                    .into_iter()
                    .map(|(name, value, _)| (name, value))
                    .collect();
                if let Some(key) = &d.external_id_field {
                    fields.insert(key.clone(), Value::Text(record.id.clone()));
                }
                if let Some(change) = write::upsert(p, d, store, &record.id, fields, report)? {
                    out.pending.push(change);
                }
            }
            Err(reason) => out.failed.push(Failed {
                record_id: record.id.clone(),
                stage: Stage::DestinationFields,
                record: record_json(record),
                reason,
            }),
        }
    }
    for (id, deleted_by) in &out.gone {
        if let Some(change) = write::delete(p, d, store, id, deleted_by)? {
            out.pending.push(change);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unified ids name records in every store already made: they must never change.
    #[test]
    fn a_new_records_id_is_what_it_always_was() {
        for (connector, entity, external) in [
            ("salesforce", "Account", "001A"),
            ("", "", ""),
            ("h", "c", "é\u{0}x"),
        ] {
            let digest = Sha256::digest(format!("{connector}\u{0}{entity}\u{0}{external}"));
            let before: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(new_id(connector, entity, external), before);
        }
        assert_eq!(new_id("salesforce", "Account", "001A").len(), 32);
    }
}
