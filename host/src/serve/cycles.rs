//! The service's cycle runner: one thread owns the engine and runs, between batches, the
//! micro-batches of changes received by webhook first, then every pipeline whose schedule is
//! due. One thread means two cycles of one pipeline never overlap, and a stop request is
//! honoured at the next batch boundary: the batch in flight finishes, nothing is cut off.

use super::Schedule;
use crate::engine::cycle::Options;
use crate::engine::{Engine, Report, now_micros};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// What wakes the runner before its next scheduled cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Changes were taken in by webhook.
    Received,
    /// Finish the batch in flight, then stop.
    Stop,
}

/// A pipeline's schedule and when its next cycle is due (micros).
struct Timer {
    schedule: Schedule,
    due: i64,
}

/// How often received changes that were saved long ago are forgotten.
const PRUNE_EVERY: i64 = 3_600_000_000;

/// The runner's wake-ups: a stop is noticed between batches; a `Received` noticed early is
/// remembered, so the runner does not then sleep on changes that wait.
struct Wakes {
    rx: Receiver<Wake>,
    received: bool,
}

impl Wakes {
    /// Whether a stop is waiting.
    fn stop(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(Wake::Stop) | Err(TryRecvError::Disconnected) => return true,
                Ok(Wake::Received) => self.received = true,
                Err(TryRecvError::Empty) => return false,
            }
        }
    }

    /// Sleeps until `wait` has passed or something arrives; true to stop.
    fn sleep(&mut self, wait: Duration) -> bool {
        if std::mem::take(&mut self.received) {
            return false;
        }
        match self.rx.recv_timeout(wait) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => true,
            Ok(Wake::Received) | Err(RecvTimeoutError::Timeout) => false,
        }
    }
}

/// After a micro-batch fails (a destination down, the store busy), how long until the next try.
const RETRY_RECEIVED: i64 = 1_000_000;

/// Runs cycles until told to stop; `show` gets each cycle's report.
pub fn run(
    mut engine: Engine,
    schedules: BTreeMap<String, Schedule>,
    remember: Duration,
    wakes: Receiver<Wake>,
    show: impl Fn(&Report),
) -> anyhow::Result<()> {
    let mut wakes = Wakes {
        rx: wakes,
        received: false,
    };
    let now = now_micros();
    let mut timers: BTreeMap<String, Timer> = schedules
        .into_iter()
        .map(|(name, schedule)| (name, Timer { schedule, due: now }))
        .collect();
    let mut retry_received: BTreeMap<String, i64> = BTreeMap::new();
    let mut pruned = 0;
    loop {
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
        for (name, timer) in timers.iter_mut().filter(|(_, t)| t.due <= now) {
            if wakes.stop() {
                return Ok(());
            }
            let began = now_micros();
            match engine.run_cycle(name, &Options::default()) {
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
