//! A wasync field transform: trims text, and upper-cases it when configured with
//! `{"upper": true}`. Other values pass through unchanged.

use wasync_sdk::{Config, Error, Transform, Value};

struct Trim {
    upper: bool,
}

impl Transform for Trim {
    fn new(config: &Config) -> Result<Self, Error> {
        let upper = match config.json().get("upper") {
            None => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => return Err(Error::InvalidConfig("`upper` must be true or false".into())),
        };
        Ok(Trim { upper })
    }

    fn apply(&self, value: Value) -> Result<Value, Error> {
        Ok(match value {
            Value::Text(t) if self.upper => Value::Text(t.trim().to_uppercase()),
            Value::Text(t) => Value::Text(t.trim().to_owned()),
            other => other,
        })
    }
}

wasync_sdk::export_transform!(Trim);
