//! Conditions: parsed once from the configuration, evaluated per record, and explained when
//! a record stops.

use serde_json::{Map, Value as Json};
use wasync_sdk::{Record, Value};

/// A condition on a record's fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A test of one field.
    Field { field: String, test: Test },
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// A test of one field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Equals(Expected),
    NotEquals(Expected),
    In(Vec<Expected>),
    NotIn(Vec<Expected>),
    IsEmpty(bool),
    Contains(Needle),
}

/// A configured value, prepared for comparison: text already folded when case is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// As configured, for reasons.
    json: Json,
    /// Text to compare with, folded when case is ignored.
    text: Option<String>,
    ignore_case: bool,
}

/// The text a `contains` test looks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Needle {
    /// As configured, for reasons.
    shown: String,
    /// Folded when case is ignored.
    text: String,
    ignore_case: bool,
}

const TESTS: [&str; 6] = [
    "equals",
    "not_equals",
    "in",
    "not_in",
    "is_empty",
    "contains",
];
const GROUPS: [&str; 3] = ["all", "any", "not"];

impl Condition {
    /// Parses a condition; `path` names where it is in the configuration, for errors.
    pub fn parse(json: &Json, path: &str, ignore_case: bool) -> Result<Condition, String> {
        let object = json.as_object().ok_or_else(|| {
            format!("{path}: a condition must be an object, like {{\"field\": \"Type\", \"equals\": \"Customer\"}}")
        })?;
        match object.keys().find(|k| GROUPS.contains(&k.as_str())) {
            Some(group) => parse_group(object, group, path, ignore_case),
            None => parse_field(object, path, ignore_case),
        }
    }

    /// Whether the condition holds for `record`.
    pub fn holds(&self, record: &Record) -> bool {
        match self {
            Condition::Field { field, test } => test.holds(record.get(field)),
            Condition::All(conditions) => conditions.iter().all(|c| c.holds(record)),
            Condition::Any(conditions) => conditions.iter().any(|c| c.holds(record)),
            Condition::Not(condition) => !condition.holds(record),
        }
    }

    /// Says why the condition does (`holds`) or does not hold for `record`, naming fields
    /// and values: the parts that decided it.
    pub fn explain(&self, record: &Record, holds: bool) -> String {
        match self {
            Condition::Field { field, test } => test.explain(field, record.get(field), holds),
            Condition::All(conditions) if holds => explain_each(conditions, record, true),
            Condition::Any(conditions) if !holds => explain_each(conditions, record, false),
            Condition::All(conditions) | Condition::Any(conditions) => conditions
                .iter()
                .find(|c| c.holds(record) == holds)
                .map_or_else(String::new, |c| c.explain(record, holds)),
            Condition::Not(condition) => condition.explain(record, !holds),
        }
    }
}

/// Every part's explanation, joined: all held, or none did.
fn explain_each(conditions: &[Condition], record: &Record, holds: bool) -> String {
    let parts: Vec<String> = conditions
        .iter()
        .map(|c| c.explain(record, holds))
        .collect();
    parts.join(" and ")
}

fn parse_group(
    object: &Map<String, Json>,
    group: &str,
    path: &str,
    ignore_case: bool,
) -> Result<Condition, String> {
    if object.len() != 1 {
        return Err(format!("{path}: `{group}` must stand alone in its object"));
    }
    let inner = &object[group];
    let path = format!("{path}.{group}");
    if group == "not" {
        return Ok(Condition::Not(Box::new(Condition::parse(
            inner,
            &path,
            ignore_case,
        )?)));
    }
    let list = inner
        .as_array()
        .filter(|list| !list.is_empty())
        .ok_or_else(|| format!("{path}: list at least one condition"))?;
    let conditions = list
        .iter()
        .enumerate()
        .map(|(i, c)| Condition::parse(c, &format!("{path}[{i}]"), ignore_case))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if group == "all" {
        Condition::All(conditions)
    } else {
        Condition::Any(conditions)
    })
}

fn parse_field(
    object: &Map<String, Json>,
    path: &str,
    ignore_case: bool,
) -> Result<Condition, String> {
    if let Some(key) = object
        .keys()
        .find(|k| *k != "field" && !TESTS.contains(&k.as_str()))
    {
        return Err(format!(
            "{path}: unknown key `{key}` (expected `field` with one of {}, or one of {})",
            quoted(&TESTS),
            quoted(&GROUPS)
        ));
    }
    let field = match object.get("field") {
        Some(Json::String(f)) if !f.trim().is_empty() => f.clone(),
        _ => return Err(format!("{path}: `field` must name a field")),
    };
    let mut tests = object.iter().filter(|(k, _)| *k != "field");
    let (name, json) = match (tests.next(), tests.next()) {
        (Some(test), None) => test,
        (None, _) => {
            return Err(format!(
                "{path}: give one test of `{field}`: {}",
                quoted(&TESTS)
            ));
        }
        (Some(_), Some(_)) => return Err(format!("{path}: give only one test of `{field}`")),
    };
    let test = Test::parse(name, json, ignore_case).map_err(|m| format!("{path}: {m}"))?;
    Ok(Condition::Field { field, test })
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Test {
    fn parse(name: &str, json: &Json, ignore_case: bool) -> Result<Test, String> {
        let expected = |json: &Json| Expected::new(json, ignore_case);
        let list = || -> Result<Vec<Expected>, String> {
            let values = json
                .as_array()
                .ok_or_else(|| format!("`{name}` must be a list of values"))?;
            if values.is_empty() {
                return Err(format!("`{name}` must list at least one value"));
            }
            Ok(values.iter().map(expected).collect())
        };
        Ok(match name {
            "equals" => Test::Equals(expected(json)),
            "not_equals" => Test::NotEquals(expected(json)),
            "in" => Test::In(list()?),
            "not_in" => Test::NotIn(list()?),
            "is_empty" => match json {
                Json::Bool(b) => Test::IsEmpty(*b),
                _ => return Err("`is_empty` must be true or false".into()),
            },
            _ => match json {
                Json::String(text) if !text.is_empty() => Test::Contains(Needle {
                    shown: text.clone(),
                    text: fold(text, ignore_case),
                    ignore_case,
                }),
                _ => return Err("`contains` must be non-empty text".into()),
            },
        })
    }

    fn holds(&self, value: Option<&Value>) -> bool {
        let value = value.unwrap_or(&Value::Null);
        match self {
            Test::Equals(expected) => expected.matches(value),
            Test::NotEquals(expected) => !expected.matches(value),
            Test::In(list) => list.iter().any(|e| e.matches(value)),
            Test::NotIn(list) => !list.iter().any(|e| e.matches(value)),
            Test::IsEmpty(empty) => value.is_empty() == *empty,
            Test::Contains(needle) => needle.found_in(value),
        }
    }

    /// `Type is "Prospect", not "Customer"` and the like.
    fn explain(&self, field: &str, value: Option<&Value>, holds: bool) -> String {
        let is = format!("{field} is {}", shown(value));
        // Whether the value is the expected one (equals, in, is_empty, contains).
        let positive = match self {
            Test::NotEquals(_) | Test::NotIn(_) => !holds,
            _ => holds,
        };
        match (self, positive) {
            (Test::Equals(_) | Test::NotEquals(_), true) => is,
            (Test::Equals(e) | Test::NotEquals(e), false) => format!("{is}, not {}", e.json),
            (Test::In(list) | Test::NotIn(list), true) => {
                format!("{is}, one of {}", shown_list(list))
            }
            (Test::In(list) | Test::NotIn(list), false) => {
                format!("{is}, not one of {}", shown_list(list))
            }
            (Test::IsEmpty(empty), _) if *empty == positive => match value {
                None => format!("{field} is missing (empty)"),
                Some(_) => format!("{field} is empty"),
            },
            (Test::IsEmpty(_), _) => format!("{is}, not empty"),
            (Test::Contains(n), true) => {
                format!("{is}, which contains {}", Json::from(n.shown.as_str()))
            }
            (Test::Contains(n), false) => {
                format!(
                    "{is}, which does not contain {}",
                    Json::from(n.shown.as_str())
                )
            }
        }
    }
}

impl Expected {
    fn new(json: &Json, ignore_case: bool) -> Expected {
        Expected {
            json: json.clone(),
            text: json.as_str().map(|t| fold(t, ignore_case)),
            ignore_case,
        }
    }

    /// Whether a field's value equals this one, type by type.
    fn matches(&self, value: &Value) -> bool {
        match (value, &self.json) {
            (Value::Null, Json::Null) => true,
            (Value::Boolean(a), Json::Bool(b)) => a == b,
            (Value::Text(text), Json::String(expected)) if !self.ignore_case => text == expected,
            (Value::Text(text), Json::String(_)) => {
                self.text.as_deref() == Some(fold(text, true).as_str())
            }
            (Value::Integer(n), Json::Number(e)) => match e.as_i64() {
                Some(e) => *n == e,
                None => e.as_f64() == Some(*n as f64),
            },
            (Value::Float(x), Json::Number(e)) => e.as_f64() == Some(*x),
            (Value::Timestamp(t), Json::Number(e)) => e.as_i64() == Some(*t),
            (Value::Json(text), e @ (Json::Array(_) | Json::Object(_))) => {
                serde_json::from_str::<Json>(text).is_ok_and(|v| v == *e)
            }
            _ => false,
        }
    }
}

impl Needle {
    fn found_in(&self, value: &Value) -> bool {
        match value {
            Value::Text(text) if !self.ignore_case => text.contains(&self.text),
            Value::Text(text) => fold(text, true).contains(&self.text),
            _ => false,
        }
    }
}

/// Text as compared: trimmed and lowercased when case is ignored, else as it is.
fn fold(text: &str, ignore_case: bool) -> String {
    if ignore_case {
        text.trim().to_lowercase()
    } else {
        text.to_owned()
    }
}

/// A field's value in a reason: JSON-like, long text cut short.
fn shown(value: Option<&Value>) -> String {
    const LONGEST: usize = 60;
    let text = match value {
        None => return "missing".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Boolean(b)) => b.to_string(),
        Some(Value::Integer(n)) => n.to_string(),
        Some(Value::Float(x)) => x.to_string(),
        Some(Value::Timestamp(t)) => format!("the timestamp {t}"),
        Some(Value::Text(t)) => Json::from(t.as_str()).to_string(),
        Some(Value::Json(j)) => j.clone(),
    };
    match text.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn shown_list(list: &[Expected]) -> String {
    let items: Vec<String> = list.iter().map(|e| e.json.to_string()).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasync_sdk::Field;

    fn parse(json: Json) -> Condition {
        Condition::parse(&json, "keep_if", false).unwrap_or(Condition::All(vec![]))
    }

    fn folded(json: Json) -> Condition {
        Condition::parse(&json, "keep_if", true).unwrap_or(Condition::All(vec![]))
    }

    fn record(fields: &[(&str, Value)]) -> Record {
        Record {
            id: "1".into(),
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

    #[test]
    fn equals_compares_by_type() {
        let cases = [
            (json!("a"), Value::from("a"), true),
            (json!("a"), Value::from("A"), false),
            (json!(1), Value::Integer(1), true),
            (json!(1), Value::Float(1.0), true),
            (json!(1.0), Value::Integer(1), true),
            (json!(1.5), Value::Float(1.5), true),
            (json!(1), Value::from("1"), false),
            (json!(true), Value::Boolean(true), true),
            (json!(true), Value::from("true"), false),
            (json!(null), Value::Null, true),
            (json!(null), Value::from(""), false),
            (json!(5), Value::Timestamp(5), true),
            (json!({"a": [1]}), Value::Json("{\"a\": [1]}".into()), true),
            (json!([1]), Value::Json("[2]".into()), false),
            (json!(u64::MAX), Value::Integer(i64::MAX), false),
        ];
        for (expected, value, equal) in cases {
            let c = parse(json!({"field": "F", "equals": expected.clone()}));
            assert_eq!(
                c.holds(&record(&[("F", value.clone())])),
                equal,
                "{expected} vs {value:?}"
            );
            let c = parse(json!({"field": "F", "not_equals": expected.clone()}));
            assert_eq!(
                c.holds(&record(&[("F", value.clone())])),
                !equal,
                "{expected} vs {value:?}"
            );
        }
    }

    #[test]
    fn a_missing_field_equals_null() {
        assert!(parse(json!({"field": "F", "equals": null})).holds(&record(&[])));
        assert!(parse(json!({"field": "F", "not_equals": "x"})).holds(&record(&[])));
    }

    #[test]
    fn ignoring_case_trims_and_folds_both_sides() {
        let c = folded(json!({"field": "F", "in": [" Customer", "Partner"]}));
        assert!(c.holds(&record(&[("F", "CUSTOMER ".into())])));
        assert!(!c.holds(&record(&[("F", "Prospect".into())])));
        let c = folded(json!({"field": "F", "contains": "ACME"}));
        assert!(c.holds(&record(&[("F", "The acme company".into())])));
        let c = parse(json!({"field": "F", "contains": "ACME"}));
        assert!(!c.holds(&record(&[("F", "The acme company".into())])));
    }

    #[test]
    fn is_empty_covers_null_blank_and_missing() {
        let empty = parse(json!({"field": "F", "is_empty": true}));
        let filled = parse(json!({"field": "F", "is_empty": false}));
        for value in [None, Some(Value::Null), Some(Value::from("  "))] {
            let r = record(&value.map(|v| vec![("F", v)]).unwrap_or_default());
            assert!(empty.holds(&r) && !filled.holds(&r));
        }
        let r = record(&[("F", Value::Integer(0))]);
        assert!(!empty.holds(&r) && filled.holds(&r));
    }

    #[test]
    fn contains_looks_only_in_text() {
        let c = parse(json!({"field": "F", "contains": "1"}));
        assert!(c.holds(&record(&[("F", "a1".into())])));
        assert!(!c.holds(&record(&[("F", Value::Integer(1))])));
    }

    #[test]
    fn groups_combine() {
        let c = parse(json!({"all": [
            {"field": "Type", "equals": "Customer"},
            {"any": [{"field": "Country", "equals": "DE"}, {"not": {"field": "Vip", "equals": false}}]}
        ]}));
        let r = |t: &str, c: &str, v: bool| {
            record(&[("Type", t.into()), ("Country", c.into()), ("Vip", v.into())])
        };
        assert!(c.holds(&r("Customer", "DE", false)));
        assert!(c.holds(&r("Customer", "FR", true)));
        assert!(!c.holds(&r("Customer", "FR", false)));
        assert!(!c.holds(&r("Prospect", "DE", true)));
    }

    #[test]
    fn explains_field_tests() {
        let r = record(&[("Type", "Prospect".into()), ("Note", "".into())]);
        let explain = |c: Json, holds: bool| parse(c).explain(&r, holds);
        assert_eq!(
            explain(json!({"field": "Type", "equals": "Customer"}), false),
            r#"Type is "Prospect", not "Customer""#
        );
        assert_eq!(
            explain(json!({"field": "Type", "not_equals": "Customer"}), true),
            r#"Type is "Prospect", not "Customer""#
        );
        assert_eq!(
            explain(json!({"field": "Type", "not_equals": "Prospect"}), false),
            r#"Type is "Prospect""#
        );
        assert_eq!(
            explain(json!({"field": "Type", "not_in": ["Prospect", 1]}), false),
            r#"Type is "Prospect", one of ["Prospect", 1]"#
        );
        assert_eq!(
            explain(json!({"field": "Note", "is_empty": true}), true),
            "Note is empty"
        );
        assert_eq!(
            explain(json!({"field": "Other", "is_empty": false}), false),
            "Other is missing (empty)"
        );
        assert_eq!(
            explain(json!({"field": "Type", "is_empty": true}), false),
            r#"Type is "Prospect", not empty"#
        );
        assert_eq!(
            explain(json!({"field": "Type", "contains": "cust"}), false),
            r#"Type is "Prospect", which does not contain "cust""#
        );
    }

    #[test]
    fn explains_groups_by_the_parts_that_decided() {
        let r = record(&[("Type", "Prospect".into()), ("Country", "DE".into())]);
        let type_is = json!({"field": "Type", "equals": "Customer"});
        let country_is = json!({"field": "Country", "equals": "DE"});
        let all = parse(json!({"all": [country_is, type_is]}));
        assert_eq!(
            all.explain(&r, false),
            r#"Type is "Prospect", not "Customer""#
        );
        let any = parse(json!({"any": [type_is, {"field": "Country", "equals": "FR"}]}));
        assert_eq!(
            any.explain(&r, false),
            r#"Type is "Prospect", not "Customer" and Country is "DE", not "FR""#
        );
        let not = parse(json!({"not": country_is}));
        assert_eq!(not.explain(&r, false), r#"Country is "DE""#);
    }

    #[test]
    fn cuts_long_values_short() {
        let long = "x".repeat(100);
        let r = record(&[("F", long.as_str().into())]);
        let reason = parse(json!({"field": "F", "equals": "y"})).explain(&r, false);
        assert!(reason.contains('…') && reason.len() < 100, "{reason}");
    }
}
