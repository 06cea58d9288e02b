//! `wasync plugin test [DIR]`: builds a plugin, then runs the cases of its `smoke.json`
//! through the real host.
//!
//! `smoke.json` is `{"config": {...}, "cases": [{"input": ..., "expect": ...}]}`. What a case
//! holds depends on the plugin's world:
//!
//! | world             | input       | expect                                          |
//! |-------------------|-------------|-------------------------------------------------|
//! | `field-transform` | a value     | `{"ok": VALUE}` or `{"err": "kind: message"}`   |
//! | `entity-function` | a record    | `{"keep": RECORD}`, `{"stop": "reason"}`, `{"err": ...}` |
//! | `merge-policy`    | a record    | `{"keys": ["key", ...]}`                        |
//! | `connector`       | (ignored)   | `{"entities": ["name", ...]}` from `describe`   |
//!
//! A case without `expect` passes when the plugin answers without an error.

use super::records::{outcome_to_json, record_from_json};
use crate::out::outln;
use crate::plugin::{Function, Grants, Plugin, Policy, Runtime, System, World};
use crate::value::{describe, from_json, to_json};
use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use std::path::Path;

/// The smoke test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smoke {
    /// The configuration the plugin is made with.
    #[serde(default = "empty_object")]
    pub config: Json,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the plugin is given.
    #[serde(default)]
    pub input: Json,
    /// What it must answer.
    pub expect: Option<Json>,
}

fn empty_object() -> Json {
    json!({})
}

/// Reads `<dir>/smoke.json`.
pub fn read(dir: &Path) -> anyhow::Result<Smoke> {
    let path = dir.join("smoke.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid smoke test", path.display()))
}

/// Runs the cases; prints one line per case and a summary; fails when any case fails.
pub fn run(runtime: &Runtime, plugin: &Plugin, smoke: &Smoke) -> anyhow::Result<()> {
    let config = smoke.config.to_string();
    let answers = answers(runtime, plugin, &config, &smoke.cases)?;
    let mut failed = 0;
    for (i, (case, got)) in smoke.cases.iter().zip(&answers).enumerate() {
        let passed = match &case.expect {
            Some(expected) => got == expected,
            None => got.get("err").is_none(),
        };
        if passed {
            outln!("case {}: ok", i + 1)?;
        } else {
            failed += 1;
            let expected = case
                .expect
                .as_ref()
                .map_or_else(|| "no error".to_owned(), Json::to_string);
            outln!(
                "case {}: FAILED\n  input:    {}\n  expected: {expected}\n  got:      {got}",
                i + 1,
                case.input
            )?;
        }
    }
    outln!("{} passed, {failed} failed", smoke.cases.len() - failed)?;
    if failed > 0 {
        bail!("{failed} of {} smoke cases failed", smoke.cases.len());
    }
    Ok(())
}

/// What the plugin answers to each case, as JSON.
fn answers(
    runtime: &Runtime,
    plugin: &Plugin,
    config: &str,
    cases: &[Case],
) -> anyhow::Result<Vec<Json>> {
    let configure = || format!("cannot configure `{}` with {config}", plugin.name());
    let error = |e: &crate::wit::Error| json!({ "err": describe(e).to_string() });
    Ok(match plugin.world() {
        World::FieldTransform => {
            let mut transform = runtime
                .transformer(plugin, config)
                .with_context(configure)?;
            let values: Vec<_> = cases.iter().map(|c| from_json(c.input.clone())).collect();
            transform
                .apply_each(&values)
                .into_iter()
                .map(|r| match r {
                    Ok(value) => json!({ "ok": to_json(&value) }),
                    Err(failure) => json!({ "err": failure.to_string() }),
                })
                .collect()
        }
        World::EntityFunction => {
            let mut function: Function = runtime
                .instance(plugin, config, Grants::default())
                .with_context(configure)?;
            let records = records(cases)?;
            function
                .apply("Smoke", &records)?
                .iter()
                .map(|r| r.as_ref().map_or_else(error, outcome_to_json))
                .collect()
        }
        World::MergePolicy => {
            let mut policy: Policy = runtime
                .instance(plugin, config, Grants::default())
                .with_context(configure)?;
            let records = records(cases)?;
            policy
                .match_keys(&records)?
                .into_iter()
                .map(|keys| json!({ "keys": keys }))
                .collect()
        }
        World::Connector => {
            let mut system: System = runtime
                .instance(plugin, config, Grants::default())
                .with_context(configure)?;
            let answer = match system.describe()? {
                Ok(entities) => {
                    json!({ "entities": entities.iter().map(|e| e.name.clone()).collect::<Vec<_>>() })
                }
                Err(e) => error(&e),
            };
            cases.iter().map(|_| answer.clone()).collect()
        }
    })
}

fn records(cases: &[Case]) -> anyhow::Result<Vec<crate::wit::Record>> {
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| record_from_json(&c.input).with_context(|| format!("case {}", i + 1)))
        .collect()
}
