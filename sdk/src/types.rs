//! The data plugins exchange with the host, as plain Rust types. They mirror the WIT
//! `types` interface one to one; the export macros convert at the boundary.

use std::fmt;

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// One typed field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// True or false.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// UTF-8 text.
    Text(String),
    /// A point in time.
    Timestamp(Timestamp),
    /// Nested data as JSON text.
    Json(String),
}

impl Value {
    /// The text, if this is a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this is `Null` or text that is empty or only white space.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Integer(n)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(option: Option<T>) -> Self {
        option.map_or(Value::Null, Into::into)
    }
}

/// The type of a value, as a connector describes its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ValueKind {
    Boolean,
    Integer,
    Float,
    Text,
    Timestamp,
    Json,
}

/// A named value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// One record: id, watermark, fields, deleted flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The id in the record's system.
    pub id: String,
    /// The value by which the record's system orders changes.
    pub watermark: Value,
    /// The fields; one left out is unknown, not empty.
    pub fields: Vec<Field>,
    /// Whether the record is a tombstone.
    pub deleted: bool,
}

impl Record {
    /// The value of field `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// Sets field `name`, replacing a value it had.
    pub fn set(&mut self, name: &str, value: Value) {
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(field) => field.value = value,
            None => self.fields.push(Field {
                name: name.to_owned(),
                value,
            }),
        }
    }
}

/// Object (upserted) or event (append-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum EntityKind {
    Object,
    Event,
}

/// One field of an entity, as a connector describes it.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct FieldDescription {
    pub name: String,
    pub kind: ValueKind,
    pub read_only: bool,
}

/// An entity, as a connector describes it.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct EntityDescription {
    pub name: String,
    pub kind: EntityKind,
    pub id_field: String,
    pub watermark_field: String,
    pub fields: Vec<FieldDescription>,
}

/// Why a plugin could not do what was asked. See the WIT `error` variant.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Error {
    InvalidConfig(String),
    InvalidInput(String),
    AccessDenied(String),
    NotFound(String),
    Unauthorized(String),
    RateLimited(String),
    Unavailable(String),
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, message) = match self {
            Error::InvalidConfig(m) => ("invalid config", m),
            Error::InvalidInput(m) => ("invalid input", m),
            Error::AccessDenied(m) => ("access denied", m),
            Error::NotFound(m) => ("not found", m),
            Error::Unauthorized(m) => ("unauthorized", m),
            Error::RateLimited(m) => ("rate limited", m),
            Error::Unavailable(m) => ("unavailable", m),
            Error::Other(m) => ("error", m),
        };
        write!(f, "{kind}: {message}")
    }
}

impl std::error::Error for Error {}
