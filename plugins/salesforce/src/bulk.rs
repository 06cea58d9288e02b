//! Bulk API 2.0 query jobs: a read with many records left takes them from a job instead of
//! one REST query per page.
//!
//! Once REST reads that fill their pages have read a tenth of `bulk_above` in a row, the
//! records left after them are counted (`SELECT COUNT()`, one call). Above `bulk_above`, a
//! read starts a `queryAll` job for the next `bulk_records` of them
//! in keyset order, and returns its page as usual. The reads that follow ask for the job's
//! state (one call each) and go on with REST pages while it runs. Once it is complete, its
//! CSV results are downloaded, sorted by (`SystemModstamp`, `Id`) (a job's results come in
//! no documented order) and kept in memory, and reads take their pages from them without
//! a call, dropping whatever REST pages read meanwhile. When they are used up, REST reads
//! go on from the last, and are counted again as above.
//!
//! A job is a snapshot: a record changed after it was taken has a later `SystemModstamp`,
//! so a later read finds that version, exactly as with REST pages. A job that fails, or
//! that Salesforce refuses, is logged and the entity is read with REST alone from then on
//! in this instance; a call that may work later (a 5xx, a rate limit) fails the read, as
//! any call does.

use crate::describe::{DELETED, FieldType, ID, SObject, WATERMARK};
use crate::soql::{self, Select, Window};
use crate::{Salesforce, errors, values};
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use wasync_sdk::http::Response;
use wasync_sdk::{Error, Field, Page, Record, Timestamp, Value, log, time};

/// Records per results call: a few tens of MB of CSV, well within a plugin's memory.
const RESULTS_PER_CALL: u32 = 25_000;

/// A record's place in keyset order: (`SystemModstamp`, `Id`).
type Key = (Timestamp, String);

/// What the connector knows of bulk reads of one entity.
#[derive(Debug)]
pub enum Bulk {
    /// Records read by full REST pages in a row, not yet counted.
    Full(u64),
    /// A count found this many records left, too few for a job: no count again until REST
    /// pages have read that many.
    Few(u64),
    /// A job Salesforce is running.
    Running(Job),
    /// A finished job's records that reads have not taken yet.
    Done(Kept),
    /// A job failed or was refused: REST reads only, for the life of this instance.
    Off,
}

/// A query job, for the records after `after`.
#[derive(Debug)]
pub struct Job {
    id: String,
    after: Option<Key>,
}

/// A finished job's records, in keyset order, as CSV rows.
#[derive(Debug)]
pub struct Kept {
    /// The job holds every record after this (up to its last) as it was when it ran.
    after: Option<Key>,
    columns: Vec<Column>,
    rows: VecDeque<Row>,
}

#[derive(Debug)]
struct Column {
    name: String,
    field_type: FieldType,
}

#[derive(Debug)]
struct Row {
    key: Key,
    values: csv::StringRecord,
}

/// The part of a job's info the connector uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobInfo {
    id: String,
    state: String,
    #[serde(default)]
    error_message: Option<String>,
}

/// A `SELECT COUNT()` result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Count {
    total_size: u64,
}

/// The page for `window` from a finished job, when one holds it; polls a running job first.
pub fn serve(sf: &Salesforce, sobject: &SObject, window: &Window) -> Result<Option<Page>, Error> {
    let mut jobs = sf.bulk.borrow_mut();
    let Some(state) = jobs.get_mut(&sobject.name) else {
        return Ok(None);
    };
    if let Bulk::Running(job) = state {
        if !covers(job.after.as_ref(), window) {
            return Ok(None);
        }
        match finish(sf, sobject, job) {
            Ok(Some(kept)) => *state = Bulk::Done(kept),
            Ok(None) => return Ok(None),
            Err(e) if transient(&e) => return Err(e),
            Err(e) => {
                *state = turned_off(sobject, &e);
                return Ok(None);
            }
        }
    }
    let Bulk::Done(kept) = state else {
        return Ok(None);
    };
    if !covers(kept.after.as_ref(), window) {
        return Ok(None);
    }
    let page = kept.take(window);
    if kept.rows.is_empty() {
        jobs.remove(&sobject.name);
    }
    Ok(page)
}

/// After a REST page: once full pages in a row have read a tenth of `bulk_above` and no job
/// is under way, counts what is left, and starts a job when that is more than
/// `bulk_above`; after a count too small for a job, counts again once full pages have read
/// as many records as it found. A small object is never counted. The page stands whatever
/// happens here.
pub fn consider(sf: &Salesforce, sobject: &SObject, window: &Window, page: &Page) {
    if !sf.settings.bulk {
        return;
    }
    let mut jobs = sf.bulk.borrow_mut();
    let last = page.records.last().filter(|_| page.more);
    let Some((last, &Value::Timestamp(watermark))) = last.map(|r| (r, &r.watermark)) else {
        // Caught up: a later run of full pages starts from nothing.
        if let Some(Bulk::Full(_) | Bulk::Few(_)) = jobs.get(&sobject.name) {
            jobs.remove(&sobject.name);
        }
        return;
    };
    let above = sf.settings.bulk_above;
    let read = page.records.len() as u64;
    match jobs.entry(sobject.name.clone()).or_insert(Bulk::Full(0)) {
        Bulk::Full(records) => {
            *records += read;
            if *records < above / 10 {
                return;
            }
        }
        Bulk::Few(left) => {
            *left = left.saturating_sub(read);
            if *left > 0 {
                return;
            }
        }
        Bulk::Running(_) | Bulk::Done(_) | Bulk::Off => return,
    }
    let rest = Window {
        after: Some((watermark, &last.id)),
        until: window.until,
        limit: sf.settings.bulk_records,
    };
    let state = match start(sf, sobject, &rest, above) {
        Ok(Ok(id)) => Bulk::Running(Job {
            id,
            after: Some((watermark, last.id.clone())),
        }),
        Ok(Err(left)) => Bulk::Few(left),
        // The page is good: the next full one tries again.
        Err(e) if transient(&e) => return,
        Err(e) => turned_off(sobject, &e),
    };
    jobs.insert(sobject.name.clone(), state);
}

/// Counts the records in `rest`; when there are more than `above`, starts a job for them
/// and returns its id, else the count.
fn start(
    sf: &Salesforce,
    sobject: &SObject,
    rest: &Window,
    above: u64,
) -> Result<Result<String, u64>, Error> {
    let url = format!(
        "{}/queryAll?q={}",
        sf.base_url(),
        soql::encode_query_value(&soql::count(sobject, rest)?)
    );
    let what = format!("SELECT COUNT() FROM {}", sobject.name);
    let count: Count = errors::parse(sf.call("GET", url, Vec::new(), None)?, &what)?;
    if count.total_size <= above {
        return Ok(Err(count.total_size));
    }
    let body = json!({
        "operation": "queryAll",
        "query": soql::select(sobject, rest, Select::Bulk)?,
    });
    let url = format!("{}/jobs/query", sf.base_url());
    let what = format!("a query job on {}", sobject.name);
    let job: JobInfo = errors::parse(
        sf.call("POST", url, Vec::new(), Some(body.to_string().into_bytes()))?,
        &what,
    )?;
    log::info(&format!(
        "{}: {} records left to read, reading up to {} of them through Bulk API 2.0 query \
         job {}",
        sobject.name, count.total_size, rest.limit, job.id
    ));
    Ok(Ok(job.id))
}

/// Asks for the job's state: its records once it is complete, `None` while it runs.
fn finish(sf: &Salesforce, sobject: &SObject, job: &Job) -> Result<Option<Kept>, Error> {
    let url = format!("{}/jobs/query/{}", sf.base_url(), job.id);
    let what = format!("query job {}", job.id);
    let info: JobInfo = errors::parse(sf.call("GET", url, Vec::new(), None)?, &what)?;
    match info.state.as_str() {
        "JobComplete" => download(sf, sobject, job).map(Some),
        "Open" | "UploadComplete" | "InProgress" => Ok(None),
        state => Err(Error::Other(format!(
            "Salesforce's query job {} on {} ended {state}: {}",
            job.id,
            sobject.name,
            info.error_message.as_deref().unwrap_or("no message")
        ))),
    }
}

/// Every result of a complete job, following `Sforce-Locator`, sorted in keyset order.
fn download(sf: &Salesforce, sobject: &SObject, job: &Job) -> Result<Kept, Error> {
    let what = format!("the results of query job {}", job.id);
    let mut kept = Kept {
        after: job.after.clone(),
        columns: Vec::new(),
        rows: VecDeque::new(),
    };
    let mut locator: Option<String> = None;
    loop {
        let mut url = format!(
            "{}/jobs/query/{}/results?maxRecords={RESULTS_PER_CALL}",
            sf.base_url(),
            job.id
        );
        if let Some(locator) = &locator {
            url.push_str(&format!("&locator={}", soql::encode_query_value(locator)));
        }
        let accept = vec![("Accept".to_owned(), "text/csv".to_owned())];
        let response = sf.call("GET", url, accept, None)?;
        if !(200..300).contains(&response.status) {
            return Err(errors::refusal(&response, &what));
        }
        let before = kept.rows.len();
        kept.parse(sobject, &response, &what)?;
        let got = kept.rows.len() - before;
        if let Some(count) = response.header("Sforce-NumberOfRecords")
            && count.trim().parse::<usize>().ok() != Some(got)
        {
            return Err(Error::Unavailable(format!(
                "Salesforce answered {what} with {got} records where `Sforce-NumberOfRecords` \
                 says {count}: the answer was cut short"
            )));
        }
        locator = response
            .header("Sforce-Locator")
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_owned);
        if locator.is_none() {
            break;
        }
    }
    // Keyset order, as `ORDER BY SystemModstamp ASC, Id ASC`.
    (kept.rows.make_contiguous()).sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(kept)
}

impl Kept {
    /// Adds the rows of one results chunk. Every chunk starts with the header row; a chunk
    /// whose first row is not the header is taken as all rows.
    fn parse(&mut self, sobject: &SObject, response: &Response, what: &str) -> Result<(), Error> {
        let bad = |detail: String| {
            Error::Unavailable(format!("Salesforce answered {what} with {detail}"))
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(response.body.as_slice());
        let mut records = reader.records();
        if self.columns.is_empty() {
            let header = match records.next() {
                Some(header) => header.map_err(|e| bad(format!("CSV that does not parse: {e}")))?,
                None => return Err(bad("no CSV header".into())),
            };
            self.columns = header
                .iter()
                .map(|name| match sobject.field(name) {
                    Some(field) => Column {
                        name: field.name.clone(),
                        field_type: field.field_type,
                    },
                    None => Column {
                        name: name.to_owned(),
                        field_type: FieldType::Text,
                    },
                })
                .collect();
        }
        let at = |name: &str| self.columns.iter().position(|c| c.name == name);
        let (Some(id_at), Some(watermark_at)) = (at(ID), at(WATERMARK)) else {
            return Err(bad(format!("CSV without `{ID}` and `{WATERMARK}` columns")));
        };
        for (n, record) in records.enumerate() {
            let values = record.map_err(|e| bad(format!("CSV that does not parse: {e}")))?;
            if n == 0
                && values
                    .iter()
                    .eq(self.columns.iter().map(|c| c.name.as_str()))
            {
                continue;
            }
            if values.len() != self.columns.len() {
                return Err(bad(format!(
                    "a CSV row of {} fields under a header of {}",
                    values.len(),
                    self.columns.len()
                )));
            }
            let id = values.get(id_at).unwrap_or_default();
            let stamp = values.get(watermark_at).unwrap_or_default();
            let watermark = time::parse_rfc3339(stamp)
                .filter(|_| !id.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "a row with `{ID}` `{id}` and `{WATERMARK}` `{stamp}`"
                    ))
                })?;
            self.rows.push_back(Row {
                key: (watermark, id.to_owned()),
                values,
            });
        }
        Ok(())
    }

    /// The page for `window`, taken from the front: rows the window starts after are
    /// dropped, rows past its bound stay.
    fn take(&mut self, window: &Window) -> Option<Page> {
        while self
            .rows
            .front()
            .is_some_and(|row| !is_after(&row.key, window.after))
        {
            self.rows.pop_front();
        }
        if self.rows.is_empty() {
            return None;
        }
        let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
        let mut records = Vec::new();
        while records.len() < limit {
            match self.rows.front() {
                Some(row) if window.until.is_none_or(|until| row.key.0 <= until) => {
                    if let Some(row) = self.rows.pop_front() {
                        records.push(self.record(row));
                    }
                }
                _ => break,
            }
        }
        // Used up: the records after the job's last are REST's to read.
        let more = records.len() == limit || self.rows.is_empty();
        Some(Page { records, more })
    }

    fn record(&self, row: Row) -> Record {
        let mut deleted = false;
        let fields = self
            .columns
            .iter()
            .zip(row.values.iter())
            .map(|(column, text)| {
                if column.name == DELETED {
                    deleted = text == "true";
                }
                Field {
                    name: column.name.clone(),
                    value: values::from_text(column.field_type, text),
                }
            })
            .collect();
        let (watermark, id) = row.key;
        Record {
            id,
            watermark: Value::Timestamp(watermark),
            fields,
            deleted,
        }
    }
}

/// Whether records after `after` include the whole window: it starts at or past `after`.
fn covers(after: Option<&Key>, window: &Window) -> bool {
    match (after, window.after) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((watermark, id)), Some(start)) => (*watermark, id.as_str()) <= start,
    }
}

/// Whether `key` comes after the window's start.
fn is_after(key: &Key, after: Option<(Timestamp, &str)>) -> bool {
    after.is_none_or(|(watermark, id)| (key.0, key.1.as_str()) > (watermark, id))
}

/// A failure that may pass (a 5xx, a rate limit, an expired session).
fn transient(error: &Error) -> bool {
    matches!(
        error,
        Error::Unavailable(_) | Error::RateLimited(_) | Error::Unauthorized(_)
    )
}

/// Any other failure of a bulk step turns bulk reads off for the entity, with a warning.
fn turned_off(sobject: &SObject, error: &Error) -> Bulk {
    log::warn(&format!(
        "{}: reading with REST queries only, as a Bulk API 2.0 query job could not be used: \
         {error}",
        sobject.name
    ));
    Bulk::Off
}
