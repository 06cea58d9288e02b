//! Write [wasync](https://example.invalid/wasync) plugins in Rust.
//!
//! A plugin is a WebAssembly component that implements one of wasync's four worlds. With this
//! crate you implement a trait and call one export macro; the WIT bindings stay behind it.
//!
//! | world             | trait              | macro                     |
//! |-------------------|--------------------|---------------------------|
//! | `field-transform` | [`Transform`]      | [`export_transform!`]     |
//! | `entity-function` | [`EntityFunction`] | [`export_entity_function!`] |
//! | `merge-policy`    | [`MergePolicy`]    | [`export_merge_policy!`]  |
//! | `connector`       | [`Connector`]      | [`export_connector!`]     |
//!
//! Each use of a plugin in a pipeline makes one instance of your type from that use's
//! [`Config`], so one component serves many differently configured uses. Calls arrive in
//! batches; the traits' `*_batch` methods have defaults that loop over the single-item ones.
//! Connectors can turn RFC 3339 text into [`Timestamp`]s and back with [`time`].
//! A connector can declare its API's rate limit with [`declare_rate_limit!`]; the host keeps
//! to it unless the pipeline file sets one.
//!
//! # Example: a field transform
//!
//! ```
//! use wasync_sdk::{Config, Error, Transform, Value};
//!
//! /// Upper-cases text; other values pass through.
//! struct Upper {
//!     trim: bool,
//! }
//!
//! impl Transform for Upper {
//!     fn new(config: &Config) -> Result<Self, Error> {
//!         let trim = config.json().get("trim").and_then(|v| v.as_bool()).unwrap_or(false);
//!         Ok(Upper { trim })
//!     }
//!
//!     fn apply(&self, value: Value) -> Result<Value, Error> {
//!         Ok(match value {
//!             Value::Text(t) if self.trim => Value::Text(t.trim().to_uppercase()),
//!             Value::Text(t) => Value::Text(t.to_uppercase()),
//!             other => other,
//!         })
//!     }
//! }
//!
//! wasync_sdk::export_transform!(Upper);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`) and try
//! it with `echo '"abc"' | wasync plugin call target/wasm32-wasip2/release/upper.wasm`.
#![deny(missing_docs)]

mod batch;
mod config;
mod export;
pub mod log;
pub mod time;
mod types;

pub use config::Config;
pub use types::*;
/// A value borrowed from the buffer a batch came in (see [`Transform::apply_ref`]).
pub use wasync_batch::ValueRef;

#[doc(hidden)]
pub mod __rt {
    pub use crate::batch::{
        apply_transform, decode_changes, encode_entity_changes, encode_ids, encode_records,
    };
    pub use wasync_sdk_macros::__bindings;
    pub use wit_bindgen;
}

/// A field transform: one value in, one value out.
pub trait Transform: Sized + 'static {
    /// Makes the transform for one use from its configuration.
    fn new(config: &Config) -> Result<Self, Error>;

    /// Transforms one value. An error fails this value alone.
    fn apply(&self, value: Value) -> Result<Value, Error>;

    /// Transforms one value it only borrows from the batch. A transform that reads its
    /// input without keeping it can implement this too, and saves copying every value out
    /// of the batch; the default copies the value and calls [`apply`](Self::apply).
    fn apply_ref(&self, value: ValueRef<'_>) -> Result<Value, Error> {
        self.apply(value.into())
    }

    /// Transforms a batch, one result per value in order: the values are borrowed from the
    /// buffer the batch came in. Override to share work across the batch.
    fn apply_batch(&self, values: &[ValueRef<'_>]) -> Vec<Result<Value, Error>> {
        values.iter().map(|&value| self.apply_ref(value)).collect()
    }
}

/// What an entity function does with one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The record goes on, possibly changed.
    Keep(Record),
    /// The record goes on as part of the unified record `unified_id`.
    Attach {
        /// The record, possibly changed.
        record: Record,
        /// The unified record it belongs to.
        unified_id: String,
    },
    /// The record stops here, for this reason.
    Stop(String),
}

/// An entity function: acts on whole records (attach, filter, route).
pub trait EntityFunction: Sized + 'static {
    /// Makes the function for one use from its configuration.
    fn new(config: &Config) -> Result<Self, Error>;

    /// Decides what happens to one record of `entity`.
    fn apply(&self, entity: &str, record: Record) -> Result<Outcome, Error>;

    /// Applies to a batch, one result per record in order. Override to share work.
    fn apply_batch(&self, entity: &str, records: Vec<Record>) -> Vec<Result<Outcome, Error>> {
        records
            .into_iter()
            .map(|record| self.apply(entity, record))
            .collect()
    }
}

/// A record in a group of duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The unified record.
    pub record: Record,
    /// The source that last changed it.
    pub source: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
}

/// How a group of duplicates resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// Index of the winner in the group.
    pub winner: u32,
    /// The winner's fields after merging; fields left out keep their value.
    pub fields: Vec<Field>,
}

/// A merge policy: match keys, then winner and field movement per duplicate group.
pub trait MergePolicy: Sized + 'static {
    /// Makes the policy for one use from its configuration.
    fn new(config: &Config) -> Result<Self, Error>;

    /// Keys of one record; records sharing a key are duplicates.
    fn match_keys(&self, record: &Record) -> Vec<String>;

    /// Resolves one group of duplicates.
    fn resolve(&self, group: Vec<Candidate>) -> Result<Resolution, Error>;
}

/// Where a read resumes: after this (watermark, id).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Cursor {
    pub watermark: Value,
    pub id: String,
}

/// A request for changed records of one entity.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ReadRequest {
    pub entity: String,
    pub after: Option<Cursor>,
    pub until: Option<Value>,
    pub limit: u32,
}

/// Changed records, sorted by (watermark, id).
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(missing_docs)]
pub struct Page {
    pub records: Vec<Record>,
    pub more: bool,
}

/// A change to write to the external system.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create (`id` none) or update (`id` some) with these fields.
    Upsert {
        /// The external id, for an update.
        id: Option<String>,
        /// The fields to write.
        fields: Vec<Field>,
    },
    /// Delete this external id.
    Delete(String),
}

/// An HTTP request the host received for the connector's webhook.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct WebhookRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A change that arrived by webhook.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct EntityChange {
    pub entity: String,
    pub record: Record,
}

/// A connector: talks to one external system.
pub trait Connector: Sized + 'static {
    /// Connects with the given configuration.
    fn new(config: &Config) -> Result<Self, Error>;

    /// The entities this system offers.
    fn describe(&self) -> Result<Vec<EntityDescription>, Error>;

    /// Records changed after the request's cursor, sorted by (watermark, id).
    fn read(&self, request: ReadRequest) -> Result<Page, Error>;

    /// Writes changes; one result per change, the external id written.
    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>>;

    /// Turns a webhook request into changes. By default a connector takes no webhooks.
    fn webhook(&self, request: WebhookRequest) -> Result<Vec<EntityChange>, Error> {
        let _ = request;
        Err(Error::NotFound("this connector takes no webhooks".into()))
    }
}

/// Read-only look-ups into the unified store, for entity functions.
pub mod lookup {
    use crate::{Error, Field, Record};
    use std::sync::OnceLock;

    /// The host's `lookup.find`, installed by [`export_entity_function!`](crate::export_entity_function).
    #[doc(hidden)]
    pub type Find = fn(&str, &[Field], u32) -> Result<Vec<Record>, Error>;

    #[doc(hidden)]
    pub static FIND: OnceLock<Find> = OnceLock::new();

    /// Unified records of `entity` whose fields equal every field of `matching`, at most
    /// `limit`, oldest first. Denied unless the host granted lookups to this use.
    pub fn find(entity: &str, matching: &[Field], limit: u32) -> Result<Vec<Record>, Error> {
        match FIND.get() {
            Some(find) => find(entity, matching, limit),
            None => Err(Error::AccessDenied(
                "lookup is only available to entity functions".into(),
            )),
        }
    }
}

/// Outgoing HTTP through the host, for connectors.
pub mod http {
    use crate::Error;
    use std::sync::OnceLock;

    /// An HTTP request with an absolute URL.
    #[derive(Debug, Clone, PartialEq, Default)]
    #[allow(missing_docs)]
    pub struct Request {
        pub method: String,
        pub url: String,
        pub headers: Vec<(String, String)>,
        pub body: Option<Vec<u8>>,
    }

    /// An HTTP response, whatever its status.
    #[derive(Debug, Clone, PartialEq)]
    #[allow(missing_docs)]
    pub struct Response {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Response {
        /// The first header named `name`, ignoring case.
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// The host's `http.send`, installed by [`export_connector!`](crate::export_connector).
    #[doc(hidden)]
    pub type Send = fn(Request) -> Result<Response, Error>;

    #[doc(hidden)]
    pub static SEND: OnceLock<Send> = OnceLock::new();

    /// Sends `request` through the host (allowed hosts, credentials, rate limits, retries).
    pub fn send(request: Request) -> Result<Response, Error> {
        match SEND.get() {
            Some(send) => send(request),
            None => Err(Error::AccessDenied(
                "http is only available to connectors".into(),
            )),
        }
    }
}
