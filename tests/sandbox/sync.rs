//! (c) `wasync sync --once` and `wasync quarantine replay` on a pipeline file: the pipeline
//! folders and checks here, the tests in a module per place the hostile plugin sits, and
//! `replay`.

mod connector;
mod entity;
mod merge;
mod replay;
mod transform;

use crate::bounded::{self, Finished};
use crate::{
    DEADLINE_MS, ENTITY, HARD_LIMIT, MERGE, PEAK, Probes, SYNC_MARGIN, TRANSFORM, assert_names,
    interleaved, ms, service, wasync,
};
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use std::time::Duration;
use wasync_test_guests::{HOSTILE, HOSTILE_ENTITY, HOSTILE_MERGE};

/// Where the hostile plugin sits in the pipeline.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A field transform on `Name`, in the source's field pipeline.
    Transform,
    /// An entity function in the source's entity pipeline (reading `Name`).
    Entity,
    /// The pipeline's merge policy.
    Merge,
}

impl Place {
    fn plugin(self) -> &'static str {
        match self {
            Place::Transform => TRANSFORM,
            Place::Entity => ENTITY,
            Place::Merge => MERGE,
        }
    }

    fn stage(self) -> &'static str {
        match self {
            Place::Transform => "source-fields",
            Place::Entity => "source-entity",
            Place::Merge => "merge",
        }
    }
}

/// The two JSON Lines connectors every pipeline here uses: `files` reads `in/things.jsonl`,
/// `out` writes `out/things.jsonl`.
const FILES: &str = r#"
store = "wasync.db"

[connectors.files]
plugin = "jsonl"
dirs = [{ host = "in", guest = "/data" }]
[connectors.files.settings.entities.Thing]
file = "things.jsonl"
id_field = "Id"
watermark_field = "Modified"

[connectors.out]
plugin = "jsonl"
dirs = [{ host = "out", guest = "/data" }]
[connectors.out.settings.entities.Thing]
file = "things.jsonl"
id_field = "Id"
watermark_field = "Modified"
upsert_key = "wasync_id"
"#;

const PIPELINE: &str = r#"
[[pipeline]]
name = "things"
entity = "Thing"
batch_size = 100
"#;

const TO_OUT: &str = r#"
[[pipeline.destination]]
connector = "out"
entity = "Thing"
external_id_field = "wasync_id"
[pipeline.destination.fields]
Name = "Name"
Tag = "Tag"
"#;

/// The `files` source, with `functions` and the mapping of `Name` as given.
fn from_files(functions: &str, name: &str) -> String {
    format!(
        r#"
[[pipeline.source]]
connector = "files"
entity = "Thing"
{functions}
[pipeline.source.fields]
Name = {name}
Tag = "Tag"
"#
    )
}

/// A pipeline folder: `in/things.jsonl` with a record per name, the pipeline file, `out/`.
struct Things {
    dir: tempfile::TempDir,
}

impl Things {
    /// A pipeline from `files` to `out` with the hostile plugin at `place`.
    fn new(place: Place, names: &[String]) -> Things {
        let config = match place {
            Place::Transform => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}",
                from_files(
                    "",
                    &format!("{{ from = \"Name\", transforms = [{{ plugin = {HOSTILE:?} }}] }}")
                )
            ),
            Place::Entity => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}",
                from_files(
                    &format!("functions = [{{ plugin = {HOSTILE_ENTITY:?} }}]"),
                    "\"Name\""
                )
            ),
            Place::Merge => format!(
                "{FILES}{PIPELINE}{}{TO_OUT}\n[pipeline.merge]\nplugin = {HOSTILE_MERGE:?}\n",
                from_files("", "\"Name\"")
            ),
        };
        Things::with_config(&config, names)
    }

    /// A folder with this pipeline file and a record per name in `in/things.jsonl`: ids `r0`..,
    /// `Tag` `t0`.., `Modified` 1...
    fn with_config(config: &str, names: &[String]) -> Things {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("in")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
        let lines: String = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"Id": format!("r{i}"), "Name": name, "Tag": format!("t{i}"), "Modified": i + 1})
                    .to_string()
                    + "\n"
            })
            .collect();
        std::fs::write(dir.path().join("in/things.jsonl"), lines).expect("write records");
        std::fs::write(dir.path().join("wasync.toml"), config).expect("write config");
        Things { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("wasync.toml")
    }

    /// `wasync ARGS --config FILE --deadline-ms MS`, under the hard limit.
    fn run(&self, args: &[&str], deadline_ms: u64) -> Finished {
        let deadline = deadline_ms.to_string();
        let mut command = wasync();
        command
            .args(args)
            .arg("--config")
            .arg(self.config())
            .args(["--deadline-ms", &deadline]);
        bounded::run(&mut command, "", HARD_LIMIT)
    }

    /// `wasync sync --once` with `--deadline-ms`.
    fn sync(&self, deadline_ms: u64, extra: &[&str]) -> Finished {
        let mut args = vec!["sync", "--once"];
        args.extend(extra);
        self.run(&args, deadline_ms)
    }

    /// `wasync quarantine list --json`.
    fn quarantine(&self) -> Vec<Json> {
        let mut command = wasync();
        command
            .args(["quarantine", "list", "--json", "--config"])
            .arg(self.config());
        let out = bounded::run(&mut command, "", HARD_LIMIT);
        out.succeeded();
        out.json_lines()
    }

    /// The quarantined entries of `stage`; fails the test if another stage has any.
    fn quarantined_at(&self, stage: &str) -> Vec<Json> {
        let all = self.quarantine();
        assert!(
            all.iter().all(|q| q["stage"] == stage),
            "only stage {stage} expected: {all:?}"
        );
        all
    }

    /// The `Name`s written to `out/things.jsonl`, sorted.
    fn written(&self) -> Vec<String> {
        let mut names: Vec<String> = service::lines(&self.dir.path().join("out/things.jsonl"))
            .iter()
            .map(|r| match &r["Name"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        names.sort();
        names
    }

    /// The last cycle's counts, from `wasync status --json`.
    fn counts(&self) -> Json {
        self.last_cycle()["counts"].clone()
    }

    /// The last cycle, from `wasync status --json`.
    fn last_cycle(&self) -> Json {
        let mut command = wasync();
        command
            .args(["status", "--json", "--config"])
            .arg(self.config());
        let out = bounded::run(&mut command, "", HARD_LIMIT);
        out.succeeded();
        let status: Json = serde_json::from_str(&out.lines.join("\n")).expect("status is JSON");
        status["pipelines"][0]["last_cycle"].clone()
    }
}

fn sync_bound(deadline_ms: u64, deadlines: u64) -> Duration {
    ms(deadlines * deadline_ms) + SYNC_MARGIN
}

/// The good names of `names` (those that are not `bad`), sorted.
fn good(names: &[String], bad: &str) -> Vec<String> {
    let mut good: Vec<String> = names.iter().filter(|n| *n != bad).cloned().collect();
    good.sort();
    good
}

/// One cycle over good records and `copies` records named `bad`, with the hostile plugin at
/// `place`: the cycle ends within about two deadlines, each bad record is quarantined at
/// the place's stage with a reason naming the plugin and saying `says`, every good record
/// reaches the destination, and the host's memory stays bounded.
fn sync_quarantines(place: Place, bad: &str, copies: usize, says: &[&str], extra: &[&str]) {
    let bound = sync_bound(DEADLINE_MS, 2);
    sync_quarantines_with(place, bad, copies, says, extra, DEADLINE_MS, bound);
}

/// [`sync_quarantines`] with `--deadline-ms DEADLINE_MS`, within `bound`.
fn sync_quarantines_with(
    place: Place,
    bad: &str,
    copies: usize,
    says: &[&str],
    extra: &[&str],
    deadline_ms: u64,
    bound: Duration,
) {
    let names = interleaved(bad, copies);
    let things = Things::new(place, &names);
    let out = things.sync(deadline_ms, extra);
    out.within(bound).succeeded().peak_under(PEAK);
    let quarantined = things.quarantined_at(place.stage());
    assert_eq!(quarantined.len(), copies, "{quarantined:?}");
    for entry in &quarantined {
        assert_names(
            entry["reason"].as_str().unwrap_or_default(),
            place.plugin(),
            says,
        );
    }
    assert_eq!(
        things.written(),
        good(&names, bad),
        "the good records go on"
    );
}

/// One cycle whose records probe files, environment and sockets through the plugin at
/// `place`: every record is written, with the refusals as their `Name`s and nothing leaked.
fn sync_probes_are_refused(place: Place) {
    let probes = Probes::new();
    let words = probes.words();
    let things = Things::new(place, &words);
    things.sync(DEADLINE_MS, &[]).succeeded();
    assert!(things.quarantine().is_empty());
    let written = service::lines(&things.dir.path().join("out/things.jsonl"));
    assert_eq!(written.len(), words.len(), "{written:?}");
    for record in &written {
        let tag = record["Tag"].as_str().expect("a Tag");
        let i: usize = tag[1..].parse().expect("tN");
        probes.check(&words[i], &record["Name"]);
    }
    probes.nothing_connected();
}
