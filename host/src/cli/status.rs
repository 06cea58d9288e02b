//! `wasync status`, `wasync log` and `wasync quarantine list`: what the store says.

use crate::out::outln;
use crate::status::{open, reading, watermark};
use crate::time::rfc3339;
use anyhow::Context;
use std::path::Path;

/// `wasync status`.
pub fn run_status(config: &Path, as_json: bool) -> anyhow::Result<()> {
    crate::status::show(config, as_json)
}

/// `wasync log`: newest first, in text and JSON alike (so `wasync log | head` shows the
/// latest changes).
pub fn run_log(
    config: &Path,
    record: Option<&str>,
    limit: i64,
    as_json: bool,
) -> anyhow::Result<()> {
    let (config, store) = open(config)?;
    let entries = store
        .read()
        .log_entries(record, limit)
        .with_context(|| reading(&config))?;
    if as_json {
        for e in &entries {
            outln!("{}", serde_json::to_string(e)?)?;
        }
        return Ok(());
    }
    for e in &entries {
        let value = |v: &Option<String>| {
            v.as_deref()
                .map(watermark)
                .map_or(String::new(), |j| j.to_string())
        };
        outln!(
            "#{} cycle {} {} {} {} {}{} {} -> {} by {}{}",
            e.seq,
            e.cycle,
            rfc3339(e.at),
            e.op,
            e.record_id,
            e.entity,
            e.field
                .as_deref()
                .map(|f| format!(".{f}"))
                .unwrap_or_default(),
            value(&e.old),
            value(&e.new),
            e.source,
            e.plugin
                .as_deref()
                .map(|p| format!(" via {p}"))
                .unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// `wasync quarantine list`.
pub fn run_quarantine_list(config: &Path, as_json: bool) -> anyhow::Result<()> {
    let (config, store) = open(config)?;
    let entries = store
        .read()
        .quarantined(None, None)
        .with_context(|| reading(&config))?;
    for q in &entries {
        if as_json {
            outln!("{}", serde_json::to_string(q)?)?;
        } else {
            outln!(
                "#{} {} {} {}/{} record {} (tried {}x, last {}): {}",
                q.id,
                q.pipeline,
                q.stage,
                q.connector,
                q.entity,
                q.record_id,
                q.attempts,
                rfc3339(q.last_at),
                q.reason
            )?;
        }
    }
    if entries.is_empty() && !as_json {
        outln!("nothing is quarantined")?;
    }
    Ok(())
}
