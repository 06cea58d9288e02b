//! The one place host bindings are generated: one `bindgen!` per wasync world, sharing the
//! `types` and `log` interfaces generated for the first.
//!
//! The rest of the crate imports generated types from here (`Value`, `Record`, `Error`, ...).

#![allow(missing_docs, clippy::all)]

pub mod field_transform {
    wasmtime::component::bindgen!({
        world: "field-transform",
        path: "../wit",
        additional_derives: [PartialEq],
    });
}

pub mod entity_function {
    wasmtime::component::bindgen!({
        world: "entity-function",
        path: "../wit",
        additional_derives: [PartialEq],
        with: {
            "wasync:plugin/types": super::field_transform::wasync::plugin::types,
            "wasync:plugin/log": super::field_transform::wasync::plugin::log,
        },
    });
}

pub mod merge_policy {
    wasmtime::component::bindgen!({
        world: "merge-policy",
        path: "../wit",
        additional_derives: [PartialEq],
        with: {
            "wasync:plugin/types": super::field_transform::wasync::plugin::types,
            "wasync:plugin/log": super::field_transform::wasync::plugin::log,
        },
    });
}

pub mod connector {
    wasmtime::component::bindgen!({
        world: "connector",
        path: "../wit",
        additional_derives: [PartialEq],
        with: {
            "wasync:plugin/types": super::field_transform::wasync::plugin::types,
            "wasync:plugin/log": super::field_transform::wasync::plugin::log,
        },
    });
}

pub use connector::wasync::plugin::http;
pub use entity_function::wasync::plugin::lookup;
pub use field_transform::wasync::plugin::log;
pub use field_transform::wasync::plugin::types::{
    self, EntityDescription, EntityKind, Error, Field, FieldDescription, Record, Value, ValueKind,
};
