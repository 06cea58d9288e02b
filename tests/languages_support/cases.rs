//! The behaviour tests' data, shared with the Rust plugins' tests: the extract-domain table,
//! hostile inputs, and the filter's cases and refused configurations.

use serde_json::{Value as Json, json};
use wasync::{Field, Record, Value};

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// `tests/data/extract_domain_cases.txt`: the Public Suffix List's own test cases and
/// wasync's, as (line number, input, expected).
pub fn extract_domain_cases() -> Vec<(usize, String, Value)> {
    include_str!("../data/extract_domain_cases.txt")
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(i, line)| {
            let (input, expected) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("line {}: no TAB in {line:?}", i + 1));
            let expected = match expected {
                "null" => Value::Null,
                domain => text(domain),
            };
            (i + 1, input.to_owned(), expected)
        })
        .collect()
}

/// The hostile inputs of `tests/transforms.rs`.
pub fn hostile_inputs() -> Vec<Value> {
    let mut inputs = vec![
        Value::Null,
        Value::Integer(42),
        Value::Boolean(true),
        Value::Json("{\"url\": \"https://example.com\"}".into()),
        text(&"a.".repeat(100_000)),
        text(&format!("https://{}.com", "x".repeat(70))),
        text("\u{0}\u{1}\u{7f}"),
        text("@@@"),
        text("https://[::1]:80/"),
        text("xn--.com"),
        text("😀.com"),
    ];
    inputs.extend(
        (0..2000).map(|i| text(&char::from_u32(i).map_or(String::new(), |c| format!("a{c}b.com")))),
    );
    inputs
}

pub fn record(fields: &[(&str, Value)]) -> Record {
    Record {
        id: "001".into(),
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

/// The filter cases of `plugins/filter` (its unit tests), as (config, records).
pub fn filter_cases() -> Vec<(Json, Vec<Record>)> {
    let account = |kind: Value| record(&[("Name", text("Acme")), ("Type", kind)]);
    let mut tombstone = account(Value::Null);
    tombstone.fields.clear();
    tombstone.deleted = true;
    let typed = [
        Value::Null,
        text("a"),
        text("A"),
        text("1"),
        text("true"),
        text(""),
        text("  "),
        text(&"x".repeat(100)),
        text("The acme company"),
        Value::Integer(1),
        Value::Integer(i64::MAX),
        Value::Float(1.0),
        Value::Float(1.5),
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Timestamp(5),
        Value::Json("{\"a\": [1]}".into()),
        Value::Json("[2]".into()),
    ];
    let every_type: Vec<Record> = typed
        .iter()
        .map(|v| record(&[("F", v.clone())]))
        .chain([record(&[])])
        .collect();
    let mut cases = vec![
        (
            json!({"keep_if": {"field": "Type", "equals": "Customer"}}),
            vec![
                account(text("Customer")),
                account(text("Prospect")),
                tombstone.clone(),
            ],
        ),
        (
            json!({"stop_if": {"field": "Type", "in": ["Prospect", "Other"]}}),
            vec![account(text("Prospect")), account(text("Customer"))],
        ),
        (
            json!({"keep_if": {"field": "Type", "equals": "customer"}, "ignore_case": true}),
            vec![account(text(" CUSTOMER ")), account(text("Prospect"))],
        ),
        (
            json!({"keep_if": {"field": "Type", "equals": "customer"}}),
            vec![account(text("Customer"))],
        ),
        (
            json!({"stop_if": {"field": "Region", "equals": null}}),
            vec![account(text("Customer"))],
        ),
        (
            json!({"keep_if": {"field": "F", "in": [" Customer", "Partner"]}, "ignore_case": true}),
            vec![
                record(&[("F", text("CUSTOMER "))]),
                record(&[("F", text("Prospect"))]),
            ],
        ),
        (
            json!({"keep_if": {"all": [
                {"field": "Type", "equals": "Customer"},
                {"any": [{"field": "Country", "equals": "DE"}, {"not": {"field": "Vip", "equals": false}}]}
            ]}}),
            [
                ("Customer", "DE", false),
                ("Customer", "FR", true),
                ("Customer", "FR", false),
                ("Prospect", "DE", true),
            ]
            .iter()
            .map(|(t, c, v)| {
                record(&[
                    ("Type", text(t)),
                    ("Country", text(c)),
                    ("Vip", Value::Boolean(*v)),
                ])
            })
            .collect(),
        ),
        (
            json!({"keep_if": {"all": [{"field": "Country", "equals": "DE"}, {"field": "Type", "equals": "Customer"}]}}),
            vec![record(&[
                ("Type", text("Prospect")),
                ("Country", text("DE")),
            ])],
        ),
        (
            json!({"keep_if": {"any": [{"field": "Type", "equals": "Customer"}, {"field": "Country", "equals": "FR"}]}}),
            vec![record(&[
                ("Type", text("Prospect")),
                ("Country", text("DE")),
            ])],
        ),
        (
            json!({"stop_if": {"not": {"field": "Country", "equals": "DE"}}}),
            vec![
                record(&[("Type", text("Prospect")), ("Country", text("DE"))]),
                record(&[("Country", text("FR"))]),
            ],
        ),
    ];
    for expected in [
        json!("a"),
        json!(1),
        json!(1.0),
        json!(1.5),
        json!(true),
        json!(null),
        json!(5),
        json!({"a": [1]}),
        json!([1]),
        json!(u64::MAX),
        json!(["a", 1]),
    ] {
        for test in ["equals", "not_equals", "in", "not_in"] {
            let value = if test.ends_with("in") {
                json!([expected.clone()])
            } else {
                expected.clone()
            };
            cases.push((
                json!({"keep_if": {"field": "F", test: value}}),
                every_type.clone(),
            ));
        }
    }
    for test in [
        json!({"is_empty": true}),
        json!({"is_empty": false}),
        json!({"contains": "a"}),
        json!({"contains": "ACME"}),
        json!({"contains": "1"}),
    ] {
        let mut condition = test.as_object().expect("object").clone();
        condition.insert("field".into(), json!("F"));
        cases.push((json!({"keep_if": condition.clone()}), every_type.clone()));
        cases.push((
            json!({"stop_if": condition.clone(), "ignore_case": true}),
            every_type.clone(),
        ));
    }
    cases
}

/// `plugins/filter/refused.txt`: the configurations the filter refuses, each with a part of
/// its message.
pub fn refused() -> Vec<(&'static str, &'static str)> {
    include_str!("../../plugins/filter/refused.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.split_once('\t')
                .unwrap_or_else(|| panic!("refused.txt: no TAB in {line:?}"))
        })
        .collect()
}
