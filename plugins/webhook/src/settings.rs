//! The connector's configuration, as documented in the crate docs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use wasync_sdk::{EntityKind, Error};

/// The watermark field an entity describes when none is configured: the item key that
/// carries it in a webhook, too.
pub const DEFAULT_WATERMARK_FIELD: &str = "timestamp";

/// How far a webhook's timestamp may be from now by default: the Standard Webhooks
/// libraries' five minutes, long enough for clock skew and the sender's own delay, short
/// enough that a captured request cannot be replayed later.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// The prefix Standard Webhooks puts before a base64 secret.
const SECRET_PREFIX: &str = "whsec_";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The entities webhooks may carry and `write` may deliver, by name.
    pub entities: BTreeMap<String, EntitySettings>,
    /// How webhooks are verified; injected by the host from its own configuration.
    #[serde(default)]
    pub webhook: Option<WebhookSettings>,
    /// Where `write` delivers.
    #[serde(default)]
    pub deliver: Option<DeliverSettings>,
}

/// One entity: its kind and the data fields that hold ids and watermarks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySettings {
    #[serde(default)]
    pub kind: Kind,
    /// The data field holding a record's id when the item has no `id`.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// The data field holding a record's watermark when the item has no `timestamp`;
    /// `timestamp` when absent.
    #[serde(default)]
    pub watermark_field: Option<String>,
}

/// `object` or `event`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Object,
    /// Webhooks mostly announce things that happened, so events are the default.
    #[default]
    Event,
}

impl From<Kind> for EntityKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Object => EntityKind::Object,
            Kind::Event => EntityKind::Event,
        }
    }
}

/// How incoming webhooks are verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `whsec_` and base64, or any other text taken as its UTF-8 bytes.
    pub secret: Secret,
    /// How far `webhook-timestamp` may be from now, either way.
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u64,
    /// The service's public URL, which the host passes on for schemes whose signatures
    /// cover the URL. Standard Webhooks signatures do not: accepted so the host's settings
    /// are never refused, and unused.
    #[serde(default)]
    pub public_url: Option<String>,
}

/// Where `write` posts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverSettings {
    /// The collector's absolute http(s) URL.
    pub url: String,
}

/// The secret text as configured. Its `Debug` never shows it, so settings can be logged.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A secret from its text, as the configuration would give it.
    #[cfg(test)]
    pub fn from_text(text: &str) -> Secret {
        Secret(text.to_owned())
    }

    /// The HMAC key: the base64 after `whsec_`, else the text's bytes. Errors never show
    /// the secret.
    pub fn key(&self) -> Result<Vec<u8>, Error> {
        let key = match self.0.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => STANDARD.decode(encoded.trim()).map_err(|_| {
                invalid("`webhook.secret` starts with `whsec_` but the rest is not base64")
            })?,
            None => self.0.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(invalid("`webhook.secret` is empty"));
        }
        Ok(key)
    }
}

fn default_id_field() -> String {
    "id".into()
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECONDS
}

impl Settings {
    /// Checks what serde cannot: names that must not be empty, a usable secret and URL.
    pub fn validate(&self) -> Result<(), Error> {
        if self.entities.is_empty() {
            return Err(invalid(
                "`entities` is empty: name at least one entity (`PageView`)",
            ));
        }
        for (name, entity) in &self.entities {
            entity.validate(name)?;
        }
        if let Some(webhook) = &self.webhook {
            webhook.secret.key()?;
            if webhook.tolerance_seconds == 0 {
                return Err(invalid(
                    "`webhook.tolerance_seconds` is 0: no request could arrive in time",
                ));
            }
        }
        if let Some(deliver) = &self.deliver {
            deliver.validate()?;
        }
        Ok(())
    }
}

impl EntitySettings {
    /// The data field holding watermarks, configured or `timestamp`.
    pub fn watermark_field(&self) -> &str {
        self.watermark_field
            .as_deref()
            .unwrap_or(DEFAULT_WATERMARK_FIELD)
    }

    fn validate(&self, entity: &str) -> Result<(), Error> {
        if entity.trim().is_empty() || entity.trim() != entity {
            return Err(invalid(&format!(
                "entity name `{entity}` is empty or has spaces around it"
            )));
        }
        let fields = [
            ("id_field", Some(&self.id_field)),
            ("watermark_field", self.watermark_field.as_ref()),
        ];
        for (key, name) in fields {
            if let Some(name) = name.filter(|n| n.trim().is_empty() || n.trim() != n.as_str()) {
                return Err(invalid(&format!(
                    "entity `{entity}`: `{key}` `{name}` is empty or has spaces around it"
                )));
            }
        }
        Ok(())
    }
}

impl DeliverSettings {
    fn validate(&self) -> Result<(), Error> {
        let host = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"));
        if host
            .is_none_or(|h| h.is_empty() || h.starts_with('/') || h.contains(char::is_whitespace))
        {
            return Err(invalid(&format!(
                "`deliver.url` `{}` is not an absolute http(s) URL",
                self.url
            )));
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
        settings.validate()?;
        Ok(settings)
    }

    fn config_error(text: &str) -> String {
        match parse(text) {
            Err(Error::InvalidConfig(message)) => message,
            other => panic!("{text}: expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_documented_example_and_defaults() -> Result<(), Error> {
        let settings = parse(
            r#"{"entities": {"PageView": {},
                             "Order": {"kind": "object", "id_field": "order_id",
                                       "watermark_field": "updated_at"}},
                "webhook": {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                "deliver": {"url": "http://127.0.0.1:9000/collect"}}"#,
        )?;
        let view = &settings.entities["PageView"];
        assert_eq!(
            (view.kind, view.id_field.as_str(), view.watermark_field()),
            (Kind::Event, "id", "timestamp")
        );
        let order = &settings.entities["Order"];
        assert_eq!(
            (order.kind, order.id_field.as_str(), order.watermark_field()),
            (Kind::Object, "order_id", "updated_at")
        );
        let webhook = settings.webhook.as_ref().ok_or(invalid("no webhook"))?;
        assert_eq!(webhook.tolerance_seconds, 300);
        assert_eq!(webhook.public_url, None);
        assert_eq!(webhook.secret.key()?.len(), 24);
        assert_eq!(
            settings.deliver.map(|d| d.url).as_deref(),
            Some("http://127.0.0.1:9000/collect")
        );
        Ok(())
    }

    #[test]
    fn takes_what_the_host_injects() -> Result<(), Error> {
        let settings = parse(
            r#"{"entities": {"E": {}}, "webhook": {"secret": "s", "tolerance_seconds": 60,
                "public_url": "https://sync.example.com"}}"#,
        )?;
        let webhook = settings.webhook.ok_or(invalid("no webhook"))?;
        assert_eq!(webhook.tolerance_seconds, 60);
        assert_eq!(
            webhook.public_url.as_deref(),
            Some("https://sync.example.com")
        );
        Ok(())
    }

    #[test]
    fn takes_a_raw_secret_as_its_bytes() -> Result<(), Error> {
        let settings = parse(r#"{"entities": {"E": {}}, "webhook": {"secret": "s3cr=t"}}"#)?;
        let webhook = settings.webhook.ok_or(invalid("no webhook"))?;
        assert_eq!(webhook.secret.key()?, b"s3cr=t");
        Ok(())
    }

    #[test]
    fn never_shows_the_secret() {
        let message =
            config_error(r#"{"entities": {"E": {}}, "webhook": {"secret": "whsec_!!notbase64"}}"#);
        assert!(message.contains("`webhook.secret`"), "{message}");
        assert!(!message.contains("notbase64"), "{message}");
        let settings: Result<Settings, Error> = wasync_sdk::Config::parse(
            r#"{"entities": {"E": {}}, "webhook": {"secret": "hunter2"}}"#,
        )
        .and_then(|c| c.deserialize());
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[test]
    fn names_unknown_keys() {
        for (text, key) in [
            (r#"{"entities": {"E": {}}, "secret": "x"}"#, "`secret`"),
            (r#"{"entities": {"E": {"id": "x"}}}"#, "`id`"),
            (
                r#"{"entities": {"E": {}}, "webhook": {"secret": "x", "tolerance": 5}}"#,
                "`tolerance`",
            ),
            (
                r#"{"entities": {"E": {}}, "deliver": {"uri": "http://h"}}"#,
                "`uri`",
            ),
        ] {
            let message = config_error(text);
            assert!(message.contains(key), "{text}: {message}");
        }
    }

    #[test]
    fn refuses_unusable_settings() {
        for (text, expected) in [
            (r#"{}"#, "`entities`"),
            (r#"{"entities": {}}"#, "`entities` is empty"),
            (r#"{"entities": {" E": {}}}"#, "` E`"),
            (r#"{"entities": {"E": {"kind": "thing"}}}"#, "`thing`"),
            (r#"{"entities": {"E": {"id_field": ""}}}"#, "`id_field`"),
            (
                r#"{"entities": {"E": {"watermark_field": " t"}}}"#,
                "`watermark_field`",
            ),
            (r#"{"entities": {"E": {}}, "webhook": {}}"#, "`secret`"),
            (
                r#"{"entities": {"E": {}}, "webhook": {"secret": ""}}"#,
                "`webhook.secret` is empty",
            ),
            (
                r#"{"entities": {"E": {}}, "webhook": {"secret": "whsec_"}}"#,
                "`webhook.secret` is empty",
            ),
            (
                r#"{"entities": {"E": {}}, "webhook": {"secret": "x", "tolerance_seconds": 0}}"#,
                "`webhook.tolerance_seconds`",
            ),
            (
                r#"{"entities": {"E": {}}, "deliver": {"url": "127.0.0.1:9000"}}"#,
                "`deliver.url`",
            ),
            (
                r#"{"entities": {"E": {}}, "deliver": {"url": "http://"}}"#,
                "`deliver.url`",
            ),
            (r#"{"entities": {"E": {}}, "deliver": {}}"#, "`url`"),
        ] {
            let message = config_error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
