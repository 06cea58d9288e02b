//! Hot load through the real `wasync serve`: a field transform's component file replaced
//! again and again while orders stream in by webhook, broken versions dropped in mid-run,
//! pipeline-file edits valid and invalid, `wasync plugin reload` by hand, and a package
//! installed by name into the running service.
//!
//! The plugin versions are one real component (`tests/guests/versioned`, built once per test
//! build) with its mark rewritten in its bytes; see `support/versions.rs`.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/packages.rs"]
mod kit;
#[path = "support/registry.rs"]
mod registry;
#[path = "support/service.rs"]
mod service;
#[path = "support/versions.rs"]
mod versions;

use serde_json::Value as Json;
use service::{Service, eventually, lines};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use versions::{install, pipeline_text, post_order, setup, version};
use wasync_test_guests::LOOKUP_PROBE;

const WAIT: Duration = Duration::from_secs(60);
/// `/status`'s entry for the versioned plugin.
fn plugin_status(service: &Service) -> Json {
    let (_, doc) = service.get("/status");
    doc["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "versioned").cloned())
        .unwrap_or(Json::Null)
}

/// The orders written, by order number: the status value (`s7|v003`).
fn written(dir: &Path) -> BTreeMap<usize, Vec<String>> {
    let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for line in lines(&dir.join("out/orders.jsonl")) {
        let status = line["status"].as_str().unwrap_or_default().to_owned();
        let n = status
            .trim_start_matches('s')
            .split('|')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        out.entry(n).or_default().push(status);
    }
    out
}

/// The transaction log's entries for field `status`, as JSON.
fn status_log(config: &Path) -> Vec<Json> {
    let folder = config.parent().expect("a pipeline file is in a folder");
    let out = kit::wasync(
        folder,
        &[
            "log",
            "--config",
            &config.display().to_string(),
            "--json",
            "--limit",
            "1000000",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).expect("a JSON line"))
        .filter(|e| e["field"] == "status")
        .collect()
}

#[test]
fn a_transform_swapped_while_orders_stream_in_processes_every_order_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, service, _) = setup(dir.path(), 50, &[]);
    let file = dir.path().join("plugins/versioned.wasm");
    assert_eq!(plugin_status(&service)["version"], version(0).1);

    // Orders stream in, one every few milliseconds, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let poster = {
        let (stop, posted, url) = (stop.clone(), posted.clone(), service.url.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            while !stop.load(Ordering::Relaxed) {
                post_order(&http, &url, posted.load(Ordering::Relaxed));
                posted.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(3));
            }
        })
    };
    let wait_for_orders = |n: usize| {
        let target = posted.load(Ordering::Relaxed) + n;
        assert!(
            eventually(WAIT, || posted.load(Ordering::Relaxed) >= target),
            "orders stopped being taken"
        );
    };

    let versions = 5;
    for k in 1..=versions {
        wait_for_orders(30);
        install(&file, &version(k).0);
        assert!(
            eventually(WAIT, || plugin_status(&service)["version"] == version(k).1),
            "version {k} was never swapped in: {}",
            plugin_status(&service)
        );
        if k == 2 {
            // Garbage, then a component of another world: both refused, v2 keeps serving.
            wait_for_orders(30);
            install(&file, b"this is not a component");
            assert!(
                eventually(WAIT, || plugin_status(&service)["error"].is_string()),
                "garbage was not refused"
            );
            let refused = plugin_status(&service);
            assert_eq!(refused["version"], version(2).1, "{refused}");
            assert!(
                refused["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("versioned.wasm"),
                "the error names the file: {refused}"
            );
            wait_for_orders(30);
            install(&file, &std::fs::read(LOOKUP_PROBE).expect("lookup-probe"));
            assert!(
                eventually(WAIT, || plugin_status(&service)["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("entity-function"))),
                "a component of another world was not refused: {}",
                plugin_status(&service)
            );
            assert_eq!(plugin_status(&service)["version"], version(2).1);
            wait_for_orders(30);
        }
    }
    wait_for_orders(30);
    stop.store(true, Ordering::Relaxed);
    poster.join().expect("poster");
    let total = posted.load(Ordering::Relaxed);
    assert!(
        eventually(WAIT, || written(dir.path()).len() == total),
        "{} of {total} orders written",
        written(dir.path()).len()
    );
    assert_eq!(plugin_status(&service)["error"], Json::Null);

    // Every order written once, marked by exactly one version; versions only move forward.
    let written = written(dir.path());
    let mut marks = Vec::new();
    for i in 0..total {
        let statuses = written.get(&i).cloned().unwrap_or_default();
        assert_eq!(statuses.len(), 1, "order {i} written {statuses:?}");
        let parts: Vec<&str> = statuses[0].split('|').collect();
        assert_eq!(parts.len(), 2, "one version made order {i}: {statuses:?}");
        let mark: usize = parts[1].trim_start_matches('v').parse().expect("a mark");
        marks.push(mark);
    }
    assert!(
        marks.windows(2).all(|w| w[0] <= w[1]),
        "an order went back to an older version: {marks:?}"
    );
    let used: std::collections::BTreeSet<usize> = marks.iter().copied().collect();
    assert_eq!(
        used,
        (0..=versions).collect(),
        "every version served orders"
    );

    // The log names, for each order's status, the one version that made it.
    let log = status_log(&config);
    assert_eq!(log.len(), total, "one status change per order, none twice");
    for entry in &log {
        let new: String = serde_json::from_str::<Json>(entry["new"].as_str().unwrap_or("null"))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mark: usize = new
            .split('|')
            .nth(1)
            .and_then(|m| m.trim_start_matches('v').parse().ok())
            .unwrap_or_else(|| panic!("a marked value: {entry}"));
        assert_eq!(entry["op"], "create", "{entry}");
        assert_eq!(
            entry["plugin"],
            format!("versioned@{}", version(mark).1),
            "{entry}"
        );
    }
    assert_eq!(service.terminate().code(), Some(0));
}

/// The pipeline file with refunds too: a new entity of the webhook connector, and a new
/// pipeline that takes them into `out/refunds.jsonl`.
fn with_refunds(text: &str) -> String {
    let order = r#"settings.entities.Order = { kind = "object", id_field = "order_id", watermark_field = "updated_at" }"#;
    assert!(text.contains(order));
    let refund = r#"settings.entities.Refund = { kind = "object", id_field = "refund_id", watermark_field = "updated_at" }"#;
    text.replace(order, &format!("{order}\n{refund}"))
        + r#"
[connectors.refunds]
plugin = "jsonl"
dirs = [{ host = "out", guest = "/data" }]
settings.entities.Refund = { file = "refunds.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }

[[pipeline]]
name = "refunds"
entity = "Refund"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "Refund"
fields = { amount = "amount" }

[[pipeline.destination]]
connector = "refunds"
entity = "Refund"
external_id_field = "wasync_id"
fields = { amount = "amount" }
"#
}

#[test]
fn an_edited_pipeline_file_is_applied_between_cycles_and_an_invalid_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, service, port) = setup(dir.path(), 50, &[]);
    let http = reqwest::blocking::Client::new();
    let order = |i: usize| {
        post_order(&http, &service.url, i);
        assert!(
            eventually(WAIT, || written(dir.path()).contains_key(&i)),
            "order {i} not written"
        );
        lines(&dir.path().join("out/orders.jsonl"))
            .into_iter()
            .find(|l| {
                l["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&format!("s{i}|")))
            })
            .expect("the order's line")
    };
    assert!(order(0).get("copy").is_none());

    // A valid edit: the destination gets another field, from the next cycle on, and a new
    // pipeline takes the same webhooks into another file.
    let loaded = |s: &Service| s.get("/status").1["config"]["loaded_at"].clone();
    let before = loaded(&service);
    let edited = with_refunds(&pipeline_text(port, 50, 20, r#", copy = "status""#));
    std::fs::write(&config, edited).expect("edit");
    assert!(
        eventually(WAIT, || loaded(&service) != before),
        "never applied"
    );
    assert_eq!(order(1)["copy"], "s1|v000");
    let body = serde_json::json!({"entity": "Refund", "data": {
        "refund_id": "r-1", "amount": 12, "updated_at": "2026-11-24T10:00:00Z"}})
    .to_string()
    .into_bytes();
    let headers = wasync_standins::webhooks::standard_headers(service::SECRET, "r1", &body);
    let (status, answer) = service.post("events", &body, &headers);
    assert_eq!(status, 200, "the intake takes the new entity: {answer}");
    let refunds = || lines(&dir.path().join("out/refunds.jsonl"));
    assert!(
        eventually(WAIT, || refunds().iter().any(|r| r["amount"] == 12)),
        "the new pipeline got nothing: {:?} {}",
        refunds(),
        service.get("/status").1
    );
    assert_eq!(
        service.get("/status").1["pipelines"][1]["pipeline"],
        "refunds"
    );

    // An invalid edit is refused with the key named; the running configuration stays.
    std::fs::write(&config, pipeline_text(port, 50, 0, r#", copy = "status""#)).expect("edit");
    let error = |s: &Service| s.get("/status").1["config"]["error"].clone();
    assert!(
        eventually(WAIT, || error(&service).is_string()),
        "never refused"
    );
    assert!(
        error(&service)
            .as_str()
            .unwrap_or_default()
            .contains("batch_size"),
        "the error names the key: {}",
        error(&service)
    );
    assert_eq!(order(2)["copy"], "s2|v000", "syncing goes on as before");

    // A configuration whose plugin cannot be configured is refused whole, too.
    let refusing = pipeline_text(port, 50, 20, "").replace(
        r#"{ plugin = "plugins/versioned.wasm" }"#,
        r#"{ plugin = "plugins/versioned.wasm", config = { refuse = true } }"#,
    );
    std::fs::write(&config, refusing).expect("edit");
    assert!(
        eventually(WAIT, || error(&service)
            .as_str()
            .is_some_and(|e| e.contains("refused as asked"))),
        "a configuration the plugin refuses was applied: {}",
        error(&service)
    );
    assert_eq!(order(3)["copy"], "s3|v000");

    // So is one that brings in a component file that is not there.
    let missing = pipeline_text(port, 50, 20, "").replace(
        r#"{ plugin = "plugins/versioned.wasm" }"#,
        r#"{ plugin = "plugins/versioned.wasm" }, { plugin = "plugins/missing.wasm" }"#,
    );
    std::fs::write(&config, missing).expect("edit");
    assert!(
        eventually(WAIT, || error(&service)
            .as_str()
            .is_some_and(|e| e.contains("missing.wasm"))),
        "a configuration with a missing plugin was applied: {}",
        error(&service)
    );
    assert_eq!(order(4)["copy"], "s4|v000");
    assert_eq!(service.terminate().code(), Some(0));
}

#[test]
fn wasync_plugin_reload_swaps_by_hand_and_reports_a_refused_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Watching off: only `wasync plugin reload` loads anything.
    let (config, service, _) = setup(dir.path(), 0, &[]);
    let file = dir.path().join("plugins/versioned.wasm");
    let http = reqwest::blocking::Client::new();
    let config_arg = config.display().to_string();

    install(&file, &version(1).0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        plugin_status(&service)["version"],
        version(0).1,
        "not watched"
    );
    let out = kit::wasync(dir.path(), &["plugin", "reload", "--config", &config_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} -> 1.0.1", version(0).1)),
        "{stdout}"
    );
    assert_eq!(plugin_status(&service)["version"], "1.0.1");
    post_order(&http, &service.url, 0);
    assert!(eventually(WAIT, || written(dir.path())
        .get(&0)
        .is_some_and(|s| s[0] == "s0|v001")));

    // A broken version: refused, said so, exit 1; the old version keeps serving.
    install(&file, b"\0asm garbage");
    let out = kit::wasync(
        dir.path(),
        &["plugin", "reload", "--url", &service.url, "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let answer: Json = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("null")
            .as_bytes(),
    )
    .expect("JSON answer");
    assert!(
        answer["refused"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("versioned.wasm")),
        "{answer}"
    );
    assert_eq!(plugin_status(&service)["version"], "1.0.1");
    post_order(&http, &service.url, 1);
    assert!(eventually(WAIT, || written(dir.path())
        .get(&1)
        .is_some_and(|s| s[0] == "s1|v001")));

    // Nothing changed since: an idle reload says so.
    install(&file, &version(1).0);
    let out = kit::wasync(dir.path(), &["plugin", "reload", "--config", &config_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("plugins: unchanged"), "{stdout}");
    assert_eq!(plugin_status(&service)["error"], Json::Null);
    assert_eq!(service.terminate().code(), Some(0));
}

/// Publishes version `k` of the `versioned` transform as package `acme:versioned@SEMVER`.
fn publish_versioned(dir: &Path, registry: &registry::Registry, k: usize, semver: &str) {
    let folder = dir.join(format!("versioned-{semver}"));
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("versioned.wasm"), version(k).0).expect("component");
    std::fs::write(
        folder.join("wasync-package.toml"),
        format!(
            "name = \"acme:versioned\"\nversion = \"{semver}\"\nkind = \"field-transform\"\nworld = \"wasync:plugin/field-transform@0.2.0\"\ndescription = \"Marks a value with its version\"\ncomponent = \"versioned.wasm\"\n"
        ),
    )
    .expect("manifest");
    let out = format!("versioned-{semver}.wasync");
    kit::build_and_publish(dir, &folder, &out, &registry.host);
}

/// The issue's story end to end: a package published to a registry, installed by name into a
/// running `wasync serve` (no restart), and the next batch runs through it; the batches
/// before it keep the version they ran with.
#[test]
fn a_package_installed_into_a_running_service_serves_the_next_batch() {
    let registry = registry::Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    publish_versioned(d, &registry, 2, "1.0.2");
    publish_versioned(d, &registry, 4, "1.1.0");

    std::fs::create_dir_all(d.join("out")).expect("out");
    let port = service::free_port();
    let config = d.join("wasync.toml");
    let text = pipeline_text(port, 100, 20, "").replace("plugins/versioned.wasm", "acme:versioned");
    std::fs::write(&config, text).expect("pipeline file");
    let config_arg = config.display().to_string();
    let install = |reference: &str| {
        kit::ok(
            d,
            &[
                "package",
                "install",
                reference,
                "--registry",
                &registry.host,
                "--config",
                &config_arg,
            ],
        )
    };
    install("acme:versioned@1.0.2");
    let service = Service::start_on(&config, &format!("127.0.0.1:{port}"), &[]);
    let http = reqwest::blocking::Client::new();
    let package_status = || {
        let (_, doc) = service.get("/status");
        doc["plugins"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["plugin"] == "acme:versioned").cloned())
            .unwrap_or(Json::Null)
    };
    assert_eq!(package_status()["version"], "1.0.2", "{}", package_status());
    for i in 0..5 {
        post_order(&http, &service.url, i);
    }
    assert!(
        eventually(WAIT, || written(d).len() == 5),
        "{:?}",
        written(d)
    );

    // Installed while the service runs: the lock file changes, the watcher swaps it in.
    let said = install("acme:versioned");
    assert!(said.contains("1.1.0"), "{said}");
    assert!(
        eventually(WAIT, || package_status()["version"] == "1.1.0"),
        "{}",
        package_status()
    );
    for i in 5..10 {
        post_order(&http, &service.url, i);
    }
    assert!(
        eventually(WAIT, || written(d).len() == 10),
        "{:?}",
        written(d)
    );
    for (i, statuses) in written(d) {
        let mark = if i < 5 { "v002" } else { "v004" };
        assert_eq!(statuses, [format!("s{i}|{mark}")], "order {i}");
    }
    let versions: Vec<Json> = status_log(&config)
        .iter()
        .map(|e| e["plugin"].clone())
        .collect();
    assert_eq!(versions.len(), 10, "{versions:?}");
    assert_eq!(
        versions
            .iter()
            .filter(|v| *v == "acme:versioned@1.0.2")
            .count(),
        5,
        "{versions:?}"
    );
    assert_eq!(
        versions
            .iter()
            .filter(|v| *v == "acme:versioned@1.1.0")
            .count(),
        5,
        "{versions:?}"
    );
    assert_eq!(service.terminate().code(), Some(0));
}
