//! The plugin runtime against real compiled components: world detection, refusals, the
//! sandbox (deadline, memory cap, traps, no filesystem or environment unless granted, denied
//! capabilities), fresh instances after a failure, and the compile cache.

use std::path::Path;
use std::time::Duration;
use wasync::plugin::bindings::connector::exports::wasync::plugin::external::ReadRequest;
use wasync::plugin::bindings::entity_function::exports::wasync::plugin::entity::Outcome;
use wasync::plugin::{
    Cache, CallError, DirGrant, Failure, Function, Grants, Limits, LoadError, Origin, Runtime,
    RuntimeOptions, System, Transformer, World,
};
use wasync::{Field, PluginErrorValue, Record, Value};
use wasync_test_guests::{HOSTILE, HTTP_PROBE, LOOKUP_PROBE};

fn runtime_with(limits: Limits) -> Runtime {
    Runtime::new(RuntimeOptions {
        limits,
        cache: Cache::off(),
    })
    .expect("runtime")
}

fn runtime() -> Runtime {
    runtime_with(Limits {
        memory: 64 << 20,
        deadline: Duration::from_millis(500),
        ..Limits::default()
    })
}

fn hostile(runtime: &Runtime, config: &str) -> Transformer {
    let plugin = runtime.load(HOSTILE).expect("hostile loads");
    runtime
        .transformer(&plugin, config)
        .expect("hostile configures")
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Applies one value and returns its result, failing the test on a call error.
fn one(transform: &mut Transformer, value: Value) -> Result<Value, PluginErrorValue> {
    let mut results = transform.apply(&[value]).expect("call succeeds");
    results.pop().expect("one result")
}

/// The next call after a failure works: the host went on and made a fresh instance.
fn still_serves(transform: &mut Transformer) {
    assert_eq!(one(transform, text("hello")), Ok(text("hello")));
}

#[test]
fn first_party_plugin_reports_its_world_version_and_imports() {
    let runtime = runtime();
    let plugin = runtime.load("extract-domain").expect("built in");
    let interface = plugin.interface();
    assert_eq!(interface.world, World::FieldTransform);
    assert_eq!(interface.version, "0.2.0");
    assert_eq!(interface.exports, ["wasync:plugin/transform@0.2.0"]);
    assert!(
        interface
            .imports
            .iter()
            .any(|i| i == "wasync:plugin/types@0.2.0"),
        "{:?}",
        interface.imports
    );
    let hostile = runtime.load(HOSTILE).expect("loads");
    assert!(
        hostile
            .interface()
            .imports
            .iter()
            .any(|i| i == "wasync:plugin/log@0.2.0")
    );
    assert_eq!(plugin.digest().len(), 64);
}

#[test]
fn endless_loop_is_stopped_at_the_deadline_and_the_next_call_works() {
    let runtime = runtime_with(Limits {
        memory: 64 << 20,
        deadline: Duration::from_millis(200),
        ..Limits::default()
    });
    let mut transform = hostile(&runtime, "{}");
    let started = std::time::Instant::now();
    let error = transform
        .apply(&[text("loop")])
        .expect_err("the loop must be stopped");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped late: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, CallError::Deadline { ref plugin, call: "transform.apply", .. } if plugin == "hostile"),
        "{error}"
    );
    assert!(error.to_string().contains("deadline of 200 ms"), "{error}");
    still_serves(&mut transform);
}

#[test]
fn a_loop_hidden_in_a_large_batch_costs_at_most_one_more_deadline_to_find() {
    let deadline = Duration::from_millis(400);
    let runtime = runtime_with(Limits {
        memory: 64 << 20,
        deadline,
        ..Limits::default()
    });
    let mut transform = hostile(&runtime, "{}");
    let mut values: Vec<Value> = (0..1000).map(|i| text(&format!("v{i}"))).collect();
    values[637] = text("loop");
    values[200] = text("trap");
    let started = std::time::Instant::now();
    let results = transform.apply_each(&values);
    let took = started.elapsed();
    // The batch's deadline, one more to take it apart and 50 ms per halving (ten here):
    // never a deadline per value.
    assert!(
        took < deadline * 2 + Duration::from_millis(800),
        "took {took:?}"
    );
    assert_eq!(results.len(), values.len());
    for (i, result) in results.iter().enumerate() {
        match i {
            637 => assert!(
                matches!(result, Err(Failure::Crashed(CallError::Deadline { .. }))),
                "{result:?}"
            ),
            200 => assert!(
                matches!(result, Err(Failure::Crashed(CallError::Trap { .. }))),
                "{result:?}"
            ),
            _ => assert_eq!(
                result.as_ref().ok(),
                Some(&text(&format!("v{i}"))),
                "value {i}"
            ),
        }
    }
}

#[test]
fn a_batch_where_every_value_loops_fails_whole_within_two_deadlines() {
    let deadline = Duration::from_millis(300);
    let runtime = runtime_with(Limits {
        memory: 64 << 20,
        deadline,
        ..Limits::default()
    });
    let mut transform = hostile(&runtime, "{}");
    let values = vec![text("loop"); 64];
    let started = std::time::Instant::now();
    let results = transform.apply_each(&values);
    let took = started.elapsed();
    assert!(
        took < deadline * 2 + Duration::from_millis(500),
        "took {took:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Failure::Crashed(CallError::Deadline { .. })))),
        "{results:?}"
    );
    still_serves(&mut transform);
}

#[test]
fn memory_bomb_hits_the_cap_and_the_next_call_works() {
    let runtime = runtime();
    let mut transform = hostile(&runtime, "{}");
    let error = transform
        .apply(&[text("memory")])
        .expect_err("the cap must hold");
    assert!(
        matches!(error, CallError::MemoryLimit { limit, .. } if limit == 64 << 20),
        "{error}"
    );
    assert!(
        error.to_string().contains("memory limit of 64 MiB"),
        "{error}"
    );
    still_serves(&mut transform);
}

#[test]
fn a_panic_becomes_a_trap_error_with_the_plugins_message() {
    let runtime = runtime();
    let mut transform = hostile(&runtime, "{}");
    let error = transform.apply(&[text("trap")]).expect_err("a panic traps");
    let CallError::Trap {
        plugin,
        call,
        reason,
    } = &error
    else {
        panic!("expected a trap, got {error}");
    };
    assert_eq!((plugin.as_str(), *call), ("hostile", "transform.apply"));
    assert!(
        reason.contains("boom"),
        "the panic message is shown: {reason}"
    );
    still_serves(&mut transform);
}

#[test]
fn one_bad_value_fails_alone_when_the_batch_is_isolated() {
    let runtime = runtime();
    let mut transform = hostile(&runtime, "{}");
    let batch = [text("a"), text("trap"), text("fail:nope"), text("b")];
    let results = transform.apply_each(&batch);
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().ok(), Some(&text("a")));
    assert!(
        results[1]
            .as_ref()
            .is_err_and(|e| e.to_string().contains("boom"))
    );
    assert!(
        results[2]
            .as_ref()
            .is_err_and(|e| e.to_string() == "invalid input: nope")
    );
    assert_eq!(results[3].as_ref().ok(), Some(&text("b")));
}

#[test]
fn no_filesystem_unless_a_directory_is_granted() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.txt"), "the secret").expect("write");
    let host_path = dir.path().join("secret.txt");

    let runtime = runtime();
    let mut denied = hostile(&runtime, "{}");
    for path in [
        host_path.to_str().expect("utf-8"),
        "/etc/passwd",
        "secret.txt",
        "/data/secret.txt",
    ] {
        let out = one(&mut denied, text(&format!("file:{path}"))).expect("the plugin answers");
        let Value::Text(out) = out else {
            panic!("text expected")
        };
        assert!(
            out.starts_with("error:"),
            "{path} must not be readable, got {out:?}"
        );
    }

    let plugin = runtime.load(HOSTILE).expect("loads");
    let grants = Grants {
        dirs: vec![DirGrant {
            host: dir.path().to_owned(),
            guest: "/data".into(),
            read_only: true,
        }],
        ..Grants::default()
    };
    let mut granted: Transformer = runtime.instance(&plugin, "{}", grants).expect("configures");
    assert_eq!(
        one(&mut granted, text("file:/data/secret.txt")),
        Ok(text("the secret"))
    );
    let outside =
        one(&mut granted, text(&format!("file:{}", host_path.display()))).expect("answers");
    assert_ne!(
        outside,
        text("the secret"),
        "only the granted directory, at its guest path"
    );
}

#[test]
fn no_environment_unless_granted() {
    // SAFETY: this test binary sets the variable once, before any plugin runs in this test;
    // no other test reads it.
    unsafe { std::env::set_var("WASYNC_TEST_SECRET", "hunter2") };
    let runtime = runtime();
    let mut denied = hostile(&runtime, "{}");
    assert_eq!(
        one(&mut denied, text("env:WASYNC_TEST_SECRET")),
        Ok(Value::Null)
    );
    assert_eq!(one(&mut denied, text("env:HOME")), Ok(Value::Null));
    assert_eq!(one(&mut denied, text("env")), Ok(Value::Integer(0)));

    let plugin = runtime.load(HOSTILE).expect("loads");
    let grants = Grants {
        env: vec![("REGION".into(), "eu".into())],
        ..Grants::default()
    };
    let mut granted: Transformer = runtime.instance(&plugin, "{}", grants).expect("configures");
    assert_eq!(one(&mut granted, text("env:REGION")), Ok(text("eu")));
    assert_eq!(one(&mut granted, text("env")), Ok(Value::Integer(1)));
}

#[test]
fn per_value_errors_leave_the_rest_of_the_batch() {
    let runtime = runtime();
    let mut transform = hostile(&runtime, "{}");
    let results = transform
        .apply(&[
            text("x"),
            text("fail:bad value"),
            Value::Integer(3),
            text("log:hi"),
        ])
        .expect("the call succeeds");
    assert_eq!(results[0], Ok(text("x")));
    assert_eq!(
        results[1],
        Err(PluginErrorValue::InvalidInput("bad value".into()))
    );
    assert_eq!(results[2], Ok(Value::Integer(3)));
    assert_eq!(results[3], Ok(text("hi")));
}

#[test]
fn an_unusable_configuration_is_refused_at_construction() {
    let runtime = runtime();
    let plugin = runtime.load(HOSTILE).expect("loads");
    let error = runtime
        .transformer(&plugin, r#"{"refuse": true}"#)
        .err()
        .expect("refused");
    let error = error.downcast::<CallError>().expect("a call error");
    assert!(
        matches!(&error, CallError::Failed { call: "transform.create", error: PluginErrorValue::InvalidConfig(m), .. } if m == "refused as asked"),
        "{error}"
    );
    let error = runtime
        .transformer(&plugin, "{not json")
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("invalid config: not JSON"),
        "{error}"
    );
}

#[test]
fn lookup_is_denied_without_a_grant() {
    let runtime = runtime();
    let plugin = runtime.load(LOOKUP_PROBE).expect("loads");
    assert_eq!(plugin.world(), World::EntityFunction);
    let mut function: Function = runtime
        .instance(&plugin, "{}", Grants::default())
        .expect("configures");
    let record = Record {
        id: "001".into(),
        watermark: Value::Null,
        fields: vec![Field {
            name: "Name".into(),
            value: text("Acme"),
        }],
        deleted: false,
    };
    let mut results = function
        .apply("Account", &[record])
        .expect("the call succeeds");
    match results.pop() {
        Some(Ok(Outcome::Stop(reason))) => {
            assert!(
                reason.starts_with("access denied: plugin `lookup_probe` has no lookup grant"),
                "{reason}"
            )
        }
        other => panic!("expected a stop with the denial, got {other:?}"),
    }
}

#[test]
fn http_is_denied_before_any_socket_opens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/x", listener.local_addr().expect("addr"));

    let runtime = runtime();
    let plugin = runtime.load(HTTP_PROBE).expect("loads");
    assert_eq!(plugin.world(), World::Connector);
    let config = serde_json::json!({ "url": url }).to_string();
    let mut system: System = runtime
        .instance(&plugin, &config, Grants::default())
        .expect("configures");
    let request = ReadRequest {
        entity: "x".into(),
        after: None,
        until: None,
        limit: 10,
    };
    match system.read(&request).expect("the call succeeds") {
        Err(PluginErrorValue::AccessDenied(m)) => {
            assert!(m.contains("may not reach `127.0.0.1"), "{m}")
        }
        other => panic!("expected access denied, got {other:?}"),
    }
    assert!(
        listener.accept().is_err(),
        "no connection may reach the server"
    );
}

#[test]
fn a_plugin_used_as_the_wrong_world_is_refused() {
    let runtime = runtime();
    let plugin = runtime.load("extract-domain").expect("loads");
    let error = runtime
        .instance(&plugin, "{}", Grants::default())
        .map(|_: wasync::plugin::Function| ());
    let message = error.expect_err("refused").to_string();
    assert_eq!(
        message,
        "plugin `extract-domain` is a field-transform plugin, but is used here as an entity-function"
    );
}

fn load_wat(runtime: &Runtime, name: &str, wat: &str) -> Result<wasync::plugin::Plugin, LoadError> {
    let bytes = wat::parse_str(wat).expect("valid WAT");
    runtime.load_bytes(name, &bytes)
}

#[test]
fn a_component_implementing_no_world_is_refused_with_what_it_exports() {
    let error = load_wat(
        &runtime(),
        "stray",
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "hello") (canon lift (core func $i "f"))))"#,
    )
    .err()
    .expect("refused");
    assert!(matches!(error, LoadError::NoWorld { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("plugin `stray` implements no wasync world: it exports hello"),
        "{message}"
    );
    assert!(
        message.contains("wasync:plugin/transform@0.2.0"),
        "{message}"
    );
}

#[test]
fn a_component_built_for_another_wit_version_is_refused() {
    let error = load_wat(
        &runtime(),
        "future",
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $x (export "ping" (func $f)))
            (export "wasync:plugin/transform@0.3.0" (instance $x)))"#,
    )
    .err()
    .expect("refused");
    assert!(
        matches!(error, LoadError::IncompatibleVersion { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "plugin `future` implements wasync:plugin/transform@0.3.0, but this host serves wasync:plugin@0.2.0 and @0.1.0: rebuild it against wasync:plugin@0.2.0 (the SDKs' version)"
    );
}

#[test]
fn a_component_needing_an_import_the_host_lacks_is_refused() {
    let error = load_wat(
        &runtime(),
        "needy",
        r#"(component
            (import "acme:secret/door@1.0.0" (instance (export "open" (func))))
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $x (export "ping" (func $f)))
            (export "wasync:plugin/transform@0.1.0" (instance $x)))"#,
    )
    .err()
    .expect("refused");
    let message = error.to_string();
    assert!(
        matches!(error, LoadError::MissingImport { .. }),
        "{message}"
    );
    assert!(message.contains("acme:secret/door@1.0.0"), "{message}");
}

#[test]
fn garbage_is_not_a_component() {
    let error = runtime()
        .load_bytes("junk", b"not wasm at all")
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .starts_with("plugin `junk` is not a valid WebAssembly component"),
        "{error}"
    );
    let missing = runtime()
        .load("/nonexistent/plugin.wasm")
        .err()
        .expect("refused");
    assert!(
        missing
            .to_string()
            .starts_with("cannot read plugin /nonexistent/plugin.wasm"),
        "{missing}"
    );
    let unknown = runtime().load("no-such-plugin").err().expect("refused");
    assert!(
        unknown.to_string().ends_with(
            "(those are: attach-record, extract-domain, filter, hubspot, jsonl, map-values, merge, rest, salesforce, webhook)"
        ),
        "{unknown}"
    );
}

#[test]
fn the_compile_cache_serves_the_second_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = || {
        Runtime::new(RuntimeOptions {
            limits: Limits::default(),
            cache: Cache::at(dir.path()),
        })
        .expect("runtime")
    };
    let first = start().load("extract-domain").expect("loads");
    assert_eq!(first.origin(), Origin::Compiled);
    let entries = cwasm_files(dir.path());
    assert_eq!(entries.len(), 1, "one entry per component and engine");
    assert!(
        entries[0].starts_with(first.digest()),
        "keyed by digest: {entries:?}"
    );

    let runtime = start();
    let second = runtime.load("extract-domain").expect("loads");
    assert_eq!(second.origin(), Origin::Cached);
    let mut transform = runtime.transformer(&second, "{}").expect("configures");
    assert_eq!(
        one(&mut transform, text("a.b.example.com")),
        Ok(text("example.com"))
    );

    // A damaged entry is not trusted: the component is compiled again and the entry replaced.
    std::fs::write(dir.path().join(&entries[0]), b"damaged").expect("write");
    let third = start().load("extract-domain").expect("loads");
    assert_eq!(third.origin(), Origin::Compiled);
    assert_eq!(
        start().load("extract-domain").expect("loads").origin(),
        Origin::Cached
    );
}

fn cwasm_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("cache dir exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cwasm"))
        .collect();
    names.sort();
    names
}
