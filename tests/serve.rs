//! `wasync serve` end to end: the real binary, real HTTP requests on 127.0.0.1, a real
//! Standard Webhooks sender, the `webhook` and `jsonl` connectors, an HTTP collector.

#[path = "support/service.rs"]
mod service;

use serde_json::Value as Json;
use service::{
    Service, eventually, free_port, headers_aged, intake_rows, lines, page_view_body, pipeline,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use wasync_standins::collector::Collector;
use wasync_standins::hubspot::{self, WebhookTarget};
use wasync_standins::webhooks::standard_headers;

const WAIT: Duration = Duration::from_secs(30);

/// How many times each url arrived in `out/pageviews.jsonl`.
fn urls_in_file(dir: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines(&dir.join("out/pageviews.jsonl")) {
        *counts
            .entry(line["url"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    counts
}

/// How many times each url arrived at the collector.
fn urls_collected(collector: &Collector) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in collector.records() {
        *counts
            .entry(r.fields["url"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    counts
}

#[test]
fn a_signed_event_reaches_every_destination_once_and_a_redelivery_is_taken_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let service = Service::start(&pipeline(dir.path(), &collector.url()), &[]);

    let (status, answer) = service.page_view("msg_1", "/pricing");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["new"], 1, "{answer}");
    // Scheduled cycles are an hour apart: this arrives by the webhook path alone.
    assert!(
        collector.wait_for(1, WAIT),
        "the event never reached the collector"
    );
    assert!(eventually(WAIT, || urls_in_file(dir.path()).len() == 1));

    // The sender did not hear our 2xx and sends the message again, freshly signed.
    let (status, answer) = service.page_view("msg_1", "/pricing");
    assert_eq!(status, 200, "a redelivery is acknowledged: {answer}");
    assert_eq!(answer["new"], 0, "{answer}");
    let (status, _) = service.page_view("msg_2", "/about");
    assert_eq!(status, 200);
    assert!(collector.wait_for(2, WAIT));
    std::thread::sleep(Duration::from_millis(300));
    let expected = BTreeMap::from([("/about".to_owned(), 1), ("/pricing".to_owned(), 1)]);
    assert_eq!(urls_collected(&collector), expected);
    assert_eq!(urls_in_file(dir.path()), expected);
    let record = &lines(&dir.path().join("out/pageviews.jsonl"))[0];
    assert_eq!(record["user"], "u-17");

    let (status, health) = service.get("/health");
    assert_eq!((status, &health["status"]), (200, &Json::from("ok")));
    let (status, doc) = service.get("/status");
    assert_eq!(status, 200, "{doc}");
    let pageviews = &doc["pipelines"][0];
    assert_eq!(pageviews["pipeline"], "pageviews");
    assert_eq!(pageviews["received_waiting"], 0);
    assert_eq!(service.terminate().code(), Some(0), "SIGTERM exits cleanly");
}

#[test]
fn bad_requests_are_refused_with_the_right_status_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let config = pipeline(dir.path(), &collector.url());
    let service = Service::start(&config, &[]);
    let body = page_view_body("/pricing");

    let mut forged = standard_headers(service::SECRET, "msg_1", &body);
    forged[2].1 = standard_headers("whsec_c29tZXRoaW5nIGVsc2U=", "msg_1", &body)[2]
        .1
        .clone();
    // (what, status, body, headers, what the error names)
    type Case<'a> = (&'a str, u16, Vec<u8>, Vec<(String, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "a signature by another secret",
            401,
            body.clone(),
            forged,
            "signature",
        ),
        ("no signature at all", 401, body.clone(), vec![], "webhook-"),
        (
            "a timestamp ten minutes old (a replay)",
            401,
            body.clone(),
            headers_aged("msg_1", &body, 600),
            "timestamp",
        ),
        (
            "a body that was changed after signing",
            401,
            page_view_body("/pricing-changed"),
            standard_headers(service::SECRET, "msg_1", &body),
            "signature",
        ),
        (
            "malformed JSON",
            400,
            b"{\"entity\": \"PageView\", \"data\": ".to_vec(),
            standard_headers(
                service::SECRET,
                "msg_1",
                b"{\"entity\": \"PageView\", \"data\": ",
            ),
            "JSON",
        ),
        (
            "an entity no one configured",
            400,
            br#"{"entity": "Invoice", "data": {}}"#.to_vec(),
            standard_headers(
                service::SECRET,
                "msg_1",
                br#"{"entity": "Invoice", "data": {}}"#,
            ),
            "Invoice",
        ),
    ];
    for (what, expected, body, headers, says) in cases {
        let (status, answer) = service.post("events", &body, &headers);
        assert_eq!(status, expected, "{what}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{what}: {message:?} should mention {says:?}"
        );
        assert!(
            !message.contains(service::SECRET),
            "{what}: the secret leaked"
        );
    }

    let big = vec![b' '; 70_000];
    let (status, answer) = service.post(
        "events",
        &big,
        &standard_headers(service::SECRET, "m", &big),
    );
    assert_eq!(status, 413, "an oversized body: {answer}");
    let (status, _) = service.post(
        "nobody",
        &body,
        &standard_headers(service::SECRET, "m", &body),
    );
    assert_eq!(status, 404, "a connector that takes no webhooks");
    let (status, _) = service.post("out", &body, &standard_headers(service::SECRET, "m", &body));
    assert_eq!(status, 404, "a connector without a webhook table");
    let response = reqwest::blocking::get(format!("{}/webhooks/events", service.url)).expect("GET");
    assert_eq!(response.status().as_u16(), 405, "GET is not a webhook");

    assert_eq!(
        intake_rows(&dir.path().join("wasync.db")),
        0,
        "nothing was stored"
    );
    assert_eq!(service.terminate().code(), Some(0));
    assert!(collector.records().is_empty());
    assert!(lines(&dir.path().join("out/pageviews.jsonl")).is_empty());
}

#[test]
fn objects_by_webhook_run_the_whole_pipeline_and_the_latest_change_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let service = Service::start(&pipeline(dir.path(), &collector.url()), &[]);
    let order = |status: &str, at: &str| {
        serde_json::json!({"entity": "Order", "data": {
            "order_id": "o-1", "status": status, "total": 12.5, "updated_at": at}})
        .to_string()
        .into_bytes()
    };
    let orders = || lines(&dir.path().join("out/orders.jsonl"));
    let post = |id: &str, body: Vec<u8>| {
        let (status, answer) = service.post(
            "events",
            &body,
            &standard_headers(service::SECRET, id, &body),
        );
        assert_eq!(status, 200, "{answer}");
    };

    post("m1", order("paid", "2026-11-24T10:00:00Z"));
    assert!(
        eventually(WAIT, || orders().len() == 1),
        "the order was not written"
    );
    post("m2", order("shipped", "2026-11-24T11:00:00Z"));
    assert!(eventually(WAIT, || orders()
        .last()
        .is_some_and(|o| o["status"] == "shipped")));
    // A change older than the one applied arrives late: it does not win.
    post("m3", order("pending", "2026-11-24T09:00:00Z"));
    std::thread::sleep(Duration::from_millis(500));
    let written = orders();
    assert_eq!(
        written.last().map(|o| o["status"].clone()),
        Some("shipped".into())
    );
    let ids: std::collections::BTreeSet<String> = written
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one order, updated in place: {written:?}");
    assert_eq!(written[0]["total"], 12.5);
}

#[test]
fn killed_right_after_answering_then_restarted_every_accepted_event_arrives_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let config = pipeline(dir.path(), &collector.url());
    let mut accepted = 0;
    // Each round: a burst of events, SIGKILL the moment the last one is answered (its
    // cycle is then anywhere from not started to half-written), restart.
    for round in 0..4 {
        let service = Service::start(&config, &[]);
        for i in 0..15 {
            let (status, answer) =
                service.page_view(&format!("r{round}-{i}"), &format!("/r{round}/{i}"));
            assert_eq!(status, 200, "{answer}");
            accepted += 1;
        }
        service.kill();
    }
    // Crashes at known points too: after a micro-batch saved but before it wrote, and in
    // the middle of writing. The process may die before its 2xx leaves; then the sender
    // sends again, as senders do.
    for point in ["received:save", "received:write-call"] {
        // What earlier crashes left is delivered first, or the crash would come at start-up.
        let service = Service::start(&config, &[]);
        assert!(eventually(WAIT, || urls_in_file(dir.path()).len() == accepted));
        service.kill();
        let service = Service::start(&config, &[("WASYNC_ABORT_AT", point)]);
        let body = page_view_body(&format!("/crash/{point}"));
        let headers = standard_headers(service::SECRET, point, &body);
        let _maybe_answered = service.try_post("events", &body, &headers);
        accepted += 1;
        assert!(
            eventually(WAIT, || service.get_quietly("/health").is_none()),
            "it aborted at {point}"
        );
    }

    // The last restart delivers what the crashes left, and redeliveries change nothing.
    let service = Service::start(&config, &[]);
    for round in 0..4 {
        let (status, answer) = service.page_view(&format!("r{round}-0"), &format!("/r{round}/0"));
        assert_eq!(
            (status, &answer["new"]),
            (200, &Json::from(0)),
            "a redelivery"
        );
    }
    for point in ["received:save", "received:write-call"] {
        let body = page_view_body(&format!("/crash/{point}"));
        let (status, _) = service.post(
            "events",
            &body,
            &standard_headers(service::SECRET, point, &body),
        );
        assert_eq!(status, 200, "the sender's retry after {point}");
    }
    assert!(
        eventually(WAIT, || urls_in_file(dir.path()).len() == accepted),
        "{} of {accepted} arrived in the file",
        urls_in_file(dir.path()).len()
    );
    assert!(eventually(WAIT, || urls_collected(&collector).len() == accepted));
    assert_eq!(service.terminate().code(), Some(0));
    // The file is a log of versions: a write replayed after a crash appends a new version
    // of the same record (found by its upsert key), never a second record.
    let mut file_ids: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for line in lines(&dir.path().join("out/pageviews.jsonl")) {
        let url = line["url"].as_str().unwrap_or_default().to_owned();
        file_ids
            .entry(url)
            .or_default()
            .insert(line["id"].to_string());
    }
    let twice: Vec<_> = file_ids.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "two records for one event in the file: {twice:?}"
    );
    // A write cut off by a crash is sent again with the same record id: the collector
    // can drop the repeat by it. Nothing is missing and no id stands for two events.
    let mut ids_per_url: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for r in collector.records() {
        let url = r.fields["url"].as_str().unwrap_or_default().to_owned();
        ids_per_url.entry(url).or_default().insert(r.id);
    }
    assert_eq!(ids_per_url.len(), accepted);
    assert!(
        ids_per_url.values().all(|ids| ids.len() == 1),
        "{ids_per_url:?}"
    );
}

#[test]
fn ten_thousand_posts_from_concurrent_clients_are_each_stored_and_forwarded_once() {
    const CLIENTS: usize = 16;
    const POSTS: usize = 10_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let service = Service::start(&pipeline(dir.path(), &collector.url()), &[]);
    let base = service.url.clone();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let base = base.clone();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut refused = Vec::new();
                for i in (c..POSTS).step_by(CLIENTS) {
                    let body = page_view_body(&format!("/load/{i}"));
                    let headers = standard_headers(service::SECRET, &format!("load-{i}"), &body);
                    let (status, answer) = service::post(&http, &base, "events", &body, &headers);
                    if status != 200 || answer["new"] != 1 {
                        refused.push(format!("{i}: {status} {answer}"));
                    }
                }
                refused
            })
        })
        .collect();
    let refused: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    assert!(
        refused.is_empty(),
        "refused: {:?}",
        &refused[..refused.len().min(5)]
    );
    assert!(
        eventually(Duration::from_secs(300), || collector.records().len()
            >= POSTS),
        "{} of {POSTS} reached the collector",
        collector.records().len()
    );
    assert!(eventually(WAIT, || urls_in_file(dir.path()).len() == POSTS));
    assert_eq!(service.terminate().code(), Some(0));
    let collected = urls_collected(&collector);
    assert_eq!(collected.len(), POSTS);
    assert!(
        collected.values().all(|n| *n == 1),
        "an event was forwarded twice"
    );
    assert!(urls_in_file(dir.path()).values().all(|n| *n == 1));
}

/// HubSpot companies into a JSON Lines folder, the HubSpot stand-in delivering signed v3
/// webhooks of every change to the service.
fn hubspot_pipeline(dir: &Path, hubspot_url: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("out")).expect("out dir");
    let host = hubspot_url.trim_start_matches("http://");
    let text = format!(
        r#"
[connectors.hubspot]
plugin = "hubspot"
http = {{ hosts = ["{host}"], auth = {{ type = "bearer", token = "{token}" }} }}
webhook = {{ secret_env = "HUBSPOT_CLIENT_SECRET" }}
settings.base_url = "{hubspot_url}"
settings.entities.companies = {{ properties = ["name", "domain"] }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.companies = {{ file = "companies.jsonl", id_field = "id", watermark_field = "at", deleted_field = "archived", upsert_key = "wasync_id" }}

[[pipeline]]
name = "companies"
entity = "Company"
schedule = "1h"

[[pipeline.source]]
connector = "hubspot"
entity = "companies"
fields = {{ Name = "name", Domain = "domain" }}

[[pipeline.destination]]
connector = "out"
entity = "companies"
external_id_field = "wasync_id"
fields = {{ name = "Name", domain = "Domain" }}
"#,
        token = hubspot::DEFAULT_TOKEN,
    );
    let path = dir.join("wasync.toml");
    std::fs::write(&path, text).expect("write the pipeline file");
    path
}

#[test]
fn hubspot_webhooks_carry_creations_changes_and_deletions_without_a_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let portal = hubspot::start(hubspot::Options {
        webhooks: Some(WebhookTarget {
            url: format!("http://127.0.0.1:{port}/webhooks/hubspot"),
            client_secret: "hubspot-app-secret".into(),
        }),
        ..hubspot::Options::default()
    })
    .expect("HubSpot stand-in");
    let acme = portal.create("companies", &[("name", "Acme"), ("domain", "acme.com")]);
    let config = hubspot_pipeline(dir.path(), &portal.url());
    let service = Service::start_on(
        &config,
        &format!("127.0.0.1:{port}"),
        &[("HUBSPOT_CLIENT_SECRET", "hubspot-app-secret")],
    );
    // The latest version of each company in the file, by its id there.
    let latest = || {
        let mut by_id: BTreeMap<String, Json> = BTreeMap::new();
        for line in lines(&dir.path().join("out/companies.jsonl")) {
            by_id.insert(line["id"].to_string(), line);
        }
        by_id
    };
    let named = |name: &str| latest().into_iter().find(|(_, l)| l["name"] == name);
    assert!(
        eventually(WAIT, || named("Acme").is_some()),
        "{:?}",
        latest()
    );

    portal.update("companies", &acme, &[("name", "Acme Corp")]);
    assert!(
        eventually(WAIT, || named("Acme Corp").is_some()),
        "{:?}",
        latest()
    );
    let globex = portal.create("companies", &[("name", "Globex"), ("domain", "globex.com")]);
    assert!(
        eventually(WAIT, || named("Globex").is_some()),
        "{:?}",
        latest()
    );
    let (globex_there, record) = named("Globex").expect("Globex");
    assert_eq!(record["domain"], "globex.com", "a creation arrives whole");
    portal.archive("companies", &globex);
    assert!(
        eventually(WAIT, || latest()
            .get(&globex_there)
            .is_some_and(|l| l["archived"] == true)),
        "the deletion was not propagated: {:?}",
        latest()
    );
    assert_eq!(latest().len(), 2, "Acme and Globex, nothing else");
    let searches = portal
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/search"))
        .count();
    assert_eq!(searches, 1, "only the first scheduled cycle searched");
    let refused: Vec<_> = portal
        .deliveries()
        .into_iter()
        .filter(|d| d.status.is_some_and(|s| s != 200))
        .collect();
    assert!(
        refused.is_empty(),
        "the service refused HubSpot: {refused:?}"
    );
    assert_eq!(service.terminate().code(), Some(0));

    // The scheduled read goes on from its own watermark: it finds the changes the webhooks
    // already brought, and writes nothing again.
    let lines_before = lines(&dir.path().join("out/companies.jsonl")).len();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(["sync", "--once", "--config"])
        .arg(&config)
        .env("WASYNC_CACHE_DIR", service::cache_dir())
        .output()
        .expect("wasync sync");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{summary}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary.contains("written 0"), "{summary}");
    assert_eq!(
        lines(&dir.path().join("out/companies.jsonl")).len(),
        lines_before
    );
}

#[test]
fn the_events_example_takes_a_signed_event_into_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events/wasync.toml");
    std::fs::copy(&example, dir.path().join("wasync.toml")).expect("copy the example");
    std::fs::create_dir_all(dir.path().join("out")).expect("out");
    let service = Service::start(
        &dir.path().join("wasync.toml"),
        &[("WASYNC_WEBHOOK_SECRET", service::SECRET)],
    );
    let body = br#"{"entity": "PageView", "data": {"url": "/pricing", "user": "u-17"}}"#;
    let headers = standard_headers(service::SECRET, "msg_example", body);
    let (status, answer) = service.post("sender", body, &headers);
    assert_eq!((status, &answer["new"]), (200, &Json::from(1)), "{answer}");
    assert!(eventually(WAIT, || urls_in_file(dir.path()).contains_key("/pricing")));
    let (_, doc) = service.get("/status");
    let names: Vec<&str> = doc["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["pipeline"].as_str())
        .collect();
    assert_eq!(names, ["pageviews", "orders"]);
    assert_eq!(service.terminate().code(), Some(0));
}

#[test]
fn a_burst_of_webhooks_is_summed_up_in_a_few_plain_lines_of_a_log_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let config = pipeline(dir.path(), &collector.url());
    // stdout and stderr into one file, as `wasync serve > serve.log 2>&1` does; debug logs
    // on, so the file has log lines that could carry colours.
    let log = dir.path().join("serve.log");
    let file = std::fs::File::create(&log).expect("log file");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("WASYNC_CACHE_DIR", service::cache_dir())
        .env("WASYNC_TEST_SECRET", service::SECRET)
        .env("WASYNC_LOG", "wasync=debug")
        .stdout(file.try_clone().expect("clone"))
        .stderr(file)
        .spawn()
        .expect("start wasync serve");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut url = None;
    let started = eventually(Duration::from_secs(120), || {
        url = read()
            .lines()
            .find_map(|l| l.strip_prefix("wasync serve: listening on "))
            .map(str::to_owned);
        url.is_some()
    });
    let Some(url) = url.filter(|_| started) else {
        let _ = child.kill();
        panic!("wasync serve did not start:\n{}", read());
    };

    const WEBHOOKS: usize = 200;
    std::thread::scope(|s| {
        for client in 0..4 {
            let url = &url;
            s.spawn(move || {
                let http = reqwest::blocking::Client::new();
                for i in (client..WEBHOOKS).step_by(4) {
                    let body = page_view_body(&format!("/page/{i}"));
                    let headers = standard_headers(service::SECRET, &format!("msg_{i}"), &body);
                    let (status, answer) = service::post(&http, url, "events", &body, &headers);
                    assert_eq!(status, 200, "{answer}");
                }
            });
        }
    });
    assert!(
        collector.wait_for(WEBHOOKS, WAIT),
        "not every page view was delivered"
    );
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(child.wait().expect("wait").success());

    let text = read();
    assert!(!text.contains("\x1b["), "colours in a file:\n{text}");
    assert!(text.contains("DEBUG"), "no log lines to check:\n{text}");
    let cycles: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("cycle") && l.contains(" of `pageviews`"))
        .collect();
    assert!(
        !cycles.is_empty() && cycles.len() <= 10,
        "{} lines for {WEBHOOKS} webhooks:\n{text}",
        cycles.len()
    );
    // The lines add up to every page view, each read once.
    let read_total: u64 = cycles
        .iter()
        .map(|l| {
            let from = l.find(": read ").expect("counts") + ": read ".len();
            l[from..]
                .split(',')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a count")
        })
        .sum();
    assert_eq!(read_total, WEBHOOKS as u64, "{text}");
}

#[test]
fn a_closed_stdout_does_not_stop_the_service() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let config = pipeline(dir.path(), &collector.url());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("WASYNC_CACHE_DIR", service::cache_dir())
        .env("WASYNC_TEST_SECRET", service::SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start wasync serve");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    stdout.read_line(&mut first).expect("a first line");
    let url = first
        .trim()
        .strip_prefix("wasync serve: listening on ")
        .expect("the address")
        .to_owned();
    // Whoever read the service's output goes away; it must go on serving.
    drop(stdout);
    let http = reqwest::blocking::Client::new();
    let body = service::page_view_body("/after-the-reader-left");
    let headers = standard_headers(service::SECRET, "closed-1", &body);
    let (status, answer) = service::post(&http, &url, "events", &body, &headers);
    assert_eq!(status, 200, "{answer}");
    assert!(
        collector.wait_for(1, Duration::from_secs(30)),
        "the page view was not delivered"
    );
    let health = http
        .get(format!("{url}/health"))
        .send()
        .expect("GET /health");
    assert!(health.status().is_success());
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
