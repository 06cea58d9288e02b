//! The pipeline file: connectors with their grants and settings, and per pipeline its unified
//! entity, sources, field mappings with transform chains, data authority, merge rules and
//! destinations. Documented for users in `docs/config.md`.
//!
//! A wrong file is refused whole, with an error that names the key and what was expected:
//! nothing runs half-configured.

mod http;
pub mod plugins;
mod schedule;
mod serve;

pub use http::{AuthConfig, HttpConfig, RateConfig};
pub use schedule::Schedule;
pub use serve::{ServeConfig, WebhookConfig};

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read. (Why is part of the message, not a `source()`: a chain
    /// printed whole would say it twice.)
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Not valid TOML, or a key or value of the wrong kind.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and key.
        message: String,
    },
    /// Parsed, but inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SQLite store, relative to the file (default `wasync.db`).
    #[serde(default = "default_store")]
    pub store: PathBuf,
    /// Connectors by name.
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// Pipelines, one per unified entity (`[[pipeline]]`).
    #[serde(default, rename = "pipeline")]
    pub pipelines: Vec<PipelineConfig>,
    /// The long-running service (`wasync serve`).
    #[serde(default)]
    pub serve: ServeConfig,
    /// The file's folder: where `wasync.lock` and installed packages are found.
    #[serde(skip)]
    pub dir: PathBuf,
}

fn default_store() -> PathBuf {
    PathBuf::from("wasync.db")
}

/// A connector: its plugin, what it is granted, and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// A first-party plugin name (`jsonl`) or a component file.
    pub plugin: String,
    /// Host directories the connector may use.
    #[serde(default)]
    pub dirs: Vec<DirConfig>,
    /// Network access: allowed hosts, limits, credentials. None: no network.
    pub http: Option<HttpConfig>,
    /// Settings passed to the plugin as its configuration.
    #[serde(default)]
    pub settings: toml::Table,
    /// Webhooks: the connector takes requests at `/webhooks/NAME` under `wasync serve`.
    pub webhook: Option<WebhookConfig>,
}

impl ConnectorConfig {
    /// The plugin's configuration (JSON): its settings, plus the webhook's secret and limits
    /// under `webhook` when it takes webhooks. `env` reads environment variables.
    pub fn plugin_config(
        &self,
        name: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let mut settings =
            serde_json::to_value(&self.settings).map_err(|e| format!("connector `{name}`: {e}"))?;
        if let (Some(webhook), Some(object)) = (&self.webhook, settings.as_object_mut()) {
            object.insert("webhook".into(), webhook.settings(name, env)?);
        }
        Ok(settings.to_string())
    }
}

/// A granted directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirConfig {
    /// The directory on the host, relative to the file.
    pub host: PathBuf,
    /// Where the plugin sees it (default `/data`).
    #[serde(default = "default_guest_dir")]
    pub guest: String,
    /// Whether the plugin may only read.
    #[serde(default)]
    pub read_only: bool,
}

fn default_guest_dir() -> String {
    "/data".into()
}

/// One pipeline: one unified entity kept in agreement across its sources and destinations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Its name (`accounts`).
    pub name: String,
    /// The unified entity (`Account`).
    pub entity: String,
    /// Records read per source per cycle, unless a source says otherwise.
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// When `wasync serve` runs a cycle: an interval (`30s`, `5m`, `1h`) or a cron
    /// expression in UTC (`*/15 * * * *`). Default: every minute.
    pub schedule: Option<String>,
    /// Unified fields entity functions may look records up by (indexed).
    #[serde(default)]
    pub lookup_fields: Vec<String>,
    /// Where records come from.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// Data authority per unified field; the key `"*"` sets the default.
    #[serde(default)]
    pub authority: BTreeMap<String, AuthorityConfig>,
    /// Deduplication and merge.
    pub merge: Option<MergeConfig>,
    /// Where records go.
    #[serde(default, rename = "destination")]
    pub destinations: Vec<DestinationConfig>,
}

fn default_batch_size() -> u32 {
    1000
}

/// A source: a connector's entity read into the pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The connector's name.
    pub connector: String,
    /// Its external entity (`Account`, `companies`).
    pub entity: String,
    /// Whether it is read.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Records per cycle (default: the pipeline's).
    pub batch_size: Option<u32>,
    /// Read only changes older than this many seconds, for systems whose changes become
    /// visible late.
    #[serde(default)]
    pub delay_seconds: u64,
    /// The source entity pipeline: entity functions in order.
    #[serde(default)]
    pub functions: Vec<PluginUse>,
    /// Unified field ← source field (or `{ from, transforms }`).
    pub fields: BTreeMap<String, FieldMapping>,
}

fn yes() -> bool {
    true
}

/// A destination: unified records written to a connector's entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// The connector's name.
    pub connector: String,
    /// Its external entity.
    pub entity: String,
    /// The destination entity pipeline: entity functions in order.
    #[serde(default)]
    pub functions: Vec<PluginUse>,
    /// Destination field ← unified field (or `{ from, transforms }`).
    pub fields: BTreeMap<String, FieldMapping>,
    /// What a deleted unified record does here.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// A destination field that gets the unified id, so that a create replayed after a crash
    /// finds the record it made (an upsert key there) instead of making a second.
    pub external_id_field: Option<String>,
    /// Records per write call (default: the pipeline's batch size).
    pub batch_size: Option<u32>,
}

/// What a deleted unified record does at a destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDelete {
    /// Delete the record there.
    #[default]
    Delete,
    /// Leave it.
    Ignore,
    /// Keep it but empty the mapped fields.
    Clear,
}

/// A plugin used at one place, with that place's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginUse {
    /// A first-party plugin name or a component file.
    pub plugin: String,
    /// Its configuration.
    #[serde(default)]
    pub config: toml::Table,
}

impl PluginUse {
    /// The configuration as the JSON text the plugin receives.
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".into())
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldMapping {
    /// Copied from this field.
    Copy(String),
    /// From a field through a chain of transforms.
    Pipeline {
        /// The field read.
        from: String,
        /// Field transforms applied in order.
        #[serde(default)]
        transforms: Vec<PluginUse>,
    },
}

impl FieldMapping {
    /// The field read.
    pub fn from(&self) -> &str {
        match self {
            FieldMapping::Copy(from) | FieldMapping::Pipeline { from, .. } => from,
        }
    }

    /// The transforms applied.
    pub fn transforms(&self) -> &[PluginUse] {
        match self {
            FieldMapping::Copy(_) => &[],
            FieldMapping::Pipeline { transforms, .. } => transforms,
        }
    }
}

/// Which source wins a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityConfig {
    /// The rule.
    pub rule: AuthorityRule,
    /// For `priority`: sources, most authoritative first (`salesforce` or
    /// `salesforce/Account`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// An empty incoming value never replaces a non-empty one.
    #[serde(default)]
    pub reject_empty: bool,
}

/// Data authority rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorityRule {
    /// The more authoritative source wins, whenever its change came.
    Priority,
    /// The later change (by the source's watermark) wins.
    Latest,
    /// The change processed last wins.
    None,
}

/// Deduplication and merge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeConfig {
    /// The merge policy plugin (default `merge`).
    #[serde(default = "default_merge_plugin")]
    pub plugin: String,
    /// Its configuration.
    #[serde(default)]
    pub config: toml::Table,
    /// Report what would merge, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A group of duplicates larger than this is not merged (and is reported): a match rule
    /// that suddenly matches hundreds of records is a mistake, not a merge.
    #[serde(default = "default_max_group")]
    pub max_group: usize,
}

fn default_merge_plugin() -> String {
    "merge".into()
}

fn default_max_group() -> usize {
    10
}

impl Config {
    /// Reads, parses and checks a configuration file; relative paths in it are resolved
    /// against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.dir = base.to_owned();
        config.store = base.join(&config.store);
        let tokens = PathBuf::from(format!("{}.tokens", config.store.display()));
        for (name, connector) in &mut config.connectors {
            for dir in &mut connector.dirs {
                dir.host = base.join(&dir.host);
            }
            if let Some(http) = &mut connector.http {
                http.token_file = Some(tokens.join(format!("{name}.json")));
            }
        }
        config.resolve_plugin_files(base);
        Ok(config)
    }

    /// The pipeline named `name`.
    pub fn pipeline(&self, name: &str) -> Option<&PipelineConfig> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// Consistency the types cannot say: names that refer to something, sizes that make sense.
    fn check(&self) -> Result<(), String> {
        for (name, connector) in &self.connectors {
            if let Some(http) = &connector.http {
                http.check(&format!("connectors.{name}.http"))?;
            }
            if let Some(webhook) = &connector.webhook {
                webhook.check(&format!("connectors.{name}.webhook"))?;
            }
        }
        if let Err(e) = self.serve.listen.parse::<std::net::SocketAddr>() {
            return Err(format!(
                "`serve.listen` `{}` is not an address like 127.0.0.1:7870: {e}",
                self.serve.listen
            ));
        }
        let mut names = BTreeSet::new();
        for p in &self.pipelines {
            let at = format!("pipeline `{}`", p.name);
            if !names.insert(&p.name) {
                return Err(format!("{at}: a second pipeline has this name"));
            }
            if p.batch_size == 0 {
                return Err(format!("{at}: `batch_size` must be at least 1"));
            }
            if let Some(schedule) = &p.schedule {
                Schedule::parse(schedule)
                    .map_err(|e| format!("{at}: `schedule` {schedule:?}: {e}"))?;
            }
            if p.sources.is_empty() {
                return Err(format!("{at}: has no [[pipeline.source]]"));
            }
            let mut labels = BTreeSet::new();
            for (i, s) in p.sources.iter().enumerate() {
                let at = format!("{at}, source {} (`{}/{}`)", i + 1, s.connector, s.entity);
                self.check_connector(&s.connector, &at)?;
                if !labels.insert(format!("{}/{}", s.connector, s.entity)) {
                    return Err(format!("{at}: this source is listed twice"));
                }
                if s.batch_size == Some(0) {
                    return Err(format!("{at}: `batch_size` must be at least 1"));
                }
                if s.fields.is_empty() {
                    return Err(format!("{at}: `fields` maps no field"));
                }
            }
            for (field, rule) in &p.authority {
                for source in &rule.sources {
                    let known = labels
                        .iter()
                        .any(|l| l == source || l.split('/').next() == Some(source));
                    if !known {
                        return Err(format!(
                            "{at}: `authority.{field}.sources` names `{source}`, which is not a source of this pipeline (sources: {})",
                            labels.iter().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
                if rule.rule == AuthorityRule::Priority && rule.sources.is_empty() {
                    return Err(format!(
                        "{at}: `authority.{field}` has rule \"priority\" but no `sources`"
                    ));
                }
            }
            if let Some(merge) = &p.merge
                && merge.max_group < 2
            {
                return Err(format!("{at}: `merge.max_group` must be at least 2"));
            }
            for (i, d) in p.destinations.iter().enumerate() {
                let at = format!(
                    "{at}, destination {} (`{}/{}`)",
                    i + 1,
                    d.connector,
                    d.entity
                );
                self.check_connector(&d.connector, &at)?;
                if d.fields.is_empty() {
                    return Err(format!("{at}: `fields` maps no field"));
                }
                if d.batch_size == Some(0) {
                    return Err(format!("{at}: `batch_size` must be at least 1"));
                }
            }
        }
        Ok(())
    }

    fn check_connector(&self, name: &str, at: &str) -> Result<(), String> {
        if self.connectors.contains_key(name) {
            return Ok(());
        }
        Err(format!(
            "{at}: connector `{name}` is not defined under [connectors] (defined: {})",
            self.connectors
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
