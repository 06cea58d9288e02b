//! The `rest` connector end to end: the real component in the real host, configured from a
//! pipeline file alone, against the REST stand-in on 127.0.0.1 (every paging style, the
//! usual faults), with a JSON Lines destination to compare with what the API holds. The
//! stand-in's request log counts the API calls against the fewest the paging allows.

#[path = "support/cli.rs"]
mod cli;

use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use wasync::config::Config;
use wasync::engine::cycle::Options;
use wasync::engine::{Engine, Report};
use wasync::plugin::{Cache, Limits, Runtime, RuntimeOptions};
use wasync_standins::Fault;
use wasync_standins::rest::{self, RestApi};

const RECORDS: usize = 250;
const PAGE: usize = 20;

/// How `items` is listed: the entity settings of each paging style the stand-in serves.
const STYLES: [(&str, &str); 6] = [
    (
        "cursor",
        r#"path = "/cursor/items"
query = { sort = "updated_at", include_deleted = "true" }
records = "data"
order = "ascending"
since = { param = "updated_since", format = "rfc3339-millis" }
paging = { type = "cursor", param = "cursor", path = "meta.next_cursor", size_param = "limit", size = 20 }"#,
    ),
    (
        "next-url",
        r#"path = "/next/items"
query = { sort = "updated_at", include_deleted = "true" }
records = "results"
order = "ascending"
since = { param = "updated_since", format = "rfc3339-micros" }
paging = { type = "next-url", path = "next", size_param = "page_size", size = 20 }"#,
    ),
    (
        "link",
        r#"path = "/link/items"
query = { include_deleted = "true" }
since = { param = "updated_since", format = "rfc3339-millis" }
paging = { type = "link", size_param = "per_page", size = 20 }"#,
    ),
    (
        "offset",
        r#"path = "/offset/items"
query = { sort = "updated_at", include_deleted = "true" }
records = "items"
order = "ascending"
since = { param = "updated_since", format = "rfc3339-millis" }
paging = { type = "offset", param = "offset", total = "total", size_param = "limit", size = 20 }"#,
    ),
    (
        "page",
        r#"path = "/page/items"
query = { include_deleted = "true" }
records = "data"
since = { param = "updated_since", format = "rfc3339-millis" }
paging = { type = "page", param = "page", total_pages = "total_pages", size_param = "per_page", size = 20 }"#,
    ),
    (
        "search",
        r#"path = "/search/items"
method = "POST"
body = { sort = "updated_at", filter = { include_deleted = true } }
records = "records"
order = "ascending"
since = { param = "filter.updated_since", format = "rfc3339-millis" }
paging = { type = "cursor", param = "after", path = "next_after", size_param = "limit", size = 20 }"#,
    ),
];

/// A pipeline from the API's `items` (listed as `listing` says) into `out/items.jsonl`.
fn pipeline(dir: &Path, api: &RestApi, listing: &str, batch: usize) -> PathBuf {
    let text = format!(
        r#"store = "wasync.db"

[connectors.api]
plugin = "rest"
http = {{ hosts = ["{host}"], retries = 4, backoff_ms = 10, auth = {{ type = "bearer", token = "{token}" }} }}

[connectors.api.settings]
base_url = "{url}"

[connectors.api.settings.entities.items]
watermark_field = "updated_at"
deleted_field = "deleted"
fields = {{ name = "text", n = "integer" }}
{listing}

[connectors.files]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings = {{ entities = {{ items = {{ file = "items.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }} }} }}

[[pipeline]]
name = "items"
entity = "Item"
batch_size = {batch}

[[pipeline.source]]
connector = "api"
entity = "items"
fields = {{ Name = "name", N = "n" }}

[[pipeline.destination]]
connector = "files"
entity = "items"
external_id_field = "wasync_id"
fields = {{ name = "Name", n = "N" }}
"#,
        host = api.addr(),
        token = rest::DEFAULT_TOKEN,
        url = api.url(),
    );
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let path = dir.join("wasync.toml");
    std::fs::write(&path, text).expect("write pipeline");
    path
}

fn engine(path: &Path) -> Engine {
    let config = Config::load(path).expect("config");
    let runtime = Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::at(cli::cache_dir()),
    })
    .expect("runtime");
    Engine::open(&config, &runtime).expect("engine")
}

/// Runs cycles until one reads and writes nothing, and fails nowhere; returns the reports.
fn settle(engine: &mut Engine) -> Vec<Report> {
    let mut reports = Vec::new();
    for _ in 0..200 {
        let report = engine
            .run_cycle("items", &Options::default())
            .expect("cycle");
        let done =
            !report.more && report.read == 0 && report.written == 0 && report.errors.is_empty();
        reports.push(report);
        if done {
            return reports;
        }
    }
    panic!("not settled after 200 cycles: {:#?}", reports.last());
}

/// `RECORDS` items, in runs of seven sharing one `updated_at`, so that runs of ties cross
/// page and batch boundaries; each run a few milliseconds after the one before, as real
/// changes are spread in time.
fn seed(api: &RestApi) {
    for run in 0..RECORDS.div_ceil(7) {
        std::thread::sleep(std::time::Duration::from_millis(2));
        let rows = (run * 7..(run * 7 + 7).min(RECORDS))
            .map(|n| json!({"name": format!("item {n}"), "n": n}))
            .collect::<Vec<_>>();
        api.insert_many("items", rows);
    }
}

/// What the API holds, live: (name, n) sorted.
fn at_api(api: &RestApi) -> Vec<(String, i64)> {
    let mut live: Vec<_> = api
        .records("items")
        .iter()
        .filter(|r| r.get("deleted") != Some(&Json::Bool(true)))
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("?").to_owned(),
                r["n"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    live.sort();
    live
}

/// What the destination file holds, live: (name, n) sorted.
fn at_destination(dir: &Path) -> Vec<(String, i64)> {
    let text = std::fs::read_to_string(dir.join("out/items.jsonl")).unwrap_or_default();
    let mut latest = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Json = serde_json::from_str(line).expect("a JSON line");
        latest.insert(record["id"].as_str().unwrap_or("?").to_owned(), record);
    }
    let mut live: Vec<_> = latest
        .values()
        .filter(|r| r.get("_deleted") != Some(&Json::Bool(true)))
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("?").to_owned(),
                r["n"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    live.sort();
    live
}

/// List calls the stand-in served since it was last cleared.
fn list_calls(api: &RestApi) -> usize {
    api.requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v1/"))
        .count()
}

/// The requests the stand-in served, one line each, for a message.
fn served(api: &RestApi) -> String {
    let lines: Vec<String> = api
        .requests()
        .iter()
        .map(|r| format!("{} {} {}", r.status, r.method, r.path))
        .collect();
    lines.join("\n")
}

#[test]
fn every_paging_style_reads_every_record_once_at_the_fewest_calls() {
    for (style, listing) in STYLES {
        let api = rest::start(rest::Options::default()).expect("stand-in");
        seed(&api);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut engine = engine(&pipeline(dir.path(), &api, listing, 45));

        // The first sync: every record, each page fetched once (the last cycle, which finds
        // nothing new, asks once more).
        let reports = settle(&mut engine);
        assert_eq!(at_destination(dir.path()), at_api(&api), "{style}");
        assert_eq!(at_api(&api).len(), RECORDS);
        let read: u64 = reports.iter().map(|r| r.read).sum();
        assert_eq!(read, RECORDS as u64, "{style}: each record read once");
        let fewest = RECORDS.div_ceil(PAGE) + 1;
        assert_eq!(list_calls(&api), fewest, "{style}:\n{}", served(&api));

        // Changes: five updated, two deleted, one created; one page of changes since the
        // watermark, and the idle cycle's call.
        api.clear_requests();
        for n in [3, 50, 51, 120, 249] {
            let id = format!("r-{:06}", n + 1);
            assert!(api.update("items", &id, json!({"name": format!("item {n} changed")})));
        }
        assert!(api.delete("items", "r-000007"));
        assert!(api.delete("items", "r-000100"));
        api.insert("items", json!({"name": "item new", "n": 1000}));
        let reports = settle(&mut engine);
        assert_eq!(
            at_destination(dir.path()),
            at_api(&api),
            "{style}: after changes"
        );
        let changed: u64 = reports.iter().map(|r| r.read).sum();
        assert!(changed >= 8, "{style}: read {changed}");
        assert_eq!(list_calls(&api), 2, "{style}:\n{}", served(&api));
    }
}

/// Queues faults on the stand-in.
type Inject = &'static dyn Fn(&RestApi);

#[test]
fn faults_lose_nothing_and_what_cannot_be_trusted_is_read_again() {
    let faults: [(&str, Inject); 6] = [
        ("cursor", &|api| {
            api.inject(Fault::RateLimited {
                times: 2,
                retry_after: Some(1),
            });
            api.inject(Fault::ServerError { times: 2 });
        }),
        ("cursor", &|api| api.short_pages(4)),
        ("cursor", &|api| api.repeat_cursor(2)),
        ("next-url", &|api| api.repeat_cursor(1)),
        ("link", &|api| api.repeat_cursor(1)),
        ("page", &|api| api.short_pages(2)),
    ];
    for (style, inject) in faults {
        let listing = STYLES.iter().find(|(s, _)| *s == style).expect("a style").1;
        let api = rest::start(rest::Options::default()).expect("stand-in");
        seed(&api);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut engine = engine(&pipeline(dir.path(), &api, listing, 45));
        inject(&api);
        let reports = settle(&mut engine);
        assert_eq!(at_destination(dir.path()), at_api(&api), "{style}");
        let statuses: Vec<u16> = api.requests().iter().map(|r| r.status).collect();
        match style {
            "cursor" if statuses.contains(&429) => {
                assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
                assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2);
                assert!(
                    reports.iter().all(|r| r.errors.is_empty()),
                    "retried by the host"
                );
            }
            "page" => {
                // Unordered: the read that met a page that skipped records failed and said
                // why; a later one read everything.
                let errors: Vec<&String> = reports.iter().flat_map(|r| &r.errors).collect();
                assert!(!errors.is_empty(), "{style}: the fault was reported");
                assert!(
                    errors.iter().all(|e| e.contains("/items")),
                    "{style}: {errors:?}"
                );
            }
            _ => assert!(
                reports.iter().all(|r| r.errors.is_empty()),
                "{style}: {reports:#?}"
            ),
        }
    }
}

#[test]
fn changes_are_written_through_the_api_and_refusals_are_quarantined() {
    let api = rest::start(rest::Options::default()).expect("stand-in");
    let dir = cli::example("tickets");
    let file = dir.path().join("wasync.toml");
    let config = std::fs::read_to_string(&file).expect("read");
    let config = config
        .replace("http://127.0.0.1:7880", &api.url())
        .replace("127.0.0.1:7880", &api.addr().to_string())
        .replace(
            "rate = { requests = 20, per_seconds = 1 }",
            "rate = { requests = 1000, per_seconds = 1 }",
        );
    std::fs::write(&file, config).expect("write");
    for (subject, priority) in [("Printer on fire", 1), ("VPN down", 2), ("New laptop", 3)] {
        api.insert(
            "tickets",
            json!({"subject": subject, "status": "open", "priority": priority, "requester": "ada@example.com"}),
        );
    }
    let run = |args: &[&str]| {
        let output = cli::wasync()
            .args(args)
            .arg("--config")
            .arg(&file)
            .env("TICKETS_API_TOKEN", rest::DEFAULT_TOKEN)
            .output()
            .expect("wasync runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };

    let (ok, out, err) = run(&["check"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&["discover", "--connector", "api", "--json"]);
    assert!(ok, "{out}{err}");
    let discovered: Json = serde_json::from_str(&out).expect("JSON");
    assert!(
        out.contains("\"priority\"") && out.contains("\"Contact\""),
        "{discovered:#}"
    );

    let (ok, out, err) = run(&["sync"]);
    assert!(ok, "{out}{err}");
    let tickets = std::fs::read_to_string(dir.path().join("data/tickets.jsonl")).expect("tickets");
    assert_eq!(tickets.lines().count(), 3, "{tickets}");
    assert!(tickets.contains("Printer on fire"), "{tickets}");

    // Contacts: two created by PUT under their unified id, the third refused by the API
    // (its email) and set aside with the API's own message.
    let contacts = api.records("contacts");
    assert_eq!(contacts.len(), 2, "{contacts:#?}");
    assert!(
        contacts.iter().all(|c| c["id"] == c["wasync_id"]),
        "{contacts:#?}"
    );
    let (ok, out, err) = run(&["quarantine", "list"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("alan at example") && out.contains("HTTP 422"),
        "{out}"
    );

    // An update and a delete reach the API; a create is never made twice.
    let lines = dir.path().join("data/contacts.jsonl");
    let mut text = std::fs::read_to_string(&lines).expect("contacts");
    text.push_str(
        "{\"id\": \"c1\", \"at\": \"2026-01-06T09:00:00Z\", \"name\": \"Ada King\", \"email\": \"ada@example.com\"}\n\
         {\"id\": \"c2\", \"at\": \"2026-01-06T09:05:00Z\", \"_deleted\": true}\n",
    );
    std::fs::write(&lines, text).expect("append");
    let (ok, out, err) = run(&["sync"]);
    assert!(ok, "{out}{err}");
    let contacts = api.records("contacts");
    assert_eq!(contacts.len(), 2, "{contacts:#?}");
    let ada = contacts
        .iter()
        .find(|c| c["name"] == "Ada King")
        .expect("Ada updated");
    assert_eq!(ada.get("deleted"), None);
    let grace = contacts
        .iter()
        .find(|c| c["name"] == "Grace Hopper")
        .expect("Grace");
    assert_eq!(grace["deleted"], true, "{grace}");
}
