//! Reads: the search endpoint, a keyset over (`hs_lastmodifieddate`, `hs_object_id`).

use crate::api::{Api, Purpose};
use crate::schema::{ID_PROPERTY, Schema, WATERMARK_PROPERTY};
use crate::time::parse_datetime;
use crate::values::read_value;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value as Json, json};
use wasync_sdk::time::parse_rfc3339;
use wasync_sdk::{Error, Field, Page, ReadRequest, Record, Timestamp, Value};

/// The most results one search call returns (its `limit` is capped there).
pub const MAX_PAGE: usize = 200;

/// The search endpoint serves the first 10,000 results of a query and refuses an `after`
/// from here on: past it the connector starts a new query after the last record read.
pub const MAX_RESULTS: u64 = 10_000;

const MICROS_PER_MILLI: i64 = 1000;

/// Where a query starts, in HubSpot's milliseconds.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    /// After this (watermark, id): later watermarks, or the same one and a greater id.
    Keyset { millis: i64, id: String },
    /// After this watermark. A cursor between two milliseconds starts here: no HubSpot
    /// watermark equals it, so the id does not matter.
    After { millis: i64 },
}

impl Start {
    fn new(micros: Timestamp, id: String) -> Start {
        let millis = micros.div_euclid(MICROS_PER_MILLI);
        if micros.rem_euclid(MICROS_PER_MILLI) == 0 {
            Start::Keyset { millis, id }
        } else {
            Start::After { millis }
        }
    }
}

/// Reads up to `request.limit` records of the entity `schema` describes.
///
/// HubSpot's search sorts by one property, and does not say in which order it returns
/// objects with equal `hs_lastmodifieddate`. A read cut off inside such a run may therefore
/// hold some of the run but not the lowest ids, and a cursor at its last record would skip
/// the rest. So a read that stops early (at the limit, or at the 10,000-result window) drops
/// the run it stopped in, to be read whole next time; a run that fills a page by itself is
/// read on its own, sorted by id.
pub fn read(api: &Api, schema: &Schema, request: ReadRequest) -> Result<Page, Error> {
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let mut start = match request.after {
        Some(cursor) => match bound(&cursor.watermark, "cursor watermark")? {
            Some(micros) => Some(Start::new(micros, object_id(&cursor.id)?)),
            // A null watermark sorts before every record: read from the beginning.
            None => None,
        },
        None => None,
    };
    let until = match &request.until {
        Some(value) => Some(bound(value, "`until`")?.ok_or_else(|| {
            Error::InvalidInput("`until` is null; it must be a timestamp".into())
        })?),
        None => None,
    };
    // Records up to U µs are those up to floor(U / 1000) ms.
    let until = until.map(|micros| micros.div_euclid(MICROS_PER_MILLI));
    let path = format!("/crm/v3/objects/{}/search", request.entity);

    let first = start.clone();
    let mut records: Vec<Record> = Vec::new();
    let mut after: Option<String> = None;
    let mut more = false;
    while records.len() < limit {
        let want = (limit - records.len()).min(MAX_PAGE);
        let body = search_body(schema, start.as_ref(), until, want, after.as_deref());
        let (found, next) = search(api, schema, &path, &body, want, &mut records)?;
        let Some(next) = next else {
            break;
        };
        if records.len() >= limit {
            more = true;
        } else if found == 0 {
            // A next page after an empty one would loop; HubSpot never sends one.
            break;
        } else if next.parse::<u64>().is_ok_and(|n| n >= MAX_RESULTS) {
            records.sort_by_key(order_key);
            if let Some(run) = cut_run(&mut records)? {
                return read_run(api, schema, &path, run, &first, limit);
            }
            start = Some(window_after(records.last())?);
            after = None;
        } else {
            after = Some(next);
        }
    }
    records.sort_by_key(order_key);
    if more && let Some(run) = cut_run(&mut records)? {
        return read_run(api, schema, &path, run, &first, limit);
    }
    Ok(Page { records, more })
}

/// One search call: its records (at most `want`) appended to `records`; how many it found,
/// and the paging token of the next page, if any.
fn search(
    api: &Api,
    schema: &Schema,
    path: &str,
    body: &Json,
    want: usize,
    records: &mut Vec<Record>,
) -> Result<(usize, Option<String>), Error> {
    let page: SearchPage = api.post(path, body, Purpose::Read)?.decode()?;
    let found = page.results.len();
    records.extend(
        page.results
            .into_iter()
            .take(want)
            .map(|object| record_of(schema, object)),
    );
    Ok((found, page.paging.and_then(|p| p.next).map(|n| n.after)))
}

/// Drops the records of the last watermark run of `records` (sorted), which a read that
/// stopped early may hold only part of; when they are all one run, keeps them and gives its
/// watermark (ms), to be read on its own by id.
fn cut_run(records: &mut Vec<Record>) -> Result<Option<i64>, Error> {
    let Some(last) = records.last().map(|r| r.watermark.clone()) else {
        return Ok(None);
    };
    let kept = records.iter().take_while(|r| r.watermark != last).count();
    if kept > 0 {
        records.truncate(kept);
        return Ok(None);
    }
    match last {
        Value::Timestamp(micros) => Ok(Some(micros.div_euclid(MICROS_PER_MILLI))),
        _ => Err(Error::Other(format!(
            "objects without {WATERMARK_PROPERTY} fill a page: cannot read past them"
        ))),
    }
}

/// Reads the run of objects modified at `millis` (past the cursor's id, when the cursor is
/// in this run), sorted by id, up to `limit`: more than a page shares one watermark.
fn read_run(
    api: &Api,
    schema: &Schema,
    path: &str,
    millis: i64,
    start: &Option<Start>,
    limit: usize,
) -> Result<Page, Error> {
    let mut from = match start {
        Some(Start::Keyset { millis: at, id }) if *at == millis => Some(id.clone()),
        _ => None,
    };
    let mut records = Vec::new();
    let mut after: Option<String> = None;
    while records.len() < limit {
        let want = (limit - records.len()).min(MAX_PAGE);
        let body = run_body(schema, millis, from.as_deref(), want, after.as_deref());
        match search(api, schema, path, &body, want, &mut records)? {
            (0, Some(_)) | (_, None) => break,
            (_, Some(next)) if next.parse::<u64>().is_ok_and(|n| n >= MAX_RESULTS) => {
                from = records.last().map(|r: &Record| r.id.clone());
                after = None;
            }
            (_, Some(next)) => after = Some(next),
        }
    }
    records.sort_by_key(order_key);
    // The run goes on, or later records follow it: either way the read is not through.
    let more = !records.is_empty();
    Ok(Page { records, more })
}

/// The search for one watermark run, by ascending id after `from`.
fn run_body(
    schema: &Schema,
    millis: i64,
    from: Option<&str>,
    limit: usize,
    after: Option<&str>,
) -> Json {
    let filter = |property: &str, operator: &str, value: String| json!({"propertyName": property, "operator": operator, "value": value});
    let mut filters = vec![filter(WATERMARK_PROPERTY, "EQ", millis.to_string())];
    if let Some(id) = from {
        filters.push(filter(ID_PROPERTY, "GT", id.to_owned()));
    }
    json!({
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": ID_PROPERTY, "direction": "ASCENDING"}],
        "properties": schema.read,
        "limit": limit,
        "after": after.unwrap_or("0"),
    })
}

/// The body of one search call (`PublicObjectSearchRequest`): the keyset as two OR'ed
/// filter groups, each bounded by `until`, ascending by watermark.
fn search_body(
    schema: &Schema,
    start: Option<&Start>,
    until: Option<i64>,
    limit: usize,
    after: Option<&str>,
) -> Json {
    let filter = |property: &str, operator: &str, value: String| json!({"propertyName": property, "operator": operator, "value": value});
    let mut groups: Vec<Vec<Json>> = match start {
        None => vec![],
        Some(Start::After { millis }) => {
            vec![vec![filter(WATERMARK_PROPERTY, "GT", millis.to_string())]]
        }
        Some(Start::Keyset { millis, id }) => vec![
            vec![filter(WATERMARK_PROPERTY, "GT", millis.to_string())],
            vec![
                filter(WATERMARK_PROPERTY, "EQ", millis.to_string()),
                filter(ID_PROPERTY, "GT", id.clone()),
            ],
        ],
    };
    if let Some(until) = until {
        let bound = filter(WATERMARK_PROPERTY, "LTE", until.to_string());
        if groups.is_empty() {
            groups.push(vec![]);
        }
        for group in &mut groups {
            group.push(bound.clone());
        }
    }
    let groups: Vec<Json> = groups.into_iter().map(|f| json!({"filters": f})).collect();
    json!({
        "filterGroups": groups,
        "sorts": [{"propertyName": WATERMARK_PROPERTY, "direction": "ASCENDING"}],
        "properties": schema.read,
        "limit": limit,
        "after": after.unwrap_or("0"),
    })
}

/// A cursor or bound as microseconds: a timestamp, or RFC 3339 text taken as one (as the
/// `jsonl` connector does); `None` for null.
pub fn bound(value: &Value, what: &str) -> Result<Option<Timestamp>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Timestamp(micros) => Ok(Some(*micros)),
        Value::Text(text) => parse_rfc3339(text.trim()).map(Some).ok_or_else(|| {
            Error::InvalidInput(format!("{what} `{text}` is not an RFC 3339 timestamp"))
        }),
        other => Err(Error::InvalidInput(format!(
            "{what} {other:?} is not a timestamp (HubSpot's watermark is {WATERMARK_PROPERTY})"
        ))),
    }
}

/// A cursor id: a HubSpot object id, a decimal number (compared as one by the search).
fn object_id(id: &str) -> Result<String, Error> {
    let id = id.trim();
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(Error::InvalidInput(format!(
            "cursor id `{id}` is not a HubSpot object id"
        )))
    }
}

/// The start of the next query when the current one reaches the 10,000-result cap.
fn window_after(last: Option<&Record>) -> Result<Start, Error> {
    match last {
        Some(Record {
            watermark: Value::Timestamp(micros),
            id,
            ..
        }) => Ok(Start::new(*micros, id.clone())),
        Some(record) => Err(Error::Other(format!(
            "object {} has no {WATERMARK_PROPERTY}: cannot read past 10,000 search results",
            record.id
        ))),
        None => Err(Error::Other("the search returned no results".into())),
    }
}

/// Records sort by (watermark, id), ids as numbers: the order the keyset filters assume.
pub fn order_key(record: &Record) -> (Option<Timestamp>, Option<u64>, String) {
    let watermark = match record.watermark {
        Value::Timestamp(micros) => Some(micros),
        _ => None,
    };
    (watermark, record.id.parse().ok(), record.id.clone())
}

/// A search response (`SimplePublicObjectWithForwardPaging`), the parts used.
#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    results: Vec<Object>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<Next>,
}

#[derive(Deserialize)]
struct Next {
    #[serde(deserialize_with = "text")]
    after: String,
}

/// An object (`SimplePublicObject`), the parts used.
#[derive(Deserialize)]
pub struct Object {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(default)]
    pub properties: Map<String, Json>,
    #[serde(default, rename = "updatedAt")]
    updated_at: Option<String>,
}

/// A string, or a number in decimal (ids and paging tokens are documented as strings).
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Json::deserialize(deserializer)? {
        Json::String(text) => Ok(text),
        Json::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, found {other}"
        ))),
    }
}

/// An object as a record: a field for each property read (null when the object has no
/// value), typed by its property; properties the search adds unasked (`createdate`) are left
/// out, so records hold what `describe` lists. The watermark is `hs_lastmodifieddate` (or
/// `updatedAt`, which HubSpot keeps equal to it).
pub fn record_of(schema: &Schema, object: Object) -> Record {
    let mut properties = object.properties;
    let fields: Vec<Field> = schema
        .read
        .iter()
        .map(|name| Field {
            value: read_value(
                schema.type_of(name),
                properties.remove(name).unwrap_or(Json::Null),
            ),
            name: name.clone(),
        })
        .collect();
    let watermark = match fields.iter().find(|f| f.name == WATERMARK_PROPERTY) {
        Some(Field {
            value: Value::Timestamp(micros),
            ..
        }) => Value::Timestamp(*micros),
        _ => object
            .updated_at
            .as_deref()
            .and_then(parse_datetime)
            .map_or(Value::Null, Value::Timestamp),
    };
    Record {
        id: object.id,
        watermark,
        fields,
        deleted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_between_milliseconds_starts_after_it() {
        assert_eq!(
            Start::new(1_575_737_406_678_000, "512".into()),
            Start::Keyset {
                millis: 1_575_737_406_678,
                id: "512".into()
            }
        );
        assert_eq!(
            Start::new(1_575_737_406_678_001, "512".into()),
            Start::After {
                millis: 1_575_737_406_678
            }
        );
        assert_eq!(Start::new(-1, "1".into()), Start::After { millis: -1 });
    }

    #[test]
    fn cursors_are_timestamps_and_object_ids() {
        assert_eq!(bound(&Value::Timestamp(5), "w"), Ok(Some(5)));
        assert_eq!(
            bound(&Value::Text("1970-01-01T00:00:00.001Z".into()), "w"),
            Ok(Some(1000))
        );
        assert_eq!(bound(&Value::Null, "w"), Ok(None));
        assert!(matches!(
            bound(&Value::Integer(5), "w"),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            bound(&Value::Text("soon".into()), "w"),
            Err(Error::InvalidInput(m)) if m.contains("`soon`")
        ));
        assert_eq!(object_id(" 512 "), Ok("512".into()));
        assert!(matches!(object_id("abc"), Err(Error::InvalidInput(_))));
        assert!(matches!(object_id(""), Err(Error::InvalidInput(_))));
    }
}
