//! The connector's configuration, as documented in the crate docs.

use serde::Deserialize;
use std::collections::BTreeMap;
use wasync_sdk::{EntityKind, Error};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The directory holding the files, as the plugin sees it.
    #[serde(default = "default_dir")]
    pub dir: String,
    /// The entities, by name.
    pub entities: BTreeMap<String, EntitySettings>,
}

/// One entity's file and the names of its special fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySettings {
    /// The file, relative to `dir`; `<entity>.jsonl` when absent.
    #[serde(default)]
    pub file: Option<String>,
    pub id_field: String,
    pub watermark_field: String,
    #[serde(default)]
    pub kind: Kind,
    #[serde(default)]
    pub deleted_field: Option<String>,
    #[serde(default)]
    pub upsert_key: Option<String>,
}

/// `object` or `event`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Object,
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

fn default_dir() -> String {
    "/data".into()
}

impl Settings {
    /// Checks what serde cannot: names that must not be empty or clash.
    pub fn validate(&self) -> Result<(), Error> {
        if self.dir.trim().is_empty() {
            return Err(invalid("`dir` is empty"));
        }
        for (name, entity) in &self.entities {
            entity.validate(name)?;
        }
        Ok(())
    }
}

impl EntitySettings {
    /// The file name, defaulted from the entity name.
    pub fn file_name(&self, entity: &str) -> String {
        self.file
            .clone()
            .unwrap_or_else(|| format!("{entity}.jsonl"))
    }

    fn validate(&self, entity: &str) -> Result<(), Error> {
        if entity.trim().is_empty() {
            return Err(invalid("an entity name is empty"));
        }
        let names = [
            ("id_field", Some(&self.id_field)),
            ("watermark_field", Some(&self.watermark_field)),
            ("file", self.file.as_ref()),
            ("deleted_field", self.deleted_field.as_ref()),
            ("upsert_key", self.upsert_key.as_ref()),
        ];
        for (key, value) in names {
            if value.is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid(&format!("entity `{entity}`: `{key}` is empty")));
            }
        }
        if self.id_field == self.watermark_field {
            return Err(invalid(&format!(
                "entity `{entity}`: `id_field` and `watermark_field` are the same field"
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

    #[test]
    fn reads_the_documented_example() -> Result<(), Error> {
        let settings = parse(
            r#"{"dir": "/data", "entities": {"Account": {"file": "accounts.jsonl",
                "id_field": "Id", "watermark_field": "SystemModstamp", "kind": "object",
                "deleted_field": "IsDeleted", "upsert_key": "wasync_id"}}}"#,
        )?;
        let account = &settings.entities["Account"];
        assert_eq!(account.file_name("Account"), "accounts.jsonl");
        assert_eq!(account.deleted_field.as_deref(), Some("IsDeleted"));
        assert_eq!(account.upsert_key.as_deref(), Some("wasync_id"));
        Ok(())
    }

    #[test]
    fn fills_defaults() -> Result<(), Error> {
        let settings =
            parse(r#"{"entities": {"Event": {"id_field": "id", "watermark_field": "at"}}}"#)?;
        assert_eq!(settings.dir, "/data");
        let event = &settings.entities["Event"];
        assert_eq!(event.file_name("Event"), "Event.jsonl");
        assert_eq!(event.kind, Kind::Object);
        assert_eq!(event.deleted_field, None);
        Ok(())
    }

    #[test]
    fn names_unknown_keys() {
        let err = parse(r#"{"entities": {}, "directory": "/x"}"#).err();
        assert!(
            matches!(&err, Some(Error::InvalidConfig(m)) if m.contains("`directory`")),
            "{err:?}"
        );
        let err = parse(
            r#"{"entities": {"A": {"id_field": "id", "watermark_field": "w", "upsert": "k"}}}"#,
        )
        .err();
        assert!(
            matches!(&err, Some(Error::InvalidConfig(m)) if m.contains("`upsert`")),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_missing_or_empty_names() {
        for text in [
            r#"{}"#,
            r#"{"entities": {"A": {"watermark_field": "w"}}}"#,
            r#"{"entities": {"A": {"id_field": "", "watermark_field": "w"}}}"#,
            r#"{"entities": {"A": {"id_field": "x", "watermark_field": "x"}}}"#,
            r#"{"entities": {"A": {"id_field": "i", "watermark_field": "w", "kind": "table"}}}"#,
            r#"{"dir": " ", "entities": {}}"#,
        ] {
            assert!(
                matches!(parse(text), Err(Error::InvalidConfig(_))),
                "{text}"
            );
        }
    }
}
