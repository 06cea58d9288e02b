//! `wasync serve`: one long-running process that runs every pipeline's cycle on its schedule,
//! takes webhooks, and answers `GET /health` and `GET /status`.
//!
//! Four parts, each on its own thread, so none waits on another's work:
//! - the HTTP front ([`routes`]), on tokio, which only parses and forwards;
//! - the intake ([`intake`]), which owns the webhook connectors and commits what they return
//!   before a request is answered;
//! - the cycle runner ([`cycles`]), which gives each pipeline a thread of its own
//!   ([`worker`]) running its micro-batches of received changes and its scheduled cycles, so
//!   that a plugin stuck in one pipeline holds up no other;
//! - the watcher ([`watch`]), which loads and checks new plugin versions and pipeline files
//!   off to the side, and hands them to the runner to swap in between batches (hot load).
//!
//! SIGINT or SIGTERM stops taking requests, answers those in flight, lets the batch in
//! flight finish, and exits.

mod board;
mod cycles;
mod intake;
mod lines;
mod routes;
mod watch;
mod worker;

pub use board::Outcome;

pub use intake::{Answer, Delivery, Intake, Lanes};

use crate::config::{Config, Schedule};
use crate::engine::{Engine, Plugins, Report};
use crate::plugin::{Runtime, RuntimeOptions};
use anyhow::{Context, bail};
use cycles::Wake;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, mpsc};
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
    let schedules = schedules(&config)?;
    let remember = Duration::from_secs(u64::from(config.serve.remember_days) * 86_400);

    // The cycle runner: builds the engine on its own thread (it is not `Send`), says whether
    // that worked, hands the watcher the runtime and the plugins it loaded, then runs.
    let (wake, wakes) = mpsc::channel::<Wake>();
    let (ready, started) = mpsc::channel::<anyhow::Result<()>>();
    let (loaded_tx, loaded) = mpsc::channel::<(Arc<Runtime>, Plugins)>();
    let runner = {
        let (config, runtime, ready) = (config.clone(), options.runtime.clone(), ready.clone());
        std::thread::Builder::new()
            .name("wasync-cycles".into())
            .spawn(move || -> anyhow::Result<()> {
                let runtime = match Runtime::new(runtime) {
                    Ok(runtime) => Arc::new(runtime),
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return Ok(());
                    }
                };
                let engine =
                    match Engine::open(&config, &runtime).context("cannot start the pipelines") {
                        Ok(engine) => {
                            let _ = loaded_tx.send((runtime.clone(), engine.plugins().clone()));
                            let _ = ready.send(Ok(()));
                            engine
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return Ok(());
                        }
                    };
                cycles::run(engine, &runtime, schedules, remember, wakes, Arc::new(show))
            })?
    };

    // The intake: the webhook connectors, with their secrets.
    let (deliver, deliveries) = mpsc::channel::<Delivery>();
    let (reconfigure, reconfigurations) = mpsc::channel::<Config>();
    let intake = {
        let (config, runtime, wake) = (config.clone(), options.runtime.clone(), wake.clone());
        std::thread::Builder::new()
            .name("wasync-intake".into())
            .spawn(move || {
                let taken = Arc::new(move || {
                    let _ = wake.send(Wake::Received);
                });
                let lanes = Runtime::new(runtime).and_then(|runtime| {
                    Lanes::open(&config, Arc::new(runtime), taken)
                        .context("cannot start the webhook intake")
                });
                match lanes {
                    Ok(lanes) => {
                        let _ = ready.send(Ok(()));
                        lanes.run(deliveries, reconfigurations);
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

    // The watcher: hot load of plugins and the pipeline file.
    let (runtime, plugins) = loaded.recv().context("the cycle runner ended early")?;
    let board = board::Board::new(
        config.clone(),
        intake::body_limits(&config),
        options.config.clone(),
        &plugins,
    );
    let (reload, reloads) = mpsc::channel::<watch::Request>();
    let watcher = {
        let watcher = watch::Watcher::new(
            options.config.clone(),
            runtime,
            config.clone(),
            plugins,
            board.clone(),
            wake.clone(),
            reconfigure,
        );
        let every =
            (config.serve.watch_ms > 0).then(|| Duration::from_millis(config.serve.watch_ms));
        std::thread::Builder::new()
            .name("wasync-watch".into())
            .spawn(move || watcher.run(reloads, every))?
    };

    let front = routes::Front {
        deliver,
        board,
        reload,
    };
    let served = routes::serve(listen, front);
    // The front (and with it the reload sender) is gone: the watcher ends.
    if watcher.join().is_err() {
        bail!("the plugin watcher panicked");
    }
    // The front is gone: no new deliveries. Let the intake answer what it has, and the
    // runner finish its batch.
    let _ = wake.send(Wake::Stop);
    if intake.join().is_err() {
        bail!("the webhook intake panicked");
    }
    let cycles = runner
        .join()
        .map_err(|_| anyhow::anyhow!("the cycle runner panicked"))?;
    LINES.flush();
    served?;
    cycles?;
    say(format_args!("wasync serve: stopped"));
    Ok(())
}

/// Every pipeline's schedule (default: every minute).
fn schedules(config: &Config) -> anyhow::Result<BTreeMap<String, Schedule>> {
    let mut schedules = BTreeMap::new();
    for p in &config.pipelines {
        let schedule = match &p.schedule {
            Some(text) => Schedule::parse(text)
                .map_err(|e| anyhow::anyhow!("pipeline `{}`: `schedule`: {e}", p.name))?,
            None => Schedule::default(),
        };
        schedules.insert(p.name.clone(), schedule);
    }
    Ok(schedules)
}

/// What the service prints about its cycles, summarised (see [`lines`]).
static LINES: LazyLock<Arc<lines::Lines>> =
    LazyLock::new(|| lines::Lines::start(lines::EVERY, print));

/// Prints a cycle's errors, and its counts when it did something: a line of its own, or a
/// share of the pipeline's next totals when it comes within seconds of the last line. Any
/// thread may call it.
fn show(report: &Report) {
    LINES.show(report);
}

/// Prints a line to stdout (what the service did); a closed stdout must not stop it.
fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Prints a line; a closed stdout or stderr must not stop the service.
fn print(line: lines::Line<'_>) {
    let _ = match line {
        lines::Line::Summary(text) => {
            say(format_args!("{text}"));
            Ok(())
        }
        lines::Line::Error(text) => writeln!(std::io::stderr().lock(), "{text}"),
    };
}
