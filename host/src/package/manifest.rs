//! `wasync-package.toml`: what a package is (name, version, kind, WIT world), what it asks
//! for (hosts, directories, memory) and which configuration it takes.

use super::PackageError;
use crate::wit::World;
use crate::wit::{PACKAGE as WIT_PACKAGE, VERSION as WIT_VERSION, served};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's file name in a package folder.
pub const FILE_NAME: &str = "wasync-package.toml";

/// A package's manifest. Field order is the canonical JSON's order, so do not reorder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `namespace:name`, lower-case kebab words (`acme:enrich`).
    pub name: String,
    /// Semantic version (`1.2.0`).
    pub version: String,
    /// The world it implements: `field-transform`, `entity-function`, `merge-policy` or
    /// `connector` (`transform` is taken for `field-transform`).
    pub kind: String,
    /// The WIT world with its version (`wasync:plugin/field-transform@0.1.0`).
    pub world: String,
    /// One line for people.
    #[serde(default)]
    pub description: String,
    /// What it asks to be granted.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The configuration it takes, by key; absent means it takes any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, ConfigKey>>,
}

/// What a package asks for. A use gets it only if the pipeline file grants it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Hosts it reaches through `http` (`api.example.com`, `127.0.0.1:8080`, `*.example.com`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Directories it expects, as it sees them (`/data`).
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Memory it needs per instance, in MiB (0: the host's default is enough).
    #[serde(default)]
    pub memory_mib: u64,
}

/// One configuration key a package takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    /// Its JSON type.
    #[serde(rename = "type")]
    pub kind: KeyType,
    /// Whether a use must set it.
    #[serde(default)]
    pub required: bool,
    /// What it does.
    #[serde(default)]
    pub description: String,
}

/// The JSON types a configuration key may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A list.
    Array,
    /// A table.
    Object,
    /// Anything.
    Any,
}

impl KeyType {
    fn accepts(self, value: &Json) -> bool {
        match self {
            KeyType::String => value.is_string(),
            KeyType::Integer => value.is_i64() || value.is_u64(),
            KeyType::Number => value.is_number(),
            KeyType::Boolean => value.is_boolean(),
            KeyType::Array => value.is_array(),
            KeyType::Object => value.is_object(),
            KeyType::Any => true,
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// A manifest file read from disk, with the component it names (a build-time path that is
/// not part of the package).
pub struct ManifestFile {
    /// The manifest.
    pub manifest: Manifest,
    /// `component = "…"`, resolved against the manifest's folder.
    pub component: Option<PathBuf>,
}

impl ManifestFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<ManifestFile, PackageError> {
        let invalid = |message: String| PackageError::Manifest {
            at: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let component = match table.remove("component") {
            Some(toml::Value::String(file)) => {
                Some(path.parent().unwrap_or(Path::new(".")).join(file))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "`component` must be a file name, not {}",
                    other.type_str()
                )));
            }
            None => None,
        };
        let manifest: Manifest = table
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string().trim_end().to_owned()))?;
        manifest.check().map_err(invalid)?;
        Ok(ManifestFile {
            manifest,
            component,
        })
    }
}

impl Manifest {
    /// The world `kind` names.
    pub fn world_kind(&self) -> Result<World, String> {
        let kind = if self.kind == "transform" {
            "field-transform"
        } else {
            self.kind.as_str()
        };
        World::ALL
            .into_iter()
            .find(|w| w.name() == kind)
            .ok_or_else(|| {
                format!(
                    "`kind` {:?} is not one of field-transform, entity-function, merge-policy, connector",
                    self.kind
                )
            })
    }

    /// The WIT version in `world` (`0.1.0` of `wasync:plugin/connector@0.1.0`).
    pub fn wit_version(&self) -> &str {
        self.world.rsplit_once('@').map_or("", |(_, v)| v)
    }

    /// `name@version`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// What the types cannot say: name and version syntax, a kind that matches the world.
    pub fn check(&self) -> Result<(), String> {
        check_name(&self.name).map_err(|e| format!("`name` {:?}: {e}", self.name))?;
        semver::Version::parse(&self.version).map_err(|e| {
            format!(
                "`version` {:?} is not a semantic version like 1.0.0: {e}",
                self.version
            )
        })?;
        let kind = self.world_kind()?;
        let expected = format!("{WIT_PACKAGE}/{}@", kind.name());
        if !self.world.starts_with(&expected) || self.wit_version().is_empty() {
            return Err(format!(
                "`world` {:?} does not match `kind` {:?}: expected {expected}VERSION (this host: {WIT_PACKAGE}/{}@{WIT_VERSION})",
                self.world,
                self.kind,
                kind.name()
            ));
        }
        for host in &self.capabilities.hosts {
            if host.is_empty() || host.contains('/') || host.contains("://") {
                return Err(format!(
                    "`capabilities.hosts`: {host:?} is not a host (`api.example.com`, `127.0.0.1:8080`, `*.example.com`)"
                ));
            }
        }
        for dir in &self.capabilities.dirs {
            if !dir.starts_with('/') {
                return Err(format!(
                    "`capabilities.dirs`: {dir:?} is not an absolute guest path like /data"
                ));
            }
        }
        Ok(())
    }

    /// Refuses a package built for a WIT version this host cannot serve.
    pub fn check_wit(&self) -> Result<(), PackageError> {
        if served(self.wit_version()) {
            Ok(())
        } else {
            Err(PackageError::IncompatibleWit {
                package: self.reference(),
                found: self.world.clone(),
                ours: format!("{WIT_PACKAGE}@{WIT_VERSION} and @0.1.0"),
            })
        }
    }

    /// Checks a use's configuration (JSON text) against the declared keys: no unknown key,
    /// every required key, every value of its type. `webhook` is the host's own key.
    pub fn check_config(&self, config: &str) -> Result<(), PackageError> {
        let Some(schema) = &self.config else {
            return Ok(());
        };
        let refuse = |message: String| PackageError::Config {
            package: self.reference(),
            message,
        };
        let value: Json = serde_json::from_str(config)
            .map_err(|e| refuse(format!("the configuration is not JSON: {e}")))?;
        let Json::Object(given) = value else {
            return Err(refuse("the configuration is not a table".into()));
        };
        for (key, value) in &given {
            if key == "webhook" {
                continue;
            }
            match schema.get(key) {
                None => {
                    return Err(refuse(format!(
                        "unknown key `{key}` (it takes: {})",
                        keys(schema)
                    )));
                }
                Some(spec) if !spec.kind.accepts(value) => {
                    return Err(refuse(format!(
                        "key `{key}` must be {} {}, not {value}",
                        article(spec.kind),
                        spec.kind
                    )));
                }
                Some(_) => {}
            }
        }
        if let Some((key, _)) = schema
            .iter()
            .find(|(k, s)| s.required && !given.contains_key(*k))
        {
            return Err(refuse(format!("required key `{key}` is missing")));
        }
        Ok(())
    }
}

fn keys(schema: &BTreeMap<String, ConfigKey>) -> String {
    if schema.is_empty() {
        return "no keys".into();
    }
    schema.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn article(kind: KeyType) -> &'static str {
    match kind {
        KeyType::Integer | KeyType::Array | KeyType::Object | KeyType::Any => "an",
        _ => "a",
    }
}

/// `namespace:name`: each part lower-case letters, digits and single dashes, starting with
/// a letter — what a registry repository `namespace/name` can hold.
pub fn check_name(name: &str) -> Result<(), String> {
    let Some((namespace, package)) = name.split_once(':') else {
        return Err("a package name is `namespace:name`".into());
    };
    for part in [namespace, package] {
        let ok = part.starts_with(|c: char| c.is_ascii_lowercase())
            && !part.ends_with('-')
            && !part.contains("--")
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(format!(
                "`{part}` must be lower-case letters, digits and dashes, starting with a letter"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            name: "acme:domain".into(),
            version: "1.0.0".into(),
            kind: "field-transform".into(),
            world: "wasync:plugin/field-transform@0.1.0".into(),
            description: String::new(),
            capabilities: Capabilities::default(),
            config: Some(BTreeMap::from([(
                "limit".to_owned(),
                ConfigKey {
                    kind: KeyType::Integer,
                    required: true,
                    description: String::new(),
                },
            )])),
        }
    }

    #[test]
    fn names_versions_and_worlds_are_checked() {
        assert!(manifest().check().is_ok());
        assert!(check_name("acme:enrich-2").is_ok());
        for bad in ["acme", "Acme:x", "acme:", "acme:x-", "a:b/c"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let mut m = manifest();
        m.version = "1.0".into();
        assert!(m.check().expect_err("refused").contains("semantic version"));
        let mut m = manifest();
        m.world = "wasync:plugin/connector@0.1.0".into();
        assert!(
            m.check()
                .expect_err("refused")
                .contains("does not match `kind`")
        );
        let mut m = manifest();
        m.kind = "transform".into();
        assert!(m.check().is_ok());
    }

    #[test]
    fn configuration_is_checked_against_the_declared_keys() {
        let m = manifest();
        assert!(m.check_config(r#"{"limit": 3}"#).is_ok());
        let e = m
            .check_config(r#"{"limit": "3"}"#)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("key `limit` must be an integer"), "{e}");
        let e = m
            .check_config(r#"{"limt": 3}"#)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("unknown key `limt` (it takes: limit)"), "{e}");
        let e = m.check_config("{}").expect_err("refused").to_string();
        assert!(e.contains("required key `limit` is missing"), "{e}");
    }

    #[test]
    fn only_a_compatible_wit_version_is_served() {
        let mut m = manifest();
        assert!(m.check_wit().is_ok(), "0.1.0 is still served");
        m.world = "wasync:plugin/field-transform@0.2.0".into();
        assert!(m.check_wit().is_ok());
        m.world = "wasync:plugin/field-transform@0.3.0".into();
        let e = m.check_wit().expect_err("refused").to_string();
        assert!(
            e.contains("@0.3.0") && e.contains("wasync:plugin@0.2.0 and @0.1.0"),
            "{e}"
        );
    }
}
