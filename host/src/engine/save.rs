//! Stage 5, save and log: the changed unified records, their ID mappings and match keys, the
//! merges, the transaction log and the quarantine, in one store transaction.

use super::work::Batch;
use super::{Pipeline, Report};
use crate::store::{LogEntry, Store, encode_value};
use std::collections::BTreeMap;

/// Saves the batch; counts what was created, updated and deleted.
pub fn save(
    p: &Pipeline,
    store: &mut Store,
    batch: &Batch,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
    let winner_of: BTreeMap<&str, &str> = batch
        .merges
        .iter()
        .map(|(l, w)| (l.as_str(), w.as_str()))
        .collect();
    let final_id = |id: &str| -> String {
        let mut at = id;
        while let Some(next) = winner_of.get(at) {
            at = next;
        }
        at.to_owned()
    };
    let mut log = Vec::new();
    for (id, w) in &batch.work {
        if w.ops.is_empty() {
            continue;
        }
        match (&w.before, w.after.deleted) {
            (None, false) => report.created += 1,
            (Some(b), false) if b.deleted => report.created += 1,
            (Some(_), false) => report.updated += 1,
            (Some(b), true) if !b.deleted && !winner_of.contains_key(id.as_str()) => {
                report.deleted += 1
            }
            _ => {}
        }
        for op in &w.ops {
            log.push(LogEntry {
                seq: 0,
                cycle: report.cycle,
                at: now,
                entity: p.entity.clone(),
                record_id: id.clone(),
                op: op.op.to_owned(),
                field: op.field.clone(),
                old: op.old.as_ref().map(|v| encode_value(v).to_string()),
                new: op.new.as_ref().map(|v| encode_value(v).to_string()),
                source: op.source.clone(),
                plugin: op.plugin.clone(),
            });
        }
    }
    report.quarantined += batch.quarantined.len() as u64;
    store.transaction(|tx| {
        for (id, w) in &batch.work {
            if !w.ops.is_empty() {
                let mut record = w.after.clone();
                record.updated = now;
                tx.put_record(&p.entity, &record)?;
            }
            for m in &w.mappings {
                tx.map_id(
                    &m.connector,
                    &m.entity,
                    &m.external_id,
                    &p.entity,
                    &final_id(id),
                    m.seen.as_deref(),
                )?;
            }
            if let Some(keys) = &w.keys {
                tx.set_match_keys(&p.entity, id, keys)?;
            }
        }
        for (loser, winner) in &batch.merges {
            tx.move_ids(&p.entity, loser, &final_id(winner))?;
        }
        tx.log(&log)?;
        for q in &batch.quarantined {
            tx.quarantine(q)?;
        }
        for id in &batch.resolved {
            tx.resolve_quarantined(*id, now)?;
        }
        tx.intake_done(&batch.intake, now)?;
        Ok(())
    })?;
    Ok(())
}
