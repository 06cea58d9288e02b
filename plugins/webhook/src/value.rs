//! wasync values to and from plain JSON, and canonical JSON text for hashing.

use serde_json::{Number, Value as Json};
use wasync_sdk::Value;
use wasync_sdk::time::format_micros;

/// A JSON value as the closest wasync value: strings → text, whole numbers that fit 64 bits
/// → integers, other numbers → floats, booleans and null as such, arrays and objects → JSON
/// text.
pub fn from_json(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        nested @ (Json::Array(_) | Json::Object(_)) => Value::Json(nested.to_string()),
    }
}

/// A wasync value as plain JSON: timestamps as RFC 3339 UTC text with microseconds, JSON
/// text as the JSON it holds. A float JSON cannot hold, a timestamp outside the years 0000
/// to 9999 and JSON text that does not parse are errors saying so.
pub fn to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(x) => Json::Number(
            Number::from_f64(*x).ok_or_else(|| format!("the float {x} has no JSON form"))?,
        ),
        Value::Text(t) => Json::String(t.clone()),
        Value::Timestamp(t) => Json::String(
            format_micros(*t).ok_or_else(|| format!("the timestamp {t} µs is out of range"))?,
        ),
        Value::Json(text) => {
            serde_json::from_str(text).map_err(|e| format!("JSON text that does not parse: {e}"))?
        }
    })
}

/// JSON text with object keys sorted at every depth and no white space, so equal values
/// always give equal text, whatever order they were built in.
pub fn canonical(json: &Json) -> String {
    let mut out = String::new();
    write_canonical(json, &mut out);
    out
}

fn write_canonical(json: &Json, out: &mut String) {
    match json {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The JSON type's name with its article (`an object`), for messages.
pub fn type_name(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_json_to_values() {
        for (json, value) in [
            (json!(null), Value::Null),
            (json!(true), Value::Boolean(true)),
            (json!(-42), Value::Integer(-42)),
            (json!(1.5), Value::Float(1.5)),
            (
                json!(18446744073709551615u64),
                Value::Float(1.8446744073709552e19),
            ),
            (json!("a"), Value::Text("a".into())),
            (json!([1, "b"]), Value::Json(r#"[1,"b"]"#.into())),
            (json!({"k": 1}), Value::Json(r#"{"k":1}"#.into())),
        ] {
            assert_eq!(from_json(json.clone()), value, "{json}");
        }
    }

    #[test]
    fn converts_values_to_json() {
        for (value, json) in [
            (Value::Null, json!(null)),
            (Value::Boolean(false), json!(false)),
            (Value::Integer(7), json!(7)),
            (Value::Float(0.25), json!(0.25)),
            (Value::Text("t".into()), json!("t")),
            (
                Value::Timestamp(1_614_265_330_000_001),
                json!("2021-02-25T15:02:10.000001Z"),
            ),
            (Value::Json(r#"{"a": [1]}"#.into()), json!({"a": [1]})),
        ] {
            assert_eq!(to_json(&value), Ok(json), "{value:?}");
        }
        assert!(to_json(&Value::Float(f64::NAN)).is_err_and(|e| e.contains("NaN")));
        assert!(to_json(&Value::Timestamp(i64::MAX)).is_err_and(|e| e.contains("out of range")));
        assert!(to_json(&Value::Json("{".into())).is_err_and(|e| e.contains("does not parse")));
    }

    #[test]
    fn canonical_text_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [true, null], "x": "é\"q"}});
        assert_eq!(canonical(&a), r#"{"a":{"x":"é\"q","y":[true,null]},"b":1}"#);
        let mut b = serde_json::Map::new();
        b.insert("b".into(), json!(1));
        b.insert("a".into(), json!({"x": "é\"q", "y": [true, null]}));
        assert_eq!(canonical(&Json::Object(b)), canonical(&a));
    }
}
