//! `wasync demo`: the seeds' Account pipeline between Salesforce and HubSpot, run for a few
//! cycles through the real connectors against stand-in servers on 127.0.0.1, with data
//! changing upstream between cycles. It tells what happened and leaves a store to explore.

mod scenario;

use crate::config::Config;
use crate::engine::cycle::Options as CycleOptions;
use crate::engine::{Engine, Report};
use crate::out::outln;
use crate::plugin::{Runtime, RuntimeOptions};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasync_standins::{Logged, OAuthClient, hubspot, salesforce};

/// The pipeline the demo runs, with the stand-ins' addresses to fill in.
const PIPELINE: &str = include_str!("pipeline.toml");

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the pipeline file and the store go.
    pub dir: PathBuf,
    /// Companies seeded across both systems.
    pub companies: usize,
    /// Cycles run.
    pub cycles: usize,
}

/// The OAuth app the demo's pipeline file signs in to Salesforce with.
pub fn oauth_client() -> OAuthClient {
    OAuthClient {
        client_id: "wasync-demo".into(),
        client_secret: "demo-client-secret".into(),
        refresh_token: "demo-refresh-token".into(),
        expires_in: 3600,
        rotate_refresh_token: false,
    }
}

/// Runs the demo.
pub fn run(options: &Options, runtime: RuntimeOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let sf = salesforce::start(salesforce::Options {
        tokens: Vec::new(),
        oauth: Some(oauth_client()),
        ..salesforce::Options::default()
    })
    .context("cannot start the Salesforce stand-in")?;
    let hs = hubspot::start(hubspot::Options {
        tokens: vec!["demo-private-app-token".into()],
        ..hubspot::Options::default()
    })
    .context("cannot start the HubSpot stand-in")?;
    let seeded = scenario::seed(&sf, &hs, options.companies);

    let config_path = write_pipeline(&options.dir, &sf.url(), &hs.url())?;
    outln!("wasync demo: Salesforce Accounts and HubSpot Companies kept in agreement\n")?;
    outln!(
        "  Salesforce stand-in  {}  {} Accounts",
        sf.url(),
        seeded.salesforce
    )?;
    outln!(
        "  HubSpot stand-in     {}  {} companies",
        hs.url(),
        seeded.hubspot
    )?;
    outln!(
        "  overlap              {} companies in both systems, {} entered twice within one",
        seeded.shared,
        seeded.twins
    )?;
    outln!("  pipeline             {}", config_path.display())?;

    let config = Config::load(&config_path)?;
    let runtime = Runtime::new(runtime)?;
    let mut engine = Engine::open(&config, &runtime).context("cannot start the pipeline")?;
    outln!(
        "  connected            {} call(s) to Salesforce and {} to HubSpot (OAuth token, describe)",
        sf.requests().len(),
        hs.requests().len()
    )?;

    for cycle in 1..=options.cycles {
        let changes = scenario::change(cycle, &sf, &hs, &seeded);
        outln!()?;
        match changes.is_empty() {
            true if cycle == 1 => outln!("cycle {cycle}: the first sync")?,
            true => outln!("cycle {cycle}: nothing changed upstream")?,
            false => {
                outln!("cycle {cycle}, after changes upstream:")?;
                for change in &changes {
                    outln!("  - {change}")?;
                }
            }
        }
        sf.clear_requests();
        hs.clear_requests();
        let report = engine.run_cycle("accounts", &CycleOptions::default())?;
        show(&report, &sf.requests(), &hs.requests())?;
    }

    outln!("\nthe transaction log's last entries, newest first (wasync log):")?;
    for e in engine.store().read().log_entries(None, 6)? {
        let field = match (&e.field, &e.old, &e.new) {
            (Some(f), Some(old), Some(new)) => format!(" {f}: {old} -> {new}"),
            (Some(f), None, Some(new)) => format!(" {f} = {new}"),
            _ => String::new(),
        };
        outln!(
            "  #{} {} {} {}{field} (from {})",
            e.seq,
            e.op,
            e.entity,
            e.record_id,
            e.source
        )?;
    }
    drop(engine);
    outln!()?;
    crate::status::show(&config_path, false)?;
    let config_arg = config_path.display();
    outln!(
        "\ndone in {:.1} s. Explore the store: `wasync status --config {config_arg}`, `wasync log --config {config_arg}`",
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// The demo's pipeline file for the Salesforce stand-in at `sf` and the HubSpot one at `hs`
/// (base URLs `http://127.0.0.1:PORT`).
pub fn pipeline(sf: &str, hs: &str) -> String {
    let host = |url: &str| url.trim_start_matches("http://").to_owned();
    PIPELINE
        .replace("{salesforce_host}", &host(sf))
        .replace("{salesforce_url}", sf)
        .replace("{hubspot_host}", &host(hs))
        .replace("{hubspot_url}", hs)
}

/// Writes the pipeline file for the stand-ins at `sf` and `hs` into a fresh `dir`.
fn write_pipeline(dir: &Path, sf: &str, hs: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    // The demo starts afresh: it may only clear a folder it made, never a real pipeline's.
    let path = dir.join("wasync.toml");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.lines().next() != PIPELINE.lines().next()
    {
        anyhow::bail!(
            "{} is not the demo's pipeline file: choose another --dir for the demo",
            path.display()
        );
    }
    for stale in ["wasync.db", "wasync.db-wal", "wasync.db-shm"] {
        let path = dir.join(stale);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    std::fs::write(&path, pipeline(sf, hs))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// One cycle's story: records per stage and API calls against their minimum.
fn show(report: &Report, sf: &[Logged], hs: &[Logged]) -> anyhow::Result<()> {
    let per = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    outln!("  read      {}", per(&report.read_from))?;
    outln!(
        "  unified   attached {}, created {}, updated {}, merged {}, deleted {}",
        report.attached,
        report.created,
        report.updated,
        report.merged,
        report.deleted
    )?;
    outln!(
        "  written   {} (unchanged, skipped: {}; quarantined: {})",
        match report.written_to.is_empty() {
            true => "nothing".to_owned(),
            false => per(&report.written_to),
        },
        report.skipped,
        report.quarantined
    )?;
    for (name, log, query, page, source) in [
        ("salesforce", sf, "/queryAll", 2000, "salesforce/Account"),
        ("hubspot", hs, "/search", 200, "hubspot/companies"),
    ] {
        let reads = log.iter().filter(|l| l.path.contains(query)).count();
        let read = report.read_from.get(source).copied().unwrap_or(0);
        let minimum = read.div_ceil(page).max(1);
        outln!(
            "  API       {name}: {} call(s): {reads} read call(s) for {read} record(s) (minimum {minimum}), {} write call(s)",
            log.len(),
            log.len() - reads
        )?;
    }
    for error in &report.errors {
        outln!("  error     {error}")?;
    }
    outln!("  took      {:.0} ms", report.elapsed().as_secs_f64() * 1e3)
}
