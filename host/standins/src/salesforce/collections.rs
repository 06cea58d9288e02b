//! sObject Collections: create, update, upsert by external id, delete; at most 200
//! records a call, one result per record, `allOrNone` honoured.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::schema::{self, Field, ID, IS_DELETED, SOBJECTS, Val};
use super::{OrgState, Table, error, not_found};
use crate::server::{Incoming, Reply};

/// The most records (or ids) one call may carry.
const MAX_RECORDS: usize = 200;

/// Which write a record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Update,
    /// By the external id field `field` of `sobject`.
    Upsert {
        sobject: usize,
        field: usize,
    },
}

/// One record's error in a result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SaveError {
    status_code: &'static str,
    pub(super) message: String,
    fields: Vec<String>,
}

fn fail(status_code: &'static str, message: impl Into<String>, fields: &[&str]) -> SaveError {
    SaveError {
        status_code,
        message: message.into(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
    }
}

/// One record's result.
#[derive(Debug, Serialize)]
struct SaveResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    success: bool,
    errors: Vec<SaveError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
}

/// A record of a request, checked against its sObject but not against the data yet.
#[derive(Debug)]
struct Input {
    sobject: usize,
    id: Option<String>,
    values: Vec<(usize, Val)>,
}

/// Reads one record of a request. `Err` fails the whole request (`JSON_PARSER_ERROR`, as
/// Salesforce does for a value of the wrong JSON type); `Ok(Err)` fails only this record.
fn read_input(record: &Value, mode: Mode) -> Result<Result<Input, SaveError>, String> {
    let Value::Object(record) = record else {
        return Err(format!(
            "Cannot deserialize instance of SObject from {record}"
        ));
    };
    let declared = match record.get("attributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(attributes)) => match attributes.get("type") {
            Some(Value::String(name)) => Some(name.as_str()),
            None | Some(Value::Null) => None,
            Some(other) => return Err(format!("Cannot deserialize type from {other}")),
        },
        Some(other) => return Err(format!("Cannot deserialize attributes from {other}")),
    };
    let id = match record.iter().find(|(k, _)| k.eq_ignore_ascii_case("Id")) {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::String(id))) => Some(id.clone()),
        Some((_, other)) => return Err(format!("Cannot deserialize instance of id from {other}")),
    };
    let sobject = match (mode, declared) {
        (Mode::Upsert { sobject, .. }, _) => sobject,
        (_, Some(name)) => match schema::sobject(name) {
            Some(index) => index,
            None => {
                return Ok(Err(fail(
                    "INVALID_TYPE",
                    format!("sObject type '{name}' is not supported."),
                    &[],
                )));
            }
        },
        // An update can tell its sObject from the id's key prefix.
        (Mode::Update, None) => match id
            .as_deref()
            .and_then(|id| SOBJECTS.iter().position(|s| id.starts_with(s.key_prefix)))
        {
            Some(index) => index,
            None => {
                return Ok(Err(fail(
                    "INVALID_TYPE",
                    "Must send a concrete entity type.",
                    &[],
                )));
            }
        },
        (Mode::Create, None) => {
            return Ok(Err(fail(
                "INVALID_TYPE",
                "Must send a concrete entity type.",
                &[],
            )));
        }
    };
    let schema = &SOBJECTS[sobject];
    let mut values = Vec::new();
    let mut problem = None;
    for (name, value) in record {
        if name == "attributes" || name.eq_ignore_ascii_case("Id") {
            continue;
        }
        let Some(index) = schema.field(name) else {
            problem.get_or_insert_with(|| {
                fail(
                    "INVALID_FIELD",
                    format!("No such column '{name}' on sobject of type {}", schema.name),
                    &[],
                )
            });
            continue;
        };
        let field = &schema.fields[index];
        let writable = match mode {
            Mode::Create => field.createable,
            Mode::Update => field.updateable,
            Mode::Upsert { .. } => field.createable && field.updateable,
        };
        if !writable {
            problem.get_or_insert_with(|| {
                fail(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                        field.name
                    ),
                    &[field.name],
                )
            });
            continue;
        }
        let val = schema::coerce(field, value).map_err(|m| m.0)?;
        if let Some(error) = check_value(field, &val) {
            problem.get_or_insert(error);
        }
        values.push((index, val));
    }
    if mode == Mode::Create && id.is_some() {
        problem.get_or_insert_with(|| {
            fail(
                "INVALID_FIELD",
                "cannot specify Id in an insert call",
                &["Id"],
            )
        });
    }
    Ok(match problem {
        Some(error) => Err(error),
        None => Ok(Input {
            sobject,
            id,
            values,
        }),
    })
}

/// A value's own problem: too long, or a reference that is not an id.
fn check_value(field: &Field, val: &Val) -> Option<SaveError> {
    let Val::Text(text) = val else {
        return None;
    };
    if field.ty == schema::FieldType::Reference && !schema::is_id(text) {
        return Some(fail(
            "MALFORMED_ID",
            format!("{}: id value of incorrect type: {text}", field.label),
            &[field.name],
        ));
    }
    let length = text.chars().count();
    (field.length > 0 && length > field.length).then(|| {
        fail(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {text} (max length={})",
                field.label, field.length
            ),
            &[field.name],
        )
    })
}

/// Checks a record about to be stored at `index` (`None`: a new one): required fields
/// present, unique values free.
fn check_record(
    table: &Table,
    sobject: usize,
    record: &[Val],
    index: Option<usize>,
) -> Result<(), SaveError> {
    let schema = &SOBJECTS[sobject];
    let missing: Vec<&str> = schema
        .fields
        .iter()
        .zip(record)
        .filter(|(f, v)| f.required() && v.is_null())
        .map(|(f, _)| f.name)
        .collect();
    if !missing.is_empty() {
        return Err(fail(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            &missing,
        ));
    }
    for (field, _) in &table.unique {
        if let Val::Text(value) = &record[*field]
            && let Some(holder) = table.holder(*field, value)
            && Some(holder) != index
        {
            let holder_id = match &table.records[holder][ID] {
                Val::Text(id) => id.clone(),
                _ => String::new(),
            };
            return Err(fail(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {} duplicates value on record with id: {holder_id}",
                    schema.fields[*field].name
                ),
                &[],
            ));
        }
    }
    Ok(())
}

fn stamp(sobject: usize, record: &mut [Val], now: i64, created: bool) {
    let schema = &SOBJECTS[sobject];
    if created {
        record[schema.must("CreatedDate")] = Val::DateTime(now);
    }
    record[schema.must("LastModifiedDate")] = Val::DateTime(now);
    record[schema.must("SystemModstamp")] = Val::DateTime(now);
}

fn create(state: &mut OrgState, input: Input, now: i64) -> Result<String, SaveError> {
    let schema = &SOBJECTS[input.sobject];
    let table = &mut state.tables[input.sobject];
    let mut record = vec![Val::Null; schema.fields.len()];
    record[IS_DELETED] = Val::Bool(false);
    for (field, val) in input.values {
        record[field] = val;
    }
    check_record(table, input.sobject, &record, None)?;
    let id = schema::make_id(schema.key_prefix, table.next_number);
    table.next_number += 1;
    record[ID] = Val::Text(id.clone());
    stamp(input.sobject, &mut record, now, true);
    let index = table.records.len();
    table.records.push(record);
    table.by_id.insert(schema::id_key(&id), index);
    table.reindex(index);
    Ok(id)
}

/// Finds the live record `id` of `sobject`, or the error Salesforce gives.
fn live(table: &Table, id: &str) -> Result<usize, SaveError> {
    if !schema::is_id(id) {
        return Err(fail("MALFORMED_ID", format!("malformed id {id}"), &[]));
    }
    let index = table.find(id).ok_or_else(|| {
        fail(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &[],
        )
    })?;
    if table.is_deleted(index) {
        return Err(fail("ENTITY_IS_DELETED", "entity is deleted", &[]));
    }
    Ok(index)
}

fn update_at(
    state: &mut OrgState,
    sobject: usize,
    index: usize,
    values: Vec<(usize, Val)>,
    now: i64,
) -> Result<String, SaveError> {
    let table = &mut state.tables[sobject];
    let mut record = table.records[index].clone();
    for (field, val) in values {
        record[field] = val;
    }
    check_record(table, sobject, &record, Some(index))?;
    stamp(sobject, &mut record, now, false);
    table.unindex(index);
    table.records[index] = record;
    table.reindex(index);
    match &table.records[index][ID] {
        Val::Text(id) => Ok(id.clone()),
        _ => Ok(String::new()),
    }
}

fn update(state: &mut OrgState, input: Input, now: i64) -> Result<String, SaveError> {
    let Some(id) = input.id.as_deref() else {
        return Err(fail(
            "MISSING_ARGUMENT",
            "Id not specified in an update call",
            &[],
        ));
    };
    let index = live(&state.tables[input.sobject], id)?;
    update_at(state, input.sobject, index, input.values, now)
}

fn upsert_one(
    state: &mut OrgState,
    input: Input,
    field: usize,
    now: i64,
) -> Result<(String, bool), SaveError> {
    let value = input
        .values
        .iter()
        .find(|(f, _)| *f == field)
        .and_then(|(_, v)| match v {
            Val::Text(text) => Some(text.clone()),
            _ => None,
        });
    let Some(value) = value else {
        let name = SOBJECTS[input.sobject].fields[field].name;
        return Err(fail(
            "MISSING_ARGUMENT",
            format!("{name} not specified"),
            &[name],
        ));
    };
    match state.tables[input.sobject].holder(field, &value) {
        Some(index) => {
            update_at(state, input.sobject, index, input.values, now).map(|id| (id, false))
        }
        None => create(state, input, now).map(|id| (id, true)),
    }
}

/// Deletes (soft) one record by id, whatever its sObject.
pub(super) fn delete_one(state: &mut OrgState, id: &str, now: i64) -> Result<String, SaveError> {
    if !schema::is_id(id) {
        return Err(fail("MALFORMED_ID", format!("malformed id {id}"), &[]));
    }
    let Some(sobject) = SOBJECTS.iter().position(|s| id.starts_with(s.key_prefix)) else {
        return Err(fail(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &[],
        ));
    };
    let table = &mut state.tables[sobject];
    let index = live(table, id)?;
    table.unindex(index);
    let record = &mut table.records[index];
    record[IS_DELETED] = Val::Bool(true);
    stamp(sobject, record, now, false);
    match &record[ID] {
        Val::Text(id) => Ok(id.clone()),
        _ => Ok(String::new()),
    }
}

/// Reads `{"allOrNone": bool, "records": [...]}`.
fn read_body(req: &Incoming) -> Result<(bool, Vec<Value>), Reply> {
    let parser_error = |message: String| error(400, "JSON_PARSER_ERROR", &message);
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        parser_error(format!(
            "{e}; at [line:{}, column:{}]",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(mut body) = body else {
        return Err(parser_error(
            "Cannot deserialize instance of SObjectCollectionRequest: expected an object".into(),
        ));
    };
    let all_or_none = match body.get("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(parser_error(format!(
                "Cannot deserialize instance of boolean from {other}"
            )));
        }
    };
    let records = match body.remove("records") {
        Some(Value::Array(records)) => records,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(parser_error(format!(
                "Cannot deserialize instance of SObject[] from {other}"
            )));
        }
    };
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok((all_or_none, records))
}

fn too_many() -> Reply {
    error(
        400,
        "EXCEEDED_ID_LIMIT",
        "Number of records in the request exceeds the limit of 200",
    )
}

/// What happened to one record: its id and, for upserts, whether it was created.
type Outcome = Result<(String, Option<bool>), SaveError>;

/// Turns outcomes into the response, rolling everything back first when `allOrNone` and
/// any record failed.
fn finish(state: &mut OrgState, backup: Option<Vec<Table>>, outcomes: Vec<Outcome>) -> Reply {
    let failed = outcomes.iter().any(Result::is_err);
    let rolled_back = failed && backup.is_some();
    if rolled_back && let Some(tables) = backup {
        state.tables = tables;
    }
    let results: Vec<SaveResult> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(_) if rolled_back => SaveResult {
                id: None,
                success: false,
                errors: vec![fail(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                    &[],
                )],
                created: None,
            },
            Ok((id, created)) => SaveResult {
                id: Some(id),
                success: true,
                errors: Vec::new(),
                created,
            },
            Err(error) => SaveResult {
                id: None,
                success: false,
                errors: vec![error],
                created: None,
            },
        })
        .collect();
    Reply::json(200, &results)
}

/// `POST /composite/sobjects` (create) and `PATCH /composite/sobjects` (update).
pub(super) fn save(state: &mut OrgState, req: &Incoming, mode: Mode, now: i64) -> Reply {
    let (all_or_none, records) = match read_body(req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let inputs = match records
        .iter()
        .map(|r| read_input(r, mode))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(inputs) => inputs,
        Err(message) => return error(400, "JSON_PARSER_ERROR", &message),
    };
    let backup = all_or_none.then(|| state.tables.clone());
    let outcomes = inputs
        .into_iter()
        .map(|input| {
            input.and_then(|input| match mode {
                Mode::Update => update(state, input, now),
                _ => create(state, input, now),
            })
        })
        .map(|r| r.map(|id| (id, None)))
        .collect();
    finish(state, backup, outcomes)
}

/// `PATCH /composite/sobjects/{sObject}/{ExternalIdField}`.
pub(super) fn upsert(
    state: &mut OrgState,
    req: &Incoming,
    name: &str,
    field_name: &str,
    now: i64,
) -> Reply {
    let Some(sobject) = schema::sobject(name) else {
        return not_found();
    };
    let Some(field) = SOBJECTS[sobject]
        .field(field_name)
        .filter(|&f| SOBJECTS[sobject].fields[f].external_id)
    else {
        return error(
            404,
            "NOT_FOUND",
            &format!(
                "Provided external ID field does not exist or is not accessible: {field_name}"
            ),
        );
    };
    let (all_or_none, records) = match read_body(req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mode = Mode::Upsert { sobject, field };
    let mut inputs = match records
        .iter()
        .map(|r| read_input(r, mode))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(inputs) => inputs,
        Err(message) => return error(400, "JSON_PARSER_ERROR", &message),
    };
    // Records of one call sharing an external id all fail, as in Salesforce.
    let key = |input: &Input| {
        input
            .values
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, v)| match v {
                Val::Text(text) => Some(text.clone()),
                _ => None,
            })
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for value in inputs.iter().filter_map(|i| i.as_ref().ok().and_then(key)) {
        *seen.entry(value).or_default() += 1;
    }
    for input in &mut inputs {
        if let Some(value) = input.as_ref().ok().and_then(key)
            && seen.get(&value).is_some_and(|&n| n > 1)
        {
            *input = Err(fail(
                "DUPLICATE_EXTERNAL_ID",
                format!("Duplicate external id specified: {value}"),
                &[SOBJECTS[sobject].fields[field].name],
            ));
        }
    }
    let backup = all_or_none.then(|| state.tables.clone());
    let outcomes = inputs
        .into_iter()
        .map(|input| {
            input
                .and_then(|input| upsert_one(state, input, field, now))
                .map(|(id, created)| (id, Some(created)))
        })
        .collect();
    finish(state, backup, outcomes)
}

/// `DELETE /composite/sobjects?ids=a,b&allOrNone=false`.
pub(super) fn delete(state: &mut OrgState, req: &Incoming, now: i64) -> Reply {
    let ids = req.params("ids");
    if ids.is_empty() {
        return error(
            400,
            "MISSING_ARGUMENT",
            "The 'ids' parameter must not be null or empty",
        );
    }
    if ids.len() > MAX_RECORDS {
        return too_many();
    }
    let all_or_none = req
        .param("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let backup = all_or_none.then(|| state.tables.clone());
    let outcomes = ids
        .iter()
        .map(|id| delete_one(state, id, now).map(|id| (id, None)))
        .collect();
    finish(state, backup, outcomes)
}

/// One record written by the Rust API, checked as the HTTP API would.
pub(super) fn write_one(
    state: &mut OrgState,
    mode: Mode,
    record: &Value,
    now: i64,
) -> Result<String, String> {
    let input = read_input(record, mode)?.map_err(|e| e.message)?;
    let result = match mode {
        Mode::Update => update(state, input, now),
        Mode::Upsert { field, .. } => upsert_one(state, input, field, now).map(|(id, _)| id),
        Mode::Create => create(state, input, now),
    };
    result.map_err(|e| format!("{}: {}", e.status_code, e.message))
}
