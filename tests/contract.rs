//! The plugin contract across its versions, against real compiled components: a component
//! built for `wasync:plugin@0.1.0` still loads and runs beside 0.2.0 ones, through the
//! runtime and through the `wasync` binary; a 0.2.0 answer buffer that breaks the batch
//! layout (`docs/batch.md`) is refused with where it broke, and only the values that make
//! the plugin write it are lost.

#[path = "support/cli.rs"]
mod cli;

use std::process::Stdio;
use std::time::Duration;
use wasync::plugin::{Cache, CallError, Failure, Limits, Runtime, RuntimeOptions};
use wasync::{PluginErrorValue, Value};
use wasync_test_guests::{LEGACY_TRANSFORM, RAW_BATCH};

fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits {
            memory: 64 << 20,
            deadline: Duration::from_millis(500),
            ..Limits::default()
        },
        cache: Cache::off(),
    })
    .expect("runtime")
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn a_component_built_for_0_1_loads_and_runs_beside_0_2() {
    let runtime = runtime();
    let legacy = runtime
        .load(LEGACY_TRANSFORM)
        .expect("a 0.1.0 component loads");
    assert_eq!(legacy.interface().version, "0.1.0");
    assert_eq!(
        legacy.interface().exports,
        ["wasync:plugin/transform@0.1.0"]
    );
    let current = runtime.load("extract-domain").expect("built in");
    assert_eq!(current.interface().version, "0.2.0");

    let mut legacy = runtime.transformer(&legacy, "{}").expect("configures");
    let results = legacy
        .apply(&[text("acme"), Value::Integer(7), Value::Null])
        .expect("the call succeeds");
    assert_eq!(
        results,
        [
            Ok(text("ACME")),
            Err(PluginErrorValue::InvalidInput("no numbers".into())),
            Ok(Value::Null),
        ]
    );
    let mut current = runtime.transformer(&current, "{}").expect("configures");
    assert_eq!(
        current
            .apply(&[text("https://www.acme.co.uk/x")])
            .expect("call"),
        [Ok(text("acme.co.uk"))]
    );
}

#[test]
fn the_binary_calls_and_inspects_a_0_1_component() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = cli::wasync()
        .args(["plugin", "call", LEGACY_TRANSFORM])
        .env("WASYNC_CACHE_DIR", cache.path())
        .stdin(std::fs::File::open(write_lines(cache.path(), "\"acme\"\n7\n")).expect("open"))
        .stderr(Stdio::piped())
        .output()
        .expect("wasync runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], r#"{"ok":"ACME"}"#);
    assert!(lines[1].contains("no numbers"), "{stdout}");

    let out = cli::wasync()
        .args(["plugin", "inspect", LEGACY_TRANSFORM])
        .env("WASYNC_CACHE_DIR", cache.path())
        .output()
        .expect("wasync runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(stdout.contains("wasync:plugin@0.1.0"), "{stdout}");
}

fn write_lines(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("input.jsonl");
    std::fs::write(&path, text).expect("write");
    path
}

/// The reason a value failed with, when the call failed as a whole while it was alone.
fn crashed(result: &Result<Value, Failure>) -> String {
    match result {
        Err(Failure::Crashed(e @ (CallError::Malformed { .. } | CallError::WrongCount { .. }))) => {
            e.to_string()
        }
        other => panic!("expected a malformed batch, got {other:?}"),
    }
}

#[test]
fn a_malformed_answer_is_refused_with_where_it_broke_and_costs_only_its_values() {
    let runtime = runtime();
    let plugin = runtime.load(RAW_BATCH).expect("loads");
    let mut raw = runtime.transformer(&plugin, "{}").expect("configures");
    assert_eq!(
        raw.apply(&[text("a"), Value::Integer(2)])
            .expect("a valid answer"),
        [Ok(text("a")), Ok(Value::Integer(2))]
    );

    let broken = "plugin `raw_batch`: `transform.apply` returned a malformed batch: invalid batch";
    for (fault, expected) in [
        (
            "garbage",
            format!("{broken} at byte 0: it does not begin with `WSB1`"),
        ),
        (
            "truncate",
            format!("{broken} at byte 15: a text needs 8 bytes, 7 are left"),
        ),
        ("utf8", format!("{broken} at byte 18: a text is not UTF-8")),
        (
            "huge",
            format!(
                "{broken} at byte 5: the row count is 4294967295, more than the 10 bytes after it can hold"
            ),
        ),
        (
            "extra",
            "plugin `raw_batch`: `transform.apply` returned 2 results for 1 inputs".to_owned(),
        ),
    ] {
        let error = raw.apply(&[text(fault)]).expect_err(fault).to_string();
        assert_eq!(error, expected, "{fault}");

        // Taken apart, the batch loses only the value that made the answer malformed.
        let results = raw.apply_each(&[text("before"), text(fault), text("after")]);
        assert_eq!(results.len(), 3);
        assert!(
            matches!(&results[0], Ok(v) if *v == text("before")),
            "{fault}"
        );
        assert_eq!(crashed(&results[1]), expected, "{fault}");
        assert!(
            matches!(&results[2], Ok(v) if *v == text("after")),
            "{fault}"
        );
    }
    // And the instance that wrote them was replaced: the next call works.
    assert_eq!(
        raw.apply(&[text("again")]).expect("call"),
        [Ok(text("again"))]
    );
}

#[test]
fn an_answer_over_the_output_limit_is_refused_before_it_is_read() {
    let runtime = Runtime::new(RuntimeOptions {
        limits: Limits {
            output_bytes: 1 << 10,
            ..Limits::default()
        },
        cache: Cache::off(),
    })
    .expect("runtime");
    let plugin = runtime.load(RAW_BATCH).expect("loads");
    let mut raw = runtime.transformer(&plugin, "{}").expect("configures");
    let big = text(&"x".repeat(2 << 10));
    let error = raw.apply(&[big]).expect_err("over the limit").to_string();
    assert!(
        error.contains("bytes, over the limit of 1024 bytes per call"),
        "{error}"
    );
}

/// Not a test: a loop to profile (`perf record`, callgrind) the crossing of one contract.
/// `CONTRACT=0.1|0.2`, `ROUNDS` batches of 10,000 (default 300); compiled once into
/// `WASYNC_CACHE_DIR`'s cache, so that a run with `ROUNDS=0` measures everything else.
#[test]
#[ignore]
fn profile_crossing() {
    let cache = std::env::var_os("WASYNC_CACHE_DIR").map_or_else(Cache::off, |dir| {
        Cache::at(std::path::Path::new(&dir).join("profile"))
    });
    let runtime = Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache,
    })
    .expect("runtime");
    let component = match std::env::var("CONTRACT").as_deref() {
        Ok("0.1") => LEGACY_TRANSFORM,
        _ => wasync_test_guests::UPPER,
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(300);
    let plugin = runtime.load(component).expect("loads");
    let mut t = runtime.transformer(&plugin, "{}").expect("configures");
    let values: Vec<Value> = (0..10_000)
        .map(|i| text(&format!("https://www.example-{i}.co.uk/path")))
        .collect();
    t.apply(&values).expect("call");
    for _ in 0..rounds {
        std::hint::black_box(t.apply(&values).expect("call"));
    }
}
