//! The library API of an entity function (`hostile-entity`).

use super::{failure, field, record, runtime, text};
use crate::{ENTITY, assert_names, interleaved, ms};
use std::time::Instant;
use wasync::plugin::bindings::entity_function::exports::wasync::plugin::entity::Outcome;
use wasync::plugin::{Failure, Function, Grants, Runtime};
use wasync::{PluginErrorValue, Record, Value};
use wasync_test_guests::HOSTILE_ENTITY;

fn function(runtime: &Runtime) -> Function {
    let plugin = runtime.load(HOSTILE_ENTITY).expect("hostile-entity loads");
    runtime
        .instance(&plugin, "{}", Grants::default())
        .expect("configures")
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
