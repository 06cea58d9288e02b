//! Builds the Python and JavaScript twins once per test run, and across runs only when
//! something they are built from changed.
//!
//! A component is cached under the Cargo target dir as `<name>-<hash>.wasm`, the hash taken
//! over every source file, the SDK, the WIT package and the toolchain's version. A missing
//! toolchain fails the test with how to install it: these tests never skip silently.

pub mod cases;

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use wasync::cli::build::{self, Lang, Manifest};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo root")
}

/// A twin to build: its language, folder (relative to the repo), world and name.
#[derive(Debug, Clone, Copy)]
pub struct Twin {
    pub lang: Lang,
    pub dir: &'static str,
    pub world: &'static str,
    pub name: &'static str,
    /// JavaScript: the entry module in `dir`.
    pub entry: &'static str,
}

pub const PY_EXTRACT_DOMAIN: Twin = Twin {
    lang: Lang::Python,
    dir: "plugins/python/extract_domain",
    world: "field-transform",
    name: "py-extract-domain",
    entry: "index.js",
};
pub const PY_FILTER: Twin = Twin {
    lang: Lang::Python,
    dir: "plugins/python/filter",
    world: "entity-function",
    name: "py-filter",
    entry: "index.js",
};
pub const PY_RAISES: Twin = Twin {
    lang: Lang::Python,
    dir: "tests/python/raises",
    world: "field-transform",
    name: "py-raises",
    entry: "index.js",
};
pub const JS_EXTRACT_DOMAIN: Twin = Twin {
    lang: Lang::Js,
    dir: "plugins/js/extract-domain",
    world: "field-transform",
    name: "js-extract-domain",
    entry: "index.js",
};
pub const JS_THROWS: Twin = Twin {
    lang: Lang::Js,
    dir: "sdk/js/test",
    world: "field-transform",
    name: "js-throws",
    entry: "throws.js",
};
/// The trivial transforms (append `suffix`, none by default): what each SDK costs per value.
pub const PY_SUFFIX: Twin = Twin {
    lang: Lang::Python,
    dir: "tests/python/suffix",
    world: "field-transform",
    name: "py-suffix",
    entry: "index.js",
};
pub const JS_SUFFIX: Twin = Twin {
    lang: Lang::Js,
    dir: "sdk/js/test",
    world: "field-transform",
    name: "js-suffix",
    entry: "suffix.js",
};
pub const JS_FILTER: Twin = Twin {
    lang: Lang::Js,
    dir: "plugins/js/filter",
    world: "entity-function",
    name: "js-filter",
    entry: "index.js",
};

/// Where built components and other per-run state go.
pub fn cache_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("languages");
    std::fs::create_dir_all(&dir).expect("cache dir");
    dir
}

/// The component for `twin`, built at most once per run (tests share it).
pub fn component(twin: Twin) -> PathBuf {
    /// One cell per twin, so that tests needing the same twin wait for one build.
    type Cells = HashMap<&'static str, std::sync::Arc<OnceLock<PathBuf>>>;
    static BUILT: OnceLock<Mutex<Cells>> = OnceLock::new();
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .expect("lock")
        .entry(twin.name)
        .or_default()
        .clone();
    cell.get_or_init(|| build_cached(twin)).clone()
}

fn build_cached(twin: Twin) -> PathBuf {
    let version = build::toolchain_version(twin.lang).unwrap_or_else(|| {
        panic!(
            "the {:?} toolchain is not installed; install it with: {}",
            twin.lang,
            install(twin.lang)
        )
    });
    let repo = repo();
    let dir = repo.join(twin.dir);
    let mut hasher = Sha256::new();
    hasher.update(version.as_bytes());
    // The builder itself (it stamps the toolchain into what it builds) is an input too.
    let mut inputs = vec![
        dir.clone(),
        repo.join("wit"),
        repo.join("host/src/cli/build.rs"),
    ];
    match twin.lang {
        Lang::Python => inputs.push(repo.join("sdk/python/wasync_plugin.py")),
        Lang::Js => {
            for f in ["build.mjs", "wasync.js", "package-lock.json"] {
                inputs.push(repo.join("sdk/js").join(f));
            }
        }
        Lang::Rust => {}
    }
    for input in inputs {
        hash_tree(&input, &mut hasher);
    }
    let hash = format!("{:x}", hasher.finalize());
    // `<hash>/<name>.wasm`: the plugin is named after the file's stem in messages.
    let out = cache_root()
        .join(&hash[..16])
        .join(format!("{}.wasm", twin.name));
    if out.is_file() {
        return out;
    }
    let tmp = out.with_file_name(format!("{}.tmp{}.wasm", twin.name, std::process::id()));
    let result = match twin.lang {
        Lang::Python => {
            let manifest = Manifest::read(&dir).expect("wasync-plugin.toml");
            build::build_python(&dir, &manifest, &tmp)
        }
        Lang::Js => build::build_js(&dir.join(twin.entry), &repo.join("wit"), twin.world, &tmp),
        Lang::Rust => unreachable!("Rust twins are built into the host"),
    };
    if let Err(e) = result {
        panic!(
            "building {} failed: {e:#}\n(toolchain: {version}; install with: {})",
            twin.dir,
            install(twin.lang)
        );
    }
    std::fs::rename(&tmp, &out).expect("keep the built component");
    out
}

pub fn install(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => "pip install -r sdk/python/requirements.txt",
        Lang::Js => "npm ci --prefix sdk/js (Node.js 20+)",
        Lang::Rust => "rustup target add wasm32-wasip2",
    }
}

/// Hashes file names and contents under `path`, in a stable order; skips build output.
fn hash_tree(path: &Path, hasher: &mut Sha256) {
    if path.is_file() {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(path).expect("read source"));
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if ["build", "node_modules", "__pycache__", "target"].contains(&name.as_str()) {
            continue;
        }
        hash_tree(&entry, hasher);
    }
}
