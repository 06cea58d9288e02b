//! The contract with plugins, generated from `wit/` and re-exported under short names: the
//! bottom layer, which every other module may use and which uses none of them.
//!
//! [`World`] and the version this host speaks are here too: they are facts about the WIT,
//! which configuration, packages and the runtime all need.

mod generated;
mod world;

pub use generated::connector::wasync::plugin::http;
pub use generated::entity_function::wasync::plugin::lookup;
pub use generated::field_transform::wasync::plugin::log;
pub use generated::field_transform::wasync::plugin::types::{
    self, EntityDescription, EntityKind, Error, Field, FieldDescription, Record, Value, ValueKind,
};
pub use generated::{connector, entity_function, field_transform, merge_policy};
pub use world::{PACKAGE, VERSION, World, compatible};

/// What a connector exports: reads, writes, webhooks.
pub use generated::connector::exports::wasync::plugin::external;
/// What an entity function exports.
pub use generated::entity_function::exports::wasync::plugin::entity;
/// What a merge policy exports.
pub use generated::merge_policy::exports::wasync::plugin::merge;
