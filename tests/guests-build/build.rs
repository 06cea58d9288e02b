//! Builds the guest components in `tests/guests/` once per test build and records their
//! paths for the tests (see `src/lib.rs`).

#[path = "../../host/build/wasm.rs"]
mod wasm;

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guests = root.join("tests/guests");
    // Every guest crate, found rather than listed: a list forgot `lookup-probe` and
    // `http-probe`, so changing them did not rebuild them. Then what they are built from
    // outside `tests/guests`: the SDK, its calendar crate and its macros (their manifests
    // too), the WIT package the macros point wit-bindgen at, and the root manifest, whose
    // `[workspace.package]`, `[workspace.dependencies]` (wit-bindgen's version and features)
    // and `[workspace.lints]` the SDK's manifests inherit.
    let mut watched = vec![
        guests.join("Cargo.toml"),
        guests.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("sdk/Cargo.toml"),
        root.join("sdk/src"),
        root.join("sdk/batch"),
        root.join("sdk/civil"),
        root.join("sdk/macros/Cargo.toml"),
        root.join("sdk/macros/src"),
        root.join("wit"),
    ];
    watched.extend(guest_crates(&guests));
    wasm::rerun_if_changed(&watched);
    let mut code = String::new();
    for (name, path) in wasm::build_workspace(&guests) {
        let constant = name.to_uppercase().replace('-', "_");
        writeln!(code, "/// The `{name}` guest component.")
            .and_then(|()| {
                writeln!(
                    code,
                    "pub const {constant}: &str = {:?};",
                    path.display().to_string()
                )
            })
            .expect("writing to a String");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("guests.rs"), code).expect("writing guests.rs");
}

/// The folders under `guests` that hold a crate (a `Cargo.toml`), sorted.
fn guest_crates(guests: &std::path::Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(guests)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", guests.display()));
    let mut crates: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    crates
}
