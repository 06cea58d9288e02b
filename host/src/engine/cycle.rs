//! One sync cycle of one pipeline: the eight stages in order, none overlapping, then the
//! source watermarks move. A cycle cut off anywhere is simply run again: the store saves
//! each step atomically and every step is idempotent, so a re-run changes nothing twice.

use super::work::Batch;
use super::{Pipeline, Report, abort_point, entity, fields, merge, now_micros, read, save, write};
use crate::http::Client;
use crate::store::{Store, Tx, encode_value};
use std::sync::Arc;
use std::time::Instant;

/// How a cycle runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Process only quarantined records (`wasync quarantine replay`); read nothing new.
    pub quarantine_only: bool,
    /// A micro-batch: process changes received by webhook instead of reading sources.
    pub received: bool,
}

thread_local! {
    /// Whether this thread is running a micro-batch, for [`abort_point`]'s names.
    pub static IN_MICRO_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs one cycle of `p`.
pub fn run(p: &Pipeline, store: &mut Store, options: &Options) -> anyhow::Result<Report> {
    IN_MICRO_BATCH.set(options.received);
    let now = now_micros();
    let cycle = store.transaction(|tx| tx.begin_cycle(&p.name, now))?;
    let mut report = Report {
        cycle,
        pipeline: p.name.clone(),
        started: Some(Instant::now()),
        ..Report::default()
    };
    let mut batch = Batch::default();
    let clients = p.clients();
    let calls_before: Vec<u64> = clients.iter().map(|c| c.calls_today()).collect();

    // 1. Read from sources.
    let t = Instant::now();
    if options.received {
        read::received(p, store, &mut batch, &mut report, now)?;
    } else {
        read::read(
            p,
            store,
            options.quarantine_only,
            &mut batch,
            &mut report,
            now,
        )?;
    }
    report.stage("read", t);
    abort_point("read");

    // 2. Source entity pipeline.
    let t = Instant::now();
    entity::source(p, store, &mut batch, &mut report, now)?;
    report.stage("source-entity", t);
    abort_point("source-entity");

    // Stages 3 and 4 read the store once or twice per record: in one snapshot.
    let snapshot = store.snapshot()?;

    // 3. Source field pipelines, with change detection and data authority.
    let t = Instant::now();
    fields::source(p, store, &mut batch, now)?;
    report.stage("source-fields", t);
    abort_point("source-fields");

    // 4. Deduplication and merge.
    let t = Instant::now();
    merge::dedupe(p, store, &mut batch, &mut report, now)?;
    report.stage("merge", t);
    abort_point("merge");
    drop(snapshot);
    // The records read were kept for the merge stage to set aside: no later stage needs them.
    batch.taken = Vec::new();

    // 5. Save records and log transactions, in one store transaction.
    let t = Instant::now();
    save::save(p, store, &mut batch, &mut report, now)?;
    report.stage("save", t);
    abort_point("save");

    // 6–8. Destination entity pipeline, destination field pipelines, write; held while a
    // source has not yet been read through once.
    report.held_for = write::held(p, store, &batch)?;
    if report.held_for.is_empty() {
        write::destinations(p, store, &mut report, now)?;
    }

    for (client, before) in clients.iter().zip(calls_before) {
        let calls = client.calls_today().saturating_sub(before);
        report
            .api_calls
            .insert(client.connector().to_owned(), calls);
    }

    // Only now, with the cycle complete, do the source watermarks move.
    let t = Instant::now();
    let counts = serde_json::to_string(&report)?;
    let stages = serde_json::to_string(&report.stages)?;
    store.transaction(|tx| {
        for (index, (watermark, id)) in &batch.cursors {
            let watermark = encode_value(watermark).to_string();
            tx.set_source_cursor(p.sources[*index].endpoint(&p.name), &watermark, id, now)?;
        }
        for index in &batch.caught_up {
            tx.set_caught_up(p.sources[*index].endpoint(&p.name), now)?;
        }
        save_calls(tx, &clients)?;
        tx.finish_cycle(cycle, now_micros(), "done", &counts, &stages)
    })?;
    report.stage("watermarks", t);
    Ok(report)
}

/// Adds the API calls made since the last save to the store's daily counts.
pub fn save_calls(tx: &Tx<'_>, clients: &[Arc<Client>]) -> rusqlite::Result<()> {
    for client in clients {
        let (day, calls) = client.take_unsaved();
        tx.add_api_calls(client.connector(), day, calls)?;
    }
    Ok(())
}
