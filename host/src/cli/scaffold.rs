//! `wasync plugin new --lang rust|python|js --kind KIND NAME`: a plugin folder that builds
//! with one command (`wasync plugin build NAME`) and carries a smoke test (`smoke.json`,
//! run by `wasync plugin test NAME`).
//!
//! Rust and Python starters are compiled into this binary, with the WIT package and the
//! Python helpers, so a new Python plugin is self-contained. JavaScript starters are copied
//! from the SDK's `js/starter/<kind>/`, since building them needs that SDK anyway.

use super::build::{Lang, MANIFEST, sdk_dir};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The four kinds of plugin, as `--kind` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A field transform (world `field-transform`).
    Transform,
    /// An entity function (world `entity-function`).
    EntityFunction,
    /// A merge policy (world `merge-policy`).
    MergePolicy,
    /// A connector (world `connector`).
    Connector,
}

impl Kind {
    /// The WIT world, which is also the starter folder's name.
    pub fn world(self) -> &'static str {
        match self {
            Kind::Transform => "field-transform",
            Kind::EntityFunction => "entity-function",
            Kind::MergePolicy => "merge-policy",
            Kind::Connector => "connector",
        }
    }

    fn starter(self) -> &'static str {
        match self {
            Kind::Transform => "transform",
            other => other.world(),
        }
    }
}

/// The WIT package, for Python and JavaScript plugins (Rust gets it through `wasync-sdk`).
const WIT: [(&str, &str); 3] = [
    ("types.wit", include_str!("../../../wit/types.wit")),
    (
        "capabilities.wit",
        include_str!("../../../wit/capabilities.wit"),
    ),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

const PY_HELPERS: &str = include_str!("../../../sdk/python/wasync_plugin.py");
const RUST_CARGO: &str = include_str!("../../../sdk/rust-starter/Cargo.toml.in");

/// The starter's code for a kind: (file name, content).
fn python_starter(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Transform => (
            "transform.py",
            include_str!("../../../sdk/python/starter/transform/transform.py"),
        ),
        Kind::EntityFunction => (
            "entity.py",
            include_str!("../../../sdk/python/starter/entity-function/entity.py"),
        ),
        Kind::MergePolicy => (
            "merge.py",
            include_str!("../../../sdk/python/starter/merge-policy/merge.py"),
        ),
        Kind::Connector => (
            "external.py",
            include_str!("../../../sdk/python/starter/connector/external.py"),
        ),
    }
}

fn rust_starter(kind: Kind) -> &'static str {
    match kind {
        Kind::Transform => include_str!("../../../sdk/rust-starter/transform.rs"),
        Kind::EntityFunction => include_str!("../../../sdk/rust-starter/entity-function.rs"),
        Kind::MergePolicy => include_str!("../../../sdk/rust-starter/merge-policy.rs"),
        Kind::Connector => include_str!("../../../sdk/rust-starter/connector.rs"),
    }
}

/// The smoke test: the Rust and Python starters behave alike, so they share it.
fn smoke(kind: Kind) -> &'static str {
    match kind {
        Kind::Transform => include_str!("../../../sdk/python/starter/transform/smoke.json"),
        Kind::EntityFunction => {
            include_str!("../../../sdk/python/starter/entity-function/smoke.json")
        }
        Kind::MergePolicy => include_str!("../../../sdk/python/starter/merge-policy/smoke.json"),
        Kind::Connector => include_str!("../../../sdk/python/starter/connector/smoke.json"),
    }
}

/// A smoke test for a JavaScript starter that brings none: the plugin configures and
/// answers a plausible input without an error.
fn generic_smoke(kind: Kind) -> &'static str {
    match kind {
        Kind::Transform => "{\"config\": {}, \"cases\": [{\"input\": \" hello \"}]}\n",
        Kind::EntityFunction | Kind::MergePolicy => {
            "{\"config\": {}, \"cases\": [{\"input\": {\"id\": \"1\", \"fields\": {\"Name\": \"Acme\"}}}]}\n"
        }
        Kind::Connector => "{\"config\": {}, \"cases\": [{\"input\": null}]}\n",
    }
}

/// How a Rust plugin in `plugin` (a folder that exists) names the SDK's crate at `sdk` in its
/// `Cargo.toml`: relatively when the plugin is inside the wasync checkout the SDK belongs to
/// (the usual case), so the checkout can be moved and the plugin committed with it; else
/// absolutely. With `/` on every system, as Cargo reads either.
fn sdk_path(plugin: &Path, sdk: &Path) -> anyhow::Result<String> {
    let absolute = std::path::absolute(sdk)?;
    let text = |path: &Path| -> anyhow::Result<String> {
        let text = path.to_str().context("the sdk path is not UTF-8")?;
        Ok(text.replace('\\', "/"))
    };
    // Compared as the file system resolves them (`/tmp` may be a link, `..` may appear).
    let (Ok(plugin), Ok(sdk)) = (plugin.canonicalize(), sdk.canonicalize()) else {
        return text(&absolute);
    };
    let Some(checkout) = sdk.parent().filter(|c| c.parent().is_some()) else {
        return text(&absolute);
    };
    let (Ok(down), Ok(up)) = (sdk.strip_prefix(checkout), plugin.strip_prefix(checkout)) else {
        return text(&absolute);
    };
    let mut relative = PathBuf::new();
    for _ in up.components() {
        relative.push("..");
    }
    text(&relative.join(down))
}

/// Makes the plugin folder `path` (its last component is the plugin's name).
pub fn new(path: &Path, lang: Lang, kind: Kind) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} does not end in a plugin name", path.display()))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        bail!(
            "`{name}` is not a usable plugin name: use letters, digits, `-` and `_`, starting with a letter"
        );
    }
    if path.exists() {
        bail!(
            "{} exists already; choose a new name or folder",
            path.display()
        );
    }
    let write = |file: &str, content: &str| -> anyhow::Result<()> {
        let target = path.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, content).with_context(|| format!("writing {}", target.display()))
    };
    let fill = |template: &str| template.replace("{{name}}", name);
    match lang {
        Lang::Rust => {
            let sdk = sdk_dir()?;
            std::fs::create_dir_all(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let sdk = sdk_path(path, &sdk)?;
            write("Cargo.toml", &fill(RUST_CARGO).replace("{{sdk}}", &sdk))?;
            write("src/lib.rs", rust_starter(kind))?;
            write("smoke.json", smoke(kind))?;
        }
        Lang::Python => {
            let (file, code) = python_starter(kind);
            write(file, code)?;
            write(MANIFEST, &python_manifest(name, kind))?;
            write("wasync_plugin.py", PY_HELPERS)?;
            write("smoke.json", smoke(kind))?;
            for (file, text) in WIT {
                write(&format!("wit/{file}"), text)?;
            }
        }
        Lang::Js => {
            let starter = sdk_dir()?.join("js/starter").join(kind.starter());
            if !starter.is_dir() {
                bail!(
                    "the JavaScript SDK has no starter for {}: no {}",
                    kind.world(),
                    starter.display()
                );
            }
            copy_dir(&starter, path)?;
            let manifest = path.join(MANIFEST);
            if !manifest.exists() {
                write(
                    MANIFEST,
                    &format!(
                        "# How `wasync plugin build` builds this plugin (componentize-js).\nname = \"{name}\"\nworld = \"{}\"\nwit = \"wit\"\nentry = \"index.js\"\n",
                        kind.world()
                    ),
                )?;
            } else {
                let text = std::fs::read_to_string(&manifest)?;
                write(MANIFEST, &fill(&text))?;
            }
            if !path.join("package.json").exists() {
                write(
                    "package.json",
                    &format!(
                        "{{\n  \"name\": \"{name}\",\n  \"private\": true,\n  \"type\": \"module\",\n  \"main\": \"index.js\"\n}}\n"
                    ),
                )?;
            }
            if !path.join("smoke.json").exists() {
                write("smoke.json", generic_smoke(kind))?;
            }
            for (file, text) in WIT {
                write(&format!("wit/{file}"), text)?;
            }
        }
    }
    Ok(path.to_owned())
}

fn python_manifest(name: &str, kind: Kind) -> String {
    format!(
        "# How `wasync plugin build` builds this plugin (componentize-py).\nname = \"{name}\"\nworld = \"{}\"\n# The WIT package, copied here by `wasync plugin new`.\nwit = \"wit\"\n",
        kind.world()
    )
}

/// Copies a starter folder (files and subfolders; not `node_modules`).
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "node_modules" {
                copy_dir(&entry.path(), &target)?;
            }
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::build::python_module;

    #[test]
    fn a_python_plugin_is_self_contained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("my-transform");
        new(&path, Lang::Python, Kind::Transform).expect("made");
        for file in [
            "transform.py",
            MANIFEST,
            "wasync_plugin.py",
            "smoke.json",
            "wit/worlds.wit",
        ] {
            assert!(path.join(file).is_file(), "{file} is missing");
        }
        let manifest = std::fs::read_to_string(path.join(MANIFEST)).expect("read");
        assert!(
            manifest.contains("name = \"my-transform\"")
                && manifest.contains("world = \"field-transform\"")
        );
        let again = new(&path, Lang::Python, Kind::Transform).expect_err("exists");
        assert!(again.to_string().contains("exists already"), "{again}");
    }

    #[test]
    fn python_starters_are_the_modules_componentize_py_looks_for() {
        for kind in [
            Kind::Transform,
            Kind::EntityFunction,
            Kind::MergePolicy,
            Kind::Connector,
        ] {
            let module = python_module(kind.world()).expect("a world");
            assert_eq!(python_starter(kind).0, format!("{module}.py"));
        }
    }

    #[test]
    fn refuses_unusable_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["1st", "a b", "x.y"] {
            let error =
                new(&dir.path().join(name), Lang::Rust, Kind::Transform).expect_err("refused");
            assert!(
                error.to_string().contains("not a usable plugin name"),
                "{name}: {error}"
            );
        }
    }
}
