//! JSON as wasync values and back: records, watermarks, the keys reads sort by, and the
//! text a watermark takes in a request.

use crate::settings::{EntitySettings, FieldKind, SinceFormat, WatermarkKind};
use serde_json::{Map, Value as Json};
use wasync_sdk::time::{floor_millis, format_micros, format_millis, parse_rfc3339};
use wasync_sdk::{Field, Record, Value};

/// The value at a dotted path (`meta.next_cursor`); the empty path is `json` itself.
pub fn at<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
    if path.is_empty() {
        return Some(json);
    }
    path.split('.').try_fold(json, |json, key| json.get(key))
}

/// Sets the value at a dotted path, making the objects on the way.
pub fn set_at(json: &mut Map<String, Json>, path: &str, value: Json) {
    let mut keys = path.split('.').peekable();
    let mut object = json;
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            object.insert(key.to_owned(), value);
            return;
        }
        let next = object
            .entry(key.to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if !next.is_object() {
            *next = Json::Object(Map::new());
        }
        let Json::Object(inner) = next else {
            unreachable!("made an object just above")
        };
        object = inner;
    }
}

/// Where a record sorts in a read: its watermark, then its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub watermark: Mark,
    pub id: IdKey,
}

/// A watermark, comparable: time and integers as numbers, text as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// No watermark: a record that could not be read, before any other.
    Null,
    Number(i64),
    Text(String),
}

/// An id, comparable: ids that are integers as numbers, before any other (as text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdKey(bool, i64, String);

impl IdKey {
    pub fn new(id: &str) -> IdKey {
        match id.parse::<i64>() {
            Ok(n) => IdKey(false, n, id.to_owned()),
            Err(_) => IdKey(true, 0, id.to_owned()),
        }
    }
}

impl Mark {
    /// A watermark value as it sorts; `None` for a value of no watermark kind.
    pub fn of(value: &Value) -> Option<Mark> {
        match value {
            Value::Null => Some(Mark::Null),
            Value::Timestamp(t) | Value::Integer(t) => Some(Mark::Number(*t)),
            Value::Text(text) => Some(match parse_rfc3339(text) {
                Some(t) => Mark::Number(t),
                None => Mark::Text(text.clone()),
            }),
            _ => None,
        }
    }
}

impl Key {
    pub fn of(record: &Record) -> Option<Key> {
        Some(Key {
            watermark: Mark::of(&record.watermark)?,
            id: IdKey::new(&record.id),
        })
    }
}

/// The watermark a record's field gives, as `kind` says it is written.
pub fn watermark(json: &Json, kind: WatermarkKind) -> Option<Value> {
    match (kind, json) {
        (WatermarkKind::Timestamp, Json::String(text)) => parse_rfc3339(text).map(Value::Timestamp),
        (WatermarkKind::Unix, Json::Number(n)) => seconds(n, 1_000_000).map(Value::Timestamp),
        (WatermarkKind::UnixMillis, Json::Number(n)) => seconds(n, 1_000).map(Value::Timestamp),
        (WatermarkKind::Integer, Json::Number(n)) => n.as_i64().map(Value::Integer),
        (WatermarkKind::Integer, Json::String(text)) => {
            text.trim().parse().ok().map(Value::Integer)
        }
        (WatermarkKind::Text, Json::String(text)) => Some(Value::Text(text.clone())),
        _ => None,
    }
}

/// A number of seconds or milliseconds (`per` microseconds each) as microseconds.
fn seconds(n: &serde_json::Number, per: i64) -> Option<i64> {
    match n.as_i64() {
        Some(whole) => whole.checked_mul(per),
        None => n.as_f64().map(|x| (x * per as f64).floor() as i64),
    }
}

/// A watermark as a request's parameter writes it. Times are rounded down, so a list
/// "since" it includes everything at the watermark.
pub fn since_text(watermark: &Value, format: SinceFormat) -> Option<String> {
    let micros = match watermark {
        Value::Timestamp(t) => Some(*t),
        Value::Text(text) => parse_rfc3339(text),
        _ => None,
    };
    match (format, micros, watermark) {
        (SinceFormat::Rfc3339, Some(t), _) => {
            let whole = t.div_euclid(1_000_000) * 1_000_000;
            format_millis(whole).map(|s| s.replace(".000Z", "Z"))
        }
        (SinceFormat::Rfc3339Millis, Some(t), _) => format_millis(floor_millis(t)),
        (SinceFormat::Rfc3339Micros, Some(t), _) => format_micros(t),
        (SinceFormat::Unix, Some(t), _) => Some(t.div_euclid(1_000_000).to_string()),
        (SinceFormat::UnixMillis, Some(t), _) => Some(t.div_euclid(1_000).to_string()),
        (_, _, Value::Integer(n)) => Some(n.to_string()),
        (SinceFormat::Raw, _, Value::Text(text)) => Some(text.clone()),
        (SinceFormat::Raw, Some(t), _) => format_millis(floor_millis(t)),
        _ => None,
    }
}

/// A value of JSON as it stands: strings text, numbers integer or float, objects and
/// arrays JSON text.
pub fn plain(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(_) | Json::Object(_) => Value::Json(json.to_string()),
    }
}

/// A value of JSON as a field of `kind`; `Err` says why it is not one.
pub fn typed(json: &Json, kind: FieldKind) -> Result<Value, String> {
    let value = match (kind, json) {
        (_, Json::Null) => Value::Null,
        (FieldKind::Json, json) => Value::Json(json.to_string()),
        (FieldKind::Text, Json::String(s)) => Value::Text(s.clone()),
        (FieldKind::Text, Json::Number(n)) => Value::Text(n.to_string()),
        (FieldKind::Text, Json::Bool(b)) => Value::Text(b.to_string()),
        (FieldKind::Integer, Json::Number(n)) if n.is_i64() => plain(json),
        (FieldKind::Integer, Json::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Value::Integer(s.trim().parse().unwrap_or_default())
        }
        (FieldKind::Float, Json::Number(n)) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        (FieldKind::Float, Json::String(s)) if s.trim().parse::<f64>().is_ok() => {
            Value::Float(s.trim().parse().unwrap_or(f64::NAN))
        }
        (FieldKind::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (FieldKind::Timestamp, Json::String(s)) => match parse_rfc3339(s) {
            Some(t) => Value::Timestamp(t),
            None => return Err(format!("`{s}` is not an RFC 3339 time")),
        },
        (kind, json) => return Err(format!("{json} is not {}", kind_name(kind))),
    };
    Ok(value)
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Integer => "an integer",
        FieldKind::Float => "a number",
        FieldKind::Boolean => "a boolean",
        FieldKind::Timestamp => "an RFC 3339 time",
        FieldKind::Json => "JSON",
    }
}

/// A value as JSON for a request body. JSON text goes in as the JSON it holds; times as
/// RFC 3339 with milliseconds.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Text(text) => Json::String(text.clone()),
        Value::Timestamp(t) => format_millis(floor_millis(*t)).map_or(Json::Null, Json::String),
        Value::Json(text) => serde_json::from_str(text).unwrap_or(Json::String(text.clone())),
    }
}

/// A record of the API as a wasync record. One that cannot be read is not dropped: it comes
/// back with `_error` saying why, for the host to set aside (`fallback` is the watermark it
/// sorts by then).
pub fn record(json: &Json, e: &EntitySettings, fallback: &Value) -> Record {
    let mut problems = Vec::new();
    let id = match at(json, &e.id_field) {
        Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Json::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            problems.push(format!("the id field `{}` is {}", e.id_field, shown(other)));
            String::new()
        }
    };
    let watermark = match at(json, &e.watermark_field).and_then(|w| watermark(w, e.watermark_kind))
    {
        Some(w) => w,
        None => {
            let found = at(json, &e.watermark_field);
            problems.push(format!(
                "the watermark field `{}` is {}, not {}",
                e.watermark_field,
                shown(found),
                watermark_kind_name(e.watermark_kind)
            ));
            fallback.clone()
        }
    };
    let Some(object) = json.as_object() else {
        return failed(
            id,
            watermark,
            format!("the record is not a JSON object: {}", short(json)),
        );
    };
    let deleted = e
        .deleted_field
        .as_ref()
        .is_some_and(|f| at(json, f) == Some(&Json::Bool(true)));
    let fields = match &e.fields {
        None => object
            .iter()
            .map(|(name, json)| Field {
                name: name.clone(),
                value: plain(json),
            })
            .collect(),
        Some(kinds) => {
            let mut fields = Vec::with_capacity(kinds.len());
            for (name, kind) in kinds {
                let Some(json) = at(json, name) else { continue };
                match typed(json, *kind) {
                    Ok(value) => fields.push(Field {
                        name: name.clone(),
                        value,
                    }),
                    Err(why) => problems.push(format!("field `{name}`: {why}")),
                }
            }
            fields
        }
    };
    if !problems.is_empty() {
        return failed(id, watermark, problems.join("; "));
    }
    Record {
        id,
        watermark,
        fields,
        deleted,
    }
}

/// A record that could not be read, saying why in `_error`.
fn failed(id: String, watermark: Value, why: String) -> Record {
    Record {
        id,
        watermark,
        fields: vec![Field {
            name: "_error".into(),
            value: Value::Text(why),
        }],
        deleted: false,
    }
}

fn watermark_kind_name(kind: WatermarkKind) -> &'static str {
    match kind {
        WatermarkKind::Timestamp => "an RFC 3339 time",
        WatermarkKind::Unix => "seconds since the epoch",
        WatermarkKind::UnixMillis => "milliseconds since the epoch",
        WatermarkKind::Integer => "an integer",
        WatermarkKind::Text => "text",
    }
}

fn shown(json: Option<&Json>) -> String {
    json.map_or_else(|| "missing".into(), |j| format!("`{}`", short(j)))
}

/// JSON for a message: at most about 100 characters.
pub fn short(json: &Json) -> String {
    let text = json.to_string();
    match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
