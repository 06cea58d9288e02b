//! A destination connector that traps in the middle of a write batch, after it wrote part of
//! it: the `hostile-connector` guest with a `sink` file, which it appends each change to
//! as it goes, trapping at a record named `trap`. The host takes the failed batch apart
//! (`Instance::isolate`), so the records before the trap are sent again: the sink, like
//! `jsonl`, makes a replayed create the same record by its upsert key.

use super::{assert_no_panic, assert_same_state, live, quarantine, wasync_with, whole_lines};
use serde_json::json;
use std::path::{Path, PathBuf};
use wasync_test_guests::HOSTILE_CONNECTOR;

/// Records in the source, and where the one named `trap` is among them.
const COUNT: usize = 40;
const TRAP_AT: usize = 27;

/// The source `files` (`in/things.jsonl`) into the destination `sink` (`out/things.jsonl`).
fn config(sink: &str) -> String {
    format!(
        r#"store = "wasync.db"

[connectors.files]
plugin = "jsonl"
dirs = [{{ host = "in", guest = "/data" }}]
settings.entities.Thing = {{ file = "things.jsonl", id_field = "Id", watermark_field = "Modified" }}

[connectors.sink]
dirs = [{{ host = "out", guest = "/data" }}]
{sink}

[[pipeline]]
name = "things"
entity = "Thing"
batch_size = 100

[[pipeline.source]]
connector = "files"
entity = "Thing"
fields = {{ Name = "Name", Tag = "Tag" }}

[[pipeline.destination]]
connector = "sink"
entity = "Thing"
external_id_field = "wasync_id"
fields = {{ Name = "Name", Tag = "Tag" }}
"#
    )
}

/// The sink as the hostile guest, appending to `out/things.jsonl` as it goes.
fn hostile() -> String {
    format!(
        "plugin = {HOSTILE_CONNECTOR:?}\nsettings = {{ entity = \"Thing\", sink = \"/data/things.jsonl\", upsert_key = \"wasync_id\" }}"
    )
}

/// The sink as the `jsonl` connector on the same file.
const GOOD: &str = r#"plugin = "jsonl"
settings.entities.Thing = { file = "things.jsonl", id_field = "Id", watermark_field = "Modified", upsert_key = "wasync_id" }"#;

struct Things {
    dir: tempfile::TempDir,
}

impl Things {
    fn new(sink: &str) -> Things {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["in", "out"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let lines: String = (0..COUNT)
            .map(|i| {
                let name = match i {
                    TRAP_AT => "trap".to_owned(),
                    _ => format!("name-{i}"),
                };
                json!({"Id": format!("r{i:02}"), "Name": name, "Tag": format!("t{i}"), "Modified": i + 1})
                    .to_string()
                    + "\n"
            })
            .collect();
        std::fs::write(dir.path().join("in/things.jsonl"), lines).expect("write records");
        let things = Things { dir };
        things.set_sink(sink);
        things
    }

    fn set_sink(&self, sink: &str) {
        std::fs::write(self.config(), config(sink)).expect("write config");
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("wasync.toml")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out/things.jsonl")
    }
}

fn sink_state(path: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    live(path, "Id", "Modified", "_deleted")
}

#[test]
fn a_destination_trapping_mid_batch_quarantines_its_record_writes_the_rest_once_and_a_good_plugin_writes_it_later()
 {
    let want = Things::new(GOOD);
    wasync_with(&want.config(), &["sync"]).succeeded();
    let want = sink_state(&want.out());
    assert_eq!(want.len(), COUNT);

    let things = Things::new(&hostile());
    let out = wasync_with(&things.config(), &["sync", "--once"]);
    assert_no_panic(&out);
    out.succeeded();
    let quarantined = quarantine(&things.config());
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let reason = quarantined[0]["reason"].as_str().unwrap_or_default();
    assert_eq!(quarantined[0]["stage"], "write", "{quarantined:?}");
    assert!(
        reason.contains("hostile_connector") && reason.contains("boom"),
        "the reason names the plugin and its panic: {reason}"
    );

    // Part of the batch reached the sink before the trap, and was sent again when the batch
    // was taken apart; every record is there once, each under the id of its unified record.
    let lines = whole_lines(&things.out());
    let written = sink_state(&things.out());
    assert!(
        lines.len() > written.len(),
        "the trap came part-way through a batch: {} lines for {} records",
        lines.len(),
        written.len()
    );
    assert_eq!(
        written.len(),
        COUNT - 1,
        "all but the trap record: {written:?}"
    );
    for (id, record) in &written {
        let unified = record["wasync_id"].as_str().unwrap_or_default();
        assert_eq!(id, &format!("Thing-{unified}"), "{record}");
        assert_eq!(
            want.get(id),
            Some(record),
            "as an undisturbed run writes it"
        );
    }

    // Tried again with the same plugin: set aside again, and nothing more is written.
    wasync_with(&things.config(), &["sync", "--once"]).succeeded();
    assert_eq!(whole_lines(&things.out()).len(), lines.len());
    let again = quarantine(&things.config());
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["attempts"], 2, "{again:?}");

    // A good plugin in its place writes it, and only it.
    things.set_sink(GOOD);
    wasync_with(&things.config(), &["sync"]).succeeded();
    assert!(quarantine(&things.config()).is_empty());
    assert_eq!(whole_lines(&things.out()).len(), lines.len() + 1);
    assert_same_state(&sink_state(&things.out()), &want, "the sink");
}
