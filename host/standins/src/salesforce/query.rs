//! `query`, `queryAll`, their `nextRecordsUrl` cursors, and reading one record.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use super::schema::{self, ID, IS_DELETED, SOBJECTS, Val};
use super::{OrgState, Table, error, not_found, soql};
use crate::server::{Incoming, Reply};

/// Records per chunk when the client asks for no batch size, and the largest it may ask.
const DEFAULT_BATCH: usize = 2000;
/// The smallest batch size a client may ask for (smaller requests get this).
const MIN_BATCH: usize = 200;
/// Open cursors per user; opening one more releases the oldest, as in Salesforce.
const MAX_CURSORS: usize = 10;

/// A record as the API returns it: `attributes` first, then the fields in SELECT order.
#[derive(Debug, Clone)]
pub(super) struct RecordOut {
    sobject: &'static str,
    url: String,
    fields: Vec<(&'static str, Value)>,
}

impl Serialize for RecordOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        map.serialize_entry(
            "attributes",
            &json!({ "type": self.sobject, "url": self.url }),
        )?;
        for (name, value) in &self.fields {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn render(version: &str, sobject: usize, record: &[Val], fields: &[usize]) -> RecordOut {
    let schema = &SOBJECTS[sobject];
    let id = match &record[ID] {
        Val::Text(id) => id.as_str(),
        _ => "",
    };
    RecordOut {
        sobject: schema.name,
        url: format!("/services/data/{version}/sobjects/{}/{id}", schema.name),
        fields: fields
            .iter()
            .map(|&f| (schema.fields[f].name, record[f].to_json()))
            .collect(),
    }
}

/// A query's remaining records, served chunk by chunk through `nextRecordsUrl`.
#[derive(Debug)]
pub(super) struct Cursor {
    locator: String,
    records: Arc<Vec<RecordOut>>,
    batch: usize,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryResult<'a> {
    total_size: usize,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: &'a [RecordOut],
}

/// The batch size of `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000.
fn batch_size(req: &Incoming) -> usize {
    req.header("sforce-query-options")
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|option| option.trim().strip_prefix("batchSize="))
        .filter_map(|n| n.trim().parse::<usize>().ok())
        .next_back()
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
}

/// The rows a query selects, as indices into its table, in the query's order: the live
/// rows (all of them for `queryAll`), those matching `WHERE`, sorted by `ORDER BY`, then
/// `OFFSET` and `LIMIT`. REST queries and Bulk API 2.0 jobs both choose rows with it, so
/// the two can never disagree on what a query selects.
pub(super) fn select(table: &Table, query: &soql::Query, all: bool) -> Vec<usize> {
    let schema = &SOBJECTS[query.sobject];
    let records = &table.records;
    let mut matched: Vec<usize> = (0..records.len())
        .filter(|&i| all || records[i][IS_DELETED] != Val::Bool(true))
        .filter(|&i| {
            let filter = query.filter.as_ref();
            filter.is_none_or(|c| c.matches(schema, &records[i]))
        })
        .collect();
    if !query.order.is_empty() {
        matched.sort_by(|&a, &b| query.compare(schema, &records[a], &records[b]));
    }
    matched
        .into_iter()
        .skip(query.offset)
        .take(query.limit.unwrap_or(usize::MAX))
        .collect()
}

/// `GET /query?q=` and `GET /queryAll?q=`.
pub(super) fn run(state: &mut OrgState, req: &Incoming, version: &str, all: bool) -> Reply {
    let Some(text) = req.param("q") else {
        return error(400, "MALFORMED_QUERY", "A query string has to be specified");
    };
    let query = match soql::parse(text) {
        Ok(query) => query,
        Err(e) => return error(400, e.code, &e.message),
    };
    let table = &state.tables[query.sobject];
    let selected = select(table, &query, all);
    if query.count {
        return Reply::json(
            200,
            &QueryResult {
                total_size: selected.len(),
                done: true,
                next_records_url: None,
                records: &[],
            },
        );
    }
    let records: Vec<RecordOut> = selected
        .into_iter()
        .map(|i| render(version, query.sobject, &table.records[i], &query.fields))
        .collect();
    let batch = batch_size(req);
    if records.len() <= batch {
        return Reply::json(
            200,
            &QueryResult {
                total_size: records.len(),
                done: true,
                next_records_url: None,
                records: &records,
            },
        );
    }
    let locator = schema::make_id("01g", state.next_cursor);
    state.next_cursor += 1;
    let records = Arc::new(records);
    let reply = chunk(version, &locator, &records, 0, batch);
    if state.cursors.len() >= MAX_CURSORS {
        state.cursors.pop_front();
    }
    state.cursors.push_back(Cursor {
        locator,
        records,
        batch,
    });
    reply
}

fn chunk(version: &str, locator: &str, records: &[RecordOut], from: usize, batch: usize) -> Reply {
    let to = (from + batch).min(records.len());
    let done = to >= records.len();
    Reply::json(
        200,
        &QueryResult {
            total_size: records.len(),
            done,
            next_records_url: (!done)
                .then(|| format!("/services/data/{version}/query/{locator}-{to}")),
            records: &records[from..to],
        },
    )
}

/// `GET /query/{locator}-{offset}`: the next chunk of a query. Cursors stay until ten
/// newer ones push them out.
pub(super) fn more(state: &OrgState, version: &str, locator: &str) -> Reply {
    let invalid = || error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((id, offset)) = locator.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let Some(position) = state.cursors.iter().position(|c| c.locator == id) else {
        return invalid();
    };
    let cursor = &state.cursors[position];
    if offset >= cursor.records.len() {
        return invalid();
    }
    chunk(version, id, &cursor.records, offset, cursor.batch)
}

/// `GET /sobjects/{sObject}/{id}[?fields=a,b]`: one live record.
pub(super) fn get_record(
    state: &OrgState,
    req: &Incoming,
    version: &str,
    name: &str,
    id: &str,
) -> Reply {
    let Some(sobject) = schema::sobject(name) else {
        return not_found();
    };
    let schema = &SOBJECTS[sobject];
    let table = &state.tables[sobject];
    let Some(index) = table.find(id).filter(|&i| !table.is_deleted(i)) else {
        return not_found();
    };
    let wanted = req.params("fields");
    let fields: Vec<usize> = if wanted.is_empty() {
        (0..schema.fields.len()).collect()
    } else {
        let mut fields = Vec::new();
        for name in &wanted {
            match schema.field(name) {
                Some(f) => fields.push(f),
                None => {
                    return error(
                        400,
                        "INVALID_FIELD",
                        &format!("No such column '{name}' on sobject of type {}", schema.name),
                    );
                }
            }
        }
        fields
    };
    Reply::json(
        200,
        &render(version, sobject, &table.records[index], &fields),
    )
}
