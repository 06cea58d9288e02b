//! `write`: changes grouped by kind into sObject Collections calls of at most 200 records,
//! with one result per change in the original order.

use crate::describe::{ID, SObject};
use crate::{Salesforce, errors, values};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use wasync_sdk::{Change, Error, Field};

/// sObject Collections take at most 200 records a call (more is `EXCEEDED_ID_LIMIT`).
const MAX_RECORDS_PER_CALL: usize = 200;

/// The kinds of call, in the order they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Kind {
    /// `PATCH /composite/sobjects`, records with `Id`.
    Update,
    /// `PATCH /composite/sobjects/{sObject}/{upsert_field}`.
    Upsert,
    /// `POST /composite/sobjects`.
    Create,
    /// `DELETE /composite/sobjects?ids=...`.
    Delete,
}

const KINDS: [Kind; 4] = [Kind::Update, Kind::Upsert, Kind::Create, Kind::Delete];

/// One change, checked and converted: what goes into its call.
#[derive(Debug)]
struct Item {
    /// Its place in the `write` call.
    index: usize,
    /// The record id, for updates and deletes.
    id: Option<String>,
    /// The fields to send, named as describe spells them.
    fields: Vec<(String, Json)>,
}

/// One entry of a collections response.
#[derive(Debug, Deserialize)]
struct SaveResult {
    #[serde(default)]
    id: Option<String>,
    success: bool,
    #[serde(default)]
    errors: Vec<RecordError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordError {
    #[serde(default)]
    status_code: String,
    #[serde(default)]
    message: String,
}

/// Writes `changes` to `sobject`; one result per change, in order.
pub fn write(
    sf: &Salesforce,
    sobject: &SObject,
    changes: Vec<Change>,
) -> Vec<Result<String, Error>> {
    let mut results: Vec<Option<Result<String, Error>>> = vec![None; changes.len()];
    let mut groups: [Vec<Item>; KINDS.len()] = Default::default();
    for (index, change) in changes.into_iter().enumerate() {
        match prepare(sobject, index, change) {
            Ok((kind, item)) => groups[kind as usize].push(item),
            Err(e) => results[index] = Some(Err(e)),
        }
    }
    for (kind, items) in KINDS.into_iter().zip(&groups) {
        for chunk in items.chunks(MAX_RECORDS_PER_CALL) {
            for (item, result) in chunk.iter().zip(send(sf, sobject, kind, chunk)) {
                results[item.index] = Some(result);
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Other("the change was not written".into()))))
        .collect()
}

/// Which call a change goes to, and its record.
fn prepare(sobject: &SObject, index: usize, change: Change) -> Result<(Kind, Item), Error> {
    match change {
        Change::Delete(id) => {
            check_id(&id)?;
            let item = Item {
                index,
                id: Some(id),
                fields: Vec::new(),
            };
            Ok((Kind::Delete, item))
        }
        Change::Upsert {
            id: Some(id),
            fields,
        } => {
            check_id(&id)?;
            let fields = fields
                .into_iter()
                .filter(|f| !f.name.eq_ignore_ascii_case(ID));
            let fields = convert(sobject, fields)?;
            Ok((
                Kind::Update,
                Item {
                    index,
                    id: Some(id),
                    fields,
                },
            ))
        }
        Change::Upsert { id: None, fields } => {
            let fields = convert(sobject, fields.into_iter())?;
            let keyed = sobject.upsert_field.as_ref().is_some_and(|key| {
                fields
                    .iter()
                    .any(|(name, value)| name == key && !is_blank(value))
            });
            let kind = if keyed { Kind::Upsert } else { Kind::Create };
            Ok((
                kind,
                Item {
                    index,
                    id: None,
                    fields,
                },
            ))
        }
    }
}

/// Null, or text that is empty or only white space: no external id.
fn is_blank(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A Salesforce record id: 15 or 18 letters and digits. Ids go into URLs, so nothing else
/// is let through.
fn check_id(id: &str) -> Result<(), Error> {
    if matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "`{id}` is not a Salesforce record id (15 or 18 letters and digits)"
        )))
    }
}

/// The fields as JSON under describe's names. A field describe does not list, a read-only
/// one or a value that cannot be written fails the change, naming every such field.
fn convert(
    sobject: &SObject,
    fields: impl Iterator<Item = Field>,
) -> Result<Vec<(String, Json)>, Error> {
    let mut converted = Vec::new();
    let mut refused = Vec::new();
    for field in fields {
        match sobject.field(&field.name) {
            None => refused.push(format!("`{}` (no such field)", field.name)),
            Some(known) if known.read_only => refused.push(format!("`{}` (read-only)", known.name)),
            Some(known) => match values::write(known.field_type, field.value) {
                Ok(json) => converted.push((known.name.clone(), json)),
                Err(why) => refused.push(format!("`{}` ({why})", known.name)),
            },
        }
    }
    if refused.is_empty() {
        Ok(converted)
    } else {
        Err(Error::InvalidInput(format!(
            "cannot write {} of {}",
            refused.join(", "),
            sobject.name
        )))
    }
}

/// Makes one call for `items` (at most 200 of one kind); one result per item.
fn send(
    sf: &Salesforce,
    sobject: &SObject,
    kind: Kind,
    items: &[Item],
) -> Vec<Result<String, Error>> {
    let base = sf.base_url();
    let (method, url, what) = match (kind, &sobject.upsert_field) {
        (Kind::Update, _) => ("PATCH", format!("{base}/composite/sobjects"), "update"),
        (Kind::Upsert, Some(key)) => (
            "PATCH",
            format!("{base}/composite/sobjects/{}/{key}", sobject.name),
            "upsert",
        ),
        // An upsert without an upsert field is a create (`prepare` never makes one).
        (Kind::Create | Kind::Upsert, _) => {
            ("POST", format!("{base}/composite/sobjects"), "create")
        }
        (Kind::Delete, _) => {
            let ids: Vec<&str> = items.iter().filter_map(|i| i.id.as_deref()).collect();
            let url = format!(
                "{base}/composite/sobjects?ids={}&allOrNone=false",
                ids.join(",")
            );
            ("DELETE", url, "delete")
        }
    };
    let what = format!("{what} {} ({} records)", sobject.name, items.len());
    let body = (kind != Kind::Delete).then(|| body(&sobject.name, items));
    let saved = sf
        .call(method, url, Vec::new(), body)
        .and_then(|response| errors::parse::<Vec<SaveResult>>(response, &what));
    match saved {
        Ok(saved) if saved.len() == items.len() => items
            .iter()
            .zip(saved)
            .map(|(item, saved)| outcome(kind, item, saved))
            .collect(),
        Ok(saved) => {
            let e = Error::Other(format!(
                "Salesforce answered {what} with {} results",
                saved.len()
            ));
            vec![Err(e); items.len()]
        }
        Err(e) => vec![Err(e); items.len()],
    }
}

/// The result of one record: its id, or Salesforce's `statusCode: message`.
fn outcome(kind: Kind, item: &Item, saved: SaveResult) -> Result<String, Error> {
    let already_deleted = || {
        !saved.errors.is_empty()
            && saved
                .errors
                .iter()
                .all(|e| e.status_code == "ENTITY_IS_DELETED")
    };
    if saved.success || (kind == Kind::Delete && already_deleted()) {
        return item
            .id
            .clone()
            .or(saved.id)
            .ok_or_else(|| Error::Other("Salesforce reported a success without an id".into()));
    }
    let message = saved
        .errors
        .iter()
        .map(|e| errors::with_fields(&e.status_code, &e.message, &[]))
        .collect::<Vec<_>>()
        .join("; ");
    if saved
        .errors
        .iter()
        .any(|e| e.status_code == "UNABLE_TO_LOCK_ROW")
    {
        // The record was locked by another transaction: Salesforce says to retry.
        return Err(Error::Unavailable(message));
    }
    if message.is_empty() {
        return Err(Error::InvalidInput(
            "Salesforce refused the record without saying why".into(),
        ));
    }
    Err(Error::InvalidInput(message))
}

/// `{"allOrNone": false, "records": [...]}` as bytes.
fn body(sobject: &str, items: &[Item]) -> Vec<u8> {
    let records: Vec<Out> = items.iter().map(|item| Out { sobject, item }).collect();
    let body = Body {
        all_or_none: false,
        records,
    };
    // Serializing strings, numbers and parsed JSON into a vector cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    all_or_none: bool,
    records: Vec<Out<'a>>,
}

/// One record of a request body: `attributes` first, then `Id` (updates), then the fields.
struct Out<'a> {
    sobject: &'a str,
    item: &'a Item,
}

impl Serialize for Out<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = usize::from(self.item.id.is_some());
        let mut map = serializer.serialize_map(Some(1 + id + self.item.fields.len()))?;
        map.serialize_entry(
            "attributes",
            &Attributes {
                r#type: self.sobject,
            },
        )?;
        if let Some(id) = &self.item.id {
            map.serialize_entry(ID, id)?;
        }
        for (name, value) in &self.item.fields {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Attributes<'a> {
    r#type: &'a str,
}
