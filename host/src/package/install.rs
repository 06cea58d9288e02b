//! Building a package, fetching one from where it is (a file, a folder, a registry), and
//! installing it next to a pipeline file: checked, its files written, then the lock file.

use super::archive::Package;
use super::lock::{Lock, Locked};
use super::manifest::{FILE_NAME, ManifestFile};
use super::{
    COMPONENT_FILE, DOCUMENT_FILE, PackageError, Reference, load_package, oci, package_dir,
};
use crate::plugin::Runtime;
use anyhow::{Context, anyhow, bail};
use std::path::{Path, PathBuf};

/// Builds a package from a folder holding `wasync-package.toml` (whose `component` names
/// the component file), or from a component file and `manifest`. The component must
/// implement the world and WIT version the manifest says.
pub fn build(runtime: &Runtime, path: &Path, manifest: Option<&Path>) -> anyhow::Result<Package> {
    let (manifest_path, component) = if path.is_dir() {
        (
            manifest.map_or_else(|| path.join(FILE_NAME), Path::to_owned),
            None,
        )
    } else {
        let beside = path.parent().unwrap_or(Path::new(".")).join(FILE_NAME);
        (
            manifest.map_or(beside, Path::to_owned),
            Some(path.to_owned()),
        )
    };
    let file = ManifestFile::read(&manifest_path)?;
    let component = component.or(file.component).ok_or_else(|| {
        anyhow!(
            "{}: no component: give a component file, or set `component = \"FILE.wasm\"` in the manifest",
            manifest_path.display()
        )
    })?;
    let bytes = std::fs::read(&component)
        .with_context(|| format!("cannot read component {}", component.display()))?;
    let package = Package::new(file.manifest, bytes);
    check_component(runtime, &package)?;
    Ok(package)
}

/// Compiles the component and checks it against the manifest: the world it implements and
/// the exact WIT version it was built against.
fn check_component(runtime: &Runtime, package: &Package) -> anyhow::Result<()> {
    let plugin = load_package(runtime, package)?;
    let m = &package.manifest;
    let found = &plugin.interface().version;
    if found != m.wit_version() {
        bail!(
            "package {}: the manifest says {}, but the component is built against wasync:plugin@{found}",
            m.reference(),
            m.world
        );
    }
    Ok(())
}

/// Where a package comes from.
#[derive(Debug)]
pub enum Source {
    /// A `.wasync` file.
    File(PathBuf),
    /// A folder with `wasync-package.toml` and its component.
    Folder(PathBuf),
    /// `namespace:name[@version]` in a registry.
    Registry(Reference),
}

impl Source {
    /// A path that exists is a file or folder; otherwise a package name.
    pub fn parse(spec: &str) -> anyhow::Result<Source> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(Source::Folder(path.to_owned()));
        }
        if path.is_file() {
            return Ok(Source::File(path.to_owned()));
        }
        match Reference::parse(spec) {
            Some(Ok(reference)) => Ok(Source::Registry(reference)),
            Some(Err(e)) => bail!(e),
            None => bail!(
                "`{spec}` is neither a package file, a package folder, nor a package name like acme:enrich@1.0.0"
            ),
        }
    }

    /// Fetches the package and says where it came from.
    pub fn fetch(
        &self,
        runtime: &Runtime,
        registry: Option<&str>,
    ) -> anyhow::Result<(Package, String)> {
        match self {
            Source::File(path) => Ok((
                Package::read_file(path)?,
                format!("file:{}", absolute(path)),
            )),
            Source::Folder(path) => Ok((
                build(runtime, path, None)?,
                format!("folder:{}", absolute(path)),
            )),
            Source::Registry(reference) => {
                let registry = registry.ok_or_else(|| {
                    anyhow!(
                        "`{}` is a package name: say which registry with --registry HOST:PORT or {}",
                        reference.name,
                        oci::REGISTRY_ENV
                    )
                })?;
                let registry = oci::Registry::new(registry)?;
                oci::pull(&registry, &reference.name, reference.version.as_deref())
            }
        }
    }
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// What `install` did.
#[derive(Debug)]
pub struct Installed {
    /// The lock file entry written.
    pub locked: Locked,
    /// The version it replaced, if another was installed.
    pub replaced: Option<String>,
}

/// Installs `package` for the pipeline file in `config_dir`: refuses it if it cannot be
/// served (WIT version, world) or if the lock file already pins the same name and version
/// to other contents (unless `replace`); writes its files, then the lock file.
pub fn install(
    runtime: &Runtime,
    package: &Package,
    source: &str,
    config_dir: &Path,
    replace: bool,
) -> anyhow::Result<Installed> {
    let m = &package.manifest;
    check_component(runtime, package)?;
    let mut lock = Lock::read(config_dir)?;
    let previous = lock.find(&m.name).cloned();
    if let Some(old) = &previous
        && old.version == m.version
        && old.digest != package.digest
        && !replace
    {
        bail!(
            "{} is already installed with digest {}, and this one ({source}) has digest {}: the same version with other contents is refused (a version was republished, or this is not the package you installed). Pass --replace to install it anyway",
            m.reference(),
            old.digest,
            package.digest
        );
    }
    let dir = package_dir(config_dir, &package.digest);
    write_files(&dir, package)?;
    let relative = dir
        .strip_prefix(config_dir)
        .unwrap_or(&dir)
        .display()
        .to_string();
    let locked = Locked {
        name: m.name.clone(),
        version: m.version.clone(),
        digest: package.digest.clone(),
        kind: m
            .world_kind()
            .map_or_else(|_| m.kind.clone(), |w| w.to_string()),
        source: source.to_owned(),
        path: relative,
    };
    lock.put(locked.clone());
    lock.write(config_dir)?;
    // The version it replaced is no longer named by the lock: its files go (a running
    // service read them into memory when it loaded them).
    if let Some(old) = &previous
        && old.digest != package.digest
    {
        let _ = std::fs::remove_dir_all(package_dir(config_dir, &old.digest));
    }
    Ok(Installed {
        locked,
        replaced: previous
            .filter(|old| old.digest != package.digest)
            .map(|old| old.version),
    })
}

/// Writes a package's folder through a temporary folder renamed into place, so a reader
/// never finds half a package.
fn write_files(dir: &Path, package: &Package) -> Result<(), PackageError> {
    let io = |what: String| move |error| PackageError::Io { what, error };
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(format!("cannot make {}", parent.display())))?;
    if dir.is_dir() {
        // Content-addressed: a folder of this digest holds these bytes, unless tampered
        // with, so write it afresh.
        std::fs::remove_dir_all(dir).map_err(io(format!("cannot replace {}", dir.display())))?;
    }
    let temporary = parent.join(format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temporary);
    std::fs::create_dir_all(&temporary)
        .map_err(io(format!("cannot make {}", temporary.display())))?;
    let write = |file: &str, bytes: &[u8]| {
        let path = temporary.join(file);
        std::fs::write(&path, bytes).map_err(io(format!("cannot write {}", path.display())))
    };
    write(DOCUMENT_FILE, &package.document)?;
    write(COMPONENT_FILE, &package.component)?;
    std::fs::rename(&temporary, dir).map_err(io(format!("cannot make {}", dir.display())))
}
