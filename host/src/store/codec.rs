//! How values are kept in the store: JSON that keeps their type. Text, numbers (integers
//! stay integers, floats keep a fraction), booleans and null are plain JSON; timestamps are
//! `{"$ts": micros}` and nested JSON is `{"$json": "text"}`.

use crate::Value;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// A value's stored form.
pub fn encode_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Text(t) => Json::String(t.clone()),
        Value::Timestamp(t) => json!({ "$ts": t }),
        Value::Json(text) => json!({ "$json": text }),
    }
}

/// The value a stored form stands for.
pub fn decode_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Integer(i),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(o) => match (o.get("$ts"), o.get("$json")) {
            (Some(Json::Number(n)), None) if o.len() == 1 => {
                Value::Timestamp(n.as_i64().unwrap_or_default())
            }
            (None, Some(Json::String(text))) if o.len() == 1 => Value::Json(text.clone()),
            _ => Value::Json(json.to_string()),
        },
        Json::Array(_) => Value::Json(json.to_string()),
    }
}

/// Fields as one stored JSON object.
pub fn encode_fields(fields: &BTreeMap<String, Value>) -> String {
    let map: Map<String, Json> = fields
        .iter()
        .map(|(k, v)| (k.clone(), encode_value(v)))
        .collect();
    Json::Object(map).to_string()
}

/// Fields from their stored JSON object; anything else reads as no fields.
pub fn decode_fields(text: &str) -> BTreeMap<String, Value> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), decode_value(v)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_keeps_its_type() {
        for value in [
            Value::Null,
            Value::Boolean(false),
            Value::Integer(-3),
            Value::Float(1.0),
            Value::Float(2.5),
            Value::Text("x".into()),
            Value::Text("{\"$ts\": 1}".into()),
            Value::Timestamp(1_700_000_000_000_000),
            Value::Json("[1,2]".into()),
        ] {
            assert_eq!(decode_value(&encode_value(&value)), value);
        }
    }
}
