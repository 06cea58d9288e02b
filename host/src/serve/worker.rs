//! One pipeline's runner in `wasync serve`, on a thread of its own with a store connection of
//! its own: between batches it runs the micro-batches of changes received by webhook first,
//! then its scheduled cycle when due. One thread per pipeline means two cycles of one
//! pipeline never overlap, and a plugin stuck until its deadline holds up only its own
//! pipeline. A stop or a hot-load swap is honoured at the next batch boundary: the batch in
//! flight finishes on the version that started it.

use crate::config::Schedule;
use crate::engine::cycle::Options;
use crate::engine::{Pipeline, Report, run_cycle};
use crate::store::Store;
use crate::time::now_micros;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// Where a worker's cycle reports go (printed by the service).
pub type Show = Arc<dyn Fn(&Report) + Send + Sync>;

/// What a worker is told between batches.
pub enum Msg {
    /// Changes were taken in by webhook (maybe for this pipeline).
    Received,
    /// Run this from the next batch on.
    Swap(Box<Next>),
    /// Finish the batch in flight, then stop.
    Stop,
}

/// A new version of a worker's pipeline, from hot load.
pub struct Next {
    /// The pipeline, built with the new plugins or configuration.
    pub pipeline: Pipeline,
    /// A connection to the configured store.
    pub store: Store,
    /// A new schedule, when the pipeline file changed.
    pub schedule: Option<Schedule>,
}

/// After a micro-batch fails (a destination down, the store busy), how long until the next try.
const RETRY_RECEIVED: i64 = 1_000_000;

/// One pipeline, run until told to stop.
pub struct Worker {
    pipeline: Pipeline,
    store: Store,
    schedule: Schedule,
    /// When the next scheduled cycle is due (micros).
    due: i64,
    /// After a failed micro-batch: not before then (micros).
    retry_received: Option<i64>,
    rx: Receiver<Msg>,
    /// A `Received` noticed early, so the worker does not then sleep on changes that wait.
    received: bool,
    swap: Option<Box<Next>>,
    show: Show,
}

impl Worker {
    /// A worker for `pipeline`, its first scheduled cycle due now.
    pub fn new(
        pipeline: Pipeline,
        store: Store,
        schedule: Schedule,
        rx: Receiver<Msg>,
        show: Show,
    ) -> Worker {
        Worker {
            pipeline,
            store,
            schedule,
            due: now_micros(),
            retry_received: None,
            rx,
            received: false,
            swap: None,
            show,
        }
    }

    /// Runs batches until told to stop.
    pub fn run(mut self) {
        let name = self.pipeline.name.clone();
        'batches: loop {
            // A batch boundary: the last batch finished on the old version, the next starts
            // on the new one.
            if let Some(next) = self.swap.take() {
                let Next {
                    pipeline,
                    store,
                    schedule,
                } = *next;
                (self.pipeline, self.store) = (pipeline, store);
                if let Some(schedule) = schedule.filter(|s| *s != self.schedule) {
                    self.schedule = schedule;
                    self.due = now_micros();
                }
            }
            // Changes received by webhook go first: they are what someone is waiting for.
            if self.retry_received.is_none_or(|at| at <= now_micros()) {
                self.retry_received = None;
                loop {
                    match self.store.read().waiting_count(&name) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!("pipeline `{name}`: cannot read the intake: {e:#}");
                            self.retry_received = Some(now_micros() + RETRY_RECEIVED);
                            break;
                        }
                    }
                    if self.stop_asked() {
                        return;
                    }
                    if self.swap.is_some() {
                        continue 'batches;
                    }
                    let options = Options {
                        received: true,
                        ..Options::default()
                    };
                    match run_cycle(&self.pipeline, &mut self.store, &options) {
                        Ok(report) => (self.show)(&report),
                        Err(e) => {
                            tracing::error!("pipeline `{name}`: a micro-batch failed: {e:#}");
                            self.retry_received = Some(now_micros() + RETRY_RECEIVED);
                            break;
                        }
                    }
                }
            }
            if self.due <= now_micros() {
                if self.stop_asked() {
                    return;
                }
                if self.swap.is_some() {
                    continue 'batches;
                }
                let began = now_micros();
                // Catching up, the next batch comes at once: read it meanwhile.
                let options = Options {
                    read_ahead: true,
                    ..Options::default()
                };
                match run_cycle(&self.pipeline, &mut self.store, &options) {
                    Ok(report) => {
                        (self.show)(&report);
                        // More waiting upstream: the next batch comes at once, after the
                        // received changes have had their turn.
                        self.due = match report.more && report.errors.is_empty() {
                            true => began,
                            false => self.schedule.next(began, now_micros()),
                        };
                    }
                    Err(e) => {
                        tracing::error!("pipeline `{name}`: the cycle failed: {e:#}");
                        self.due = self.schedule.next(began, now_micros());
                    }
                }
            }
            let next = self.due.min(self.retry_received.unwrap_or(i64::MAX));
            let wait = (next - now_micros()).clamp(0, 3_600_000_000);
            if self.sleep(Duration::from_micros(wait as u64)) {
                return;
            }
        }
    }

    /// Takes one message in; true to stop.
    fn note(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Stop => return true,
            Msg::Received => self.received = true,
            Msg::Swap(next) => self.swap = Some(next),
        }
        false
    }

    /// Whether a stop is waiting (the coordinator gone counts as one).
    fn stop_asked(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(msg) => {
                    if self.note(msg) {
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
            Ok(msg) => self.note(msg),
            Err(RecvTimeoutError::Disconnected) => true,
            Err(RecvTimeoutError::Timeout) => false,
        }
    }
}
