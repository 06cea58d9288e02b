//! Versions of the `versioned` test transform and a pipeline that runs orders through it,
//! for the hot-load tests and benchmark. A version is the one component built from
//! `tests/guests/versioned` with its mark `v000` rewritten in its bytes: a different
//! component (another digest) whose output names it (`s7|v003`). Odd versions also declare a
//! version (`1.0.N`) in a `version` custom section.

#![allow(dead_code)] // each test file or bench uses its own part of it

use super::service::{self, SECRET, Service, free_port};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wasync_standins::webhooks::standard_headers;
use wasync_test_guests::VERSIONED;

/// The guest's mark, as built.
const MARKER: &[u8] = b"wasync-versioned-guest:v000";

/// Version `k` of the `versioned` transform: its bytes and the version the log names.
pub fn version(k: usize) -> (Vec<u8>, String) {
    let mut bytes = std::fs::read(VERSIONED).expect("the versioned guest");
    let at: Vec<usize> = bytes
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the marker is in the component exactly once");
    let mark = format!("{k:03}");
    bytes[at[0] + MARKER.len() - 3..at[0] + MARKER.len()].copy_from_slice(mark.as_bytes());
    if k % 2 == 1 {
        let declared = format!("1.0.{k}");
        return (
            wasync::plugin::version::declare(&bytes, &declared),
            declared,
        );
    }
    let digest = format!("{:x}", Sha256::digest(&bytes));
    (bytes, format!("sha256:{}", &digest[..12]))
}

/// Replaces `file` whole (a rename), as a deploy does.
pub fn install(file: &Path, bytes: &[u8]) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("write the new version");
    std::fs::rename(&tmp, file).expect("swap the file");
}

/// The pipeline file: orders by webhook, `status` through the `versioned` transform (a file
/// relative to the pipeline file), into `out/orders.jsonl`. `extra` goes into the destination.
pub fn pipeline_text(port: u16, watch_ms: u64, batch_size: u32, extra: &str) -> String {
    format!(
        r#"
store = "wasync.db"

[serve]
listen = "127.0.0.1:{port}"
watch_ms = {watch_ms}

[connectors.events]
plugin = "webhook"
settings.entities.Order = {{ kind = "object", id_field = "order_id", watermark_field = "updated_at" }}
webhook = {{ secret_env = "WASYNC_TEST_SECRET", max_body_bytes = 65536 }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.Order = {{ file = "orders.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }}

[[pipeline]]
name = "orders"
entity = "Order"
schedule = "1h"
batch_size = {batch_size}

[[pipeline.source]]
connector = "events"
entity = "Order"
fields = {{ status = {{ from = "status", transforms = [{{ plugin = "plugins/versioned.wasm" }}] }}, total = "total" }}

[[pipeline.destination]]
connector = "out"
entity = "Order"
external_id_field = "wasync_id"
fields = {{ status = "status", total = "total"{extra} }}
"#
    )
}

/// A folder with the pipeline file and version 0 of the plugin; the service started on it
/// with `env`.
pub fn setup(dir: &Path, watch_ms: u64, env: &[(&str, &str)]) -> (PathBuf, Service, u16) {
    std::fs::create_dir_all(dir.join("out")).expect("out");
    std::fs::create_dir_all(dir.join("plugins")).expect("plugins");
    install(&dir.join("plugins/versioned.wasm"), &version(0).0);
    let port = free_port();
    let config = dir.join("wasync.toml");
    std::fs::write(&config, pipeline_text(port, watch_ms, 20, "")).expect("pipeline file");
    let service = Service::start_on(&config, &format!("127.0.0.1:{port}"), env);
    (config, service, port)
}

/// Posts order `i` (`status` `s{i}`) by webhook.
pub fn post_order(http: &reqwest::blocking::Client, url: &str, i: usize) {
    let body = json!({"entity": "Order", "data": {
        "order_id": format!("o-{i}"), "status": format!("s{i}"), "total": i,
        "updated_at": "2026-11-24T10:00:00Z"}})
    .to_string()
    .into_bytes();
    let headers = standard_headers(SECRET, &format!("m{i}"), &body);
    let (status, answer) = service::post(http, url, "events", &body, &headers);
    assert_eq!(status, 200, "order {i}: {answer}");
}
