//! The `wasync` binary as a user runs it: `plugin call`, `plugin inspect`, `plugin list`, and
//! what `sync` shows on a terminal and in a pipe.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use wasync_test_guests::HOSTILE;

/// Runs `wasync ARGS` with `stdin`, a private compile cache, and returns its output.
fn wasync(args: &[&str], stdin: &str) -> Output {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = cli::wasync()
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
    assert_eq!(doc["wit_version"], "0.2.0");
    assert_eq!(
        doc["exports"],
        serde_json::json!(["wasync:plugin/transform@0.2.0"])
    );
    assert!(
        doc["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:") && d.len() == 71)
    );
    assert!(
        doc["imports"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i == "wasync:plugin/types@0.2.0"))
    );

    let out = wasync(&["plugin", "inspect", HOSTILE], "");
    let text = stdout(&out);
    assert!(
        text.contains("world:    wasync:plugin/field-transform"),
        "{text}"
    );
    assert!(text.contains("  wasync:plugin/log@0.2.0"), "{text}");
}

#[test]
fn errors_say_what_and_where_and_exit_non_zero() {
    let out = wasync(&["plugin", "call", "no-such-plugin"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("error: no plugin `no-such-plugin`: not a file, and not a first-party plugin (those are: attach-record, extract-domain, filter, hubspot, jsonl, map-values, merge, rest, salesforce, webhook)"),
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
        "attach-record\nextract-domain\nfilter\nhubspot\njsonl\nmap-values\nmerge\nrest\nsalesforce\nwebhook\n"
    );
}

/// A copy of `examples/accounts` whose batches are small enough to take several cycles.
fn small_batch_example() -> tempfile::TempDir {
    let dir = cli::example("accounts");
    let config = std::fs::read_to_string(dir.path().join("wasync.toml")).expect("example config");
    assert!(
        config.contains("batch_size = 500"),
        "the example's batch size moved"
    );
    std::fs::write(
        dir.path().join("wasync.toml"),
        config.replace("batch_size = 500", "batch_size = 3"),
    )
    .expect("write config");
    dir
}

#[test]
fn sync_on_a_terminal_redraws_one_progress_line_then_sums_up() {
    let example = small_batch_example();
    let cache = tempfile::tempdir().expect("tempdir");
    let command = format!(
        "{} sync --config {}",
        env!("CARGO_BIN_EXE_wasync"),
        example.path().join("wasync.toml").display()
    );
    // `script` runs the command on a real pseudo-terminal (util-linux).
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("WASYNC_CACHE_DIR", cache.path())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let redraws = text.matches("\r\x1b[2K`accounts`: cycle ").count();
    assert!(redraws >= 3, "expected a redrawn line per cycle:\n{text}");
    assert!(
        !text.contains("cycle 1 of `accounts`"),
        "per-cycle lines on a terminal:\n{text}"
    );
    let summary = text
        .lines()
        .find(|l| l.starts_with(&format!("`accounts`: {redraws} cycle(s) in ")))
        .unwrap_or_else(|| panic!("no final summary:\n{text}"));
    // The same totals as the same run in a pipe, which prints every cycle's counts.
    let (piped, sums) = piped_sync();
    assert_eq!(counts(summary), sums, "{text}\n---\n{piped}");
    assert!(text.contains("time per stage: "), "{text}");
}

/// `wasync sync` on a fresh small-batch example with stdout and stderr piped: its stdout, and
/// the per-cycle lines' counts summed.
fn piped_sync() -> (String, BTreeMap<String, u64>) {
    let example = small_batch_example();
    let cache = tempfile::tempdir().expect("tempdir");
    let out = cli::wasync()
        .args(["sync", "--config"])
        .arg(example.path().join("wasync.toml"))
        .env("WASYNC_CACHE_DIR", cache.path())
        .output()
        .expect("wasync runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut sums = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("cycle ")) {
        for (name, n) in counts(line) {
            *sums.entry(name).or_default() += n;
        }
    }
    (text, sums)
}

/// The `name N` counts of a summary line, from `read` on.
fn counts(line: &str) -> BTreeMap<String, u64> {
    let from = line.find("read ").expect("counts in the line");
    let to = line[from..].find(" (").map_or(line.len(), |i| from + i);
    line[from..to]
        .split(", ")
        .filter_map(|part| {
            let (name, n) = part.split_once(' ')?;
            Some((name.to_owned(), n.parse().ok()?))
        })
        .collect()
}

#[test]
fn sync_piped_keeps_a_line_per_cycle_and_adds_the_total() {
    let (text, sums) = piped_sync();
    assert!(!text.contains('\r'), "a progress line in a pipe:\n{text}");
    let cycles = text.lines().filter(|l| l.starts_with("cycle ")).count();
    assert!(cycles >= 3, "{text}");
    let total = text
        .lines()
        .find(|l| l.starts_with(&format!("`accounts`: {cycles} cycle(s) in ")))
        .unwrap_or_else(|| panic!("no total:\n{text}"));
    assert_eq!(counts(total), sums, "{text}");
    assert!(sums["read"] > 0 && sums["written"] > 0, "{text}");
}

// --- rough edges -------------------------------------------------------------------------

/// A pipeline of `n` people from one JSON Lines file into another, plus one line that is not
/// JSON (quarantined): a store whose log has several entries per person once synced.
fn people(n: usize, functions: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("in")).expect("mkdir");
    std::fs::create_dir_all(d.join("out")).expect("mkdir");
    let mut input: String = (0..n)
        .map(|i| {
            format!(
                "{{\"id\": \"{i}\", \"at\": \"2024-01-01T00:00:00Z\", \"name\": \"Person {i}\", \"email\": \"p{i}@example.com\"}}\n"
            )
        })
        .collect();
    input.push_str("{not json\n");
    std::fs::write(d.join("in/people.jsonl"), input).expect("write input");
    std::fs::write(
        d.join("wasync.toml"),
        format!(
            r#"
[connectors.in]
plugin = "jsonl"
dirs = [{{ host = "in", guest = "/data" }}]
settings.entities.Person = {{ file = "people.jsonl", id_field = "id", watermark_field = "at" }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.Person = {{ file = "people.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }}

[[pipeline]]
name = "people"
entity = "Person"
batch_size = 10000

[[pipeline.source]]
connector = "in"
entity = "Person"
functions = [{functions}]
fields = {{ name = "name", email = "email" }}

[[pipeline.destination]]
connector = "out"
entity = "Person"
external_id_field = "wasync_id"
fields = {{ name = "name", email = "email" }}
"#
        ),
    )
    .expect("write the pipeline file");
    dir
}

fn config_of(dir: &tempfile::TempDir) -> String {
    dir.path().join("wasync.toml").display().to_string()
}

/// `people(n)` synced.
fn synced_people(n: usize) -> tempfile::TempDir {
    let dir = people(n, "");
    let out = wasync(&["sync", "--config", &config_of(&dir)], "");
    assert!(out.status.success(), "{}", stderr(&out));
    dir
}

/// Runs `wasync ARGS` with stdout a pipe that is closed after `read` lines, as `| head`
/// does; `stdin` is written meanwhile.
fn closed_early(args: &[&str], stdin: &str, read: usize) -> Output {
    use std::io::BufRead;
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = cli::wasync()
        .args(args)
        .env("WASYNC_CACHE_DIR", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wasync runs");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_owned();
    // The command may stop reading once its stdout is gone: a write that fails is fine.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..read {
        let mut line = String::new();
        out.read_line(&mut line).expect("a line");
        assert!(
            !line.is_empty(),
            "wasync {args:?} printed fewer than {read} lines"
        );
    }
    drop(out);
    let output = child.wait_with_output().expect("wasync finishes");
    let _ = writer.join();
    output
}

#[test]
fn every_command_ends_quietly_when_its_reader_closes_the_pipe() {
    let store = synced_people(2000);
    let config = config_of(&store);
    let values: String = (0..5000)
        .map(|i| format!("\"https://www.site{i}.example.com/\"\n"))
        .collect();
    // (arguments, stdin, lines read before the pipe is closed): the log is far more than a
    // pipe holds (64 KiB), so it is still writing when `head` goes.
    let cases: Vec<(Vec<&str>, &str, usize)> = vec![
        (
            vec!["log", "--config", &config, "--limit", "100000"],
            "",
            10,
        ),
        (
            vec!["log", "--config", &config, "--limit", "100000", "--json"],
            "",
            1,
        ),
        (vec!["status", "--config", &config], "", 0),
        (vec!["status", "--config", &config, "--json"], "", 1),
        (vec!["quarantine", "list", "--config", &config], "", 0),
        (vec!["plugin", "list"], "", 0),
        (vec!["plugin", "inspect", "extract-domain"], "", 1),
        (vec!["plugin", "call", "extract-domain"], &values, 1),
        (vec!["sync", "--config", &config], "", 0),
        (vec!["package", "list", "--config", &config], "", 0),
    ];
    for (args, stdin, read) in cases {
        let out = closed_early(&args, stdin, read);
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe") && err.is_empty(),
            "wasync {args:?} on a closed pipe said:\n{err}"
        );
        assert_eq!(out.status.code(), Some(0), "wasync {args:?}:\n{err}");
    }
}

/// The sequence numbers of `wasync log` lines (`#SEQ cycle ...`).
fn text_seqs(text: &str) -> Vec<i64> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .next()
                .and_then(|w| w.strip_prefix('#'))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a log line: {l}"))
        })
        .collect()
}

#[test]
fn log_prints_newest_first_in_text_and_json_alike_as_its_help_says() {
    let store = synced_people(20);
    let config = config_of(&store);
    let all = wasync(&["log", "--config", &config, "--limit", "100000"], "");
    assert!(all.status.success(), "{}", stderr(&all));
    let all = text_seqs(&stdout(&all));
    let newest = *all.iter().max().expect("entries");
    assert!(all.len() > 20, "{all:?}");

    let text = wasync(&["log", "--config", &config, "--limit", "5"], "");
    let json = wasync(&["log", "--config", &config, "--limit", "5", "--json"], "");
    let text = text_seqs(&stdout(&text));
    let json: Vec<i64> = stdout(&json)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["seq"]
                .as_i64()
                .expect("seq")
        })
        .collect();
    assert_eq!(text, json, "text and JSON in the same order");
    // A record's change is one position with a line per field: positions repeat.
    assert_eq!(text.len(), 5, "{text:?}");
    assert_eq!(text[0], newest, "the newest first: {text:?}");
    assert!(
        text.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {text:?}"
    );
    assert_eq!(&all[..5], &text[..], "the whole log starts the same way");

    let help = stdout(&wasync(&["log", "--help"], ""));
    assert!(help.contains("newest first"), "{help}");
    assert!(!help.contains("newest last"), "{help}");
}

#[test]
fn a_rust_plugin_made_inside_the_checkout_reaches_the_sdk_relatively() {
    let root = tempfile::tempdir().expect("tempdir");
    let checkout = root.path().join("wasync");
    let sdk = checkout.join("sdk");
    std::fs::create_dir_all(&sdk).expect("mkdir");
    std::fs::write(sdk.join("Cargo.toml"), "[package]\nname = \"wasync-sdk\"\n").expect("write");
    let new = |cwd: &std::path::Path, name: &str| {
        let out = cli::wasync()
            .args(["plugin", "new", "--lang", "rust", name])
            .current_dir(cwd)
            .env("WASYNC_SDK_DIR", &sdk)
            .output()
            .expect("wasync runs");
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let sdk_line = |cargo: &std::path::Path| {
        std::fs::read_to_string(cargo)
            .expect("Cargo.toml")
            .lines()
            .find(|l| l.starts_with("wasync-sdk"))
            .expect("the SDK dependency")
            .to_owned()
    };

    // Inside the checkout, named relatively to where the command runs.
    new(&checkout, "plugins/my-tag");
    let cargo = checkout.join("plugins/my-tag/Cargo.toml");
    assert_eq!(sdk_line(&cargo), r#"wasync-sdk = { path = "../../sdk" }"#);

    // The checkout moves, plugin and all: the path still leads to the SDK.
    let moved = root.path().join("elsewhere");
    std::fs::rename(&checkout, &moved).expect("move the checkout");
    assert!(
        moved.join("plugins/my-tag/../../sdk/Cargo.toml").is_file(),
        "the SDK is where the plugin says"
    );
    std::fs::rename(&moved, &checkout).expect("move it back");

    // Outside the checkout: no relative path survives a move, so the absolute one.
    let outside = tempfile::tempdir().expect("tempdir");
    new(outside.path(), "my-tag");
    let line = sdk_line(&outside.path().join("my-tag/Cargo.toml"));
    assert_eq!(
        line,
        format!("wasync-sdk = {{ path = \"{}\" }}", sdk.display())
    );
}

#[test]
fn a_piped_sync_prints_its_totals_after_a_single_cycle_too() {
    let store = people(3, "");
    let out = wasync(&["sync", "--config", &config_of(&store)], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("cycle ")).count(),
        1,
        "one cycle caught up:\n{text}"
    );
    let total = text
        .lines()
        .find(|l| l.starts_with("`people`: 1 cycle(s) in "))
        .unwrap_or_else(|| panic!("no totals:\n{text}"));
    assert!(total.contains("read 4, created 3"), "{total}");
    assert!(text.contains("time per stage: "), "{text}");
}

#[test]
fn a_plugin_in_the_wrong_place_is_an_entity_function_with_its_article() {
    let store = people(1, r#"{ plugin = "extract-domain" }"#);
    let out = wasync(&["sync", "--config", &config_of(&store), "--once"], "");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "plugin `extract-domain` is a field-transform plugin, but is used here as an entity-function"
        ),
        "{err}"
    );
}

/// Every `caused by:` line says something the lines above it do not.
fn each_cause_once(err: &str) {
    let lines: Vec<&str> = err.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(cause) = line.trim_start().strip_prefix("caused by: ") {
            assert!(
                !lines[..i].iter().any(|above| above.contains(cause)),
                "`{cause}` is said twice:\n{err}"
            );
        }
    }
}

#[test]
fn errors_say_each_cause_once() {
    let store = people(1, "");
    let d = store.path();
    let config = config_of(&store);
    let missing = d.join("missing.toml").display().to_string();
    let not_a_store = d.join("bad.toml");
    std::fs::write(
        &not_a_store,
        std::fs::read_to_string(d.join("wasync.toml"))
            .expect("read")
            .replace("[connectors.in]", "store = \"bad.db\"\n\n[connectors.in]"),
    )
    .expect("write");
    std::fs::write(d.join("bad.db"), vec![b'x'; 4096]).expect("write");
    std::fs::create_dir(d.join("wasync.lock")).expect("a lock file that is a folder");
    let missing_plugin = d.join("missing.wasm").display().to_string();
    // (arguments, what the error says once)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["status", "--config", &missing], "No such file"),
        (vec!["sync", "--config", &missing], "No such file"),
        (
            vec!["status", "--config", not_a_store.to_str().expect("utf-8")],
            "not a database",
        ),
        (vec!["plugin", "call", &missing_plugin], "No such file"),
        (vec!["plugin", "inspect", &missing_plugin], "No such file"),
        (
            vec!["package", "list", "--config", &config],
            "Is a directory",
        ),
    ];
    for (args, says) in cases {
        let out = wasync(&args, "");
        assert!(!out.status.success(), "wasync {args:?} succeeded");
        let err = stderr(&out);
        assert_eq!(err.matches(says).count(), 1, "wasync {args:?}:\n{err}");
        each_cause_once(&err);
    }
}
