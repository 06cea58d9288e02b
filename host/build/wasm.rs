//! Builds a cargo workspace of guest crates for `wasm32-wasip2` from a build script, the way
//! wasmtime builds its test programs: a nested `cargo build` with its own target directory.
//! Shared by the host's build script (first-party plugins) and the test guests' build script.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guests are built for: it emits components directly.
pub const TARGET: &str = "wasm32-wasip2";

/// Builds every member of the workspace at `workspace` in release mode and returns each
/// component as (package name, path to its `.wasm`).
pub fn build_workspace(workspace: &Path) -> Vec<(String, PathBuf)> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // `<target>/<profile>/build/<pkg>/out`: share one wasm target dir across profiles and
    // build scripts, so the SDK and wit-bindgen compile once.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map_or_else(|| out_dir.join("wasm"), |t| t.join("wasm"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--release",
            "--workspace",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .stderr(std::process::Stdio::inherit());
    // What cargo set for this build script must not leak into the nested build: flags for the
    // host target, or clippy's wrapper when this runs under `cargo clippy`.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    if !output.status.success() {
        panic!(
            "building the guests in {} for {TARGET} failed (is the target installed? \
             `rustup target add {TARGET}`)",
            workspace.display()
        );
    }

    let mut components = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        let wasm = message["filenames"].as_array().and_then(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
        });
        if let (true, Some(wasm), Some(name)) =
            (is_cdylib, wasm, message["target"]["name"].as_str())
        {
            components.push((name.replace('_', "-"), PathBuf::from(wasm)));
        }
    }
    components.sort();
    components
}

/// Tells cargo to run the build script again when anything under these paths changes.
pub fn rerun_if_changed(paths: &[PathBuf]) {
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
