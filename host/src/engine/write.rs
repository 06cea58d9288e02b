//! Stage 8 and the destination side of the cycle: which unified records a destination is
//! due (those changed since its watermark, and its quarantined retries), in chunks of its
//! batch size; each chunk written (created, updated, deleted, or skipped when it equals what
//! was last written there) after stages 6 and 7; new external ids recorded; the destination
//! watermark moved once every chunk is written.

use super::build::Destination;
use super::stage::Stage;
use super::work::{Batch, Cycle, Outgoing, Pending};
use super::{Pipeline, Report, abort_point, per_item};
use crate::config::OnDelete;
use crate::store::{Endpoint, Quarantined, Store, encode_fields};
use crate::wit::external::{Change, Upsert};
use crate::wit::{EntityKind, Field, Value};
use std::collections::BTreeMap;

/// The sources a pipeline's writes wait for: its enabled object sources not yet read
/// through to their end once (counting this cycle's reads). A pipeline's first sync thus
/// unifies every source before it writes anything: a company in both systems meets its twin
/// in the store, however the reads are paged, instead of being created in the other system
/// first. Events are never matched or merged, so their pipelines never wait.
pub fn held(cx: &Cycle<'_>) -> anyhow::Result<Vec<String>> {
    let (p, batch): (&Pipeline, &Batch) = (cx.p, &cx.batch);
    let mut waiting = Vec::new();
    for (index, s) in p.sources.iter().enumerate() {
        if !s.enabled || s.kind == EntityKind::Event || batch.caught_up.contains(&index) {
            continue;
        }
        if !cx.store.read().caught_up(s.endpoint(&p.name))? {
            waiting.push(s.label.clone());
        }
    }
    Ok(waiting)
}

/// How the store keys destination `d` of `p`.
fn key<'a>(p: &'a Pipeline, d: &'a Destination) -> Endpoint<'a> {
    Endpoint {
        pipeline: &p.name,
        connector: &d.connector,
        entity: &d.entity,
    }
}

/// What one destination is due this cycle, handed out a chunk at a time.
pub struct Due<'d> {
    d: &'d Destination,
    /// Unified ids changed since its watermark, then its quarantined retries.
    ids: Vec<String>,
    /// Its quarantine entries from earlier failures.
    retries: Vec<Quarantined>,
    /// The log position its watermark moves to once every chunk is written.
    upto: i64,
    /// How many ids were handed out.
    taken: usize,
    /// Whether the daily API budget stopped it.
    stopped: bool,
}

/// What destination `d` is due: the records changed since its watermark, and its retries.
pub fn due<'d>(cx: &Cycle<'_>, d: &'d Destination) -> anyhow::Result<Due<'d>> {
    let (p, store) = (cx.p, &*cx.store);
    let from = store.read().destination_seq(key(p, d))?;
    let upto = store.read().last_seq()?;
    let mut ids = store.read().changed_since(&p.entity, from, upto)?;
    let retries: Vec<Quarantined> = store
        .read()
        .quarantined(Some(&p.name), None)?
        .into_iter()
        .filter(|q| {
            Stage::parse(&q.stage).is_some_and(Stage::on_destination_side)
                && q.connector == d.connector
                && q.entity == d.entity
        })
        .collect();
    for q in &retries {
        if !ids.contains(&q.record_id) {
            ids.push(q.record_id.clone());
        }
    }
    Ok(Due {
        d,
        ids,
        retries,
        upto,
        taken: 0,
        stopped: false,
    })
}

impl Due<'_> {
    /// The next chunk, or `None` when every chunk was handed out or the connector has spent
    /// its daily API budget (checked before each chunk and after the last).
    pub fn next(&mut self, report: &mut Report) -> Option<Outgoing> {
        let done = self.taken >= self.ids.len();
        if self.taken > 0 || !done {
            self.stopped = self.stopped || budget_spent(self.d, report);
        }
        if done || self.stopped {
            return None;
        }
        let end = (self.taken + self.d.batch.max(1) as usize).min(self.ids.len());
        let ids = self.ids[self.taken..end].to_vec();
        self.taken = end;
        let retried = self
            .retries
            .iter()
            .filter(|q| ids.contains(&q.record_id))
            .cloned()
            .collect();
        Some(Outgoing {
            ids,
            retried,
            ..Outgoing::default()
        })
    }

    /// Moves the destination's watermark, unless the budget stopped it: then the rest waits,
    /// with the watermark, for the next budget.
    pub fn finish(self, cx: &mut Cycle<'_>) -> anyhow::Result<()> {
        if !self.stopped {
            let (p, d, upto, now) = (cx.p, self.d, self.upto, cx.now);
            cx.store
                .transaction(|tx| tx.set_destination_seq(key(p, d), upto, now))?;
        }
        Ok(())
    }
}

/// Stage 8 for one chunk of destination `d`: writes its changes, records what the
/// destination now holds and the external ids of records created there, and quarantines
/// what failed here or in stages 6 and 7, in one store transaction.
pub fn write(cx: &mut Cycle<'_>, d: &Destination, out: Outgoing) -> anyhow::Result<()> {
    let (p, store, _, report, now) = cx.parts();
    let Outgoing {
        pending,
        mut failed,
        retried,
        ..
    } = out;
    let changes: Vec<Change> = pending.iter().map(|p| p.change.clone()).collect();
    let results = per_item(&mut d.system.lock(), &changes, |s, c| s.write(&d.entity, c));
    abort_point("write-call");
    // Changes refused because the budget ran out during this call are not failures of
    // their records: they wait, with the destination watermark, for the next budget.
    let out_of_budget = d.http.as_ref().is_some_and(|c| c.spent());
    let mut deferred = Vec::new();
    store.transaction(|tx| {
        for (pending, result) in pending.iter().zip(&results) {
            match result {
                Ok(external_id) => {
                    report.written += 1;
                    *report.written_to.entry(d.label.clone()).or_default() += 1;
                    match &pending.fields {
                        Some(fields) => {
                            tx.set_written(
                                key(p, d),
                                &pending.unified_id,
                                external_id,
                                fields,
                                now,
                            )?;
                            if pending.created {
                                tx.map_id(
                                    &d.connector,
                                    &d.entity,
                                    external_id,
                                    &p.entity,
                                    &pending.unified_id,
                                    None,
                                )?;
                            }
                        }
                        None => tx.clear_written(key(p, d), &pending.unified_id)?,
                    }
                }
                Err(_) if out_of_budget => deferred.push(pending.unified_id.as_str()),
                Err(reason) => failed.push(super::work::Failed {
                    record_id: pending.unified_id.clone(),
                    stage: Stage::Write,
                    record: format!("{{\"id\":{:?}}}", pending.unified_id),
                    reason: reason.clone(),
                }),
            }
        }
        // A retry that went through this time is done with; one that failed again was
        // counted again above.
        for q in &retried {
            let waiting = deferred.contains(&q.record_id.as_str());
            if !waiting && !failed.iter().any(|f| f.record_id == q.record_id) {
                tx.resolve_quarantined(q.id, now)?;
            }
        }
        for f in &failed {
            tx.quarantine(&Quarantined {
                id: 0,
                pipeline: p.name.clone(),
                stage: f.stage.name().to_owned(),
                connector: d.connector.clone(),
                entity: d.entity.clone(),
                record_id: f.record_id.clone(),
                record: f.record.clone(),
                reason: f.reason.clone(),
                attempts: 1,
                first_at: now,
                last_at: now,
            })?;
        }
        Ok(())
    })?;
    report.quarantined += failed.len() as u64;
    Ok(())
}

/// Whether `d`'s connector has spent its daily API budget; if so the report says so and
/// the destination stops here, its watermark unmoved, at a batch boundary.
fn budget_spent(d: &Destination, report: &mut Report) -> bool {
    let Some(client) = d.http.as_ref().filter(|c| c.spent()) else {
        return false;
    };
    report.errors.push(format!(
        "{}: connector `{}` has spent its daily API budget; writing stopped at a batch boundary and the rest waits for the next UTC day",
        d.label,
        client.connector()
    ));
    true
}

/// A create or update of record `id` at `d`, unless the destination already holds exactly
/// these fields.
pub fn upsert(
    p: &Pipeline,
    d: &Destination,
    store: &Store,
    id: &str,
    fields: BTreeMap<String, Value>,
    report: &mut Report,
) -> anyhow::Result<Option<Pending>> {
    let encoded = encode_fields(&fields);
    let written = store.read().written(key(p, d), id)?;
    if written.as_ref().is_some_and(|(_, last)| *last == encoded) {
        report.skipped += 1;
        return Ok(None);
    }
    let external = match written {
        Some((external, _)) => Some(external),
        None => store.read().external_id(&d.connector, &d.entity, id)?,
    };
    Ok(Some(Pending {
        unified_id: id.to_owned(),
        created: external.is_none(),
        change: Change::Upsert(Upsert {
            id: external,
            fields: fields
                .into_iter()
                .map(|(name, value)| Field { name, value })
                .collect(),
        }),
        fields: Some(encoded),
    }))
}

/// What a deleted unified record does at `d`: delete, clear the mapped fields, or nothing.
/// A record deleted in this very destination is not deleted there again.
pub fn delete(
    p: &Pipeline,
    d: &Destination,
    store: &Store,
    id: &str,
    deleted_by: &str,
) -> anyhow::Result<Option<Pending>> {
    if deleted_by == d.label {
        return Ok(None);
    }
    let external = match store.read().written(key(p, d), id)? {
        Some((external, _)) => Some(external),
        None => store.read().external_id(&d.connector, &d.entity, id)?,
    };
    let Some(external) = external else {
        return Ok(None);
    };
    Ok(match d.on_delete {
        OnDelete::Ignore => None,
        OnDelete::Delete => Some(Pending {
            unified_id: id.to_owned(),
            change: Change::Delete(external),
            fields: None,
            created: false,
        }),
        OnDelete::Clear => {
            let cleared: BTreeMap<String, Value> = d
                .fields
                .iter()
                .map(|f| (f.target.clone(), Value::Null))
                .collect();
            Some(Pending {
                unified_id: id.to_owned(),
                change: Change::Upsert(Upsert {
                    id: Some(external),
                    fields: cleared
                        .clone()
                        .into_iter()
                        .map(|(name, value)| Field { name, value })
                        .collect(),
                }),
                fields: Some(encode_fields(&cleared)),
                created: false,
            })
        }
    })
}
