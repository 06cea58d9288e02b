//! `wasync serve`: one long-running process that runs every pipeline's cycle on its schedule,
//! takes webhooks, and answers `GET /health` and `GET /status`.
//!
//! Three parts, each on its own thread, so none waits on another's work:
//! - the HTTP front ([`routes`]), on tokio, which only parses and forwards;
//! - the intake ([`intake`]), which owns the webhook connectors and commits what they return
//!   before a request is answered;
//! - the cycle runner ([`cycles`]), which owns the engine and runs micro-batches of received
//!   changes and scheduled cycles, one at a time.
//!
//! SIGINT or SIGTERM stops taking requests, answers those in flight, lets the batch in
//! flight finish, and exits.

mod cycles;
mod intake;
mod routes;
mod schedule;

pub use intake::{Answer, Delivery, Intake};
pub use schedule::Schedule;

use crate::config::Config;
use crate::engine::{Engine, Report};
use crate::plugin::{Runtime, RuntimeOptions};
use anyhow::{Context, bail};
use cycles::Wake;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// How `wasync serve` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pipeline file.
    pub config: PathBuf,
    /// Overrides `serve.listen`.
    pub listen: Option<String>,
    /// Plugin limits and the compile cache.
    pub runtime: RuntimeOptions,
}

/// Runs the service until SIGINT or SIGTERM.
pub fn run(options: &Options) -> anyhow::Result<()> {
    let config = Config::load(&options.config)?;
    let listen = options.listen.as_deref().unwrap_or(&config.serve.listen);
    let listen: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("`--listen {listen}` is not an address like 127.0.0.1:7870"))?;
    let mut schedules = BTreeMap::new();
    for p in &config.pipelines {
        let schedule = match &p.schedule {
            Some(text) => Schedule::parse(text).map_err(|e| anyhow::anyhow!("{e}"))?,
            None => Schedule::default(),
        };
        schedules.insert(p.name.clone(), schedule);
    }
    let remember = Duration::from_secs(u64::from(config.serve.remember_days) * 86_400);

    // The cycle runner: builds the engine on its own thread (it is not `Send`), says whether
    // that worked, then runs.
    let (wake, wakes) = mpsc::channel::<Wake>();
    let (ready, started) = mpsc::channel::<anyhow::Result<()>>();
    let runner = {
        let (config, runtime, ready) = (config.clone(), options.runtime.clone(), ready.clone());
        std::thread::Builder::new()
            .name("wasync-cycles".into())
            .spawn(move || -> anyhow::Result<()> {
                let engine = Runtime::new(runtime).and_then(|runtime| {
                    Engine::open(&config, &runtime).context("cannot start the pipelines")
                });
                let engine = match engine {
                    Ok(engine) => {
                        let _ = ready.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return Ok(());
                    }
                };
                cycles::run(engine, schedules, remember, wakes, show)
            })?
    };

    // The intake: the webhook connectors, with their secrets.
    let (deliver, deliveries) = mpsc::channel::<Delivery>();
    let intake = {
        let (config, runtime, wake) = (config.clone(), options.runtime.clone(), wake.clone());
        std::thread::Builder::new()
            .name("wasync-intake".into())
            .spawn(move || {
                let intake = Runtime::new(runtime).and_then(|runtime| {
                    Intake::open(&config, &runtime).context("cannot start the webhook intake")
                });
                match intake {
                    Ok(intake) => {
                        let _ = ready.send(Ok(()));
                        intake.run(deliveries, || {
                            let _ = wake.send(Wake::Received);
                        });
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })?
    };
    for _ in 0..2 {
        if let Err(e) = started.recv().context("a service thread ended early")? {
            drop(deliver);
            let _ = wake.send(Wake::Stop);
            let _ = (runner.join(), intake.join());
            return Err(e);
        }
    }

    let front = routes::Front {
        deliver,
        limits: intake::body_limits(&config),
        config: config.clone(),
    };
    let served = routes::serve(listen, front);
    // The front is gone: no new deliveries. Let the intake answer what it has, and the
    // runner finish its batch.
    let _ = wake.send(Wake::Stop);
    if intake.join().is_err() {
        bail!("the webhook intake panicked");
    }
    let cycles = runner
        .join()
        .map_err(|_| anyhow::anyhow!("the cycle runner panicked"))?;
    served?;
    cycles?;
    println!("wasync serve: stopped");
    Ok(())
}

/// Prints a cycle's summary when it did something, and its errors.
fn show(report: &Report) {
    let busy = report.read + report.written + report.quarantined + report.errors.len() as u64;
    if busy > 0 {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", report.summary());
        let _ = out.flush();
    }
    for error in &report.errors {
        eprintln!("  error: {error}");
    }
}
