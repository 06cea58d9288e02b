//! `wasync package build|inspect|publish|install|list`: shareable plugin packages.

use super::RuntimeArgs;
use crate::out::outln;
use crate::package::install::{self, Source};
use crate::package::{Lock, Manifest, Package, PackageError, grant_lines, oci};
use crate::plugin::Runtime;
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Build a `.wasync` package from a folder with `wasync-package.toml`, or from a
    /// component file and a manifest.
    Build {
        /// A package folder, or a component file.
        path: PathBuf,
        /// The manifest [default: wasync-package.toml in the folder, or beside the component].
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// The package file to write [default: NAMESPACE-NAME-VERSION.wasync].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Show a package's manifest, digest and what it asks for: a `.wasync` file, or a name
    /// in a registry (`acme:enrich@1.0.0`).
    Inspect {
        /// A package file or a package name.
        package: String,
        /// The registry, `HOST[:PORT]` [default: $WASYNC_REGISTRY].
        #[arg(long, value_name = "HOST")]
        registry: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Push a package file to an OCI registry as `namespace/name:version`.
    Publish {
        /// The `.wasync` file.
        file: PathBuf,
        /// The registry, `HOST[:PORT]` [default: $WASYNC_REGISTRY].
        #[arg(long, value_name = "HOST")]
        registry: Option<String>,
        /// Overwrite a version already published with other contents.
        #[arg(long)]
        force: bool,
    },
    /// Install a package for a pipeline file: from a `.wasync` file, a package folder, or a
    /// registry by name (`acme:enrich@1.0.0`, or `acme:enrich` for the latest). Pins it in
    /// `wasync.lock` and prints what it asks to be granted.
    Install {
        /// A package file, a package folder, or a package name.
        package: String,
        /// The pipeline file; the lock file and the package go beside it.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The registry, `HOST[:PORT]` [default: $WASYNC_REGISTRY].
        #[arg(long, value_name = "HOST")]
        registry: Option<String>,
        /// Refuse the package unless its digest is this (`sha256:…`).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
        /// Install even if the same name and version is installed with other contents.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// List the packages installed for a pipeline file (from its `wasync.lock`).
    List {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
}

fn registry(given: Option<String>) -> Option<String> {
    given.or_else(|| {
        std::env::var(oci::REGISTRY_ENV)
            .ok()
            .filter(|r| !r.is_empty())
    })
}

fn config_dir(config: &Path) -> anyhow::Result<PathBuf> {
    if !config.is_file() {
        return Err(anyhow!(
            "pipeline file {} does not exist: the lock file goes beside it",
            config.display()
        ));
    }
    Ok(config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned())
}

impl PackageCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            PackageCommand::Build {
                path,
                manifest,
                out,
                runtime,
            } => {
                let runtime = Runtime::new(runtime.options())?;
                let package = install::build(&runtime, &path, manifest.as_deref())?;
                let m = &package.manifest;
                let out = out.unwrap_or_else(|| {
                    PathBuf::from(format!("{}-{}.wasync", m.name.replace(':', "-"), m.version))
                });
                std::fs::write(&out, package.to_file_bytes())
                    .with_context(|| format!("cannot write {}", out.display()))?;
                outln!("built {} ({}) {}", m.reference(), m.kind, package.digest)?;
                outln!("  into {}", out.display())?;
                Ok(())
            }
            PackageCommand::Inspect {
                package,
                registry: given,
                json,
            } => {
                let (package, source) = match Source::parse(&package)? {
                    Source::File(path) => (Package::read_file(&path)?, path.display().to_string()),
                    Source::Folder(path) => {
                        return Err(anyhow!(
                            "{} is a folder: build it first with `wasync package build {}`",
                            path.display(),
                            path.display()
                        ));
                    }
                    Source::Registry(reference) => {
                        let host = registry(given).ok_or_else(|| {
                            anyhow!(
                                "say which registry with --registry HOST:PORT or {}",
                                oci::REGISTRY_ENV
                            )
                        })?;
                        oci::pull(
                            &oci::Registry::new(&host)?,
                            &reference.name,
                            reference.version.as_deref(),
                        )?
                    }
                };
                show(&package, &source, json)
            }
            PackageCommand::Publish {
                file,
                registry: given,
                force,
            } => {
                let host = registry(given).ok_or_else(|| {
                    anyhow!(
                        "say which registry with --registry HOST:PORT or {}",
                        oci::REGISTRY_ENV
                    )
                })?;
                let package = Package::read_file(&file)?;
                let registry = oci::Registry::new(&host)?;
                let digest = oci::publish(&registry, &package, force)?;
                let m = &package.manifest;
                outln!("published {} {}", m.reference(), package.digest)?;
                outln!(
                    "  to {}/{}:{} (OCI manifest {digest})",
                    registry.host(),
                    oci::repository(&m.name)?,
                    m.version
                )?;
                Ok(())
            }
            PackageCommand::Install {
                package,
                config,
                registry: given,
                digest,
                replace,
                runtime,
            } => {
                let dir = config_dir(&config)?;
                let runtime = Runtime::new(runtime.options())?;
                let source = Source::parse(&package)?;
                let (package, from) = source.fetch(&runtime, registry(given).as_deref())?;
                if let Some(asked) = &digest {
                    check_digest(&package, asked, &from)?;
                }
                let done = install::install(&runtime, &package, &from, &dir, replace)?;
                let l = &done.locked;
                outln!(
                    "installed {}@{} ({}) {}",
                    l.name,
                    l.version,
                    l.kind,
                    l.digest
                )?;
                outln!("  from {}", l.source)?;
                outln!(
                    "  into {}, pinned in {}",
                    dir.join(&l.path).display(),
                    crate::package::lock_path(&dir).display()
                )?;
                if let Some(old) = done.replaced {
                    outln!("  (replaces {old})")?;
                }
                print_asks(&package.manifest)
            }
            PackageCommand::List { config, json } => list(&config, json),
        }
    }
}

/// `--digest`: the package fetched must be the one asked for, whatever its source says.
fn check_digest(package: &Package, asked: &str, from: &str) -> anyhow::Result<()> {
    let asked = asked.trim();
    let asked = match asked.starts_with("sha256:") {
        true => asked.to_owned(),
        false => format!("sha256:{asked}"),
    };
    if package.digest != asked {
        bail!(
            "the digest asked for does not match: --digest {asked}, but {} from {from} has digest {}; nothing is installed",
            package.manifest.reference(),
            package.digest
        );
    }
    Ok(())
}

/// `wasync package list`: every package the lock file pins, each one's files checked
/// against its digest, as every load does; fails when any does not check.
fn list(config: &Path, as_json: bool) -> anyhow::Result<()> {
    let dir = config_dir(config)?;
    let lock = Lock::read(&dir)?;
    let mut refused = Vec::new();
    for p in &lock.packages {
        let (state, problem) = match crate::package::verify(p, &dir) {
            Ok(_) => ("verified", None),
            Err(e @ PackageError::Io { .. }) => ("unreadable", Some(e.to_string())),
            Err(e) => ("tampered", Some(e.to_string())),
        };
        if as_json {
            let mut doc = serde_json::to_value(p)?;
            doc["state"] = json!(state);
            doc["problem"] = json!(problem);
            outln!("{doc}")?;
        } else {
            outln!(
                "{:<24} {:<10} {:<16} {}  {}  {state}",
                p.name,
                p.version,
                p.kind,
                p.digest,
                p.source
            )?;
            if let Some(problem) = &problem {
                outln!("  {problem}")?;
            }
        }
        if problem.is_some() {
            refused.push(format!("{}@{} ({state})", p.name, p.version));
        }
    }
    if lock.packages.is_empty() && !as_json {
        outln!("no packages installed for {}", config.display())?;
    }
    if !refused.is_empty() {
        bail!(
            "{} installed package(s) fail their digest check and would be refused at load: {}; install them again",
            refused.len(),
            refused.join(", ")
        );
    }
    Ok(())
}

fn print_asks(m: &Manifest) -> anyhow::Result<()> {
    let asks = &m.capabilities;
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    outln!("it asks for:")?;
    outln!("  hosts:  {}", list(&asks.hosts))?;
    outln!("  dirs:   {}", list(&asks.dirs))?;
    if asks.memory_mib == 0 {
        outln!("  memory: the default")?;
    } else {
        outln!("  memory: {} MiB", asks.memory_mib)?;
    }
    outln!("use it, granting that, in the pipeline file:")?;
    for line in grant_lines(m) {
        outln!("  {line}")?;
    }
    Ok(())
}

fn show(package: &Package, source: &str, as_json: bool) -> anyhow::Result<()> {
    let m = &package.manifest;
    if as_json {
        let doc = json!({
            "digest": package.digest,
            "source": source,
            "component_size": package.component.len(),
            "manifest": m,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    outln!("name:        {}", m.name)?;
    outln!("version:     {}", m.version)?;
    outln!("kind:        {}", m.kind)?;
    outln!("world:       {}", m.world)?;
    outln!("digest:      {}", package.digest)?;
    outln!("source:      {source}")?;
    outln!("component:   {} bytes", package.component.len())?;
    if !m.description.is_empty() {
        outln!("description: {}", m.description)?;
    }
    match &m.config {
        None => outln!("config:      any")?,
        Some(keys) => {
            outln!("config:")?;
            for (key, spec) in keys {
                let required = if spec.required { ", required" } else { "" };
                outln!("  {key} ({}{required}) {}", spec.kind, spec.description)?;
            }
        }
    }
    print_asks(m)
}
