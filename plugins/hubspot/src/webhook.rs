//! Webhooks: a signed request from HubSpot's Webhooks API, a JSON array of events, as
//! changes of the configured entities.
//!
//! - `*.propertyChange` → a partial record: that one property, typed as reads type it,
//!   watermarked at the event's `occurredAt` (the same timestamp kind as a read's
//!   `hs_lastmodifieddate`, so the two order against each other).
//! - `*.creation` and `*.restore` → the whole object, fetched with one
//!   `POST /crm/v3/objects/{type}/batch/read` per object type and payload, exactly as a read
//!   would return it.
//! - `*.deletion` and `contact.privacyDeletion` → a tombstone watermarked at `occurredAt`.
//!
//! Changes keep the payload's order, one per event. Events of object types that are not
//! configured, of properties that are not read, and of other kinds (associations, merges)
//! are skipped and logged: HubSpot sends what the app subscribed to, which may be more than
//! this use syncs.

use crate::HubSpot;
use crate::api::{BatchError, Purpose};
use crate::schema::Schema;
use crate::search::{Object, record_of, text};
use crate::signature;
use crate::values::read_value;
use crate::write::MAX_BATCH;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use wasync_sdk::{EntityChange, Error, Record, Value, WebhookRequest, log};

const MICROS_PER_MILLI: i64 = 1000;

/// One event of the payload, the parts used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    subscription_type: String,
    #[serde(deserialize_with = "text")]
    object_id: String,
    /// When the change happened, in milliseconds since the epoch.
    occurred_at: i64,
    /// For `object.*` subscriptions: `0-1` (contacts), `0-2` (companies), ...
    #[serde(default)]
    object_type_id: Option<String>,
    #[serde(default)]
    property_name: Option<String>,
    #[serde(default)]
    property_value: Option<Json>,
}

/// What an event asks for.
enum Action {
    PropertyChange,
    Fetch,
    Tombstone,
}

/// A change in payload order, some waiting for the batch read.
enum Slot {
    Ready(EntityChange),
    Fetch { entity: String, id: String },
}

/// Verifies `request` and turns its events into changes.
pub fn receive(hubspot: &HubSpot, request: WebhookRequest) -> Result<Vec<EntityChange>, Error> {
    let Some(settings) = &hubspot.settings.webhook else {
        return Err(Error::InvalidConfig(
            "`webhook` is not configured: webhooks need `webhook.secret` (the HubSpot app's \
             client secret) to be verified"
                .into(),
        ));
    };
    signature::verify(settings, &request, (hubspot.clock)())?;
    let events = parse(&request.body)?;
    let mut slots = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        if let Some(slot) = slot_of(hubspot, index, event)? {
            slots.push(slot);
        }
    }
    let fetched = fetch(hubspot, &slots)?;
    Ok(slots
        .into_iter()
        .filter_map(|slot| match slot {
            Slot::Ready(change) => Some(change),
            Slot::Fetch { entity, id } => {
                let record = fetched.get(&entity)?.get(&id)?.clone();
                Some(EntityChange { entity, record })
            }
        })
        .collect())
}

/// The payload: a JSON array of events; anything else is `invalid-input` saying where.
fn parse(body: &[u8]) -> Result<Vec<Event>, Error> {
    let items: Vec<Json> = serde_json::from_slice(body).map_err(|e| {
        Error::InvalidInput(format!(
            "the HubSpot webhook body is not a JSON array of events: {e}"
        ))
    })?;
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            Event::deserialize(item).map_err(|e| {
                Error::InvalidInput(format!("HubSpot webhook event {index} is malformed: {e}"))
            })
        })
        .collect()
}

/// The change one event makes, or `None` when it is skipped.
fn slot_of(hubspot: &HubSpot, index: usize, event: Event) -> Result<Option<Slot>, Error> {
    let malformed = |what: &str| {
        Error::InvalidInput(format!(
            "HubSpot webhook event {index} is malformed: {what}"
        ))
    };
    let Some((object, action)) = event.subscription_type.split_once('.') else {
        return Err(malformed(&format!(
            "`subscriptionType` `{}` is not `object.action`",
            event.subscription_type
        )));
    };
    let id = event.object_id.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(&format!(
            "`objectId` `{}` is not a HubSpot object id",
            event.object_id
        )));
    }
    let entity = match object {
        "object" => match event.object_type_id.as_deref() {
            Some(type_id) => entity_of_type_id(type_id),
            None => return Err(malformed("an `object.*` event has no `objectTypeId`")),
        },
        name => entity_of_object(name),
    };
    let skip = |why: String| {
        log::debug(&format!(
            "HubSpot webhook event {index} ({} of object {id}) skipped: {why}",
            event.subscription_type
        ));
        Ok(None)
    };
    if !hubspot.settings.entities.contains_key(&entity) {
        return skip(format!("object type `{entity}` is not configured"));
    }
    let action = match action {
        "propertyChange" => Action::PropertyChange,
        "creation" | "restore" => Action::Fetch,
        "deletion" | "privacyDeletion" => Action::Tombstone,
        other => return skip(format!("`{other}` events carry no record change")),
    };
    let watermark = event
        .occurred_at
        .checked_mul(MICROS_PER_MILLI)
        .map(Value::Timestamp)
        .ok_or_else(|| {
            malformed(&format!(
                "`occurredAt` {} is out of range",
                event.occurred_at
            ))
        })?;
    let id = id.to_owned();
    let record = match action {
        Action::Fetch => return Ok(Some(Slot::Fetch { entity, id })),
        Action::Tombstone => Record {
            id,
            watermark,
            fields: Vec::new(),
            deleted: true,
        },
        Action::PropertyChange => {
            let Some(name) = event.property_name else {
                return Err(malformed("a `propertyChange` event has no `propertyName`"));
            };
            let schema = hubspot.schema(&entity)?;
            if !schema.read.contains(&name) {
                return skip(format!("property `{name}` is not read"));
            }
            let value = read_value(
                schema.type_of(&name),
                event.property_value.unwrap_or(Json::Null),
            );
            Record {
                id,
                watermark,
                fields: vec![wasync_sdk::Field { name, value }],
                deleted: false,
            }
        }
    };
    Ok(Some(Slot::Ready(EntityChange { entity, record })))
}

/// The entity of a subscription's object name (`company.creation` → `companies`).
fn entity_of_object(name: &str) -> String {
    match name {
        "company" => "companies".into(),
        "contact" => "contacts".into(),
        "deal" => "deals".into(),
        "ticket" => "tickets".into(),
        "product" => "products".into(),
        "line_item" => "line_items".into(),
        other => other.into(),
    }
}

/// The entity of an `objectTypeId`: HubSpot's standard objects by name, custom objects
/// (`2-1234567`) by their id, which the API also takes in paths.
fn entity_of_type_id(type_id: &str) -> String {
    match type_id {
        "0-1" => "contacts".into(),
        "0-2" => "companies".into(),
        "0-3" => "deals".into(),
        "0-5" => "tickets".into(),
        "0-7" => "products".into(),
        "0-8" => "line_items".into(),
        other => other.into(),
    }
}

/// A batch read's answer (`BatchResponseSimplePublicObject`, 200 or 207), the parts used.
#[derive(Deserialize)]
struct BatchRead {
    #[serde(default)]
    results: Vec<Object>,
    #[serde(default)]
    errors: Vec<BatchError>,
}

/// Fetches the objects the slots wait for: one batch read per object type (of at most 100
/// ids, which a payload of at most 100 events never exceeds). Objects gone since the event
/// are logged and left out: their deletion event follows.
fn fetch(
    hubspot: &HubSpot,
    slots: &[Slot],
) -> Result<HashMap<String, HashMap<String, Record>>, Error> {
    let mut wanted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for slot in slots {
        if let Slot::Fetch { entity, id } = slot {
            let ids = wanted.entry(entity).or_default();
            if !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
    }
    let mut fetched = HashMap::new();
    for (entity, ids) in wanted {
        let schema = hubspot.schema(entity)?;
        let records: &mut HashMap<String, Record> = fetched.entry(entity.to_owned()).or_default();
        for chunk in ids.chunks(MAX_BATCH) {
            records.extend(batch_read(hubspot, &schema, chunk)?);
        }
    }
    Ok(fetched)
}

fn batch_read(
    hubspot: &HubSpot,
    schema: &Schema,
    ids: &[&str],
) -> Result<Vec<(String, Record)>, Error> {
    let path = format!("/crm/v3/objects/{}/batch/read", schema.object_type());
    let inputs: Vec<Json> = ids.iter().map(|id| json!({ "id": id })).collect();
    let body = json!({ "properties": schema.read, "inputs": inputs });
    let answer: BatchRead = hubspot.api.post(&path, &body, Purpose::Read)?.decode()?;
    for error in &answer.errors {
        log::info(&format!(
            "HubSpot webhook: created {} {:?} not read back: {}",
            schema.object_type(),
            error.ids(),
            error.error()
        ));
    }
    Ok(answer
        .results
        .into_iter()
        .map(|object| {
            let record = record_of(schema, object);
            (record.id.clone(), record)
        })
        .collect())
}
