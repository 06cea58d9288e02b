//! An entity function that asks the host's `lookup` for records matching each record's
//! `Name`: attaches to the first match, or stops the record with the host's answer.

use wasync_sdk::{Config, EntityFunction, Error, Field, Outcome, Record, lookup};

struct LookupProbe;

impl EntityFunction for LookupProbe {
    fn new(_: &Config) -> Result<Self, Error> {
        Ok(LookupProbe)
    }

    fn apply(&self, entity: &str, record: Record) -> Result<Outcome, Error> {
        let name = record
            .get("Name")
            .cloned()
            .unwrap_or(wasync_sdk::Value::Null);
        let matching = [Field {
            name: "Name".into(),
            value: name,
        }];
        Ok(match lookup::find(entity, &matching, 1) {
            Ok(found) => match found.into_iter().next() {
                Some(unified) => Outcome::Attach {
                    record,
                    unified_id: unified.id,
                },
                None => Outcome::Keep(record),
            },
            Err(error) => Outcome::Stop(error.to_string()),
        })
    }
}

wasync_sdk::export_entity_function!(LookupProbe);
