//! Plugins in Python and JavaScript beside Rust: their twins of `extract-domain` and
//! `filter` pass the same behaviour tests as the Rust plugins (same inputs, same outputs), a
//! Python plugin runs in a pipeline, an exception's message reaches the user, big components
//! load through the compile cache, and `plugin new` → `build` → `test`/`call` works for
//! every language through the real binary.
//!
//! The twins are built once per run and cached across runs (see `languages_support`). Needs
//! componentize-py (`pip install -r sdk/python/requirements.txt`) and Node.js with
//! `npm ci --prefix sdk/js`; without them the tests fail saying so.

#[path = "support/cli.rs"]
mod cli;
mod languages_support;

use languages_support::cases::{
    extract_domain_cases, filter_cases, hostile_inputs, record, refused, text,
};

use languages_support::{
    JS_EXTRACT_DOMAIN, JS_FILTER, JS_SUFFIX, JS_THROWS, PY_EXTRACT_DOMAIN, PY_FILTER, PY_RAISES,
    PY_SUFFIX, Twin, cache_root, component, repo,
};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasync::plugin::bindings::entity_function::exports::wasync::plugin::entity::Outcome;
use wasync::plugin::{Cache, Function, Grants, Limits, Origin, Plugin, Runtime, RuntimeOptions};
use wasync::{PluginErrorValue, Record, Value};

/// A runtime whose compile cache is shared by the whole run (and the next one), so each big
/// component is compiled once.
fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::at(cache_root().join("compiled")),
    })
    .expect("runtime")
}

fn load(runtime: &Runtime, twin: Twin) -> Plugin {
    let path = component(twin);
    runtime
        .load_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// --- the SDKs' batch codecs ------------------------------------------------------------------

/// Every kind of value crosses a Python or JavaScript transform and back through the host's
/// batch layout: text (with what UTF-8 makes longer than its characters) gets the suffix,
/// the rest comes back as it went in.
fn every_kind_of_value_crosses_the_sdk(twin: Twin) {
    let runtime = runtime();
    let mut suffix = runtime
        .transformer(&load(&runtime, twin), r#"{"suffix": "-x"}"#)
        .expect("configures");
    let values = [
        text("acme.com"),
        text(""),
        text("Zürich ✓ 東京 🦀"),
        Value::Null,
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Integer(i64::MIN),
        Value::Integer(7),
        Value::Float(-2.5),
        Value::Timestamp(1_700_000_000_123_456),
        Value::Json(r#"{"a":[1,2]}"#.into()),
    ];
    let results = suffix.apply(&values).expect("the call succeeds");
    let expected: Vec<Result<Value, PluginErrorValue>> = values
        .iter()
        .map(|v| match v {
            Value::Text(t) => Ok(text(&format!("{t}-x"))),
            other => Ok(other.clone()),
        })
        .collect();
    assert_eq!(results, expected, "{}", twin.name);
}

#[test]
fn every_kind_of_value_crosses_the_python_sdk() {
    every_kind_of_value_crosses_the_sdk(PY_SUFFIX);
}

#[test]
fn every_kind_of_value_crosses_the_js_sdk() {
    every_kind_of_value_crosses_the_sdk(JS_SUFFIX);
}

// --- extract-domain ------------------------------------------------------------------------

fn extract_domain_twin_agrees_with_rust(twin: Twin) {
    let runtime = runtime();
    let mut rust = runtime
        .transformer(&runtime.load("extract-domain").expect("built in"), "{}")
        .expect("configures");
    let mut other = runtime
        .transformer(&load(&runtime, twin), "{}")
        .expect("configures");

    let cases = extract_domain_cases();
    assert!(cases.len() > 190);
    let inputs: Vec<Value> = cases.iter().map(|(_, input, _)| text(input)).collect();
    let got = other.apply(&inputs).expect("one call for the whole table");
    let failures: Vec<String> = cases
        .iter()
        .zip(&got)
        .filter(|((_, _, expected), got)| got.as_ref() != Ok(expected))
        .map(|((line, input, expected), got)| {
            format!("line {line}: {input:?} -> {got:?}, expected {expected:?}")
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{}: {} cases fail:\n{}",
        twin.name,
        failures.len(),
        failures.join("\n")
    );

    let inputs = hostile_inputs();
    let ours = rust.apply(&inputs).expect("rust");
    // In chunks: the JavaScript twin spends milliseconds per non-ASCII value (UTS #46 in
    // interpreted JavaScript), and one call of all 2,011 can pass the 10 s deadline on a busy
    // machine. What is compared is the answers, value by value.
    let theirs: Vec<_> = inputs
        .chunks(250)
        .flat_map(|chunk| other.apply(chunk).expect("no trap on hostile input"))
        .collect();
    let differ: Vec<String> = inputs
        .iter()
        .zip(ours.iter().zip(&theirs))
        .filter(|(_, (a, b))| a != b)
        .take(10)
        .map(|(input, (a, b))| format!("{:.60?}: rust {a:?}, {} {b:?}", input, twin.name))
        .collect();
    assert!(
        differ.is_empty(),
        "hostile inputs differ:\n{}",
        differ.join("\n")
    );

    let refused = runtime
        .transformer(&load(&runtime, twin), r#"{"strip": true}"#)
        .err()
        .expect("refused");
    assert!(
        refused
            .to_string()
            .ends_with("invalid config: extract-domain takes no settings, but was given `strip`"),
        "{refused}"
    );
}

#[test]
fn python_extract_domain_gives_the_rust_answers() {
    extract_domain_twin_agrees_with_rust(PY_EXTRACT_DOMAIN);
}

#[test]
fn js_extract_domain_gives_the_rust_answers() {
    extract_domain_twin_agrees_with_rust(JS_EXTRACT_DOMAIN);
}

// --- filter --------------------------------------------------------------------------------

fn outcomes(
    runtime: &Runtime,
    plugin: &Plugin,
    config: &Json,
    records: &[Record],
) -> Vec<Result<Outcome, PluginErrorValue>> {
    let mut function: Function = runtime
        .instance(plugin, &config.to_string(), Grants::default())
        .unwrap_or_else(|e| panic!("{}: {config}: {e}", plugin.name()));
    function.apply("Account", records).expect("apply")
}

fn filter_twin_agrees_with_rust(twin: Twin) {
    let runtime = runtime();
    let rust = runtime.load("filter").expect("built in");
    let other = load(&runtime, twin);

    // A few answers stated outright, so that agreeing with Rust is agreeing with these.
    let stated = outcomes(
        &runtime,
        &other,
        &json!({"keep_if": {"field": "Type", "equals": "Customer"}}),
        &[
            record(&[("Type", text("Prospect"))]),
            record(&[("Type", text("Customer"))]),
        ],
    );
    assert_eq!(
        stated[0],
        Ok(Outcome::Stop(
            r#"keep_if not met: Type is "Prospect", not "Customer""#.into()
        ))
    );
    assert!(matches!(stated[1], Ok(Outcome::Keep(_))), "{stated:?}");

    let mut compared = 0;
    for (config, records) in filter_cases() {
        let ours = outcomes(&runtime, &rust, &config, &records);
        let theirs = outcomes(&runtime, &other, &config, &records);
        for ((record, a), b) in records.iter().zip(&ours).zip(&theirs) {
            assert_eq!(a, b, "{}: {config} on {:?}", twin.name, record.fields);
            compared += 1;
        }
    }
    assert!(compared > 400, "{compared} outcomes compared");

    let refused = refused();
    assert!(!refused.is_empty(), "no refused configurations");
    for (config, says) in refused {
        let message = |plugin: &Plugin| {
            let made: anyhow::Result<Function> =
                runtime.instance(plugin, config, Grants::default());
            made.err()
                .unwrap_or_else(|| panic!("{}: {config} accepted", plugin.name()))
                .to_string()
        };
        let (ours, theirs) = (message(&rust), message(&other));
        assert!(theirs.contains(says), "{}: {config}: {theirs}", twin.name);
        // The same message, but for the plugin's name at the front.
        let tail = |m: &str| {
            m.split_once(": ")
                .map(|(_, t)| t.to_owned())
                .unwrap_or_default()
        };
        assert_eq!(tail(&ours), tail(&theirs), "{config}");
    }
}

#[test]
fn python_filter_gives_the_rust_outcomes_and_reasons() {
    filter_twin_agrees_with_rust(PY_FILTER);
}

#[test]
fn js_filter_gives_the_rust_outcomes_and_reasons() {
    filter_twin_agrees_with_rust(JS_FILTER);
}

// --- errors, cache -------------------------------------------------------------------------

#[test]
fn a_python_exception_reaches_the_user_with_its_message() {
    let runtime = runtime();
    let plugin = load(&runtime, PY_RAISES);
    let mut transform = runtime.transformer(&plugin, "{}").expect("configures");
    // Inside the helpers: an error for that value alone, the rest of the batch goes on.
    let results = transform
        .apply(&[text("ok"), text("bad")])
        .expect("no trap");
    assert_eq!(results[0], Ok(text("ok")));
    assert_eq!(
        results[1],
        Err(PluginErrorValue::Other(
            "ValueError: cannot handle 'bad'".into()
        ))
    );
    // Uncaught: componentize-py traps, and the trap carries Python's traceback.
    let error = transform
        .apply(&[text("unguarded")])
        .expect_err("traps")
        .to_string();
    assert!(
        error.contains("RuntimeError: unguarded failure in apply"),
        "{error}"
    );
    // ... and through the CLI, per value.
    let out = wasync_with_input(
        &["plugin", "call", path_str(&component(PY_RAISES))],
        "\"ok\"\n\"bad\"\n",
    );
    assert_eq!(
        out,
        "{\"ok\":\"ok\"}\n{\"err\":\"error: ValueError: cannot handle 'bad'\"}\n"
    );
}

#[test]
fn a_javascript_exception_reaches_the_user_with_its_message() {
    let runtime = runtime();
    let plugin = load(&runtime, JS_THROWS);
    let mut transform = runtime.transformer(&plugin, "{}").expect("configures");
    let results = transform
        .apply(&[text("ok"), text("error"), text("string")])
        .expect("no trap");
    assert_eq!(results[0], Ok(text("ok")));
    let message = |r: &Result<Value, PluginErrorValue>| match r {
        Err(PluginErrorValue::Other(m)) => m.clone(),
        other => panic!("expected other(message), got {other:?}"),
    };
    assert!(
        message(&results[1]).contains("a thrown Error"),
        "{results:?}"
    );
    assert!(
        message(&results[2]).contains("a thrown string"),
        "{results:?}"
    );
    let refused = runtime
        .transformer(&plugin, r#"{"fail": "create"}"#)
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("boom in create"), "{refused}");
}

#[test]
fn the_compile_cache_serves_a_python_components_second_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = component(PY_EXTRACT_DOMAIN);
    let options = || RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::at(dir.path()),
    };
    let first = Runtime::new(options())
        .expect("runtime")
        .load_file(&path)
        .expect("loads");
    assert_eq!(first.origin(), Origin::Compiled);
    let second = Runtime::new(options())
        .expect("runtime")
        .load_file(&path)
        .expect("loads");
    assert_eq!(second.origin(), Origin::Cached);
}

#[test]
fn inspect_names_the_toolchain_where_the_component_says_so() {
    let out = wasync_with_input(
        &[
            "plugin",
            "inspect",
            "--json",
            path_str(&component(JS_EXTRACT_DOMAIN)),
        ],
        "",
    );
    let doc: Json = serde_json::from_str(&out).expect("json");
    let tools: Vec<&str> = doc["producers"]["processed_by"]
        .as_array()
        .expect("processed_by")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!tools.is_empty(), "{doc}");
    let rust = wasync_with_input(&["plugin", "inspect", "extract-domain"], "");
    assert!(
        rust.contains("built by: ") && rust.contains("wit-bindgen-rust"),
        "{rust}"
    );
}

// --- a pipeline ----------------------------------------------------------------------------

/// The accounts example with extract-domain and filter as `domain` and `filter` (a first-party
/// name or a component path); returns what was written to HubSpot as (name, domain) pairs.
fn run_example(extract_domain: &str, filter: &str) -> Vec<(String, String)> {
    let dir = cli::example("accounts");
    let config = dir.path().join("wasync.toml");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace(
            "{ plugin = \"extract-domain\" }",
            &format!("{{ plugin = {extract_domain:?} }}"),
        )
        .replace(
            "{ plugin = \"filter\",",
            &format!("{{ plugin = {filter:?},"),
        );
    std::fs::write(&config, text).expect("write config");
    let out = wasync()
        .args(["sync", "--config"])
        .arg(&config)
        .output()
        .expect("wasync runs");
    assert!(
        out.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written =
        std::fs::read_to_string(dir.path().join("data/hubspot/companies.jsonl")).expect("hubspot");
    let mut pairs: Vec<(String, String)> = written
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|r| r["wasync_id"].is_string())
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_owned(),
                r["domain"].to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn a_pipeline_with_python_plugins_writes_what_the_rust_one_writes() {
    let rust = run_example("extract-domain", "filter");
    assert!(
        rust.len() >= 2,
        "the example writes Customers to HubSpot: {rust:?}"
    );
    let python = run_example(
        path_str(&component(PY_EXTRACT_DOMAIN)),
        path_str(&component(PY_FILTER)),
    );
    assert_eq!(python, rust);
}

// --- new, build, test, call ----------------------------------------------------------------

fn new_build_test_call(lang: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join(format!("my-{lang}-transform"));
    wasync_ok(&[
        "plugin",
        "new",
        "--lang",
        lang,
        "--kind",
        "transform",
        path_str(&plugin),
    ]);
    let built = wasync_ok(&["plugin", "build", path_str(&plugin)]);
    let wasm = PathBuf::from(built.trim().lines().last().expect("the component's path"));
    assert!(wasm.is_file(), "{built}");
    let tested = wasync_ok(&["plugin", "test", path_str(&plugin)]);
    assert!(tested.contains(" passed, 0 failed"), "{tested}");
    let called = wasync_with_input(&["plugin", "call", path_str(&wasm)], "\" hi \"\n");
    assert!(called.starts_with("{\"ok\":"), "{called}");
}

#[test]
fn python_new_build_test_call() {
    new_build_test_call("python");
    let config = r#"{"stop_if": {"field": "Type", "equals": "x"}}"#;
    let out = wasync_with_input(
        &[
            "plugin",
            "call",
            "--config",
            config,
            path_str(&component(PY_FILTER)),
        ],
        "{\"id\": \"1\", \"fields\": {\"Type\": \"x\"}}\n",
    );
    assert_eq!(
        out, "{\"stop\":\"stop_if met: Type is \\\"x\\\"\"}\n",
        "a Python entity function through call"
    );
}

#[test]
fn a_python_connector_declares_its_rate_limit_in_its_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("my-python-connector");
    wasync_ok(&[
        "plugin",
        "new",
        "--lang",
        "python",
        "--kind",
        "connector",
        path_str(&plugin),
    ]);
    let manifest = plugin.join("wasync-plugin.toml");
    let mut text = std::fs::read_to_string(&manifest).expect("manifest");
    text.push_str("rate = { requests = 3, per_seconds = 2 }\n");
    std::fs::write(&manifest, text).expect("write manifest");
    let built = wasync_ok(&["plugin", "build", path_str(&plugin)]);
    let wasm = PathBuf::from(built.trim().lines().last().expect("the component's path"));
    let inspected = wasync_ok(&["plugin", "inspect", "--json", path_str(&wasm)]);
    let doc: Json = serde_json::from_str(&inspected).expect("JSON");
    assert_eq!(
        doc["rate"],
        json!({"requests": 3, "per_seconds": 2.0}),
        "{inspected}"
    );
}

#[test]
fn js_new_build_test_call() {
    new_build_test_call("js");
}

#[test]
fn rust_new_build_test_call() {
    // `wasync()` shares one CARGO_TARGET_DIR across runs: the SDK compiles for wasm32 once.
    new_build_test_call("rust");
}

#[test]
fn entity_functions_run_through_plugin_call() {
    let out = wasync_with_input(
        &[
            "plugin",
            "call",
            "filter",
            "--config",
            r#"{"keep_if": {"field": "Type", "equals": "Customer"}}"#,
        ],
        "{\"id\": \"1\", \"fields\": {\"Type\": \"Customer\"}}\n{\"id\": \"2\", \"fields\": {\"Type\": \"Prospect\"}}\nnot json\n",
    );
    let lines: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["keep"]["fields"]["Type"], "Customer");
    assert_eq!(
        lines[1]["stop"],
        r#"keep_if not met: Type is "Prospect", not "Customer""#
    );
    assert!(
        lines[2]["err"]
            .as_str()
            .is_some_and(|e| e.contains("line 3")),
        "{out}"
    );
}

// --- helpers -------------------------------------------------------------------------------

/// `wasync` with this suite's compile cache (shared with the library tests' runtime), a
/// target folder for the Rust plugins it builds, and this checkout's SDK.
fn wasync() -> Command {
    let mut cmd = cli::wasync();
    cmd.env("WASYNC_CACHE_DIR", cache_root().join("compiled"))
        .env("CARGO_TARGET_DIR", cache_root().join("rust-target"))
        .env("WASYNC_SDK_DIR", repo().join("sdk"));
    cmd
}

fn wasync_ok(args: &[&str]) -> String {
    let out = wasync().args(args).output().expect("wasync runs");
    assert!(
        out.status.success(),
        "wasync {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wasync_with_input(args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = wasync()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wasync runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wasync ends");
    assert!(
        out.status.success(),
        "wasync {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

// --- the SDKs' own tests ---------------------------------------------------------------------

/// Runs `program args` in the repository and fails with its output unless it passes.
fn passes(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run ({e}): run tests/setup.sh"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python SDK's codec against bytes written by hand, a reference codec and damaged
/// buffers, in plain CPython.
#[test]
fn the_python_sdks_own_tests_pass() {
    passes(
        "python3",
        &["-m", "unittest", "discover", "-s", "sdk/python/tests"],
    );
}

/// The JavaScript SDK's codec, the same way, in Node.js.
#[test]
fn the_js_sdks_own_tests_pass() {
    passes("node", &["--test", "sdk/js/test/batch.test.mjs"]);
}
