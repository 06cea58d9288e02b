//! JSON Lines files truncated, rewritten and edited by hand while a sync runs. What matters
//! is the `jsonl` connector's index, which an instance keeps from call to call: under
//! `wasync serve` one instance serves cycle after cycle, so it must notice a file changed
//! under it. The same edits made between runs of `wasync sync` (each a new instance, which
//! reads each file from the start) are the undisturbed run it must end like.

use super::{assert_same_state, cache_dir, live, quarantine, wasync_with, whole_lines};
use crate::service::{Service, eventually};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONFIG: &str = r#"store = "wasync.db"

[connectors.files]
plugin = "jsonl"
dirs = [{ host = "in", guest = "/data" }]
settings.entities.Thing = { file = "things.jsonl", id_field = "Id", watermark_field = "Modified" }

[connectors.out]
plugin = "jsonl"
dirs = [{ host = "out", guest = "/data" }]
settings.entities.Thing = { file = "things.jsonl", id_field = "Id", watermark_field = "Modified", upsert_key = "wasync_id" }

[[pipeline]]
name = "things"
entity = "Thing"
schedule = "1s"

[[pipeline.source]]
connector = "files"
entity = "Thing"
fields = { Name = "Name" }

[[pipeline.destination]]
connector = "out"
entity = "Thing"
external_id_field = "wasync_id"
fields = { Name = "Name" }
"#;

/// A source line; watermarks have three digits, so an edit can keep a line's length.
fn line(i: usize, name: &str, modified: usize) -> String {
    json!({"Id": format!("r{i:02}"), "Name": name, "Modified": modified}).to_string() + "\n"
}

/// How each step is run: by new `wasync sync` processes, or by one `wasync serve`.
enum Runner {
    Fresh,
    Serve(Service),
}

struct Folder {
    dir: tempfile::TempDir,
    runner: Runner,
}

impl Folder {
    fn new(serve: bool) -> Folder {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["in", "out"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        std::fs::write(dir.path().join("wasync.toml"), CONFIG).expect("write config");
        let lines: String = (0..10)
            .map(|i| line(i, &format!("name-{i:02}"), 101 + i))
            .collect();
        std::fs::write(dir.path().join("in/things.jsonl"), lines).expect("write records");
        let runner = match serve {
            false => Runner::Fresh,
            true => {
                let cache = cache_dir();
                let cache = cache.to_string_lossy();
                let config = dir.path().join("wasync.toml");
                Runner::Serve(Service::start(&config, &[("WASYNC_CACHE_DIR", &cache)]))
            }
        };
        let folder = Folder { dir, runner };
        folder.catch_up();
        folder
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Waits until what is in the files now has been synced: a `wasync sync` to the end, or
    /// two more cycles of the service (the first may have begun before the change).
    fn catch_up(&self) {
        match &self.runner {
            Runner::Fresh => {
                wasync_with(&self.path("wasync.toml"), &["sync"]).succeeded();
            }
            Runner::Serve(service) => {
                let cycle = || {
                    let status = service.get_quietly("/status").unwrap_or(Json::Null);
                    status["pipelines"][0]["last_cycle"]["cycle"]
                        .as_i64()
                        .unwrap_or(0)
                };
                let start = cycle();
                assert!(
                    eventually(Duration::from_secs(20), || cycle() >= start + 2),
                    "the service ran no two cycles in 20 s"
                );
            }
        }
    }

    /// Keeps the first `keep` lines of a file.
    fn truncate(&self, name: &str, keep: usize) -> String {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path).expect("read");
        let kept: String = text.split_inclusive('\n').take(keep).collect();
        std::fs::write(&path, &kept).expect("truncate");
        kept
    }

    fn out(&self) -> BTreeMap<String, Json> {
        live(&self.path("out/things.jsonl"), "Id", "Modified", "_deleted")
    }

    /// Runs the steps; the live records of the destination after each.
    fn steps(&self) -> Vec<BTreeMap<String, Json>> {
        let mut states = vec![self.out()];
        // The source truncated to fewer lines than the cursor passed, then grown past its
        // old length: the new lines must be read whole, the old offset means nothing now.
        let mut text = self.truncate("in/things.jsonl", 3);
        for i in 10..25 {
            text += &line(
                i,
                &format!("name-{i:02}, written after the truncation"),
                101 + i,
            );
        }
        std::fs::write(self.path("in/things.jsonl"), text).expect("rewrite");
        self.catch_up();
        states.push(self.out());

        // A line edited in place, to the same length, with a later watermark.
        let path = self.path("in/things.jsonl");
        let text = std::fs::read_to_string(&path).expect("read");
        let edited = text.replace(&line(1, "name-01", 102), &line(1, "NAME-01", 202));
        assert_ne!(text, edited, "the line to edit is there");
        std::fs::write(&path, edited).expect("edit");
        self.catch_up();
        states.push(self.out());

        // The destination truncated between cycles, then two records changed upstream: one
        // still in the destination, one no longer there.
        self.truncate("out/things.jsonl", 4);
        let kept = self.out();
        super::append(
            &path,
            &(line(20, "changed-20", 203) + &line(2, "changed-02", 204)),
        );
        self.catch_up();
        let last = self.out();
        for (id, record) in &kept {
            assert!(
                last.contains_key(id),
                "{id} was still in the destination: {record}"
            );
        }
        states.push(last);
        states
    }
}

fn names(state: &BTreeMap<String, Json>) -> Vec<String> {
    let mut names: Vec<String> = state
        .values()
        .filter_map(|r| r["Name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn check_whole(dir: &Path) {
    whole_lines(&dir.join("in/things.jsonl"));
    whole_lines(&dir.join("out/things.jsonl"));
}

#[test]
fn files_truncated_and_edited_under_a_running_sync_end_as_between_runs() {
    let fresh = Folder::new(false);
    let want = fresh.steps();
    let served = Folder::new(true);
    let got = served.steps();
    for (step, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_same_state(got, want, &format!("the destination after step {step}"));
    }
    let expect = |step: usize, wanted: &[&str]| {
        let names = names(&got[step]);
        for name in wanted {
            assert!(
                names.iter().any(|n| n == name),
                "step {step}: {name} in {names:?}"
            );
        }
    };
    expect(
        1,
        &[
            "name-00",
            "name-09",
            "name-10, written after the truncation",
        ],
    );
    expect(2, &["NAME-01", "name-24, written after the truncation"]);
    expect(3, &["changed-02", "changed-20"]);
    for folder in [&fresh, &served] {
        check_whole(folder.dir.path());
        let config = folder.path("wasync.toml");
        let set_aside = quarantine(&config);
        assert!(
            set_aside.is_empty(),
            "no piece of a line taken for a record: {set_aside:?}"
        );
    }
    if let Runner::Serve(service) = served.runner {
        let status = service.terminate();
        assert!(
            status.success(),
            "the service ran on and stopped cleanly: {status:?}"
        );
    }
}
