//! One sync cycle of one pipeline: the eight stages in order, none overlapping, then the
//! source watermarks move. A cycle cut off anywhere is simply run again: the store saves
//! each step atomically and every step is idempotent, so a re-run changes nothing twice.

use super::stage::Stage;
use super::work::{Batch, Cycle};
use super::{Pipeline, Report, entity, fields, merge, read, save, write};
use crate::capabilities::http::Client;
use crate::store::{Store, Tx, encode_value};
use crate::time::now_micros;
use std::sync::Arc;
use std::time::Instant;

pub use super::work::Options;

thread_local! {
    /// Whether this thread is running a micro-batch, for [`abort_point`](super::abort_point)'s
    /// names.
    pub static IN_MICRO_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs one cycle of `p`.
pub fn run(p: &Pipeline, store: &mut Store, options: &Options) -> anyhow::Result<Report> {
    IN_MICRO_BATCH.set(options.received);
    let now = now_micros();
    let cycle = store.transaction(|tx| tx.begin_cycle(&p.name, now))?;
    let mut cx = Cycle {
        p,
        store,
        options: options.clone(),
        batch: Batch::default(),
        report: Report {
            cycle,
            pipeline: p.name.clone(),
            started: Some(Instant::now()),
            ..Report::default()
        },
        now,
    };
    let clients = p.clients();
    let calls_before: Vec<u64> = clients.iter().map(|c| c.calls_today()).collect();

    cx.stage(Stage::Read, read::read)?; // 1
    cx.stage(Stage::SourceEntity, entity::source)?; // 2
    // Stages 3 and 4 read the store once or twice per record: in one snapshot.
    cx.in_snapshot(|cx| {
        cx.stage(Stage::SourceFields, fields::source)?; // 3
        cx.stage(Stage::Merge, merge::dedupe) // 4
    })?;
    // The records read were kept for the merge stage to set aside: no later stage needs them.
    cx.batch.taken = Vec::new();
    cx.stage(Stage::Save, save::save)?; // 5

    // Stages 6–8 per destination, chunk by chunk; held while a source has not yet been read
    // through once.
    cx.report.held_for = write::held(&cx)?;
    if cx.report.held_for.is_empty() {
        for d in &p.destinations {
            let mut due = write::due(&cx, d)?;
            while let Some(mut out) = due.next(&mut cx.report) {
                // Stages 6 and 7 read the store per record: in one snapshot each connection.
                cx.in_snapshot(|cx| {
                    let _lookups = p.lookups.snapshot()?;
                    cx.stage(Stage::DestinationEntity, |cx| {
                        entity::destination(cx, d, &mut out) // 6
                    })?;
                    cx.stage(Stage::DestinationFields, |cx| {
                        fields::destination(cx, d, &mut out) // 7
                    })
                })?;
                cx.stage(Stage::Write, |cx| write::write(cx, d, out))?; // 8
            }
            due.finish(&mut cx)?;
        }
    }

    for (client, before) in clients.iter().zip(calls_before) {
        let calls = client.calls_today().saturating_sub(before);
        cx.report
            .api_calls
            .insert(client.connector().to_owned(), calls);
    }
    // Only now, with the cycle complete, do the source watermarks move.
    let t = Instant::now();
    let (counts, stages) = (
        serde_json::to_string(&cx.report)?,
        serde_json::to_string(&cx.report.stages)?,
    );
    let Cycle { store, batch, .. } = &mut cx;
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
    cx.report.stage(Stage::Watermarks, t);
    Ok(cx.report)
}

/// Adds the API calls made since the last save to the store's daily counts.
pub fn save_calls(tx: &Tx<'_>, clients: &[Arc<Client>]) -> rusqlite::Result<()> {
    for client in clients {
        let (day, calls) = client.take_unsaved();
        tx.add_api_calls(client.connector(), day, calls)?;
    }
    Ok(())
}
