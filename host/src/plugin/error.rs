//! What can go wrong loading or calling a plugin, as types a caller can match.

use super::world::expected_exports;
use crate::wit::Error as PluginErrorValue;
use crate::wit::{PACKAGE, VERSION};
use std::path::PathBuf;
use std::time::Duration;

/// A plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Neither a file nor a first-party plugin of that name.
    #[error("no plugin `{name}`: not a file, and not a first-party plugin (those are: {known})")]
    Unknown {
        /// What was asked for.
        name: String,
        /// The first-party plugins.
        known: String,
    },
    /// Not a valid WebAssembly component.
    #[error("plugin `{name}` is not a valid WebAssembly component: {reason}")]
    Invalid {
        /// The plugin.
        name: String,
        /// The compiler's reason.
        reason: String,
    },
    /// Exports none of the wasync worlds.
    #[error(
        "plugin `{name}` implements no wasync world: it exports {found}, but a plugin must export one of {}",
        expected_exports()
    )]
    NoWorld {
        /// The plugin.
        name: String,
        /// What it exports.
        found: String,
    },
    /// Built against a version of the WIT package this host cannot serve.
    #[error(
        "plugin `{name}` implements {found}, but this host serves {PACKAGE}@{VERSION} and @0.1.0: rebuild it against {PACKAGE}@{VERSION} (the SDKs' version)"
    )]
    IncompatibleVersion {
        /// The plugin.
        name: String,
        /// The incompatible exports.
        found: String,
    },
    /// Exports more than one world.
    #[error(
        "plugin `{name}` exports several wasync worlds ({worlds}); a plugin implements exactly one"
    )]
    SeveralWorlds {
        /// The plugin.
        name: String,
        /// The worlds.
        worlds: String,
    },
    /// Imports something the host does not provide.
    #[error("plugin `{name}` needs an import this host does not provide: {reason}")]
    MissingImport {
        /// The plugin.
        name: String,
        /// The linker's reason, naming the import.
        reason: String,
    },
    /// Implements a different world than the use asks for.
    #[error(
        "plugin `{name}` is {} {found} plugin, but is used here as {} {wanted}",
        if .found.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
        if .wanted.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
    )]
    WrongWorld {
        /// The plugin.
        name: String,
        /// Its world.
        found: String,
        /// The world the use needs.
        wanted: String,
    },
}

/// A call into a plugin failed as a whole. The host goes on; the next call gets a fresh
/// instance.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// Ran past its CPU-time deadline.
    #[error("plugin `{plugin}`: `{call}` ran past its deadline of {} ms and was stopped", deadline.as_millis())]
    Deadline {
        /// The plugin.
        plugin: String,
        /// The call (`transform.apply`).
        call: &'static str,
        /// The deadline.
        deadline: Duration,
    },
    /// Tried to grow its memory past the cap.
    #[error("plugin `{plugin}`: `{call}` needed more than its memory limit of {} MiB and was stopped", limit >> 20)]
    MemoryLimit {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// The cap, in bytes.
        limit: usize,
    },
    /// Trapped (a panic, an unreachable, an out-of-bounds access).
    #[error("plugin `{plugin}`: `{call}` trapped: {reason}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// The trap and what the plugin printed before it.
        reason: String,
    },
    /// Returned an error value for the whole call (for example an unusable configuration).
    #[error(
        "plugin `{plugin}`: `{call}` failed: {}",
        crate::value::describe(error)
    )]
    Failed {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// The plugin's error.
        error: PluginErrorValue,
    },
    /// Returned more than the output limits allow.
    #[error("plugin `{plugin}`: `{call}` returned {over}")]
    OutputLimit {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// Which limit, and by how much.
        over: super::output::Over,
    },
    /// Returned more of something than the contract allows: more records than a read asked
    /// for, more match keys for one record than a merge policy may give.
    #[error("plugin `{plugin}`: `{call}` returned {got} {what}, over the limit of {limit}")]
    OverLimit {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// What there were too many of.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// How many it returned.
        got: usize,
    },
    /// Broke the contract: returned a buffer that is not a batch in the layout of
    /// `docs/batch.md` (wasync:plugin@0.2.0).
    #[error("plugin `{plugin}`: `{call}` returned a malformed batch: {reason}")]
    Malformed {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// What the decoder found, and where.
        reason: String,
    },
    /// Broke the contract: a batch call returned a different number of results than inputs.
    #[error("plugin `{plugin}`: `{call}` returned {got} results for {expected} inputs")]
    WrongCount {
        /// The plugin.
        plugin: String,
        /// The call.
        call: &'static str,
        /// Inputs given.
        expected: usize,
        /// Results returned.
        got: usize,
    },
}
