//! A running `wasync serve` for tests and benchmarks: the real binary on a free port, a
//! pipeline file of events and orders from a Standard Webhooks sender into a JSON Lines
//! folder and an HTTP collector, and a client that signs what it posts.

#![allow(dead_code)] // each test file or bench uses its own part of it

use serde_json::{Value as Json, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasync_standins::webhooks::{standard_headers, standard_signature};

/// The secret the test sender signs with.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The pipeline file: page views (events) and orders (objects) arrive by webhook at
/// `/webhooks/events`; page views go to `out/pageviews.jsonl` and the collector, orders to
/// `out/orders.jsonl`. Scheduled cycles run once an hour, so whatever arrives early came
/// through the webhook path.
pub fn pipeline(dir: &Path, collector_url: &str) -> PathBuf {
    pipeline_with(dir, collector_url, r#""status""#)
}

/// [`pipeline`], with the orders' `status` mapped by `status` (a field mapping: `"status"`,
/// or `{ from = "status", transforms = [...] }` to put a plugin in the orders' pipeline).
pub fn pipeline_with(dir: &Path, collector_url: &str, status: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("out")).expect("out dir");
    let collector_host = collector_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    let text = format!(
        r#"
store = "wasync.db"

[connectors.events]
plugin = "webhook"
settings.entities.PageView = {{ kind = "event" }}
settings.entities.Order = {{ kind = "object", id_field = "order_id", watermark_field = "updated_at" }}
webhook = {{ secret_env = "WASYNC_TEST_SECRET", max_body_bytes = 65536 }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.PageView = {{ file = "pageviews.jsonl", id_field = "id", watermark_field = "at", kind = "event", upsert_key = "wasync_id" }}
settings.entities.Order = {{ file = "orders.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }}

[connectors.collector]
plugin = "webhook"
http = {{ hosts = ["{collector_host}"], retries = 6, backoff_ms = 50 }}
settings.entities.PageView = {{}}
settings.deliver = {{ url = "{collector_url}" }}

[[pipeline]]
name = "pageviews"
entity = "PageView"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "PageView"
fields = {{ url = "url", user = "user" }}

[[pipeline.destination]]
connector = "out"
entity = "PageView"
external_id_field = "wasync_id"
fields = {{ url = "url", user = "user" }}

[[pipeline.destination]]
connector = "collector"
entity = "PageView"
external_id_field = "id"
fields = {{ url = "url", user = "user" }}

[[pipeline]]
name = "orders"
entity = "Order"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "Order"
fields = {{ status = {status}, total = "total" }}

[[pipeline.destination]]
connector = "out"
entity = "Order"
external_id_field = "wasync_id"
fields = {{ status = "status", total = "total" }}
"#
    );
    let path = dir.join("wasync.toml");
    std::fs::write(&path, text).expect("write the pipeline file");
    path
}

/// A running `wasync serve`.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Every line it printed on stdout so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    http: reqwest::blocking::Client,
}

/// The compile cache all runs share, so only the first start compiles the plugins.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-components")
}

impl Service {
    /// Starts `wasync serve --config FILE --listen 127.0.0.1:0` and waits until it listens.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Service {
        Service::start_on(config, "127.0.0.1:0", env)
    }

    /// Starts `wasync serve` listening on `listen`, and waits until it does.
    pub fn start_on(config: &Path, listen: &str, env: &[(&str, &str)]) -> Service {
        Service::start_with(config, listen, &[], env)
    }

    /// Starts `wasync serve` listening on `listen` with more arguments (`--deadline-ms`),
    /// and waits until it listens.
    pub fn start_with(config: &Path, listen: &str, args: &[&str], env: &[(&str, &str)]) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wasync"));
        command
            .args(["serve", "--listen", listen])
            .args(args)
            .arg("--config")
            .arg(config)
            .env("WASYNC_CACHE_DIR", cache_dir())
            .env("WASYNC_TEST_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start wasync serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("wasync serve: listening on ") {
                        let _ = tx.send(addr.to_owned());
                    }
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        let url = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "wasync serve did not start: {:?}",
                    lines.lock().expect("lines")
                );
            }
        };
        Service {
            child,
            url,
            stdout: lines,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// Posts `body` to `/webhooks/{connector}` with `headers`; the status and JSON answer.
    pub fn post(&self, connector: &str, body: &[u8], headers: &[(String, String)]) -> (u16, Json) {
        post(&self.http, &self.url, connector, body, headers)
    }

    /// Like [`Service::post`], but a connection cut off (a crash) is `None`, not a panic.
    pub fn try_post(
        &self,
        connector: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> Option<u16> {
        let mut request = self
            .http
            .post(format!("{}/webhooks/{connector}", self.url))
            .body(body.to_vec());
        for (k, v) in headers {
            request = request.header(k, v);
        }
        Some(request.send().ok()?.status().as_u16())
    }

    /// Posts a page view signed as a Standard Webhooks sender does, with message id `id`.
    pub fn page_view(&self, id: &str, url: &str) -> (u16, Json) {
        let body = page_view_body(url);
        self.post("events", &body, &standard_headers(SECRET, id, &body))
    }

    /// `GET path` as JSON.
    pub fn get(&self, path: &str) -> (u16, Json) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Json::Null))
    }

    /// `GET path` as JSON, or `None` if the service does not answer.
    pub fn get_quietly(&self, path: &str) -> Option<Json> {
        let response = self.http.get(format!("{}{path}", self.url)).send().ok()?;
        response.json().ok()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("wait")
    }

    /// Kills the process outright (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One POST with its own client (so threads can share nothing).
pub fn post(
    http: &reqwest::blocking::Client,
    base: &str,
    connector: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> (u16, Json) {
    let mut request = http
        .post(format!("{base}/webhooks/{connector}"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request.send().expect("POST");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Json::Null))
}

/// A page view's body.
pub fn page_view_body(url: &str) -> Vec<u8> {
    json!({ "entity": "PageView", "data": { "url": url, "user": "u-17" } })
        .to_string()
        .into_bytes()
}

/// Standard Webhooks headers with a timestamp `age` seconds old.
pub fn headers_aged(id: &str, body: &[u8], age: i64) -> Vec<(String, String)> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        - age;
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        (
            "webhook-signature".into(),
            standard_signature(SECRET, id, ts, body),
        ),
    ]
}

/// The JSON objects of a JSON Lines file (none if it does not exist).
pub fn lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A port nobody listens on now, for a service whose address must be known before it starts.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Polls `check` until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Rows of the store's intake table.
pub fn intake_rows(store: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store");
    conn.query_row("SELECT count(*) FROM intake", [], |r| r.get(0))
        .expect("count intake")
}
