//! HubSpot property values (always strings) to wasync values and back, by property type.

use crate::schema::Type;
use crate::time::{format_date_at_midnight, parse_datetime};
use serde_json::Value as Json;
use wasync_sdk::Value;
use wasync_sdk::time::format_millis;

/// A property value as read: number → integer when whole (and within 64 bits) else float,
/// bool → boolean, datetime → timestamp, anything else → text; null, and `""` for a type that
/// is not text, → null. A value that does not parse as its type stays text, so nothing is lost.
pub fn read_value(ty: Type, json: Json) -> Value {
    let text = match json {
        Json::Null => return Value::Null,
        Json::String(text) => text,
        // The API sends strings; take other JSON in its text form.
        other => other.to_string(),
    };
    let trimmed = text.trim();
    if ty != Type::Text && trimmed.is_empty() {
        return Value::Null;
    }
    let parsed = match ty {
        Type::Number => number(trimmed),
        Type::Bool => match trimmed {
            "true" => Some(Value::Boolean(true)),
            "false" => Some(Value::Boolean(false)),
            _ => None,
        },
        Type::Datetime => parse_datetime(trimmed).map(Value::Timestamp),
        Type::Date | Type::Text => None,
    };
    parsed.unwrap_or(Value::Text(text))
}

/// A decimal number: an integer when it is whole and fits 64 bits, else a float.
fn number(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::Integer(n));
    }
    let x = text.parse::<f64>().ok().filter(|x| x.is_finite())?;
    // 2^63 as f64; the range check keeps the cast exact.
    if x.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&x) {
        Some(Value::Integer(x as i64))
    } else {
        Some(Value::Float(x))
    }
}

/// A value as written to a property of type `ty`: text as is, numbers in decimal, booleans
/// `true`/`false`, timestamps as ISO 8601 with milliseconds (a `date` property takes
/// `YYYY-MM-DD`, so only midnight UTC), null as `""` (which clears the property), JSON as its
/// text. A value the property cannot take is an error saying why, so that it fails its own
/// change and not the whole batch call it would be sent in.
pub fn write_value(ty: Type, value: Value) -> Result<String, String> {
    let refuse = |what: &str| Err(format!("a {} property cannot take {what}", type_name(ty)));
    match (ty, value) {
        (_, Value::Null) => Ok(String::new()),
        (Type::Number, Value::Text(text)) => {
            if text.trim().is_empty() || text.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                Ok(text.trim().to_owned())
            } else {
                refuse(&format!("the text `{text}`"))
            }
        }
        (Type::Bool, Value::Text(text)) => match text.trim() {
            "true" | "false" | "" => Ok(text.trim().to_owned()),
            _ => refuse(&format!("the text `{text}`")),
        },
        (Type::Number | Type::Date, Value::Boolean(_)) => refuse("a boolean"),
        (Type::Datetime, Value::Boolean(_)) => refuse("a boolean"),
        (Type::Bool | Type::Datetime | Type::Date, Value::Integer(_) | Value::Float(_)) => {
            refuse("a number")
        }
        (Type::Number | Type::Bool, Value::Timestamp(_)) => refuse("a timestamp"),
        (Type::Number | Type::Bool | Type::Datetime | Type::Date, Value::Json(_)) => refuse("JSON"),
        (Type::Date, Value::Timestamp(micros)) => format_date_at_midnight(micros)
            .ok_or_else(|| "a date property takes a timestamp at midnight UTC only".into()),
        (_, Value::Timestamp(micros)) => format_millis(micros)
            .ok_or_else(|| format!("the timestamp {micros} is outside the years 0000-9999")),
        (_, Value::Text(text) | Value::Json(text)) => Ok(text),
        (_, Value::Boolean(b)) => Ok(b.to_string()),
        (_, Value::Integer(n)) => Ok(n.to_string()),
        (_, Value::Float(x)) if x.is_finite() => Ok(x.to_string()),
        (_, Value::Float(x)) => Err(format!("the float {x} has no decimal form")),
    }
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::Number => "number",
        Type::Bool => "bool",
        Type::Datetime => "datetime",
        Type::Date => "date",
        Type::Text => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXAMPLE: i64 = 1_575_737_406_678_000;

    #[test]
    fn reads_values_by_type() {
        let cases = [
            (Type::Number, json!("25"), Value::Integer(25)),
            (Type::Number, json!("-3"), Value::Integer(-3)),
            (Type::Number, json!("1000000.50"), Value::Float(1_000_000.5)),
            (Type::Number, json!("12.0"), Value::Integer(12)),
            (Type::Number, json!("1e20"), Value::Float(1e20)),
            (Type::Number, json!(""), Value::Null),
            (Type::Number, json!("n/a"), Value::Text("n/a".into())),
            (Type::Bool, json!("true"), Value::Boolean(true)),
            (Type::Bool, json!("false"), Value::Boolean(false)),
            (Type::Bool, json!(""), Value::Null),
            (
                Type::Datetime,
                json!("2019-12-07T16:50:06.678Z"),
                Value::Timestamp(EXAMPLE),
            ),
            (
                Type::Datetime,
                json!("1575737406678"),
                Value::Timestamp(EXAMPLE),
            ),
            (Type::Datetime, json!(""), Value::Null),
            (
                Type::Date,
                json!("2024-03-01"),
                Value::Text("2024-03-01".into()),
            ),
            (Type::Date, json!(""), Value::Null),
            (
                Type::Text,
                json!("Biglytics"),
                Value::Text("Biglytics".into()),
            ),
            (Type::Text, json!(""), Value::Text(String::new())),
            (Type::Text, json!("123"), Value::Text("123".into())),
            (Type::Text, json!(null), Value::Null),
            (Type::Number, json!(null), Value::Null),
            (Type::Number, json!(7), Value::Integer(7)),
        ];
        for (ty, json, expected) in cases {
            assert_eq!(read_value(ty, json.clone()), expected, "{ty:?} {json}");
        }
    }

    #[test]
    fn writes_values_as_strings() {
        let cases = [
            (Type::Text, Value::Text("Acme".into()), "Acme"),
            (Type::Text, Value::Integer(42), "42"),
            (Type::Text, Value::Boolean(true), "true"),
            (Type::Text, Value::Json("{\"a\":1}".into()), "{\"a\":1}"),
            (
                Type::Text,
                Value::Timestamp(EXAMPLE),
                "2019-12-07T16:50:06.678Z",
            ),
            (Type::Text, Value::Null, ""),
            (Type::Number, Value::Integer(-7), "-7"),
            (Type::Number, Value::Float(2.5), "2.5"),
            (Type::Number, Value::Float(3.0), "3"),
            (Type::Number, Value::Text(" 12.5 ".into()), "12.5"),
            (Type::Number, Value::Null, ""),
            (Type::Bool, Value::Boolean(false), "false"),
            (Type::Bool, Value::Text("true".into()), "true"),
            (
                Type::Datetime,
                Value::Timestamp(EXAMPLE),
                "2019-12-07T16:50:06.678Z",
            ),
            (
                Type::Datetime,
                Value::Text("2019-12-07".into()),
                "2019-12-07",
            ),
            (
                Type::Date,
                Value::Timestamp(1_709_251_200_000_000),
                "2024-03-01",
            ),
            (Type::Date, Value::Text("2024-03-01".into()), "2024-03-01"),
        ];
        for (ty, value, expected) in cases {
            assert_eq!(
                write_value(ty, value.clone()).as_deref(),
                Ok(expected),
                "{ty:?} {value:?}"
            );
        }
    }

    #[test]
    fn refuses_values_a_property_cannot_take() {
        let cases = [
            (Type::Number, Value::Text("lots".into()), "number property"),
            (Type::Number, Value::Boolean(true), "boolean"),
            (Type::Number, Value::Float(f64::NAN), "float"),
            (Type::Bool, Value::Text("yes".into()), "`yes`"),
            (Type::Bool, Value::Integer(1), "number"),
            (Type::Datetime, Value::Integer(1), "number"),
            (Type::Date, Value::Timestamp(EXAMPLE), "midnight"),
            (Type::Text, Value::Timestamp(i64::MAX), "outside"),
            (Type::Number, Value::Json("[1]".into()), "JSON"),
        ];
        for (ty, value, expected) in cases {
            match write_value(ty, value.clone()) {
                Err(message) => assert!(message.contains(expected), "{ty:?} {value:?}: {message}"),
                Ok(text) => panic!("{ty:?} {value:?} was written as `{text}`"),
            }
        }
    }
}
