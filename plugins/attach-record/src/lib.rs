//! `attach-record`: matches an incoming source record to an existing unified record by
//! configured fields, so the source record updates that record instead of creating another.
//!
//! The seeds' "Attach Record": a HubSpot company whose name equals a unified Account's name
//! is attached to that Account.
//!
//! ```json
//! {"match": [{"source": "Name", "unified": "Name"}]}
//! ```
//!
//! Configuration:
//! - `match` (list, required, not empty): pairs of `source` (the field of the incoming
//!   record) and `unified` (the field of the unified record it must equal). All pairs must
//!   match.
//!
//! For each record, the unified entity is searched through the host's `lookup` (which must
//! be granted to this use) for records whose `unified` fields equal the record's `source`
//! values; the host compares text without regard to case and surrounding white space.
//! - the first (oldest) match: the record is attached to it, unchanged;
//! - no match: the record is kept, unchanged, to become a new unified record;
//! - a deleted record, or one whose `source` fields are missing, null or blank: kept
//!   unchanged, without a lookup (nothing to match on);
//! - a lookup that fails (not granted, store unavailable): an error for that record.

use serde::Deserialize;
use wasync_sdk::{Config, EntityFunction, Error, Field, Outcome, Record, lookup};

/// One pair of fields that must be equal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// The field of the incoming record.
    pub source: String,
    /// The field of the unified record.
    pub unified: String,
}

/// The parsed configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(rename = "match")]
    pairs: Vec<Pair>,
}

/// One configured use: the pairs to match on.
pub struct AttachRecord {
    pairs: Vec<Pair>,
}

impl AttachRecord {
    /// The function for these pairs; they must be at least one, with names.
    pub fn with_pairs(pairs: Vec<Pair>) -> Result<Self, Error> {
        if pairs.is_empty() {
            return Err(Error::InvalidConfig(
                "`match` needs at least one pair".into(),
            ));
        }
        if let Some(i) = pairs
            .iter()
            .position(|p| p.source.trim().is_empty() || p.unified.trim().is_empty())
        {
            return Err(Error::InvalidConfig(format!(
                "`match[{i}]` has an empty field name"
            )));
        }
        Ok(AttachRecord { pairs })
    }

    /// What to look the record up by: one field per pair, or `None` when the record cannot
    /// be matched (deleted, or a source value missing or empty).
    pub fn matching(&self, record: &Record) -> Option<Vec<Field>> {
        if record.deleted {
            return None;
        }
        self.pairs
            .iter()
            .map(|pair| {
                let value = record.get(&pair.source).filter(|v| !v.is_empty())?;
                Some(Field {
                    name: pair.unified.clone(),
                    value: value.clone(),
                })
            })
            .collect()
    }

    /// The outcome for a record given what the lookup found.
    pub fn outcome(record: Record, found: Vec<Record>) -> Outcome {
        match found.into_iter().next() {
            Some(unified) => Outcome::Attach {
                record,
                unified_id: unified.id,
            },
            None => Outcome::Keep(record),
        }
    }
}

impl EntityFunction for AttachRecord {
    fn new(config: &Config) -> Result<Self, Error> {
        let settings: Settings = config.deserialize()?;
        AttachRecord::with_pairs(settings.pairs)
    }

    fn apply(&self, entity: &str, record: Record) -> Result<Outcome, Error> {
        let Some(matching) = self.matching(&record) else {
            return Ok(Outcome::Keep(record));
        };
        let found = lookup::find(entity, &matching, 1)?;
        Ok(AttachRecord::outcome(record, found))
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_entity_function!(AttachRecord);

#[cfg(test)]
mod tests {
    use super::*;
    use wasync_sdk::Value;

    fn function(config: &str) -> Result<AttachRecord, Error> {
        AttachRecord::new(&Config::parse(config)?)
    }

    fn record(fields: &[(&str, Value)]) -> Record {
        Record {
            id: "hs-1".into(),
            watermark: Value::Null,
            fields: fields
                .iter()
                .map(|(name, value)| Field {
                    name: (*name).into(),
                    value: value.clone(),
                })
                .collect(),
            deleted: false,
        }
    }

    fn by_name() -> Result<AttachRecord, Error> {
        function(r#"{"match": [{"source": "name", "unified": "Name"}]}"#)
    }

    #[test]
    fn refuses_unusable_configurations() {
        for config in [
            "{}",
            r#"{"match": []}"#,
            r#"{"match": [{"source": "Name"}]}"#,
            r#"{"match": [{"source": "", "unified": "Name"}]}"#,
            r#"{"match": [{"source": "a", "unified": "b", "fuzzy": true}]}"#,
            r#"{"match": [{"source": "a", "unified": "b"}], "limit": 2}"#,
            r#"{"match": "Name"}"#,
        ] {
            assert!(
                matches!(function(config), Err(Error::InvalidConfig(_))),
                "{config}"
            );
        }
    }

    #[test]
    fn looks_up_the_unified_names_with_the_source_values() -> Result<(), Error> {
        let two = function(
            r#"{"match": [{"source": "name", "unified": "Name"}, {"source": "domain", "unified": "Website"}]}"#,
        )?;
        let record = record(&[("name", "Acme".into()), ("domain", "acme.com".into())]);
        assert_eq!(
            two.matching(&record),
            Some(vec![
                Field {
                    name: "Name".into(),
                    value: "Acme".into()
                },
                Field {
                    name: "Website".into(),
                    value: "acme.com".into()
                },
            ])
        );
        Ok(())
    }

    #[test]
    fn does_not_match_on_missing_or_empty_values_or_deletes() -> Result<(), Error> {
        let function = by_name()?;
        assert_eq!(function.matching(&record(&[])), None);
        assert_eq!(function.matching(&record(&[("name", Value::Null)])), None);
        assert_eq!(function.matching(&record(&[("name", " ".into())])), None);
        let mut deleted = record(&[("name", "Acme".into())]);
        deleted.deleted = true;
        assert_eq!(function.matching(&deleted), None);
        assert!(
            function
                .matching(&record(&[("name", Value::Integer(0))]))
                .is_some()
        );
        Ok(())
    }

    #[test]
    fn attaches_to_the_first_found() {
        let found = vec![record(&[]), record(&[])]
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r.id = format!("u{i}");
                r
            })
            .collect();
        let incoming = record(&[("name", "Acme".into())]);
        assert_eq!(
            AttachRecord::outcome(incoming.clone(), found),
            Outcome::Attach {
                record: incoming.clone(),
                unified_id: "u0".into()
            }
        );
        assert_eq!(
            AttachRecord::outcome(incoming.clone(), vec![]),
            Outcome::Keep(incoming)
        );
    }

    /// A stand-in for the host's store: `Acme` has two unified Accounts, `Denied` is refused.
    fn fake_find(entity: &str, matching: &[Field], limit: u32) -> Result<Vec<Record>, Error> {
        let name = matching.iter().find(|f| f.name == "Name").map(|f| &f.value);
        let found: Vec<Record> = match (entity, name) {
            (_, Some(Value::Text(t))) if t == "Denied" => {
                return Err(Error::AccessDenied("lookup is not granted".into()));
            }
            ("Account", Some(Value::Text(t))) if t == "Acme" => ["u1", "u2"]
                .iter()
                .map(|id| Record {
                    id: (*id).into(),
                    ..record(&[])
                })
                .collect(),
            _ => vec![],
        };
        Ok(found.into_iter().take(limit as usize).collect())
    }

    fn with_fake_store() -> Result<AttachRecord, Error> {
        let _ = lookup::FIND.set(fake_find);
        by_name()
    }

    #[test]
    fn applies_through_the_lookup() -> Result<(), Error> {
        let function = with_fake_store()?;
        let acme = record(&[("name", "Acme".into())]);
        assert_eq!(
            function.apply("Account", acme.clone()),
            Ok(Outcome::Attach {
                record: acme,
                unified_id: "u1".into()
            })
        );
        let other = record(&[("name", "Other".into())]);
        assert_eq!(
            function.apply("Account", other.clone()),
            Ok(Outcome::Keep(other))
        );
        Ok(())
    }

    #[test]
    fn keeps_unmatchable_records_without_a_lookup() -> Result<(), Error> {
        let function = with_fake_store()?;
        let blank = record(&[("name", "".into())]);
        assert_eq!(
            function.apply("Account", blank.clone()),
            Ok(Outcome::Keep(blank))
        );
        Ok(())
    }

    #[test]
    fn passes_a_lookup_error_on_for_that_record_alone() -> Result<(), Error> {
        let function = with_fake_store()?;
        let results = function.apply_batch(
            "Account",
            vec![
                record(&[("name", "Denied".into())]),
                record(&[("name", "Acme".into())]),
            ],
        );
        assert!(matches!(results[0], Err(Error::AccessDenied(_))));
        assert!(matches!(results[1], Ok(Outcome::Attach { .. })));
        Ok(())
    }
}
