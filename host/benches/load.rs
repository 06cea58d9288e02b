//! `cargo bench --bench load`: the single-source load side by side with the peer a user would
//! pick instead, on the same file, one tool after another in one run.
//!
//! The file: N Salesforce-shaped Accounts (20 fields, ~950 bytes each) in JSON Lines, sorted
//! by `SystemModstamp`; then the same file after 10% of them changed. Each tool loads the
//! file, then takes in the changes:
//!
//! - wasync: the `wasync` binary, one `jsonl` source, 18 mapped fields, `extract-domain` on
//!   Website, no merge, no destination;
//! - dlt: a resource incremental on `SystemModstamp`, the domain by `publicsuffixlist` in
//!   `add_map`, DuckDB `merge` on `Id` (installed into a virtual environment by this bench;
//!   skipped, saying why, when it cannot be);
//! - a plain copy: Python's `json.loads` and SQLite `executemany` upsert, no pipeline.
//!
//! Prints records/s, peak RSS and the store's size for each, and ratios to wasync.
//! `WASYNC_LOAD_RECORDS` (default 100000) sets N; `WASYNC_LOAD_PEERS=0` runs wasync only;
//! `WASYNC_LOAD_KEEP=1` keeps the files (to profile a run again); `WASYNC_LOAD_BASELINE=<path>`
//! runs another `wasync` binary (an earlier build) on the same files too, as "baseline";
//! `WASYNC_LOAD_ARGS` adds arguments to each `wasync sync` (`--deadline-ms 60000`).
//! Wall-clock figures on a shared machine: compare the ratios within one run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/peers.rs"]
mod peers;

use peers::{Run, measure, python_env, size_of};

const INDUSTRIES: [&str; 6] = ["Software", "Energy", "Retail", "Pharma", "Finance", "Media"];
const TYPES: [&str; 4] = ["Customer", "Prospect", "Partner", "Other"];
const CITIES: [&str; 5] = ["London", "Berlin", "Austin", "Osaka", "Lyon"];

/// One Account, Salesforce-shaped: `version` 0 is the original, 1 the changed one. Its
/// modstamp is a second per record from January 1st (the changed ones, in February).
fn account(line: &mut String, i: usize, version: u32) {
    line.clear();
    let (day, seconds) = (i / 86_400 + 1, i % 86_400);
    write!(
        line,
        r#"{{"Id":"001{i:015}AAA","IsDeleted":false,"Name":"Company {i}{}","Type":"{}","Industry":"{}","Website":"https://www.company{i}.co.uk/home","Phone":"+44 20 7946 {:04}","BillingStreet":"{} High Street","BillingCity":"{}","BillingPostalCode":"SW1A {}AA","BillingCountry":"United Kingdom","NumberOfEmployees":{},"AnnualRevenue":{}.0,"Description":"Account {i}: a company in {} that buys from us through the partner channel. Renewal talks start in the spring; the account team meets them each quarter, and support has a named engineer on their side. Notes from the last review: wants single sign-on, asked about the data residency options in the EU, happy with response times.","Rating":"{}","OwnerId":"005{:015}","AccountSource":"Web","CreatedDate":"2025-01-01T00:00:00.000+0000","LastModifiedDate":"2026-0{}-{day:02}T{:02}:{:02}:{:02}.000+0000","SystemModstamp":"2026-0{}-{day:02}T{:02}:{:02}:{:02}.000+0000"}}"#,
        if version > 0 { " Ltd" } else { "" },
        TYPES[i % 4],
        INDUSTRIES[i % 6],
        i % 10_000,
        i % 500 + 1,
        CITIES[i % 5],
        i % 9 + 1,
        10 + i % 5_000,
        100_000 + (i % 1_000) * 1_000 + version as usize,
        INDUSTRIES[(i + 1) % 6],
        ["Hot", "Warm", "Cold"][i % 3],
        i % 50,
        1 + version,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        1 + version,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
    )
    .ok();
}

/// Writes the original file and the changed one (every tenth record changed, moved to the end
/// in modstamp order, as a source system's export after the changes would be).
fn generate(dir: &Path, n: usize) -> std::io::Result<(PathBuf, PathBuf)> {
    let first = dir.join("Account.jsonl");
    let second = dir.join("Account-changed.jsonl");
    let mut a = std::io::BufWriter::new(std::fs::File::create(&first)?);
    let mut b = std::io::BufWriter::new(std::fs::File::create(&second)?);
    let mut line = String::new();
    for i in 0..n {
        account(&mut line, i, 0);
        writeln!(a, "{line}")?;
        if i % 10 != 0 {
            writeln!(b, "{line}")?;
        }
    }
    for i in (0..n).step_by(10) {
        account(&mut line, i, 1);
        writeln!(b, "{line}")?;
    }
    a.flush()?;
    b.flush()?;
    Ok((first, second))
}

/// One tool's figures: the load, the changes, and what it left on disk.
struct Figures {
    tool: &'static str,
    load: Run,
    changes: Run,
    store_bytes: u64,
}

const MAPPED: [&str; 17] = [
    "Name",
    "Type",
    "Industry",
    "Website",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingCountry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "Description",
    "Rating",
    "OwnerId",
    "AccountSource",
    "CreatedDate",
    "LastModifiedDate",
];

fn wasync(
    tool: &'static str,
    binary: &Path,
    dir: &Path,
    first: &Path,
    second: &Path,
) -> anyhow::Result<Figures> {
    let run = dir.join(tool);
    std::fs::create_dir_all(run.join("data"))?;
    let mut fields = String::new();
    for f in MAPPED {
        writeln!(fields, "{f} = \"{f}\"")?;
    }
    writeln!(
        fields,
        "Domain = {{ from = \"Website\", transforms = [{{ plugin = \"extract-domain\" }}] }}"
    )?;
    let config = format!(
        r#"store = "wasync.db"

[connectors.salesforce]
plugin = "jsonl"
dirs = [{{ host = "data", guest = "/data" }}]

[connectors.salesforce.settings.entities.Account]
file = "Account.jsonl"
id_field = "Id"
watermark_field = "SystemModstamp"
deleted_field = "IsDeleted"

[[pipeline]]
name = "accounts"
entity = "Account"
batch_size = 5000

[[pipeline.source]]
connector = "salesforce"
entity = "Account"

[pipeline.source.fields]
{fields}"#
    );
    std::fs::write(run.join("wasync.toml"), config)?;
    let sync = || {
        let mut cmd = Command::new(binary);
        cmd.args(["sync", "--config"]).arg(run.join("wasync.toml"));
        if let Ok(args) = std::env::var("WASYNC_LOAD_ARGS") {
            cmd.args(args.split_whitespace());
        }
        cmd
    };
    std::fs::copy(first, run.join("data/Account.jsonl"))?;
    let load = measure(&mut sync())?;
    std::fs::copy(second, run.join("data/Account.jsonl"))?;
    let changes = measure(&mut sync())?;
    let store_bytes = ["wasync.db", "wasync.db-wal"]
        .iter()
        .map(|f| size_of(&run.join(f)))
        .sum();
    Ok(Figures {
        tool,
        load,
        changes,
        store_bytes,
    })
}

const DLT: &str = r#"
import json, sys, dlt
from publicsuffixlist import PublicSuffixList
from urllib.parse import urlsplit

path, work = sys.argv[1], sys.argv[2]
psl = PublicSuffixList()

@dlt.resource(primary_key="Id", write_disposition="merge")
def accounts(modstamp=dlt.sources.incremental("SystemModstamp", initial_value="")):
    with open(path) as f:
        for line in f:
            yield json.loads(line)

def domain(row):
    host = urlsplit(row.get("Website") or "").hostname
    row["Domain"] = psl.privatesuffix(host) if host else None
    return row

pipeline = dlt.pipeline(pipeline_name="accounts", destination=dlt.destinations.duckdb(work + "/accounts.duckdb"),
                        dataset_name="crm", pipelines_dir=work + "/pipelines")
pipeline.run(accounts().add_map(domain), loader_file_format="parquet")
"#;

const PLAIN: &str = r#"
import json, sqlite3, sys
path, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
conn.execute("CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, modstamp TEXT, record TEXT)")
with open(path) as f, conn:
    rows = []
    for line in f:
        r = json.loads(line)
        rows.append((r["Id"], r["SystemModstamp"], line))
        if len(rows) == 5000:
            conn.executemany("INSERT INTO account VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET modstamp = excluded.modstamp, record = excluded.record WHERE excluded.modstamp > account.modstamp", rows)
            rows = []
    conn.executemany("INSERT INTO account VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET modstamp = excluded.modstamp, record = excluded.record WHERE excluded.modstamp > account.modstamp", rows)
"#;

fn python(
    tool: &'static str,
    python: &Path,
    script: &str,
    dir: &Path,
    first: &Path,
    second: &Path,
) -> anyhow::Result<Figures> {
    let work = dir.join(tool);
    std::fs::create_dir_all(&work)?;
    let file = work.join("run.py");
    std::fs::write(&file, script)?;
    let store = work.join("store");
    let target = if tool == "dlt" { &work } else { &store };
    let run = |input: &Path| {
        measure(
            Command::new(python)
                .arg(&file)
                .arg(input)
                .arg(target)
                .env("RUNTIME__LOG_LEVEL", "WARNING"),
        )
    };
    let load = run(first)?;
    let changes = run(second)?;
    let store_bytes = if tool == "dlt" {
        size_of(&work.join("accounts.duckdb"))
    } else {
        size_of(&store)
    };
    Ok(Figures {
        tool,
        load,
        changes,
        store_bytes,
    })
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("WASYNC_LOAD_RECORDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    if std::env::var_os("WASYNC_LOAD_KEEP").is_some() {
        println!("files kept in {}", dir.path().display());
    }
    let (first, second) = generate(dir.path(), n)?;
    let source_bytes = std::fs::metadata(&first)?.len();
    println!(
        "{n} Accounts, {:.0} MB of JSON Lines; then {} of them changed",
        source_bytes as f64 / 1e6,
        n.div_ceil(10)
    );
    let built = Path::new(env!("CARGO_BIN_EXE_wasync"));
    let mut all = vec![wasync("wasync", built, dir.path(), &first, &second)?];
    if let Some(baseline) = std::env::var_os("WASYNC_LOAD_BASELINE") {
        let baseline = PathBuf::from(baseline);
        all.push(wasync("baseline", &baseline, dir.path(), &first, &second)?);
    }
    if std::env::var("WASYNC_LOAD_PEERS").as_deref() != Ok("0") {
        match python_env() {
            Ok(py) => {
                for (tool, script) in [("dlt", DLT), ("plain copy", PLAIN)] {
                    match python(tool, &py, script, dir.path(), &first, &second) {
                        Ok(f) => all.push(f),
                        Err(e) => println!("  {tool}: not run: {e:#}"),
                    }
                }
            }
            Err(e) => println!("  peers not run (no Python environment): {e:#}"),
        }
    }
    let changed = n.div_ceil(10) as f64;
    println!(
        "{:<11} {:>12} {:>8} {:>13} {:>9} {:>10} {:>8}",
        "tool", "load rec/s", "vs", "changes s", "peak MiB", "store MB", "×source"
    );
    let base = all[0].load.seconds;
    for f in &all {
        println!(
            "{:<11} {:>12.0} {:>7.2}× {:>13.2} {:>9.0} {:>10.0} {:>7.1}×",
            f.tool,
            n as f64 / f.load.seconds,
            f.load.seconds / base,
            f.changes.seconds,
            f.load.peak_mib.max(f.changes.peak_mib),
            f.store_bytes as f64 / 1e6,
            f.store_bytes as f64 / source_bytes as f64,
        );
    }
    println!(
        "(\"vs\": the tool's load time over wasync's; the changes: {changed:.0} records, the whole process)"
    );
    if std::env::var_os("WASYNC_LOAD_KEEP").is_some() {
        let _ = dir.keep();
    }
    Ok(())
}
