//! The library API of a merge policy (`hostile-merge`): `match-keys` and `resolve`.

use super::{record, runtime, text};
use crate::{MERGE, assert_names, ms};
use std::time::Instant;
use wasync::plugin::bindings::merge_policy::exports::wasync::plugin::merge::Candidate;
use wasync::plugin::{Grants, Policy, Runtime};
use wasync::{Field, Record, Value};
use wasync_test_guests::HOSTILE_MERGE;

fn policy(runtime: &Runtime) -> Policy {
    let plugin = runtime.load(HOSTILE_MERGE).expect("hostile-merge loads");
    runtime
        .instance(&plugin, "{}", Grants::default())
        .expect("configures")
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
