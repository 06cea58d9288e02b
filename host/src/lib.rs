//! wasync: a data-sync runtime whose rules and connectors are WebAssembly components.
//!
//! The host loads plugins ([`plugin`]), runs them sandboxed with memory and time limits, and
//! gives them only the capabilities they were granted ([`capabilities`]). Its modules form
//! layers whose imports point one way, down (`tests/layers.rs` keeps it so):
//!
//! | layer | modules | what it is |
//! |---|---|---|
//! | 0 | [`wit`], [`time`], [`out`] | the plugin contract's types, the clock, stdout |
//! | 1 | [`value`] | values as JSON and text for people |
//! | 2 | [`config`] | the pipeline file |
//! | 3 | [`store`] | the unified store |
//! | 4 | [`capabilities`] | host imports: `http` (with the connector's client), `lookup`, `log` |
//! | 5 | [`plugin`] | the sandboxed runtime |
//! | 6 | [`package`] | OCI packages of plugins |
//! | 7 | [`engine`] | the staged sync cycle |
//! | 8 | [`status`] | what the store says, for people |
//! | 9 | [`serve`] | the long-running host: schedules, webhooks, hot load |
//! | 10 | [`demo`] | `wasync demo` over the stand-ins (the `demo` feature) |
//! | 11 | [`cli`] | the command line |

#![deny(missing_docs)]

// Layer by layer, bottom up (rustfmt keeps each group's order).
pub mod out;
pub mod time;
pub mod wit;

pub mod value;

pub mod config;

pub mod store;

pub mod capabilities;

pub mod plugin;

pub mod package;

pub mod engine;

pub mod status;

pub mod serve;

#[cfg(feature = "demo")]
pub mod demo;

pub mod cli;

/// The connector's HTTP client, where users of the library find it.
pub use capabilities::http;
pub use wit::{Error as PluginErrorValue, Field, Record, Value};
