//! The typed calls of each world on its configured use.

use super::error::CallError;
use super::instance::{Bindings, Function, Instance, Policy, System, Transformer};
use super::output::{MAX_FIELDS, Output};
use crate::wit::entity::Outcome;
use crate::wit::external::{Change, EntityChange, Page, ReadRequest, WebhookRequest};
use crate::wit::merge::{Candidate, Resolution};
use crate::wit::{EntityDescription, Error as PluginErrorValue, Field, Record, Value};
use std::time::{Duration, Instant};

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

    /// Transforms a batch, and when the batch call fails as a whole, finds the values that
    /// make the plugin fail (see [`Instance::isolate`]), so that only those are lost to it.
    pub fn apply_each(&mut self, values: &[Value]) -> Vec<Result<Value, Failure>> {
        self.isolate(values, |t, chunk| t.apply(chunk))
    }
}

/// The shortest deadline a value tried on its own gets: two epoch ticks, so that a call
/// always runs at least one whole tick before it can be stopped.
const MIN_ITEM_DEADLINE: Duration = Duration::from_millis(20);

impl<B: Bindings> Instance<B> {
    /// Calls a batch function; when the call fails as a whole, finds the items that make the
    /// plugin fail, so that only those are lost to it. One result per item, in order.
    ///
    /// A batch that failed fast (a trap, a memory or output limit) is taken apart in halves,
    /// each with the full deadline: a few bad items among thousands cost a few calls each.
    /// A batch (or half) that ran past its deadline is tried item by item, each with the
    /// batch's deadline divided among its items (at least [`MIN_ITEM_DEADLINE`]), and all of
    /// them together with one more deadline as their budget. So finding what ran away costs
    /// about one more deadline, never a deadline per item (a batch that failed fast may also
    /// spend one deadline on the first half that runs away); items still untried when the
    /// budget is spent fail with the error of the part they were in.
    pub fn isolate<I, O>(
        &mut self,
        items: &[I],
        mut call: impl FnMut(&mut Self, &[I]) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) -> Vec<Result<O, Failure>> {
        if items.is_empty() {
            return Vec::new();
        }
        let full = self.limits().deadline;
        self.deadline = full;
        let error = match call(self, items) {
            Ok(results) => return rejected(results),
            Err(error) if items.len() == 1 => return vec![Err(Failure::Crashed(error))],
            Err(error) => error,
        };
        let mut out: Vec<Option<Result<O, Failure>>> = items.iter().map(|_| None).collect();
        let ran_past = matches!(error, CallError::Deadline { .. });
        let mut parts = Parts {
            full,
            per_item: (full / items.len() as u32).max(MIN_ITEM_DEADLINE),
            budget: full,
            spare_deadline: !ran_past,
            out: &mut out,
        };
        match ran_past {
            true => parts.one_by_one(self, items, 0, &error, &mut call),
            false => parts.halve(self, items, 0, error, &mut call),
        }
        self.deadline = full;
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Failure::Rejected(no_result()))))
            .collect()
    }
}

/// A failed batch being taken apart: where its results go, and the time it may still spend
/// on items that run past their deadline.
struct Parts<'a, O> {
    /// The batch's deadline.
    full: Duration,
    /// The deadline of an item tried on its own.
    per_item: Duration,
    /// What items tried on their own (and halves after the first that ran past its
    /// deadline) may still spend.
    budget: Duration,
    /// Whether a half may still run for the full deadline without spending the budget: the
    /// batch failed fast, so no deadline has been spent on it yet.
    spare_deadline: bool,
    out: &'a mut [Option<Result<O, Failure>>],
}

impl<O> Parts<'_, O> {
    /// `items` (at `offset` in the batch) failed fast together with `error`: tries each half
    /// on its own, with the full deadline.
    fn halve<B: Bindings, I>(
        &mut self,
        instance: &mut Instance<B>,
        items: &[I],
        offset: usize,
        error: CallError,
        call: &mut impl FnMut(
            &mut Instance<B>,
            &[I],
        ) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) {
        if items.len() == 1 {
            self.out[offset] = Some(Err(Failure::Crashed(error)));
            return;
        }
        let (left, right) = items.split_at(items.len() / 2);
        for (part, at) in [(left, offset), (right, offset + left.len())] {
            instance.deadline = match self.spare_deadline {
                true => self.full,
                false if self.budget < MIN_ITEM_DEADLINE => {
                    self.untried(at, part.len(), &error);
                    continue;
                }
                false => self.full.min(self.budget),
            };
            let started = Instant::now();
            match call(instance, part) {
                Ok(results) => self.fill(at, results),
                Err(e @ CallError::Deadline { .. }) => {
                    match std::mem::take(&mut self.spare_deadline) {
                        true => {}
                        false => self.spend(started, instance.deadline),
                    }
                    match part.len() {
                        1 => self.out[at] = Some(Err(Failure::Crashed(e))),
                        _ => self.one_by_one(instance, part, at, &e, call),
                    }
                }
                Err(e) => self.halve(instance, part, at, e, call),
            }
        }
    }

    /// `items` (at `offset` in the batch) ran past their deadline together with `error`:
    /// tries each on its own with a short deadline, while the budget lasts.
    fn one_by_one<B: Bindings, I>(
        &mut self,
        instance: &mut Instance<B>,
        items: &[I],
        offset: usize,
        error: &CallError,
        call: &mut impl FnMut(
            &mut Instance<B>,
            &[I],
        ) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) {
        for (i, item) in items.iter().enumerate() {
            let at = offset + i;
            if self.budget < MIN_ITEM_DEADLINE {
                self.untried(at, 1, error);
                continue;
            }
            instance.deadline = self.per_item.min(self.budget);
            let started = Instant::now();
            let result = call(instance, std::slice::from_ref(item));
            self.spend(started, instance.deadline);
            match result {
                Ok(results) => self.fill(at, results),
                Err(e) => self.out[at] = Some(Err(Failure::Crashed(e))),
            }
        }
    }

    /// Takes what a call that started at `started` under `deadline` spent from the budget:
    /// at most its deadline, so the instance made anew after it is not counted.
    fn spend(&mut self, started: Instant, deadline: Duration) {
        let spent = started.elapsed().min(deadline);
        self.budget = self.budget.saturating_sub(spent);
    }

    /// `len` items at `at` that the budget left no time to try: they fail with the error
    /// of the part they were in.
    fn untried(&mut self, at: usize, len: usize, error: &CallError) {
        for slot in &mut self.out[at..at + len] {
            *slot = Some(Err(Failure::Crashed(error.clone())));
        }
    }

    fn fill(&mut self, at: usize, results: Vec<Result<O, PluginErrorValue>>) {
        for (slot, result) in self.out[at..].iter_mut().zip(rejected(results)) {
            *slot = Some(result);
        }
    }
}

/// A batch's results, with the plugin's own errors as [`Failure::Rejected`].
fn rejected<O>(results: Vec<Result<O, PluginErrorValue>>) -> Vec<Result<O, Failure>> {
    results
        .into_iter()
        .map(|r| r.map_err(Failure::Rejected))
        .collect()
}

fn no_result() -> PluginErrorValue {
    PluginErrorValue::Other("no result".into())
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
    /// Match keys for each record, at most [`MAX_MATCH_KEYS`] each: every key is a stored
    /// row and a query per cycle, so a policy giving a record thousands is refused.
    pub fn match_keys(&mut self, records: &[Record]) -> Result<Vec<Vec<String>>, CallError> {
        const CALL: &str = "merge.match-keys";
        let results = self.call(CALL, |b, store, h| {
            b.wasync_plugin_merge()
                .policy()
                .call_match_keys(store, h, records)
        })?;
        let results = self.expect_count(CALL, records.len(), results)?;
        match results.iter().map(Vec::len).max() {
            Some(got) if got > MAX_MATCH_KEYS => Err(CallError::OverLimit {
                plugin: self.plugin().name().to_owned(),
                call: CALL,
                what: "match keys for one record",
                limit: MAX_MATCH_KEYS,
                got,
            }),
            _ => Ok(results),
        }
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

    /// A page of changed records, at most as many as asked for. A record with a field over
    /// the value limit comes back without that field's value and with [`ERROR_FIELD`] saying
    /// why, so that it is set aside and the rest of the page goes on.
    pub fn read(
        &mut self,
        request: &ReadRequest,
    ) -> Result<Result<Page, PluginErrorValue>, CallError> {
        const CALL: &str = "external.read";
        let mut result = self.call_unchecked(CALL, |b, store, h| {
            b.wasync_plugin_external()
                .system()
                .call_read(store, h, request)
        })?;
        if let Ok(page) = &mut result {
            if page.records.len() > request.limit as usize {
                return Err(CallError::OverLimit {
                    plugin: self.plugin().name().to_owned(),
                    call: CALL,
                    what: "records",
                    limit: request.limit as usize,
                    got: page.records.len(),
                });
            }
            let limit = self.limits().value_bytes;
            for record in &mut page.records {
                refuse_large_fields(record, limit, self.plugin().name(), CALL);
            }
        }
        self.check(CALL, &result.measured())?;
        Ok(result)
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

/// The most match keys a merge policy may give one record.
pub const MAX_MATCH_KEYS: usize = 64;

/// A field a connector sets on a record it could not read, saying why: the host sets the
/// record aside instead of taking it in.
pub const ERROR_FIELD: &str = "_error";

/// Empties each field of `record` whose value is over `limit` bytes (or all of them when
/// it has more than [`MAX_FIELDS`]), and says so in [`ERROR_FIELD`].
fn refuse_large_fields(record: &mut Record, limit: usize, plugin: &str, call: &str) {
    if record.fields.len() > MAX_FIELDS {
        let fields = std::mem::take(&mut record.fields).len();
        record.fields.push(Field {
            name: ERROR_FIELD.to_owned(),
            value: Value::Text(format!(
                "plugin `{plugin}`: `{call}` returned a record of {fields} fields, over the limit of {MAX_FIELDS} fields per record"
            )),
        });
        return;
    }
    let mut refused = Vec::new();
    for field in &mut record.fields {
        let bytes = field.value.measured().largest;
        if bytes > limit {
            field.value = Value::Null;
            refused.push(format!("`{}` ({bytes} bytes)", field.name));
        }
    }
    if !refused.is_empty() {
        record.fields.push(Field {
            name: ERROR_FIELD.to_owned(),
            value: Value::Text(format!(
                "plugin `{plugin}`: `{call}` returned field {}, over the limit of {limit} bytes per value (--max-value-kib)",
                refused.join(", ")
            )),
        });
    }
}
