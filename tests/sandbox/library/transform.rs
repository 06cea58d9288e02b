//! The library API of a field transform (`hostile`).

use super::{failure, runtime, text};
use crate::{TRANSFORM, assert_names, interleaved, ms};
use std::time::Instant;
use wasync::Value;
use wasync::plugin::{CallError, Runtime, Transformer};
use wasync_test_guests::HOSTILE;

fn transformer(runtime: &Runtime) -> Transformer {
    let plugin = runtime.load(HOSTILE).expect("hostile loads");
    runtime.transformer(&plugin, "{}").expect("configures")
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
