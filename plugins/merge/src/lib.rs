//! `merge`: finds duplicate records, picks the one that stays, and moves the losers' values
//! into it. The losers are then deleted by the host and their ID mappings move to the winner.
//!
//! ```json
//! {"match": ["Name"], "ignore_case": true, "winner": "oldest",
//!  "sources": ["salesforce/Account", "hubspot/companies"], "fields": "fill-empty"}
//! ```
//!
//! Configuration:
//! - `match` (required): a list of field names, one rule whose fields must all be non-empty
//!   and equal (`["Name", "Country"]`); or a list of such lists, several rules of which any
//!   one makes records duplicates (`[["Name"], ["Website"]]`).
//! - `ignore_case` (bool, default true): compare text without regard to case. Values are
//!   always compared trimmed, with inner runs of white space as one space.
//! - `winner` (default `oldest`): which duplicate stays:
//!   - `oldest`: the one created first;
//!   - `newest`: the one changed last (ties: the oldest);
//!   - `most-complete`: the one with the most non-empty fields (ties: the oldest);
//!   - `source-priority`: the one whose last change came from the source earliest in
//!     `sources`; sources not listed come last (ties: the oldest).
//! - `sources` (list of `connector/entity`): the order for `source-priority`, which
//!   requires it.
//! - `fields` (default `fill-empty`): how values move:
//!   - `fill-empty`: the winner keeps its values; a field empty in the winner (null, blank
//!     or missing) takes the first non-empty value among the losers, ranked by `winner`;
//!   - `override`: a loser's non-empty value replaces the winner's; among losers the
//!     best-ranked by `winner` prevails.
//!
//! Match keys look like `Name=acme inc` (a rule of several fields joins its `field=value`
//! parts with the unit separator U+001F). Deleted records have no keys and never win a
//! group (a group of deleted records only resolves to its first, unchanged); their values
//! are not merged.

mod rank;

pub use rank::{Winner, rank};

use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;
use wasync_sdk::{Candidate, Config, Error, Field, MergePolicy, Record, Resolution, Value};

/// How values move from the losers to the winner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldsMode {
    #[default]
    FillEmpty,
    Override,
}

/// The configuration as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(rename = "match")]
    rules: Json,
    #[serde(default = "yes")]
    ignore_case: bool,
    #[serde(default)]
    winner: Winner,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    fields: FieldsMode,
}

fn yes() -> bool {
    true
}

/// One configured use of the policy.
#[derive(Debug)]
pub struct Merge {
    /// Each rule's field names.
    rules: Vec<Vec<String>>,
    ignore_case: bool,
    winner: Winner,
    sources: Vec<String>,
    fields: FieldsMode,
}

impl Merge {
    fn from_settings(settings: Settings) -> Result<Self, Error> {
        if settings.winner == Winner::SourcePriority && settings.sources.is_empty() {
            return Err(Error::InvalidConfig(
                "`winner: source-priority` needs `sources`, the sources best first".into(),
            ));
        }
        Ok(Merge {
            rules: parse_rules(&settings.rules).map_err(Error::InvalidConfig)?,
            ignore_case: settings.ignore_case,
            winner: settings.winner,
            sources: settings.sources,
            fields: settings.fields,
        })
    }

    /// The key of one rule for `record`, if all its fields are non-empty.
    fn rule_key(&self, rule: &[String], record: &Record) -> Option<String> {
        let parts = rule
            .iter()
            .map(|name| {
                let value = record.get(name).filter(|v| !v.is_empty())?;
                Some(format!("{name}={}", self.normalise(value)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(parts.join("\u{1f}"))
    }

    /// A value as keys compare it: text, trimmed, inner white space collapsed, lowercased
    /// when case is ignored.
    fn normalise(&self, value: &Value) -> String {
        let text = match value {
            Value::Null => String::new(),
            Value::Boolean(b) => b.to_string(),
            Value::Integer(n) => n.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Timestamp(t) => t.to_string(),
            Value::Text(t) | Value::Json(t) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        if self.ignore_case {
            text.to_lowercase()
        } else {
            text
        }
    }

    /// The winner's fields with the losers' values moved in, losers best-ranked first.
    fn merged(&self, winner: &Record, losers: &[&Record]) -> Vec<Field> {
        let mut fields = winner.fields.clone();
        let mut at: HashMap<String, usize> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        // `override`: fields a loser already set, which worse-ranked losers leave alone.
        let mut overridden: Vec<bool> = vec![false; fields.len()];
        for loser in losers {
            for field in loser.fields.iter().filter(|f| !f.value.is_empty()) {
                match at.get(&field.name) {
                    None => {
                        at.insert(field.name.clone(), fields.len());
                        fields.push(field.clone());
                        overridden.push(true);
                    }
                    Some(&i) => {
                        let take = match self.fields {
                            FieldsMode::FillEmpty => fields[i].value.is_empty(),
                            FieldsMode::Override => !overridden[i],
                        };
                        if take {
                            fields[i].value = field.value.clone();
                            overridden[i] = true;
                        }
                    }
                }
            }
        }
        fields
    }
}

/// `["A", "B"]` (one rule) or `[["A"], ["B", "C"]]` (several).
fn parse_rules(json: &Json) -> Result<Vec<Vec<String>>, String> {
    const SHAPE: &str = "`match` must be a list of field names, or a list of such lists";
    let list = json.as_array().ok_or(SHAPE)?;
    if list.is_empty() {
        return Err("`match` needs at least one field".into());
    }
    let rules: Vec<&Json> = if list.iter().all(Json::is_string) {
        vec![json]
    } else if list.iter().all(Json::is_array) {
        list.iter().collect()
    } else {
        return Err(SHAPE.into());
    };
    rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| parse_rule(rule).map_err(|m| format!("`match` rule {}: {m}", i + 1)))
        .collect()
}

fn parse_rule(json: &Json) -> Result<Vec<String>, String> {
    let names = json.as_array().map(Vec::as_slice).unwrap_or_default();
    if names.is_empty() {
        return Err("lists no field".into());
    }
    names
        .iter()
        .map(|name| match name.as_str() {
            Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
            _ => Err(format!("{name} is not a field name")),
        })
        .collect()
}

impl MergePolicy for Merge {
    fn new(config: &Config) -> Result<Self, Error> {
        Merge::from_settings(config.deserialize()?)
    }

    fn match_keys(&self, record: &Record) -> Vec<String> {
        if record.deleted {
            return Vec::new();
        }
        let mut keys: Vec<String> = Vec::with_capacity(self.rules.len());
        for key in self
            .rules
            .iter()
            .filter_map(|rule| self.rule_key(rule, record))
        {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    fn resolve(&self, group: Vec<Candidate>) -> Result<Resolution, Error> {
        let ranked = rank(&group, self.winner, &self.sources);
        let Some((&winner, losers)) = ranked.split_first() else {
            let first = group
                .first()
                .ok_or_else(|| Error::InvalidInput("a group of duplicates is empty".into()))?;
            return Ok(Resolution {
                winner: 0,
                fields: first.record.fields.clone(),
            });
        };
        let losers: Vec<&Record> = losers.iter().map(|&i| &group[i].record).collect();
        Ok(Resolution {
            winner: u32::try_from(winner)
                .map_err(|_| Error::InvalidInput("a group of duplicates is too large".into()))?,
            fields: self.merged(&group[winner].record, &losers),
        })
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_merge_policy!(Merge);

#[cfg(test)]
mod tests;
