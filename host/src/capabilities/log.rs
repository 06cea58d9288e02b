//! `wasync:plugin/log`: a plugin's messages, as `tracing` events tagged with its name.

use crate::wit::log::{self, Host, Level};
use wasmtime::component::{HasData, Linker};

/// The log import of one plugin instance.
pub struct Log<'a> {
    /// The plugin's name, to tag its messages with.
    pub plugin: &'a str,
}

impl Host for Log<'_> {
    fn log(&mut self, level: Level, message: String) {
        let plugin = self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, "{message}"),
        }
    }
}

/// 0.2.0's log is 0.1.0's under a new name.
impl crate::wit::v0_2::log::Host for Log<'_> {
    fn log(&mut self, level: crate::wit::v0_2::log::Level, message: String) {
        Host::log(self, level.into(), message);
    }
}

struct HasLog;

impl HasData for HasLog {
    type Data<'a> = Log<'a>;
}

/// Links the log import of every version served, each call answered by the [`Log`] `get`
/// gives.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Log<'_>,
) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasLog>(linker, get)?;
    crate::wit::v0_2::log::add_to_linker::<T, HasLog>(linker, get)
}
