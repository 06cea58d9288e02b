//! `filter`: keeps or stops records by a condition on their fields.
//!
//! The seeds' "stop Accounts whose Type is not Customer from being written to HubSpot":
//!
//! ```json
//! {"keep_if": {"field": "Type", "equals": "Customer"}, "ignore_case": true}
//! ```
//!
//! Configuration: exactly one of
//! - `keep_if` (condition): records for which it holds go on; the others stop;
//! - `stop_if` (condition): records for which it holds stop; the others go on;
//!
//! and optionally `ignore_case` (bool, default false): compare text without regard to case
//! and surrounding white space.
//!
//! A condition is one of:
//! - `{"field": F, "equals": V}`, `{"field": F, "not_equals": V}`
//! - `{"field": F, "in": [V, ...]}`, `{"field": F, "not_in": [V, ...]}`
//! - `{"field": F, "is_empty": true}` (null, blank text or missing), `"is_empty": false`
//! - `{"field": F, "contains": "text"}` (the field is text containing it)
//! - `{"all": [CONDITION, ...]}`, `{"any": [CONDITION, ...]}`, `{"not": CONDITION}`
//!
//! A value `V` is any JSON value and is compared with the field's value by type: a string
//! with text, a number with an integer or float (`1` equals `1.0`) or with a timestamp (in
//! microseconds since the epoch), a bool with a boolean, `null` with null, an array or
//! object with JSON. Values of different types are never equal (the text `"1"` is not the
//! number `1`). A missing field is `null`.
//!
//! A stopped record stops with a reason that names the field and its value, such as
//! `keep_if not met: Type is "Prospect", not "Customer"`. A deleted record (tombstone)
//! always goes on: deletes must reach the destination whatever the record held.

mod condition;

pub use condition::{Condition, Test};

use serde_json::Value as Json;
use wasync_sdk::{Config, EntityFunction, Error, Outcome, Record};

/// One configured use: the condition and whether it keeps or stops.
pub struct Filter {
    condition: Condition,
    /// `keep_if` (records go on when it holds) or `stop_if`.
    keep_if: bool,
}

impl Filter {
    /// The filter for a configuration given as JSON.
    pub fn from_json(json: &Json) -> Result<Self, Error> {
        let object = json.as_object().ok_or_else(|| {
            invalid("the configuration must be an object with `keep_if` or `stop_if`")
        })?;
        if let Some(key) = object
            .keys()
            .find(|k| !["keep_if", "stop_if", "ignore_case"].contains(&k.as_str()))
        {
            return Err(invalid(&format!(
                "unknown key `{key}` (expected `keep_if` or `stop_if`, and `ignore_case`)"
            )));
        }
        let ignore_case = match object.get("ignore_case") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(invalid("`ignore_case` must be true or false")),
        };
        let (key, keep_if) = match (
            object.contains_key("keep_if"),
            object.contains_key("stop_if"),
        ) {
            (true, false) => ("keep_if", true),
            (false, true) => ("stop_if", false),
            (true, true) => return Err(invalid("give `keep_if` or `stop_if`, not both")),
            (false, false) => return Err(invalid("give a condition as `keep_if` or `stop_if`")),
        };
        let condition =
            Condition::parse(&object[key], key, ignore_case).map_err(|m| invalid(&m))?;
        Ok(Filter { condition, keep_if })
    }

    /// What happens to one record.
    pub fn decide(&self, record: Record) -> Outcome {
        if record.deleted {
            return Outcome::Keep(record);
        }
        let holds = self.condition.holds(&record);
        match (self.keep_if, holds) {
            (true, true) | (false, false) => Outcome::Keep(record),
            (true, false) => Outcome::Stop(format!(
                "keep_if not met: {}",
                self.condition.explain(&record, false)
            )),
            (false, true) => Outcome::Stop(format!(
                "stop_if met: {}",
                self.condition.explain(&record, true)
            )),
        }
    }
}

impl EntityFunction for Filter {
    fn new(config: &Config) -> Result<Self, Error> {
        Filter::from_json(config.json())
    }

    fn apply(&self, _entity: &str, record: Record) -> Result<Outcome, Error> {
        Ok(self.decide(record))
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidConfig(message.to_owned())
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_entity_function!(Filter);

#[cfg(test)]
mod tests {
    use super::*;
    use wasync_sdk::{Field, Value};

    fn filter(config: &str) -> Result<Filter, Error> {
        Filter::new(&Config::parse(config)?)
    }

    fn account(kind: Value) -> Record {
        Record {
            id: "001".into(),
            watermark: Value::Null,
            fields: vec![
                Field {
                    name: "Name".into(),
                    value: "Acme".into(),
                },
                Field {
                    name: "Type".into(),
                    value: kind,
                },
            ],
            deleted: false,
        }
    }

    #[test]
    fn keep_if_keeps_what_matches_and_stops_the_rest() -> Result<(), Error> {
        let f = filter(r#"{"keep_if": {"field": "Type", "equals": "Customer"}}"#)?;
        let customer = account("Customer".into());
        assert_eq!(f.decide(customer.clone()), Outcome::Keep(customer));
        assert_eq!(
            f.decide(account("Prospect".into())),
            Outcome::Stop(r#"keep_if not met: Type is "Prospect", not "Customer""#.into())
        );
        Ok(())
    }

    #[test]
    fn stop_if_stops_what_matches() -> Result<(), Error> {
        let f = filter(r#"{"stop_if": {"field": "Type", "in": ["Prospect", "Other"]}}"#)?;
        assert_eq!(
            f.decide(account("Prospect".into())),
            Outcome::Stop(
                r#"stop_if met: Type is "Prospect", one of ["Prospect", "Other"]"#.into()
            )
        );
        assert!(matches!(
            f.decide(account("Customer".into())),
            Outcome::Keep(_)
        ));
        Ok(())
    }

    #[test]
    fn ignore_case_trims_and_folds_case() -> Result<(), Error> {
        let f =
            filter(r#"{"keep_if": {"field": "Type", "equals": "customer"}, "ignore_case": true}"#)?;
        assert!(matches!(
            f.decide(account(" CUSTOMER ".into())),
            Outcome::Keep(_)
        ));
        let strict = filter(r#"{"keep_if": {"field": "Type", "equals": "customer"}}"#)?;
        assert!(matches!(
            strict.decide(account("Customer".into())),
            Outcome::Stop(_)
        ));
        Ok(())
    }

    #[test]
    fn deletes_always_pass() -> Result<(), Error> {
        let f = filter(r#"{"keep_if": {"field": "Type", "equals": "Customer"}}"#)?;
        let tombstone = Record {
            fields: vec![],
            deleted: true,
            ..account(Value::Null)
        };
        assert_eq!(f.decide(tombstone.clone()), Outcome::Keep(tombstone));
        Ok(())
    }

    #[test]
    fn a_missing_field_is_null() -> Result<(), Error> {
        let f = filter(r#"{"stop_if": {"field": "Region", "equals": null}}"#)?;
        assert_eq!(
            f.decide(account("Customer".into())),
            Outcome::Stop("stop_if met: Region is missing".into())
        );
        Ok(())
    }

    /// `refused.txt`: the configurations refused, each with a part of its message.
    fn refused() -> Vec<(&'static str, &'static str)> {
        include_str!("../refused.txt")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                line.split_once('\t')
                    .unwrap_or_else(|| panic!("refused.txt: no TAB in {line:?}"))
            })
            .collect()
    }

    #[test]
    fn refuses_unusable_configurations() {
        let cases = refused();
        assert!(!cases.is_empty(), "refused.txt has no cases");
        for (config, expected) in cases {
            match filter(config) {
                Err(Error::InvalidConfig(message)) => {
                    assert!(message.contains(expected), "{config}: {message}")
                }
                Err(other) => panic!("{config}: {other}"),
                Ok(_) => panic!("{config}: accepted"),
            }
        }
    }
}
