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
    /// How webhook requests are verified; injected by the host from its own configuration.
    #[serde(default)]
    pub webhook: Option<WebhookSettings>,
}

/// HubSpot's default (and documented) limit on a webhook request's age: five minutes.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// How webhook requests are verified (HubSpot's v3 signature).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// The HubSpot app's client secret, which keys the signature.
    pub secret: String,
    /// How far a request's timestamp may be from now, either way, in seconds.
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u64,
    /// The URL HubSpot calls, up to the path the host receives (`https://sync.example.com`),
    /// for a host behind a proxy; without it the signed URI is `https://` + the `Host`
    /// header + the path. A path here (`https://example.com/wasync`) is a prefix the proxy
    /// strips.
    #[serde(default)]
    pub public_url: Option<String>,
}

/// Never shows the secret, so settings can be logged.
impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("secret", &"<redacted>")
            .field("tolerance_seconds", &self.tolerance_seconds)
            .field("public_url", &self.public_url)
            .finish()
    }
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECONDS
}

impl WebhookSettings {
    /// Refuses an empty secret or a `public_url` that is not an http(s) URL; drops a
    /// trailing slash from `public_url`, since the request path brings its own.
    fn validate(mut self) -> Result<Self, Error> {
        if self.secret.trim().is_empty() {
            return Err(invalid("`webhook.secret` is empty"));
        }
        if let Some(url) = &self.public_url {
            let trimmed = url.trim().trim_end_matches('/');
            let host = trimmed
                .strip_prefix("https://")
                .or_else(|| trimmed.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
                return Err(invalid(&format!(
                    "`webhook.public_url` `{url}` is not an http(s) URL (`https://sync.example.com`)"
                )));
            }
            self.public_url = Some(trimmed.to_owned());
        }
        Ok(self)
    }
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
    /// Whether reads also list archived objects, to see deletes (see `deletes`).
    #[serde(default)]
    pub read_deletes: bool,
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
        self.webhook = self.webhook.map(WebhookSettings::validate).transpose()?;
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
    fn reads_webhook_settings_and_hides_the_secret() -> Result<(), Error> {
        let settings = parse(
            r#"{"entities": {"companies": {}},
                "webhook": {"secret": "s3cret", "public_url": "https://sync.example.com/"}}"#,
        )?;
        let webhook = settings.webhook.as_ref().ok_or(invalid("no webhook"))?;
        assert_eq!(webhook.secret, "s3cret");
        assert_eq!(webhook.tolerance_seconds, DEFAULT_TOLERANCE_SECONDS);
        assert_eq!(
            webhook.public_url.as_deref(),
            Some("https://sync.example.com")
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
        let settings = parse(
            r#"{"entities": {"companies": {}}, "webhook": {"secret": "x", "tolerance_seconds": 60}}"#,
        )?;
        assert_eq!(settings.webhook.map(|w| w.tolerance_seconds), Some(60));
        assert!(
            parse(r#"{"entities": {"companies": {}}}"#)?
                .webhook
                .is_none()
        );
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
            (
                r#"{"entities": {"companies": {}}, "webhook": {"secret": " "}}"#,
                "`webhook.secret` is empty",
            ),
            (
                r#"{"entities": {"companies": {}}, "webhook": {}}"#,
                "`secret`",
            ),
            (
                r#"{"entities": {"companies": {}}, "webhook": {"secret": "x", "public_url": "sync.example.com"}}"#,
                "`webhook.public_url`",
            ),
            (
                r#"{"entities": {"companies": {}}, "webhook": {"secret": "x", "public_url": "https:///hooks"}}"#,
                "`webhook.public_url`",
            ),
            (
                r#"{"entities": {"companies": {}}, "webhook": {"secret": "x", "path": "/"}}"#,
                "`path`",
            ),
        ] {
            let message = config_error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
