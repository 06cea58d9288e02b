//! JSON values to wasync values and back, and the order of watermarks.

use serde_json::{Number, Value as Json};
use std::cmp::Ordering;
use wasync_sdk::Value;
use wasync_sdk::time::{format_micros, parse_rfc3339};

/// A JSON value as a field value: string → text, whole number → integer, other number →
/// float, bool → boolean, null → null, array or object → JSON text.
pub fn value_of(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => number_of(&n),
        Json::String(s) => Value::Text(s),
        nested => Value::Json(nested.to_string()),
    }
}

/// A JSON value as a watermark: like [`value_of`], except that an RFC 3339 string is a
/// timestamp, so that watermarks order by time and not by spelling.
pub fn watermark_of(json: Json) -> Value {
    match json {
        Json::String(s) => match parse_rfc3339(&s) {
            Some(micros) => Value::Timestamp(micros),
            None => Value::Text(s),
        },
        other => value_of(other),
    }
}

/// An integer if the number is whole and fits 64 bits, else a float.
fn number_of(n: &Number) -> Value {
    if let Some(i) = n.as_i64() {
        return Value::Integer(i);
    }
    match n.as_f64() {
        // 2^63 as f64; the range check keeps the cast exact.
        Some(x)
            if x.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&x) =>
        {
            Value::Integer(x as i64)
        }
        Some(x) => Value::Float(x),
        None => Value::Null,
    }
}

/// A field value as JSON, the way it is written back to the file. Timestamps become RFC 3339
/// strings; JSON text is parsed, so nested data stays nested.
pub fn json_of(value: Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(n) => Json::from(n),
        Value::Float(x) => Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| format!("the float {x} has no JSON form"))?,
        Value::Text(s) => Json::String(s),
        Value::Timestamp(micros) => Json::String(
            format_micros(micros)
                .ok_or_else(|| format!("the timestamp {micros} is outside the years 0000-9999"))?,
        ),
        Value::Json(text) => {
            serde_json::from_str(&text).map_err(|e| format!("JSON value is not JSON: {e}"))?
        }
    })
}

/// The text of an id or an upsert key: a non-blank string (trimmed) or a number in decimal.
pub fn key_text(json: &Json) -> Option<String> {
    match json {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A watermark with a total order, as records are sorted and compared with cursors.
///
/// Values of one type compare as that type (timestamps by time, integers and floats by
/// value, text by bytes). Across types the order is fixed: null first, then booleans,
/// integers, floats, text, JSON and timestamps last, so that the timestamps this connector
/// writes sort after any other watermark a file may hold.
#[derive(Debug, Clone)]
pub struct Mark(pub Value);

impl Mark {
    /// A watermark as given by the host (a cursor or an upper bound): text that is an RFC
    /// 3339 timestamp is taken as that timestamp, the way the file's watermarks are read.
    pub fn from_bound(value: Value) -> Mark {
        match value {
            Value::Text(text) => Mark(watermark_of(Json::String(text))),
            other => Mark(other),
        }
    }

    fn rank(&self) -> u8 {
        match self.0 {
            Value::Null => 0,
            Value::Boolean(_) => 1,
            Value::Integer(_) => 2,
            Value::Float(_) => 3,
            Value::Text(_) => 4,
            Value::Json(_) => 5,
            Value::Timestamp(_) => 6,
        }
    }
}

impl Ord for Mark {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Json(a), Value::Json(b)) => a.cmp(b),
            (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Mark {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Mark {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Mark {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_json_to_values() {
        assert_eq!(value_of(json!("x")), Value::Text("x".into()));
        assert_eq!(value_of(json!(7)), Value::Integer(7));
        assert_eq!(value_of(json!(-7)), Value::Integer(-7));
        assert_eq!(value_of(json!(7.0)), Value::Integer(7));
        assert_eq!(value_of(json!(7.5)), Value::Float(7.5));
        assert_eq!(value_of(json!(u64::MAX)), Value::Float(u64::MAX as f64));
        assert_eq!(value_of(json!(1e300)), Value::Float(1e300));
        assert_eq!(value_of(json!(true)), Value::Boolean(true));
        assert_eq!(value_of(json!(null)), Value::Null);
        assert_eq!(value_of(json!([1, "a"])), Value::Json("[1,\"a\"]".into()));
        assert_eq!(value_of(json!({"a": 1})), Value::Json("{\"a\":1}".into()));
        // Only watermarks are read as timestamps.
        assert_eq!(
            value_of(json!("2024-03-01T12:00:00Z")),
            Value::Text("2024-03-01T12:00:00Z".into())
        );
    }

    #[test]
    fn reads_watermarks() {
        assert_eq!(
            watermark_of(json!("2024-03-01T12:00:00.000+0000")),
            Value::Timestamp(1_709_294_400_000_000)
        );
        assert_eq!(watermark_of(json!(42)), Value::Integer(42));
        assert_eq!(
            watermark_of(json!("yesterday")),
            Value::Text("yesterday".into())
        );
        assert_eq!(watermark_of(json!(null)), Value::Null);
    }

    #[test]
    fn writes_values_as_json() {
        assert_eq!(json_of(Value::Text("a".into())), Ok(json!("a")));
        assert_eq!(json_of(Value::Integer(3)), Ok(json!(3)));
        assert_eq!(json_of(Value::Float(2.5)), Ok(json!(2.5)));
        assert_eq!(json_of(Value::Boolean(false)), Ok(json!(false)));
        assert_eq!(json_of(Value::Null), Ok(json!(null)));
        assert_eq!(
            json_of(Value::Timestamp(1_709_294_400_000_000)),
            Ok(json!("2024-03-01T12:00:00.000000Z"))
        );
        assert_eq!(
            json_of(Value::Json("{\"a\":[1]}".into())),
            Ok(json!({"a": [1]}))
        );
        assert!(json_of(Value::Json("{".into())).is_err());
        assert!(json_of(Value::Float(f64::NAN)).is_err());
    }

    #[test]
    fn key_text_is_trimmed_text_or_a_number() {
        assert_eq!(key_text(&json!(" a ")), Some("a".into()));
        assert_eq!(key_text(&json!(12)), Some("12".into()));
        assert_eq!(key_text(&json!("  ")), None);
        assert_eq!(key_text(&json!(null)), None);
        assert_eq!(key_text(&json!({})), None);
    }

    #[test]
    fn orders_marks() {
        let null = Mark(Value::Null);
        let int = Mark(Value::Integer(5));
        let text = Mark(Value::Text("a".into()));
        let early = Mark(Value::Timestamp(1));
        let late = Mark(Value::Timestamp(2));
        assert!(null < int && int < text && text < early && early < late);
        assert!(Mark(Value::Integer(4)) < int);
        assert!(Mark(Value::Float(1.5)) < Mark(Value::Float(2.0)));
        assert_eq!(Mark(Value::Float(f64::NAN)), Mark(Value::Float(f64::NAN)));
    }

    #[test]
    fn bounds_read_text_timestamps() {
        assert_eq!(
            Mark::from_bound(Value::Text("1970-01-01T00:00:00.000001Z".into())),
            Mark(Value::Timestamp(1))
        );
        assert_eq!(
            Mark::from_bound(Value::Text("b".into())),
            Mark(Value::Text("b".into()))
        );
    }
}
