//! The hostile-plugin suite (issue 14): plugins of every world that misbehave on purpose —
//! loop forever, overflow their stack, hoard memory, return huge or countless outputs, panic,
//! reach for files, environment variables and sockets — through (a) the library API, (b)
//! `wasync plugin call`, (c) `wasync sync --once` and `wasync quarantine replay` on a pipeline
//! file, and (d) `wasync serve`. Each must end in a clear error naming the plugin, within
//! about its deadline, with the host's memory bounded and the good values and records coming
//! through. The guests and their vocabularies are in `tests/guests/` (`hostile`,
//! `hostile-entity`, `hostile-merge`, `hostile-connector`).
//!
//! Every child process runs under a hard time limit (`support/bounded.rs`): a host that never
//! stops a plugin fails the test with what it saw instead of hanging it.

#[path = "support/bounded.rs"]
mod bounded;
#[path = "support/service.rs"]
mod service;

use bounded::Finished;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};
use wasync::plugin::bindings::connector::exports::wasync::plugin::external::{
    Change, Cursor, ReadRequest, Upsert,
};
use wasync::plugin::bindings::entity_function::exports::wasync::plugin::entity::Outcome;
use wasync::plugin::bindings::merge_policy::exports::wasync::plugin::merge::Candidate;
use wasync::plugin::{
    Cache, CallError, Failure, Function, Grants, Limits, Policy, Runtime, RuntimeOptions, System,
    Transformer,
};
use wasync::{Field, PluginErrorValue, Record, Value};
use wasync_test_guests::{HOSTILE, HOSTILE_CONNECTOR, HOSTILE_ENTITY, HOSTILE_MERGE};

/// The plugins' names as the host reports them (the component file's stem).
const TRANSFORM: &str = "hostile";
const ENTITY: &str = "hostile_entity";
const MERGE: &str = "hostile_merge";
const CONNECTOR: &str = "hostile_connector";

/// The deadline the commands run with (`--deadline-ms`).
const DEADLINE_MS: u64 = 500;
/// No command may run longer than this: past it the test kills it and fails.
const HARD_LIMIT: Duration = Duration::from_secs(30);
/// What a `plugin call` may take beyond the plugin's own time: start-up, parsing, printing.
const CALL_MARGIN: Duration = Duration::from_millis(1500);
/// What a `sync --once` may take beyond the plugin's own time: start-up, the store, the cycle.
const SYNC_MARGIN: Duration = Duration::from_secs(3);
/// The host's peak memory, whatever the plugins return.
const PEAK: u64 = 1 << 30;
/// What a command whose plugin returns hundreds of MiB may take: making them, and failing
/// batches that overrun the memory cap until each value is alone, is work, not a deadline.
const OUTPUT_BOUND: Duration = Duration::from_secs(20);

/// Whether `text` names `plugin` as the host does: `` `hostile` `` in a call error,
/// `hostile@version` in a pipeline's label.
fn names(text: &str, plugin: &str) -> bool {
    text.contains(&format!("`{plugin}`")) || text.contains(&format!("{plugin}@"))
}

fn assert_names(text: &str, plugin: &str, says: &[&str]) {
    assert!(names(text, plugin), "{text:?} should name `{plugin}`");
    for word in says {
        assert!(text.contains(word), "{text:?} should say {word:?}");
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ----------------------------------------------------------------------------------------
// (a) The library API: wasync::plugin::Runtime with small limits.
// ----------------------------------------------------------------------------------------

/// A runtime with these limits; the output limits, once the host has them, keep their
/// defaults (4096 KiB a value, 64 MiB a call).
#[allow(clippy::needless_update)]
fn runtime(memory_mib: usize, deadline_ms: u64) -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits {
            memory: memory_mib << 20,
            deadline: ms(deadline_ms),
            ..Limits::default()
        },
        cache: Cache::at(cache_dir()),
    })
    .expect("runtime")
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn transformer(runtime: &Runtime) -> Transformer {
    let plugin = runtime.load(HOSTILE).expect("hostile loads");
    runtime.transformer(&plugin, "{}").expect("configures")
}

fn function(runtime: &Runtime) -> Function {
    let plugin = runtime.load(HOSTILE_ENTITY).expect("hostile-entity loads");
    runtime
        .instance(&plugin, "{}", Grants::default())
        .expect("configures")
}

fn policy(runtime: &Runtime) -> Policy {
    let plugin = runtime.load(HOSTILE_MERGE).expect("hostile-merge loads");
    runtime
        .instance(&plugin, "{}", Grants::default())
        .expect("configures")
}

fn system(runtime: &Runtime, config: Json) -> System {
    let plugin = runtime
        .load(HOSTILE_CONNECTOR)
        .expect("hostile-connector loads");
    runtime
        .instance(&plugin, &config.to_string(), Grants::default())
        .expect("configures")
}

fn record(id: &str, name: &str) -> Record {
    Record {
        id: id.into(),
        watermark: Value::Null,
        fields: vec![Field {
            name: "Name".into(),
            value: text(name),
        }],
        deleted: false,
    }
}

fn field<'a>(record: &'a Record, name: &str) -> Option<&'a Value> {
    record
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| &f.value)
}

/// Runs an entity function over records as the host does: a failed batch is isolated.
fn apply_isolated(function: &mut Function, records: &[Record]) -> Vec<Result<Outcome, Failure>> {
    function.isolate(records, |f, chunk| f.apply("Thing", chunk))
}

/// The kept record of an outcome, failing the test on anything else.
fn kept(result: &Result<Outcome, Failure>) -> &Record {
    match result {
        Ok(Outcome::Keep(record)) => record,
        other => panic!("expected the record kept, got {other:?}"),
    }
}

fn failure(result: &Result<impl std::fmt::Debug, Failure>) -> String {
    match result {
        Err(failure) => failure.to_string(),
        Ok(ok) => panic!("expected a failure, got {ok:?}"),
    }
}

/// Good values `good-0`.. with `bad` at every other place, `count` times.
fn interleaved(bad: &str, count: usize) -> Vec<String> {
    let mut items = Vec::new();
    for i in 0..count {
        items.push(format!("good-{i}"));
        items.push(bad.to_owned());
    }
    items.push(format!("good-{count}"));
    items
}

#[test]
fn library_transform_batch_with_six_looping_values_costs_about_two_deadlines() {
    let runtime = runtime(64, 300);
    let mut transform = transformer(&runtime);
    let inputs = interleaved("loop", 6);
    let values: Vec<Value> = inputs.iter().map(|s| text(s)).collect();
    let started = Instant::now();
    let results = transform.apply_each(&values);
    let took = started.elapsed();
    for (input, result) in inputs.iter().zip(&results) {
        match input.as_str() {
            "loop" => assert_names(
                &failure(result),
                TRANSFORM,
                &["ran past its deadline of 300 ms"],
            ),
            good => assert_eq!(result.as_ref().ok(), Some(&text(good)), "{result:?}"),
        }
    }
    assert!(
        took < ms(2 * 300 + 500),
        "six looping values cost {took:?}: a failed batch must share one time budget, not \
         spend a deadline per value"
    );
}

#[test]
fn library_transform_stack_overflow_is_a_trap_naming_the_plugin_and_the_next_call_works() {
    let runtime = runtime(64, 2000);
    let mut transform = transformer(&runtime);
    let started = Instant::now();
    let error = transform
        .apply(&[text("recurse")])
        .expect_err("the stack must overflow");
    assert!(
        matches!(&error, CallError::Trap { plugin, call: "transform.apply", .. } if plugin == TRANSFORM),
        "{error}"
    );
    assert!(started.elapsed() < ms(2000), "a trap, not the deadline");
    let results = transform
        .apply(&[text("hello")])
        .expect("the next call works");
    assert_eq!(results, [Ok(text("hello"))]);
}

#[test]
fn library_transform_value_over_the_size_limit_fails_alone() {
    let runtime = runtime(64, 2000);
    let mut transform = transformer(&runtime);
    let results = transform.apply_each(&[text("a"), text("big:5"), text("b")]);
    assert_eq!(results[0].as_ref().ok(), Some(&text("a")));
    assert_names(&failure(&results[1]), TRANSFORM, &["over the limit"]);
    assert_eq!(results[2].as_ref().ok(), Some(&text("b")));
}

#[test]
fn library_transform_batch_over_the_output_limit_still_gives_every_value() {
    // 30 values of 3 MiB: each under the 4 MiB a value, together over the 64 MiB a call.
    let runtime = runtime(256, 5000);
    let mut transform = transformer(&runtime);
    let values = vec![text("big:3"); 30];
    let results = transform.apply_each(&values);
    assert_eq!(results.len(), 30);
    for result in &results {
        match result {
            Ok(Value::Text(t)) => assert_eq!(t.len(), 3 << 20),
            other => panic!("every value comes through, got {other:?}"),
        }
    }
}

#[test]
fn library_transform_socket_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let runtime = runtime(64, 2000);
    let mut transform = transformer(&runtime);
    let results = transform
        .apply(&[text(&format!("socket:{addr}"))])
        .expect("the call succeeds");
    match &results[0] {
        Ok(Value::Text(answer)) => assert!(answer.starts_with("error:"), "{answer}"),
        other => panic!("expected the error as text, got {other:?}"),
    }
    assert!(listener.accept().is_err(), "no connection may reach us");
}

#[test]
fn library_entity_batch_with_six_looping_records_costs_about_two_deadlines() {
    let runtime = runtime(64, 300);
    let mut function = function(&runtime);
    let names = interleaved("loop", 6);
    let records: Vec<Record> = names
        .iter()
        .enumerate()
        .map(|(i, n)| record(&format!("r{i}"), n))
        .collect();
    let started = Instant::now();
    let results = apply_isolated(&mut function, &records);
    let took = started.elapsed();
    for (name, result) in names.iter().zip(&results) {
        if name == "loop" {
            assert_names(
                &failure(result),
                ENTITY,
                &["ran past its deadline of 300 ms"],
            );
        } else {
            assert_eq!(field(kept(result), "Name"), Some(&text(name)));
        }
    }
    assert!(
        took < ms(2 * 300 + 500),
        "six looping records cost {took:?}: a failed batch must share one time budget"
    );
}

/// Runs `a`, `word`, `b` through the entity function; `word`'s record must fail alone with
/// an error naming the plugin and saying `says`, and the next call must work.
fn library_entity_fails_alone(word: &str, memory_mib: usize, says: &[&str]) {
    let runtime = runtime(memory_mib, 2000);
    let mut function = function(&runtime);
    let records = [record("1", "a"), record("2", word), record("3", "b")];
    let results = apply_isolated(&mut function, &records);
    assert_eq!(field(kept(&results[0]), "Name"), Some(&text("a")));
    assert_names(&failure(&results[1]), ENTITY, says);
    assert_eq!(field(kept(&results[2]), "Name"), Some(&text("b")));
    let again = apply_isolated(&mut function, &[record("4", "c")]);
    assert_eq!(field(kept(&again[0]), "Name"), Some(&text("c")));
}

#[test]
fn library_entity_memory_bomb_fails_its_record_alone() {
    library_entity_fails_alone("memory", 64, &["memory limit of 64 MiB"]);
}

#[test]
fn library_entity_panic_fails_its_record_alone() {
    library_entity_fails_alone("trap", 64, &["boom"]);
}

#[test]
fn library_entity_stack_overflow_fails_its_record_alone() {
    library_entity_fails_alone("recurse", 64, &["trapped"]);
}

#[test]
fn library_entity_huge_field_is_over_the_limit() {
    library_entity_fails_alone("big:5", 64, &["over the limit"]);
}

#[test]
fn library_entity_half_a_million_fields_are_over_the_limit() {
    library_entity_fails_alone("many:500000", 512, &["over the limit"]);
}

#[test]
fn library_entity_file_env_and_socket_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let runtime = runtime(64, 2000);
    let mut function = function(&runtime);
    let records = [
        record("1", "file:/etc/passwd"),
        record("2", "env:HOME"),
        record("3", "env"),
        record("4", &format!("socket:{addr}")),
        record("5", "fail:no thanks"),
    ];
    let results = apply_isolated(&mut function, &records);
    for i in [0, 3] {
        match field(kept(&results[i]), "Name") {
            Some(Value::Text(t)) => assert!(t.starts_with("error:"), "{t}"),
            other => panic!("expected the error as text, got {other:?}"),
        }
    }
    assert_eq!(field(kept(&results[1]), "Name"), Some(&Value::Null));
    assert_eq!(field(kept(&results[2]), "Name"), Some(&Value::Integer(0)));
    assert!(
        matches!(&results[4], Err(Failure::Rejected(PluginErrorValue::InvalidInput(m))) if m == "no thanks"),
        "{:?}",
        results[4]
    );
    assert!(listener.accept().is_err(), "no connection may reach us");
}

#[test]
fn library_merge_match_keys_loop_is_stopped_and_the_next_call_works() {
    let runtime = runtime(64, 300);
    let mut policy = policy(&runtime);
    let started = Instant::now();
    let error = policy
        .match_keys(&[record("1", "loop")])
        .expect_err("stopped");
    assert!(
        started.elapsed() < ms(300 + 1000),
        "{:?}",
        started.elapsed()
    );
    assert_names(
        &error.to_string(),
        MERGE,
        &["merge.match-keys", "ran past its deadline of 300 ms"],
    );
    let keys = policy
        .match_keys(&[record("2", "Acme"), record("3", "Initech")])
        .expect("the next call works");
    assert_eq!(
        keys,
        [vec!["k:acme".to_owned()], vec!["k:initech".to_owned()]]
    );
}

/// `match-keys` over one record named `word` fails, naming the plugin and saying `says`.
fn library_merge_match_keys_fails(word: &str, memory_mib: usize, says: &[&str]) {
    let runtime = runtime(memory_mib, 2000);
    let mut policy = policy(&runtime);
    let error = policy
        .match_keys(&[record("1", word)])
        .expect_err("the call fails");
    assert_names(&error.to_string(), MERGE, says);
    let keys = policy.match_keys(&[record("2", "Acme")]).expect("works");
    assert_eq!(keys, [vec!["k:acme".to_owned()]]);
}

#[test]
fn library_merge_match_keys_panic_names_the_plugin() {
    library_merge_match_keys_fails("trap", 64, &["boom"]);
}

#[test]
fn library_merge_match_keys_memory_bomb_names_the_plugin() {
    library_merge_match_keys_fails("memory", 64, &["memory limit of 64 MiB"]);
}

#[test]
fn library_merge_match_keys_stack_overflow_names_the_plugin() {
    library_merge_match_keys_fails("recurse", 64, &["trapped"]);
}

#[test]
fn library_merge_match_keys_huge_key_is_over_the_limit() {
    library_merge_match_keys_fails("big:5", 64, &["over the limit"]);
}

#[test]
fn library_merge_match_keys_300000_keys_are_over_the_limit() {
    library_merge_match_keys_fails("many:300000", 256, &["over the limit"]);
}

fn candidate(id: &str, fields: &[(&str, Value)]) -> Candidate {
    Candidate {
        record: Record {
            id: id.into(),
            watermark: Value::Null,
            fields: fields
                .iter()
                .map(|(n, v)| Field {
                    name: (*n).into(),
                    value: v.clone(),
                })
                .collect(),
            deleted: false,
        },
        source: "files/Thing".into(),
        created: 0,
        updated: 0,
    }
}

#[test]
fn library_merge_resolve_loop_and_panic_name_the_plugin_and_a_good_group_resolves() {
    let runtime = runtime(64, 300);
    let mut policy = policy(&runtime);
    for (word, says) in [
        ("resolve:loop", "ran past its deadline of 300 ms"),
        ("resolve:trap", "boom"),
    ] {
        let group = vec![
            candidate("u1", &[("Name", text(word))]),
            candidate("u2", &[("Name", text(word))]),
        ];
        let error = policy.resolve(&[group]).expect_err("the call fails");
        assert_names(&error.to_string(), MERGE, &["merge.resolve", says]);
    }
    let group = vec![
        candidate("u1", &[("Name", text("Acme")), ("Phone", Value::Null)]),
        candidate("u2", &[("Name", text("ACME")), ("Phone", text("555"))]),
    ];
    let resolved = policy.resolve(&[group]).expect("the next call works");
    let resolution = resolved[0].as_ref().expect("resolved");
    assert_eq!(resolution.winner, 0);
    let phone = resolution.fields.iter().find(|f| f.name == "Phone");
    assert_eq!(phone.map(|f| &f.value), Some(&text("555")));
}

#[test]
fn library_merge_file_env_and_socket_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let runtime = runtime(64, 2000);
    let mut policy = policy(&runtime);
    let keys = policy
        .match_keys(&[
            record("1", "file:/etc/passwd"),
            record("2", "env:HOME"),
            record("3", "env"),
            record("4", &format!("socket:{addr}")),
        ])
        .expect("the call succeeds");
    assert!(keys[0][0].starts_with("k:error:"), "{:?}", keys[0]);
    assert_eq!(keys[1], ["k:"]);
    assert_eq!(keys[2], ["k:0"]);
    assert!(keys[3][0].starts_with("k:error:"), "{:?}", keys[3]);
    assert!(listener.accept().is_err(), "no connection may reach us");
}

fn read_request(after: Option<u64>, limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "Thing".into(),
        after: after.map(|i| Cursor {
            watermark: Value::Integer(i as i64),
            id: format!("t{i}"),
        }),
        until: None,
        limit,
    }
}

/// What a read said, as text: the call's error, or the plugin's error value.
fn read_error(system: &mut System, request: &ReadRequest) -> String {
    match system.read(request) {
        Err(error) => error.to_string(),
        Ok(Err(value)) => format!("{value:?}"),
        Ok(Ok(page)) => panic!(
            "expected the read to fail, got {} records",
            page.records.len()
        ),
    }
}

#[test]
fn library_connector_reads_by_cursor_and_limit() {
    let runtime = runtime(64, 2000);
    let mut system = system(&runtime, json!({"count": 5, "names": {"3": "Acme"}}));
    let described = system.describe().expect("call").expect("describes");
    assert_eq!(described[0].name, "Thing");
    assert_eq!(
        (
            described[0].id_field.as_str(),
            described[0].watermark_field.as_str()
        ),
        ("Id", "Modified")
    );
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = system
            .read(&read_request(after, 2))
            .expect("call")
            .expect("reads");
        assert!(page.records.len() <= 2);
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        after = page.records.last().map(|r| r.id[1..].parse().expect("tN"));
        if !page.more {
            break;
        }
    }
    assert_eq!(ids, ["t0", "t1", "t2", "t3", "t4"]);
    let page = system
        .read(&read_request(Some(2), 1))
        .expect("call")
        .expect("reads");
    assert_eq!(field(&page.records[0], "Name"), Some(&text("Acme")));
}

#[test]
fn library_connector_describe_loop_and_panic_name_the_plugin() {
    let runtime = runtime(64, 300);
    for (mode, says) in [("loop", "ran past its deadline"), ("trap", "boom")] {
        let mut system = system(&runtime, json!({"describe": mode}));
        let error = system.describe().expect_err("fails");
        assert_names(&error.to_string(), CONNECTOR, &["external.describe", says]);
    }
}

/// A read configured as `mode` fails, naming the plugin and saying `says`.
fn library_connector_read_fails(mode: &str, memory_mib: usize, says: &[&str]) {
    let runtime = runtime(memory_mib, 300);
    let mut system = system(&runtime, json!({"read": mode, "count": 20}));
    let started = Instant::now();
    let error = read_error(&mut system, &read_request(None, 10));
    assert!(
        started.elapsed() < ms(300 + 1500),
        "{:?}",
        started.elapsed()
    );
    assert_names(&error, CONNECTOR, says);
}

#[test]
fn library_connector_read_that_never_returns_is_stopped() {
    library_connector_read_fails("loop", 64, &["external.read", "ran past its deadline"]);
}

#[test]
fn library_connector_read_panic_names_the_plugin() {
    library_connector_read_fails("trap", 64, &["boom"]);
}

#[test]
fn library_connector_read_memory_bomb_names_the_plugin() {
    library_connector_read_fails("memory", 64, &["memory limit of 64 MiB"]);
}

#[test]
fn library_connector_read_stack_overflow_names_the_plugin() {
    library_connector_read_fails("recurse", 64, &["trapped"]);
}

#[test]
fn library_connector_read_of_more_records_than_the_limit_fails() {
    library_connector_read_fails("many:1000", 64, &[]);
}

#[test]
fn library_connector_read_of_a_huge_record_sets_that_record_aside() {
    let runtime = runtime(64, 2000);
    let mut system = system(&runtime, json!({"read": "big:5", "count": 20}));
    let page = system
        .read(&read_request(None, 10))
        .expect("the call works")
        .expect("the page comes back");
    let [record] = page.records.as_slice() else {
        panic!("one record, got {}", page.records.len());
    };
    // The field's value is dropped, and the record says why, so the host quarantines it
    // instead of failing the whole page.
    let Some(Value::Text(why)) = field(record, wasync::plugin::ERROR_FIELD) else {
        panic!("no {} field: {record:?}", wasync::plugin::ERROR_FIELD);
    };
    assert_names(
        why,
        CONNECTOR,
        &["external.read", "`Name`", "over the limit"],
    );
    assert_eq!(field(record, "Name"), Some(&Value::Null));
}

#[test]
fn library_connector_read_file_env_and_socket_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let runtime = runtime(64, 2000);
    for (mode, refused) in [
        ("file:/etc/passwd".to_owned(), None),
        ("env:HOME".to_owned(), Some(Value::Null)),
        (format!("socket:{addr}"), None),
    ] {
        let mut system = system(&runtime, json!({ "read": mode }));
        let page = system
            .read(&read_request(None, 10))
            .expect("call")
            .expect("reads");
        let name = field(&page.records[0], "Name").expect("a Name");
        match refused {
            Some(value) => assert_eq!(name, &value),
            None => assert!(
                matches!(name, Value::Text(t) if t.starts_with("error:")),
                "{mode}: {name:?}"
            ),
        }
    }
    assert!(listener.accept().is_err(), "no connection may reach us");
}

fn upsert(id: Option<&str>, name: &str) -> Change {
    Change::Upsert(Upsert {
        id: id.map(str::to_owned),
        fields: vec![Field {
            name: "Name".into(),
            value: text(name),
        }],
    })
}

#[test]
fn library_connector_write_answers_per_change_and_misbehaves_by_name() {
    let runtime = runtime(64, 300);
    let mut sink = system(&runtime, json!({}));
    let results = sink
        .write(
            "Thing",
            &[
                upsert(None, "Acme"),
                upsert(Some("x7"), "fail:no thanks"),
                Change::Delete("x9".into()),
                upsert(None, "Initech"),
            ],
        )
        .expect("the call succeeds");
    assert_eq!(results[0], Ok("w0".to_owned()));
    assert_eq!(
        results[1],
        Err(PluginErrorValue::InvalidInput("no thanks".into()))
    );
    assert_eq!(results[2], Ok("x9".to_owned()));
    assert_eq!(results[3], Ok("w1".to_owned()));
    for (name, says) in [
        ("loop", "ran past its deadline of 300 ms"),
        ("trap", "boom"),
    ] {
        let error = sink
            .write("Thing", &[upsert(None, "Acme"), upsert(None, name)])
            .expect_err("the call fails");
        assert_names(&error.to_string(), CONNECTOR, &["external.write", says]);
    }
}

#[test]
fn library_connector_write_of_a_huge_id_is_over_the_limit() {
    let runtime = runtime(64, 2000);
    let mut sink = system(&runtime, json!({}));
    let results = sink.isolate(&[upsert(None, "Acme"), upsert(None, "big:5")], |s, c| {
        s.write("Thing", c)
    });
    assert_eq!(results[0].as_ref().ok(), Some(&"w0".to_owned()));
    assert_names(&failure(&results[1]), CONNECTOR, &["over the limit"]);
}

// ----------------------------------------------------------------------------------------
// (b) `wasync plugin call`, the real binary.
// ----------------------------------------------------------------------------------------

/// The compile cache this suite's commands share, warmed once so that no measured command
/// compiles a plugin.
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-components")
}

static WARM: Once = Once::new();

/// `wasync` with this suite's compile cache, warmed with every plugin the suite runs.
fn wasync() -> Command {
    WARM.call_once(|| {
        for plugin in [
            HOSTILE,
            HOSTILE_ENTITY,
            HOSTILE_MERGE,
            HOSTILE_CONNECTOR,
            "jsonl",
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_wasync"))
                .args(["plugin", "inspect", plugin])
                .env("WASYNC_CACHE_DIR", cache_dir())
                .output()
                .expect("wasync runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasync"));
    command
        .env("WASYNC_CACHE_DIR", cache_dir())
        .env("WASYNC_TEST_SECRET", "hunter2");
    command
}

/// `wasync plugin call PLUGIN --deadline-ms 500 ARGS` over `lines`.
fn call(plugin: &str, args: &[&str], lines: &[String]) -> Finished {
    call_with(plugin, DEADLINE_MS, args, lines)
}

/// `wasync plugin call PLUGIN --deadline-ms DEADLINE_MS ARGS` over `lines`.
fn call_with(plugin: &str, deadline_ms: u64, args: &[&str], lines: &[String]) -> Finished {
    let deadline = deadline_ms.to_string();
    let mut command = wasync();
    command
        .args(["plugin", "call", plugin, "--deadline-ms", &deadline])
        .args(args);
    let mut input = lines.join("\n");
    input.push('\n');
    bounded::run(&mut command, &input, HARD_LIMIT)
}

/// JSON lines for `wasync plugin call` of a transform: each text as a JSON string.
fn values(texts: &[String]) -> Vec<String> {
    texts.iter().map(|t| json!(t).to_string()).collect()
}

/// JSON lines for `wasync plugin call` of an entity function: a record per name.
fn records(names: &[String]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": format!("r{i}"), "fields": {"Name": n}}).to_string())
        .collect()
}

/// Checks `plugin call`'s answer to `inputs`: one line per input in order, the good ones
/// answered as `good` says, each one equal to `bad` an `err` naming `plugin` and saying `says`.
fn check_answers(
    out: &Finished,
    inputs: &[String],
    bad: &str,
    plugin: &str,
    says: &[&str],
    good: impl Fn(&str, &Json),
) {
    out.succeeded();
    let answers = out.json_lines();
    assert_eq!(answers.len(), inputs.len(), "{:?}", out.lines);
    for (input, answer) in inputs.iter().zip(&answers) {
        if input == bad {
            let error = answer["err"]
                .as_str()
                .unwrap_or_else(|| panic!("{input}: expected an error, got {answer}"));
            assert_names(error, plugin, says);
        } else {
            good(input, answer);
        }
    }
}

fn echoed(input: &str, answer: &Json) {
    assert_eq!(answer, &json!({ "ok": input }), "{input}");
}

fn kept_unchanged(input: &str, answer: &Json) {
    assert_eq!(answer["keep"]["fields"]["Name"], json!(input), "{answer}");
}

fn call_bound(deadlines: u64) -> Duration {
    ms(deadlines * DEADLINE_MS) + CALL_MARGIN
}

#[test]
fn call_transform_eight_looping_values_cost_about_two_deadlines_in_all() {
    let inputs = interleaved("loop", 8);
    let out = call(HOSTILE, &[], &values(&inputs));
    out.within(call_bound(2));
    check_answers(
        &out,
        &inputs,
        "loop",
        TRANSFORM,
        &["ran past its deadline of 500 ms and was stopped"],
        echoed,
    );
}

#[test]
fn call_transform_one_looping_value_costs_under_two_deadlines() {
    let inputs = interleaved("loop", 1);
    let out = call(HOSTILE, &[], &values(&inputs));
    out.within(call_bound(2));
    check_answers(
        &out,
        &inputs,
        "loop",
        TRANSFORM,
        &["ran past its deadline of 500 ms and was stopped"],
        echoed,
    );
}

#[test]
fn call_transform_ten_outputs_of_100_mib_fail_alone_and_memory_stays_bounded() {
    let inputs = interleaved("big:100", 10);
    let out = call(HOSTILE, &[], &values(&inputs));
    out.peak_under(PEAK);
    check_answers(
        &out,
        &inputs,
        "big:100",
        TRANSFORM,
        &["over the limit"],
        echoed,
    );
}

#[test]
fn call_transform_max_value_kib_sets_the_per_value_limit() {
    let inputs = interleaved("big:1", 2);
    let out = call(HOSTILE, &["--max-value-kib", "64"], &values(&inputs));
    check_answers(
        &out,
        &inputs,
        "big:1",
        TRANSFORM,
        &["over the limit"],
        echoed,
    );
}

#[test]
fn call_transform_a_batch_over_max_output_mib_is_split_and_every_value_comes_through() {
    // Six values of 2 MiB in one batch: 12 MiB, over the call's 8, each under 4 MiB a value.
    let mut inputs = vec!["big:2".to_owned(); 6];
    inputs.push("after".to_owned());
    let out = call(HOSTILE, &["--max-output-mib", "8"], &values(&inputs));
    out.succeeded();
    assert_eq!(out.lines.len(), 7, "{}", out.stderr);
    for (line, &len) in out.lines.iter().zip(&out.line_lengths).take(6) {
        assert!(line.starts_with(r#"{"ok":"xxxx"#), "{line:.100}");
        assert_eq!(len, (2 << 20) + r#"{"ok":""}"#.len());
    }
    assert_eq!(out.lines[6], r#"{"ok":"after"}"#);
}

#[test]
fn call_transform_memory_bomb_fails_its_value_alone() {
    let inputs = interleaved("memory", 2);
    let out = call(HOSTILE, &["--memory-mib", "64"], &values(&inputs));
    out.within(call_bound(2));
    check_answers(
        &out,
        &inputs,
        "memory",
        TRANSFORM,
        &["memory limit of 64 MiB"],
        echoed,
    );
}

#[test]
fn call_transform_panic_fails_its_value_alone() {
    let inputs = interleaved("trap", 2);
    let out = call(HOSTILE, &[], &values(&inputs));
    check_answers(&out, &inputs, "trap", TRANSFORM, &["boom"], echoed);
}

#[test]
fn call_transform_stack_overflow_fails_its_value_alone() {
    let inputs = interleaved("recurse", 2);
    let out = call(HOSTILE, &[], &values(&inputs));
    out.within(call_bound(2));
    check_answers(&out, &inputs, "recurse", TRANSFORM, &["trapped"], echoed);
}

/// A secret file outside anything granted, a listener nobody may reach, and the values that
/// try them.
struct Probes {
    _dir: tempfile::TempDir,
    secret_file: PathBuf,
    listener: std::net::TcpListener,
}

impl Probes {
    fn new() -> Probes {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_file = dir.path().join("secret.txt");
        std::fs::write(&secret_file, "the secret").expect("write");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Probes {
            _dir: dir,
            secret_file,
            listener,
        }
    }

    /// `file:`, `env:` (a variable the host has: `WASYNC_TEST_SECRET`), `env` and `socket:`.
    fn words(&self) -> Vec<String> {
        vec![
            format!("file:{}", self.secret_file.display()),
            "file:/etc/passwd".to_owned(),
            "env:WASYNC_TEST_SECRET".to_owned(),
            "env".to_owned(),
            format!("socket:{}", self.listener.local_addr().expect("addr")),
        ]
    }

    /// What a refused probe answers, by word: the error as text, no variable, none seen.
    fn refused(word: &str) -> Json {
        match word {
            "env:WASYNC_TEST_SECRET" => Json::Null,
            "env" => json!(0),
            _ => json!("error:"),
        }
    }

    fn check(&self, word: &str, answer: &Json) {
        match Probes::refused(word) {
            Json::String(prefix) => assert!(
                answer.as_str().is_some_and(|a| a.starts_with(&prefix)),
                "{word}: {answer}"
            ),
            other => assert_eq!(answer, &other, "{word}"),
        }
        let text = answer.to_string();
        assert!(
            !text.contains("the secret") && !text.contains("hunter2") && !text.contains("root:"),
            "{word} leaked: {text}"
        );
    }

    fn nothing_connected(&self) {
        assert!(
            self.listener.accept().is_err(),
            "no connection may reach us"
        );
    }
}

#[test]
fn call_transform_file_env_and_socket_are_refused() {
    let probes = Probes::new();
    let words = probes.words();
    let out = call(HOSTILE, &[], &values(&words));
    out.succeeded();
    for (word, answer) in words.iter().zip(out.json_lines()) {
        probes.check(word, &answer["ok"]);
    }
    probes.nothing_connected();
}

#[test]
fn call_entity_eight_looping_records_cost_about_two_deadlines_in_all() {
    let names = interleaved("loop", 8);
    let out = call(HOSTILE_ENTITY, &[], &records(&names));
    out.within(call_bound(2));
    check_answers(
        &out,
        &names,
        "loop",
        ENTITY,
        &["ran past its deadline of 500 ms and was stopped"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_one_looping_record_costs_under_two_deadlines() {
    let names = interleaved("loop", 1);
    let out = call(HOSTILE_ENTITY, &[], &records(&names));
    out.within(call_bound(2));
    check_answers(
        &out,
        &names,
        "loop",
        ENTITY,
        &["ran past its deadline of 500 ms and was stopped"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_ten_records_of_100_mib_fail_alone_and_memory_stays_bounded() {
    let names = interleaved("big:100", 10);
    let out = call(HOSTILE_ENTITY, &[], &records(&names));
    out.peak_under(PEAK);
    check_answers(
        &out,
        &names,
        "big:100",
        ENTITY,
        &["over the limit"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_a_record_with_half_a_million_fields_fails_alone() {
    // Making half a million fields takes the plugin most of a second: a deadline that
    // leaves the output limit, not the deadline, to stop it.
    let names = interleaved("many:500000", 1);
    let out = call_with(HOSTILE_ENTITY, 5000, &[], &records(&names));
    out.peak_under(PEAK);
    check_answers(
        &out,
        &names,
        "many:500000",
        ENTITY,
        &["over the limit"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_memory_bomb_fails_its_record_alone() {
    let names = interleaved("memory", 2);
    let out = call(HOSTILE_ENTITY, &["--memory-mib", "64"], &records(&names));
    check_answers(
        &out,
        &names,
        "memory",
        ENTITY,
        &["memory limit of 64 MiB"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_panic_fails_its_record_alone() {
    let names = interleaved("trap", 2);
    let out = call(HOSTILE_ENTITY, &[], &records(&names));
    check_answers(&out, &names, "trap", ENTITY, &["boom"], kept_unchanged);
}

#[test]
fn call_entity_stack_overflow_fails_its_record_alone() {
    let names = interleaved("recurse", 2);
    let out = call(HOSTILE_ENTITY, &[], &records(&names));
    out.within(call_bound(2));
    check_answers(
        &out,
        &names,
        "recurse",
        ENTITY,
        &["trapped"],
        kept_unchanged,
    );
}

#[test]
fn call_entity_file_env_and_socket_are_refused() {
    let probes = Probes::new();
    let words = probes.words();
    let out = call(HOSTILE_ENTITY, &[], &records(&words));
    out.succeeded();
    for (word, answer) in words.iter().zip(out.json_lines()) {
        probes.check(word, &answer["keep"]["fields"]["Name"]);
    }
    probes.nothing_connected();
}

// ----------------------------------------------------------------------------------------
// (c) `wasync sync --once` and `wasync quarantine replay` on a pipeline file.
// ----------------------------------------------------------------------------------------

/// Where the hostile plugin sits in the pipeline.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A field transform on `Name`, in the source's field pipeline.
    Transform,
    /// An entity function in the source's entity pipeline (reading `Name`).
    Entity,
    /// The pipeline's merge policy.
    Merge,
}

impl Place {
    fn plugin(self) -> &'static str {
        match self {
            Place::Transform => TRANSFORM,
            Place::Entity => ENTITY,
            Place::Merge => MERGE,
        }
    }

    fn stage(self) -> &'static str {
        match self {
            Place::Transform => "source-fields",
            Place::Entity => "source-entity",
            Place::Merge => "merge",
        }
    }
}

/// The two JSON Lines connectors every pipeline here uses: `files` reads `in/things.jsonl`,
/// `out` writes `out/things.jsonl`.
const FILES: &str = r#"
store = "wasync.db"

[connectors.files]
plugin = "jsonl"
dirs = [{ host = "in", guest = "/data" }]
[connectors.files.settings.entities.Thing]
file = "things.jsonl"
id_field = "Id"
watermark_field = "Modified"

[connectors.out]
plugin = "jsonl"
dirs = [{ host = "out", guest = "/data" }]
[connectors.out.settings.entities.Thing]
file = "things.jsonl"
id_field = "Id"
watermark_field = "Modified"
upsert_key = "wasync_id"
"#;

const PIPELINE: &str = r#"
[[pipeline]]
name = "things"
entity = "Thing"
batch_size = 100
"#;

const TO_OUT: &str = r#"
[[pipeline.destination]]
connector = "out"
entity = "Thing"
external_id_field = "wasync_id"
[pipeline.destination.fields]
Name = "Name"
Tag = "Tag"
"#;

/// The `files` source, with `functions` and the mapping of `Name` as given.
fn from_files(functions: &str, name: &str) -> String {
    format!(
        r#"
[[pipeline.source]]
connector = "files"
entity = "Thing"
{functions}
[pipeline.source.fields]
Name = {name}
Tag = "Tag"
"#
    )
}

/// A pipeline folder: `in/things.jsonl` with a record per name, the pipeline file, `out/`.
struct Things {
    dir: tempfile::TempDir,
}

impl Things {
    /// A pipeline from `files` to `out` with the hostile plugin at `place`.
    fn new(place: Place, names: &[String]) -> Things {
        let config = match place {
            Place::Transform => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}",
                from_files(
                    "",
                    &format!("{{ from = \"Name\", transforms = [{{ plugin = {HOSTILE:?} }}] }}")
                )
            ),
            Place::Entity => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}",
                from_files(
                    &format!("functions = [{{ plugin = {HOSTILE_ENTITY:?} }}]"),
                    "\"Name\""
                )
            ),
            Place::Merge => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}\n[pipeline.merge]\nplugin = {HOSTILE_MERGE:?}\n",
                from_files("", "\"Name\"")
            ),
        };
        Things::with_config(&config, names)
    }

    /// A folder with this pipeline file and a record per name in `in/things.jsonl`: ids `r0`..,
    /// `Tag` `t0`.., `Modified` 1...
    fn with_config(config: &str, names: &[String]) -> Things {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("in")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
        let lines: String = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"Id": format!("r{i}"), "Name": name, "Tag": format!("t{i}"), "Modified": i + 1})
                    .to_string()
                    + "\n"
            })
            .collect();
        std::fs::write(dir.path().join("in/things.jsonl"), lines).expect("write records");
        std::fs::write(dir.path().join("wasync.toml"), config).expect("write config");
        Things { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("wasync.toml")
    }

    /// `wasync ARGS --config FILE --deadline-ms MS`, under the hard limit.
    fn run(&self, args: &[&str], deadline_ms: u64) -> Finished {
        let deadline = deadline_ms.to_string();
        let mut command = wasync();
        command
            .args(args)
            .arg("--config")
            .arg(self.config())
            .args(["--deadline-ms", &deadline]);
        bounded::run(&mut command, "", HARD_LIMIT)
    }

    /// `wasync sync --once` with `--deadline-ms`.
    fn sync(&self, deadline_ms: u64, extra: &[&str]) -> Finished {
        let mut args = vec!["sync", "--once"];
        args.extend(extra);
        self.run(&args, deadline_ms)
    }

    /// `wasync quarantine list --json`.
    fn quarantine(&self) -> Vec<Json> {
        let mut command = wasync();
        command
            .args(["quarantine", "list", "--json", "--config"])
            .arg(self.config());
        let out = bounded::run(&mut command, "", HARD_LIMIT);
        out.succeeded();
        out.json_lines()
    }

    /// The quarantined entries of `stage`; fails the test if another stage has any.
    fn quarantined_at(&self, stage: &str) -> Vec<Json> {
        let all = self.quarantine();
        assert!(
            all.iter().all(|q| q["stage"] == stage),
            "only stage {stage} expected: {all:?}"
        );
        all
    }

    /// The `Name`s written to `out/things.jsonl`, sorted.
    fn written(&self) -> Vec<String> {
        let mut names: Vec<String> = service::lines(&self.dir.path().join("out/things.jsonl"))
            .iter()
            .map(|r| match &r["Name"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        names.sort();
        names
    }

    /// The last cycle's counts, from `wasync status --json`.
    fn counts(&self) -> Json {
        let mut command = wasync();
        command
            .args(["status", "--json", "--config"])
            .arg(self.config());
        let out = bounded::run(&mut command, "", HARD_LIMIT);
        out.succeeded();
        let status: Json = serde_json::from_str(&out.lines.join("\n")).expect("status is JSON");
        status["pipelines"][0]["last_cycle"]["counts"].clone()
    }
}

fn sync_bound(deadline_ms: u64, deadlines: u64) -> Duration {
    ms(deadlines * deadline_ms) + SYNC_MARGIN
}

/// The good names of `names` (those that are not `bad`), sorted.
fn good(names: &[String], bad: &str) -> Vec<String> {
    let mut good: Vec<String> = names.iter().filter(|n| *n != bad).cloned().collect();
    good.sort();
    good
}

/// One cycle over good records and `copies` records named `bad`, with the hostile plugin at
/// `place`: the cycle ends within about two deadlines, each bad record is quarantined at
/// the place's stage with a reason naming the plugin and saying `says`, every good record
/// reaches the destination, and the host's memory stays bounded.
fn sync_quarantines(place: Place, bad: &str, copies: usize, says: &[&str], extra: &[&str]) {
    let bound = sync_bound(DEADLINE_MS, 2);
    sync_quarantines_with(place, bad, copies, says, extra, DEADLINE_MS, bound);
}

/// [`sync_quarantines`] with `--deadline-ms DEADLINE_MS`, within `bound`.
fn sync_quarantines_with(
    place: Place,
    bad: &str,
    copies: usize,
    says: &[&str],
    extra: &[&str],
    deadline_ms: u64,
    bound: Duration,
) {
    let names = interleaved(bad, copies);
    let things = Things::new(place, &names);
    let out = things.sync(deadline_ms, extra);
    out.within(bound).succeeded().peak_under(PEAK);
    let quarantined = things.quarantined_at(place.stage());
    assert_eq!(quarantined.len(), copies, "{quarantined:?}");
    for entry in &quarantined {
        assert_names(
            entry["reason"].as_str().unwrap_or_default(),
            place.plugin(),
            says,
        );
    }
    assert_eq!(
        things.written(),
        good(&names, bad),
        "the good records go on"
    );
}

#[test]
fn sync_transform_eight_looping_values_cost_about_two_deadlines() {
    // A deadline of a second, so that a deadline per value (9 s) cannot pass for two (5 s).
    sync_quarantines_with(
        Place::Transform,
        "loop",
        8,
        &["ran past its deadline of 1000 ms"],
        &[],
        1000,
        sync_bound(1000, 2),
    );
}

#[test]
fn sync_transform_one_looping_value_is_stopped_at_its_deadline() {
    sync_quarantines(
        Place::Transform,
        "loop",
        1,
        &["ran past its deadline of 500 ms"],
        &[],
    );
}

#[test]
fn sync_transform_memory_bomb_is_quarantined() {
    sync_quarantines(
        Place::Transform,
        "memory",
        1,
        &["memory limit of 64 MiB"],
        &["--memory-mib", "64"],
    );
}

#[test]
fn sync_transform_panic_is_quarantined() {
    sync_quarantines(Place::Transform, "trap", 1, &["boom"], &[]);
}

#[test]
fn sync_transform_stack_overflow_is_quarantined() {
    sync_quarantines(Place::Transform, "recurse", 1, &["trapped"], &[]);
}

#[test]
fn sync_transform_ten_outputs_of_100_mib_are_quarantined_and_memory_stays_bounded() {
    sync_quarantines_with(
        Place::Transform,
        "big:100",
        10,
        &["over the limit"],
        &[],
        DEADLINE_MS,
        OUTPUT_BOUND,
    );
}

#[test]
fn sync_transform_max_value_kib_sets_the_per_value_limit() {
    sync_quarantines(
        Place::Transform,
        "big:1",
        1,
        &["over the limit"],
        &["--max-value-kib", "64"],
    );
}

#[test]
fn sync_entity_eight_looping_records_cost_about_two_deadlines() {
    sync_quarantines_with(
        Place::Entity,
        "loop",
        8,
        &["ran past its deadline of 1000 ms"],
        &[],
        1000,
        sync_bound(1000, 2),
    );
}

#[test]
fn sync_entity_one_looping_record_is_stopped_at_its_deadline() {
    sync_quarantines(
        Place::Entity,
        "loop",
        1,
        &["ran past its deadline of 500 ms"],
        &[],
    );
}

#[test]
fn sync_entity_memory_bomb_is_quarantined() {
    sync_quarantines(
        Place::Entity,
        "memory",
        1,
        &["memory limit of 64 MiB"],
        &["--memory-mib", "64"],
    );
}

#[test]
fn sync_entity_panic_is_quarantined() {
    sync_quarantines(Place::Entity, "trap", 1, &["boom"], &[]);
}

#[test]
fn sync_entity_stack_overflow_is_quarantined() {
    sync_quarantines(Place::Entity, "recurse", 1, &["trapped"], &[]);
}

#[test]
fn sync_entity_ten_records_of_100_mib_are_quarantined_and_memory_stays_bounded() {
    sync_quarantines_with(
        Place::Entity,
        "big:100",
        10,
        &["over the limit"],
        &[],
        DEADLINE_MS,
        OUTPUT_BOUND,
    );
}

#[test]
fn sync_entity_a_record_with_half_a_million_fields_is_quarantined() {
    // A deadline that leaves the output limit, not the deadline, to stop it.
    sync_quarantines_with(
        Place::Entity,
        "many:500000",
        1,
        &["over the limit"],
        &[],
        5000,
        OUTPUT_BOUND,
    );
}

#[test]
fn sync_entity_error_value_is_quarantined() {
    sync_quarantines(Place::Entity, "fail:no thanks", 1, &["no thanks"], &[]);
}

#[test]
fn sync_merge_match_keys_loop_is_quarantined_at_merge() {
    sync_quarantines(
        Place::Merge,
        "loop",
        1,
        &["ran past its deadline of 500 ms"],
        &[],
    );
}

#[test]
fn sync_merge_match_keys_memory_bomb_is_quarantined_at_merge() {
    sync_quarantines(
        Place::Merge,
        "memory",
        1,
        &["memory limit of 64 MiB"],
        &["--memory-mib", "64"],
    );
}

#[test]
fn sync_merge_match_keys_panic_is_quarantined_at_merge() {
    sync_quarantines(Place::Merge, "trap", 1, &["boom"], &[]);
}

#[test]
fn sync_merge_match_keys_stack_overflow_is_quarantined_at_merge() {
    sync_quarantines(Place::Merge, "recurse", 1, &["trapped"], &[]);
}

#[test]
fn sync_merge_ten_keys_of_100_mib_are_quarantined_and_memory_stays_bounded() {
    sync_quarantines_with(
        Place::Merge,
        "big:100",
        10,
        &["over the limit"],
        &[],
        DEADLINE_MS,
        OUTPUT_BOUND,
    );
}

#[test]
fn sync_merge_300000_keys_for_one_record_are_quarantined() {
    sync_quarantines_with(
        Place::Merge,
        "many:300000",
        1,
        &["over the limit"],
        &[],
        DEADLINE_MS,
        OUTPUT_BOUND,
    );
}

/// Two records named `word` make a group whose `resolve` misbehaves: the group is
/// quarantined at `merge` naming the plugin, the other records are written.
fn sync_merge_resolve_quarantines(word: &str, says: &[&str]) {
    let mut names = interleaved(word, 2);
    names.push("Acme".into());
    let things = Things::new(Place::Merge, &names);
    let out = things.sync(DEADLINE_MS, &[]);
    out.within(sync_bound(DEADLINE_MS, 2)).succeeded();
    let quarantined = things.quarantined_at("merge");
    assert!(!quarantined.is_empty(), "the group is quarantined");
    for entry in &quarantined {
        assert_names(entry["reason"].as_str().unwrap_or_default(), MERGE, says);
    }
    assert_eq!(things.written(), good(&names, word));
}

#[test]
fn sync_merge_resolve_loop_is_quarantined_at_merge() {
    sync_merge_resolve_quarantines("resolve:loop", &["ran past its deadline of 500 ms"]);
}

#[test]
fn sync_merge_resolve_panic_is_quarantined_at_merge() {
    sync_merge_resolve_quarantines("resolve:trap", &["boom"]);
}

/// One cycle whose records probe files, environment and sockets through the plugin at
/// `place`: every record is written, with the refusals as their `Name`s and nothing leaked.
fn sync_probes_are_refused(place: Place) {
    let probes = Probes::new();
    let words = probes.words();
    let things = Things::new(place, &words);
    things.sync(DEADLINE_MS, &[]).succeeded();
    assert!(things.quarantine().is_empty());
    let written = service::lines(&things.dir.path().join("out/things.jsonl"));
    assert_eq!(written.len(), words.len(), "{written:?}");
    for record in &written {
        let tag = record["Tag"].as_str().expect("a Tag");
        let i: usize = tag[1..].parse().expect("tN");
        probes.check(&words[i], &record["Name"]);
    }
    probes.nothing_connected();
}

#[test]
fn sync_transform_file_env_and_socket_are_refused() {
    sync_probes_are_refused(Place::Transform);
}

#[test]
fn sync_entity_file_env_and_socket_are_refused() {
    sync_probes_are_refused(Place::Entity);
}

#[test]
fn sync_merge_file_env_and_socket_are_refused() {
    // The merge policy's keys carry what it found; the records themselves go on unchanged,
    // so what matters is that the cycle went on and nothing connected.
    let probes = Probes::new();
    // Without `/etc/passwd`: both files are refused with the same error, so their keys
    // would be equal and the two records merged.
    let words: Vec<String> = probes
        .words()
        .into_iter()
        .filter(|w| w != "file:/etc/passwd")
        .collect();
    let things = Things::new(Place::Merge, &words);
    things.sync(DEADLINE_MS, &[]).succeeded();
    assert!(things.quarantine().is_empty());
    let mut expected = words.clone();
    expected.sort();
    assert_eq!(things.written(), expected);
    probes.nothing_connected();
}

/// The hostile connector as a second source named `hostile`, with `settings`, beside
/// `files`.
fn with_hostile_source(settings: &Json) -> String {
    format!(
        "{FILES}\n[connectors.hostile]\nplugin = {HOSTILE_CONNECTOR:?}\nsettings = {}\n{PIPELINE}{}\n\
         [[pipeline.source]]\nconnector = \"hostile\"\nentity = \"Thing\"\n\
         [pipeline.source.fields]\nName = \"Name\"\n{TO_OUT}",
        toml_inline(settings),
        from_files("", "\"Name\""),
    )
}

/// A JSON object as a TOML inline table.
fn toml_inline(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k:?} = {}", toml_inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A cycle with a misbehaving source connector beside a good one: it ends within
/// `deadlines` deadlines and a margin, and non-zero, saying what `says` and naming the
/// connector plugin; the good source's records are written.
fn sync_source_fails(settings: Json, deadlines: u64, says: &[&str]) -> Things {
    let goods: Vec<String> = (0..5).map(|i| format!("good-{i}")).collect();
    let things = Things::with_config(&with_hostile_source(&settings), &goods);
    let out = things.sync(DEADLINE_MS, &[]);
    out.within(sync_bound(DEADLINE_MS, deadlines))
        .peak_under(PEAK);
    assert!(
        !out.ended().success(),
        "a source that failed must fail the command:\n{}",
        out.stderr
    );
    assert_names(&out.stderr, CONNECTOR, says);
    let written = things.written();
    for name in &goods {
        assert!(
            written.contains(name),
            "{name} from the good source: {written:?}"
        );
    }
    things
}

#[test]
fn sync_connector_read_that_never_returns_fails_its_source_within_the_deadline() {
    sync_source_fails(
        json!({"entity": "Thing", "count": 5, "read": "loop"}),
        1,
        &["ran past its deadline of 500 ms"],
    );
}

#[test]
fn sync_connector_read_of_more_records_than_asked_fails_its_source() {
    // The pipeline asks for 100 at most.
    let things = sync_source_fails(
        json!({"entity": "Thing", "count": 5, "read": "many:1000"}),
        1,
        &[],
    );
    assert!(
        !things.written().iter().any(|n| n.starts_with("name-")),
        "nothing of the failed read is taken"
    );
}

#[test]
fn sync_connector_read_panic_fails_its_source() {
    sync_source_fails(
        json!({"entity": "Thing", "count": 5, "read": "trap"}),
        1,
        &["boom"],
    );
}

#[test]
fn sync_connector_read_of_a_100_mib_record_is_refused_and_memory_stays_bounded() {
    let goods: Vec<String> = (0..5).map(|i| format!("good-{i}")).collect();
    let settings = json!({"entity": "Thing", "count": 5, "read": "big:100"});
    let things = Things::with_config(&with_hostile_source(&settings), &goods);
    let out = things.sync(DEADLINE_MS, &[]);
    out.within(OUTPUT_BOUND).peak_under(PEAK);
    // Refused as a failed read (stderr) or as a quarantined record: either way named.
    let said = format!("{}\n{:?}", out.stderr, things.quarantine());
    assert_names(&said, CONNECTOR, &["over the limit"]);
    let written = things.written();
    for name in &goods {
        assert!(written.contains(name), "{name}: {written:?}");
    }
    assert!(
        written.iter().all(|n| n.len() < 1000),
        "no huge record written"
    );
}

#[test]
fn sync_connector_describe_that_never_returns_stops_the_start_within_the_deadline() {
    let settings = json!({"entity": "Thing", "describe": "loop"});
    let things = Things::with_config(&with_hostile_source(&settings), &["good-0".to_owned()]);
    let out = things.sync(DEADLINE_MS, &[]);
    out.within(sync_bound(DEADLINE_MS, 1));
    assert!(!out.ended().success());
    assert_names(
        &out.stderr,
        CONNECTOR,
        &["external.describe", "ran past its deadline of 500 ms"],
    );
}

/// A pipeline from `files` to the hostile connector as the destination `sink`.
fn to_hostile_sink(names: &[String]) -> Things {
    let config = format!(
        "{FILES}\n[connectors.sink]\nplugin = {HOSTILE_CONNECTOR:?}\nsettings = {{ entity = \"Thing\" }}\n\
         {PIPELINE}{}\n[[pipeline.destination]]\nconnector = \"sink\"\nentity = \"Thing\"\n\
         [pipeline.destination.fields]\nName = \"Name\"\n",
        from_files("", "\"Name\""),
    );
    Things::with_config(&config, names)
}

/// A cycle writing good records and one named `bad` to the hostile sink: the bad one is
/// quarantined at `write` naming the plugin, the others are written.
fn sync_write_quarantines(bad: &str, says: &[&str], bound: Duration) {
    let names = interleaved(bad, 1);
    let things = to_hostile_sink(&names);
    let out = things.sync(DEADLINE_MS, &[]);
    out.within(bound).succeeded().peak_under(PEAK);
    let quarantined = things.quarantined_at("write");
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_names(
        quarantined[0]["reason"].as_str().unwrap_or_default(),
        CONNECTOR,
        says,
    );
    assert_eq!(things.counts()["written"], json!(names.len() - 1));
}

#[test]
fn sync_connector_write_that_never_returns_is_quarantined() {
    sync_write_quarantines(
        "loop",
        &["ran past its deadline of 500 ms"],
        sync_bound(DEADLINE_MS, 2),
    );
}

#[test]
fn sync_connector_write_panic_is_quarantined() {
    sync_write_quarantines("trap", &["boom"], sync_bound(DEADLINE_MS, 2));
}

#[test]
fn sync_connector_write_of_a_100_mib_id_is_quarantined() {
    sync_write_quarantines("big:100", &["over the limit"], OUTPUT_BOUND);
}

#[test]
fn replay_stops_a_looping_plugin_within_its_deadline() {
    // First the entity function reads `Tag` and refuses the record; then it reads `Name`,
    // which says `loop`, and the replay must stop it.
    let mut names = interleaved("loop", 1);
    names.push("Acme".into());
    let config = format!(
        "{FILES}{PIPELINE}{}{TO_OUT}",
        from_files(
            &format!(
                "functions = [{{ plugin = {HOSTILE_ENTITY:?}, config = {{ field = \"Tag\" }} }}]"
            ),
            "\"Name\""
        )
    );
    let things = Things::with_config(&config, &names);
    let loop_tag = "t1";
    let jsonl = things.dir.path().join("in/things.jsonl");
    let records = std::fs::read_to_string(&jsonl).expect("read");
    std::fs::write(
        &jsonl,
        records.replace(&format!("\"{loop_tag}\""), "\"fail:first pass\""),
    )
    .expect("write");
    things
        .sync(DEADLINE_MS, &[])
        .within(sync_bound(DEADLINE_MS, 1))
        .succeeded();
    let first = things.quarantined_at("source-entity");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_names(
        first[0]["reason"].as_str().unwrap_or_default(),
        ENTITY,
        &["first pass"],
    );

    std::fs::write(
        things.config(),
        config.replace("field = \"Tag\"", "field = \"Name\""),
    )
    .expect("edit config");
    let out = things.run(&["quarantine", "replay"], DEADLINE_MS);
    out.within(sync_bound(DEADLINE_MS, 2)).succeeded();
    let again = things.quarantined_at("source-entity");
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["attempts"], 2, "{again:?}");
    assert_names(
        again[0]["reason"].as_str().unwrap_or_default(),
        ENTITY,
        &["ran past its deadline of 500 ms"],
    );
}

// ----------------------------------------------------------------------------------------
// (d) `wasync serve`: one pipeline's stuck plugin does not delay another's.
// ----------------------------------------------------------------------------------------

/// Orders (through the hostile transform on `status`) and page views, both by webhook.
fn two_pipelines(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("out")).expect("out dir");
    let text = format!(
        r#"
store = "wasync.db"

[connectors.events]
plugin = "webhook"
settings.entities.PageView = {{ kind = "event" }}
settings.entities.Order = {{ kind = "object", id_field = "order_id", watermark_field = "updated_at" }}
webhook = {{ secret_env = "WASYNC_TEST_SECRET", max_body_bytes = 65536 }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.PageView = {{ file = "pageviews.jsonl", id_field = "id", watermark_field = "at", kind = "event", upsert_key = "wasync_id" }}
settings.entities.Order = {{ file = "orders.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }}

[[pipeline]]
name = "orders"
entity = "Order"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "Order"
fields = {{ status = {{ from = "status", transforms = [{{ plugin = {HOSTILE:?} }}] }}, total = "total" }}

[[pipeline.destination]]
connector = "out"
entity = "Order"
external_id_field = "wasync_id"
fields = {{ status = "status", total = "total" }}

[[pipeline]]
name = "pageviews"
entity = "PageView"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "PageView"
fields = {{ url = "url", user = "user" }}

[[pipeline.destination]]
connector = "out"
entity = "PageView"
external_id_field = "wasync_id"
fields = {{ url = "url", user = "user" }}
"#
    );
    let path = dir.join("wasync.toml");
    std::fs::write(&path, text).expect("write the pipeline file");
    path
}

#[test]
fn serve_a_plugin_stuck_in_one_pipeline_does_not_delay_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = two_pipelines(dir.path());
    let service = service::Service::start_with(
        &config,
        "127.0.0.1:0",
        &["--deadline-ms", "5000"],
        &[("WASYNC_CACHE_DIR", cache_dir().to_str().expect("utf-8"))],
    );
    let order = |id: &str, status: &str| {
        let body = json!({"entity": "Order", "data": {
            "order_id": id, "status": status, "total": 12.5,
            "updated_at": "2026-11-01T09:30:00Z"}})
        .to_string()
        .into_bytes();
        let headers =
            wasync_standins::webhooks::standard_headers(service::SECRET, &format!("o-{id}"), &body);
        service.post("events", &body, &headers)
    };
    let (status, answer) = order("o-1", "loop");
    assert_eq!(status, 200, "{answer}");
    // Let the orders pipeline's micro-batch start and get stuck in the plugin.
    std::thread::sleep(ms(300));

    let views = dir.path().join("out/pageviews.jsonl");
    let mut latencies = Vec::new();
    for i in 0..3 {
        let url = format!("/p{i}");
        let (status, answer) = service.page_view(&format!("pv-{i}"), &url);
        assert_eq!(status, 200, "{answer}");
        let posted = Instant::now();
        assert!(
            service::eventually(Duration::from_secs(30), || {
                service::lines(&views)
                    .iter()
                    .any(|v| v["url"] == url.as_str())
            }),
            "page view {url} never arrived"
        );
        latencies.push(posted.elapsed());
        std::thread::sleep(ms(200));
    }
    assert!(
        latencies.iter().all(|l| *l < Duration::from_secs(1)),
        "page views waited for the orders pipeline's stuck plugin: {latencies:?}"
    );

    // The stuck order is stopped at its deadline and quarantined, naming the plugin; the
    // orders pipeline goes on with the next order.
    let quarantine = || {
        let mut command = wasync();
        command
            .args(["quarantine", "list", "--json", "--config"])
            .arg(&config);
        bounded::run(&mut command, "", HARD_LIMIT).json_lines()
    };
    assert!(
        service::eventually(Duration::from_secs(30), || !quarantine().is_empty()),
        "the stuck order was never quarantined"
    );
    let entries = quarantine();
    assert_eq!(entries[0]["stage"], "source-fields", "{entries:?}");
    assert_names(
        entries[0]["reason"].as_str().unwrap_or_default(),
        TRANSFORM,
        &["ran past its deadline of 5000 ms"],
    );
    let (status, answer) = order("o-2", "paid");
    assert_eq!(status, 200, "{answer}");
    let orders = dir.path().join("out/orders.jsonl");
    assert!(
        service::eventually(Duration::from_secs(30), || {
            service::lines(&orders)
                .iter()
                .any(|o| o["status"] == "paid")
        }),
        "the next order never arrived"
    );
    assert_eq!(service.terminate().code(), Some(0));
}
