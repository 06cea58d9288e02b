//! The host's side of the batch layout of `wasync:plugin@0.2.0` (`docs/batch.md`): its
//! values and errors to and from what [`wasync_batch`] reads and writes.

use crate::wit::external::Change;
use crate::wit::{Error as PluginErrorValue, Field, Record, Value};
use wasync_batch::{EncodeRecord, ErrorKind, ErrorRef, ValueRef};

/// Encodes values as a `values` batch into `out`.
pub fn encode_values(values: &[Value], out: &mut Vec<u8>) {
    wasync_batch::encode_values_into(values.iter().map(value_ref), out);
}

/// Decodes a `results` batch into the host's values and the plugin's errors.
pub fn decode_results(
    buf: &[u8],
) -> Result<Vec<Result<Value, PluginErrorValue>>, wasync_batch::DecodeError> {
    wasync_batch::decode_results_with(buf, value, error)
}

/// A value as the layout borrows it.
pub fn value_ref(value: &Value) -> ValueRef<'_> {
    match value {
        Value::Null => ValueRef::Null,
        Value::Boolean(b) => ValueRef::Boolean(*b),
        Value::Integer(n) => ValueRef::Integer(*n),
        Value::Float(x) => ValueRef::Float(*x),
        Value::Text(text) => ValueRef::Text(text),
        Value::Timestamp(t) => ValueRef::Timestamp(*t),
        Value::Json(json) => ValueRef::Json(json),
    }
}

/// A borrowed value, owned.
pub fn value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Boolean(b),
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Float(x) => Value::Float(x),
        ValueRef::Text(text) => Value::Text(text.to_owned()),
        ValueRef::Timestamp(t) => Value::Timestamp(t),
        ValueRef::Json(json) => Value::Json(json.to_owned()),
    }
}

/// A row's error as the WIT `error` variant.
pub fn error(error: ErrorRef<'_>) -> PluginErrorValue {
    let message = error.message.to_owned();
    match error.kind {
        ErrorKind::InvalidConfig => PluginErrorValue::InvalidConfig(message),
        ErrorKind::InvalidInput => PluginErrorValue::InvalidInput(message),
        ErrorKind::AccessDenied => PluginErrorValue::AccessDenied(message),
        ErrorKind::NotFound => PluginErrorValue::NotFound(message),
        ErrorKind::Unauthorized => PluginErrorValue::Unauthorized(message),
        ErrorKind::RateLimited => PluginErrorValue::RateLimited(message),
        ErrorKind::Unavailable => PluginErrorValue::Unavailable(message),
        ErrorKind::Other => PluginErrorValue::Other(message),
    }
}

/// Decodes a `records` batch into the host's records.
pub fn decode_records(buf: &[u8]) -> Result<Vec<Record>, wasync_batch::DecodeError> {
    let batch = wasync_batch::decode_records(buf)?;
    let mut records: Vec<Record> = (0..batch.len())
        .map(|row| Record {
            id: batch.ids[row].to_owned(),
            watermark: value(batch.watermarks[row]),
            fields: Vec::with_capacity(batch.columns.len()),
            deleted: batch.deleted[row],
        })
        .collect();
    for (name, column) in &batch.columns {
        for (record, cell) in records.iter_mut().zip(column) {
            if let Some(cell) = cell {
                record.fields.push(Field {
                    name: (*name).to_owned(),
                    value: value(*cell),
                });
            }
        }
    }
    Ok(records)
}

/// A change to write, as a record of the batch: a create has an empty id, a delete is a
/// deleted record with no fields.
impl EncodeRecord for Change {
    fn id(&self) -> &str {
        match self {
            Change::Upsert(upsert) => upsert.id.as_deref().unwrap_or_default(),
            Change::Delete(id) => id,
        }
    }
    fn watermark(&self) -> ValueRef<'_> {
        ValueRef::Null
    }
    fn deleted(&self) -> bool {
        matches!(self, Change::Delete(_))
    }
    fn field_count(&self) -> usize {
        match self {
            Change::Upsert(upsert) => upsert.fields.len(),
            Change::Delete(_) => 0,
        }
    }
    fn field(&self, i: usize) -> (&str, ValueRef<'_>) {
        match self {
            Change::Upsert(upsert) => (&upsert.fields[i].name, value_ref(&upsert.fields[i].value)),
            Change::Delete(_) => unreachable!("a delete has no fields"),
        }
    }
}

/// Encodes changes to write as a `records` batch.
pub fn encode_changes(changes: &[Change]) -> Vec<u8> {
    wasync_batch::encode_records(changes)
}

/// Decodes the `results` batch a write answers with: one external id (a text) per change.
pub fn decode_ids(
    buf: &[u8],
) -> Result<Vec<Result<String, PluginErrorValue>>, wasync_batch::DecodeError> {
    wasync_batch::decode_results_with(
        buf,
        |id| match id {
            ValueRef::Text(id) => Ok(id.to_owned()),
            other => Err(PluginErrorValue::Other(format!(
                "the connector answered a write with {other:?} where the external id (a text) goes"
            ))),
        },
        error,
    )
    .map(|results| results.into_iter().map(Result::flatten).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::external::Upsert;

    fn field(name: &str, value: Value) -> Field {
        Field {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn a_page_decodes_into_records_with_only_their_own_fields() {
        let page = [
            Change::Upsert(Upsert {
                id: Some("001A".into()),
                fields: vec![
                    field("Name", Value::Text("Acme".into())),
                    field("Employees", Value::Integer(9)),
                ],
            }),
            Change::Delete("001B".into()),
        ];
        let records = decode_records(&encode_changes(&page)).expect("valid");
        assert_eq!(
            records,
            [
                Record {
                    id: "001A".into(),
                    watermark: Value::Null,
                    fields: vec![
                        field("Name", Value::Text("Acme".into())),
                        field("Employees", Value::Integer(9)),
                    ],
                    deleted: false,
                },
                Record {
                    id: "001B".into(),
                    watermark: Value::Null,
                    fields: vec![],
                    deleted: true,
                },
            ]
        );
    }

    #[test]
    fn changes_encode_creates_updates_and_deletes() {
        let buf = encode_changes(&[
            Change::Upsert(Upsert {
                id: None,
                fields: vec![field("Name", Value::Text("Acme".into()))],
            }),
            Change::Upsert(Upsert {
                id: Some("001".into()),
                fields: vec![field("Name", Value::Null)],
            }),
            Change::Delete("002".into()),
        ]);
        let batch = wasync_batch::decode_records(&buf).expect("valid");
        assert_eq!(batch.ids, ["", "001", "002"]);
        assert_eq!(batch.deleted, [false, false, true]);
        assert_eq!(
            batch.fields(0).collect::<Vec<_>>(),
            [("Name", ValueRef::Text("Acme"))]
        );
        assert_eq!(
            batch.fields(1).collect::<Vec<_>>(),
            [("Name", ValueRef::Null)]
        );
        assert_eq!(batch.fields(2).count(), 0);
    }

    #[test]
    fn an_id_that_is_not_text_fails_its_change_alone() {
        let answer = wasync_batch::encode_results(
            vec![
                Ok(ValueRef::Text("001")),
                Ok(ValueRef::Integer(2)),
                Err((ErrorKind::RateLimited, "slow down")),
            ],
            |v| *v,
            |&(kind, message)| (kind, message),
        );
        let ids = decode_ids(&answer).expect("valid");
        assert_eq!(ids[0], Ok("001".into()));
        assert!(
            matches!(&ids[1], Err(PluginErrorValue::Other(m)) if m.contains("Integer(2)")),
            "{ids:?}"
        );
        assert_eq!(
            ids[2],
            Err(PluginErrorValue::RateLimited("slow down".into()))
        );
    }
}
