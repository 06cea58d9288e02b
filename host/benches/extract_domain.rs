//! `cargo bench --bench extract_domain`: extract-domain over 100,000 values through the WASM
//! plugin against the same Rust code called natively, at batch sizes 1, 100 and 10,000;
//! what crossing alone costs, and the same transform under `wasync:plugin@0.1.0` and 0.2.0;
//! then the time to load the plugin cold and from the compile cache.
//!
//! Figures are best-of-N wall-clock times on a shared machine: compare the ratios printed in
//! one run rather than absolute numbers across runs.

#[path = "support/corpus.rs"]
mod corpus;

use corpus::corpus;
use std::hint::black_box;
use std::time::{Duration, Instant};
use wasync::Value;
use wasync::plugin::{Cache, Limits, Runtime, RuntimeOptions};

const VALUES: usize = 100_000;
const ROUNDS: usize = 5;

/// The best of `ROUNDS` timings of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Best-of-ROUNDS nanoseconds per value of `f`, which transforms all VALUES.
fn per_value(f: impl FnMut()) -> f64 {
    best(f).as_secs_f64() * 1e9 / VALUES as f64
}

fn per_second(d: Duration) -> f64 {
    VALUES as f64 / d.as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let inputs = corpus(VALUES);
    let values: Vec<Value> = inputs.iter().map(|s| Value::Text(s.clone())).collect();

    let native = best(|| {
        for input in &inputs {
            black_box(extract_domain::registrable_domain(black_box(input)));
        }
    });

    let runtime = Runtime::new(RuntimeOptions {
        limits: Limits::default(),
        cache: Cache::off(),
    })?;
    let plugin = runtime.load("extract-domain")?;

    // The same answers both ways, or the comparison means nothing.
    let mut check = runtime.transformer(&plugin, "{}")?;
    for (chunk, inputs) in values.chunks(10_000).zip(inputs.chunks(10_000)) {
        for (got, input) in check.apply(chunk)?.into_iter().zip(inputs) {
            let want = extract_domain::registrable_domain(input).map_or(Value::Null, Value::Text);
            anyhow::ensure!(
                got.as_ref() == Ok(&want),
                "{input}: wasm {got:?}, native {want:?}"
            );
        }
    }

    println!("extract-domain over {VALUES} values (best of {ROUNDS})");
    println!("{:<22} {:>14} {:>12}", "", "values/s", "wasm/native");
    println!(
        "{:<22} {:>14.0} {:>12}",
        "native",
        per_second(native),
        "1.00x"
    );
    for batch in [1usize, 100, 10_000] {
        let mut transform = runtime.transformer(&plugin, "{}")?;
        let wasm = best(|| {
            for chunk in values.chunks(batch) {
                black_box(transform.apply(chunk).expect("call"));
            }
        });
        let ratio = wasm.as_secs_f64() / native.as_secs_f64();
        println!(
            "{:<22} {:>14.0} {:>11.2}x",
            format!("wasm, batch {batch}"),
            per_second(wasm),
            ratio
        );
    }

    // What crossing into the sandbox costs on its own: map-values with an empty table hands
    // every value back unchanged: its time is mostly crossing and the SDK's glue.
    let identity = runtime.load("map-values")?;
    let mut echo = runtime.transformer(&identity, r#"{"map": {}}"#)?;
    let crossing = per_value(|| {
        for chunk in values.chunks(10_000) {
            black_box(echo.apply(chunk).expect("call"));
        }
    });
    println!(
        "{:<22} {:>14} {crossing:>5.0} ns/value",
        "identity, batch 10000", ""
    );

    // The same work under both contracts: upper-casing built for wasync:plugin@0.1.0
    // (a value at a time through the canonical ABI) and for 0.2.0 (one buffer a batch).
    println!();
    println!("crossing, batch 10000: upper-case text under each contract");
    let mut under = Vec::new();
    for (contract, component) in [
        ("0.1.0", wasync_test_guests::LEGACY_TRANSFORM),
        ("0.2.0", wasync_test_guests::UPPER),
    ] {
        let plugin = runtime.load(component)?;
        anyhow::ensure!(plugin.interface().version == contract, "{component}");
        let mut upper = runtime.transformer(&plugin, "{}")?;
        let ns = per_value(|| {
            for chunk in values.chunks(10_000) {
                black_box(upper.apply(chunk).expect("call"));
            }
        });
        under.push(ns);
        println!(
            "{:<22} {:>14} {ns:>5.0} ns/value",
            format!("wasync:plugin@{contract}"),
            ""
        );
    }
    println!(
        "{:<22} {:>14} {:>5.2}x faster",
        "0.2.0 vs 0.1.0",
        "",
        under[0] / under[1]
    );

    let dir = tempfile::tempdir()?;
    let cached_runtime = |cache| {
        Runtime::new(RuntimeOptions {
            limits: Limits::default(),
            cache,
        })
    };
    let cold = cached_runtime(Cache::off())?.load("extract-domain")?;
    cached_runtime(Cache::at(dir.path()))?.load("extract-domain")?;
    let warm = cached_runtime(Cache::at(dir.path()))?.load("extract-domain")?;
    println!();
    println!(
        "load extract-domain ({} KiB component)",
        plugin.size() / 1024
    );
    println!(
        "  cold (compile):  {:>8.1} ms",
        cold.load_time().as_secs_f64() * 1e3
    );
    println!(
        "  from cache:      {:>8.1} ms  ({:.0}x faster)",
        warm.load_time().as_secs_f64() * 1e3,
        cold.load_time().as_secs_f64() / warm.load_time().as_secs_f64()
    );
    Ok(())
}
