//! A cycle with the hostile field transform on `Name`.

use super::{Place, sync_bound, sync_probes_are_refused, sync_quarantines, sync_quarantines_with};
use crate::{OUTPUT_BOUND, OUTPUT_DEADLINE_MS};

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
        OUTPUT_DEADLINE_MS,
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
fn sync_transform_file_env_and_socket_are_refused() {
    sync_probes_are_refused(Place::Transform);
}
