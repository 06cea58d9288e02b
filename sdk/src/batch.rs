//! The SDK's side of the batch layout of `wasync:plugin@0.2.0` (`docs/batch.md`): a plugin
//! author never sees it. The export macros hand each call's buffer to these functions.

use crate::{Change, EntityChange, Error, Field, Record, Transform, Value};
use wasync_batch::{EncodeRecord, ErrorKind, ValueRef};

/// Runs a transform over a `values` batch and answers with a `results` batch.
///
/// The host wrote the batch; one it could not have written is a bug in a host, and stops
/// the call (a trap the host reports) rather than being guessed at.
pub fn apply_transform<T: Transform>(plugin: &T, input: &[u8]) -> Vec<u8> {
    let values = match wasync_batch::decode_values(input) {
        Ok(values) => values,
        Err(e) => panic!("wasync-sdk: the host sent a malformed batch: {e}"),
    };
    wasync_batch::encode_results(
        plugin.apply_batch(&values),
        |value| value.into(),
        error_parts,
    )
}

impl EncodeRecord for Record {
    fn id(&self) -> &str {
        &self.id
    }
    fn watermark(&self) -> ValueRef<'_> {
        (&self.watermark).into()
    }
    fn deleted(&self) -> bool {
        self.deleted
    }
    fn field_count(&self) -> usize {
        self.fields.len()
    }
    fn field(&self, i: usize) -> (&str, ValueRef<'_>) {
        let field = &self.fields[i];
        (&field.name, (&field.value).into())
    }
}

/// Encodes records as a `records` batch (a connector's page).
pub fn encode_records(records: Vec<Record>) -> Vec<u8> {
    wasync_batch::encode_records(&records)
}

/// Changes that arrived by webhook, as (entity, `records` batch) runs of one entity each,
/// in the order they arrived.
pub fn encode_entity_changes(changes: Vec<EntityChange>) -> Vec<(String, Vec<u8>)> {
    changes
        .chunk_by(|a, b| a.entity == b.entity)
        .map(|run| {
            let records: Vec<&Record> = run.iter().map(|c| &c.record).collect();
            (
                run[0].entity.clone(),
                wasync_batch::encode_records(&records),
            )
        })
        .collect()
}

/// Decodes the changes a write is given: an empty id is a create, a deleted record a delete.
pub fn decode_changes(input: &[u8]) -> Vec<Change> {
    let batch = match wasync_batch::decode_records(input) {
        Ok(batch) => batch,
        Err(e) => panic!("wasync-sdk: the host sent a malformed batch: {e}"),
    };
    (0..batch.len())
        .map(|row| match (batch.deleted[row], batch.ids[row]) {
            (true, id) => Change::Delete(id.to_owned()),
            (false, id) => Change::Upsert {
                id: (!id.is_empty()).then(|| id.to_owned()),
                fields: batch
                    .fields(row)
                    .map(|(name, value)| Field {
                        name: name.to_owned(),
                        value: value.into(),
                    })
                    .collect(),
            },
        })
        .collect()
}

/// Encodes a write's answer: the external id written, or the error, per change.
pub fn encode_ids(results: Vec<Result<String, Error>>) -> Vec<u8> {
    wasync_batch::encode_results(results, |id| ValueRef::Text(id), error_parts)
}

/// A borrowed value, owned.
impl From<ValueRef<'_>> for Value {
    fn from(value: ValueRef<'_>) -> Self {
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
}

/// A value as the layout borrows it.
impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(value: &'a Value) -> Self {
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
}

/// An error's kind and message, as the layout writes them.
pub fn error_parts(error: &Error) -> (ErrorKind, &str) {
    match error {
        Error::InvalidConfig(m) => (ErrorKind::InvalidConfig, m),
        Error::InvalidInput(m) => (ErrorKind::InvalidInput, m),
        Error::AccessDenied(m) => (ErrorKind::AccessDenied, m),
        Error::NotFound(m) => (ErrorKind::NotFound, m),
        Error::Unauthorized(m) => (ErrorKind::Unauthorized, m),
        Error::RateLimited(m) => (ErrorKind::RateLimited, m),
        Error::Unavailable(m) => (ErrorKind::Unavailable, m),
        Error::Other(m) => (ErrorKind::Other, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    struct Upper;

    impl Transform for Upper {
        fn new(_: &Config) -> Result<Self, Error> {
            Ok(Upper)
        }

        fn apply(&self, value: Value) -> Result<Value, Error> {
            match value {
                Value::Text(t) => Ok(Value::Text(t.to_uppercase())),
                Value::Integer(_) => Err(Error::InvalidInput("no numbers".into())),
                other => Ok(other),
            }
        }
    }

    #[test]
    fn changes_cross_as_records_and_back() {
        let changes = vec![
            Change::Upsert {
                id: None,
                fields: vec![Field {
                    name: "Name".into(),
                    value: Value::Text("Acme".into()),
                }],
            },
            Change::Upsert {
                id: Some("001".into()),
                fields: vec![],
            },
            Change::Delete("002".into()),
        ];
        // As the host writes them: an empty id for a create, a deleted record for a delete.
        let record = |id: &str, deleted, fields: Vec<Field>| Record {
            id: id.into(),
            watermark: Value::Null,
            fields,
            deleted,
        };
        let batch = encode_records(vec![
            record(
                "",
                false,
                vec![Field {
                    name: "Name".into(),
                    value: Value::Text("Acme".into()),
                }],
            ),
            record("001", false, vec![]),
            record("002", true, vec![]),
        ]);
        assert_eq!(decode_changes(&batch), changes);
    }

    #[test]
    fn webhook_changes_group_by_runs_of_one_entity_in_order() {
        let change = |entity: &str, id: &str| EntityChange {
            entity: entity.into(),
            record: Record {
                id: id.into(),
                watermark: Value::Null,
                fields: vec![],
                deleted: false,
            },
        };
        let groups = encode_entity_changes(vec![
            change("a", "1"),
            change("a", "2"),
            change("b", "3"),
            change("a", "4"),
        ]);
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(entity, buf)| {
                let ids = wasync_batch::decode_records(buf).expect("valid").ids;
                (entity.as_str(), ids)
            })
            .collect();
        assert_eq!(
            shape,
            [("a", vec!["1", "2"]), ("b", vec!["3"]), ("a", vec!["4"])]
        );
    }

    #[test]
    fn a_transform_answers_one_row_per_value_with_errors_in_their_rows() {
        let input = wasync_batch::encode_values([
            ValueRef::Text("acme"),
            ValueRef::Integer(1),
            ValueRef::Null,
        ]);
        let output = apply_transform(&Upper, &input);
        let results = wasync_batch::decode_results(&output).expect("a valid batch");
        assert_eq!(results.len(), 3);
        assert_eq!(results[0], Ok(ValueRef::Text("ACME")));
        assert_eq!(
            results[1].map_err(|e| (e.kind, e.message)),
            Err((ErrorKind::InvalidInput, "no numbers"))
        );
        assert_eq!(results[2], Ok(ValueRef::Null));
    }
}
