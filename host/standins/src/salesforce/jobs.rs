//! Bulk API 2.0 query jobs (API 47.0 and later): `POST /jobs/query` creates one,
//! `GET /jobs/query` lists them, `GET /jobs/query/{id}` polls one,
//! `GET /jobs/query/{id}/results` reads its rows as CSV, `PATCH` aborts one and `DELETE`
//! forgets it.
//!
//! The query runs when the job is created: its rows are a snapshot, chosen by
//! [`query::select`] exactly as the REST API's `query` (live rows) or `queryAll` (deleted
//! ones too) would choose them, and later writes do not change them. Bulk API 2.0 refuses
//! `COUNT()`, `OFFSET` and `FIELDS()` (400 `INVALIDJOB`); `ORDER BY` and `LIMIT` are fine.
//!
//! A job advances as it is polled, so clients must poll as they would on Salesforce: the
//! first [`Options::bulk_polls`](super::Options::bulk_polls) status reads answer
//! `InProgress`, the next one `JobComplete`. Results are served only once a status read
//! has said `JobComplete` (412 `JOB_NOT_COMPLETE` before, as Salesforce documents).
//!
//! Results come in sets of `maxRecords` rows (all remaining rows without it), each set
//! with the header row. `Sforce-Locator` names the next set, or is the string `null` after
//! the last; a locator is the base64 of the set's first row number (Salesforce's look like
//! `MTAwMDA`) and can be read again as long as the job exists.
//!
//! Row order: `ORDER BY` and `LIMIT` choose the rows, but the rows are served in the
//! table's storage (creation) order, not in `ORDER BY` order. Salesforce splits a bulk
//! query into chunks by primary key and promises no order across a job's results, so a
//! client must not rely on one; serving another order makes such reliance fail here
//! rather than in production.

use std::collections::VecDeque;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::schema::{self, FIRST_RECORD_NUMBER, SOBJECTS, Val};
use super::{OrgState, error, not_found, query, soql};
use crate::server::{Incoming, Reply};
use crate::time;

/// Jobs kept; creating one more forgets the oldest, so memory stays bounded.
const MAX_JOBS: usize = 100;
/// The first API version with Bulk API 2.0 query jobs.
const FIRST_VERSION: u32 = 47;
/// The user every job is created by: the one the token endpoint's identity URL names.
const CREATED_BY_ID: &str = "0058d000001STANAA2";

const DELIMITERS: &[(&str, char)] = &[
    ("COMMA", ','),
    ("TAB", '\t'),
    ("PIPE", '|'),
    ("SEMICOLON", ';'),
    ("CARET", '^'),
    ("BACKQUOTE", '`'),
];
const LINE_ENDINGS: &[(&str, &str)] = &[("LF", "\n"), ("CRLF", "\r\n")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    UploadComplete,
    InProgress,
    JobComplete,
    Aborted,
}

impl State {
    /// The state's name, and its spelling in the results error (`IN_PROGRESS`).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            State::UploadComplete => ("UploadComplete", "UPLOAD_COMPLETE"),
            State::InProgress => ("InProgress", "IN_PROGRESS"),
            State::JobComplete => ("JobComplete", "JOB_COMPLETE"),
            State::Aborted => ("Aborted", "ABORTED"),
        }
    }

    fn is_running(self) -> bool {
        matches!(self, State::UploadComplete | State::InProgress)
    }
}

/// The org's query jobs, oldest first, and how many were ever created.
#[derive(Debug, Default)]
pub(super) struct Jobs {
    jobs: VecDeque<Job>,
    created: usize,
}

impl Jobs {
    /// Jobs created so far, forgotten ones included.
    pub(super) fn created(&self) -> usize {
        self.created
    }

    fn find(&mut self, id: &str) -> Option<&mut Job> {
        let key = schema::id_key(id);
        self.jobs
            .iter_mut()
            .find(|job| schema::id_key(&job.id) == key)
    }
}

#[derive(Debug)]
struct Job {
    id: String,
    all: bool,
    object: &'static str,
    /// The number of the version that created it (`62.0`): results need the same one.
    version: String,
    delimiter: (&'static str, char),
    line_ending: (&'static str, &'static str),
    created_ms: i64,
    modstamp_ms: i64,
    completed_ms: Option<i64>,
    state: State,
    /// Status reads still to answer `InProgress`.
    polls_left: u32,
    header: String,
    /// One CSV line per row, without its line ending, in storage order.
    rows: Vec<String>,
}

/// A job as the API describes it; `jobType` and the counts only in status reads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobInfo<'a> {
    id: &'a str,
    operation: &'static str,
    object: &'static str,
    created_by_id: &'static str,
    created_date: String,
    system_modstamp: String,
    state: &'static str,
    concurrency_mode: &'static str,
    content_type: &'static str,
    api_version: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_type: Option<&'static str>,
    line_ending: &'static str,
    column_delimiter: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_records_processed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_processing_time: Option<i64>,
}

impl Job {
    /// The job's description; `detailed` adds what status reads show.
    fn info(&self, detailed: bool) -> JobInfo<'_> {
        let complete = detailed && self.state == State::JobComplete;
        JobInfo {
            id: &self.id,
            operation: if self.all { "queryAll" } else { "query" },
            object: self.object,
            created_by_id: CREATED_BY_ID,
            created_date: time::iso_sf(self.created_ms),
            system_modstamp: time::iso_sf(self.modstamp_ms),
            state: self.state.names().0,
            concurrency_mode: "Parallel",
            content_type: "CSV",
            api_version: self.version.parse().unwrap_or_default(),
            job_type: detailed.then_some("V2Query"),
            line_ending: self.line_ending.0,
            column_delimiter: self.delimiter.0,
            number_records_processed: complete.then_some(self.rows.len()),
            retries: complete.then_some(0),
            total_processing_time: self
                .completed_ms
                .filter(|_| complete)
                .map(|done| done - self.created_ms),
        }
    }

    fn set_state(&mut self, state: State, now: i64) {
        if self.state != state {
            self.state = state;
            self.modstamp_ms = now;
        }
    }
}

/// Whether a path's API version (`v62.0`) has query jobs.
pub(super) fn available(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= FIRST_VERSION)
}

fn invalid_job(message: &str) -> Reply {
    error(400, "INVALIDJOB", message)
}

/// The request body as a JSON object, or the answer refusing it.
fn object_body(req: &Incoming) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice(&req.body) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(_) => Err(invalid_job("The request body must be a JSON object")),
        Err(e) => Err(error(
            400,
            "JSON_PARSER_ERROR",
            &format!("{e}; at [line:{}, column:{}]", e.line(), e.column()),
        )),
    }
}

/// A text property of the body: `Ok(None)` when absent or null.
fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid_job(&format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

/// The entry of an enum property, by its name; `choices[0]` when the property is absent
/// and not `required`.
fn choice<T: Copy>(
    body: &Map<String, Value>,
    name: &str,
    choices: &[(&'static str, T)],
    required: bool,
) -> Result<(&'static str, T), Reply> {
    let Some(given) = text(body, name)? else {
        if required {
            return Err(invalid_job(&format!("The {name} is required")));
        }
        return Ok(choices[0]);
    };
    choices
        .iter()
        .find(|(n, _)| *n == given)
        .copied()
        .ok_or_else(|| {
            let valid: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            invalid_job(&format!(
                "Invalid {name}: '{given}'. Valid values are {}",
                valid.join(", ")
            ))
        })
}

/// `POST /jobs/query`: checks the job, runs its query, keeps the rows.
pub(super) fn create(
    state: &mut OrgState,
    req: &Incoming,
    version: &str,
    now: i64,
    polls: u32,
) -> Reply {
    let body = match object_body(req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let checked = (|| {
        let operations = [("query", false), ("queryAll", true)];
        let (_, all) = choice(&body, "operation", &operations, true)?;
        let soql = match text(&body, "query")? {
            Some(soql) if !soql.trim().is_empty() => soql,
            _ => return Err(invalid_job("The query is required")),
        };
        choice(&body, "contentType", &[("CSV", ())], false)?;
        let delimiter = choice(&body, "columnDelimiter", DELIMITERS, false)?;
        let line_ending = choice(&body, "lineEnding", LINE_ENDINGS, false)?;
        let query = soql::parse_as(soql, soql::Dialect::Bulk)
            .map_err(|e| error(400, e.code, &e.message))?;
        Ok((all, query, delimiter, line_ending))
    })();
    let (all, query, delimiter, line_ending) = match checked {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let table = &state.tables[query.sobject];
    let schema = &SOBJECTS[query.sobject];
    let mut selected = query::select(table, &query, all);
    selected.sort_unstable();
    let header = csv_line(
        query
            .fields
            .iter()
            .map(|&f| Some(schema.fields[f].name.into())),
        delimiter.1,
    );
    let rows = selected
        .into_iter()
        .map(|i| {
            let record = &table.records[i];
            csv_line(
                query.fields.iter().map(|&f| csv_value(&record[f])),
                delimiter.1,
            )
        })
        .collect();
    let jobs = &mut state.jobs;
    let number = FIRST_RECORD_NUMBER + jobs.created as u64;
    jobs.created += 1;
    let job = Job {
        id: schema::make_id("750", number),
        all,
        object: schema.name,
        version: version.trim_start_matches('v').to_owned(),
        delimiter,
        line_ending,
        created_ms: now,
        modstamp_ms: now,
        completed_ms: None,
        state: State::UploadComplete,
        polls_left: polls,
        header,
        rows,
    };
    let reply = Reply::json(200, &job.info(false));
    if jobs.jobs.len() >= MAX_JOBS {
        jobs.jobs.pop_front();
    }
    jobs.jobs.push_back(job);
    reply
}

/// `GET /jobs/query`: every job kept, as they stand (listing does not advance them).
pub(super) fn list(state: &OrgState) -> Reply {
    let records: Vec<JobInfo<'_>> = state.jobs.jobs.iter().map(|j| j.info(true)).collect();
    Reply::json(
        200,
        &serde_json::json!({ "done": true, "records": records, "nextRecordsUrl": null }),
    )
}

/// `GET /jobs/query/{id}`: the job, one poll further on.
pub(super) fn status(state: &mut OrgState, id: &str, now: i64) -> Reply {
    let Some(job) = state.jobs.find(id) else {
        return not_found();
    };
    if job.state.is_running() {
        if job.polls_left > 0 {
            job.polls_left -= 1;
            job.set_state(State::InProgress, now);
        } else {
            job.set_state(State::JobComplete, now);
            job.completed_ms = Some(now);
        }
    }
    Reply::json(200, &job.info(true))
}

/// `PATCH /jobs/query/{id}` with `{"state": "Aborted"}`: only a running job can be.
pub(super) fn abort(state: &mut OrgState, req: &Incoming, id: &str, now: i64) -> Reply {
    let body = match object_body(req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if body.get("state").and_then(Value::as_str) != Some("Aborted") {
        return invalid_job("The request body must be {\"state\": \"Aborted\"}");
    }
    let Some(job) = state.jobs.find(id) else {
        return not_found();
    };
    if !job.state.is_running() {
        return invalid_job(&format!(
            "Job {} is {}: only UploadComplete and InProgress jobs can be aborted",
            job.id,
            job.state.names().0
        ));
    }
    job.set_state(State::Aborted, now);
    Reply::json(200, &job.info(false))
}

/// `DELETE /jobs/query/{id}`: forgets a finished job (Salesforce refuses running ones).
pub(super) fn delete(state: &mut OrgState, id: &str) -> Reply {
    let key = schema::id_key(id);
    let jobs = &mut state.jobs.jobs;
    let Some(index) = jobs.iter().position(|j| schema::id_key(&j.id) == key) else {
        return not_found();
    };
    if jobs[index].state.is_running() {
        return error(
            400,
            "API_ERROR",
            "Error encountered when deleting the job because the job is not terminated",
        );
    }
    jobs.remove(index);
    Reply::empty(204)
}

/// `GET /jobs/query/{id}/results[?locator=L&maxRecords=N]`: one set of rows as CSV.
pub(super) fn results(state: &mut OrgState, req: &Incoming, version: &str, id: &str) -> Reply {
    let Some(job) = state.jobs.find(id) else {
        return not_found();
    };
    if job.version != version.trim_start_matches('v') {
        return error(
            409,
            "INVALIDJOB",
            &format!(
                "Job {} was created with API version {}: get its results with that version",
                job.id, job.version
            ),
        );
    }
    if job.state != State::JobComplete {
        return error(
            412,
            "JOB_NOT_COMPLETE",
            &format!(
                "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: {}",
                job.state.names().1
            ),
        );
    }
    let max = match req.param("maxRecords") {
        None => usize::MAX,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return invalid_job(&format!(
                    "Invalid maxRecords: '{n}'. It must be a positive integer"
                ));
            }
        },
    };
    let from = match req.param("locator") {
        None | Some("") => 0,
        Some(locator) => match decode_locator(locator) {
            Some(from) if from > 0 && from < job.rows.len() => from,
            _ => return invalid_job(&format!("Invalid locator: '{locator}'")),
        },
    };
    let to = from.saturating_add(max).min(job.rows.len());
    let ending = job.line_ending.1;
    let mut body = String::with_capacity(job.header.len() + 2);
    body.push_str(&job.header);
    body.push_str(ending);
    for row in &job.rows[from..to] {
        body.push_str(row);
        body.push_str(ending);
    }
    let next = if to < job.rows.len() {
        STANDARD_NO_PAD.encode(to.to_string())
    } else {
        "null".to_owned()
    };
    Reply {
        status: 200,
        headers: vec![("content-type", "text/csv".into())],
        body: body.into_bytes(),
    }
    .with("sforce-locator", next)
    .with("sforce-numberofrecords", (to - from).to_string())
}

/// The row number a locator stands for (padding or not), if it is one.
fn decode_locator(locator: &str) -> Option<usize> {
    let bytes = STANDARD_NO_PAD.decode(locator.trim_end_matches('=')).ok()?;
    let digits = std::str::from_utf8(&bytes).ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A value as Salesforce's CSV writes it: `None` (an empty, unquoted field) for null,
/// datetimes in UTC with `Z`, numbers as the JSON API writes them.
fn csv_value(value: &Val) -> Option<String> {
    match value {
        Val::Null => None,
        Val::Text(s) => Some(s.clone()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Int(i) => Some(i.to_string()),
        Val::Num(_) => match value.to_json() {
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        },
        Val::DateTime(ms) => Some(time::iso_z(*ms)),
        Val::Date(days) => Some(time::date_string(*days)),
    }
}

/// One CSV line: every value quoted (quotes doubled), as Salesforce writes them.
fn csv_line(values: impl Iterator<Item = Option<String>>, delimiter: char) -> String {
    let mut line = String::new();
    for (i, value) in values.enumerate() {
        if i > 0 {
            line.push(delimiter);
        }
        if let Some(value) = value {
            line.push('"');
            line.push_str(&value.replace('"', "\"\""));
            line.push('"');
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_value_and_leaves_nulls_empty() {
        let line = csv_line(
            [Some("a \"b\", c\nd".to_owned()), None, Some("1".into())].into_iter(),
            ',',
        );
        assert_eq!(line, "\"a \"\"b\"\", c\nd\",,\"1\"");
        assert_eq!(
            csv_value(&Val::DateTime(0)).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(csv_value(&Val::Num(1.5)).as_deref(), Some("1.5"));
        assert_eq!(csv_value(&Val::Bool(false)).as_deref(), Some("false"));
    }

    #[test]
    fn locators_are_base64_row_numbers() {
        assert_eq!(STANDARD_NO_PAD.encode("10000"), "MTAwMDA");
        assert_eq!(decode_locator("MTAwMDA"), Some(10_000));
        assert_eq!(decode_locator("MTAwMDA="), Some(10_000));
        for bad in ["", "null", "!!", "YWJj", "LTE"] {
            assert_eq!(decode_locator(bad), None, "{bad}");
        }
    }

    #[test]
    fn jobs_exist_from_api_47() {
        assert!(available("v47.0") && available("v62.0"));
        assert!(!available("v46.0") && !available("x"));
    }
}
