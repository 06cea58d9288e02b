//! The sync cycle end to end: the real `wasync` binary, real compiled plugins and real
//! SQLite files, over a copy of `examples/accounts` (JSON Lines files standing in for
//! Salesforce and HubSpot).

#[path = "support/cli.rs"]
mod cli;

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A private copy of the example.
struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new() -> Example {
        Example {
            dir: cli::example("accounts"),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("wasync.toml")
    }

    fn file(&self, system: &str, name: &str) -> PathBuf {
        self.dir.path().join("data").join(system).join(name)
    }

    /// Runs `wasync ARGS --config <this example>`.
    fn wasync(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = cli::wasync();
        cmd.args(args).arg("--config").arg(self.config());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("wasync runs")
    }

    /// One cycle; must succeed.
    fn cycle(&self) -> String {
        let out = self.wasync(&["sync", "--once"], &[]);
        assert!(
            out.status.success(),
            "sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Cycles until caught up; must succeed.
    fn sync(&self) {
        let out = self.wasync(&["sync"], &[]);
        assert!(
            out.status.success(),
            "sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `wasync ARGS` and parses its output as JSON lines.
    fn json_lines(&self, args: &[&str]) -> Vec<Json> {
        let out = self.wasync(args, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn status(&self) -> Json {
        let out = self.wasync(&["status", "--json"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status is JSON")
    }

    /// Takes Attach Record out of both sources, so that duplicates meet in the merge stage.
    fn without_attach_record(&self) {
        for field in ["Name", "name"] {
            self.edit_config(
                &format!(
                    "functions = [\n    {{ plugin = \"attach-record\", config = {{ match = [{{ source = \"{field}\", unified = \"Name\" }}] }} }},\n]\n"
                ),
                "",
            );
        }
    }

    fn last_counts(&self) -> Json {
        self.status()["pipelines"][0]["last_cycle"]["counts"].clone()
    }

    fn append(&self, system: &str, name: &str, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.file(system, name))
            .expect("open");
        writeln!(f, "{line}").expect("append");
    }

    /// Replaces `from` with `to` in the example's configuration.
    fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).expect("read config");
        assert!(text.contains(from), "config has {from:?}");
        std::fs::write(self.config(), text.replace(from, to)).expect("write config");
    }
}

/// The live records of a JSON Lines file, latest version per id, without the watermark
/// (which is the time a write happened, different in every run).
fn live(path: &Path, id: &str, watermark: &str, deleted: &str) -> BTreeMap<String, Json> {
    let mut records = BTreeMap::new();
    for line in std::fs::read_to_string(path).expect("read").lines() {
        let Ok(Json::Object(mut record)) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        let Some(key) = record.get(id).and_then(Json::as_str).map(str::to_owned) else {
            continue;
        };
        if record.get(deleted) == Some(&Json::Bool(true))
            || record.get("_deleted") == Some(&Json::Bool(true))
        {
            records.remove(&key);
            continue;
        }
        record.remove(watermark);
        let merged = records
            .entry(key)
            .or_insert_with(|| Json::Object(Default::default()));
        if let Json::Object(m) = merged {
            m.extend(record);
        }
    }
    records
}

fn salesforce(example: &Example) -> BTreeMap<String, Json> {
    live(
        &example.file("salesforce", "Account.jsonl"),
        "Id",
        "SystemModstamp",
        "IsDeleted",
    )
}

fn hubspot(example: &Example) -> BTreeMap<String, Json> {
    live(
        &example.file("hubspot", "companies.jsonl"),
        "id",
        "hs_lastmodifieddate",
        "archived",
    )
}

fn names(records: &BTreeMap<String, Json>, field: &str) -> Vec<String> {
    let mut names: Vec<String> = records
        .values()
        .filter_map(|r| r[field].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn the_example_unifies_merges_filters_and_writes_both_ways() {
    let example = Example::new();
    example.cycle();
    let counts = example.last_counts();
    assert_eq!(
        counts["read"], 14,
        "8 Salesforce accounts and 6 HubSpot companies: {counts}"
    );
    // Within one cycle Attach Record also finds the records the cycle creates before them, so
    // duplicates meet as they would across cycles: `acme inc` (Salesforce), `soylent`
    // (HubSpot) and the HubSpot twins of Initech and Stark Industries are attached, and
    // nothing is left for the merge stage.
    assert_eq!(counts["merged"], 0, "{counts}");
    assert_eq!(counts["created"], 10, "{counts}");
    assert_eq!(counts["quarantined"], 0);

    // Salesforce gets the companies only HubSpot had, once each, tagged with their unified id.
    let sf = salesforce(&example);
    let sf_names = names(&sf, "Name");
    assert!(
        sf_names.contains(&"Vandelay Industries".to_owned()),
        "{sf_names:?}"
    );
    assert_eq!(
        sf_names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case("soylent"))
            .count(),
        1,
        "{sf_names:?}"
    );
    // Every record wasync wrote carries its unified id. The merged-away `acme inc` (001E) is
    // deleted in the unified store only, as the seeds say: Salesforce keeps it, unwritten.
    let untouched: Vec<&String> = sf
        .iter()
        .filter(|(_, r)| !r["Wasync_Id__c"].is_string())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(untouched, ["001E"]);

    // HubSpot gets only Customers, with Company Type "Other" unless Prospect or Partner.
    let hs = hubspot(&example);
    let written: Vec<&Json> = hs.values().filter(|r| r["wasync_id"].is_string()).collect();
    let mut written_names: Vec<&str> = written.iter().filter_map(|r| r["name"].as_str()).collect();
    written_names.sort();
    assert_eq!(
        written_names,
        [
            "Initech",
            "Stark Industries",
            "Wayne Enterprises",
            // Salesforce's later `acme inc` (001E) was attached to Acme: its name is the
            // latest change of the authoritative source.
            "acme inc",
        ]
    );
    assert!(written.iter().all(|r| r["type"] == "Other"), "{written:?}");
    // Domain came from Website through extract-domain.
    let wayne = written
        .iter()
        .find(|r| r["name"] == "Wayne Enterprises")
        .expect("Wayne written");
    assert_eq!(wayne["domain"], "example.com");
    // Initech existed in HubSpot: it was updated in place, not created again.
    assert_eq!(hs.values().filter(|r| r["name"] == "Initech").count(), 1);
}

#[test]
fn a_second_cycle_without_upstream_changes_writes_nothing() {
    let example = Example::new();
    example.cycle();
    example.cycle();
    let counts = example.last_counts();
    assert_eq!(
        counts["written"], 0,
        "the echo of our own writes changes nothing: {counts}"
    );
    assert_eq!(counts["created"], 0, "{counts}");
    assert_eq!(counts["updated"], 0, "{counts}");
    example.cycle();
    let counts = example.last_counts();
    assert_eq!(
        (counts["read"].clone(), counts["written"].clone()),
        (Json::from(0), Json::from(0)),
        "{counts}"
    );
}

#[test]
fn a_destination_file_torn_mid_line_gets_whole_lines_after_it_and_the_torn_one_is_set_aside() {
    let example = Example::new();
    let companies = example.file("hubspot", "companies.jsonl");
    {
        // A write cut off by a crash: the file ends inside a line.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&companies)
            .expect("open");
        write!(f, r#"{{"id": "torn-1", "na"#).expect("append");
    }
    example.cycle();
    let text = std::fs::read_to_string(&companies).expect("read");
    let torn = text
        .lines()
        .filter(|l| l.contains("torn-1"))
        .collect::<Vec<_>>();
    assert_eq!(
        torn,
        [r#"{"id": "torn-1", "na"#],
        "the torn line stands alone"
    );
    for line in text.lines().filter(|l| !l.contains("torn-1")) {
        serde_json::from_str::<Json>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // Read back, the torn line is set aside, naming where it is; nothing else is.
    example.cycle();
    let quarantined = example.json_lines(&["quarantine", "list", "--json"]);
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(quarantined[0]["stage"], "read");
    assert!(
        quarantined[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not JSON")),
        "{quarantined:?}"
    );
}

#[test]
fn salesforce_is_authoritative_for_name_and_an_older_change_never_wins() {
    let example = Example::new();
    example.sync();
    // HubSpot renames Initech, later than Salesforce's change: Salesforce still wins Name.
    example.append("hubspot", "companies.jsonl", r#"{"id":"9002","name":"Initech LLC","domain":"initech.io","hs_lastmodifieddate":"2026-11-20T00:00:00.000Z"}"#);
    // Salesforce moves Globex's website (latest wins for Domain)...
    example.append("salesforce", "Account.jsonl", r#"{"Id":"001B","Name":"Globex","Website":"https://globex.com","Type":"Prospect","Industry":"Energy","SystemModstamp":"2026-11-21T00:00:00.000+0000"}"#);
    example.sync();
    // ...and then HubSpot delivers an older change of Globex's domain, in a later cycle.
    let globex_hs = hubspot(&example)
        .into_iter()
        .find(|(_, r)| r["name"] == "Globex");
    assert!(
        globex_hs.is_none(),
        "Globex is a Prospect: never written to HubSpot"
    );
    example.append("hubspot", "companies.jsonl", r#"{"id":"9100","name":"Globex","domain":"globex.co.uk","hs_lastmodifieddate":"2026-11-10T00:00:00.000Z"}"#);
    example.sync();

    let sf = salesforce(&example);
    assert_eq!(
        sf["001C"]["Name"], "Initech",
        "HubSpot's later rename did not win: {:?}",
        sf["001C"]
    );
    let entries = example.json_lines(&["log", "--json", "--limit", "10000"]);
    let domain_changes: Vec<&Json> = entries
        .iter()
        .filter(|e| e["field"] == "Domain" && e["new"] == "\"globex.co.uk\"" && e["op"] == "update")
        .collect();
    assert!(
        domain_changes.is_empty(),
        "the older HubSpot domain must not overwrite the newer: {domain_changes:?}"
    );

    // `log --record` gives exactly that record's entries of the whole log, newest first.
    let initech = entries
        .iter()
        .find(|e| e["field"] == "Name" && e["new"] == "\"Initech\"")
        .and_then(|e| e["record_id"].as_str())
        .expect("Initech's Name was logged");
    let own: Vec<&Json> = entries
        .iter()
        .filter(|e| e["record_id"] == initech)
        .collect();
    let by_record = example.json_lines(&["log", "--json", "--record", initech]);
    assert!(own.len() > 1, "Initech has several entries: {own:?}");
    assert_eq!(by_record.iter().collect::<Vec<_>>(), own);
}

#[test]
fn bad_records_and_failing_plugins_are_quarantined_then_retried_once_fixed() {
    let example = Example::new();
    example.append("salesforce", "Account.jsonl", "{this is not json");
    example.append("salesforce", "Account.jsonl", r#"{"Id":"001Z","Name":"Trapco","Website":"https://trapco.com","Type":"Customer","Industry":"trap","SystemModstamp":"2026-11-01T09:30:00.000+0000"}"#);
    let hostile = wasync_test_guests::HOSTILE;
    example.edit_config(
        "Industry = \"Industry\"\n\n[[pipeline.source]]",
        &format!("Industry = {{ from = \"Industry\", transforms = [{{ plugin = {hostile:?} }}] }}\n\n[[pipeline.source]]"),
    );
    example.cycle();
    let counts = example.last_counts();
    assert_eq!(counts["quarantined"], 2, "{counts}");
    let entries = example.json_lines(&["quarantine", "list", "--json"]);
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .any(|q| q["stage"] == "read"
                && q["reason"].as_str().is_some_and(|r| r.contains("line 9"))),
        "{entries:?}"
    );
    let trap = entries
        .iter()
        .find(|q| q["record_id"] == "001Z")
        .expect("Trapco quarantined");
    assert_eq!(trap["stage"], "source-fields");
    assert!(
        trap["reason"]
            .as_str()
            .is_some_and(|r| r.contains("field `Industry`") && r.contains("boom")),
        "{trap}"
    );
    // The rest of the batch went on.
    assert!(
        hubspot(&example)
            .values()
            .any(|r| r["name"] == "Stark Industries")
    );

    // Retried every cycle while it still fails.
    example.cycle();
    let again = example.json_lines(&["quarantine", "list", "--json"]);
    assert!(
        again
            .iter()
            .any(|q| q["record_id"] == "001Z" && q["attempts"] == 2),
        "{again:?}"
    );

    // Fix the pipeline: the replay processes Trapco, once.
    example.edit_config(
        &format!("Industry = {{ from = \"Industry\", transforms = [{{ plugin = {hostile:?} }}] }}"),
        "Industry = \"Industry\"",
    );
    let out = example.wasync(&["quarantine", "replay"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    example.sync();
    let hs = hubspot(&example);
    assert_eq!(
        hs.values().filter(|r| r["name"] == "Trapco").count(),
        1,
        "written once"
    );
    let left = example.json_lines(&["quarantine", "list", "--json"]);
    assert_eq!(left.len(), 1, "only the malformed line stays: {left:?}");
}

#[test]
fn a_cycle_killed_at_any_stage_then_run_again_ends_as_an_uninterrupted_run() {
    let reference = Example::new();
    reference.sync();
    let (want_sf, want_hs) = (salesforce(&reference), hubspot(&reference));
    assert!(!want_hs.is_empty());

    for point in [
        "read",
        "source-entity",
        "source-fields",
        "merge",
        "save",
        "destination-entity",
        "destination-fields",
        "write-call",
        "write",
    ] {
        let example = Example::new();
        let out = example.wasync(&["sync", "--once"], &[("WASYNC_ABORT_AT", point)]);
        assert!(
            !out.status.success(),
            "{point}: the process must have been killed"
        );
        example.sync();
        example.sync();
        assert_eq!(
            salesforce(&example),
            want_sf,
            "Salesforce after a kill at {point}"
        );
        assert_eq!(
            hubspot(&example),
            want_hs,
            "HubSpot after a kill at {point}"
        );
    }
}

#[test]
fn a_wrong_configuration_is_refused_naming_the_key() {
    let example = Example::new();
    example.edit_config("max_group = 10", "max_group = 10\nmax_gruop = 3");
    let out = example.wasync(&["sync", "--once"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `max_gruop`"), "{err}");

    let example = Example::new();
    example.edit_config(
        "connector = \"hubspot\"\nentity = \"companies\"\nfunctions",
        "connector = \"hubspt\"\nentity = \"companies\"\nfunctions",
    );
    let out = example.wasync(&["sync", "--once"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("connector `hubspt` is not defined under [connectors]"),
        "{err}"
    );
    assert!(
        !example.dir.path().join("wasync.db").exists(),
        "nothing ran half-configured"
    );
}

#[test]
fn a_page_boundary_inside_a_run_of_equal_watermarks_loses_nothing() {
    // Globex, Initech and Umbrella share one SystemModstamp; pages of two split that run.
    // Every one of them is read and applied: the transaction log has each one's website.
    let paged = Example::new();
    paged.edit_config("batch_size = 500", "batch_size = 2");
    paged.sync();
    let entries = paged.json_lines(&["log", "--json", "--limit", "10000"]);
    for website in [
        "http://globex.co.uk/about",
        "initech.io",
        "https://WWW.Umbrella.com.au/",
    ] {
        let applied = entries.iter().any(|e| {
            e["field"] == "Website"
                && e["new"] == format!("{website:?}")
                && e["source"] == "salesforce/Account"
        });
        assert!(applied, "{website} was read and applied");
    }
    let status = paged.status();
    assert!(
        status["pipelines"][0]["last_cycle"]["cycle"]
            .as_i64()
            .is_some_and(|c| c > 5),
        "{status}"
    );
}

#[test]
fn a_source_delete_reaches_destinations_as_each_says() {
    let example = Example::new();
    example.sync();
    assert!(
        hubspot(&example)
            .values()
            .any(|r| r["name"] == "Wayne Enterprises")
    );
    example.append(
        "salesforce",
        "Account.jsonl",
        r#"{"Id":"001G","IsDeleted":true,"SystemModstamp":"2026-11-22T00:00:00.000+0000"}"#,
    );
    example.sync();
    assert_eq!(example.last_counts()["deleted"], 1);
    assert!(
        !hubspot(&example)
            .values()
            .any(|r| r["name"] == "Wayne Enterprises"),
        "deleted in HubSpot"
    );
    assert!(
        !salesforce(&example).contains_key("001G"),
        "a tombstone in Salesforce stays one"
    );
    let log = example.wasync(&["log", "--json"], &[]);
    assert!(String::from_utf8_lossy(&log.stdout).contains("\"op\":\"delete\""));

    // `clear` keeps the record there and empties the mapped fields; `ignore` leaves it.
    let example = Example::new();
    example.edit_config(
        "external_id_field = \"wasync_id\"",
        "external_id_field = \"wasync_id\"\non_delete = \"clear\"",
    );
    example.edit_config(
        "external_id_field = \"Wasync_Id__c\"",
        "external_id_field = \"Wasync_Id__c\"\non_delete = \"ignore\"",
    );
    example.sync();
    example.append(
        "salesforce",
        "Account.jsonl",
        r#"{"Id":"001G","IsDeleted":true,"SystemModstamp":"2026-11-22T00:00:00.000+0000"}"#,
    );
    example.append(
        "hubspot",
        "companies.jsonl",
        r#"{"id":"9005","archived":true,"hs_lastmodifieddate":"2026-11-22T00:00:00.000Z"}"#,
    );
    example.sync();
    let hs = hubspot(&example);
    let wayne = hs
        .values()
        .find(|r| r["wasync_id"].is_string() && r["name"].is_null() && r["domain"].is_null());
    assert!(
        wayne.is_some(),
        "Wayne cleared in HubSpot, not deleted: {hs:?}"
    );
    let sf = salesforce(&example);
    assert!(
        sf.values().any(|r| r["Name"] == "Vandelay Industries"),
        "ignored in Salesforce: {sf:?}"
    );
}

#[test]
fn a_first_sync_writes_nothing_until_every_source_is_read_through() {
    let example = Example::new();
    example.edit_config("batch_size = 500", "batch_size = 3");
    let before = (salesforce(&example), hubspot(&example));
    example.cycle();
    assert_eq!(
        example.status()["pipelines"][0]["last_cycle"]["writes_wait_for"],
        serde_json::json!(["salesforce/Account", "hubspot/companies"])
    );
    let text = example.wasync(&["status"], &[]);
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("writes wait for the first read through salesforce/Account"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    assert_eq!((salesforce(&example), hubspot(&example)), before);

    // Read through, the twins met in the store before anything was written: each HubSpot
    // company that has a Salesforce twin is updated in place, none created beside it, and
    // the end state is the one a single large batch reaches.
    example.sync();
    let whole = Example::new();
    whole.sync();
    for (small, large) in [
        (salesforce(&example), salesforce(&whole)),
        (hubspot(&example), hubspot(&whole)),
    ] {
        assert_eq!(small, large);
    }
}

#[test]
fn merge_dry_run_reports_and_the_group_guard_stops_large_groups() {
    let example = Example::new();
    example.without_attach_record();
    example.edit_config("max_group = 10", "max_group = 10\ndry_run = true");
    let out = example.wasync(&["sync", "--once"], &[]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("merge: would merge:").count(), 4, "{err}");
    assert_eq!(example.last_counts()["merged"], 0);

    let example2 = Example::new();
    example2.without_attach_record();
    example2.edit_config("max_group = 10", "max_group = 4");
    for i in 0..3 {
        example2.append(
            "hubspot",
            "companies.jsonl",
            &format!(r#"{{"id":"95{i}","name":"Initech","hs_lastmodifieddate":"2026-11-03T00:00:0{i}.000Z"}}"#),
        );
    }
    let out = example2.wasync(&["sync", "--once"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("merge: not merged: a group of 5 records exceeds max_group 4"),
        "{err}"
    );
    assert_eq!(
        example2.last_counts()["merged"],
        3,
        "the other groups still merge"
    );
}

/// A pipeline of page-view events from one JSON Lines file to another, written in a temp dir.
fn events_pipeline(dir: &Path, delay_seconds: u64) -> PathBuf {
    std::fs::create_dir_all(dir.join("in")).expect("mkdir");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let config = format!(
        r#"
[connectors.site]
plugin = "jsonl"
dirs = [{{ host = "in" }}]
[connectors.site.settings.entities.views]
file = "views.jsonl"
id_field = "id"
watermark_field = "at"
kind = "event"

[connectors.warehouse]
plugin = "jsonl"
dirs = [{{ host = "out" }}]
[connectors.warehouse.settings.entities.views]
file = "views.jsonl"
id_field = "id"
watermark_field = "at"
kind = "event"
upsert_key = "view_id"

[[pipeline]]
name = "views"
entity = "PageView"

[pipeline.merge]
config = {{ match = ["Page"] }}

[[pipeline.source]]
connector = "site"
entity = "views"
delay_seconds = {delay_seconds}
[pipeline.source.fields]
Page = "page"
User = "user"

[[pipeline.destination]]
connector = "warehouse"
entity = "views"
external_id_field = "view_id"
[pipeline.destination.fields]
page = "Page"
user = "User"
"#
    );
    std::fs::write(dir.join("wasync.toml"), config).expect("write config");
    dir.join("wasync.toml")
}

fn run(config: &Path, args: &[&str]) -> Output {
    let out = cli::wasync()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("wasync runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn events_are_appended_never_merged_and_forwarded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = events_pipeline(dir.path(), 0);
    let views = (1..=4)
        .map(|i| {
            format!(
                r#"{{"id":"v{i}","page":"/pricing","user":"u{i}","at":"2026-11-01T00:00:0{i}Z"}}"#
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("in/views.jsonl"), views + "\n").expect("write");
    run(&config, &["sync"]);
    run(&config, &["sync"]);
    let out = live(&dir.path().join("out/views.jsonl"), "id", "at", "_deleted");
    assert_eq!(
        out.len(),
        4,
        "four views, none merged though all share a page, none twice: {out:?}"
    );
    let status: Json =
        serde_json::from_slice(&run(&config, &["status", "--json"]).stdout).expect("JSON");
    assert_eq!(
        status["pipelines"][0]["destinations"][0]["pending_records"],
        0
    );
}

#[test]
fn a_source_delay_holds_back_changes_younger_than_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = events_pipeline(dir.path(), 3600);
    let recent = wasync::value::rfc3339(wasync::engine::now_micros() - 60_000_000);
    let lines = [
        r#"{"id":"old","page":"/a","user":"u1","at":"2026-01-01T00:00:00Z"}"#.to_owned(),
        format!(r#"{{"id":"new","page":"/b","user":"u2","at":"{recent}"}}"#),
    ];
    std::fs::write(dir.path().join("in/views.jsonl"), lines.join("\n") + "\n").expect("write");
    run(&config, &["sync"]);
    let out = live(&dir.path().join("out/views.jsonl"), "id", "at", "_deleted");
    let pages: Vec<&Json> = out.values().map(|r| &r["page"]).collect();
    assert_eq!(
        pages,
        [&Json::from("/a")],
        "only the change older than an hour: {out:?}"
    );
}

/// The unified records of an example's store: id, fields and whether deleted, by id.
fn unified(example: &Example) -> Vec<(String, String, bool)> {
    let store = rusqlite::Connection::open(example.dir.path().join("wasync.db")).expect("store");
    store
        .prepare("SELECT id, fields, deleted FROM records ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .expect("records")
}

/// A source's next page is read while a cycle works on this one; it is the next cycle's
/// read, done early. Changes made to the source in between (an update of a record read or
/// read ahead already, a new record) are still taken, and the end is the same as a run that
/// found them there from the start.
#[test]
fn changes_made_while_the_next_page_is_read_ahead_are_still_taken() {
    use wasync::engine::cycle::Options;
    let change = |example: &Example| {
        let path = example.file("salesforce", "Account.jsonl");
        let mut text = std::fs::read_to_string(&path).expect("read");
        for line in [
            r#"{"Id":"001B","Name":"Globex","Website":"https://globex.com","Type":"Customer","Industry":"Energy","SystemModstamp":"2026-11-02T10:00:00.000+0000"}"#,
            r#"{"Id":"001Z","Name":"Zenith","Website":"zenith.io","Type":"Customer","Industry":"Retail","SystemModstamp":"2026-11-02T10:01:00.000+0000"}"#,
        ] {
            text.push_str(line);
            text.push('\n');
        }
        // Whole or not at all, as an editor saves: the read ahead may be reading the file
        // at this moment, and a file seen half-written is another test's business.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text).expect("write");
        std::fs::rename(&partial, &path).expect("rename");
    };
    let reference = Example::new();
    change(&reference);
    reference.sync();

    let paged = Example::new();
    paged.edit_config("batch_size = 500", "batch_size = 2");
    let config = wasync::config::Config::load(&paged.config()).expect("config");
    let runtime = wasync::plugin::Runtime::new(wasync::plugin::RuntimeOptions {
        limits: wasync::plugin::Limits::default(),
        cache: wasync::plugin::Cache::default_location(),
    })
    .expect("runtime");
    let mut engine = wasync::engine::Engine::open(&config, &runtime).expect("engine");
    let options = Options {
        read_ahead: true,
        ..Options::default()
    };
    let cycle = |engine: &mut wasync::engine::Engine| {
        engine.run_cycle("accounts", &options).expect("cycle")
    };
    assert!(cycle(&mut engine).more, "pages of two leave more to read");
    change(&paged);
    let mut cycles = 1;
    while cycle(&mut engine).more {
        cycles += 1;
        assert!(cycles < 50, "caught up");
    }
    // One more: writes wait until every source is read through.
    cycle(&mut engine);
    drop(engine);

    assert_eq!(unified(&paged), unified(&reference));
    assert_eq!(salesforce(&paged), salesforce(&reference));
    assert_eq!(hubspot(&paged), hubspot(&reference));
    let zenith = salesforce(&paged).values().any(|r| r["Name"] == "Zenith");
    assert!(zenith, "the record added while reading ahead is there");
    let globex = unified(&paged)
        .into_iter()
        .any(|(_, fields, _)| fields.contains("https://globex.com"));
    assert!(globex, "the update made while reading ahead won");
}
