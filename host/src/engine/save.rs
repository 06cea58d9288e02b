//! Stage 5, save and log: the changed unified records, their ID mappings and match keys, the
//! merges, the transaction log and the quarantine, in one store transaction.

use super::work::Cycle;
use crate::store::{FieldChange, Mapping, NewEntry};
use std::collections::BTreeMap;

/// Saves the batch; counts what was created, updated and deleted.
pub fn save(cx: &mut Cycle<'_>) -> anyhow::Result<()> {
    let (p, store, batch, report, now) = cx.parts();
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
    for (id, w) in &mut batch.work {
        if w.ops.is_empty() {
            continue;
        }
        w.after.updated = now;
        match (&w.before, w.after.deleted) {
            (None, false) => report.created += 1,
            (Some(b), false) if b.deleted => report.created += 1,
            (Some(_), false) => report.updated += 1,
            (Some(b), true) if !b.deleted && !winner_of.contains_key(id.as_str()) => {
                report.deleted += 1
            }
            _ => {}
        }
    }
    report.quarantined += batch.quarantined.len() as u64;
    store.transaction(|tx| {
        let mut saver = tx.saver()?;
        for (id, w) in &batch.work {
            if !w.ops.is_empty() {
                saver.put_record(&p.entity, &w.after)?;
            }
            // A row per run of changes with one op and source: a create is one row.
            for run in w.ops.chunk_by(|a, b| a.op == b.op && a.source == b.source) {
                let changes: Vec<FieldChange<'_>> = run
                    .iter()
                    .map(|op| FieldChange {
                        field: op.field.as_deref(),
                        old: op.old.as_ref(),
                        new: op.new.as_ref(),
                        plugin: op.plugin.as_deref(),
                    })
                    .collect();
                let entry = NewEntry {
                    cycle: report.cycle,
                    at: now,
                    entity: &p.entity,
                    record_id: id,
                    op: run[0].op,
                    source: &run[0].source,
                };
                saver.log(&entry, &changes)?;
            }
            for m in &w.mappings {
                saver.map_id(&Mapping {
                    connector: &m.connector,
                    entity: &m.entity,
                    external_id: &m.external_id,
                    unified_entity: &p.entity,
                    unified_id: &final_id(id),
                    seen: m.seen.as_deref(),
                })?;
            }
            if let Some(keys) = &w.keys {
                tx.set_match_keys(&p.entity, id, keys)?;
            }
        }
        for (loser, winner) in &batch.merges {
            tx.move_ids(&p.entity, loser, &final_id(winner))?;
        }
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
