//! A cycle with the hostile merge policy: `match-keys` and `resolve`.

use super::{Place, Things, good, sync_bound, sync_quarantines, sync_quarantines_with};
use crate::{
    DEADLINE_MS, MERGE, OUTPUT_BOUND, OUTPUT_DEADLINE_MS, Probes, assert_names, interleaved,
};

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
        OUTPUT_DEADLINE_MS,
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
