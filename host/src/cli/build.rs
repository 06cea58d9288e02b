//! `wasync plugin build [DIR]`: builds a plugin whatever its language.
//!
//! The language is read from the folder: `Cargo.toml` is Rust (cargo for `wasm32-wasip2`);
//! `wasync-plugin.toml` with `package.json` is JavaScript (`sdk/js/build.mjs`, over
//! componentize-js); `wasync-plugin.toml` with `*.py` files is Python (componentize-py).
//! A missing toolchain is an error that says how to install it.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A plugin's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, through the `wasync-sdk` crate.
    Rust,
    /// Python, through componentize-py.
    Python,
    /// JavaScript, through componentize-js.
    Js,
}

/// `wasync-plugin.toml`: what a Python or JavaScript plugin's build needs to know.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// The plugin's name: the component is `build/<name>.wasm`.
    pub name: String,
    /// The wasync world it implements (`field-transform`, `entity-function`, ...).
    pub world: String,
    /// The WIT folder, relative to the plugin (default `wit`).
    #[serde(default = "default_wit")]
    pub wit: PathBuf,
    /// Python: extra folders on the Python path at build time, relative to the plugin.
    #[serde(default)]
    pub python_path: Vec<PathBuf>,
    /// JavaScript: the entry module (default `index.js`).
    #[serde(default = "default_entry")]
    pub entry: PathBuf,
    /// A connector's API rate limit (`{ requests = 4, per_seconds = 1 }`), declared in the
    /// component for the host to keep to unless a pipeline file sets one.
    #[serde(default)]
    pub rate: Option<crate::config::RateConfig>,
}

fn default_wit() -> PathBuf {
    "wit".into()
}

fn default_entry() -> PathBuf {
    "index.js".into()
}

impl Manifest {
    /// Reads `<dir>/wasync-plugin.toml`.
    pub fn read(dir: &Path) -> anyhow::Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid manifest", path.display()))
    }
}

/// The manifest file of Python and JavaScript plugins.
pub const MANIFEST: &str = "wasync-plugin.toml";

/// The module componentize-py looks for the exported resource in: the world's export.
pub fn python_module(world: &str) -> anyhow::Result<&'static str> {
    Ok(match world {
        "field-transform" => "transform",
        "entity-function" => "entity",
        "merge-policy" => "merge",
        "connector" => "external",
        other => bail!(
            "unknown world `{other}` (expected field-transform, entity-function, merge-policy or connector)"
        ),
    })
}

/// Which language the plugin in `dir` is written in.
pub fn detect(dir: &Path) -> anyhow::Result<Lang> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Lang::Rust);
    }
    if dir.join(MANIFEST).is_file() {
        if dir.join("package.json").is_file() {
            return Ok(Lang::Js);
        }
        let has_python = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "py"));
        if has_python {
            return Ok(Lang::Python);
        }
    }
    bail!(
        "{} holds no plugin wasync can build: expected Cargo.toml (Rust), or {MANIFEST} with \
         package.json (JavaScript) or *.py files (Python)",
        dir.display()
    )
}

/// Declares the manifest's `rate` in the component at `out`: a connector's only.
fn declare_rate(manifest: &Manifest, out: &Path) -> anyhow::Result<()> {
    let Some(rate) = manifest.rate else {
        return Ok(());
    };
    if manifest.world != "connector" {
        bail!(
            "{MANIFEST}: `rate` is a connector's API rate limit, and `{}` is a {}",
            manifest.name,
            manifest.world
        );
    }
    if !crate::plugin::rate::usable(&rate) {
        bail!("{MANIFEST}: `rate` needs at least one request per a window longer than zero");
    }
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    std::fs::write(out, crate::plugin::rate::declare(&bytes, rate))
        .with_context(|| format!("writing {}", out.display()))
}

/// Builds the plugin in `dir`; returns the component's path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = &std::path::absolute(dir).with_context(|| format!("locating {}", dir.display()))?;
    match detect(dir)? {
        Lang::Rust => build_rust(dir),
        Lang::Python => {
            let manifest = Manifest::read(dir)?;
            let out = dir.join("build").join(format!("{}.wasm", manifest.name));
            build_python(dir, &manifest, &out)?;
            declare_rate(&manifest, &out)?;
            Ok(out)
        }
        Lang::Js => {
            let manifest = Manifest::read(dir)?;
            let out = dir.join("build").join(format!("{}.wasm", manifest.name));
            build_js(
                &dir.join(&manifest.entry),
                &dir.join(&manifest.wit),
                &manifest.world,
                &out,
            )?;
            declare_rate(&manifest, &out)?;
            Ok(out)
        }
    }
}

/// `componentize-py -d WIT -w WORLD componentize MODULE -p DIR [-p PATH]... -o OUT`.
pub fn build_python(dir: &Path, manifest: &Manifest, out: &Path) -> anyhow::Result<()> {
    let module = python_module(&manifest.world)?;
    if !dir.join(format!("{module}.py")).is_file() {
        bail!(
            "{}: a Python plugin of the {} world exports its resource from `{module}.py`, which is missing",
            dir.display(),
            manifest.world
        );
    }
    create_parent(out)?;
    let mut command = Command::new("componentize-py");
    command
        .arg("-d")
        .arg(dir.join(&manifest.wit))
        .arg("-w")
        .arg(&manifest.world)
        .arg("componentize")
        .arg(module)
        .arg("-p")
        .arg(dir);
    for path in &manifest.python_path {
        command.arg("-p").arg(dir.join(path));
    }
    command.arg("-o").arg(out).current_dir(dir);
    run(command, "componentize-py", PYTHON_INSTALL)?;
    let version = toolchain_version(Lang::Python).unwrap_or_default();
    stamp(
        out,
        "Python",
        "componentize-py",
        version.trim_start_matches("componentize-py").trim(),
    )
}

/// Records the language and toolchain in the component's own producers section, which
/// componentize-py and componentize-js leave to their embedded runtimes' (Rust, C++): so
/// that `wasync plugin inspect` can say what the plugin was written in.
fn stamp(out: &Path, language: &str, tool: &str, version: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    let mut producers = wasm_metadata::Producers::empty();
    producers.add("language", language, "");
    producers.add("processed-by", tool, version);
    let stamped = producers
        .add_to_wasm(&bytes)
        .with_context(|| format!("recording the toolchain in {}", out.display()))?;
    std::fs::write(out, stamped).with_context(|| format!("writing {}", out.display()))
}

/// `node sdk/js/build.mjs --wit WIT --world WORLD --entry ENTRY --out OUT`.
pub fn build_js(entry: &Path, wit: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    let script = sdk_dir()?.join("js/build.mjs");
    if !script.is_file() {
        bail!("the JavaScript SDK is missing: no {}", script.display());
    }
    create_parent(out)?;
    let mut command = Command::new("node");
    command
        .arg(&script)
        .arg("--wit")
        .arg(wit)
        .arg("--world")
        .arg(world)
        .arg("--entry")
        .arg(entry)
        .arg("--out")
        .arg(out);
    run(command, "node", JS_INSTALL)?;
    stamp(
        out,
        "JavaScript",
        "componentize-js",
        &componentize_js_version().unwrap_or_default(),
    )
}

/// The componentize-js version the SDK has installed, from its package manifest.
fn componentize_js_version() -> Option<String> {
    let manifest = sdk_dir()
        .ok()?
        .join("js/node_modules/@bytecodealliance/componentize-js/package.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    doc.get("version")?.as_str().map(str::to_owned)
}

/// `cargo build --release --target wasm32-wasip2`; the component is the cdylib's output.
pub fn build_rust(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest_path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let doc: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest_path.display()))?;
    let name = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{} has no [package] name", manifest_path.display()))?;
    let mut command = Command::new("cargo");
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest_path)
        .current_dir(dir);
    run(command, "cargo", RUST_INSTALL)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let out = target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    if !out.is_file() {
        bail!(
            "cargo succeeded but {} is missing: is the crate type `cdylib`?",
            out.display()
        );
    }
    Ok(out)
}

const PYTHON_INSTALL: &str = "pip install -r sdk/python/requirements.txt (componentize-py 0.25.1)";
const JS_INSTALL: &str = "install Node.js 20 or later, then run `npm ci --prefix sdk/js`";
const RUST_INSTALL: &str = "install Rust, then `rustup target add wasm32-wasip2`";

/// Runs a toolchain; its output goes to the user as it comes. A toolchain that is not
/// installed is an error saying how to install it.
fn run(mut command: Command, tool: &str, install: &str) -> anyhow::Result<()> {
    let status = match command.status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("`{tool}` is not installed (not found on PATH): {install}")
        }
        Err(e) => return Err(e).with_context(|| format!("running `{tool}`")),
    };
    if !status.success() {
        bail!("`{tool}` failed ({status}); its output is above");
    }
    Ok(())
}

fn create_parent(out: &Path) -> anyhow::Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// The version of a toolchain, as it prints it (`componentize-py 0.25.1`), or `None` when it
/// is not installed: for cache keys and error messages.
pub fn toolchain_version(lang: Lang) -> Option<String> {
    let (program, arg) = match lang {
        Lang::Rust => ("rustc", "--version"),
        Lang::Python => ("componentize-py", "--version"),
        Lang::Js => ("node", "--version"),
    };
    let output = Command::new(program).arg(arg).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The `sdk/` folder of a wasync checkout: `$WASYNC_SDK_DIR`, else the one this binary was
/// built from. Rust plugins depend on its crate; JavaScript plugins build with its `js/`.
pub fn sdk_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("WASYNC_SDK_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    if built_from.is_dir() {
        return Ok(std::path::absolute(&built_from)?);
    }
    bail!(
        "cannot find wasync's sdk folder: set WASYNC_SDK_DIR to the `sdk` folder of a wasync checkout"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_language_from_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = detect(dir.path()).expect_err("empty").to_string();
        assert!(error.contains("holds no plugin"), "{error}");
        std::fs::write(
            dir.path().join(MANIFEST),
            "name = \"x\"\nworld = \"field-transform\"\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("transform.py"), "").expect("write");
        assert_eq!(detect(dir.path()).expect("python"), Lang::Python);
        std::fs::write(dir.path().join("package.json"), "{}").expect("write");
        assert_eq!(detect(dir.path()).expect("js"), Lang::Js);
        std::fs::write(dir.path().join("Cargo.toml"), "").expect("write");
        assert_eq!(detect(dir.path()).expect("rust"), Lang::Rust);
    }

    #[test]
    fn manifests_refuse_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(MANIFEST),
            "name = \"x\"\nworld = \"connector\"\nwolrd = 1\n",
        )
        .expect("write");
        let error = format!("{:#}", Manifest::read(dir.path()).expect_err("refused"));
        assert!(error.contains("unknown field `wolrd`"), "{error}");
        assert_eq!(python_module("connector").expect("known"), "external");
        assert!(python_module("nope").is_err());
    }
}
