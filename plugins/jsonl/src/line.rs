//! One line of an entity's file: a JSON object that is one version of one record.
//!
//! Lines are parsed three ways, each doing no more than its caller needs: [`scan_line`]
//! when the index takes a line in (only the id, watermark, tombstone and upsert key are
//! kept; other values are checked and skipped), [`record_fields`] when a read returns it,
//! [`parse_line`] when a write builds on it. All three agree on what a line means.

use crate::settings::EntitySettings;
use crate::value::{key_text, value_of, watermark_of};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json, error::Category};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use wasync_sdk::{Field, Record, Value};

/// The connector's own tombstone marker, written by deletes. Not a field of the record.
pub const DELETED_MARKER: &str = "_deleted";
/// The field that carries the problem of a line that is not a record.
pub const ERROR_FIELD: &str = "_error";

/// A JSON object, as a line holds it.
pub type Object = Map<String, Json>;

/// What the index needs to know about one version of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub id: String,
    pub watermark: Value,
    pub deleted: bool,
    /// The upsert key's value as text, when configured and not empty.
    pub key: Option<String>,
}

/// Why a line is not a record, and the watermark it had, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub message: String,
    pub watermark: Option<Value>,
}

/// Reads what the index needs from one line (without its newline), calling `on_key` with
/// each of its keys.
pub fn scan_line(
    text: &str,
    entity: &EntitySettings,
    on_key: impl FnMut(&str),
) -> Result<Version, Broken> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let special = Scan { entity, on_key }
        .deserialize(&mut deserializer)
        .and_then(|special| deserializer.end().map(|()| special))
        .map_err(not_an_object)?;
    special.version(entity)
}

/// The fields of a line that [`scan_line`] accepted: every key becomes a field (the
/// watermark field read as a watermark), except the connector's own `_deleted` marker.
/// A key given twice counts once, with its last value.
pub fn record_fields(text: &str, entity: &EntitySettings) -> Result<Vec<Field>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let fields = Fields { entity }
        .deserialize(&mut deserializer)
        .and_then(|fields| deserializer.end().map(|()| fields))
        .map_err(|e| not_an_object(e).message)?;
    Ok(without_repeats(fields))
}

/// A line being written, field by field. Fields an update leaves alone are kept as the
/// JSON text they were: parsing each into a value and printing it again was most of an
/// update's cost.
pub type Line<'a> = BTreeMap<String, Part<'a>>;

/// One field of a [`Line`].
pub enum Part<'a> {
    /// As the record's previous line had it.
    Kept(&'a RawValue),
    /// Set by this write.
    Set(Json),
}

impl Part<'_> {
    /// The field's value.
    pub fn json(&self) -> Option<Json> {
        match self {
            Part::Kept(raw) => serde_json::from_str(raw.get()).ok(),
            Part::Set(json) => Some(json.clone()),
        }
    }
}

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Kept(raw) => raw.serialize(serializer),
            Part::Set(json) => json.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Part<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&RawValue>::deserialize(deserializer).map(Part::Kept)
    }
}

/// The fields of a record's line, each kept as its text; `None` if the line is not an
/// object (an update then starts from nothing, as from a missing record).
pub fn parse_line(text: &str) -> Option<Line<'_>> {
    serde_json::from_str(text).ok()
}

/// A record's id as text: a non-blank string as it is, a number in decimal.
pub fn id_text(json: &Json) -> Option<String> {
    match json {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The record that stands for a line that is not one, for the host to quarantine.
pub fn broken_record(line: u64, message: &str, watermark: Value) -> Record {
    Record {
        id: format!("line:{line}"),
        watermark,
        fields: vec![Field {
            name: ERROR_FIELD.into(),
            value: Value::Text(format!("line {line}: {message}")),
        }],
        deleted: false,
    }
}

/// The values of a line's special fields; for a key given twice, the last.
#[derive(Default)]
struct Special {
    id: Option<Json>,
    watermark: Option<Json>,
    marker: bool,
    deleted_field: bool,
    key: Option<Json>,
}

impl Special {
    /// Whether `name` is one of the fields this entity gives a meaning to.
    fn wants(name: &str, entity: &EntitySettings) -> bool {
        name == entity.id_field
            || name == entity.watermark_field
            || name == DELETED_MARKER
            || entity.deleted_field.as_deref() == Some(name)
            || entity.upsert_key.as_deref() == Some(name)
    }

    fn take(&mut self, name: &str, value: Json, entity: &EntitySettings) {
        let is_true = value == Json::Bool(true);
        if name == DELETED_MARKER {
            self.marker = is_true;
        }
        if entity.deleted_field.as_deref() == Some(name) {
            self.deleted_field = is_true;
        }
        // The id and watermark fields differ (the settings check it); the upsert key may
        // be either, and only then is the value copied.
        let is_key = entity.upsert_key.as_deref() == Some(name);
        if name == entity.id_field {
            if is_key {
                self.key = Some(value.clone());
            }
            self.id = Some(value);
        } else if name == entity.watermark_field {
            if is_key {
                self.key = Some(value.clone());
            }
            self.watermark = Some(value);
        } else if is_key {
            self.key = Some(value);
        }
    }

    fn version(self, entity: &EntitySettings) -> Result<Version, Broken> {
        let watermark = self.watermark.map_or(Value::Null, watermark_of);
        let id = match self.id {
            Some(Json::String(text)) if !text.trim().is_empty() => Ok(text),
            Some(json) => id_text(&json).ok_or_else(|| {
                format!(
                    "the id field `{}` is {}, not a string or number",
                    entity.id_field,
                    describe(&json)
                )
            }),
            None => Err(format!("no id field `{}`", entity.id_field)),
        };
        let id = id.map_err(|message| Broken {
            message,
            watermark: Some(watermark.clone()),
        })?;
        Ok(Version {
            id,
            watermark,
            deleted: self.marker || self.deleted_field,
            key: self.key.as_ref().and_then(key_text),
        })
    }
}

/// Visits a line's object for [`scan_line`]: keeps the special values, skips the rest.
struct Scan<'a, F> {
    entity: &'a EntitySettings,
    on_key: F,
}

impl<'de, F: FnMut(&str)> DeserializeSeed<'de> for Scan<'_, F> {
    type Value = Special;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Special, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(&str)> Visitor<'de> for Scan<'_, F> {
    type Value = Special;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Special, A::Error> {
        let mut special = Special::default();
        while let Some(Key(name)) = map.next_key()? {
            (self.on_key)(&name);
            if Special::wants(&name, self.entity) {
                special.take(&name, map.next_value()?, self.entity);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(special)
    }
}

/// Visits a line's object for [`record_fields`].
struct Fields<'a> {
    entity: &'a EntitySettings,
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = Vec<Field>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Field>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Vec<Field>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Field>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Key(name)) = map.next_key()? {
            if name == DELETED_MARKER {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let json: Json = map.next_value()?;
            let value = if name == self.entity.watermark_field {
                watermark_of(json)
            } else {
                value_of(json)
            };
            fields.push(Field {
                name: name.into_owned(),
                value,
            });
        }
        Ok(fields)
    }
}

/// Drops all but the last of fields with the same name. Repeated keys are rare, so they
/// are looked for with a sort of the names, not a hash set per record.
fn without_repeats(fields: Vec<Field>) -> Vec<Field> {
    let mut names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).all(|w| w[0] != w[1]) {
        return fields;
    }
    let mut kept: Vec<Field> = Vec::with_capacity(fields.len());
    for field in fields.into_iter().rev() {
        if !kept.iter().any(|k| k.name == field.name) {
            kept.push(field);
        }
    }
    kept.reverse();
    kept
}

/// An object key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(text)))
    }
}

/// Says whether a line failed as JSON or as an object.
fn not_an_object(e: serde_json::Error) -> Broken {
    let message = match e.classify() {
        Category::Data => format!("not a JSON object ({e})"),
        _ => format!("not JSON ({e})"),
    };
    Broken {
        message,
        watermark: None,
    }
}

fn describe(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "blank",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::account;

    fn version(text: &str) -> Result<Version, Broken> {
        scan_line(text, &account(), |_| {})
    }

    fn fields(text: &str) -> Vec<Field> {
        record_fields(text, &account()).unwrap_or_default()
    }

    #[test]
    fn reads_a_version() {
        let line = r#"{"Id": "001", "Name": "Acme", "SystemModstamp": "2024-03-01T12:00:00.000+0000", "wasync_id": " u1 "}"#;
        assert_eq!(
            version(line),
            Ok(Version {
                id: "001".into(),
                watermark: Value::Timestamp(1_709_294_400_000_000),
                deleted: false,
                key: Some("u1".into()),
            })
        );
    }

    #[test]
    fn reports_every_key() {
        let mut keys = Vec::new();
        let line = r#"{"Id": "1", "Nested": {"x": [1, {"y": 2}]}, "Esc\u0061ped": 1}"#;
        assert!(scan_line(line, &account(), |k| keys.push(k.to_owned())).is_ok());
        assert_eq!(keys, ["Id", "Nested", "Escaped"]);
    }

    #[test]
    fn number_ids_are_decimal_text() {
        assert_eq!(version(r#"{"Id": 42}"#).map(|v| v.id), Ok("42".into()));
    }

    #[test]
    fn missing_watermark_is_null() {
        assert_eq!(
            version(r#"{"Id": "a"}"#).map(|v| v.watermark),
            Ok(Value::Null)
        );
    }

    #[test]
    fn recognises_tombstones() {
        let deleted = |text: &str| version(text).map(|v| v.deleted);
        assert_eq!(deleted(r#"{"Id": "a", "_deleted": true}"#), Ok(true));
        assert_eq!(deleted(r#"{"Id": "a", "IsDeleted": true}"#), Ok(true));
        assert_eq!(deleted(r#"{"Id": "a", "IsDeleted": false}"#), Ok(false));
        assert_eq!(deleted(r#"{"Id": "a", "_deleted": "yes"}"#), Ok(false));
        assert_eq!(
            deleted(r#"{"Id": "a", "_deleted": true, "_deleted": false}"#),
            Ok(false)
        );
    }

    #[test]
    fn says_what_is_wrong_with_a_line() {
        let message = |text: &str| version(text).err().map(|b| b.message).unwrap_or_default();
        assert!(
            message("[1]").starts_with("not a JSON object"),
            "{}",
            message("[1]")
        );
        assert!(message("\"text\"").starts_with("not a JSON object"));
        assert!(message("{\"Id\": ").starts_with("not JSON"));
        assert!(message("{\"Id\": 1} x").starts_with("not JSON"));
        assert!(message("{\"Id\": 1, \"x\": [}").starts_with("not JSON"));
        assert!(message(r#"{"Name": "x"}"#).contains("no id field `Id`"));
        assert!(message(r#"{"Id": " "}"#).contains("`Id` is blank"));
        assert!(message(r#"{"Id": null}"#).contains("`Id` is null"));
    }

    #[test]
    fn a_broken_line_keeps_its_watermark_when_it_has_one() {
        let broken = version(r#"{"SystemModstamp": 5}"#).err();
        assert_eq!(broken.and_then(|b| b.watermark), Some(Value::Integer(5)));
    }

    #[test]
    fn fields_hold_every_key_but_the_marker_in_file_order() {
        let line = r#"{"Id": 1, "SystemModstamp": "2024-03-01T12:00:00Z", "N": 2.5, "Tags": ["a"], "_deleted": false}"#;
        let fields = fields(line);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Id", "SystemModstamp", "N", "Tags"]);
        assert_eq!(fields[0].value, Value::Integer(1));
        assert_eq!(fields[1].value, Value::Timestamp(1_709_294_400_000_000));
        assert_eq!(fields[2].value, Value::Float(2.5));
        assert_eq!(fields[3].value, Value::Json("[\"a\"]".into()));
    }

    #[test]
    fn a_repeated_key_counts_once_with_its_last_value() {
        let fields = fields(r#"{"A": 1, "B": 2, "A": 3}"#);
        assert_eq!(
            fields,
            [
                Field {
                    name: "B".into(),
                    value: Value::Integer(2)
                },
                Field {
                    name: "A".into(),
                    value: Value::Integer(3)
                },
            ]
        );
    }

    #[test]
    fn parses_whole_objects() {
        assert_eq!(parse_line(r#"{"a": 1}"#).map(|o| o.len()), Some(1));
        assert!(parse_line("[]").is_none());
    }

    #[test]
    fn broken_record_names_its_line() {
        let record = broken_record(7, "not JSON", Value::Null);
        assert_eq!(record.id, "line:7");
        assert!(!record.deleted);
        assert_eq!(
            record.get(ERROR_FIELD),
            Some(&Value::Text("line 7: not JSON".into()))
        );
    }
}
