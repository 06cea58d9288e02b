//! A cycle with the hostile connector as a source beside a good one, or as the destination.

use super::{FILES, PIPELINE, TO_OUT, Things, from_files, sync_bound};
use crate::{
    CONNECTOR, DEADLINE_MS, OUTPUT_BOUND, OUTPUT_DEADLINE_MS, PEAK, assert_names, interleaved,
};
use serde_json::{Value as Json, json};
use std::time::Duration;
use wasync_test_guests::HOSTILE_CONNECTOR;

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
/// connector plugin; the good source's records are saved, and wait to be written until the
/// failing source has been read through once (a pipeline's first sync writes nothing
/// before).
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
    good_ones_saved_and_waiting(&things, goods.len());
    things
}

/// The good source's `n` records are saved in the store, and the pipeline's writes wait
/// for the hostile source's first read through.
fn good_ones_saved_and_waiting(things: &Things, n: usize) {
    let cycle = things.last_cycle();
    assert_eq!(cycle["counts"]["created"], json!(n), "{cycle}");
    assert_eq!(
        cycle["writes_wait_for"],
        json!(["hostile/Thing"]),
        "{cycle}"
    );
    assert_eq!(things.written(), Vec::<String>::new());
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
    let out = things.sync(OUTPUT_DEADLINE_MS, &[]);
    out.within(OUTPUT_BOUND).peak_under(PEAK);
    // Refused as a failed read (stderr) or as a quarantined record: either way named.
    let said = format!("{}\n{:?}", out.stderr, things.quarantine());
    assert_names(&said, CONNECTOR, &["over the limit"]);
    // The sources are read in step: the good one waits for the hostile one's next page, and
    // nothing is written before both are read through.
    let cycle = things.last_cycle();
    assert_eq!(cycle["counts"]["quarantined"], json!(1), "{cycle}");
    assert!(
        cycle["writes_wait_for"]
            .as_array()
            .is_some_and(|w| w.contains(&json!("hostile/Thing"))),
        "{cycle}"
    );
    assert_eq!(things.written(), Vec::<String>::new());
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
    sync_write_quarantines_with(bad, says, bound, DEADLINE_MS);
}

fn sync_write_quarantines_with(bad: &str, says: &[&str], bound: Duration, deadline_ms: u64) {
    let names = interleaved(bad, 1);
    let things = to_hostile_sink(&names);
    let out = things.sync(deadline_ms, &[]);
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
    sync_write_quarantines_with(
        "big:100",
        &["over the limit"],
        OUTPUT_BOUND,
        OUTPUT_DEADLINE_MS,
    );
}
