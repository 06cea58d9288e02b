//! The service's cycle runner: a coordinator that gives each pipeline a [`Worker`] on a
//! thread of its own, tells them when changes arrive by webhook, builds what hot load hands
//! it and passes each pipeline its new version, and forgets old received changes. A plugin
//! stuck until its deadline in one pipeline holds up only that pipeline: the others, and
//! their webhook micro-batches, go on.

use super::worker::{Msg, Next, Show, Worker};
use crate::config::Config;
use crate::config::Schedule;
use crate::engine::{Engine, Pipeline, Plugins};
use crate::plugin::Runtime;
use crate::store::Store;
use crate::time::now_micros;
use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// What wakes the runner before its next scheduled cycle.
pub enum Wake {
    /// Changes were taken in by webhook.
    Received,
    /// A new configuration or plugin version, loaded and checked: swap it in between batches.
    Swap(Box<Swap>),
    /// Finish the batch in flight, then stop.
    Stop,
}

/// What hot load hands the runner: the configuration to run and every plugin it uses, the
/// changed ones already compiled and checked. The runner builds the pipelines from them and
/// answers whether that worked; if not, the running ones stay.
pub struct Swap {
    /// The configuration to run (the running one when only plugins changed).
    pub config: Config,
    /// Whether `config` is a new one (schedules are taken from it).
    pub config_changed: bool,
    /// Every plugin, by how the configuration names it.
    pub plugins: Plugins,
    /// `Ok` once swapped in, else why not.
    pub reply: Sender<Result<(), String>>,
}

/// How often received changes that were saved long ago are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A running worker: how to reach it, and its thread.
struct Handle {
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
}

/// The workers, by pipeline name, and what each needs to start.
struct Workers {
    running: BTreeMap<String, Handle>,
    /// Workers whose pipeline a new configuration dropped, finishing their last batch.
    retired: Vec<JoinHandle<()>>,
    store: std::path::PathBuf,
    show: Show,
}

impl Workers {
    /// Starts a worker for `pipeline`, with a store connection of its own.
    fn start(&mut self, pipeline: Pipeline, schedule: Schedule) -> anyhow::Result<()> {
        let name = pipeline.name.clone();
        let store = Store::open(&self.store)?;
        let (tx, rx) = mpsc::channel();
        let worker = Worker::new(pipeline, store, schedule, rx, self.show.clone());
        let thread = std::thread::Builder::new()
            .name(format!("wasync-{name}"))
            .spawn(move || worker.run())?;
        self.running.insert(name, Handle { tx, thread });
        Ok(())
    }

    fn tell_all(&self, msg: impl Fn() -> Msg) {
        for handle in self.running.values() {
            let _ = handle.tx.send(msg());
        }
    }

    /// Lets every worker finish its batch in flight, and waits for them.
    fn stop(self) {
        self.tell_all(|| Msg::Stop);
        let threads = self.running.into_values().map(|h| h.thread);
        for thread in threads.chain(self.retired) {
            if thread.join().is_err() {
                tracing::error!("a pipeline's runner panicked");
            }
        }
    }
}

/// Runs every pipeline of `engine` until told to stop; `show` gets each cycle's report.
/// Plugins of a swap are loaded on `runtime`'s engine.
pub fn run(
    engine: Engine,
    runtime: &Runtime,
    schedules: BTreeMap<String, Schedule>,
    remember: Duration,
    wakes: Receiver<Wake>,
    show: Show,
) -> anyhow::Result<()> {
    let (mut store, pipelines, _) = engine.into_parts();
    let mut workers = Workers {
        running: BTreeMap::new(),
        retired: Vec::new(),
        store: store.path().to_owned(),
        show,
    };
    let mut schedules = schedules;
    for pipeline in pipelines {
        let schedule = schedules.get(&pipeline.name).cloned().unwrap_or_default();
        if let Err(e) = workers.start(pipeline, schedule) {
            workers.stop();
            return Err(e);
        }
    }
    // When received changes were last forgotten: never yet, so at once.
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        if pruned.is_none_or(|p| p.elapsed() >= PRUNE_EVERY) {
            let before = now_micros() - remember.as_micros() as i64;
            match store.transaction(|tx| tx.prune_intake(before)) {
                Ok(forgotten) => {
                    tracing::debug!("forgot {forgotten} received changes saved before {before}")
                }
                Err(e) => tracing::warn!("cannot forget old received changes: {e}"),
            }
            pruned = Some(std::time::Instant::now());
        }
        let next_prune = pruned.map_or(Duration::ZERO, |p| PRUNE_EVERY.saturating_sub(p.elapsed()));
        match wakes.recv_timeout(next_prune) {
            Ok(Wake::Received) => workers.tell_all(|| Msg::Received),
            Ok(Wake::Swap(next)) => {
                let reply = next.reply.clone();
                let _ = reply.send(swap(
                    &mut workers,
                    runtime,
                    &mut schedules,
                    &mut store,
                    *next,
                ));
            }
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    workers.stop();
    Ok(())
}

/// Builds the pipelines of a swap and, if that works, hands each worker its new pipeline
/// (taken at its next batch boundary), starts workers for new pipelines and retires those of
/// pipelines the configuration dropped. With a new configuration, its schedules too (a
/// pipeline whose schedule is unchanged keeps its next due time; a new one is due now). If
/// building fails, the running pipelines stay and the answer says why.
fn swap(
    workers: &mut Workers,
    runtime: &Runtime,
    schedules: &mut BTreeMap<String, Schedule>,
    store: &mut Store,
    swap: Swap,
) -> Result<(), String> {
    let built =
        Engine::open_with(&swap.config, runtime, swap.plugins).map_err(|e| format!("{e:#}"))?;
    let new_schedules = match swap.config_changed {
        true => Some(super::schedules(&swap.config).map_err(|e| format!("{e:#}"))?),
        false => None,
    };
    let (built_store, pipelines, _) = built.into_parts();
    // Each worker gets a connection to the configured store with its new pipeline.
    let open = |name: &str| {
        Store::open(built_store.path()).map_err(|e| format!("pipeline `{name}`: {e:#}"))
    };
    let connections = pipelines
        .iter()
        .map(|p| open(&p.name))
        .collect::<Result<Vec<_>, _>>()?;
    workers.store = built_store.path().to_owned();
    *store = built_store;
    if let Some(new) = new_schedules {
        *schedules = new;
    }
    let mut kept = Vec::new();
    for (pipeline, connection) in pipelines.into_iter().zip(connections) {
        let name = pipeline.name.clone();
        kept.push(name.clone());
        let schedule = schedules.get(&name).cloned().unwrap_or_default();
        match workers.running.get(&name) {
            Some(handle) => {
                let _ = handle.tx.send(Msg::Swap(Box::new(Next {
                    pipeline,
                    store: connection,
                    schedule: swap.config_changed.then_some(schedule),
                })));
            }
            None => workers
                .start(pipeline, schedule)
                .map_err(|e| format!("pipeline `{name}`: cannot start: {e:#}"))?,
        }
    }
    let dropped: Vec<String> = workers
        .running
        .keys()
        .filter(|name| !kept.contains(name))
        .cloned()
        .collect();
    for name in dropped {
        if let Some(handle) = workers.running.remove(&name) {
            let _ = handle.tx.send(Msg::Stop);
            workers.retired.push(handle.thread);
        }
    }
    Ok(())
}
