//! Writes: changes grouped into calls of the batch endpoints, results back in change order.

use crate::api::{Api, BatchError, Purpose};
use crate::schema::{ID_PROPERTY, Schema};
use crate::search::Object;
use crate::values::write_value;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::collections::{HashMap, HashSet};
use wasync_sdk::{Change, Error, Field};

/// The most inputs a batch endpoint takes in one call.
pub const MAX_BATCH: usize = 100;

/// The batch endpoint a change goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// An upsert with an id.
    Update,
    /// A create keyed by the upsert property.
    Upsert,
    /// A create without a key.
    Create,
    /// A delete.
    Archive,
}

impl Op {
    const ALL: [Op; 4] = [Op::Update, Op::Upsert, Op::Create, Op::Archive];

    fn endpoint(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Upsert => "upsert",
            Op::Create => "create",
            Op::Archive => "archive",
        }
    }
}

/// One change, ready to send.
struct Input {
    /// Its place among the call's changes.
    index: usize,
    /// The object id (update, archive) or upsert property value (upsert); empty for a create.
    key: String,
    properties: Map<String, Json>,
}

/// Writes `changes` to the object type `schema` describes: one result per change, in order.
pub fn write(api: &Api, schema: &Schema, changes: Vec<Change>) -> Vec<Result<String, Error>> {
    let mut results: Vec<Option<Result<String, Error>>> = vec![None; changes.len()];
    let mut groups: HashMap<Op, Vec<Input>> = HashMap::new();
    for (index, change) in changes.into_iter().enumerate() {
        match prepare(schema, change) {
            Ok((op, key, properties)) => groups.entry(op).or_default().push(Input {
                index,
                key,
                properties,
            }),
            Err(e) => results[index] = Some(Err(e)),
        }
    }
    for op in Op::ALL {
        for chunk in chunks(op, groups.remove(&op).unwrap_or_default()) {
            for (index, result) in send(api, schema, op, &chunk) {
                results[index] = Some(result);
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Other("the change was not written".into()))))
        .collect()
}

/// The endpoint, key and properties of one change, or why it cannot be written.
fn prepare(schema: &Schema, change: Change) -> Result<(Op, String, Map<String, Json>), Error> {
    match change {
        Change::Delete(id) => Ok((Op::Archive, object_id(&id)?, Map::new())),
        Change::Upsert {
            id: Some(id),
            fields,
        } => {
            // The id goes in the input; the id property itself is never written.
            let fields = fields.into_iter().filter(|f| f.name != ID_PROPERTY);
            Ok((Op::Update, object_id(&id)?, properties(schema, fields)?))
        }
        Change::Upsert { id: None, fields } => {
            let properties = properties(schema, fields.into_iter())?;
            let key = schema
                .upsert_property
                .as_ref()
                .and_then(|name| properties.get(name))
                .and_then(Json::as_str)
                .filter(|key| !key.trim().is_empty());
            Ok(match key {
                Some(key) => (Op::Upsert, key.to_owned(), properties),
                None => (Op::Create, String::new(), properties),
            })
        }
    }
}

fn object_id(id: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::InvalidInput("the object id is empty".into()));
    }
    Ok(id.to_owned())
}

/// Fields as property values; a property that is unknown, read-only or cannot take its
/// value fails the change, naming the property.
fn properties(
    schema: &Schema,
    fields: impl Iterator<Item = Field>,
) -> Result<Map<String, Json>, Error> {
    let mut properties = Map::new();
    for Field { name, value } in fields {
        let Some(property) = schema.property(&name) else {
            return Err(Error::InvalidInput(format!(
                "`{}` has no property `{name}`",
                schema.object_type()
            )));
        };
        if property.read_only {
            return Err(Error::InvalidInput(format!(
                "property `{name}` of `{}` is read-only",
                schema.object_type()
            )));
        }
        let text = write_value(property.ty, value)
            .map_err(|e| Error::InvalidInput(format!("property `{name}`: {e}")))?;
        properties.insert(name, Json::String(text));
    }
    Ok(properties)
}

/// Inputs in calls of at most [`MAX_BATCH`], a key at most once per call (HubSpot refuses a
/// batch that names an id twice).
fn chunks(op: Op, inputs: Vec<Input>) -> Vec<Vec<Input>> {
    let mut chunks: Vec<Vec<Input>> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    for input in inputs {
        let repeated = op != Op::Create && keys.contains(&input.key);
        if chunks
            .last()
            .is_none_or(|c| c.len() >= MAX_BATCH || repeated)
        {
            chunks.push(Vec::new());
            keys.clear();
        }
        keys.insert(input.key.clone());
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(input);
        }
    }
    chunks
}

/// A batch response (`SimplePublicObjectBatch` or, with status 207,
/// `SimplePublicObjectBatchWithErrors`), the parts used.
#[derive(Default, Deserialize)]
struct BatchResponse {
    #[serde(default)]
    results: Vec<Object>,
    #[serde(default)]
    errors: Vec<BatchError>,
}

/// One call of a batch endpoint: a result for each input, by the input's index.
fn send(
    api: &Api,
    schema: &Schema,
    op: Op,
    chunk: &[Input],
) -> Vec<(usize, Result<String, Error>)> {
    let inputs: Vec<Json> = chunk
        .iter()
        .map(|input| match op {
            Op::Update => json!({"id": input.key, "properties": input.properties}),
            Op::Upsert => json!({"idProperty": schema.upsert_property, "id": input.key,
                                 "properties": input.properties}),
            Op::Create => json!({"properties": input.properties}),
            Op::Archive => json!({"id": input.key}),
        })
        .collect();
    let path = format!(
        "/crm/v3/objects/{}/batch/{}",
        schema.object_type(),
        op.endpoint()
    );
    let response = api
        .post(&path, &json!({"inputs": inputs}), Purpose::Write)
        .and_then(|reply| match reply.body {
            // batch/archive answers 204 No Content.
            None => Ok(BatchResponse::default()),
            Some(_) => reply.decode::<BatchResponse>(),
        });
    let results: Vec<Result<String, Error>> = match response {
        Err(e) => vec![Err(e); chunk.len()],
        Ok(response) if op == Op::Create => created(chunk.len(), response),
        Ok(response) => by_key(schema, op, chunk, &response),
    };
    chunk.iter().map(|input| input.index).zip(results).collect()
}

/// Creates carry no key, so their results map back by position: HubSpot answers a batch
/// create without trace ids all or nothing, with the objects in input order.
fn created(count: usize, response: BatchResponse) -> Vec<Result<String, Error>> {
    if response.errors.is_empty() && response.results.len() == count {
        return response.results.into_iter().map(|o| Ok(o.id)).collect();
    }
    let first = response
        .errors
        .first()
        .map_or_else(String::new, |e| format!(": {}", e.error()));
    let error = Error::Other(format!(
        "HubSpot created {} of {count} objects without saying which{first}",
        response.results.len()
    ));
    vec![Err(error); count]
}

/// Results of updates, upserts and archives, matched by key: an input named by an error's
/// `context.ids` fails with it, the others succeed (an upsert with the id of the object its
/// key matched). An error that names no ids fails the inputs the results do not show.
fn by_key(
    schema: &Schema,
    op: Op,
    chunk: &[Input],
    response: &BatchResponse,
) -> Vec<Result<String, Error>> {
    let mut failed: HashMap<&str, Error> = HashMap::new();
    for error in &response.errors {
        for id in error.ids() {
            failed.entry(id).or_insert_with(|| error.error());
        }
    }
    let unattributed = response
        .errors
        .iter()
        .find(|e| e.ids().is_empty())
        .map(BatchError::error);
    // The object each result is for: its id, or for an upsert its key property's value.
    let key_of = |object: &Object| -> Option<String> {
        match op {
            Op::Upsert => {
                let name = schema.upsert_property.as_deref()?;
                object.properties.get(name)?.as_str().map(str::to_owned)
            }
            _ => Some(object.id.clone()),
        }
    };
    let written: HashMap<String, &str> = response
        .results
        .iter()
        .filter_map(|o| Some((key_of(o)?, o.id.as_str())))
        .collect();
    let in_order = response.errors.is_empty() && response.results.len() == chunk.len();
    chunk
        .iter()
        .enumerate()
        .map(|(i, input)| {
            if let Some(error) = failed.get(input.key.as_str()) {
                return Err(error.clone());
            }
            let found = written.get(&input.key).copied().or_else(|| {
                // HubSpot may normalise a key's case (e-mail addresses).
                written
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(&input.key))
                    .map(|(_, id)| *id)
            });
            match (op, found, &unattributed) {
                (_, Some(id), _) => Ok(id.to_owned()),
                (Op::Upsert, None, _) if in_order => Ok(response.results[i].id.clone()),
                (_, None, Some(error)) => Err(error.clone()),
                (Op::Upsert, None, None) => Err(Error::Other(format!(
                    "HubSpot's upsert response has no object for `{}` = `{}`",
                    schema.upsert_property.as_deref().unwrap_or_default(),
                    input.key
                ))),
                (_, None, None) => Ok(input.key.clone()),
            }
        })
        .collect()
}
