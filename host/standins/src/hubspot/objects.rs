//! Property validation, object rendering, and the list, single-object and batch endpoints.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::schema::{ObjectType, Property};
use super::{PortalState, Stored, error, error_with};
use crate::server::{Core, Incoming, Reply};
use crate::time;

/// The most inputs one batch call may carry.
const MAX_BATCH: usize = 100;
/// The most objects one page of the list endpoint may carry.
const MAX_PAGE: usize = 100;

/// Validated property writes: `None` clears the property.
pub(crate) type Changes = Vec<(&'static Property, Option<String>)>;

/// Why some property values were refused, one entry per property.
#[derive(Debug)]
pub(crate) struct Invalid(Vec<Value>);

impl Invalid {
    /// HubSpot's message: `Property values were not valid: [{...}]`.
    pub(crate) fn message(&self) -> String {
        format!(
            "Property values were not valid: {}",
            Value::Array(self.0.clone())
        )
    }
}

fn invalid(name: &str, code: &str, message: &str) -> Value {
    json!({
        "isValid": false,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    })
}

/// Checks property writes against the object type: known, writable, valid values.
pub(crate) fn validate(
    ty: &ObjectType,
    properties: &Map<String, Value>,
) -> Result<Changes, Invalid> {
    let mut changes = Vec::with_capacity(properties.len());
    let mut problems = Vec::new();
    for (name, value) in properties {
        let Some(property) = ty.property(name) else {
            problems.push(invalid(
                name,
                "PROPERTY_DOESNT_EXIST",
                &format!("Property \"{name}\" does not exist"),
            ));
            continue;
        };
        if property.read_only {
            problems.push(invalid(
                name,
                "READ_ONLY_VALUE",
                &format!("\"{name}\" is a read only property; its value cannot be set."),
            ));
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => {
                problems.push(invalid(
                    name,
                    "INVALID_PROPERTY_VALUE",
                    &format!("{other} is not a valid value for \"{name}\"."),
                ));
                continue;
            }
        };
        match property.normalize(&text) {
            Ok(value) => changes.push((property, value)),
            Err((code, message)) => problems.push(invalid(name, code, &message)),
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(Invalid(problems))
    }
}

/// What a request handler needs besides the data.
pub(crate) struct Ctx<'a> {
    pub core: &'a Core,
    /// Index of the object type's store.
    pub ty: usize,
    pub object_type: &'static ObjectType,
    /// The request's time, for every write it makes.
    pub now: i64,
    pub delay: Duration,
    /// Search ties by descending id (see `Options::search_ties_descending`).
    pub ties_descending: bool,
    pub url: &'a str,
}

impl Ctx<'_> {
    fn validation(&self, message: &str) -> Reply {
        error(self.core, 400, "VALIDATION_ERROR", message)
    }

    fn conflict(&self, holder: u64) -> Reply {
        error(
            self.core,
            409,
            "CONFLICT",
            &format!(
                "{} already exists with that unique property value. Existing ID: {holder}",
                capitalized(self.object_type.upper)
            ),
        )
    }

    fn not_found(&self, id: &str) -> Reply {
        error_with(
            self.core,
            404,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
            json!({ "id": [id] }),
        )
    }
}

fn capitalized(upper: &str) -> String {
    let lower = upper.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// An object as the API returns it (`SimplePublicObject`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectOut {
    id: String,
    properties: BTreeMap<String, Option<String>>,
    created_at: String,
    updated_at: String,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<bool>,
}

/// The properties to return: `None` for every property with a value.
pub(crate) fn render(
    ty: &ObjectType,
    id: u64,
    stored: &Stored,
    names: Option<&[String]>,
) -> ObjectOut {
    let properties = match names {
        None => stored
            .props
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect(),
        Some(names) => {
            let mut properties: BTreeMap<String, Option<String>> = names
                .iter()
                .filter(|n| ty.property(n).is_some())
                .map(|n| (n.clone(), stored.props.get(n.as_str()).cloned()))
                .collect();
            for always in ["hs_object_id", "createdate", "hs_lastmodifieddate"] {
                properties.insert(always.into(), stored.props.get(always).cloned());
            }
            properties
        }
    };
    ObjectOut {
        id: id.to_string(),
        properties,
        created_at: time::iso_z(stored.created),
        updated_at: time::iso_z(stored.updated),
        archived: stored.archived_at.is_some(),
        archived_at: stored.archived_at.map(time::iso_z),
        new: None,
    }
}

/// The `properties` of a query string, or the type's defaults.
fn wanted(ctx: &Ctx<'_>, req: &Incoming) -> Vec<String> {
    let named = req.params("properties");
    if named.is_empty() {
        ctx.object_type
            .default_properties
            .iter()
            .map(|p| (*p).to_owned())
            .collect()
    } else {
        named
    }
}

fn archived_param(req: &Incoming) -> bool {
    req.param("archived")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Parses a JSON body, or HubSpot's invalid-JSON error.
pub(crate) fn parse_body(ctx: &Ctx<'_>, req: &Incoming) -> Result<Value, Reply> {
    serde_json::from_slice(&req.body).map_err(|e| {
        ctx.validation(&format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// The `properties` object of an input, or an empty one.
fn properties_of<'v>(
    ctx: &Ctx<'_>,
    input: &'v Value,
) -> Result<Option<&'v Map<String, Value>>, Reply> {
    match input.get("properties") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(ctx.validation(&format!(
            "Invalid input JSON: properties must be an object, got {other}"
        ))),
    }
}

fn validated(ctx: &Ctx<'_>, input: &Value) -> Result<Changes, Reply> {
    let empty = Map::new();
    let properties = properties_of(ctx, input)?.unwrap_or(&empty);
    validate(ctx.object_type, properties).map_err(|e| ctx.validation(&e.message()))
}

/// An id given as a JSON string or number.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `GET /crm/v3/objects/{type}?limit&after&properties&archived`: pages in id order; `after`
/// is the id the next page starts at.
pub(crate) fn list(ctx: &Ctx<'_>, state: &PortalState, req: &Incoming) -> Reply {
    let limit = match req.param("limit").map(|l| l.trim().parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return ctx.validation(&format!("limit must be between 1 and {MAX_PAGE}"));
        }
    };
    let after =
        match req
            .param("after")
            .filter(|a| !a.trim().is_empty())
            .map(|a| a.trim().parse::<u64>())
        {
            None => 0,
            Some(Ok(after)) => after,
            Some(Err(_)) => return ctx.validation(
                "Invalid paging cursor: after must be a paging token returned by a previous page",
            ),
        };
    let archived = archived_param(req);
    let names = wanted(ctx, req);
    let store = &state.stores[ctx.ty];
    let mut page = store
        .objects
        .range(after..)
        .filter(|(_, o)| o.current.archived_at.is_some() == archived)
        .take(limit + 1);
    let results: Vec<ObjectOut> = page
        .by_ref()
        .take(limit)
        .map(|(id, o)| render(ctx.object_type, *id, &o.current, Some(&names)))
        .collect();
    let mut body = json!({ "results": results });
    if let Some((next, _)) = page.next() {
        body["paging"] = json!({ "next": {
            "after": next.to_string(),
            "link": format!("{}/crm/v3/objects/{}?after={next}", ctx.url, ctx.object_type.name),
        }});
    }
    Reply::json(200, &body)
}

/// Finds the live object named by a path id, by `idProperty` when given.
fn find(
    ctx: &Ctx<'_>,
    state: &PortalState,
    req: &Incoming,
    id: &str,
) -> Result<Option<u64>, Reply> {
    let store = &state.stores[ctx.ty];
    match req.param("idProperty") {
        Some(property) if property != "hs_object_id" => {
            if !ctx.object_type.property(property).is_some_and(|p| p.unique) {
                return Err(ctx.validation(&format!(
                    "{property} is not a unique property of {}",
                    ctx.object_type.name
                )));
            }
            Ok(store.holder(property, id))
        }
        _ => Ok(id.parse().ok()),
    }
}

/// `GET /crm/v3/objects/{type}/{id}`.
pub(crate) fn get_one(ctx: &Ctx<'_>, state: &PortalState, req: &Incoming, id: &str) -> Reply {
    let found = match find(ctx, state, req, id) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let archived = archived_param(req);
    let object = found
        .and_then(|n| state.stores[ctx.ty].objects.get(&n))
        .filter(|o| o.current.archived_at.is_some() == archived);
    match object {
        Some(object) => {
            let names = wanted(ctx, req);
            Reply::json(
                200,
                &render(ctx.object_type, object.id, &object.current, Some(&names)),
            )
        }
        None => ctx.not_found(id),
    }
}

/// `POST /crm/v3/objects/{type}`: 201 with the new object.
pub(crate) fn create_one(ctx: &Ctx<'_>, state: &mut PortalState, req: &Incoming) -> Reply {
    let changes = match parse_body(ctx, req).and_then(|body| validated(ctx, &body)) {
        Ok(changes) => changes,
        Err(reply) => return reply,
    };
    if let Err(holder) = state.stores[ctx.ty].check_unique(&changes, None) {
        return ctx.conflict(holder);
    }
    let id = state.create(ctx.ty, changes, ctx.now, ctx.delay);
    let store = &state.stores[ctx.ty];
    match store.objects.get(&id) {
        Some(object) => Reply::json(201, &render(ctx.object_type, id, &object.current, None)),
        None => ctx.not_found(&id.to_string()),
    }
}

/// `PATCH /crm/v3/objects/{type}/{id}`.
pub(crate) fn update_one(
    ctx: &Ctx<'_>,
    state: &mut PortalState,
    req: &Incoming,
    id: &str,
) -> Reply {
    let changes = match parse_body(ctx, req).and_then(|body| validated(ctx, &body)) {
        Ok(changes) => changes,
        Err(reply) => return reply,
    };
    let found = match find(ctx, state, req, id) {
        Ok(found) => found.filter(|n| state.stores[ctx.ty].live(*n).is_some()),
        Err(reply) => return reply,
    };
    let Some(number) = found else {
        return ctx.not_found(id);
    };
    let store = &mut state.stores[ctx.ty];
    if let Err(holder) = store.check_unique(&changes, Some(number)) {
        return ctx.conflict(holder);
    }
    store.update(ctx.object_type, number, changes, ctx.now, ctx.delay);
    match store.objects.get(&number) {
        Some(object) => Reply::json(200, &render(ctx.object_type, number, &object.current, None)),
        None => ctx.not_found(id),
    }
}

/// `DELETE /crm/v3/objects/{type}/{id}`: 204 whatever the state.
pub(crate) fn archive_one(ctx: &Ctx<'_>, state: &mut PortalState, id: &str) -> Reply {
    if let Ok(number) = id.parse() {
        state.stores[ctx.ty].archive(ctx.object_type, number, ctx.now, ctx.delay);
    }
    Reply::empty(204)
}

/// The `inputs` of a batch body, at most 100.
fn inputs(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Value>, Reply> {
    let Some(inputs) = body.get("inputs").and_then(Value::as_array) else {
        return Err(ctx.validation(
            "Invalid input JSON: the request body must be an object with an \"inputs\" array",
        ));
    };
    if inputs.len() > MAX_BATCH {
        return Err(ctx.validation(&format!(
            "Batch input size limit exceeded: {} inputs were given, the limit is {MAX_BATCH}",
            inputs.len()
        )));
    }
    Ok(inputs.clone())
}

fn batch_body(ctx: &Ctx<'_>, req: &Incoming) -> Result<(Value, Vec<Value>), Reply> {
    let body = parse_body(ctx, req)?;
    let inputs = inputs(ctx, &body)?;
    Ok((body, inputs))
}

/// The ids of inputs (`id` as string or number), refusing a missing id and duplicates.
fn input_ids(ctx: &Ctx<'_>, inputs: &[Value]) -> Result<Vec<String>, Reply> {
    let mut ids = Vec::with_capacity(inputs.len());
    for input in inputs {
        let Some(id) = id_text(input.get("id")) else {
            return Err(ctx.validation("Invalid input JSON: every input needs an \"id\""));
        };
        ids.push(id);
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<&String> = ids.iter().filter(|id| !seen.insert(*id)).collect();
    if !duplicates.is_empty() {
        return Err(ctx.validation(&format!(
            "Duplicate IDs found in batch input: {duplicates:?}"
        )));
    }
    Ok(ids)
}

/// Checks unique values of a batch against live objects and each other; `Err` is the
/// conflict answer.
fn check_batch_unique(
    ctx: &Ctx<'_>,
    state: &PortalState,
    writes: &[(Option<u64>, &Changes)],
) -> Result<(), Reply> {
    let store = &state.stores[ctx.ty];
    let mut claimed: HashMap<(&str, &str), Option<u64>> = HashMap::new();
    for (id, changes) in writes {
        if let Err(holder) = store.check_unique(changes, *id) {
            return Err(ctx.conflict(holder));
        }
        for (property, value) in changes.iter() {
            if let (true, Some(value)) = (property.unique, value)
                && let Some(other) = claimed.insert((property.name, value.as_str()), *id)
                && (other.is_none() || other != *id)
            {
                return Err(ctx.validation(&format!(
                    "Duplicate value {value} for unique property {} in batch input",
                    property.name
                )));
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchOut {
    status: &'static str,
    results: Vec<ObjectOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Value>,
    started_at: String,
    completed_at: String,
}

/// A batch answer: 207 with an `OBJECT_NOT_FOUND` error when ids were missing.
fn batch_reply(ctx: &Ctx<'_>, ok: u16, results: Vec<ObjectOut>, missing: Vec<String>) -> Reply {
    let at = time::iso_z(ctx.now);
    let (status, errors) = if missing.is_empty() {
        (ok, Vec::new())
    } else {
        let error = json!({
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": format!(
                "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                ctx.object_type.upper
            ),
            "context": { "ids": missing },
            "errors": [],
            "links": {},
        });
        (207, vec![error])
    };
    Reply::json(
        status,
        &BatchOut {
            status: "COMPLETE",
            results,
            num_errors: (!errors.is_empty()).then_some(errors.len()),
            errors,
            started_at: at.clone(),
            completed_at: at,
        },
    )
}

/// `POST .../batch/create`: 201; any invalid input refuses the whole batch.
pub(crate) fn batch_create(ctx: &Ctx<'_>, state: &mut PortalState, req: &Incoming) -> Reply {
    let (_, inputs) = match batch_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let changes = match inputs
        .iter()
        .map(|i| validated(ctx, i))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(changes) => changes,
        Err(reply) => return reply,
    };
    let writes: Vec<(Option<u64>, &Changes)> = changes.iter().map(|c| (None, c)).collect();
    if let Err(reply) = check_batch_unique(ctx, state, &writes) {
        return reply;
    }
    let mut results = Vec::with_capacity(changes.len());
    for change in changes {
        let id = state.create(ctx.ty, change, ctx.now, ctx.delay);
        if let Some(object) = state.stores[ctx.ty].objects.get(&id) {
            results.push(render(ctx.object_type, id, &object.current, None));
        }
    }
    batch_reply(ctx, 201, results, Vec::new())
}

/// `POST .../batch/update`: 200, or 207 naming the ids that are not live objects.
pub(crate) fn batch_update(ctx: &Ctx<'_>, state: &mut PortalState, req: &Incoming) -> Reply {
    let (body, inputs) = match batch_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let ids = match input_ids(ctx, &inputs) {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let changes = match inputs
        .iter()
        .map(|i| validated(ctx, i))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(changes) => changes,
        Err(reply) => return reply,
    };
    let id_property = inputs
        .first()
        .and_then(|i| i.get("idProperty"))
        .or_else(|| body.get("idProperty"))
        .and_then(Value::as_str)
        .filter(|p| *p != "hs_object_id");
    if let Some(property) = id_property
        && !ctx.object_type.property(property).is_some_and(|p| p.unique)
    {
        return ctx.validation(&format!(
            "{property} is not a unique property of {}",
            ctx.object_type.name
        ));
    }
    let store = &state.stores[ctx.ty];
    let resolved: Vec<Option<u64>> = ids
        .iter()
        .map(|id| match id_property {
            Some(property) => store.holder(property, id),
            None => id.parse().ok().filter(|n| store.live(*n).is_some()),
        })
        .collect();
    let writes: Vec<(Option<u64>, &Changes)> = resolved
        .iter()
        .zip(&changes)
        .filter(|(id, _)| id.is_some())
        .map(|(id, c)| (*id, c))
        .collect();
    if let Err(reply) = check_batch_unique(ctx, state, &writes) {
        return reply;
    }
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for ((id, number), change) in ids.into_iter().zip(resolved).zip(changes) {
        let Some(number) = number else {
            missing.push(id);
            continue;
        };
        let store = &mut state.stores[ctx.ty];
        store.update(ctx.object_type, number, change, ctx.now, ctx.delay);
        if let Some(object) = store.objects.get(&number) {
            results.push(render(ctx.object_type, number, &object.current, None));
        }
    }
    batch_reply(ctx, 200, results, missing)
}

/// `POST .../batch/upsert`: by a unique `idProperty`, creating what is not there.
pub(crate) fn batch_upsert(ctx: &Ctx<'_>, state: &mut PortalState, req: &Incoming) -> Reply {
    let (_, inputs) = match batch_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let ids = match input_ids(ctx, &inputs) {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let mut planned = Vec::with_capacity(inputs.len());
    for (input, id) in inputs.iter().zip(&ids) {
        let Some(name) = input.get("idProperty").and_then(Value::as_str) else {
            return ctx
                .validation("Invalid input JSON: every upsert input needs an \"idProperty\"");
        };
        let Some(property) = ctx.object_type.property(name).filter(|p| p.unique) else {
            return ctx.validation(&format!(
                "{name} is not a unique property of {}; upserts need a property with hasUniqueValue",
                ctx.object_type.name
            ));
        };
        let mut changes = match validated(ctx, input) {
            Ok(changes) => changes,
            Err(reply) => return reply,
        };
        let value = match property.normalize(id) {
            Ok(Some(value)) => value,
            Ok(None) => {
                return ctx.validation("Invalid input JSON: an upsert id must not be empty");
            }
            Err((_, message)) => return ctx.validation(&message),
        };
        changes.retain(|(p, _)| p.name != property.name);
        changes.push((property, Some(value.clone())));
        let existing = state.stores[ctx.ty].holder(property.name, &value);
        planned.push((existing, changes));
    }
    let writes: Vec<(Option<u64>, &Changes)> = planned.iter().map(|(id, c)| (*id, c)).collect();
    if let Err(reply) = check_batch_unique(ctx, state, &writes) {
        return reply;
    }
    let mut results = Vec::with_capacity(planned.len());
    for (existing, changes) in planned {
        let (number, new) = match existing {
            Some(number) => {
                state.stores[ctx.ty].update(ctx.object_type, number, changes, ctx.now, ctx.delay);
                (number, false)
            }
            None => (state.create(ctx.ty, changes, ctx.now, ctx.delay), true),
        };
        if let Some(object) = state.stores[ctx.ty].objects.get(&number) {
            let mut out = render(ctx.object_type, number, &object.current, None);
            out.new = Some(new);
            results.push(out);
        }
    }
    batch_reply(ctx, 200, results, Vec::new())
}

/// `POST .../batch/archive`: 204 whatever the objects' state.
pub(crate) fn batch_archive(ctx: &Ctx<'_>, state: &mut PortalState, req: &Incoming) -> Reply {
    let (_, inputs) = match batch_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for input in &inputs {
        if let Some(number) = id_text(input.get("id")).and_then(|id| id.parse().ok()) {
            state.stores[ctx.ty].archive(ctx.object_type, number, ctx.now, ctx.delay);
        }
    }
    Reply::empty(204)
}

/// `POST .../batch/read?archived=`: 200, or 207 naming the ids not found.
pub(crate) fn batch_read(ctx: &Ctx<'_>, state: &PortalState, req: &Incoming) -> Reply {
    let (body, inputs) = match batch_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut ids = Vec::with_capacity(inputs.len());
    for input in &inputs {
        match id_text(input.get("id")) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => return ctx.validation("Invalid input JSON: every input needs an \"id\""),
        }
    }
    let names: Vec<String> = body
        .get("properties")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .filter(|names: &Vec<String>| !names.is_empty())
        .unwrap_or_else(|| {
            ctx.object_type
                .default_properties
                .iter()
                .map(|p| (*p).to_owned())
                .collect()
        });
    let id_property = body
        .get("idProperty")
        .and_then(Value::as_str)
        .filter(|p| *p != "hs_object_id");
    if let Some(property) = id_property
        && !ctx.object_type.property(property).is_some_and(|p| p.unique)
    {
        return ctx.validation(&format!(
            "{property} is not a unique property of {}",
            ctx.object_type.name
        ));
    }
    let archived = archived_param(req);
    let store = &state.stores[ctx.ty];
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        let number = match id_property {
            Some(property) => store.holder(property, &id),
            None => id.parse().ok(),
        };
        let object = number
            .and_then(|n| store.objects.get(&n))
            .filter(|o| o.current.archived_at.is_some() == archived);
        match object {
            Some(object) => results.push(render(
                ctx.object_type,
                object.id,
                &object.current,
                Some(&names),
            )),
            None => missing.push(id),
        }
    }
    batch_reply(ctx, 200, results, missing)
}
