//! Data authority: which source's change wins a unified field.
//!
//! Each stored field remembers which source last changed it and when (the source record's
//! watermark), so the rules hold across cycles: an older change, or one from a less
//! authoritative source, arriving in a later cycle does not overwrite what is there.

use crate::config::{AuthorityConfig, AuthorityRule};
use crate::store::Stamp;
use crate::wit::Value;
use std::collections::BTreeMap;

/// The rule of one field, ready to decide.
#[derive(Debug, Clone)]
struct FieldRule {
    rule: AuthorityRule,
    /// Source labels (`connector/entity`), most authoritative first.
    ranking: Vec<String>,
    reject_empty: bool,
}

/// Authority for every field of a pipeline.
#[derive(Debug, Clone)]
pub struct Authority {
    fields: BTreeMap<String, FieldRule>,
    default: FieldRule,
}

/// Whether a value counts as empty: null, or text of only white space.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Text(t) => t.trim().is_empty(),
        _ => false,
    }
}

impl Authority {
    /// Builds the rules; names in `sources` may be `connector` or `connector/entity`.
    /// Without configuration the later change wins.
    pub fn new<'a>(
        config: &BTreeMap<String, AuthorityConfig>,
        labels: impl Iterator<Item = &'a str> + Clone,
    ) -> Self {
        let rule = |c: &AuthorityConfig| FieldRule {
            rule: c.rule,
            ranking: c
                .sources
                .iter()
                .flat_map(|name| {
                    labels
                        .clone()
                        .filter(move |l| *l == name || l.split('/').next() == Some(name.as_str()))
                        .map(str::to_owned)
                })
                .collect(),
            reject_empty: c.reject_empty,
        };
        Authority {
            fields: config
                .iter()
                .filter(|(k, _)| *k != "*")
                .map(|(k, c)| (k.clone(), rule(c)))
                .collect(),
            default: config.get("*").map(rule).unwrap_or(FieldRule {
                rule: AuthorityRule::Latest,
                ranking: Vec::new(),
                reject_empty: false,
            }),
        }
    }

    /// Whether a change of `field` to `incoming`, made by `stamp`, replaces `current` (last
    /// changed by `current_stamp`).
    pub fn accepts(
        &self,
        field: &str,
        current: Option<&Value>,
        current_stamp: Option<&Stamp>,
        incoming: &Value,
        stamp: &Stamp,
    ) -> bool {
        let rule = self.fields.get(field).unwrap_or(&self.default);
        // An empty value neither blanks a known one nor becomes the first value of a field:
        // a system that lacks a field (or echoes back a write without it) changes nothing.
        if rule.reject_empty && is_empty(incoming) && current.is_none_or(|v| !is_empty(v)) {
            return false;
        }
        let Some(current_stamp) = current_stamp else {
            return true;
        };
        match rule.rule {
            AuthorityRule::None => true,
            AuthorityRule::Latest => stamp.at >= current_stamp.at,
            AuthorityRule::Priority => {
                let rank = |source: &str| {
                    rule.ranking
                        .iter()
                        .position(|s| s == source)
                        .unwrap_or(usize::MAX)
                };
                let (new, old) = (rank(&stamp.source), rank(&current_stamp.source));
                new < old || (new == old && stamp.at >= current_stamp.at)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(source: &str, at: i64) -> Stamp {
        Stamp {
            source: source.into(),
            at,
        }
    }

    fn config(
        rule: AuthorityRule,
        sources: &[&str],
        reject_empty: bool,
    ) -> BTreeMap<String, AuthorityConfig> {
        BTreeMap::from([(
            "Name".to_owned(),
            AuthorityConfig {
                rule,
                sources: sources.iter().map(|s| s.to_string()).collect(),
                reject_empty,
            },
        )])
    }

    const LABELS: [&str; 2] = ["salesforce/Account", "hubspot/companies"];

    #[test]
    fn priority_keeps_the_authoritative_source_whatever_comes_later() {
        let a = Authority::new(
            &config(AuthorityRule::Priority, &["salesforce", "hubspot"], false),
            LABELS.into_iter(),
        );
        let sf = stamp("salesforce/Account", 100);
        let v = Value::Text("x".into());
        assert!(!a.accepts(
            "Name",
            Some(&v),
            Some(&sf),
            &v,
            &stamp("hubspot/companies", 200)
        ));
        assert!(a.accepts(
            "Name",
            Some(&v),
            Some(&stamp("hubspot/companies", 200)),
            &v,
            &stamp("salesforce/Account", 50)
        ));
        assert!(a.accepts(
            "Name",
            Some(&v),
            Some(&sf),
            &v,
            &stamp("salesforce/Account", 101)
        ));
        assert!(
            !a.accepts(
                "Name",
                Some(&v),
                Some(&sf),
                &v,
                &stamp("salesforce/Account", 99)
            ),
            "an older change of the same source loses"
        );
    }

    #[test]
    fn latest_takes_the_later_watermark_and_other_fields_default_to_latest() {
        let a = Authority::new(
            &config(AuthorityRule::Latest, &[], false),
            LABELS.into_iter(),
        );
        let v = Value::Text("x".into());
        let old = stamp("salesforce/Account", 100);
        assert!(a.accepts(
            "Name",
            Some(&v),
            Some(&old),
            &v,
            &stamp("hubspot/companies", 100)
        ));
        assert!(!a.accepts(
            "Name",
            Some(&v),
            Some(&old),
            &v,
            &stamp("hubspot/companies", 99)
        ));
        assert!(!a.accepts(
            "Website",
            Some(&v),
            Some(&old),
            &v,
            &stamp("hubspot/companies", 99)
        ));
    }

    #[test]
    fn reject_empty_keeps_a_value_from_being_blanked() {
        let a = Authority::new(&config(AuthorityRule::None, &[], true), LABELS.into_iter());
        let v = Value::Text("x".into());
        let s = stamp("salesforce/Account", 1);
        assert!(!a.accepts(
            "Name",
            Some(&v),
            Some(&s),
            &Value::Text(" ".into()),
            &stamp("hubspot/companies", 9)
        ));
        assert!(a.accepts(
            "Name",
            Some(&Value::Null),
            Some(&s),
            &Value::Null,
            &stamp("hubspot/companies", 9)
        ));
        assert!(!a.accepts(
            "Name",
            None,
            None,
            &Value::Null,
            &stamp("hubspot/companies", 9)
        ));
    }
}
