//! (b) `wasync plugin call`, the real binary: a field transform and an entity function.

use crate::bounded::{self, Finished};
use crate::{
    CALL_MARGIN, DEADLINE_MS, ENTITY, HARD_LIMIT, OUTPUT_DEADLINE_MS, PEAK, Probes, TRANSFORM,
    assert_names, interleaved, ms, wasync,
};
use serde_json::{Value as Json, json};
use std::time::Duration;
use wasync_test_guests::{HOSTILE, HOSTILE_ENTITY};

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
    let out = call_with(HOSTILE, OUTPUT_DEADLINE_MS, &[], &values(&inputs));
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
    let out = call_with(HOSTILE_ENTITY, OUTPUT_DEADLINE_MS, &[], &records(&names));
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
