//! Builds the guest components in `tests/guests/` once per test build and records their
//! paths for the tests (see `src/lib.rs`).

#[path = "../../host/build/wasm.rs"]
mod wasm;

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guests = root.join("tests/guests");
    wasm::rerun_if_changed(&[
        guests.join("Cargo.toml"),
        guests.join("hostile"),
        guests.join("versioned"),
        root.join("sdk/src"),
        root.join("sdk/macros/src"),
        root.join("wit"),
    ]);
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
