//! `cargo bench --bench languages`: extract-domain in Rust, Python and JavaScript, through the
//! host, at batch 10,000: the cost per value and its ratio to Rust; a trivial transform in
//! each, which is what the SDK itself costs; then each component's load time cold (compiled
//! now, no cache) and from the compile cache.
//!
//! The Python and JavaScript twins are built (once, cached under the target dir) by the same
//! builder as `tests/languages.rs`; their toolchains must be installed. Figures are best-of-N
//! wall-clock times on a shared machine: compare the ratios of one run.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "../../tests/languages_support/mod.rs"]
#[allow(dead_code)] // the bench uses only the extract-domain and suffix twins
mod languages_support;

use languages_support::{JS_EXTRACT_DOMAIN, JS_SUFFIX, PY_EXTRACT_DOMAIN, PY_SUFFIX, component};
use std::time::{Duration, Instant};
use wasync::Value;
use wasync::plugin::{Cache, Limits, Origin, Plugin, Runtime, RuntimeOptions, Transformer};

const BATCH: usize = 10_000;
const ROUNDS: usize = 5;

/// The corpus `extract_domain` uses, as values.
fn corpus() -> Vec<Value> {
    corpus::corpus(BATCH).into_iter().map(Value::Text).collect()
}

fn runtime(cache: Cache) -> anyhow::Result<Runtime> {
    Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache,
    })
}

/// Best-of-ROUNDS time of one batch call, per value.
fn per_value(runtime: &Runtime, plugin: &Plugin, values: &[Value]) -> anyhow::Result<Duration> {
    best_of(&mut runtime.transformer(plugin, "{}")?, values)
}

/// Best-of-ROUNDS time of one batch call of a configured use, per value.
fn best_of(transform: &mut Transformer, values: &[Value]) -> anyhow::Result<Duration> {
    transform.apply(values)?; // warm up: first call pays instantiation
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let results = transform.apply(values)?;
        best = best.min(started.elapsed());
        assert_eq!(results.len(), values.len());
    }
    Ok(best / values.len() as u32)
}

/// (cold, cached) load times of a component file.
fn loads(path: &std::path::Path) -> anyhow::Result<(Duration, Duration)> {
    let cold = runtime(Cache::off())?.load_file(path)?.load_time();
    let dir = tempfile::tempdir()?;
    runtime(Cache::at(dir.path()))?.load_file(path)?; // fills the cache
    let cached = runtime(Cache::at(dir.path()))?.load_file(path)?;
    assert_eq!(cached.origin(), Origin::Cached);
    Ok((cold, cached.load_time()))
}

fn main() -> anyhow::Result<()> {
    let values = corpus();
    let rt = runtime(Cache::at(languages_support::cache_root().join("compiled")))?;
    let rust = rt.load("extract-domain")?;
    let python_path = component(PY_EXTRACT_DOMAIN);
    let js_path = component(JS_EXTRACT_DOMAIN);
    let python = rt.load_file(&python_path)?;
    let js = rt.load_file(&js_path)?;

    let rust_cost = per_value(&rt, &rust, &values)?;
    println!("extract-domain, batch {BATCH}, best of {ROUNDS}, per value:");
    println!("  rust        {:>9.2} µs  (1.0x)", micros(rust_cost));
    for (name, plugin) in [("python", &python), ("javascript", &js)] {
        let cost = per_value(&rt, plugin, &values)?;
        println!(
            "  {name:<11} {:>9.2} µs  ({:.1}x rust)",
            micros(cost),
            cost.as_secs_f64() / rust_cost.as_secs_f64()
        );
    }

    // The SDKs' own cost: a transform that appends `-x` to text, the least an author's code
    // can do, so its time per value is the batch crossing, decoding and encoding.
    println!("a trivial transform (append `-x`), batch {BATCH}, best of {ROUNDS}, per value:");
    let rust = rt.load(wasync_test_guests::UPPER)?;
    let rust_cost = per_value(&rt, &rust, &values)?;
    println!(
        "  rust        {:>9.2} µs  (1.0x, upper-cases instead)",
        micros(rust_cost)
    );
    for (name, twin) in [("python", PY_SUFFIX), ("javascript", JS_SUFFIX)] {
        let plugin = rt.load_file(&component(twin))?;
        let mut transform = rt.transformer(&plugin, r#"{"suffix": "-x"}"#)?;
        let cost = best_of(&mut transform, &values)?;
        println!(
            "  {name:<11} {:>9.2} µs  ({:.1}x rust)",
            micros(cost),
            cost.as_secs_f64() / rust_cost.as_secs_f64()
        );
    }

    println!("load time: cold (compiled now) / cached, component size:");
    let rust_bytes = wasync::plugin::builtin::find("extract-domain").unwrap_or_default();
    let rust_file = tempfile::NamedTempFile::new()?;
    std::fs::write(rust_file.path(), rust_bytes)?;
    for (name, path) in [
        ("rust", rust_file.path()),
        ("python", python_path.as_path()),
        ("javascript", js_path.as_path()),
    ] {
        let (cold, cached) = loads(path)?;
        println!(
            "  {name:<11} {:>8.0} ms / {:>6.0} ms  ({:.1} MB)",
            cold.as_secs_f64() * 1e3,
            cached.as_secs_f64() * 1e3,
            std::fs::metadata(path)?.len() as f64 / 1e6
        );
    }
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
