//! Host imports a plugin can call. Each is one unit, as wasmtime's `wasi-config` is: its
//! grant, its state, its `Host` impl on a view of that state, and its `add_to_linker`. The
//! plugin runtime holds their states and links them; they know nothing of the runtime.
//!
//! `log` is always granted. `lookup` and `http` deny every call with `access-denied` until
//! they are granted; that is their behaviour without a grant, not a stub.

pub mod http;
pub mod log;
pub mod lookup;

use crate::wit::types;
use wasmtime::component::{HasData, Linker};

/// The `types` interface of every version served: declarations only, nothing to call. 0.2.0
/// declares its types as 0.1.0 does, so its instance is an empty one under its own name.
pub fn add_types_to_linker<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    types::add_to_linker::<T, Types>(linker, |_| Types)?;
    linker.instance(&format!(
        "{}/types@{}",
        crate::wit::PACKAGE,
        crate::wit::VERSION
    ))?;
    Ok(())
}

/// The (empty) host side of `types`.
pub struct Types;

impl HasData for Types {
    type Data<'a> = Types;
}

impl types::Host for Types {}
