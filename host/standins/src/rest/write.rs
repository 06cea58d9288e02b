//! The single-record endpoints under `/v1/{entity}`: create, read, put, patch, delete.
//! Every write is checked whole before anything changes, and takes its `updated_at` from
//! the clock while holding the data, so that `updated_at` follows the order of writes.

use serde_json::{Map, Value};

use super::Refusal;
use super::store::{self, Data};
use crate::server::{Incoming, Reply};
use crate::time::Clock;

/// The request body as fields to write, checked.
fn fields(req: &Incoming) -> Result<Map<String, Value>, Refusal> {
    let fields = match serde_json::from_slice(&req.body) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => {
            return Err(Refusal::bad_request(
                "the body must be a JSON object of fields",
            ));
        }
        Err(e) => return Err(Refusal::bad_request(format!("the body is not JSON: {e}"))),
    };
    store::validate(&fields)?;
    Ok(fields)
}

fn missing(entity: &str, id: &str) -> Refusal {
    Refusal::not_found(format!("no {entity} record {id}"))
}

/// `POST /v1/{entity}`: 201 with the new record.
pub(crate) fn create(
    data: &mut Data,
    clock: &Clock,
    entity: &str,
    req: &Incoming,
) -> Result<Reply, Refusal> {
    let fields = fields(req)?;
    let record = data.collection_mut(entity).create(fields, clock.now_ms());
    Ok(Reply::json(201, &record.render()))
}

/// `GET /v1/{entity}/{id}`: the record, deleted ones included (with `"deleted": true`).
pub(crate) fn get(data: &Data, entity: &str, id: &str) -> Result<Reply, Refusal> {
    let record = data
        .collection(entity)
        .and_then(|c| c.get(id))
        .ok_or_else(|| missing(entity, id))?;
    Ok(Reply::json(200, &record.render()))
}

/// `PUT /v1/{entity}/{id}`: 201 when created, 200 when updated (and undeleted).
pub(crate) fn put(
    data: &mut Data,
    clock: &Clock,
    entity: &str,
    id: &str,
    req: &Incoming,
) -> Result<Reply, Refusal> {
    let fields = fields(req)?;
    let (created, record) = data.collection_mut(entity).put(id, fields, clock.now_ms());
    Ok(Reply::json(
        if created { 201 } else { 200 },
        &record.render(),
    ))
}

/// `PATCH /v1/{entity}/{id}`: 200 with the record; 404 when missing or deleted.
pub(crate) fn patch(
    data: &mut Data,
    clock: &Clock,
    entity: &str,
    id: &str,
    req: &Incoming,
) -> Result<Reply, Refusal> {
    let fields = fields(req)?;
    let record = data
        .existing_mut(entity)
        .and_then(|c| c.patch(id, fields, clock.now_ms()))
        .ok_or_else(|| missing(entity, id))?;
    Ok(Reply::json(200, &record.render()))
}

/// `DELETE /v1/{entity}/{id}`: 204; 404 when missing or already deleted.
pub(crate) fn delete(
    data: &mut Data,
    clock: &Clock,
    entity: &str,
    id: &str,
) -> Result<Reply, Refusal> {
    let deleted = data
        .existing_mut(entity)
        .is_some_and(|c| c.delete(id, clock.now_ms()));
    if deleted {
        Ok(Reply::empty(204))
    } else {
        Err(missing(entity, id))
    }
}
