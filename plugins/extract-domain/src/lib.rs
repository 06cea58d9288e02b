//! `extract-domain`: the registrable domain of a URL, host name or e-mail address, by the
//! Public Suffix List. A public suffix itself, or anything unusable, yields `null`.
//!
//! The rules live in [`registrable_domain`], plain Rust, so the host's benchmark can call the
//! same code natively and through WebAssembly.

mod domain;

pub use domain::registrable_domain;

#[cfg(target_arch = "wasm32")]
mod plugin {
    use super::registrable_domain;
    use wasync_sdk::{Config, Error, Transform, Value};

    struct ExtractDomain;

    impl Transform for ExtractDomain {
        fn new(config: &Config) -> Result<Self, Error> {
            match config.json().as_object().and_then(|o| o.keys().next()) {
                Some(key) => Err(Error::InvalidConfig(format!(
                    "extract-domain takes no settings, but was given `{key}`"
                ))),
                None => Ok(ExtractDomain),
            }
        }

        fn apply(&self, value: Value) -> Result<Value, Error> {
            self.apply_ref(wasync_sdk::ValueRef::from(&value))
        }

        /// Reads the text where the batch holds it: no copy of the input.
        fn apply_ref(&self, value: wasync_sdk::ValueRef<'_>) -> Result<Value, Error> {
            Ok(match value {
                wasync_sdk::ValueRef::Text(text) => {
                    registrable_domain(text).map_or(Value::Null, Value::Text)
                }
                _ => Value::Null,
            })
        }
    }

    wasync_sdk::export_transform!(ExtractDomain);
}
