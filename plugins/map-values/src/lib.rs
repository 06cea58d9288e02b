//! `map-values`: a configured table from values to values, with an optional default.
//!
//! The seeds' "Company Type becomes Other unless Prospect or Partner":
//!
//! ```json
//! {"map": {"Prospect": "Prospect", "Partner": "Partner"}, "default": "Other"}
//! ```
//!
//! Configuration:
//! - `map` (object, required): keys are matched against the input's text form (numbers and
//!   booleans match their JSON spelling: `1`, `true`); values are any JSON value.
//! - `default` (any JSON value, optional): the output for an input the table lacks. Without it
//!   such an input passes through unchanged.
//! - `ignore_case` (bool, default false): match keys without regard to case and surrounding
//!   white space.
//!
//! A `null` input is never in the table: it becomes `default`, or stays `null`.

use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;

/// The parsed configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    map: HashMap<String, Json>,
    #[serde(default)]
    default: Option<Json>,
    #[serde(default)]
    ignore_case: bool,
}

/// A built table: keys normalised once, so a lookup costs one hash.
pub struct Table<V> {
    entries: HashMap<String, V>,
    default: Option<V>,
    ignore_case: bool,
}

impl<V: Clone> Table<V> {
    /// Builds the table, converting each JSON value with `convert`.
    pub fn new(settings: Settings, convert: impl Fn(Json) -> V) -> Self {
        let ignore_case = settings.ignore_case;
        let entries = settings
            .map
            .into_iter()
            .map(|(key, value)| (normalise(&key, ignore_case).into_owned(), convert(value)))
            .collect();
        Table {
            entries,
            default: settings.default.map(&convert),
            ignore_case,
        }
    }

    /// The mapped value of `key` (`None` for a null input), or the default; `None` means
    /// "pass the input through".
    pub fn get(&self, key: Option<&str>) -> Option<V> {
        key.and_then(|key| self.entries.get(normalise(key, self.ignore_case).as_ref()))
            .or(self.default.as_ref())
            .cloned()
    }
}

fn normalise(key: &str, ignore_case: bool) -> std::borrow::Cow<'_, str> {
    if ignore_case {
        key.trim().to_lowercase().into()
    } else {
        key.into()
    }
}

#[cfg(target_arch = "wasm32")]
mod plugin {
    use super::{Settings, Table};
    use serde_json::Value as Json;
    use std::borrow::Cow;
    use wasync_sdk::{Config, Error, Transform, Value, ValueRef};

    struct MapValues(Table<Value>);

    fn value_of(json: Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(b),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Integer)
                .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
            Json::String(s) => Value::Text(s),
            nested => Value::Json(nested.to_string()),
        }
    }

    impl Transform for MapValues {
        fn new(config: &Config) -> Result<Self, Error> {
            let settings: Settings = config.deserialize()?;
            Ok(MapValues(Table::new(settings, value_of)))
        }

        fn apply(&self, value: Value) -> Result<Value, Error> {
            self.apply_ref(ValueRef::from(&value))
        }

        /// Looks the value up where the batch holds it; copies it only when it passes
        /// through unmapped.
        fn apply_ref(&self, value: ValueRef<'_>) -> Result<Value, Error> {
            let key: Option<Cow<'_, str>> = match value {
                ValueRef::Null => None,
                ValueRef::Text(t) | ValueRef::Json(t) => Some(t.into()),
                ValueRef::Boolean(b) => Some(b.to_string().into()),
                ValueRef::Integer(n) => Some(n.to_string().into()),
                ValueRef::Float(x) => Some(x.to_string().into()),
                ValueRef::Timestamp(t) => Some(t.to_string().into()),
            };
            Ok(self.0.get(key.as_deref()).unwrap_or_else(|| value.into()))
        }
    }

    wasync_sdk::export_transform!(MapValues);
}
