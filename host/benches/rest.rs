//! `cargo bench --bench rest`: reading a paged JSON API through HTTP, the `rest` connector
//! beside dlt's `rest_api` source, on the same server, one after the other in one run.
//!
//! The server: the REST stand-in (`wasync_standins::rest`) on 127.0.0.1, with N tickets
//! (default 100,000; `WASYNC_REST_RECORDS`), ten fields each, listed by `updated_at` behind
//! an opaque cursor, 100 a page. Each tool reads them all, then the 10% changed since:
//!
//! - wasync: the `wasync` binary, one `rest` source (cursor paging, `updated_since`,
//!   ascending), eight mapped fields, no destination;
//! - dlt: `rest_api_source` with the same paginator and an incremental `updated_since`,
//!   DuckDB `merge` on `id` (installed into a virtual environment by this bench; skipped,
//!   saying why, when it cannot be).
//!
//! Prints records/s, the API calls each made (the stand-in's request log) against the
//! fewest the paging allows, and peak RSS. `WASYNC_REST_PEERS=0` runs wasync only;
//! `WASYNC_REST_SHOW=1` prints every request each tool made.
//! Wall-clock figures on a shared machine: compare the ratios within one run.

#[path = "support/peers.rs"]
mod peers;

use peers::{Run, measure, python_env};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use wasync_standins::rest::{self, RestApi};

const PAGE: usize = 100;

/// One tool's figures: the full read and the changes, each with its API calls.
struct Figures {
    tool: &'static str,
    load: (Run, usize),
    changes: (Run, usize),
}

/// `n` tickets, ten at a time sharing one `updated_at`.
fn fill(api: &RestApi, n: usize) {
    let statuses = ["open", "pending", "solved", "closed"];
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|&i| {
                json!({
                    "subject": format!("Ticket {i}: the printer on floor {} is out of toner again", i % 9),
                    "status": statuses[i % 4],
                    "priority": i % 5,
                    "requester": format!("user{}@example.com", i % 5000),
                    "assignee": format!("agent{}@example.com", i % 40),
                    "channel": "email",
                    "tags": ["hardware", "printer"],
                    "description": "The printer says it is out of toner though the cartridge was replaced on Monday; the queue holds twelve jobs.",
                    "created": "2026-01-01T00:00:00Z",
                })
            })
            .collect();
        api.insert_many("tickets", rows);
    }
}

/// Every tenth ticket changed (its status), so its `updated_at` moves past the others'.
fn change(api: &RestApi, n: usize) {
    for i in (0..n).step_by(10) {
        let id = format!("r-{:06}", i + 1);
        api.update("tickets", &id, json!({"status": "reopened"}));
    }
}

fn wasync(api: &RestApi, dir: &Path, n: usize) -> anyhow::Result<Figures> {
    let run = dir.join("wasync");
    std::fs::create_dir_all(&run)?;
    let config = format!(
        r#"store = "wasync.db"

[connectors.api]
plugin = "rest"
http = {{ hosts = ["{host}"], auth = {{ type = "bearer", token = "{token}" }} }}

[connectors.api.settings]
base_url = "{url}"

[connectors.api.settings.entities.tickets]
path = "/cursor/tickets"
query = {{ sort = "updated_at" }}
records = "data"
watermark_field = "updated_at"
since = {{ param = "updated_since", format = "rfc3339-millis" }}
order = "ascending"
paging = {{ type = "cursor", param = "cursor", path = "meta.next_cursor", size_param = "limit", size = {PAGE} }}
fields = {{ subject = "text", status = "text", priority = "integer", requester = "text", assignee = "text", channel = "text", tags = "json", description = "text", created = "timestamp", updated_at = "timestamp" }}

[[pipeline]]
name = "tickets"
entity = "Ticket"
batch_size = 5000

[[pipeline.source]]
connector = "api"
entity = "tickets"
fields = {{ Subject = "subject", Status = "status", Priority = "priority", Requester = "requester", Assignee = "assignee", Channel = "channel", Tags = "tags", Description = "description" }}
"#,
        host = api.addr(),
        token = rest::DEFAULT_TOKEN,
        url = api.url(),
    );
    std::fs::write(run.join("wasync.toml"), config)?;
    let built = Path::new(env!("CARGO_BIN_EXE_wasync"));
    let sync = || {
        let mut cmd = Command::new(built);
        cmd.args(["sync", "--config"]).arg(run.join("wasync.toml"));
        cmd
    };
    let load = counted(api, || measure(&mut sync()))?;
    change(api, n);
    let changes = counted(api, || measure(&mut sync()))?;
    Ok(Figures {
        tool: "wasync",
        load,
        changes,
    })
}

const DLT: &str = r#"
import sys, dlt
from dlt.sources.rest_api import rest_api_source

url, token, work = sys.argv[1], sys.argv[2], sys.argv[3]
source = rest_api_source({
    "client": {
        "base_url": url,
        "auth": {"type": "bearer", "token": token},
        "paginator": {"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"},
    },
    "resources": [{
        "name": "tickets",
        "primary_key": "id",
        "write_disposition": "merge",
        "endpoint": {
            "path": "cursor/tickets",
            "data_selector": "data",
            "params": {
                "sort": "updated_at",
                "limit": 100,
                "updated_since": {"type": "incremental", "cursor_path": "updated_at",
                                  "initial_value": "1970-01-01T00:00:00.000Z"},
            },
        },
    }],
})
pipeline = dlt.pipeline(pipeline_name="tickets", destination=dlt.destinations.duckdb(work + "/tickets.duckdb"),
                        dataset_name="helpdesk", pipelines_dir=work + "/pipelines")
pipeline.run(source)
"#;

fn dlt(api: &RestApi, dir: &Path, n: usize) -> anyhow::Result<Figures> {
    let python = python_env()?;
    let work = dir.join("dlt");
    std::fs::create_dir_all(&work)?;
    let script = work.join("run.py");
    std::fs::write(&script, DLT)?;
    let run = || {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg(api.url())
            .arg(rest::DEFAULT_TOKEN)
            .arg(&work)
            .env("RUNTIME__LOG_LEVEL", "WARNING");
        cmd
    };
    let load = counted(api, || measure(&mut run()))?;
    change(api, n);
    let changes = counted(api, || measure(&mut run()))?;
    Ok(Figures {
        tool: "dlt",
        load,
        changes,
    })
}

/// Runs `f`, and the API calls the stand-in served meanwhile.
fn counted(api: &RestApi, f: impl FnOnce() -> anyhow::Result<Run>) -> anyhow::Result<(Run, usize)> {
    api.clear_requests();
    let run = f()?;
    if std::env::var_os("WASYNC_REST_SHOW").is_some() {
        for r in api.requests() {
            let path: String = r.path.chars().take(120).collect();
            println!("{} {} {path}", r.status, r.method);
        }
    }
    Ok((run, api.requests().len()))
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("WASYNC_REST_RECORDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let mut all = Vec::new();
    // Each tool reads its own copy of the same tickets, from a server of its own.
    let start = || -> anyhow::Result<RestApi> {
        let api = rest::start(rest::Options::default())?;
        fill(&api, n);
        Ok(api)
    };
    println!(
        "{n} tickets behind a cursor-paged JSON API on 127.0.0.1, {PAGE} a page; then {} changed",
        n.div_ceil(10)
    );
    all.push(wasync(&start()?, dir.path(), n)?);
    if std::env::var("WASYNC_REST_PEERS").as_deref() != Ok("0") {
        match dlt(&start()?, dir.path(), n) {
            Ok(f) => all.push(f),
            Err(e) => println!("  dlt: not run: {e:#}"),
        }
    }
    let fewest = |records: usize| records.div_ceil(PAGE);
    println!(
        "{:<7} {:>11} {:>8} {:>7} {:>11} {:>7} {:>9}",
        "tool", "read rec/s", "vs", "calls", "changes s", "calls", "peak MiB"
    );
    let base = all[0].load.0.seconds;
    for f in &all {
        println!(
            "{:<7} {:>11.0} {:>7.2}× {:>7} {:>11.2} {:>7} {:>9.0}",
            f.tool,
            n as f64 / f.load.0.seconds,
            f.load.0.seconds / base,
            f.load.1,
            f.changes.0.seconds,
            f.changes.1,
            f.load.0.peak_mib.max(f.changes.0.peak_mib),
        );
    }
    println!(
        "(\"vs\": the tool's read time over wasync's; calls: the fewest are {} for the read and {} for the changes, whole processes)",
        fewest(n),
        fewest(n.div_ceil(10))
    );
    Ok(())
}
