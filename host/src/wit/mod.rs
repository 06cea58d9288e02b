//! The contract with plugins, generated from `wit/` and re-exported under short names: the
//! bottom layer, which every other module may use and which uses none of them.
//!
//! The host's types are those of `wasync:plugin@0.1.0`, which 0.2.0 shares; [`v0_2`] holds
//! what 0.2.0 generates of its own. [`World`] and the versions this host speaks are here
//! too: they are facts about the WIT, which configuration, packages and the runtime all need.

mod generated;
mod world;

use generated::v0_1;

pub use v0_1::connector::wasync::plugin::http;
pub use v0_1::entity_function::wasync::plugin::lookup;
pub use v0_1::field_transform::wasync::plugin::log;
pub use v0_1::field_transform::wasync::plugin::types::{
    self, EntityDescription, EntityKind, Error, Field, FieldDescription, Record, Value, ValueKind,
};
pub use v0_1::{connector, entity_function, field_transform, merge_policy};
pub use world::{PACKAGE, VERSION, VERSIONS, World, compatible, served};

/// What a connector exports: reads, writes, webhooks.
pub use v0_1::connector::exports::wasync::plugin::external;
/// What an entity function exports.
pub use v0_1::entity_function::exports::wasync::plugin::entity;
/// What a merge policy exports.
pub use v0_1::merge_policy::exports::wasync::plugin::merge;

/// The bindings `wasync:plugin@0.2.0` generates of its own: its worlds and the imports
/// whose names carry its version.
pub mod v0_2 {
    pub use crate::wit::generated::v0_2::connector::wasync::plugin::http;
    pub use crate::wit::generated::v0_2::entity_function::wasync::plugin::lookup;
    pub use crate::wit::generated::v0_2::field_transform::wasync::plugin::log;
    pub use crate::wit::generated::v0_2::{
        connector, entity_function, field_transform, merge_policy,
    };

    /// What a connector exports.
    pub use crate::wit::generated::v0_2::connector::exports::wasync::plugin::external;
    /// What an entity function exports.
    pub use crate::wit::generated::v0_2::entity_function::exports::wasync::plugin::entity;
    /// What a merge policy exports.
    pub use crate::wit::generated::v0_2::merge_policy::exports::wasync::plugin::merge;
}
