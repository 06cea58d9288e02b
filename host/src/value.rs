//! Values as JSON, for the CLI and for people: how `wasync plugin call` reads its input and
//! writes its output.
//!
//! JSON `null`, booleans, strings and numbers map to the matching [`Value`] case (whole
//! numbers that fit in 64 bits become integers); arrays and objects become `json`.
//! Timestamps print as RFC 3339 text in UTC.

use crate::plugin::bindings::{Error, Value};
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

/// Microseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{fraction:06}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn timestamps_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::Null);
    }
}
