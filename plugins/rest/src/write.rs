//! Writes: one call per change, as the entity's `write` settings say.

use crate::Rest;
use crate::api::Purpose;
use crate::settings::{Call, EntitySettings};
use crate::values::{at, set_at, short, to_json};
use serde_json::{Map, Value as Json};
use wasync_sdk::{Change, Error, Field, Value};

/// A path with `{id}` and `{FIELD}` holes, parsed once at configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Part>);

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Id,
    Field(String),
}

impl Template {
    pub fn parse(path: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = path;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(format!("`{path}` has a `}}` without its `{{`"));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("`{path}` has a `{{` without its `}}`"))?;
            let name = &rest[open + 1..open + close];
            if name.is_empty() || name.contains('{') {
                return Err(format!("`{path}` has an empty or nested `{{}}`"));
            }
            parts.push(Part::Text(rest[..open].to_owned()));
            parts.push(match name {
                "id" => Part::Id,
                field => Part::Field(field.to_owned()),
            });
            rest = &rest[open + close + 1..];
        }
        parts.push(Part::Text(rest.to_owned()));
        Ok(Template(parts))
    }

    /// The path for one change; each hole's value percent-encoded as a path segment.
    fn render(&self, id: Option<&str>, fields: &[Field]) -> Result<String, String> {
        let mut path = String::new();
        for part in &self.0 {
            let value = match part {
                Part::Text(text) => {
                    path.push_str(text);
                    continue;
                }
                Part::Id => id
                    .ok_or("the path names `{id}`, which a create has not")?
                    .to_owned(),
                Part::Field(name) => match fields.iter().find(|f| f.name == *name) {
                    Some(Field {
                        value: Value::Text(t),
                        ..
                    }) if !t.trim().is_empty() => t.clone(),
                    Some(Field {
                        value: Value::Integer(n),
                        ..
                    }) => n.to_string(),
                    _ => return Err(format!("the path needs field `{name}`, which is empty")),
                },
            };
            let encoded = percent_encoding::utf8_percent_encode(&value, SEGMENT);
            path.extend(encoded);
        }
        Ok(path)
    }
}

/// What a path segment may not carry unescaped (RFC 3986 `pchar`, minus sub-delims kept
/// safe: everything but unreserved characters is escaped).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn write(rest: &Rest, e: &EntitySettings, changes: Vec<Change>) -> Vec<Result<String, Error>> {
    changes
        .into_iter()
        .map(|change| one(rest, e, change))
        .collect()
}

fn one(rest: &Rest, e: &EntitySettings, change: Change) -> Result<String, Error> {
    let writes = e.write.as_ref();
    let (kind, call, id, fields) = match change {
        Change::Upsert { id: None, fields } => (
            "create",
            writes.and_then(|w| w.create.as_ref()),
            None,
            fields,
        ),
        Change::Upsert {
            id: Some(id),
            fields,
        } => (
            "update",
            writes.and_then(|w| w.update.as_ref()),
            Some(id),
            fields,
        ),
        Change::Delete(id) => (
            "delete",
            writes.and_then(|w| w.delete.as_ref()),
            Some(id),
            Vec::new(),
        ),
    };
    let call = call.ok_or_else(|| {
        Error::InvalidInput(format!(
            "`{}` has no `write.{kind}`: this connector cannot {kind} its records",
            e.path
        ))
    })?;
    let path = Template::parse(&call.path)
        .and_then(|t| t.render(id.as_deref(), &fields))
        .map_err(|why| Error::InvalidInput(format!("{kind}: {why}")))?;
    let url = rest.api.url(&path);
    let body = (kind != "delete").then(|| body(call, &fields));
    let answer = rest
        .api
        .send(&call.method, url, body.as_ref(), Purpose::Write);
    match (kind, answer, id) {
        // Already gone: a delete replayed after a crash, or made by someone else.
        ("delete", Err(Error::NotFound(_)), Some(id)) => Ok(id),
        (_, Err(error), _) => Err(error),
        (_, Ok(_), Some(id)) => Ok(id),
        (_, Ok(answer), None) => {
            let path = call.id.as_deref().unwrap_or(&e.id_field);
            let body = answer.body.unwrap_or(Json::Null);
            match at(&body, path) {
                Some(Json::String(id)) if !id.is_empty() => Ok(id.clone()),
                Some(Json::Number(n)) => Ok(n.to_string()),
                _ => Err(Error::Other(format!(
                    "{} created a record, but its answer has no id at `{path}`: {}",
                    answer.what,
                    short(&body)
                ))),
            }
        }
    }
}

/// The fields as a JSON object (dotted names nest), under `wrap` when set.
fn body(call: &Call, fields: &[Field]) -> Json {
    let mut object = Map::new();
    for field in fields {
        set_at(&mut object, &field.name, to_json(&field.value));
    }
    match &call.wrap {
        None => Json::Object(object),
        Some(path) => {
            let mut body = Map::new();
            set_at(&mut body, path, Json::Object(object));
            Json::Object(body)
        }
    }
}
