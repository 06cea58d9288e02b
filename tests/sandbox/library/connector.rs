//! The library API of a connector (`hostile-connector`): `describe`, `read` and `write`.

use super::{failure, field, runtime, text};
use crate::{CONNECTOR, assert_names, ms};
use serde_json::{Value as Json, json};
use std::time::Instant;
use wasync::plugin::bindings::connector::exports::wasync::plugin::external::{
    Change, Cursor, ReadRequest, Upsert,
};
use wasync::plugin::{Grants, Runtime, System};
use wasync::{Field, PluginErrorValue, Value};
use wasync_test_guests::HOSTILE_CONNECTOR;

fn system(runtime: &Runtime, config: Json) -> System {
    let plugin = runtime
        .load(HOSTILE_CONNECTOR)
        .expect("hostile-connector loads");
    runtime
        .instance(&plugin, &config.to_string(), Grants::default())
        .expect("configures")
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
