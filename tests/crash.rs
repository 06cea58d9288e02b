//! Issue 15's crash campaign: `wasync sync` on generated Accounts and companies, SIGKILLed at
//! seeded random moments and rerun until caught up, must end where an uninterrupted run
//! ends: the same live records with the same content, no duplicate creates, no change
//! applied twice in the transaction log. On the accounts example's JSON Lines files and
//! through the Salesforce and HubSpot connectors against their stand-ins (with kills between
//! a write applied and its answer). And the end state must not depend on batch size or on
//! the order of the sources.
//!
//! `WASYNC_CRASH_SEED=N` replays a seed. The size (20,000 records per source, 100
//! kill moments of which at least 50 land) runs with
//! `cargo test --release --test crash -- --ignored --nocapture`.

#[path = "support/service.rs"]
mod service;

#[path = "crash/campaign.rs"]
mod campaign;
#[path = "crash/generate.rs"]
mod generate;
#[path = "crash/live.rs"]
mod live;
#[path = "crash/standins.rs"]
mod standins;

use campaign::{Outcome, Ran, run_to_end};
use generate::Data;
use live::{HS_FILE, Live, SF_FILE, Side, SideDiff};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The tests here run one at a time: each times kills against an uninterrupted run's pace,
/// which a neighbour's load would skew.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pipeline folder with the generated data as the accounts example's files.
fn example(data: &Data, batch_size: usize, reversed: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    generate::write_jsonl(data, dir.path());
    std::fs::write(
        dir.path().join("wasync.toml"),
        generate::accounts_pipeline(batch_size, reversed),
    )
    .expect("write the pipeline");
    dir
}

fn config(dir: &Path) -> PathBuf {
    dir.join("wasync.toml")
}

fn log(dir: &Path) -> PathBuf {
    dir.join("runs.log")
}

/// The live state of both files of a pipeline folder.
fn files(dir: &Path) -> (live::Live, live::Live) {
    let data = dir.join("data");
    (
        live::jsonl(
            &data.join("salesforce/Account.jsonl"),
            &SF_FILE,
            "IsDeleted",
        ),
        live::jsonl(&data.join("hubspot/companies.jsonl"), &HS_FILE, "archived"),
    )
}

/// What one comparison found, and the test's verdict on it.
struct Findings {
    title: String,
    seed: u64,
    text: String,
    clean: bool,
}

impl Findings {
    fn new(title: &str, seed: u64) -> Findings {
        Findings {
            title: title.to_owned(),
            seed,
            text: String::new(),
            clean: true,
        }
    }

    fn diff(&mut self, diff: &SideDiff, reference: &str, run: &str) {
        self.clean &= diff.is_clean();
        self.text.push_str(&diff.summary(reference, run));
    }

    /// Duplicate creates in one run's state of one system.
    fn duplicates(&mut self, side: &Side, originals: &BTreeSet<String>, state: &Live, run: &str) {
        let found = live::duplicate_creates(side, originals, state);
        live::list(
            &mut self.text,
            &format!("{}: duplicate creates in {run}", side.label),
            &found,
        );
        self.clean &= found.is_empty();
    }

    fn repeats(&mut self, what: &str, store: &Path) {
        let repeats = live::txlog_repeats(store);
        let _ = writeln!(
            self.text,
            "transaction log of {what}: {} change(s) applied more than once",
            repeats.len()
        );
        for r in repeats.iter().take(3) {
            let _ = writeln!(self.text, "    {r}");
        }
        self.clean &= repeats.is_empty();
    }

    fn note(&mut self, line: String) {
        self.text.push_str(&line);
        self.text.push('\n');
    }

    /// Prints the figures; fails with them unless everything matched.
    fn verdict(self) {
        let text = format!(
            "{} (seed {}; WASYNC_CRASH_SEED={} replays it)\n{}",
            self.title, self.seed, self.seed, self.text
        );
        assert!(self.clean, "{text}");
        println!("{text}");
    }
}

fn jsonl_campaign(n: usize, kills: usize) {
    let _serial = one_at_a_time();
    let seed = campaign::seed();
    let data = generate::generate(n, seed);
    let mut findings = Findings::new(
        &format!("JSON Lines campaign, {n} records per source, {kills} kill points"),
        seed,
    );

    let reference = example(&data, 500, false);
    let ran = run_to_end(&config(reference.path()), &log(reference.path()));
    let (sf, hs) = files(reference.path());
    // A rerun of the caught-up pipeline: what a start costs, and it must change nothing.
    let rerun = run_to_end(&config(reference.path()), &log(reference.path()));
    let (sf_again, hs_again) = files(reference.path());

    let crashed = example(&data, 500, false);
    let plan = campaign::plan(seed, kills, &ran, false);
    let outcome = campaign::run(
        &config(crashed.path()),
        &log(crashed.path()),
        &plan,
        &ran,
        rerun.startup(),
        None,
    );
    let (sf_crash, hs_crash) = files(crashed.path());

    findings.note(figures(&ran, &rerun, &outcome));
    let (sf_ids, hs_ids) = (data.salesforce_ids(), data.hubspot_ids());
    for (side, ids, a, b, c) in [
        (&SF_FILE, &sf_ids, &sf, &sf_again, &sf_crash),
        (&HS_FILE, &hs_ids, &hs, &hs_again, &hs_crash),
    ] {
        findings.diff(&live::compare(side, ids, a, c), "uninterrupted", "killed");
        findings.diff(&live::compare(side, ids, a, b), "uninterrupted", "rerun");
        findings.duplicates(side, ids, a, "uninterrupted");
        findings.duplicates(side, ids, c, "killed");
    }
    findings.repeats("the uninterrupted run", &reference.path().join("wasync.db"));
    findings.repeats("the killed run", &crashed.path().join("wasync.db"));
    findings.verdict();
}

fn figures(ran: &Ran, rerun: &Ran, outcome: &Outcome) -> String {
    format!(
        "uninterrupted run {:.2} s ({:.2} s in {} cycles of {} to {} ms), a caught-up rerun {:.2} s; {}",
        ran.wall.as_secs_f64(),
        ran.work().as_secs_f64(),
        ran.cycles.len(),
        ran.cycles.iter().min().map_or(0, Duration::as_millis),
        ran.cycles.iter().max().map_or(0, Duration::as_millis),
        rerun.wall.as_secs_f64(),
        outcome.describe()
    )
}

#[test]
fn a_sync_killed_at_random_moments_ends_where_an_uninterrupted_one_does() {
    jsonl_campaign(2_000, 15);
}

#[test]
#[ignore = "the issue's size: minutes; run with --ignored --nocapture"]
fn a_campaign_of_50_kills_over_20000_records_per_source_ends_identical() {
    // A restarted sync skips what it wrote before and catches up early: of 100 moments
    // drawn over the uninterrupted run, the last few do not land.
    jsonl_campaign(20_000, 100);
}

#[test]
fn the_end_state_does_not_depend_on_batch_size_or_the_order_of_the_sources() {
    let _serial = one_at_a_time();
    let seed = campaign::seed();
    let n = 2_000;
    let data = generate::generate(n, seed);
    let mut findings = Findings::new(
        &format!("batch sizes and source order, {n} records per source"),
        seed,
    );
    let run = |batch: usize, reversed: bool| {
        let dir = example(&data, batch, reversed);
        let ran = run_to_end(&config(dir.path()), &log(dir.path()));
        (files(dir.path()), ran.wall)
    };
    let ((sf, hs), took) = run(500, false);
    findings.note(format!("batch 500: {:.2} s", took.as_secs_f64()));
    let (sf_ids, hs_ids) = (data.salesforce_ids(), data.hubspot_ids());
    findings.duplicates(&SF_FILE, &sf_ids, &sf, "batch 500");
    findings.duplicates(&HS_FILE, &hs_ids, &hs, "batch 500");
    for (batch, reversed) in [(137, false), (1000, false), (500, true)] {
        let ((sf_b, hs_b), took) = run(batch, reversed);
        let label = match reversed {
            false => format!("batch {batch}"),
            true => format!("sources reversed, batch {batch}"),
        };
        findings.note(format!("{label}: {:.2} s", took.as_secs_f64()));
        findings.diff(
            &live::compare(&SF_FILE, &sf_ids, &sf, &sf_b),
            "batch 500",
            &label,
        );
        findings.diff(
            &live::compare(&HS_FILE, &hs_ids, &hs, &hs_b),
            "batch 500",
            &label,
        );
        findings.duplicates(&SF_FILE, &sf_ids, &sf_b, &label);
        findings.duplicates(&HS_FILE, &hs_ids, &hs_b, &label);
    }
    findings.verdict();
}

fn standin_campaign(n: usize, kills: usize) {
    let _serial = one_at_a_time();
    let seed = campaign::seed();
    let data = generate::generate(n, seed);
    let mut findings = Findings::new(
        &format!("stand-in campaign, {n} records per source, {kills} kill points"),
        seed,
    );

    let reference = standins::start(&data);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = reference.pipeline(dir.path(), 200);
    let ran = run_to_end(&path, &log(dir.path()));
    let rerun = run_to_end(&path, &log(dir.path()));

    let crashed = standins::start(&data);
    assert_eq!(
        (&crashed.sf_ids, &crashed.hs_ids),
        (&reference.sf_ids, &reference.hs_ids),
        "fresh stand-ins give the same records the same ids"
    );
    let crash_dir = tempfile::tempdir().expect("tempdir");
    let crash_path = crashed.pipeline(crash_dir.path(), 200);
    let plan = campaign::plan(seed, kills, &ran, true);
    let outcome = campaign::run(
        &crash_path,
        &log(crash_dir.path()),
        &plan,
        &ran,
        rerun.startup(),
        Some(&crashed),
    );

    findings.note(figures(&ran, &rerun, &outcome));
    for (side, ids, a, b) in [
        (
            &live::SF_STANDIN,
            &reference.sf_ids,
            reference.accounts(),
            crashed.accounts(),
        ),
        (
            &live::HS_STANDIN,
            &reference.hs_ids,
            reference.companies(),
            crashed.companies(),
        ),
    ] {
        findings.diff(&live::compare(side, ids, &a, &b), "uninterrupted", "killed");
        findings.duplicates(side, ids, &a, "uninterrupted");
        findings.duplicates(side, ids, &b, "killed");
    }
    findings.repeats("the uninterrupted run", &dir.path().join("wasync.db"));
    findings.repeats("the killed run", &crash_dir.path().join("wasync.db"));
    findings.verdict();
}

#[test]
fn a_sync_against_the_standins_killed_at_random_moments_and_between_a_write_and_its_answer() {
    standin_campaign(1_000, 12);
}

#[test]
#[ignore = "the issue's size: minutes; run with --ignored --nocapture"]
fn a_standin_campaign_of_50_kills_over_20000_records_per_source_ends_identical() {
    standin_campaign(20_000, 100);
}
