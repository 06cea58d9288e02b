//! `cargo bench --bench sync`: the example's Account pipeline through all eight stages on
//! generated data (two sources of N records each, ~20 fields, a share of duplicates and of
//! updates), at two sizes so growth is visible. Prints records per second, time per stage,
//! the share of time inside plugin calls, and peak memory.
//!
//! Wall-clock figures on a shared machine: compare the ratios within one run.

/// The allocator the `wasync` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;
use wasync::config::Config;
use wasync::engine::Engine;
use wasync::engine::cycle::Options;
use wasync::plugin::{
    Cache, LOOKUP_NANOS, Limits, PLUGIN_MEMORY_GROWN, PLUGIN_NANOS, Runtime, RuntimeOptions,
};

const INDUSTRIES: [&str; 6] = ["Software", "Energy", "Retail", "Pharma", "Finance", "Media"];
const TYPES: [&str; 4] = ["Customer", "Prospect", "Partner", "Other"];

/// Writes `n` Salesforce accounts and `n` HubSpot companies: 10% of HubSpot's are the same
/// companies as Salesforce's (attached), 2% of each side duplicates another (merged), and
/// 5% of Salesforce's accounts appear twice (an update later in the file).
fn generate(dir: &Path, n: usize) -> std::io::Result<()> {
    let mut sf = std::io::BufWriter::new(std::fs::File::create(
        dir.join("data/salesforce/Account.jsonl"),
    )?);
    let mut hs = std::io::BufWriter::new(std::fs::File::create(
        dir.join("data/hubspot/companies.jsonl"),
    )?);
    let mut line = String::new();
    for i in 0..n {
        let name = if i % 50 == 1 {
            format!("Company {}", i - 1)
        } else {
            format!("Company {i}")
        };
        line.clear();
        write!(
            line,
            r#"{{"Id":"001{i:08}","Name":"{name}","Website":"https://www.company{i}.co.uk/home","Type":"{}","Industry":"{}","SystemModstamp":"2026-01-01T00:00:{:02}.{:06}Z""#,
            TYPES[i % 4],
            INDUSTRIES[i % 6],
            (i / 1_000_000) % 60,
            i % 1_000_000
        )
        .ok();
        for f in 0..15 {
            write!(line, r#","Field{f}__c":"value {f} of account {i}""#).ok();
        }
        line.push('}');
        writeln!(sf, "{line}")?;
        if i % 20 == 3 {
            writeln!(
                sf,
                "{}",
                line.replace("Company", "Updated Company")
                    .replace("2026-01-01", "2026-01-02")
            )?;
        }
        let company = if i % 10 == 0 {
            format!("Company {i}")
        } else {
            format!("HubSpot Company {i}")
        };
        let company = if i % 50 == 7 {
            format!("HubSpot Company {}", i - 1)
        } else {
            company
        };
        line.clear();
        write!(
            line,
            r#"{{"id":"{i}","name":"{company}","domain":"company{i}.com","hs_lastmodifieddate":"2026-01-01T00:00:{:02}.{:06}Z""#,
            (i / 1_000_000) % 60,
            i % 1_000_000
        )
        .ok();
        for f in 0..16 {
            write!(line, r#","prop{f}":"value {f} of company {i}""#).ok();
        }
        line.push('}');
        writeln!(hs, "{line}")?;
    }
    Ok(())
}

/// Peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn run(n: usize, batch: u32) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/accounts/wasync.toml");
    std::fs::create_dir_all(dir.path().join("data/salesforce"))?;
    std::fs::create_dir_all(dir.path().join("data/hubspot"))?;
    let config = std::fs::read_to_string(example)?
        .replace("batch_size = 500", &format!("batch_size = {batch}"));
    std::fs::write(dir.path().join("wasync.toml"), config)?;
    generate(dir.path(), n)?;

    let config = Config::load(&dir.path().join("wasync.toml"))?;
    let runtime = Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::default_location(),
    })?;
    let mut engine = Engine::open(&config, &runtime)?;
    // Reset the peak so each size reports its own (Linux: "5" clears VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_mib();
    PLUGIN_NANOS.store(0, Ordering::Relaxed);
    LOOKUP_NANOS.store(0, Ordering::Relaxed);
    let grown_before = PLUGIN_MEMORY_GROWN.load(Ordering::Relaxed);
    let started = Instant::now();
    let (mut read, mut cycles) = (0u64, 0);
    let mut stages = wasync::engine::Stages::default();
    let mut totals = [0u64; 5];
    loop {
        let report = engine.run_cycle("accounts", &Options::default())?;
        cycles += 1;
        if std::env::var_os("WASYNC_BENCH_VERBOSE").is_some() {
            eprintln!("{} {:?}", report.summary(), report.stages);
        }
        read += report.read;
        for (stage, ms) in report.stages.iter() {
            stages.add(stage, ms);
        }
        for (t, v) in totals.iter_mut().zip([
            report.created,
            report.updated,
            report.merged,
            report.written,
            report.quarantined,
        ]) {
            *t += v;
        }
        if !report.more {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let plugin = PLUGIN_NANOS.load(Ordering::Relaxed) as f64 / 1e9;
    println!(
        "{n} records per source, batch {batch}: {cycles} cycles, {read} source records in {elapsed:.2} s"
    );
    println!("  {:.0} source records/s end to end", read as f64 / elapsed);
    println!(
        "  created {}, updated {}, merged {}, written {}, quarantined {}",
        totals[0], totals[1], totals[2], totals[3], totals[4]
    );
    let lookups = LOOKUP_NANOS.load(Ordering::Relaxed) as f64 / 1e9;
    println!(
        "  inside plugin calls: {:.0}% of the time ({plugin:.2} s), of which {:.0}% back in the host answering lookups",
        100.0 * plugin / elapsed,
        100.0 * lookups / elapsed
    );
    let line: Vec<String> = stages
        .iter()
        .map(|(s, ms)| format!("{s} {:.0}%", 100.0 * ms / 1e3 / elapsed))
        .collect();
    println!("  stages: {}", line.join(", "));
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    let plugins_grew = mib(PLUGIN_MEMORY_GROWN.load(Ordering::Relaxed) - grown_before);
    let peak = peak_rss_mib();
    println!(
        "  peak memory: {peak:.0} MiB (before the run: {rss_before:.0} MiB; of the {:.0} MiB grown, plugins' own memory {plugins_grew:.0} MiB, the host {:.0} MiB)",
        peak - rss_before,
        peak - rss_before - plugins_grew
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("WASYNC_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20_000, 100_000]);
    for n in sizes {
        run(n, 5_000)?;
    }
    Ok(())
}
