//! Builds the first-party plugins in `plugins/` for wasm32-wasip2 and embeds them in the
//! `wasync` binary (see `src/plugin/builtin.rs`).

#[path = "wasm.rs"]
mod wasm;

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let plugins = root.join("plugins");
    // Everything a plugin build reads: its sources, the SDK crates and their manifests, the
    // workspace manifest they inherit from, and the WIT.
    wasm::rerun_if_changed(&[
        plugins.clone(),
        root.join("Cargo.toml"),
        root.join("sdk/Cargo.toml"),
        root.join("sdk/src"),
        root.join("sdk/batch"),
        root.join("sdk/civil"),
        root.join("sdk/macros/Cargo.toml"),
        root.join("sdk/macros/src"),
        root.join("wit"),
    ]);

    let components = wasm::build_workspace(&plugins);
    let mut code = String::from("/// First-party plugins: (name, component bytes).\n");
    code.push_str("pub static BUILTINS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &components {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("builtin.rs"), code).expect("writing builtin.rs");
}
