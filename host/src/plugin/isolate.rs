//! Taking a failed batch apart: when a batch call fails as a whole, the items that make the
//! plugin fail are found, so that only those are lost to it.

use super::error::CallError;
use super::instance::{Bindings, Instance};
use crate::wit::Error as PluginErrorValue;
use std::time::{Duration, Instant};

/// What became of one value given to [`Transformer::apply_each`](super::Transformer::apply_each).
#[derive(Debug)]
pub enum Failure {
    /// The plugin refused this value (its own error value).
    Rejected(PluginErrorValue),
    /// The call failed as a whole while this value was in it alone.
    Crashed(CallError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Rejected(error) => crate::value::describe(error).fmt(f),
            Failure::Crashed(error) => error.fmt(f),
        }
    }
}

/// The shortest deadline a value tried on its own gets: two epoch ticks, so that a call
/// always runs at least one whole tick before it can be stopped.
const MIN_ITEM_DEADLINE: Duration = Duration::from_millis(20);

impl<B: Bindings> Instance<B> {
    /// Calls a batch function; when the call fails as a whole, finds the items that make the
    /// plugin fail, so that only those are lost to it. One result per item, in order.
    ///
    /// A batch that failed fast (a trap, a memory or output limit) is taken apart in halves,
    /// each with the full deadline: a few bad items among thousands cost a few calls each.
    /// A batch (or half) that ran past its deadline is tried item by item, each with the
    /// batch's deadline divided among its items (at least [`MIN_ITEM_DEADLINE`]), and all of
    /// them together with one more deadline as their budget. So finding what ran away costs
    /// about one more deadline, never a deadline per item (a batch that failed fast may also
    /// spend one deadline on the first half that runs away); items still untried when the
    /// budget is spent fail with the error of the part they were in.
    pub fn isolate<I, O>(
        &mut self,
        items: &[I],
        mut call: impl FnMut(&mut Self, &[I]) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) -> Vec<Result<O, Failure>> {
        if items.is_empty() {
            return Vec::new();
        }
        let full = self.limits().deadline;
        self.deadline = full;
        let error = match call(self, items) {
            Ok(results) => return rejected(results),
            Err(error) if items.len() == 1 => return vec![Err(Failure::Crashed(error))],
            Err(error) => error,
        };
        let mut out: Vec<Option<Result<O, Failure>>> = items.iter().map(|_| None).collect();
        let ran_past = matches!(error, CallError::Deadline { .. });
        let mut parts = Parts {
            full,
            per_item: (full / items.len() as u32).max(MIN_ITEM_DEADLINE),
            budget: full,
            spare_deadline: !ran_past,
            out: &mut out,
        };
        match ran_past {
            true => parts.one_by_one(self, items, 0, &error, &mut call),
            false => parts.halve(self, items, 0, error, &mut call),
        }
        self.deadline = full;
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Failure::Rejected(no_result()))))
            .collect()
    }
}

/// A failed batch being taken apart: where its results go, and the time it may still spend
/// on items that run past their deadline.
struct Parts<'a, O> {
    /// The batch's deadline.
    full: Duration,
    /// The deadline of an item tried on its own.
    per_item: Duration,
    /// What items tried on their own (and halves after the first that ran past its
    /// deadline) may still spend.
    budget: Duration,
    /// Whether a half may still run for the full deadline without spending the budget: the
    /// batch failed fast, so no deadline has been spent on it yet.
    spare_deadline: bool,
    out: &'a mut [Option<Result<O, Failure>>],
}

impl<O> Parts<'_, O> {
    /// `items` (at `offset` in the batch) failed fast together with `error`: tries each half
    /// on its own, with the full deadline.
    fn halve<B: Bindings, I>(
        &mut self,
        instance: &mut Instance<B>,
        items: &[I],
        offset: usize,
        error: CallError,
        call: &mut impl FnMut(
            &mut Instance<B>,
            &[I],
        ) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) {
        if items.len() == 1 {
            self.out[offset] = Some(Err(Failure::Crashed(error)));
            return;
        }
        let (left, right) = items.split_at(items.len() / 2);
        for (part, at) in [(left, offset), (right, offset + left.len())] {
            instance.deadline = match self.spare_deadline {
                true => self.full,
                false if self.budget < MIN_ITEM_DEADLINE => {
                    self.untried(at, part.len(), &error);
                    continue;
                }
                false => self.full.min(self.budget),
            };
            let started = Instant::now();
            match call(instance, part) {
                Ok(results) => self.fill(at, results),
                Err(e @ CallError::Deadline { .. }) => {
                    match std::mem::take(&mut self.spare_deadline) {
                        true => {}
                        false => self.spend(started, instance.deadline),
                    }
                    match part.len() {
                        1 => self.out[at] = Some(Err(Failure::Crashed(e))),
                        _ => self.one_by_one(instance, part, at, &e, call),
                    }
                }
                Err(e) => self.halve(instance, part, at, e, call),
            }
        }
    }

    /// `items` (at `offset` in the batch) ran past their deadline together with `error`:
    /// tries each on its own with a short deadline, while the budget lasts.
    fn one_by_one<B: Bindings, I>(
        &mut self,
        instance: &mut Instance<B>,
        items: &[I],
        offset: usize,
        error: &CallError,
        call: &mut impl FnMut(
            &mut Instance<B>,
            &[I],
        ) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
    ) {
        for (i, item) in items.iter().enumerate() {
            let at = offset + i;
            if self.budget < MIN_ITEM_DEADLINE {
                self.untried(at, 1, error);
                continue;
            }
            instance.deadline = self.per_item.min(self.budget);
            let started = Instant::now();
            let result = call(instance, std::slice::from_ref(item));
            self.spend(started, instance.deadline);
            match result {
                Ok(results) => self.fill(at, results),
                Err(e) => self.out[at] = Some(Err(Failure::Crashed(e))),
            }
        }
    }

    /// Takes what a call that started at `started` under `deadline` spent from the budget:
    /// at most its deadline, so the instance made anew after it is not counted.
    fn spend(&mut self, started: Instant, deadline: Duration) {
        let spent = started.elapsed().min(deadline);
        self.budget = self.budget.saturating_sub(spent);
    }

    /// `len` items at `at` that the budget left no time to try: they fail with the error
    /// of the part they were in.
    fn untried(&mut self, at: usize, len: usize, error: &CallError) {
        for slot in &mut self.out[at..at + len] {
            *slot = Some(Err(Failure::Crashed(error.clone())));
        }
    }

    fn fill(&mut self, at: usize, results: Vec<Result<O, PluginErrorValue>>) {
        for (slot, result) in self.out[at..].iter_mut().zip(rejected(results)) {
            *slot = Some(result);
        }
    }
}

/// A batch's results, with the plugin's own errors as [`Failure::Rejected`].
fn rejected<O>(results: Vec<Result<O, PluginErrorValue>>) -> Vec<Result<O, Failure>> {
    results
        .into_iter()
        .map(|r| r.map_err(Failure::Rejected))
        .collect()
}

fn no_result() -> PluginErrorValue {
    PluginErrorValue::Other("no result".into())
}
