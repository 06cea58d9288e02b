//! Salesforce JSON values to wasync values by the field's describe type, and back.

use crate::describe::FieldType;
use serde_json::{Number, Value as Json};
use wasync_sdk::time;
use wasync_sdk::{Error, Timestamp, Value};

/// A value read from a record:
///
/// - `boolean` → boolean; `int` → integer; `double`, `currency`, `percent` → float (also
///   when the JSON number is whole); `datetime` → timestamp; `address`, `location` → JSON;
/// - everything else → text; JSON `null` → null.
///
/// A value whose JSON does not fit its type (which Salesforce does not send) is read by its
/// JSON: strings as text, numbers as integer or float, objects and arrays as JSON.
pub fn read(field_type: FieldType, json: Json) -> Value {
    match (field_type, json) {
        (_, Json::Null) => Value::Null,
        (FieldType::Boolean, Json::Bool(b)) => Value::Boolean(b),
        (FieldType::Integer, Json::Number(n)) => integer(&n),
        (FieldType::Float, Json::Number(n)) => n.as_f64().map_or(Value::Null, Value::Float),
        (FieldType::DateTime, Json::String(s)) => match time::parse_rfc3339(&s) {
            Some(micros) => Value::Timestamp(micros),
            None => Value::Text(s),
        },
        (_, Json::String(s)) => Value::Text(s),
        (_, Json::Bool(b)) => Value::Boolean(b),
        (_, Json::Number(n)) => integer(&n),
        (_, nested) => Value::Json(nested.to_string()),
    }
}

/// A value of a Bulk API 2.0 CSV result, by the field's describe type: an empty field is
/// `null` (CSV cannot tell it from empty text, and Salesforce stores empty text as null);
/// text that does not parse as its type (which Salesforce does not send) stays text.
pub fn from_text(field_type: FieldType, text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    let parsed = match field_type {
        FieldType::Boolean => match text {
            "true" => Some(Value::Boolean(true)),
            "false" => Some(Value::Boolean(false)),
            _ => None,
        },
        FieldType::Integer => text.parse().ok().map(Value::Integer),
        FieldType::Float => text.parse().ok().map(Value::Float),
        FieldType::DateTime => time::parse_rfc3339(text).map(Value::Timestamp),
        FieldType::Date | FieldType::Compound | FieldType::Text => None,
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_owned()))
}

/// An integer when the number is one, else a float.
fn integer(n: &Number) -> Value {
    match n.as_i64() {
        Some(i) => Value::Integer(i),
        None => n.as_f64().map_or(Value::Null, Value::Float),
    }
}

/// A value to write as JSON: text as a string, numbers as numbers, booleans, null, JSON
/// text as the JSON it holds, a timestamp as `YYYY-MM-DDTHH:MM:SS.sssZ` (rounded down to
/// the millisecond Salesforce keeps), or `YYYY-MM-DD` for a `date` field.
pub fn write(field_type: FieldType, value: Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(n) => Json::from(n),
        Value::Float(x) => Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| format!("the float {x} has no JSON form"))?,
        Value::Text(s) => Json::String(s),
        Value::Timestamp(micros) => {
            let text = if field_type == FieldType::Date {
                time::format_date(micros)
            } else {
                time::format_millis(micros)
            };
            Json::String(text.ok_or_else(|| {
                format!("the timestamp {micros} is outside the years 0000 to 9999")
            })?)
        }
        Value::Json(text) => {
            serde_json::from_str(&text).map_err(|e| format!("the JSON value is not JSON: {e}"))?
        }
    })
}

/// A watermark the host gives (a cursor's or an upper bound) as an instant: a timestamp, or
/// text in RFC 3339 (`2024-03-01T12:00:00.000Z`). `null` is before every record: `None`.
pub fn instant(value: &Value, what: &str) -> Result<Option<Timestamp>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Timestamp(micros) => Ok(Some(*micros)),
        Value::Text(text) => time::parse_rfc3339(text).map(Some).ok_or_else(|| {
            Error::InvalidInput(format!(
                "the {what} `{text}` is not a timestamp (RFC 3339, like \
                 `2024-03-01T12:00:00.000Z`)"
            ))
        }),
        other => Err(Error::InvalidInput(format!(
            "the {what} must be a timestamp (`SystemModstamp`), not {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2024-03-01T12:00:00Z.
    const NOON: Timestamp = 1_709_294_400_000_000;

    #[test]
    fn reads_values_by_type() {
        let cases = [
            (FieldType::Boolean, json!(true), Value::Boolean(true)),
            (FieldType::Integer, json!(250), Value::Integer(250)),
            (FieldType::Integer, json!(2.5), Value::Float(2.5)),
            (FieldType::Float, json!(1000000), Value::Float(1_000_000.0)),
            (FieldType::Float, json!(12.5), Value::Float(12.5)),
            (
                FieldType::DateTime,
                json!("2024-03-01T12:00:00.000+0000"),
                Value::Timestamp(NOON),
            ),
            (
                FieldType::DateTime,
                json!("soon"),
                Value::Text("soon".into()),
            ),
            (
                FieldType::Date,
                json!("2024-03-01"),
                Value::Text("2024-03-01".into()),
            ),
            (FieldType::Text, json!("Acme"), Value::Text("Acme".into())),
            (FieldType::Text, json!(null), Value::Null),
            (FieldType::Float, json!(null), Value::Null),
            (
                FieldType::Compound,
                json!({"city": "Paris"}),
                Value::Json(r#"{"city":"Paris"}"#.into()),
            ),
            (FieldType::Text, json!(7), Value::Integer(7)),
        ];
        for (field_type, json, value) in cases {
            assert_eq!(
                read(field_type, json.clone()),
                value,
                "{field_type:?} {json}"
            );
        }
    }

    #[test]
    fn reads_csv_text_by_type() {
        let cases = [
            (FieldType::Boolean, "false", Value::Boolean(false)),
            (FieldType::Integer, "250", Value::Integer(250)),
            (FieldType::Float, "1000000", Value::Float(1_000_000.0)),
            (FieldType::Float, "12.5", Value::Float(12.5)),
            (
                FieldType::DateTime,
                "2024-03-01T12:00:00.000Z",
                Value::Timestamp(NOON),
            ),
            (
                FieldType::Date,
                "2024-03-01",
                Value::Text("2024-03-01".into()),
            ),
            (FieldType::Text, "00123", Value::Text("00123".into())),
            (FieldType::Integer, "many", Value::Text("many".into())),
            (FieldType::Text, "", Value::Null),
            (FieldType::Boolean, "", Value::Null),
        ];
        for (field_type, text, value) in cases {
            assert_eq!(from_text(field_type, text), value, "{field_type:?} {text}");
        }
    }

    #[test]
    fn writes_values_as_json() {
        let text = FieldType::Text;
        assert_eq!(write(text, Value::Text("a".into())), Ok(json!("a")));
        assert_eq!(write(text, Value::Integer(3)), Ok(json!(3)));
        assert_eq!(write(text, Value::Float(2.5)), Ok(json!(2.5)));
        assert_eq!(write(text, Value::Boolean(false)), Ok(json!(false)));
        assert_eq!(write(text, Value::Null), Ok(json!(null)));
        assert_eq!(
            write(FieldType::DateTime, Value::Timestamp(NOON + 1_999)),
            Ok(json!("2024-03-01T12:00:00.001Z"))
        );
        assert_eq!(
            write(FieldType::Date, Value::Timestamp(NOON)),
            Ok(json!("2024-03-01"))
        );
        assert_eq!(
            write(text, Value::Json(r#"{"a":[1]}"#.into())),
            Ok(json!({"a": [1]}))
        );
        assert!(write(text, Value::Json("{".into())).is_err());
        assert!(write(text, Value::Float(f64::INFINITY)).is_err());
        assert!(write(text, Value::Timestamp(i64::MIN)).is_err());
    }

    #[test]
    fn takes_timestamps_and_rfc_3339_text_as_instants() {
        assert_eq!(instant(&Value::Timestamp(NOON), "cursor"), Ok(Some(NOON)));
        assert_eq!(
            instant(
                &Value::Text("2024-03-01T12:00:00.000+0000".into()),
                "cursor"
            ),
            Ok(Some(NOON))
        );
        assert_eq!(instant(&Value::Null, "cursor"), Ok(None));
        assert!(matches!(
            instant(&Value::Text("yesterday".into()), "cursor"),
            Err(Error::InvalidInput(m)) if m.contains("`yesterday`")
        ));
        assert!(matches!(
            instant(&Value::Integer(5), "bound"),
            Err(Error::InvalidInput(_))
        ));
    }
}
