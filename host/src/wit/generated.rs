//! The one place host bindings are generated: one `bindgen!` per wasync world, sharing the
//! `types` and `log` interfaces generated for the first. Private: the rest of the crate
//! names generated types through [`crate::wit`]'s re-exports.

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
