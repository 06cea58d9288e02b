//! `write`: one POST of a call's changes to the HTTP collector.
//!
//! Every record carries an id that is the same each time the same change is written, and
//! the request an `Idempotency-Key` made from those ids, so a write replayed after a crash
//! can be recognised and dropped by the collector. The host retries 429s and 5xx with
//! backoff, so the answer seen here is final.

use crate::settings::EntitySettings;
use crate::value::{canonical, to_json};
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};
use wasync_sdk::http::{Request, Response};
use wasync_sdk::{Change, Error, Field};

/// How requests leave the connector: the host's `http::send`, or a fake in tests.
pub type Transport = fn(Request) -> Result<Response, Error>;

/// Hex digits of SHA-256 kept for a derived record id: 128 bits, far past any chance of
/// two different records colliding, and short enough to read in a log.
const DERIVED_ID_HEX: usize = 32;

/// How much of a refusing collector's body an error quotes.
const EXCERPT_CHARS: usize = 200;

/// Posts `changes` of `entity` to `url`; one result per change, in order: the id sent.
pub fn write(
    send: Transport,
    url: &str,
    entity: &str,
    settings: &EntitySettings,
    changes: Vec<Change>,
) -> Vec<Result<String, Error>> {
    let mut results: Vec<Result<String, Error>> = Vec::with_capacity(changes.len());
    let mut records = Vec::new();
    for change in changes {
        match record(entity, settings, change) {
            Ok((id, record)) => {
                records.push(record);
                results.push(Ok(id));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if records.is_empty() {
        return results;
    }
    let ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(String::as_str))
        .collect();
    let request = Request {
        method: "POST".into(),
        url: url.to_owned(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Idempotency-Key".into(), idempotency_key(&ids)),
        ],
        body: Some(
            json!({"entity": entity, "records": records})
                .to_string()
                .into_bytes(),
        ),
    };
    let outcome = send(request).and_then(|response| accepted(url, &response));
    match outcome {
        Ok(()) => results,
        Err(e) => results.into_iter().map(|r| r.and(Err(e.clone()))).collect(),
    }
}

/// The id and JSON record of one change, or why it cannot be sent.
fn record(
    entity: &str,
    settings: &EntitySettings,
    change: Change,
) -> Result<(String, Json), Error> {
    match change {
        Change::Delete(id) if id.trim().is_empty() => {
            Err(Error::InvalidInput("a delete has an empty id".into()))
        }
        Change::Delete(id) => {
            let record = json!({"id": id, "deleted": true});
            Ok((id, record))
        }
        Change::Upsert { id, fields } => {
            let fields = fields_json(&fields)?;
            let id = match id.filter(|id| !id.trim().is_empty()) {
                Some(id) => id,
                None => fields_id(&fields, &settings.id_field)
                    .unwrap_or_else(|| derived_id(entity, &fields)),
            };
            let record = json!({"id": id, "deleted": false, "fields": fields});
            Ok((id, record))
        }
    }
}

/// The fields as one JSON object; a later field of the same name wins.
fn fields_json(fields: &[Field]) -> Result<Map<String, Json>, Error> {
    fields
        .iter()
        .map(|f| {
            let value = to_json(&f.value).map_err(|why| {
                Error::InvalidInput(format!("field `{}` cannot be sent: {why}", f.name))
            })?;
            Ok((f.name.clone(), value))
        })
        .collect()
}

/// The id field's value, when it is non-empty text or an integer.
fn fields_id(fields: &Map<String, Json>, id_field: &str) -> Option<String> {
    match fields.get(id_field)? {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// An id from the record's content: the first hex digits of SHA-256 over the entity, a
/// newline, and the canonical JSON of the fields. The same fields always give the same id.
pub fn derived_id(entity: &str, fields: &Map<String, Json>) -> String {
    let mut hash = Sha256::new();
    hash.update(entity.as_bytes());
    hash.update(b"\n");
    hash.update(canonical(&Json::Object(fields.clone())).as_bytes());
    let mut id = hex(&hash.finalize());
    id.truncate(DERIVED_ID_HEX);
    id
}

/// Hex SHA-256 of the ids, each followed by a newline.
pub fn idempotency_key(ids: &[&str]) -> String {
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Ok for a 2xx; otherwise the error every change of the call gets.
fn accepted(url: &str, response: &Response) -> Result<(), Error> {
    let status = response.status;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let message = format!(
        "the collector at {url} answered HTTP {status}: {}",
        excerpt(&response.body)
    );
    Err(match status {
        429 => Error::RateLimited(message),
        400..500 => Error::InvalidInput(message),
        500.. => Error::Unavailable(message),
        _ => Error::Other(format!(
            "{message} (redirects and informational answers are not followed)"
        )),
    })
}

/// The start of a body on one line, for a message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(empty body)".into();
    }
    let mut chars = line.chars();
    let mut shown: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}
