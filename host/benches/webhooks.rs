//! `cargo bench --bench webhooks`: a real `wasync serve` taking signed Standard Webhooks on
//! 127.0.0.1 and forwarding each event to an HTTP collector and a JSON Lines file.
//!
//! - Under load: 10,000 posts from 16 concurrent clients: accepted webhooks per second (each
//!   answered 2xx only once committed to the store), and events delivered per second.
//! - Light load: 300 posts, one every 20 ms: latency from post to the collector, p50 / p99.
//! - One plugin misbehaving: the same light load while, in another pipeline, orders whose
//!   status makes a transform loop keep that pipeline stuck at its deadline: page views'
//!   latency, p50 / p99, to compare with the light load's.
//!
//! Wall-clock figures on a shared machine: compare the ratios within one run.

#[path = "../../tests/support/service.rs"]
mod service;

use service::{Service, page_view_body, pipeline, pipeline_with};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wasync_standins::collector::Collector;
use wasync_standins::webhooks::standard_headers;

const CLIENTS: usize = 16;
const POSTS: usize = 10_000;
const LIGHT: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Latency per url from when it was posted to when the collector got it, sorted.
fn latencies(posted: &HashMap<String, Instant>, collector: &Collector) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = collector
        .records()
        .iter()
        .filter_map(|r| {
            let sent = posted.get(r.fields["url"].as_str()?)?;
            Some(r.at.saturating_duration_since(*sent))
        })
        .collect();
    latencies.sort();
    latencies
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let service = Service::start(&pipeline(dir.path(), &collector.url()), &[]);

    // Under load.
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let base = service.url.clone();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut posted = Vec::new();
                for i in (c..POSTS).step_by(CLIENTS) {
                    let url = format!("/load/{i}");
                    let body = page_view_body(&url);
                    let headers = standard_headers(service::SECRET, &format!("load-{i}"), &body);
                    let sent = Instant::now();
                    let (status, _) = service::post(&http, &base, "events", &body, &headers);
                    assert_eq!(status, 200, "post {i}");
                    posted.push((url, sent));
                }
                posted
            })
        })
        .collect();
    let posted: HashMap<String, Instant> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client"))
        .collect();
    let accepted = start.elapsed();
    assert!(
        collector.wait_for(POSTS, Duration::from_secs(600)),
        "not all delivered"
    );
    let delivered = start.elapsed();
    let loaded = latencies(&posted, &collector);

    // Light load.
    let mut light = HashMap::new();
    for i in 0..LIGHT {
        let url = format!("/light/{i}");
        let body = page_view_body(&url);
        let headers = standard_headers(service::SECRET, &format!("light-{i}"), &body);
        light.insert(url, Instant::now());
        let (status, _) = service.post("events", &body, &headers);
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(collector.wait_for(POSTS + LIGHT, Duration::from_secs(60)));
    let quiet = latencies(&light, &collector);
    let stopped = service.terminate();
    assert!(stopped.success(), "wasync serve exited with {stopped}");
    let (stuck, loops) = misbehaving();

    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!("wasync serve, {CLIENTS} clients, {POSTS} signed webhooks on 127.0.0.1:");
    println!(
        "  accepted (2xx after commit): {:>8.0} webhooks/s ({:.2} s)",
        rate(POSTS, accepted),
        accepted.as_secs_f64()
    );
    println!(
        "  delivered to the collector:  {:>8.0} events/s   ({:.2} s, file and collector)",
        rate(POSTS, delivered),
        delivered.as_secs_f64()
    );
    println!(
        "  post -> collector under load: p50 {:>6.1} ms, p99 {:>6.1} ms",
        percentile(&loaded, 0.5).as_secs_f64() * 1e3,
        percentile(&loaded, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "light load ({LIGHT} posts, one per 20 ms): post -> collector p50 {:.1} ms, p99 {:.1} ms",
        percentile(&quiet, 0.5).as_secs_f64() * 1e3,
        percentile(&quiet, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "one plugin misbehaving ({loops} orders stuck at a {} s deadline meanwhile): post -> collector p50 {:.1} ms, p99 {:.1} ms",
        STUCK_DEADLINE.as_secs(),
        percentile(&stuck, 0.5).as_secs_f64() * 1e3,
        percentile(&stuck, 0.99).as_secs_f64() * 1e3
    );
}

/// The deadline of the misbehaving run: each looping order holds its pipeline this long
/// (and about as long again while its batch is taken apart).
const STUCK_DEADLINE: Duration = Duration::from_secs(2);

/// Light load of page views while the orders pipeline's transform loops on every order
/// posted (one a second): the page views' latencies, and how many orders looped.
fn misbehaving() -> (Vec<Duration>, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(0).expect("collector");
    let status = format!(
        r#"{{ from = "status", transforms = [{{ plugin = "{}" }}] }}"#,
        wasync_test_guests::HOSTILE
    );
    let config = pipeline_with(dir.path(), &collector.url(), &status);
    let deadline = STUCK_DEADLINE.as_millis().to_string();
    let service = Service::start_with(&config, "127.0.0.1:0", &["--deadline-ms", &deadline], &[]);
    let mut posted = HashMap::new();
    let mut loops = 0;
    for i in 0..LIGHT {
        if i % 50 == 0 {
            let order = serde_json::json!({"entity": "Order", "data": {
                "order_id": format!("o-{i}"), "status": "loop", "total": 1, "updated_at": "2026-01-01T00:00:00Z"}})
            .to_string()
            .into_bytes();
            let headers = standard_headers(service::SECRET, &format!("order-{i}"), &order);
            let (status, _) = service.post("events", &order, &headers);
            assert_eq!(status, 200);
            loops += 1;
        }
        let url = format!("/stuck/{i}");
        let body = page_view_body(&url);
        let headers = standard_headers(service::SECRET, &format!("stuck-{i}"), &body);
        posted.insert(url, Instant::now());
        let (status, _) = service.post("events", &body, &headers);
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(collector.wait_for(LIGHT, Duration::from_secs(120)));
    let stuck = latencies(&posted, &collector);
    let stopped = service.terminate();
    assert!(stopped.success(), "wasync serve exited with {stopped}");
    (stuck, loops)
}
