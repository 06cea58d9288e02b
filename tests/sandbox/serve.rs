//! (d) `wasync serve`: one pipeline's stuck plugin does not delay another's.

use crate::{HARD_LIMIT, TRANSFORM, assert_names, bounded, cache_dir, ms, service, wasync};
use serde_json::json;
use std::time::{Duration, Instant};
use wasync_standins::collector::Collector;
use wasync_test_guests::HOSTILE;

#[test]
fn serve_a_plugin_stuck_in_one_pipeline_does_not_delay_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Orders (through the hostile transform on `status`) and page views, both by webhook.
    let collector = Collector::start(0).expect("collector");
    let status = format!(r#"{{ from = "status", transforms = [{{ plugin = {HOSTILE:?} }}] }}"#);
    let config = service::pipeline_with(dir.path(), &collector.url(), &status);
    let service = service::Service::start_with(
        &config,
        "127.0.0.1:0",
        &["--deadline-ms", "5000"],
        &[("WASYNC_CACHE_DIR", cache_dir().to_str().expect("utf-8"))],
    );
    let order = |id: &str, status: &str| {
        let body = json!({"entity": "Order", "data": {
            "order_id": id, "status": status, "total": 12.5,
            "updated_at": "2026-11-01T09:30:00Z"}})
        .to_string()
        .into_bytes();
        let headers =
            wasync_standins::webhooks::standard_headers(service::SECRET, &format!("o-{id}"), &body);
        service.post("events", &body, &headers)
    };
    let (status, answer) = order("o-1", "loop");
    assert_eq!(status, 200, "{answer}");
    // Let the orders pipeline's micro-batch start and get stuck in the plugin.
    std::thread::sleep(ms(300));

    let views = dir.path().join("out/pageviews.jsonl");
    let mut latencies = Vec::new();
    for i in 0..3 {
        let url = format!("/p{i}");
        let (status, answer) = service.page_view(&format!("pv-{i}"), &url);
        assert_eq!(status, 200, "{answer}");
        let posted = Instant::now();
        assert!(
            service::eventually(Duration::from_secs(30), || {
                service::lines(&views)
                    .iter()
                    .any(|v| v["url"] == url.as_str())
            }),
            "page view {url} never arrived"
        );
        latencies.push(posted.elapsed());
        std::thread::sleep(ms(200));
    }
    assert!(
        latencies.iter().all(|l| *l < Duration::from_secs(1)),
        "page views waited for the orders pipeline's stuck plugin: {latencies:?}"
    );

    // The stuck order is stopped at its deadline and quarantined, naming the plugin; the
    // orders pipeline goes on with the next order.
    let quarantine = || {
        let mut command = wasync();
        command
            .args(["quarantine", "list", "--json", "--config"])
            .arg(&config);
        bounded::run(&mut command, "", HARD_LIMIT).json_lines()
    };
    assert!(
        service::eventually(Duration::from_secs(30), || !quarantine().is_empty()),
        "the stuck order was never quarantined"
    );
    let entries = quarantine();
    assert_eq!(entries[0]["stage"], "source-fields", "{entries:?}");
    assert_names(
        entries[0]["reason"].as_str().unwrap_or_default(),
        TRANSFORM,
        &["ran past its deadline of 5000 ms"],
    );
    let (status, answer) = order("o-2", "paid");
    assert_eq!(status, 200, "{answer}");
    let orders = dir.path().join("out/orders.jsonl");
    assert!(
        service::eventually(Duration::from_secs(30), || {
            service::lines(&orders)
                .iter()
                .any(|o| o["status"] == "paid")
        }),
        "the next order never arrived"
    );
    assert_eq!(service.terminate().code(), Some(0));
}
