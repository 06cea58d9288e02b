//! A plugin's configuration: the JSON text given to its constructor.

use crate::Error;
use serde_json::Value as Json;

/// The configuration of one use of a plugin.
#[derive(Debug, Clone)]
pub struct Config {
    json: Json,
}

impl Config {
    /// Parses configuration text; empty text is `{}`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let json = if text.trim().is_empty() {
            Json::Object(Default::default())
        } else {
            serde_json::from_str(text)
                .map_err(|e| Error::InvalidConfig(format!("not JSON: {e}")))?
        };
        Ok(Config { json })
    }

    /// The configuration as JSON.
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// Deserializes the whole configuration into `T`; errors name what is wrong.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.json).map_err(|e| Error::InvalidConfig(e.to_string()))
    }
}
