//! The first-party field transforms' behaviour, through their compiled components.

#[allow(dead_code)] // the filter's cases are for tests/languages.rs
#[path = "languages_support/cases.rs"]
mod cases;

use cases::{extract_domain_cases, hostile_inputs, text};
use wasync::Value;
use wasync::plugin::{Cache, Limits, Runtime, RuntimeOptions, Transformer};

fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::off(),
    })
    .expect("runtime")
}

fn transformer(runtime: &Runtime, name: &str, config: &str) -> Transformer {
    let plugin = runtime.load(name).expect("first-party plugin");
    runtime.transformer(&plugin, config).expect("configures")
}

#[test]
fn extract_domain_passes_the_public_suffix_lists_tests_and_ours() {
    let cases = extract_domain_cases();
    assert!(cases.len() > 190, "the table has {} cases", cases.len());
    let runtime = runtime();
    let mut transform = transformer(&runtime, "extract-domain", "{}");
    let inputs: Vec<Value> = cases.iter().map(|(_, input, _)| text(input)).collect();
    let results = transform
        .apply(&inputs)
        .expect("one call for the whole table");
    let failures: Vec<String> = cases
        .iter()
        .zip(&results)
        .filter(|((_, _, expected), got)| got.as_ref() != Ok(expected))
        .map(|((line, input, expected), got)| {
            format!("line {line}: {input:?} -> {got:?}, expected {expected:?}")
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn extract_domain_in_wasm_agrees_with_the_same_code_run_natively() {
    let runtime = runtime();
    let mut transform = transformer(&runtime, "extract-domain", "{}");
    for (line, input, _) in extract_domain_cases() {
        let native = extract_domain::registrable_domain(&input).map_or(Value::Null, Value::Text);
        let wasm = transform
            .apply(&[text(&input)])
            .expect("call")
            .pop()
            .expect("one result");
        assert_eq!(wasm, Ok(native), "line {line}: {input:?}");
    }
}

#[test]
fn extract_domain_never_traps_on_hostile_input() {
    let runtime = runtime();
    let mut transform = transformer(&runtime, "extract-domain", "{}");
    let inputs = hostile_inputs();
    let results = transform.apply(&inputs).expect("no trap");
    assert_eq!(results.len(), inputs.len());
    assert!(
        results.iter().all(Result::is_ok),
        "never an error either: unusable input is null"
    );
    assert_eq!(
        results[..4],
        [
            Ok(Value::Null),
            Ok(Value::Null),
            Ok(Value::Null),
            Ok(Value::Null)
        ]
    );
}

#[test]
fn extract_domain_refuses_settings_it_does_not_have() {
    let runtime = runtime();
    let plugin = runtime.load("extract-domain").expect("built in");
    let error = runtime
        .transformer(&plugin, r#"{"strip": true}"#)
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .ends_with("invalid config: extract-domain takes no settings, but was given `strip`"),
        "{error}"
    );
}

const COMPANY_TYPE: &str =
    r#"{"map": {"Prospect": "Prospect", "Partner": "Partner"}, "default": "Other"}"#;

#[test]
fn map_values_makes_company_type_other_unless_prospect_or_partner() {
    let runtime = runtime();
    let mut transform = transformer(&runtime, "map-values", COMPANY_TYPE);
    let results = transform
        .apply(&[
            text("Prospect"),
            text("Partner"),
            text("Customer"),
            text("prospect"),
            Value::Null,
            Value::Integer(3),
        ])
        .expect("call");
    let expected = ["Prospect", "Partner", "Other", "Other", "Other", "Other"].map(|s| Ok(text(s)));
    assert_eq!(results, expected);
}

#[test]
fn map_values_without_default_passes_unknown_values_through() {
    let runtime = runtime();
    let config = r#"{"map": {"1": "one", "true": "yes", "x": {"nested": [1]}, "n": null}, "ignore_case": true}"#;
    let mut transform = transformer(&runtime, "map-values", config);
    let results = transform
        .apply(&[
            Value::Integer(1),
            Value::Boolean(true),
            text("  X "),
            text("N"),
            text("other"),
            Value::Null,
        ])
        .expect("call");
    assert_eq!(
        results,
        [
            Ok(text("one")),
            Ok(text("yes")),
            Ok(Value::Json(r#"{"nested":[1]}"#.into())),
            Ok(Value::Null),
            Ok(text("other")),
            Ok(Value::Null),
        ]
    );
}

#[test]
fn map_values_says_what_is_wrong_with_its_configuration() {
    let runtime = runtime();
    let plugin = runtime.load("map-values").expect("built in");
    for (config, says) in [
        ("{}", "missing field `map`"),
        (r#"{"map": {}, "defualt": "x"}"#, "unknown field `defualt`"),
        (r#"{"map": []}"#, "invalid type: sequence, expected a map"),
    ] {
        let error = runtime.transformer(&plugin, config).err().expect("refused");
        let message = error.to_string();
        assert!(
            message.contains("`transform.create` failed: invalid config:")
                && message.contains(says),
            "{config}: {message}"
        );
    }
}
