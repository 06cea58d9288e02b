//! The connector's configuration, as documented in the crate docs.

use serde::Deserialize;
use std::collections::BTreeMap;
use wasync_sdk::Error;

/// HubSpot's API host, for accounts in every data centre.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API's base URL, without a trailing slash once validated.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The object types to sync (`companies`, `contacts`, ...), by name.
    pub entities: BTreeMap<String, EntitySettings>,
}

/// What to read and how to create records of one object type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySettings {
    /// The properties to read; all of the object type's properties when absent.
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    /// A property with unique values by which creates are upserted.
    #[serde(default)]
    pub upsert_property: Option<String>,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}

impl Settings {
    /// Checks what serde cannot, and drops a trailing slash from `base_url`.
    pub fn validate(mut self) -> Result<Self, Error> {
        let base = self.base_url.trim().trim_end_matches('/');
        let host = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        if host.is_none_or(str::is_empty) {
            return Err(invalid(&format!(
                "`base_url` `{}` is not an http(s) URL",
                self.base_url
            )));
        }
        self.base_url = base.to_owned();
        if self.entities.is_empty() {
            return Err(invalid(
                "`entities` is empty: name at least one object type (`companies`)",
            ));
        }
        for (name, entity) in &self.entities {
            check_object_type(name)?;
            entity.validate(name)?;
        }
        Ok(self)
    }
}

/// Object types go into URL paths: `companies`, `p_cars`, `2-1234567`.
fn check_object_type(name: &str) -> Result<(), Error> {
    let usable = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if usable {
        Ok(())
    } else {
        Err(invalid(&format!(
            "`{name}` is not a HubSpot object type (letters, digits, `_` and `-` only)"
        )))
    }
}

impl EntitySettings {
    fn validate(&self, entity: &str) -> Result<(), Error> {
        let names = self.properties.iter().flatten();
        for name in names.chain(&self.upsert_property) {
            if name.trim().is_empty() || name.trim() != name {
                return Err(invalid(&format!(
                    "entity `{entity}`: property name `{name}` is empty or has spaces around it"
                )));
            }
        }
        Ok(())
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidConfig(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, Error> {
        let settings: Settings = wasync_sdk::Config::parse(text)?.deserialize()?;
        settings.validate()
    }

    fn config_error(text: &str) -> String {
        match parse(text) {
            Err(Error::InvalidConfig(message)) => message,
            other => panic!("{text}: expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_documented_example() -> Result<(), Error> {
        let settings = parse(
            r#"{"base_url": "https://api.hubapi.com/", "entities": {
                "companies": {"properties": ["name", "domain"], "upsert_property": "wasync_id"},
                "contacts": {}}}"#,
        )?;
        assert_eq!(settings.base_url, "https://api.hubapi.com");
        let companies = &settings.entities["companies"];
        assert_eq!(
            companies.properties.as_deref(),
            Some(&["name".to_owned(), "domain".to_owned()][..])
        );
        assert_eq!(companies.upsert_property.as_deref(), Some("wasync_id"));
        assert_eq!(settings.entities["contacts"].properties, None);
        Ok(())
    }

    #[test]
    fn defaults_the_base_url() -> Result<(), Error> {
        let settings = parse(r#"{"entities": {"companies": {}}}"#)?;
        assert_eq!(settings.base_url, DEFAULT_BASE_URL);
        let settings =
            parse(r#"{"base_url": "http://127.0.0.1:8080", "entities": {"2-123": {}}}"#)?;
        assert_eq!(settings.base_url, "http://127.0.0.1:8080");
        let settings = parse(r#"{"base_url": "http://h//", "entities": {"p_cars": {}}}"#)?;
        assert_eq!(settings.base_url, "http://h");
        Ok(())
    }

    #[test]
    fn names_unknown_keys() {
        let message = config_error(r#"{"entities": {"companies": {}}, "token": "x"}"#);
        assert!(message.contains("`token`"), "{message}");
        let message = config_error(r#"{"entities": {"companies": {"fields": ["name"]}}}"#);
        assert!(message.contains("`fields`"), "{message}");
    }

    #[test]
    fn refuses_unusable_settings() {
        for (text, expected) in [
            (r#"{}"#, "`entities`"),
            (r#"{"entities": {}}"#, "`entities` is empty"),
            (r#"{"entities": {"comp/anies": {}}}"#, "`comp/anies`"),
            (r#"{"entities": {"": {}}}"#, "object type"),
            (
                r#"{"base_url": "api.hubapi.com", "entities": {"companies": {}}}"#,
                "`base_url`",
            ),
            (
                r#"{"base_url": "https://", "entities": {"companies": {}}}"#,
                "`base_url`",
            ),
            (
                r#"{"entities": {"companies": {"properties": ["name", ""]}}}"#,
                "empty",
            ),
            (
                r#"{"entities": {"companies": {"upsert_property": " id"}}}"#,
                "` id`",
            ),
            (
                r#"{"entities": {"companies": {"properties": "name"}}}"#,
                "sequence",
            ),
        ] {
            let message = config_error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
