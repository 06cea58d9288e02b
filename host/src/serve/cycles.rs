//! The service's cycle runner: one thread owns the engine and runs, between batches, the
//! micro-batches of changes received by webhook first, then every pipeline whose schedule is
//! due. One thread means two cycles of one pipeline never overlap, and a stop request or a
//! hot-load swap is honoured at the next batch boundary: the batch in flight finishes on the
//! version that started it, nothing is cut off.

use super::Schedule;
use crate::config::Config;
use crate::engine::cycle::Options;
use crate::engine::{Engine, Plugins, Report, now_micros};
use crate::plugin::Runtime;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
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

/// A pipeline's schedule and when its next cycle is due (micros).
struct Timer {
    schedule: Schedule,
    due: i64,
}

/// How often received changes that were saved long ago are forgotten.
const PRUNE_EVERY: i64 = 3_600_000_000;

/// The runner's wake-ups: a stop is noticed between batches; a `Received` noticed early is
/// remembered, so the runner does not then sleep on changes that wait; a swap waits for the
/// next batch boundary.
struct Wakes {
    rx: Receiver<Wake>,
    received: bool,
    swap: Option<Box<Swap>>,
}

impl Wakes {
    fn note(&mut self, wake: Wake) -> bool {
        match wake {
            Wake::Stop => return true,
            Wake::Received => self.received = true,
            Wake::Swap(swap) => {
                if let Some(old) = self.swap.replace(swap) {
                    let _ = old.reply.send(Err("superseded by a newer reload".into()));
                }
            }
        }
        false
    }

    /// Whether a stop is waiting.
    fn stop(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(wake) => {
                    if self.note(wake) {
                        return true;
                    }
                }
                Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => return false,
            }
        }
    }

    /// Sleeps until `wait` has passed or something arrives; true to stop.
    fn sleep(&mut self, wait: Duration) -> bool {
        if std::mem::take(&mut self.received) || self.swap.is_some() {
            return false;
        }
        match self.rx.recv_timeout(wait) {
            Ok(wake) => self.note(wake),
            Err(RecvTimeoutError::Disconnected) => true,
            Err(RecvTimeoutError::Timeout) => false,
        }
    }
}

/// After a micro-batch fails (a destination down, the store busy), how long until the next try.
const RETRY_RECEIVED: i64 = 1_000_000;

/// Runs cycles until told to stop; `show` gets each cycle's report. Plugins of a swap are
/// loaded on `runtime`'s engine.
pub fn run(
    mut engine: Engine,
    runtime: &Runtime,
    schedules: BTreeMap<String, Schedule>,
    remember: Duration,
    wakes: Receiver<Wake>,
    show: impl Fn(&Report),
) -> anyhow::Result<()> {
    let mut wakes = Wakes {
        rx: wakes,
        received: false,
        swap: None,
    };
    let now = now_micros();
    let mut timers: BTreeMap<String, Timer> = schedules
        .into_iter()
        .map(|(name, schedule)| (name, Timer { schedule, due: now }))
        .collect();
    let mut retry_received: BTreeMap<String, i64> = BTreeMap::new();
    let mut pruned = 0;
    'batches: loop {
        // A batch boundary: the last batch finished on the old version, the next starts on
        // the new one.
        if let Some(next) = wakes.swap.take() {
            swap(&mut engine, runtime, &mut timers, *next);
        }
        // Changes received by webhook go first: they are what someone is waiting for.
        for name in engine.pipeline_names() {
            match retry_received.get(&name) {
                Some(at) if *at > now_micros() => continue,
                Some(_) => drop(retry_received.remove(&name)),
                None => {}
            }
            while engine.store().read().waiting_count(&name)? > 0 {
                if wakes.stop() {
                    return Ok(());
                }
                if wakes.swap.is_some() {
                    continue 'batches;
                }
                let options = Options {
                    received: true,
                    ..Options::default()
                };
                match engine.run_cycle(&name, &options) {
                    Ok(report) => show(&report),
                    Err(e) => {
                        tracing::error!("pipeline `{name}`: a micro-batch failed: {e:#}");
                        retry_received.insert(name.clone(), now_micros() + RETRY_RECEIVED);
                        break;
                    }
                }
            }
        }
        let now = now_micros();
        let due: Vec<String> = timers
            .iter()
            .filter(|(_, t)| t.due <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            if wakes.stop() {
                return Ok(());
            }
            if wakes.swap.is_some() {
                continue 'batches;
            }
            let began = now_micros();
            let result = engine.run_cycle(&name, &Options::default());
            let Some(timer) = timers.get_mut(&name) else {
                continue;
            };
            match result {
                Ok(report) => {
                    show(&report);
                    // More waiting upstream: the next batch comes at once, after the
                    // received changes have had their turn.
                    timer.due = match report.more && report.errors.is_empty() {
                        true => began,
                        false => timer.schedule.next(began, now_micros()),
                    };
                }
                Err(e) => {
                    tracing::error!("pipeline `{name}`: the cycle failed: {e:#}");
                    timer.due = timer.schedule.next(began, now_micros());
                }
            }
        }
        if now - pruned > PRUNE_EVERY {
            let before = now - remember.as_micros() as i64;
            let forgotten = engine.prune_received(before)?;
            tracing::debug!("forgot {forgotten} received changes saved before {before}");
            pruned = now;
        }
        let next = timers
            .values()
            .map(|t| t.due)
            .chain(retry_received.values().copied())
            .min()
            .unwrap_or(i64::MAX);
        let wait = (next - now_micros()).clamp(0, 3_600_000_000);
        if wakes.sleep(Duration::from_micros(wait as u64)) {
            return Ok(());
        }
    }
}

/// Builds the pipelines of a swap and, if that works, puts them in the old ones' place;
/// with a new configuration, its schedules too (a pipeline whose schedule is unchanged keeps
/// its next due time; a new one is due now). The answer goes back to the watcher.
fn swap(engine: &mut Engine, runtime: &Runtime, timers: &mut BTreeMap<String, Timer>, swap: Swap) {
    let built = Engine::open_with(&swap.config, runtime, swap.plugins)
        .map_err(|e| format!("{e:#}"))
        .and_then(|built| match swap.config_changed {
            true => super::schedules(&swap.config)
                .map(|s| (built, Some(s)))
                .map_err(|e| format!("{e:#}")),
            false => Ok((built, None)),
        });
    let answer = built.map(|(built, schedules)| {
        *engine = built;
        if let Some(schedules) = schedules {
            let now = now_micros();
            let mut old = std::mem::take(timers);
            for (name, schedule) in schedules {
                let due = match old.remove(&name) {
                    Some(t) if t.schedule == schedule => t.due,
                    _ => now,
                };
                timers.insert(name, Timer { schedule, due });
            }
        }
    });
    let _ = swap.reply.send(answer);
}
