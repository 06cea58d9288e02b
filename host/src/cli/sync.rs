//! `wasync sync`: run pipeline cycles; `wasync quarantine replay` runs one over quarantined
//! records only.

use super::RuntimeArgs;
use super::progress::Progress;
use crate::config::Config;
use crate::engine::cycle::Options;
use crate::engine::{Engine, Report};
use crate::out::outln;
use crate::plugin::Runtime;
use anyhow::{Context, bail};
use std::io::IsTerminal;
use std::path::Path;

/// Loads the configuration and builds the engine: everything is checked before a record moves.
pub fn engine(config: &Path, runtime: &RuntimeArgs) -> anyhow::Result<(Config, Engine)> {
    let config = Config::load(config)?;
    let runtime = Runtime::new(runtime.options())?;
    let engine = Engine::open(&config, &runtime).context("cannot start the pipelines")?;
    Ok((config, engine))
}

/// The pipelines to run: the one named, or all.
pub fn selected(engine: &Engine, pipeline: Option<&str>) -> anyhow::Result<Vec<String>> {
    let names = engine.pipeline_names();
    match pipeline {
        Some(name) if names.iter().any(|n| n == name) => Ok(vec![name.to_owned()]),
        Some(name) => bail!(
            "no pipeline `{name}` in the configuration (pipelines: {})",
            names.join(", ")
        ),
        None => Ok(names),
    }
}

/// Runs cycles: one per pipeline with `once`, else until every source is caught up.
pub fn run(
    config: &Path,
    pipeline: Option<&str>,
    once: bool,
    runtime: &RuntimeArgs,
) -> anyhow::Result<()> {
    let (_, mut engine) = engine(config, runtime)?;
    let live = std::io::stderr().is_terminal();
    // On a terminal the live line stands in for a line per cycle; piped, every cycle is kept.
    let per_cycle = !(live && std::io::stdout().is_terminal());
    let mut failed = false;
    for name in selected(&engine, pipeline)? {
        let mut progress = Progress::new(&name, live);
        loop {
            let options = Options {
                read_ahead: !once,
                ..Options::default()
            };
            let report = engine.run_cycle(&name, &options).with_context(|| {
                format!("a cycle of `{name}` stopped; running again takes it up where it stopped")
            })?;
            progress.add(&report);
            let attention = needs_attention(&report);
            if per_cycle || attention {
                progress.pause();
                failed |= show(&report)?;
            }
            if once || !report.more || !report.errors.is_empty() {
                break;
            }
        }
        progress.pause();
        // The totals end every run, one cycle or many, so a script reads them in one place.
        outln!("{}", progress.summary())?;
    }
    if failed {
        bail!("some sources could not be read (see above); their watermarks did not move");
    }
    Ok(())
}

/// Whether a cycle has something to say beyond its counts: errors, merge reports, quarantine.
fn needs_attention(report: &Report) -> bool {
    !report.errors.is_empty() || !report.merge_reports.is_empty() || report.quarantined > 0
}

/// Prints a cycle's summary (stdout) and what needs attention (stderr); true when a source failed.
pub fn show(report: &Report) -> anyhow::Result<bool> {
    outln!("{}", report.summary())?;
    if std::io::stderr().is_terminal() {
        let stages: Vec<String> = report
            .stages
            .iter()
            .map(|(s, ms)| format!("{s} {ms:.0}ms"))
            .collect();
        eprintln!("  stages: {}", stages.join(", "));
    }
    for line in &report.merge_reports {
        eprintln!("  merge: {line}");
    }
    for error in &report.errors {
        eprintln!("  error: {error}");
    }
    if report.quarantined > 0 {
        eprintln!(
            "  {} record(s) quarantined: see `wasync quarantine list`",
            report.quarantined
        );
    }
    Ok(!report.errors.is_empty())
}

/// `wasync quarantine replay`: one cycle per pipeline over quarantined records only.
pub fn replay(config: &Path, pipeline: Option<&str>, runtime: &RuntimeArgs) -> anyhow::Result<()> {
    let (_, mut engine) = engine(config, runtime)?;
    for name in selected(&engine, pipeline)? {
        let report = engine.run_cycle(
            &name,
            &Options {
                quarantine_only: true,
                ..Options::default()
            },
        )?;
        show(&report)?;
    }
    Ok(())
}
