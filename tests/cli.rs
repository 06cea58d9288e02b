//! The `wasync` binary as a user runs it: `plugin call`, `plugin inspect`, `plugin list`.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use wasync_test_guests::HOSTILE;

/// Runs `wasync ARGS` with `stdin`, a private compile cache, and returns its output.
fn wasync(args: &[&str], stdin: &str) -> Output {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(args)
        .env("WASYNC_CACHE_DIR", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wasync runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wasync finishes")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

#[test]
fn the_readme_example_prints_the_registrable_domain() {
    let out = wasync(
        &["plugin", "call", "extract-domain"],
        "\"https://WWW.Example.co.uk/a\"\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\"ok\":\"example.co.uk\"}\n");
}

#[test]
fn call_answers_every_line_in_order_bad_lines_included() {
    let input =
        "\"jane@Mail.Example.com\"\n{oops\n\"co.uk\"\n42\n\"https://a.b.example.org:8080/x\"\n";
    let out = wasync(
        &["plugin", "call", "extract-domain", "--batch-size", "2"],
        input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], r#"{"ok":"example.com"}"#);
    assert!(
        lines[1].starts_with(r#"{"err":"line 2: not a JSON value:"#),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], r#"{"ok":null}"#);
    assert_eq!(lines[3], r#"{"ok":null}"#);
    assert_eq!(lines[4], r#"{"ok":"example.org"}"#);
}

#[test]
fn call_passes_configuration_to_the_plugin() {
    let config = r#"{"map": {"Prospect": "Prospect", "Partner": "Partner"}, "default": "Other"}"#;
    let out = wasync(
        &["plugin", "call", "map-values", "--config", config],
        "\"Partner\"\n\"Customer\"\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\"ok\":\"Partner\"}\n{\"ok\":\"Other\"}\n");
}

#[test]
fn a_plugin_that_hangs_fails_its_value_only_and_the_rest_go_on() {
    let out = wasync(
        &["plugin", "call", HOSTILE, "--deadline-ms", "200"],
        "\"before\"\n\"loop\"\n\"after\"\n\"fail:no thanks\"\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"{"ok":"before"}"#);
    assert_eq!(
        lines[1],
        r#"{"err":"plugin `hostile`: `transform.apply` ran past its deadline of 200 ms and was stopped"}"#
    );
    assert_eq!(lines[2], r#"{"ok":"after"}"#);
    assert_eq!(lines[3], r#"{"err":"invalid input: no thanks"}"#);
}

#[test]
fn inspect_shows_world_version_exports_and_imports() {
    let out = wasync(&["plugin", "inspect", "extract-domain", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["world"], "field-transform");
    assert_eq!(doc["wit_version"], "0.1.0");
    assert_eq!(
        doc["exports"],
        serde_json::json!(["wasync:plugin/transform@0.1.0"])
    );
    assert!(
        doc["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:") && d.len() == 71)
    );
    assert!(
        doc["imports"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i == "wasync:plugin/types@0.1.0"))
    );

    let out = wasync(&["plugin", "inspect", HOSTILE], "");
    let text = stdout(&out);
    assert!(
        text.contains("world:    wasync:plugin/field-transform"),
        "{text}"
    );
    assert!(text.contains("  wasync:plugin/log@0.1.0"), "{text}");
}

#[test]
fn errors_say_what_and_where_and_exit_non_zero() {
    let out = wasync(&["plugin", "call", "no-such-plugin"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("error: no plugin `no-such-plugin`: not a file, and not a first-party plugin (those are: attach-record, extract-domain, filter, hubspot, jsonl, map-values, merge, salesforce, webhook)"),
        "{}",
        stderr(&out)
    );

    let out = wasync(&["plugin", "call", "map-values", "--config", "{}"], "");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot configure `map-values` with {}"),
        "{err}"
    );
    assert!(err.contains("invalid config: missing field `map`"), "{err}");
}

#[test]
fn list_names_the_first_party_plugins() {
    let out = wasync(&["plugin", "list"], "");
    assert_eq!(
        stdout(&out),
        "attach-record\nextract-domain\nfilter\nhubspot\njsonl\nmap-values\nmerge\nsalesforce\nwebhook\n"
    );
}
