//! How values are kept in the store: JSON that keeps their type. Text, numbers (integers
//! stay integers, floats keep a fraction), booleans and null are plain JSON; timestamps are
//! `{"$ts": micros}` and nested JSON is `{"$json": "text"}`.

use crate::wit::Value;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value as Json, json};
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

/// Fields as one stored JSON object, written straight from the values (building a
/// `serde_json::Value` tree first was most of the cost).
pub fn encode_fields(fields: &BTreeMap<String, Value>) -> String {
    let mut out = Vec::with_capacity(64 * fields.len());
    let mut ser = serde_json::Serializer::new(&mut out);
    let written = ser.collect_map(fields.iter().map(|(k, v)| (k, Stored(v))));
    match written {
        // serde_json writes only UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "{}".into()),
        Err(_) => "{}".into(),
    }
}

/// Fields from their stored JSON object; anything else reads as no fields. Values are read
/// straight into [`Value`]s; only the rare object (a timestamp, nested JSON) goes through
/// [`decode_value`].
pub fn decode_fields(text: &str) -> BTreeMap<String, Value> {
    // Pairs first, then the map built at once (they are stored sorted; a repeated key keeps
    // its last value, as inserting would): inserting one at a time, then mapping the values
    // into a second map, was a third of reading a record.
    serde_json::from_str::<Pairs>(text)
        .map(|pairs| pairs.0.into_iter().collect())
        .unwrap_or_default()
}

/// A stored record's fields, in the order stored.
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of stored values")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((name, Decoded(value))) = map.next_entry::<String, Decoded>()? {
                    pairs.push((name, value));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// A value in its stored form, for writing: the same JSON as [`encode_value`].
pub(super) struct Stored<'a>(pub(super) &'a Value);

impl Serialize for Stored<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Boolean(b) => serializer.serialize_bool(*b),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::Text(t) => serializer.serialize_str(t),
            Value::Timestamp(t) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$ts", t)?;
                map.end()
            }
            Value::Json(text) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$json", text)?;
                map.end()
            }
        }
    }
}

/// A value read from its stored form: what [`decode_value`] makes of it.
struct Decoded(Value);

impl<'de> Deserialize<'de> for Decoded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecodedVisitor)
    }
}

struct DecodedVisitor;

impl<'de> Visitor<'de> for DecodedVisitor {
    type Value = Decoded;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a stored value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Decoded, E> {
        Ok(Decoded(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Decoded, E> {
        Ok(Decoded(Value::Boolean(b)))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Decoded, E> {
        Ok(Decoded(Value::Integer(i)))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Decoded, E> {
        Ok(Decoded(
            i64::try_from(u).map_or(Value::Float(u as f64), Value::Integer),
        ))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Decoded, E> {
        Ok(Decoded(Value::Float(x)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Decoded, E> {
        Ok(Decoded(Value::Text(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Decoded, E> {
        Ok(Decoded(Value::Text(s)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Decoded, A::Error> {
        let json = Json::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Decoded(decode_value(&json)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Decoded, A::Error> {
        let json = Json::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Decoded(decode_value(&json)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields read back as a map, whatever order they were stored in; a key stored twice
    /// keeps its last value, and text that is not an object reads as no fields.
    #[test]
    fn fields_read_back_as_stored() {
        let fields = decode_fields(r#"{"b": 1, "a": {"$ts": 5}, "b": "two", "c": null}"#);
        let want: BTreeMap<String, Value> = [
            ("a".to_owned(), Value::Timestamp(5)),
            ("b".to_owned(), Value::Text("two".into())),
            ("c".to_owned(), Value::Null),
        ]
        .into_iter()
        .collect();
        assert_eq!(fields, want);
        assert_eq!(decode_fields(&encode_fields(&want)), want);
        assert!(decode_fields("[1]").is_empty() && decode_fields("{\"a\": ").is_empty());
    }

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

    /// Fields are written and read without a `serde_json::Value` tree; the text must be
    /// exactly what encoding each value gives (destinations compare it with what they were
    /// last sent), and reading it back the same as decoding each value.
    #[test]
    fn fields_read_and_write_as_their_values_do() {
        let values = [
            Value::Null,
            Value::Boolean(true),
            Value::Integer(i64::MIN),
            Value::Integer(42),
            Value::Float(1.0),
            Value::Float(-0.0),
            Value::Float(2.5e-300),
            Value::Float(1e300),
            Value::Float(f64::NAN),
            Value::Text("tab\t \"quoted\" é \u{1F600}".into()),
            Value::Timestamp(-1),
            Value::Json("{\"a\": [1, 2]}".into()),
        ];
        let fields: BTreeMap<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("f{i}"), v.clone()))
            .collect();
        let text = encode_fields(&fields);
        let tree: serde_json::Map<String, Json> = fields
            .iter()
            .map(|(k, v)| (k.clone(), encode_value(v)))
            .collect();
        assert_eq!(text, Json::Object(tree).to_string());
        let expected: BTreeMap<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.clone(), decode_value(&encode_value(v))))
            .collect();
        assert_eq!(
            format!("{:?}", decode_fields(&text)),
            format!("{expected:?}")
        );
        for stored in [
            r#"{"a": 18446744073709551615, "b": [1, {"c": 2}], "c": {"$ts": 5, "x": 1}}"#,
            r#"{"a": {"$ts": 1.5}, "b": {"$json": 3}, "c": {}}"#,
        ] {
            let tree: serde_json::Map<String, Json> =
                serde_json::from_str(stored).expect("test JSON");
            let expected: BTreeMap<String, Value> = tree
                .iter()
                .map(|(k, v)| (k.clone(), decode_value(v)))
                .collect();
            assert_eq!(decode_fields(stored), expected, "{stored}");
        }
        assert!(decode_fields("[1]").is_empty());
        assert!(decode_fields("not json").is_empty());
    }
}
