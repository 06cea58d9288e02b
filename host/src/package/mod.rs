//! Shareable plugin packages: a component plus a manifest (`wasync-package.toml`),
//! identified by a digest, built into one `.wasync` file, published to and installed from
//! an OCI registry, a file or a folder, and pinned in `wasync.lock` next to the pipeline
//! file. Documented for users in `docs/packages.md`.
//!
//! A pipeline file names an installed package by `namespace:name` (or `namespace:name@version`);
//! [`resolve`] finds it through the lock file and re-checks its digest at every load, and
//! [`check_use`] refuses a use that does not grant what the package asks for.

pub mod archive;
mod grants;
pub mod install;
pub mod lock;
pub mod manifest;
pub mod oci;

pub use archive::Package;
pub use grants::{check_use, grant_lines};
pub use lock::{LOCK_FILE, Lock, Locked, lock_path};
pub use manifest::Manifest;

use crate::plugin::{Plugin, Runtime};
use std::path::{Path, PathBuf};

/// Why a package cannot be built, installed or used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A manifest, document or lock file that cannot be used.
    #[error("{at}: {message}")]
    Manifest {
        /// The file or source.
        at: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Bytes that are not the ones their digest says.
    #[error(
        "{what} from {at} has been tampered with or corrupted: its digest is {found}, but {expected} was expected"
    )]
    Tampered {
        /// What was checked.
        what: String,
        /// Where it came from.
        at: String,
        /// The digest it should have.
        expected: String,
        /// The digest it has.
        found: String,
    },
    /// Built for a WIT version this host cannot serve.
    #[error(
        "package {package} is built for {found}, which this host cannot serve: it serves {ours} (0.x versions must share their minor version)"
    )]
    IncompatibleWit {
        /// `name@version`.
        package: String,
        /// The package's world.
        found: String,
        /// The host's WIT package and version.
        ours: String,
    },
    /// Its manifest says one world, its component implements another.
    #[error(
        "package {package} says it is {} {said}, but its component implements the {found} world",
        if .said.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
    )]
    WrongKind {
        /// `name@version`.
        package: String,
        /// The manifest's kind.
        said: String,
        /// The component's world.
        found: String,
    },
    /// Asks for a capability its use does not grant.
    #[error("package {package} asks for {capability}, which is not granted: {granted}")]
    NotGranted {
        /// `name@version`.
        package: String,
        /// The capability.
        capability: String,
        /// What is granted, and how to grant it.
        granted: String,
    },
    /// A use's configuration does not fit the manifest's keys.
    #[error("package {package}: {message}")]
    Config {
        /// `name@version`.
        package: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Named in a pipeline file but not installed next to it.
    #[error("package `{name}` is not installed: {reason}")]
    NotInstalled {
        /// The reference.
        name: String,
        /// Why, and how to install it.
        reason: String,
    },
    /// Reading or writing files. (Why is part of the message, not a `source()`: a chain
    /// printed whole would say it twice.)
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        error: std::io::Error,
    },
}

/// A package reference: `namespace:name` or `namespace:name@version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `namespace:name`.
    pub name: String,
    /// The version asked for, if any.
    pub version: Option<String>,
}

impl Reference {
    /// Parses `spec` if it is shaped like a package name (it has a `:` and is not a file).
    pub fn parse(spec: &str) -> Option<Result<Reference, String>> {
        if !spec.contains(':') || spec.contains('/') || spec.ends_with(".wasm") {
            return None;
        }
        let (name, version) = match spec.split_once('@') {
            Some((name, version)) => (name, Some(version.to_owned())),
            None => (spec, None),
        };
        Some(
            manifest::check_name(name)
                .map_err(|e| format!("`{spec}` is not a package name: {e}"))
                .map(|()| Reference {
                    name: name.to_owned(),
                    version,
                }),
        )
    }
}

/// An installed package, found through the lock file and checked against it.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The package, its digest equal to the lock file's.
    pub package: Package,
    /// Its lock file entry.
    pub locked: Locked,
    /// The component file (what a watcher should watch, with the lock file).
    pub component_path: PathBuf,
    /// The lock file it was found through.
    pub lock_path: PathBuf,
}

/// The files of an installed package, under the pipeline file's folder.
pub fn package_dir(config_dir: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    config_dir.join(lock::STORE_DIR).join(hex)
}

/// The document's and the component's file names in a package's folder.
pub const DOCUMENT_FILE: &str = "package.json";
/// See [`DOCUMENT_FILE`].
pub const COMPONENT_FILE: &str = "component.wasm";

/// Resolves `reference` for a pipeline file in `config_dir`: `None` when it is not a
/// package name (a first-party plugin or a file), else the installed package, its files
/// re-read and checked against the digest the lock file pins.
pub fn resolve(reference: &str, config_dir: &Path) -> Result<Option<Installed>, PackageError> {
    let parsed = match Reference::parse(reference) {
        None => return Ok(None),
        Some(parsed) => parsed.map_err(|reason| PackageError::NotInstalled {
            name: reference.to_owned(),
            reason,
        })?,
    };
    let lock_path = lock_path(config_dir);
    let lock = Lock::read(config_dir)?;
    let Some(locked) = lock.find(&parsed.name) else {
        return Err(PackageError::NotInstalled {
            name: reference.to_owned(),
            reason: format!(
                "{} does not list it; install it with `wasync package install {reference} --config PIPELINE-FILE`",
                lock_path.display()
            ),
        });
    };
    if let Some(version) = &parsed.version
        && *version != locked.version
    {
        return Err(PackageError::NotInstalled {
            name: reference.to_owned(),
            reason: format!(
                "{} pins version {}; install {reference} or name it without a version",
                lock_path.display(),
                locked.version
            ),
        });
    }
    verify(locked, config_dir).map(Some)
}

/// Reads an installed package's files for a pipeline file in `config_dir` and checks them
/// against the digest its lock file entry pins.
pub fn verify(locked: &Locked, config_dir: &Path) -> Result<Installed, PackageError> {
    let dir = config_dir.join(&locked.path);
    let read = |file: &str| {
        let path = dir.join(file);
        std::fs::read(&path).map_err(|error| PackageError::Io {
            what: format!(
                "package {}@{}: cannot read {}",
                locked.name,
                locked.version,
                path.display()
            ),
            error,
        })
    };
    let at = dir.display().to_string();
    let package = Package::from_parts(read(DOCUMENT_FILE)?, read(COMPONENT_FILE)?, &at)?;
    package.expect_digest(&locked.digest, &at)?;
    Ok(Installed {
        package,
        locked: locked.clone(),
        component_path: dir.join(COMPONENT_FILE),
        lock_path: lock_path(config_dir),
    })
}

/// Loads the plugin a pipeline file in `config_dir` names `spec`: an installed package
/// (verified, its WIT version and world checked, its manifest attached so every use is
/// checked against it), else a first-party plugin or a component file.
pub fn load(runtime: &Runtime, spec: &str, config_dir: &Path) -> anyhow::Result<Plugin> {
    match resolve(spec, config_dir)? {
        None => Ok(runtime.load(spec)?),
        Some(installed) => Ok(load_package(runtime, &installed.package)?),
    }
}

/// Compiles a package's component and checks it is what its manifest says.
pub fn load_package(runtime: &Runtime, package: &Package) -> anyhow::Result<Plugin> {
    let manifest = &package.manifest;
    manifest.check_wit()?;
    let plugin = runtime.load_bytes(&manifest.name, &package.component)?;
    let said = manifest
        .world_kind()
        .map_err(|message| PackageError::Manifest {
            at: manifest.reference(),
            message,
        })?;
    if plugin.world() != said {
        return Err(PackageError::WrongKind {
            package: manifest.reference(),
            said: said.to_string(),
            found: plugin.world().to_string(),
        }
        .into());
    }
    Ok(plugin.with_package(manifest.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_package_shaped_names_are_references() {
        assert_eq!(Reference::parse("extract-domain"), None);
        assert_eq!(Reference::parse("./x.wasm"), None);
        assert_eq!(Reference::parse("/tmp/a:b"), None);
        assert_eq!(
            Reference::parse("acme:enrich@1.2.0"),
            Some(Ok(Reference {
                name: "acme:enrich".into(),
                version: Some("1.2.0".into())
            }))
        );
        assert!(matches!(Reference::parse("Acme:x"), Some(Err(_))));
    }
}
