//! `cargo bench --bench hotload`: swap latency under `wasync serve`, from a new version of a
//! field transform written to disk to the first record that version processed (the time the
//! transaction log gives that record's change), while orders stream in by webhook every few
//! milliseconds. With a cold compile cache (each version compiled) and a warm one (the same
//! versions again, read from the cache). The service polls its files every 250 ms (the
//! default), so about 125 ms of each figure is waiting for the poll.
//!
//! Wall-clock figures on a shared machine: compare the ratios within one run.

#[path = "../../tests/support/service.rs"]
mod service;
#[path = "../../tests/support/versions.rs"]
mod versions;

use service::eventually;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use versions::{install, post_order, setup, version};

/// Swaps measured per pass.
const SWAPS: usize = 5;

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn open(store: &Path) -> Option<rusqlite::Connection> {
    rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()
}

/// The last entry of the transaction log.
fn last_seq(store: &Path) -> i64 {
    open(store)
        .and_then(|c| {
            c.query_row("SELECT coalesce(max(seq), 0) FROM txlog", [], |r| r.get(0))
                .ok()
        })
        .unwrap_or(0)
}

/// When the first change after entry `after` made by mark `k` was logged (micros).
fn first_by(store: &Path, after: i64, k: usize) -> Option<i64> {
    open(store)?
        .query_row(
            "SELECT min(at) FROM txlog WHERE seq > ?1 AND field = 'status' AND new LIKE ?2",
            rusqlite::params![after, format!("%|v{k:03}%")],
            |r| r.get::<_, Option<i64>>(0),
        )
        .ok()
        .flatten()
}

/// Installs versions `ks` one after another; the swap latency of each, in milliseconds.
fn pass(dir: &Path, ks: &[usize]) -> Vec<f64> {
    let (file, store) = (dir.join("plugins/versioned.wasm"), dir.join("wasync.db"));
    let mut latencies = Vec::new();
    for &k in ks {
        // Let the previous version serve a while; a mark comes back in the warm pass, so
        // only changes logged after this write count.
        std::thread::sleep(Duration::from_millis(300));
        let after = last_seq(&store);
        let written = now_micros();
        install(&file, &version(k).0);
        let mut first = None;
        let seen = eventually(Duration::from_secs(120), || {
            first = first_by(&store, after, k);
            first.is_some()
        });
        assert!(seen, "version {k} never served");
        latencies.push((first.unwrap_or(written) - written) as f64 / 1000.0);
    }
    latencies
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let cache = cache.display().to_string();
    let (_, service, _) = setup(dir.path(), 250, &[("WASYNC_CACHE_DIR", &cache)]);
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let poster = {
        let (stop, posted, url) = (stop.clone(), posted.clone(), service.url.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            while !stop.load(Ordering::Relaxed) {
                post_order(&http, &url, posted.fetch_add(1, Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let versions: Vec<usize> = (1..=SWAPS).collect();
    let cold = pass(dir.path(), &versions);
    let warm = pass(dir.path(), &versions);
    stop.store(true, Ordering::Relaxed);
    poster.join().expect("poster");
    println!(
        "hot load: swap latency, new component on disk -> first record processed by it ({SWAPS} swaps each, {} orders streamed)",
        posted.load(Ordering::Relaxed)
    );
    for (name, figures) in [("cold cache (compiled)", cold), ("warm cache", warm)] {
        let (med, min, max) = median(figures);
        println!("  {name:<22} median {med:>7.1} ms   min {min:>7.1} ms   max {max:>7.1} ms");
    }
    drop(service);
}
