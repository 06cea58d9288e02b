//! Upper-cases text, refuses integers, passes anything else: `legacy-transform`'s work on
//! the SDK, which speaks `wasync:plugin@0.2.0`.

use wasync_sdk::{Config, Error, Transform, Value};

struct Upper;

impl Transform for Upper {
    fn new(_config: &Config) -> Result<Self, Error> {
        Ok(Upper)
    }

    fn apply(&self, value: Value) -> Result<Value, Error> {
        match value {
            Value::Text(text) => Ok(Value::Text(text.to_uppercase())),
            Value::Integer(_) => Err(Error::InvalidInput("no numbers".into())),
            other => Ok(other),
        }
    }
}

wasync_sdk::export_transform!(Upper);
