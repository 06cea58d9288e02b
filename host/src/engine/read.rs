//! Stage 1, read from sources: for each enabled source, at most `batch_size` records changed
//! after its stored (watermark, id) cursor, sorted by that cursor, so a page boundary inside
//! a run of equal watermarks loses nothing. Quarantined records are retried first.
//!
//! A micro-batch (`wasync serve`, changes received by webhook) reads the store's intake
//! instead: the changes connectors' webhooks turned requests into, in the order they came.

use super::order;
use super::stage::Stage;
use super::work::{Batch, Cycle, Incoming};
use super::{Pipeline, Report, Source, field, record_from_json, record_json};
use crate::store::{Quarantined, Store, decode_value, encode_value};
use crate::value::describe;
use crate::wit::Value;
use crate::wit::external::{Cursor, ReadRequest};

/// A field a connector sets on a record it could not read, saying why.
pub use crate::plugin::ERROR_FIELD;

/// Stage 1: reads this cycle's records into the batch, from the sources or, in a
/// micro-batch, from the changes received by webhook.
pub fn read(cx: &mut Cycle<'_>) -> anyhow::Result<()> {
    let options = cx.options.clone();
    let (p, store, batch, report, now) = cx.parts();
    match options.received {
        true => received(p, store, batch, report, now),
        false => from_sources(p, store, &options, batch, report, now),
    }
}

/// Reads changes received by webhook into `batch`, at most a batch's worth: the micro-batch's
/// stage 1. Source cursors do not move: the scheduled cycles' reads go on where they were.
fn received(
    p: &Pipeline,
    store: &Store,
    batch: &mut Batch,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
    let limit = p.sources.iter().map(|s| s.batch).max().unwrap_or(1000);
    let waiting = store.read().waiting(&p.name, limit)?;
    report.more = waiting.len() as u64 >= u64::from(limit);
    for change in waiting {
        batch.intake.push(change.id);
        let source = p
            .sources
            .iter()
            .position(|s| s.connector == change.connector && s.entity == change.entity);
        let record = record_from_json(&change.record);
        let (Some(source), Some(record)) = (source, record) else {
            batch.quarantined.push(Quarantined {
                id: 0,
                pipeline: p.name.clone(),
                stage: Stage::Read.name().to_owned(),
                connector: change.connector.clone(),
                entity: change.entity.clone(),
                record_id: format!("intake-{}", change.id),
                record: change.record,
                reason: format!(
                    "received by webhook, but `{}/{}` is no longer a source of `{}`",
                    change.connector, change.entity, p.name
                ),
                attempts: 1,
                first_at: now,
                last_at: now,
            });
            continue;
        };
        report.read += 1;
        let label = format!("{} (webhook)", p.sources[source].label);
        *report.read_from.entry(label).or_default() += 1;
        admit(p, batch, source, record, None, now);
    }
    Ok(())
}

/// Reads this cycle's records from the sources into `batch`, quarantined ones first.
fn from_sources(
    p: &Pipeline,
    store: &Store,
    options: &super::work::Options,
    batch: &mut Batch,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
    for q in store.read().quarantined(Some(&p.name), None)? {
        if !Stage::parse(&q.stage).is_some_and(Stage::on_source_side) {
            continue;
        }
        let source = p
            .sources
            .iter()
            .position(|s| s.connector == q.connector && s.entity == q.entity);
        match (source, record_from_json(&q.record)) {
            (Some(source), Some(record)) => {
                report.read += 1;
                admit(p, batch, source, record, Some(q.id), now);
            }
            _ => tracing::warn!(
                id = q.id,
                "quarantined record no longer belongs to a source of `{}`",
                p.name
            ),
        }
    }
    if options.quarantine_only {
        return Ok(());
    }
    let mut pages = Vec::new();
    let behind: Vec<bool> = p.sources.iter().map(|s| s.ahead.behind()).collect();
    for (index, source) in p.sources.iter().enumerate().filter(|(_, s)| s.enabled) {
        let stored = store.read().source_cursor(source.endpoint(&p.name))?;
        let others_behind = behind.iter().enumerate().any(|(i, b)| *b && i != index);
        if let Some(page) = source.ahead.take(stored.as_ref(), others_behind) {
            pages.push((index, page));
            continue;
        }
        if let Some(page) = source.read_ahead.take(stored.as_ref()) {
            pages.push((index, page));
            continue;
        }
        let after = stored.and_then(|(watermark, id)| {
            let watermark = decode_value(&serde_json::from_str(&watermark).ok()?);
            Some(Cursor { watermark, id })
        });
        match source.system.lock().read(&request(source, after, now)) {
            Ok(Ok(page)) => pages.push((index, page)),
            Ok(Err(error)) => report.errors.push(format!(
                "{}: read failed: {}",
                source.label,
                describe(&error)
            )),
            Err(error) => report.errors.push(format!("{}: {error}", source.label)),
        }
    }
    let horizon = order::horizon(p, &pages);
    let start = batch.incoming.len();
    for (index, mut page) in pages {
        let source = &p.sources[index];
        let stored = store.read().source_cursor(source.endpoint(&p.name))?;
        let kept = order::cut(source, &mut page, horizon.as_ref(), stored);
        report.more |= page.more;
        if !page.more {
            batch.caught_up.push(index);
        }
        if let Some(last) = page.records.last() {
            batch
                .cursors
                .insert(index, (last.watermark.clone(), last.id.clone()));
            // More to read, and none of it in hand: read the next page meanwhile.
            if options.read_ahead && page.more && !kept {
                read_ahead(source, last, now);
            }
        }
        report.read += page.records.len() as u64;
        *report.read_from.entry(source.label.clone()).or_default() += page.records.len() as u64;
        for record in page.records {
            admit(p, batch, index, record, None, now);
        }
    }
    // The cycle takes the records in one order, whatever the batch size or the order the
    // sources are listed in (a stable sort: each source's own order holds within).
    batch.incoming[start..].sort_by(|a, b| {
        let b_label = &p.sources[b.source].label;
        order::order(
            &a.record.watermark,
            &p.sources[a.source].label,
            (&b.record.watermark, b_label.as_str()),
        )
    });
    Ok(())
}

/// Starts reading `source`'s page after `last`, the last record this cycle takes from it.
fn read_ahead(source: &Source, last: &crate::wit::Record, now: i64) {
    let after = Cursor {
        watermark: last.watermark.clone(),
        id: last.id.clone(),
    };
    let stored = (encode_value(&last.watermark).to_string(), last.id.clone());
    let (request, system) = (request(source, Some(after), now), source.system.clone());
    let label = source.label.clone();
    source.read_ahead.start(stored, move || {
        let failed = match system.lock().read(&request) {
            Ok(Ok(page)) => return Some(page),
            Ok(Err(error)) => describe(&error).to_string(),
            Err(error) => error.to_string(),
        };
        // The next cycle reads again, and reports what that read meets.
        tracing::warn!("{label}: reading ahead failed, to be read again: {failed}");
        None
    });
}

/// The read of `source`'s page after cursor `after`: at most a batch, and no later than its
/// delay allows.
fn request(source: &Source, after: Option<Cursor>, now: i64) -> ReadRequest {
    let until =
        (!source.delay.is_zero()).then(|| Value::Timestamp(now - source.delay.as_micros() as i64));
    ReadRequest {
        entity: source.entity.clone(),
        after,
        until,
        limit: source.batch,
    }
}

/// Takes a record in, or sets it aside when it cannot be processed at all.
fn admit(
    p: &Pipeline,
    batch: &mut Batch,
    source: usize,
    record: crate::wit::Record,
    retry_of: Option<i64>,
    now: i64,
) {
    let problem = match field(&record, ERROR_FIELD) {
        Some(Value::Text(why)) => Some(why.clone()),
        Some(_) => Some("the connector could not read this record".to_owned()),
        None if record.id.trim().is_empty() => Some("the record has no id".to_owned()),
        None => None,
    };
    match problem {
        Some(reason) => set_aside(p, batch, source, Stage::Read, &record, reason, now),
        None => batch.incoming.push(Incoming {
            source,
            record,
            attached: None,
            retry_of,
            position: 0,
            mapped: None,
        }),
    }
}

/// Puts a source record in quarantine with the stage and reason.
pub fn set_aside(
    p: &Pipeline,
    batch: &mut Batch,
    source: usize,
    stage: Stage,
    record: &crate::wit::Record,
    reason: String,
    now: i64,
) {
    let s = &p.sources[source];
    batch.quarantined.push(Quarantined {
        id: 0,
        pipeline: p.name.clone(),
        stage: stage.name().to_owned(),
        connector: s.connector.clone(),
        entity: s.entity.clone(),
        record_id: record.id.clone(),
        record: record_json(record),
        reason,
        attempts: 1,
        first_at: now,
        last_at: now,
    });
}
