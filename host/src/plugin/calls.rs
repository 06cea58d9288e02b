//! The typed calls of each world on its configured use.

use super::bindings::connector::exports::wasync::plugin::external::{
    Change, EntityChange, Page, ReadRequest, WebhookRequest,
};
use super::bindings::entity_function::exports::wasync::plugin::entity::Outcome;
use super::bindings::merge_policy::exports::wasync::plugin::merge::{Candidate, Resolution};
use super::bindings::{EntityDescription, Error as PluginErrorValue, Record, Value};
use super::error::CallError;
use super::instance::{Function, Policy, System, Transformer};

/// What became of one value given to [`Transformer::apply_each`].
#[derive(Debug)]
pub enum Failure {
    /// The plugin refused this value (its own error value).
    Rejected(PluginErrorValue),
    /// The call failed as a whole while this value was in it alone.
    Crashed(CallError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Rejected(error) => crate::value::describe(error).fmt(f),
            Failure::Crashed(error) => error.fmt(f),
        }
    }
}

impl Transformer {
    /// Transforms a batch: one result per value, in order.
    pub fn apply(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginErrorValue>>, CallError> {
        const CALL: &str = "transform.apply";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_transform()
                .transformer()
                .call_apply(store, h, values)
        })?;
        self.expect_count(CALL, values.len(), results)
    }

    /// Transforms a batch, and when the batch call fails as a whole, calls again value by
    /// value so that only the values that make the plugin fail are lost to it.
    pub fn apply_each(&mut self, values: &[Value]) -> Vec<Result<Value, Failure>> {
        isolate(values, |chunk| self.apply(chunk))
    }
}

/// Calls a batch function; when the call fails as a whole, calls again item by item, so that
/// only the items that make the plugin fail are lost to it. One result per item, in order.
pub fn isolate<I: Clone, O>(
    items: &[I],
    mut call: impl FnMut(&[I]) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
) -> Vec<Result<O, Failure>> {
    if items.is_empty() {
        return Vec::new();
    }
    match call(items) {
        Ok(results) => results
            .into_iter()
            .map(|r| r.map_err(Failure::Rejected))
            .collect(),
        Err(error) if items.len() == 1 => vec![Err(Failure::Crashed(error))],
        Err(_) => items
            .iter()
            .map(|item| match call(std::slice::from_ref(item)) {
                Ok(mut one) => one
                    .pop()
                    .unwrap_or_else(|| Err(PluginErrorValue::Other("no result".into())))
                    .map_err(Failure::Rejected),
                Err(error) => Err(Failure::Crashed(error)),
            })
            .collect(),
    }
}

impl Function {
    /// Applies the entity function to a batch of records of `entity`.
    pub fn apply(
        &mut self,
        entity: &str,
        records: &[Record],
    ) -> Result<Vec<Result<Outcome, PluginErrorValue>>, CallError> {
        const CALL: &str = "entity.apply";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_entity()
                .function()
                .call_apply(store, h, entity, records)
        })?;
        self.expect_count(CALL, records.len(), results)
    }
}

impl Policy {
    /// Match keys for each record.
    pub fn match_keys(&mut self, records: &[Record]) -> Result<Vec<Vec<String>>, CallError> {
        const CALL: &str = "merge.match-keys";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_merge()
                .policy()
                .call_match_keys(store, h, records)
        })?;
        self.expect_count(CALL, records.len(), results)
    }

    /// Resolves groups of duplicates.
    pub fn resolve(
        &mut self,
        groups: &[Vec<Candidate>],
    ) -> Result<Vec<Result<Resolution, PluginErrorValue>>, CallError> {
        const CALL: &str = "merge.resolve";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_merge()
                .policy()
                .call_resolve(store, h, groups)
        })?;
        self.expect_count(CALL, groups.len(), results)
    }
}

impl System {
    /// The entities the system offers.
    pub fn describe(
        &mut self,
    ) -> Result<Result<Vec<EntityDescription>, PluginErrorValue>, CallError> {
        self.call("external.describe", |b, store, h| {
            b.wasync_plugin_external().system().call_describe(store, h)
        })
    }

    /// A page of changed records.
    pub fn read(
        &mut self,
        request: &ReadRequest,
    ) -> Result<Result<Page, PluginErrorValue>, CallError> {
        self.call("external.read", |b, store, h| {
            b.wasync_plugin_external()
                .system()
                .call_read(store, h, request)
        })
    }

    /// Writes changes; one result per change.
    pub fn write(
        &mut self,
        entity: &str,
        changes: &[Change],
    ) -> Result<Vec<Result<String, PluginErrorValue>>, CallError> {
        const CALL: &str = "external.write";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_external()
                .system()
                .call_write(store, h, entity, changes)
        })?;
        self.expect_count(CALL, changes.len(), results)
    }

    /// Turns a webhook request into changes.
    pub fn webhook(
        &mut self,
        request: &WebhookRequest,
    ) -> Result<Result<Vec<EntityChange>, PluginErrorValue>, CallError> {
        self.call("external.webhook", |b, store, h| {
            b.wasync_plugin_external()
                .system()
                .call_webhook(store, h, request)
        })
    }
}
