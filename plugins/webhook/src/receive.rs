//! A verified webhook body as entity changes.
//!
//! The body is one item or an array of items; each item names its entity and carries its
//! data. Any item that is not usable refuses the whole request (`invalid-input`, naming the
//! item by its index), so a sender never has half a message stored.

use crate::settings::EntitySettings;
use crate::signature::Verified;
use crate::value::{from_json, type_name};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use wasync_sdk::time::parse_rfc3339;
use wasync_sdk::{EntityChange, Error, Field, Record, Timestamp, Value};

/// The most items one request may carry: enough for any sender's batch, few enough that
/// one request cannot hand the host an unbounded amount of work.
pub const MAX_ITEMS: usize = 1000;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MILLI: i64 = 1_000;

/// The changes a verified request's body carries, in order.
pub fn changes(
    body: &[u8],
    message: &Verified,
    entities: &BTreeMap<String, EntitySettings>,
) -> Result<Vec<EntityChange>, Error> {
    let text = std::str::from_utf8(body).map_err(|e| {
        input(format!(
            "the body is not UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    let json: Json =
        serde_json::from_str(text).map_err(|e| input(format!("the body is not JSON: {e}")))?;
    let items: Vec<(Json, String)> = match json {
        Json::Object(_) => vec![(json, message.id.clone())],
        Json::Array(items) if items.len() > MAX_ITEMS => {
            return Err(input(format!(
                "the body holds {} items, more than the {MAX_ITEMS} one request may carry",
                items.len()
            )));
        }
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (item, format!("{}#{i}", message.id)))
            .collect(),
        other => {
            return Err(input(format!(
                "the body is {}: send one object or an array of objects",
                type_name(&other)
            )));
        }
    };
    let watermark = message.timestamp.saturating_mul(MICROS_PER_SECOND);
    items
        .into_iter()
        .enumerate()
        .map(|(index, (item, fallback_id))| {
            change(item, fallback_id, watermark, entities)
                .map_err(|why| input(format!("item {index}: {why}")))
        })
        .collect()
}

/// One item as a change; `fallback_id` and `fallback_watermark` come from the message.
fn change(
    item: Json,
    fallback_id: String,
    fallback_watermark: Timestamp,
    entities: &BTreeMap<String, EntitySettings>,
) -> Result<EntityChange, String> {
    let Json::Object(mut item) = item else {
        return Err(format!("is {}, not an object", type_name(&item)));
    };
    let entity = match item.remove("entity") {
        Some(Json::String(name)) => name,
        Some(other) => return Err(format!("`entity` is {}, not text", type_name(&other))),
        None => return Err("has no `entity`".into()),
    };
    let Some(settings) = entities.get(&entity) else {
        let known: Vec<&str> = entities.keys().map(String::as_str).collect();
        return Err(format!(
            "entity `{entity}` is not configured (configured: {})",
            known.join(", ")
        ));
    };
    let deleted = match item.remove("deleted") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => b,
        Some(other) => return Err(format!("`deleted` is {}, not a boolean", type_name(&other))),
    };
    let data = match item.remove("data") {
        Some(Json::Object(data)) => data,
        None | Some(Json::Null) if deleted => Map::new(),
        Some(other) => return Err(format!("`data` is {}, not an object", type_name(&other))),
        None => return Err("has no `data` object".into()),
    };

    let id_field = &settings.id_field;
    let id = match id_of(item.get("id"), "`id`")? {
        Some(id) => id,
        None => id_of(data.get(id_field), &format!("data.`{id_field}`"))?.unwrap_or(fallback_id),
    };
    let watermark_field = settings.watermark_field();
    let watermark = match timestamp_of(item.get("timestamp"), "`timestamp`")? {
        Some(t) => t,
        None => timestamp_of(
            data.get(watermark_field),
            &format!("data.`{watermark_field}`"),
        )?
        .unwrap_or(fallback_watermark),
    };

    let fields = data
        .into_iter()
        .map(|(name, value)| Field {
            name,
            value: from_json(value),
        })
        .collect();
    Ok(EntityChange {
        entity,
        record: Record {
            id,
            watermark: Value::Timestamp(watermark),
            fields,
            deleted,
        },
    })
}

/// An id given as non-empty text or an integer; `None` when absent, null or empty text.
fn id_of(json: Option<&Json>, what: &str) -> Result<Option<String>, String> {
    match json {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(format!(
            "{what} is {}; an id is text or an integer",
            type_name(other)
        )),
    }
}

/// A timestamp given as RFC 3339 text or epoch milliseconds; `None` when absent or null.
fn timestamp_of(json: Option<&Json>, what: &str) -> Result<Option<Timestamp>, String> {
    let micros = match json {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::String(text)) => parse_rfc3339(text),
        Some(Json::Number(n)) => n.as_i64().and_then(|ms| ms.checked_mul(MICROS_PER_MILLI)),
        Some(_) => None,
    };
    match micros {
        Some(micros) => Ok(Some(micros)),
        None => {
            let shown: String = json
                .map(Json::to_string)
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            Err(format!(
                "{what} {shown} is neither RFC 3339 text (2024-03-01T12:00:00Z) nor whole epoch milliseconds"
            ))
        }
    }
}

fn input(message: String) -> Error {
    Error::InvalidInput(message)
}
