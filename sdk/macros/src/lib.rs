//! Binding generation behind `wasync-sdk`'s export macros. Not for direct use.
//!
//! `wit_bindgen::generate!` resolves WIT paths against the *calling* crate, so a plugin crate
//! could not find the WIT package that ships with the SDK. This macro knows where the SDK's
//! WIT lives and expands to a `generate!` call with that path made absolute.

use proc_macro::TokenStream;
use std::path::PathBuf;

/// Expands to `mod __wasync_bindings { wit_bindgen::generate!(..) }` for one wasync world.
///
/// Input: the world's name as a string literal, e.g. `"field-transform"`.
#[doc(hidden)]
#[proc_macro]
pub fn __bindings(input: TokenStream) -> TokenStream {
    let world = input.to_string();
    let wit = match wit_dir() {
        Ok(dir) => dir,
        Err(message) => return compile_error(&message),
    };
    let code = format!(
        r#"#[doc(hidden)]
        #[allow(dead_code, unused_imports, clippy::all)]
        mod __wasync_bindings {{
            ::wasync_sdk::__rt::wit_bindgen::generate!({{
                path: {wit:?},
                world: {world},
                runtime_path: "::wasync_sdk::__rt::wit_bindgen::rt",
            }});
        }}"#
    );
    code.parse()
        .unwrap_or_else(|_| compile_error("wasync-sdk: could not generate bindings"))
}

/// The WIT package: `wit/` inside this crate when it was packaged, else the repository's.
fn wit_dir() -> Result<String, String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [manifest.join("wit"), manifest.join("../../wit")];
    candidates
        .iter()
        .find_map(|dir| dir.canonicalize().ok())
        .and_then(|dir| dir.to_str().map(str::to_owned))
        .ok_or_else(|| format!("wasync-sdk: no WIT package at {candidates:?}"))
}

fn compile_error(message: &str) -> TokenStream {
    format!("compile_error!({message:?});")
        .parse()
        .unwrap_or_default()
}
