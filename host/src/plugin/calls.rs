//! The typed calls of each world on its configured use.

use super::error::CallError;
use super::instance::{Function, Policy, System, Transformer, Versioned, either};
use super::isolate::Failure;
use super::output::{MAX_FIELDS, Output};
use super::{batch, v0_2};
use crate::wit::entity::Outcome;
use crate::wit::external::{Change, EntityChange, Page, ReadRequest, WebhookRequest};
use crate::wit::merge::{Candidate, Resolution};
use crate::wit::{EntityDescription, Error as PluginErrorValue, Field, Record, Value};

impl Transformer {
    /// Transforms a batch: one result per value, in order.
    pub fn apply(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginErrorValue>>, CallError> {
        const CALL: &str = "transform.apply";
        let mut buf = std::mem::take(&mut self.scratch);
        let answer = self.call_unchecked(CALL, |b, store, h| {
            Ok(match b {
                Versioned::V0_1(b) => Answer::Typed(
                    b.wasync_plugin_transform()
                        .transformer()
                        .call_apply(store, h, values)?,
                ),
                Versioned::V0_2(b) => {
                    batch::encode_values(values, &mut buf);
                    Answer::Batch(
                        b.wasync_plugin_transform()
                            .transformer()
                            .call_apply(store, h, &buf)?,
                    )
                }
            })
        });
        self.scratch = buf;
        let answer = answer?;
        let results = match answer {
            Answer::Typed(results) => results,
            Answer::Batch(buf) => self.read_batch(CALL, &buf, batch::decode_results)?,
        };
        self.check(CALL, &results.measured())?;
        self.expect_count(CALL, values.len(), results)
    }

    /// Transforms a batch, and when the batch call fails as a whole, finds the values that
    /// make the plugin fail (see [`Instance::isolate`]), so that only those are lost to it.
    pub fn apply_each(&mut self, values: &[Value]) -> Vec<Result<Value, Failure>> {
        self.isolate(values, |t, chunk| t.apply(chunk))
    }
}

/// What a call returned: the canonical ABI's values (0.1.0), or what 0.2.0 returns in their
/// place, one buffer or a record holding buffers.
enum Answer<T, B = Vec<u8>> {
    Typed(T),
    Batch(B),
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
            Ok(match b {
                Versioned::V0_1(b) => b
                    .wasync_plugin_entity()
                    .function()
                    .call_apply(store, h, entity, records)?,
                Versioned::V0_2(b) => b
                    .wasync_plugin_entity()
                    .function()
                    .call_apply(store, h, entity, records)?
                    .into_iter()
                    .map(|r| r.map(Into::into))
                    .collect(),
            })
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
            either!(b, b => b.wasync_plugin_merge().policy().call_match_keys(store, h, records))
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
            Ok(match b {
                Versioned::V0_1(b) => b
                    .wasync_plugin_merge()
                    .policy()
                    .call_resolve(store, h, groups)?,
                Versioned::V0_2(b) => {
                    let groups: Vec<Vec<_>> = groups.iter().map(|g| v0_2::owned(g)).collect();
                    b.wasync_plugin_merge()
                        .policy()
                        .call_resolve(store, h, &groups)?
                        .into_iter()
                        .map(|r| r.map(Into::into))
                        .collect()
                }
            })
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
            either!(b, b => b.wasync_plugin_external().system().call_describe(store, h))
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
        let answer = self.call_unchecked(CALL, |b, store, h| {
            Ok(match b {
                Versioned::V0_1(b) => Answer::Typed(
                    b.wasync_plugin_external()
                        .system()
                        .call_read(store, h, request)?,
                ),
                Versioned::V0_2(b) => {
                    Answer::Batch(b.wasync_plugin_external().system().call_read(
                        store,
                        h,
                        &request.clone().into(),
                    )?)
                }
            })
        })?;
        let mut result = match answer {
            Answer::Typed(result) => result,
            Answer::Batch(Err(error)) => Err(error),
            // Not measured before it is read: a record with a value over the limit is set
            // aside below, alone, as under 0.1.0 (the plugin's memory limit bounds the buffer).
            Answer::Batch(Ok(page)) => {
                let records =
                    batch::decode_records(&page.records).map_err(|e| self.malformed(CALL, e))?;
                Ok(Page {
                    records,
                    more: page.more,
                })
            }
        };
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
        let answer = self.call_unchecked(CALL, |b, store, h| {
            Ok(match b {
                Versioned::V0_1(b) => Answer::Typed(
                    b.wasync_plugin_external()
                        .system()
                        .call_write(store, h, entity, changes)?,
                ),
                Versioned::V0_2(b) => {
                    Answer::Batch(b.wasync_plugin_external().system().call_write(
                        store,
                        h,
                        entity,
                        &batch::encode_changes(changes),
                    )?)
                }
            })
        })?;
        let results = match answer {
            Answer::Typed(results) => results,
            Answer::Batch(buf) => self.read_batch(CALL, &buf, batch::decode_ids)?,
        };
        self.check(CALL, &results.measured())?;
        self.expect_count(CALL, changes.len(), results)
    }

    /// Turns a webhook request into changes.
    pub fn webhook(
        &mut self,
        request: &WebhookRequest,
    ) -> Result<Result<Vec<EntityChange>, PluginErrorValue>, CallError> {
        const CALL: &str = "external.webhook";
        let answer = self.call_unchecked(CALL, |b, store, h| {
            Ok(match b {
                Versioned::V0_1(b) => Answer::Typed(
                    b.wasync_plugin_external()
                        .system()
                        .call_webhook(store, h, request)?,
                ),
                Versioned::V0_2(b) => {
                    Answer::Batch(b.wasync_plugin_external().system().call_webhook(
                        store,
                        h,
                        &request.clone().into(),
                    )?)
                }
            })
        })?;
        let result = match answer {
            Answer::Typed(result) => result,
            Answer::Batch(Err(error)) => Err(error),
            Answer::Batch(Ok(groups)) => {
                let mut changes = Vec::new();
                for group in groups {
                    let records = self.read_batch(CALL, &group.records, batch::decode_records)?;
                    changes.extend(records.into_iter().map(|record| EntityChange {
                        entity: group.entity.clone(),
                        record,
                    }));
                }
                Ok(changes)
            }
        };
        self.check(CALL, &result.measured())?;
        Ok(result)
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
