//! `wasync check` and `wasync discover` end to end: the real binary on a copy of
//! `examples/accounts` (JSON Lines connectors, first-party plugins), nothing synced.

#[path = "support/cli.rs"]
mod cli;

use serde_json::Value as Json;
use std::path::Path;
use std::process::Output;

fn run(dir: &Path, args: &[&str]) -> Output {
    cli::wasync()
        .args(args)
        .arg("--config")
        .arg(dir.join("wasync.toml"))
        .output()
        .expect("wasync runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `wasync discover --add-pipeline companies --source hubspot/companies`, then `more`.
fn add_companies(dir: &Path, more: &[&str]) -> Output {
    let mut args = vec![
        "discover",
        "--add-pipeline",
        "companies",
        "--source",
        "hubspot/companies",
    ];
    args.extend_from_slice(more);
    run(dir, &args)
}

/// Replaces `from` with `to` in the example's pipeline file.
fn edit(dir: &Path, from: &str, to: &str) {
    let file = dir.join("wasync.toml");
    let config = std::fs::read_to_string(&file).expect("read");
    assert!(config.contains(from), "the example has {from:?}");
    std::fs::write(&file, config.replacen(from, to, 1)).expect("write");
}

#[test]
fn check_passes_on_the_example_and_says_what_each_connector_offers() {
    let dir = cli::example("accounts");
    let out = run(dir.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("connector salesforce (jsonl") && stdout.contains("Account (object)"),
        "{stdout}"
    );
    assert!(stdout.contains("companies (object)"), "{stdout}");
    assert!(stdout.contains("ok: "), "{stdout}");

    let out = run(dir.path(), &["check", "--json"]);
    let doc: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["ok"], true, "{doc}");
    // Attach Record twice, extract-domain twice, merge, filter and map-values.
    assert!(doc["plugin_uses"].as_u64() >= Some(6), "{doc}");
    assert_eq!(doc["problems"], Json::Array(Vec::new()));
    assert!(
        !dir.path().join("wasync.db").exists(),
        "a check opens no store"
    );
}

#[test]
fn check_lists_every_problem_each_with_where_it_is() {
    let dir = cli::example("accounts");
    // A plugin that does not exist, a configuration its plugin refuses, a destination entity
    // its connector does not have, and a connector whose granted folder is gone.
    edit(
        dir.path(),
        r#"transforms = [{ plugin = "extract-domain" }]"#,
        r#"transforms = [{ plugin = "extract-domian" }]"#,
    );
    edit(
        dir.path(),
        r#"config = { keep_if = { field = "Type", equals = "Customer" } }"#,
        r#"config = { keep_if = { field = "Type", equals = "Customer", nope = 1 } }"#,
    );
    let config = std::fs::read_to_string(dir.path().join("wasync.toml")).expect("read");
    let last = config
        .rfind("entity = \"companies\"")
        .expect("the HubSpot destination");
    let config = format!(
        "{}entity = \"compnies\"{}",
        &config[..last],
        &config[last + "entity = \"companies\"".len()..]
    );
    std::fs::write(dir.path().join("wasync.toml"), config).expect("write");
    std::fs::remove_dir_all(dir.path().join("data/salesforce")).expect("remove");

    let out = run(dir.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        text(&out.stderr).contains("error: 4 problem(s) in"),
        "{}",
        text(&out.stderr)
    );
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("problem: "))
        .collect();
    assert_eq!(problems.len(), 4, "{stdout}");
    let has = |at: &str, what: &str| {
        assert!(
            problems.iter().any(|p| p.contains(at) && p.contains(what)),
            "no problem at {at:?} saying {what:?} in {problems:#?}"
        )
    };
    has("connectors.salesforce", "data/salesforce does not exist");
    has(
        "pipeline `accounts`, source `salesforce/Account`, field `Domain`",
        "extract-domian",
    );
    has(
        "pipeline `accounts`, destination `hubspot/compnies`",
        "connector `hubspot` has no entity `compnies` (it offers: companies)",
    );
    has(
        "pipeline `accounts`, destination `hubspot/compnies`",
        "nope",
    );

    let out = run(dir.path(), &["check", "--json"]);
    let doc: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["problems"].as_array().map(Vec::len), Some(4), "{doc}");
    assert!(!dir.path().join("wasync.db").exists());
}

#[test]
fn discover_shows_entities_and_fields_and_names_an_unknown_connector() {
    let dir = cli::example("accounts");
    let out = run(
        dir.path(),
        &["discover", "--connector", "salesforce", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    let connectors = doc["connectors"].as_array().expect("connectors");
    assert_eq!(connectors.len(), 1, "only the one asked for: {doc}");
    let account = &connectors[0]["entities"][0];
    assert_eq!(account["name"], "Account");
    assert_eq!(account["kind"], "object");
    assert_eq!(account["id_field"], "Id");
    let field = |name: &str| {
        account["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no field {name}: {account}"))
    };
    assert_eq!(field("Name")["kind"], "text");
    assert_eq!(field("SystemModstamp")["read_only"], true);

    let out = run(dir.path(), &["discover"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("connector hubspot (jsonl") && stdout.contains("    name "),
        "{stdout}"
    );

    let out = run(dir.path(), &["discover", "--connector", "zendesk"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout)
            .contains("no connector `zendesk` in the file (it has: hubspot, salesforce)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn discover_writes_a_pipeline_that_checks_and_syncs() {
    let dir = cli::example("accounts");
    let file = dir.path().join("wasync.toml");
    let before = std::fs::read_to_string(&file).expect("read");

    // A field no chosen source has: refused, the file untouched.
    let out = add_companies(dir.path(), &["--field", "Name"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--field `Name`: no chosen source has it"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), before);

    let out = add_companies(
        dir.path(),
        &[
            "--field",
            "name",
            "--field",
            "domain",
            "--unified",
            "Company",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&file).expect("read");
    assert!(
        after.starts_with(before.trim_end()),
        "appended, not rewritten"
    );
    let added = &after[before.trim_end().len()..];
    for line in [
        "[[pipeline]]",
        "name = \"companies\"",
        "entity = \"Company\"",
        "[[pipeline.source]]",
        "connector = \"hubspot\"",
        "domain = \"domain\"",
        "name = \"name\"",
    ] {
        assert!(added.contains(line), "{line} in {added}");
    }
    assert!(!added.contains("hs_lastmodifieddate ="), "{added}");

    let out = run(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = run(dir.path(), &["sync", "--pipeline", "companies", "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("read 6"),
        "{}",
        text(&out.stdout)
    );

    // The name is taken now.
    let out = add_companies(dir.path(), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("a second pipeline has this name"),
        "{}",
        text(&out.stderr)
    );
}
