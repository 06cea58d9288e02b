//! `wasync quarantine replay` of a record the entity function refused, now looping.

use super::{FILES, PIPELINE, TO_OUT, Things, from_files, sync_bound};
use crate::{DEADLINE_MS, ENTITY, assert_names, interleaved};
use wasync_test_guests::HOSTILE_ENTITY;

#[test]
fn replay_stops_a_looping_plugin_within_its_deadline() {
    // First the entity function reads `Tag` and refuses the record; then it reads `Name`,
    // which says `loop`, and the replay must stop it.
    let mut names = interleaved("loop", 1);
    names.push("Acme".into());
    let config = format!(
        "{FILES}{PIPELINE}{}{TO_OUT}",
        from_files(
            &format!(
                "functions = [{{ plugin = {HOSTILE_ENTITY:?}, config = {{ field = \"Tag\" }} }}]"
            ),
            "\"Name\""
        )
    );
    let things = Things::with_config(&config, &names);
    let loop_tag = "t1";
    let jsonl = things.dir.path().join("in/things.jsonl");
    let records = std::fs::read_to_string(&jsonl).expect("read");
    std::fs::write(
        &jsonl,
        records.replace(&format!("\"{loop_tag}\""), "\"fail:first pass\""),
    )
    .expect("write");
    things
        .sync(DEADLINE_MS, &[])
        .within(sync_bound(DEADLINE_MS, 1))
        .succeeded();
    let first = things.quarantined_at("source-entity");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_names(
        first[0]["reason"].as_str().unwrap_or_default(),
        ENTITY,
        &["first pass"],
    );

    std::fs::write(
        things.config(),
        config.replace("field = \"Tag\"", "field = \"Name\""),
    )
    .expect("edit config");
    let out = things.run(&["quarantine", "replay"], DEADLINE_MS);
    out.within(sync_bound(DEADLINE_MS, 2)).succeeded();
    let again = things.quarantined_at("source-entity");
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["attempts"], 2, "{again:?}");
    assert_names(
        again[0]["reason"].as_str().unwrap_or_default(),
        ENTITY,
        &["ran past its deadline of 500 ms"],
    );
}
