//! The connector's configuration, as documented in the crate docs.

use serde::Deserialize;
use std::collections::BTreeMap;
use wasync_sdk::Error;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The org's base URL, `https://example.my.salesforce.com`; empty: the instance the
    /// OAuth token response names, which the host sends requests by path to.
    #[serde(default)]
    pub instance_url: String,
    /// The REST API version, `v62.0`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The sObjects to sync, by API name.
    pub entities: BTreeMap<String, EntitySettings>,
    /// The longest query URL sent; a longer field list is read with `FIELDS(ALL)`.
    #[serde(default = "default_max_url_bytes")]
    pub max_url_bytes: usize,
    /// Whether large reads may use Bulk API 2.0 query jobs.
    #[serde(default = "default_bulk")]
    pub bulk: bool,
    /// A read with more than this many records left reads them through query jobs.
    #[serde(default = "default_bulk_above")]
    pub bulk_above: u64,
    /// Records per query job (its `LIMIT`): they are held in the plugin's memory until
    /// read.
    #[serde(default = "default_bulk_records")]
    pub bulk_records: u32,
}

/// Salesforce says query jobs are for queries of 10,000 records or more.
pub const DEFAULT_BULK_ABOVE: u64 = 10_000;

/// 50,000 records of a few KB fit well in a plugin's default 256 MiB.
pub const DEFAULT_BULK_RECORDS: u32 = 50_000;

fn default_bulk() -> bool {
    true
}

fn default_bulk_above() -> u64 {
    DEFAULT_BULK_ABOVE
}

fn default_bulk_records() -> u32 {
    DEFAULT_BULK_RECORDS
}

/// Salesforce refuses a request whose URI and headers pass 16,384 bytes; this leaves room
/// for the headers (an OAuth access token is about 110 bytes; proxies add their own).
pub const DEFAULT_MAX_URL_BYTES: usize = 14_000;

fn default_max_url_bytes() -> usize {
    DEFAULT_MAX_URL_BYTES
}

/// What to sync of one sObject.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySettings {
    /// The fields to read; all fields describe lists when absent.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// An external id field by which creates are upserted.
    #[serde(default)]
    pub upsert_field: Option<String>,
}

fn default_api_version() -> String {
    "v62.0".into()
}

impl Settings {
    /// Checks what serde cannot, and drops a trailing `/` from `instance_url`.
    pub fn validated(mut self) -> Result<Self, Error> {
        let url = self.instance_url.trim().trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let given = !url.is_empty();
        if given
            && !rest.is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ']))
        {
            return Err(invalid(format!(
                "`instance_url` must be the org's base URL, like \
                 `https://example.my.salesforce.com`, not `{}`",
                self.instance_url
            )));
        }
        self.instance_url = url.to_owned();
        if !is_api_version(&self.api_version) {
            return Err(invalid(format!(
                "`api_version` must look like `v62.0`, not `{}`",
                self.api_version
            )));
        }
        if self.bulk_records == 0 {
            return Err(invalid(
                "`bulk_records` must be at least 1 (records per query job)".into(),
            ));
        }
        if self.entities.is_empty() {
            return Err(invalid(
                "`entities` is empty: name at least one sObject".into(),
            ));
        }
        for (name, entity) in &self.entities {
            check_name(name, "an entity")?;
            for field in entity.fields.iter().flatten() {
                check_name(field, &format!("entity `{name}`: `fields`"))?;
            }
            if let Some(field) = &entity.upsert_field {
                check_name(field, &format!("entity `{name}`: `upsert_field`"))?;
            }
        }
        Ok(self)
    }

    /// The base of every REST path: `{instance_url}/services/data/{api_version}`, a path
    /// alone when the token response's instance is followed.
    pub fn base_url(&self) -> String {
        format!("{}/services/data/{}", self.instance_url, self.api_version)
    }
}

/// `v` and a version number, like `v62.0`.
fn is_api_version(text: &str) -> bool {
    let Some((major, minor)) = text.strip_prefix('v').and_then(|v| v.split_once('.')) else {
        return false;
    };
    [major, minor]
        .iter()
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// An API name: a letter, then letters, digits and underscores (`Account`, `Wasync_Id__c`).
/// Names go into URLs and SOQL as they are, so nothing else is let through.
fn check_name(name: &str, what: &str) -> Result<(), Error> {
    let mut bytes = name.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} `{name}` is not a Salesforce API name (letters, digits and `_`, starting \
             with a letter)"
        )))
    }
}

fn invalid(message: String) -> Error {
    Error::InvalidConfig(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, Error> {
        let settings: Settings = wasync_sdk::Config::parse(text)?.deserialize()?;
        settings.validated()
    }

    fn config_error(text: &str) -> String {
        match parse(text) {
            Err(Error::InvalidConfig(message)) => message,
            other => panic!("{text}: expected invalid config, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_documented_example() -> Result<(), Error> {
        let settings = parse(
            r#"{"instance_url": "https://example.my.salesforce.com/", "api_version": "v61.0",
                "entities": {"Account": {"fields": ["Name", "Website"],
                                         "upsert_field": "Wasync_Id__c"},
                             "Contact": {}}}"#,
        )?;
        assert_eq!(settings.instance_url, "https://example.my.salesforce.com");
        assert_eq!(
            settings.base_url(),
            "https://example.my.salesforce.com/services/data/v61.0"
        );
        let account = &settings.entities["Account"];
        assert_eq!(
            account.fields.as_deref(),
            Some(&["Name".to_owned(), "Website".to_owned()][..])
        );
        assert_eq!(account.upsert_field.as_deref(), Some("Wasync_Id__c"));
        assert_eq!(settings.entities["Contact"].fields, None);
        Ok(())
    }

    #[test]
    fn defaults_the_api_version() -> Result<(), Error> {
        let settings =
            parse(r#"{"instance_url": "http://127.0.0.1:8080", "entities": {"Account": {}}}"#)?;
        assert_eq!(settings.api_version, "v62.0");
        assert!(settings.bulk);
        assert_eq!(
            (settings.bulk_above, settings.bulk_records),
            (DEFAULT_BULK_ABOVE, DEFAULT_BULK_RECORDS)
        );
        assert_eq!(
            settings.base_url(),
            "http://127.0.0.1:8080/services/data/v62.0"
        );
        Ok(())
    }

    #[test]
    fn names_unknown_keys() {
        let message = config_error(
            r#"{"instance_url": "https://x.my.salesforce.com", "entities": {"Account": {}},
                "token": "t"}"#,
        );
        assert!(message.contains("`token`"), "{message}");
        let message = config_error(
            r#"{"instance_url": "https://x.my.salesforce.com",
                "entities": {"Account": {"upsert": "Wasync_Id__c"}}}"#,
        );
        assert!(message.contains("`upsert`"), "{message}");
    }

    #[test]
    fn without_an_instance_url_requests_go_by_path() -> Result<(), Error> {
        let settings = parse(r#"{"entities": {"Account": {}}}"#)?;
        assert_eq!(settings.base_url(), "/services/data/v62.0");
        Ok(())
    }

    #[test]
    fn refuses_what_cannot_be_used() {
        for (text, says) in [
            (
                r#"{"instance_url": "x.my.salesforce.com", "entities": {"Account": {}}}"#,
                "instance_url",
            ),
            (
                r#"{"instance_url": "https://x.my.salesforce.com"}"#,
                "entities",
            ),
            (
                r#"{"instance_url": "https://x.my.salesforce.com", "entities": {}}"#,
                "`entities` is empty",
            ),
            (
                r#"{"instance_url": "x.my.salesforce.com", "entities": {"Account": {}}}"#,
                "`instance_url`",
            ),
            (
                r#"{"instance_url": "https://x.my.salesforce.com/services", "entities": {"A": {}}}"#,
                "`instance_url`",
            ),
            (
                r#"{"instance_url": "https://x", "api_version": "62", "entities": {"A": {}}}"#,
                "`api_version`",
            ),
            (
                r#"{"instance_url": "https://x", "entities": {"Account; DROP": {}}}"#,
                "`Account; DROP`",
            ),
            (
                r#"{"instance_url": "https://x", "entities": {"A": {"fields": ["Name, Id"]}}}"#,
                "`Name, Id`",
            ),
            (
                r#"{"instance_url": "https://x", "entities": {"A": {"upsert_field": ""}}}"#,
                "`upsert_field`",
            ),
            (
                r#"{"instance_url": "https://x", "entities": {"A": {"fields": "Name"}}}"#,
                "sequence",
            ),
            (
                r#"{"instance_url": "https://x", "bulk_records": 0, "entities": {"A": {}}}"#,
                "`bulk_records`",
            ),
        ] {
            let message = config_error(text);
            assert!(message.contains(says), "{text}: {message}");
        }
    }
}
