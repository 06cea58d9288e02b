//! A cycle with the hostile entity function in the source's entity pipeline.

use super::{Place, sync_bound, sync_probes_are_refused, sync_quarantines, sync_quarantines_with};
use crate::{OUTPUT_BOUND, OUTPUT_DEADLINE_MS};

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
        OUTPUT_DEADLINE_MS,
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
fn sync_entity_file_env_and_socket_are_refused() {
    sync_probes_are_refused(Place::Entity);
}
