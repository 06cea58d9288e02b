//! A field transform that appends its build's mark to text: `"paid"` → `"paid|v000"`.
//!
//! The mark lives in the component's data as `wasync-versioned-guest:v000`, once. A test
//! makes another version of the plugin by replacing the three digits in the bytes (a real,
//! different component: another digest, another output) instead of building it again.
//! A configuration with `refuse` is refused, as a plugin's validation would.

use wasync_sdk::{Config, Error, Transform, Value};

/// The marker; only its last four bytes are the mark. `black_box` keeps it in memory, where
/// a test can find it in the component's bytes.
static MARKER: [u8; 27] = *b"wasync-versioned-guest:v000";

struct Versioned {
    mark: String,
}

impl Transform for Versioned {
    fn new(config: &Config) -> Result<Self, Error> {
        if config.json().get("refuse").is_some() {
            return Err(Error::InvalidConfig("refused as asked".into()));
        }
        let marker = std::hint::black_box(&MARKER);
        let mark = String::from_utf8_lossy(&marker[23..]).into_owned();
        Ok(Versioned { mark })
    }

    fn apply(&self, value: Value) -> Result<Value, Error> {
        Ok(match value {
            Value::Text(text) => Value::Text(format!("{text}|{}", self.mark)),
            other => other,
        })
    }
}

wasync_sdk::export_transform!(Versioned);
