//! `read`: one `queryAll` keyset query per call, its chunks followed until the page is full;
//! or a page of a bulk query job's records (see `bulk`).

use crate::describe::{DELETED, FieldType, ID, SObject, WATERMARK};
use crate::soql::{self, Select, Window};
use crate::{Salesforce, bulk, errors, values};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use wasync_sdk::time;
use wasync_sdk::{Error, Field, Page, ReadRequest, Record, Value};

/// Salesforce's smallest and largest query chunk (`Sforce-Query-Options: batchSize=N`).
const BATCH_SIZE_RANGE: (u32, u32) = (200, 2_000);

/// One chunk of a query's results.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResult {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    next_records_url: Option<String>,
    records: Vec<Map<String, Json>>,
}

/// Reads one page of `sobject` after the request's cursor, up to its bound.
pub fn read(sf: &Salesforce, sobject: &SObject, request: &ReadRequest) -> Result<Page, Error> {
    if request.limit == 0 {
        return Err(Error::InvalidInput(
            "a read's limit must be at least 1".into(),
        ));
    }
    let after = match &request.after {
        Some(cursor) => {
            values::instant(&cursor.watermark, "cursor watermark")?.map(|w| (w, cursor.id.as_str()))
        }
        None => None,
    };
    let until = match &request.until {
        Some(bound) => Some(values::instant(bound, "upper bound")?.ok_or_else(|| {
            Error::InvalidInput("the upper bound must be a timestamp, not null".into())
        })?),
        None => None,
    };
    let window = Window {
        after,
        until,
        limit: request.limit,
    };
    if let Some(page) = bulk::serve(sf, sobject, &window)? {
        return Ok(page);
    }
    let page = query(sf, sobject, &window)?;
    bulk::consider(sf, sobject, &window, &page);
    Ok(page)
}

/// One REST `queryAll` keyset query for the window, its chunks followed until the page is
/// full.
fn query(sf: &Salesforce, sobject: &SObject, window: &Window) -> Result<Page, Error> {
    let url = |select| -> Result<String, Error> {
        let query = soql::select(sobject, window, select)?;
        Ok(format!(
            "{}/queryAll?q={}",
            sf.base_url(),
            soql::encode_query_value(&query)
        ))
    };
    // A field list too long for a URL (Salesforce's 16 KB on URI and headers): FIELDS(ALL),
    // 200 records a query, keeping the fields asked for.
    let (select, first) = match url(Select::Named)? {
        named if named.len() <= sf.settings.max_url_bytes => (Select::Named, named),
        _ => (Select::All, url(Select::All)?),
    };
    let limit = match select {
        Select::Named | Select::Bulk => window.limit,
        Select::All => window.limit.min(soql::FIELDS_ALL_LIMIT),
    };
    let batch_size = limit.clamp(BATCH_SIZE_RANGE.0, BATCH_SIZE_RANGE.1);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let headers = vec![(
        "Sforce-Query-Options".to_owned(),
        format!("batchSize={batch_size}"),
    )];
    let what = format!("queryAll {}", sobject.name);

    let mut records = Vec::new();
    let mut url = Some(first);
    while let Some(next) = url.take() {
        let response = sf.call("GET", next, headers.clone(), None)?;
        let chunk: QueryResult = errors::parse(response, &what)?;
        for object in chunk.records {
            records.push(record(sobject, object, select)?);
        }
        if !chunk.done && records.len() < limit {
            url = chunk
                .next_records_url
                .map(|path| sf.resolve(&path, &what))
                .transpose()?;
        }
    }
    records.truncate(limit);
    Ok(Page {
        more: records.len() == limit,
        records,
    })
}

/// A record of a query result: every selected field (`attributes` dropped; with
/// `FIELDS(ALL)`, every field not asked for too), the id from `Id`, the watermark from
/// `SystemModstamp`, deleted when `IsDeleted` is true.
fn record(
    sobject: &SObject,
    mut object: Map<String, Json>,
    select: Select,
) -> Result<Record, Error> {
    object.remove("attributes");
    let id = match object.get(ID) {
        Some(Json::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(malformed(sobject, "a record without an `Id`")),
    };
    let watermark = match object.get(WATERMARK) {
        Some(Json::String(text)) => time::parse_rfc3339(text)
            .ok_or_else(|| malformed(sobject, &format!("record {id}'s `{WATERMARK}` `{text}`")))?,
        _ => {
            return Err(malformed(
                sobject,
                &format!("record {id} without `{WATERMARK}`"),
            ));
        }
    };
    let deleted = object.get(DELETED) == Some(&Json::Bool(true));
    let mut fields = Vec::with_capacity(object.len());
    for field in sobject.selected() {
        if let Some(json) = object.remove(&field.name) {
            fields.push(Field {
                name: field.name.clone(),
                value: values::read(field.field_type, json),
            });
        }
    }
    // Salesforce spells keys as describe does, so nothing asked for is left; if it were,
    // keep it.
    if select == Select::Named {
        fields.extend(object.into_iter().map(|(name, json)| Field {
            name,
            value: values::read(FieldType::Text, json),
        }));
    }
    Ok(Record {
        id,
        watermark: Value::Timestamp(watermark),
        fields,
        deleted,
    })
}

fn malformed(sobject: &SObject, what: &str) -> Error {
    Error::Other(format!(
        "Salesforce answered queryAll {} with {what}",
        sobject.name
    ))
}
