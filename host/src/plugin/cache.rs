//! An on-disk cache of compiled components, so that a second start does not recompile.
//!
//! Entries are keyed by the component's SHA-256 digest and a hash of everything in the engine
//! that affects compiled code (its version, target and settings), so a changed component or a
//! different engine never picks up a stale entry.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a loaded component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Compiled now (and stored, when the cache is on).
    Compiled,
    /// Read from the cache.
    Cached,
}

/// The compile cache: a folder of `<digest>-<engine>.cwasm` files, or off.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
}

impl Cache {
    /// A cache in `dir` (created when first written).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Cache {
            dir: Some(dir.into()),
        }
    }

    /// No cache: every load compiles.
    pub fn off() -> Self {
        Cache { dir: None }
    }

    /// `$WASYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/wasync/components`, else
    /// `$HOME/.cache/wasync/components`; off when none is set.
    pub fn default_location() -> Self {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = var("WASYNC_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("wasync/components")))
            .or_else(|| var("HOME").map(|d| d.join(".cache/wasync/components")));
        Cache { dir }
    }

    /// The folder, when the cache is on.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The compiled component for `bytes`, from the cache or compiled now.
    pub fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
    ) -> wasmtime::Result<(Component, Origin)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::from_binary(engine, bytes)?, Origin::Compiled));
        };
        let path = dir.join(format!("{digest}-{:016x}.cwasm", engine_key(engine)));
        // Read, not mapped: a mapped entry that another process truncates would crash us.
        if let Ok(compiled) = std::fs::read(&path) {
            // SAFETY: entries are written only by `store` below, from `Component::serialize`
            // of an engine with the same compatibility hash (it is in the file name); wasmtime
            // still checks the header and refuses an entry from another engine or version.
            match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(component) => return Ok((component, Origin::Cached)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e}")
                }
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Err(e) = store(&component, dir, &path) {
            tracing::warn!(path = %path.display(), "cannot write the compile cache: {e:#}");
        }
        Ok((component, Origin::Compiled))
    }
}

/// Writes the entry through a temporary file and a rename, so a reader never sees half a file.
fn store(component: &Component, dir: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Unique per process and per write: `wasync serve`'s threads may compile the same
    // component at once, and each must rename its own file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn engine_key(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}
