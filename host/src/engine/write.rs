//! Stages 6–8 for each destination: the unified records changed since the destination's
//! watermark go through its entity pipeline (6) and field pipelines (7), then are written
//! (8): created, updated, deleted, or skipped when they equal what was last written there.
//! New external ids are recorded; the destination watermark moves when all are written.

use super::build::Destination;
use super::work::Batch;
use super::{Pipeline, Report, abort_point, entity, fields, per_item, record_json, record_of};
use crate::config::OnDelete;
use crate::plugin::bindings::connector::exports::wasync::plugin::external::{Change, Upsert};
use crate::plugin::bindings::{EntityKind, Field, Value};
use crate::store::{Endpoint, Quarantined, Store, encode_fields};
use std::collections::BTreeMap;
use std::time::Instant;

/// The write-side stages a failure can happen in; such records are retried next cycle.
pub const DESTINATION_STAGES: [&str; 3] = ["destination-entity", "destination-fields", "write"];

/// One record ready to write.
struct Pending {
    unified_id: String,
    change: Change,
    /// What the destination will hold afterwards (JSON), to skip it next time; `None` for a
    /// delete.
    fields: Option<String>,
    created: bool,
}

/// Runs stages 6–8 for every destination of the pipeline.
pub fn destinations(
    p: &Pipeline,
    store: &mut Store,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
    for d in &p.destinations {
        destination(p, d, store, report, now)?;
    }
    Ok(())
}

/// The sources a pipeline's writes wait for: its enabled object sources not yet read
/// through to their end once (counting this cycle's reads). A pipeline's first sync thus
/// unifies every source before it writes anything: a company in both systems meets its twin
/// in the store, however the reads are paged, instead of being created in the other system
/// first. Events are never matched or merged, so their pipelines never wait.
pub fn held(p: &Pipeline, store: &Store, batch: &Batch) -> anyhow::Result<Vec<String>> {
    let mut waiting = Vec::new();
    for (index, s) in p.sources.iter().enumerate() {
        if !s.enabled || s.kind == EntityKind::Event || batch.caught_up.contains(&index) {
            continue;
        }
        if !store.read().caught_up(s.endpoint(&p.name))? {
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

fn destination(
    p: &Pipeline,
    d: &Destination,
    store: &mut Store,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
    let from = store.read().destination_seq(key(p, d))?;
    let upto = store.read().last_seq()?;
    let mut ids = store.read().changed_since(&p.entity, from, upto)?;
    let retries: Vec<Quarantined> = store
        .read()
        .quarantined(Some(&p.name), None)?
        .into_iter()
        .filter(|q| {
            DESTINATION_STAGES.contains(&q.stage.as_str())
                && q.connector == d.connector
                && q.entity == d.entity
        })
        .collect();
    for q in &retries {
        if !ids.contains(&q.record_id) {
            ids.push(q.record_id.clone());
        }
    }
    for chunk in ids.chunks(d.batch.max(1) as usize) {
        if budget_spent(d, report) {
            return Ok(());
        }
        let started = Instant::now();
        // Stages 6 and 7 read the store per record: in one snapshot each connection.
        let snapshot = store.snapshot()?;
        let lookups = p.lookups.snapshot()?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for id in chunk {
            match store.record_values(&p.entity, id)? {
                Some(u) if u.deleted => gone.push((u.id, u.source)),
                Some(u) => live.push(record_of(u)),
                None => {}
            }
        }
        let mut failed: Vec<(String, &str, String, String)> = Vec::new();
        // Stage 6: the destination entity pipeline.
        let (kept, refused) = entity::destination(&d.functions, &p.entity, live, report);
        for (record, reason) in refused {
            failed.push((
                record.id.clone(),
                "destination-entity",
                record_json(&record),
                reason,
            ));
        }
        report.stage("destination-entity", started);
        abort_point("destination-entity");

        // Stage 7: the destination field pipelines.
        let started = Instant::now();
        let mapped = fields::destination(&d.fields, &kept);
        let mut pending = Vec::new();
        for (record, result) in kept.iter().zip(mapped) {
            match result {
                Ok(mut fields) => {
                    if let Some(key) = &d.external_id_field {
                        fields.insert(key.clone(), Value::Text(record.id.clone()));
                    }
                    if let Some(p) = prepare_upsert(p, d, store, &record.id, fields, report)? {
                        pending.push(p);
                    }
                }
                Err(reason) => failed.push((
                    record.id.clone(),
                    "destination-fields",
                    record_json(record),
                    reason,
                )),
            }
        }
        for (id, deleted_by) in gone {
            if let Some(p) = prepare_delete(p, d, store, &id, &deleted_by)? {
                pending.push(p);
            }
        }
        drop((lookups, snapshot));
        report.stage("destination-fields", started);
        abort_point("destination-fields");

        // Stage 8: write.
        let started = Instant::now();
        let changes: Vec<Change> = pending.iter().map(|p| p.change.clone()).collect();
        let results = per_item(&mut d.system.lock(), &changes, |s, c| s.write(&d.entity, c));
        abort_point("write-call");
        // Changes refused because the budget ran out during this call are not failures of
        // their records: they wait, with the destination watermark, for the next budget.
        let out_of_budget = d.http.as_ref().is_some_and(|c| c.spent());
        let mut deferred = Vec::new();
        let retried: Vec<&Quarantined> = retries
            .iter()
            .filter(|q| chunk.contains(&q.record_id))
            .collect();
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
                    Err(reason) => failed.push((
                        pending.unified_id.clone(),
                        "write",
                        format!("{{\"id\":{:?}}}", pending.unified_id),
                        reason.clone(),
                    )),
                }
            }
            // A retry that went through this time is done with; one that failed again was
            // counted again above.
            for q in &retried {
                let waiting = deferred.contains(&q.record_id.as_str());
                if !waiting && !failed.iter().any(|f| f.0 == q.record_id) {
                    tx.resolve_quarantined(q.id, now)?;
                }
            }
            for (record_id, stage, record, reason) in &failed {
                tx.quarantine(&Quarantined {
                    id: 0,
                    pipeline: p.name.clone(),
                    stage: (*stage).to_owned(),
                    connector: d.connector.clone(),
                    entity: d.entity.clone(),
                    record_id: record_id.clone(),
                    record: record.clone(),
                    reason: reason.clone(),
                    attempts: 1,
                    first_at: now,
                    last_at: now,
                })?;
            }
            Ok(())
        })?;
        report.quarantined += failed.len() as u64;
        report.stage("write", started);
        abort_point("write");
        if out_of_budget && budget_spent(d, report) {
            return Ok(());
        }
    }
    store.transaction(|tx| tx.set_destination_seq(key(p, d), upto, now))?;
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

/// A create or update, unless the destination already holds exactly these fields.
fn prepare_upsert(
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

/// What a deleted unified record does here: delete, clear the mapped fields, or nothing.
/// A record deleted in this very destination is not deleted there again.
fn prepare_delete(
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
