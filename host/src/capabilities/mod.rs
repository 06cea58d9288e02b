//! Host imports a plugin can call, each a small unit: its `Host` impl and how it is linked.
//!
//! `log` is always granted. `lookup` and `http` deny every call with `access-denied` until
//! they are granted; that is their behaviour without a grant, not a stub.

pub mod http;
pub mod log;
pub mod lookup;

use crate::plugin::HostState;
use crate::plugin::bindings;
use wasmtime::component::{HasSelf, Linker};

/// Adds every wasync host import to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    bindings::log::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    bindings::lookup::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    bindings::http::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}

impl bindings::types::Host for HostState {}
