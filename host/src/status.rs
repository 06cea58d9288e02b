//! The status document: per pipeline, its sources' watermarks, its destinations' log
//! positions, pending records and lag, its quarantine and its last cycle; and the API calls
//! each connector made today. `wasync status` prints it, `GET /status` serves it, and the
//! demo ends with it.

use crate::config::Config;
use crate::engine::Stage;
use crate::out::outln;
use crate::store::{Endpoint, Store, decode_value};
use crate::time::{now_micros, rfc3339, today};
use crate::value::to_json;
use anyhow::Context;
use serde_json::{Value as Json, json};
use std::path::Path;

/// The pipeline file at `config` and a read-only connection to its store, which must exist.
pub(crate) fn open(config: &Path) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(config)?;
    if !config.store.exists() {
        anyhow::bail!(
            "no store at {} yet: run `wasync sync` first",
            config.store.display()
        );
    }
    let store = Store::open_read_only(&config.store)?;
    Ok((config, store))
}

/// What a failed read of the store says first: which store (SQLite's own errors do not).
pub(crate) fn reading(config: &Config) -> String {
    format!("cannot read the store {}", config.store.display())
}

/// A stored watermark as JSON for people.
pub(crate) fn watermark(text: &str) -> Json {
    serde_json::from_str::<Json>(text).map_or(Json::Null, |j| to_json(&decode_value(&j)))
}

/// The status document, from a read-only connection of its own (`GET /status`).
pub fn document(config: &Config) -> anyhow::Result<Json> {
    let store = Store::open_read_only(&config.store)?;
    status(config, &store)
}

/// The status document of every pipeline.
fn status(config: &Config, store: &Store) -> anyhow::Result<Json> {
    let now = now_micros();
    let last = store.read().last_seq()?;
    let mut pipelines = Vec::new();
    for p in &config.pipelines {
        let sources: Vec<Json> = store
            .read()
            .source_cursors(&p.name)?
            .into_iter()
            .map(|(connector, entity, wm, id)| json!({"source": format!("{connector}/{entity}"), "watermark": watermark(&wm), "last_id": id}))
            .collect();
        let mut destinations = Vec::new();
        for d in &p.destinations {
            let seq = store.read().destination_seq(Endpoint {
                pipeline: &p.name,
                connector: &d.connector,
                entity: &d.entity,
            })?;
            let pending = store.read().changed_since(&p.entity, seq, last)?.len();
            let lag = match store.read().log_time(seq + 1)? {
                Some(at) if pending > 0 => (now - at) as f64 / 1e6,
                _ => 0.0,
            };
            destinations.push(json!({
                "destination": format!("{}/{}", d.connector, d.entity),
                "watermark": seq,
                "pending_records": pending,
                "lag_seconds": (lag * 10.0).round() / 10.0,
            }));
        }
        let last_cycle = store.read().last_cycle(&p.name)?.map(|c| {
            let counts: Json = serde_json::from_str(&c.counts).unwrap_or(Json::Null);
            let pick = |k: &str| counts.get(k).cloned().unwrap_or(Json::Null);
            json!({
                "cycle": c.id,
                "started": rfc3339(c.started),
                "finished": rfc3339(c.finished),
                "counts": {
                    "read": pick("read"), "created": pick("created"), "updated": pick("updated"),
                    "deleted": pick("deleted"), "merged": pick("merged"), "written": pick("written"),
                    "skipped": pick("skipped"), "quarantined": pick("quarantined"),
                },
                "api_calls": pick("api_calls"),
                "writes_wait_for": pick("held_for"),
                "stage_ms": serde_json::from_str::<Json>(&c.stages).unwrap_or(Json::Null),
            })
        });
        let quarantined = store.read().quarantined(Some(&p.name), None)?.len();
        let received_waiting = store.read().waiting_count(&p.name)?;
        pipelines.push(json!({
            "pipeline": p.name,
            "entity": p.entity,
            "sources": sources,
            "destinations": destinations,
            "quarantined": quarantined,
            "received_waiting": received_waiting,
            "last_cycle": last_cycle,
        }));
    }
    let day = today();
    let mut calls = serde_json::Map::new();
    for (name, connector) in &config.connectors {
        if let Some(http) = &connector.http {
            let used = store.read().api_calls(name, day)?;
            calls.insert(
                name.clone(),
                json!({ "today": used, "daily_budget": http.daily_budget }),
            );
        }
    }
    Ok(json!({
        "store": config.store.display().to_string(),
        "api_calls": calls,
        "pipelines": pipelines,
    }))
}

/// Prints the status of the pipelines in the file at `config`, as text or JSON
/// (`wasync status`, and the demo's last word).
pub fn show(config: &Path, as_json: bool) -> anyhow::Result<()> {
    let (config, store) = open(config)?;
    let doc = status(&config, &store).with_context(|| reading(&config))?;
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    for p in doc["pipelines"].as_array().into_iter().flatten() {
        outln!(
            "pipeline {} ({})",
            p["pipeline"].as_str().unwrap_or(""),
            p["entity"].as_str().unwrap_or("")
        )?;
        for s in p["sources"].as_array().into_iter().flatten() {
            outln!(
                "  source {:<28} watermark {} (last id {})",
                s["source"].as_str().unwrap_or(""),
                s["watermark"],
                s["last_id"].as_str().unwrap_or("")
            )?;
        }
        for d in p["destinations"].as_array().into_iter().flatten() {
            outln!(
                "  destination {:<23} log position {}, {} record(s) pending, lag {}s",
                d["destination"].as_str().unwrap_or(""),
                d["watermark"],
                d["pending_records"],
                d["lag_seconds"]
            )?;
        }
        outln!("  quarantined: {}", p["quarantined"])?;
        match p.get("last_cycle").filter(|c| !c.is_null()) {
            Some(c) => {
                outln!(
                    "  last cycle {} finished {}",
                    c["cycle"],
                    c["finished"].as_str().unwrap_or("")
                )?;
                let counts: Vec<String> = c["counts"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                outln!("    {}", counts.join(", "))?;
                let calls: Vec<String> = c["api_calls"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                if !calls.is_empty() {
                    outln!("    API calls: {}", calls.join(", "))?;
                }
                let waiting: Vec<&str> = c["writes_wait_for"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .collect();
                if !waiting.is_empty() {
                    outln!(
                        "    writes wait for the first read through {}",
                        waiting.join(", ")
                    )?;
                }
                // JSON objects come back sorted by name: put them in the cycle's order.
                let mut stages: Vec<(&String, &Json)> =
                    c["stage_ms"].as_object().into_iter().flatten().collect();
                stages.sort_by_key(|(k, _)| Stage::parse(k).map_or(usize::MAX, |s| s as usize));
                let stages: Vec<String> = stages
                    .into_iter()
                    .map(|(k, v)| format!("{k} {:.1}ms", v.as_f64().unwrap_or(0.0)))
                    .collect();
                outln!("    {}", stages.join(", "))?;
            }
            None => outln!("  no cycle has finished yet")?,
        }
    }
    for (connector, c) in doc["api_calls"].as_object().into_iter().flatten() {
        let budget = match c["daily_budget"].as_u64() {
            Some(b) => format!(" of a daily budget of {b}"),
            None => String::new(),
        };
        outln!(
            "connector {connector}: {} API call(s) today (UTC){budget}",
            c["today"]
        )?;
    }
    Ok(())
}
