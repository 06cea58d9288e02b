//! The one place host bindings are generated: one `bindgen!` per wasync world and version of
//! the WIT package. Private: the rest of the crate names generated types through
//! [`crate::wit`]'s re-exports.
//!
//! `wit/0.1/` is the previous package, still served so that components built for it load.
//! Its `types` are the host's types: the bindings of 0.2 share them (`with`), since both
//! versions declare them alike. What other interfaces declare is generated per version and
//! converted (`plugin/v0_2.rs`).

#![allow(missing_docs, clippy::all)]

/// `wasync:plugin@0.1.0`.
pub mod v0_1 {
    pub mod field_transform {
        wasmtime::component::bindgen!({
            world: "field-transform",
            path: "../wit/0.1",
            additional_derives: [PartialEq],
        });
    }

    pub mod entity_function {
        wasmtime::component::bindgen!({
            world: "entity-function",
            path: "../wit/0.1",
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
            path: "../wit/0.1",
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
            path: "../wit/0.1",
            additional_derives: [PartialEq],
            with: {
                "wasync:plugin/types": super::field_transform::wasync::plugin::types,
                "wasync:plugin/log": super::field_transform::wasync::plugin::log,
            },
        });
    }
}

/// `wasync:plugin@0.2.0`.
pub mod v0_2 {
    pub mod field_transform {
        wasmtime::component::bindgen!({
            world: "field-transform",
            path: "../wit",
            additional_derives: [PartialEq],
            with: {
                "wasync:plugin/types": crate::wit::generated::v0_1::field_transform::wasync::plugin::types,
            },
        });
    }

    pub mod entity_function {
        wasmtime::component::bindgen!({
            world: "entity-function",
            path: "../wit",
            additional_derives: [PartialEq],
            with: {
                "wasync:plugin/types": crate::wit::generated::v0_1::field_transform::wasync::plugin::types,
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
                "wasync:plugin/types": crate::wit::generated::v0_1::field_transform::wasync::plugin::types,
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
                "wasync:plugin/types": crate::wit::generated::v0_1::field_transform::wasync::plugin::types,
                "wasync:plugin/log": super::field_transform::wasync::plugin::log,
            },
        });
    }
}
