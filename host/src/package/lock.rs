//! `wasync.lock`, next to the pipeline file: which version of each installed package the
//! pipelines use, pinned by digest, and where its files are.

use super::PackageError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The lock file's name, in the pipeline file's folder.
pub const LOCK_FILE: &str = "wasync.lock";

/// Where installed packages are kept, under the pipeline file's folder.
pub const STORE_DIR: &str = ".wasync/packages";

/// The lock file of the pipeline file in `config_dir`: the file a watcher should watch.
pub fn lock_path(config_dir: &Path) -> PathBuf {
    config_dir.join(LOCK_FILE)
}

/// The whole lock file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Installed packages, one per name, sorted by name.
    #[serde(default, rename = "package")]
    pub packages: Vec<Locked>,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// `namespace:name`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// `sha256:<hex>` of the package document: checked at every load.
    pub digest: String,
    /// Its world.
    pub kind: String,
    /// Where it was installed from (`oci://HOST/ns/name:version`, `file:PATH`, `folder:PATH`).
    pub source: String,
    /// Its folder, relative to the pipeline file's folder.
    pub path: String,
}

impl Lock {
    /// Reads the lock file of `config_dir`; no file is an empty lock.
    pub fn read(config_dir: &Path) -> Result<Lock, PackageError> {
        let path = lock_path(config_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lock::default()),
            Err(e) => {
                return Err(PackageError::Io {
                    what: format!("cannot read {}", path.display()),
                    error: e,
                });
            }
        };
        toml::from_str(&text).map_err(|e| PackageError::Manifest {
            at: path.display().to_string(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// Writes it whole, through a temporary file, so a reader never sees half of it.
    pub fn write(&mut self, config_dir: &Path) -> Result<(), PackageError> {
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
        let path = lock_path(config_dir);
        let io = |e: std::io::Error| PackageError::Io {
            what: format!("cannot write {}", path.display()),
            error: e,
        };
        let body = toml::to_string(self).map_err(|e| PackageError::Io {
            what: format!("cannot write {}", path.display()),
            error: std::io::Error::other(e),
        })?;
        let text = format!(
            "# Written by `wasync package install`: the packages this folder's pipelines use,\n# pinned by digest. Commit it with the pipeline file.\n\n{body}"
        );
        let temporary = config_dir.join(format!(".{LOCK_FILE}.tmp"));
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)
    }

    /// The entry for `name`.
    pub fn find(&self, name: &str) -> Option<&Locked> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Puts `entry` in place of any entry of the same name.
    pub fn put(&mut self, entry: Locked) {
        self.packages.retain(|p| p.name != entry.name);
        self.packages.push(entry);
    }
}
