//! Values as JSON, for the CLI and for people: how `wasync plugin call` reads its input and
//! writes its output.
//!
//! JSON `null`, booleans, strings and numbers map to the matching [`Value`] case (whole
//! numbers that fit in 64 bits become integers); arrays and objects become `json`.
//! Timestamps print as RFC 3339 text in UTC.

pub use crate::time::rfc3339;
use crate::wit::{Error, Value};
use serde_json::Value as Json;
use std::fmt;

/// The value a JSON document stands for.
pub fn from_json(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        nested => Value::Json(nested.to_string()),
    }
}

/// The JSON form of a value. Non-finite floats (which JSON lacks) become `null`; JSON text
/// that does not parse is kept as a string.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::Timestamp(t) => Json::String(rfc3339(*t)),
        Value::Json(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone()))
        }
    }
}

/// A plugin's error value as a person reads it: `invalid input: no host in "x"`.
pub fn describe(error: &Error) -> Describe<'_> {
    Describe(error)
}

/// Displays a plugin error value (the generated type's own `Display` is its `Debug`).
pub struct Describe<'a>(&'a Error);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, message) = match self.0 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_values() {
        for doc in [
            json!(null),
            json!(true),
            json!(42),
            json!(1.5),
            json!("x"),
            json!({"a": [1, 2]}),
        ] {
            assert_eq!(to_json(&from_json(doc.clone())), doc);
        }
        assert_eq!(from_json(json!(7)), Value::Integer(7));
        assert_eq!(from_json(json!([1])), Value::Json("[1]".into()));
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::Null);
    }
}
