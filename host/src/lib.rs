//! wasync: a data-sync runtime whose rules and connectors are WebAssembly components.
//!
//! The host loads plugins ([`plugin`]), runs them sandboxed with memory and time limits, and
//! gives them only the capabilities they were granted ([`capabilities`]).

pub mod capabilities;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod http;
pub mod package;
pub mod plugin;
pub mod serve;
pub mod store;
pub mod value;

pub use plugin::bindings::{Error as PluginErrorValue, Field, Record, Value};
