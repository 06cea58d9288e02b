//! Memory and CPU-time limits for plugin calls.

use std::time::Duration;
use wasmtime::ResourceLimiter;

/// Default memory cap per plugin instance. Enough for a Python or JavaScript component
/// (which carry an interpreter), small enough that a runaway plugin cannot hurt the host.
pub const DEFAULT_MEMORY: usize = 256 << 20;

/// Default CPU-time deadline per call. A batch of 10,000 values takes milliseconds; a call
/// still running after this is stuck.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Default cap on one value a plugin returns (a field value, a key, an id). Text fields in
/// the systems wasync syncs stay well under it (Salesforce's longest text area holds 131,072
/// characters); anything larger is a plugin gone wrong, and is refused before it is stored.
pub const DEFAULT_VALUE_BYTES: usize = 4 << 20;

/// Default cap on everything one call returns. A page of 2,000 records of a few KB each
/// fits many times over; past it the batch is split and retried in halves.
pub const DEFAULT_OUTPUT_BYTES: usize = 64 << 20;

/// How often the engine's epoch advances: the resolution of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A table past this many elements is a plugin gone wrong, not a real need.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap per instance, in bytes.
    pub memory: usize,
    /// CPU-time deadline per call.
    pub deadline: Duration,
    /// Largest value a call may return, in bytes.
    pub value_bytes: usize,
    /// Largest output of one call, in bytes (as counted by [`OutputSize`]).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: DEFAULT_MEMORY,
            deadline: DEFAULT_DEADLINE,
            value_bytes: DEFAULT_VALUE_BYTES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
        }
    }
}

impl Limits {
    /// The deadline in epoch ticks.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        ticks(self.deadline)
    }
}

/// `deadline` in epoch ticks, rounded up, at least one.
pub(crate) fn ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (deadline.as_nanos().div_ceil(tick) as u64).max(1)
}

/// Enforces [`Limits::memory`] and remembers when it said no, so that the trap that follows
/// can be reported as a memory overrun rather than a bare `unreachable`.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory: usize,
    pub(crate) refused: Option<usize>,
}

impl Limiter {
    pub(crate) fn new(memory: usize) -> Self {
        Limiter {
            memory,
            refused: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.refused = Some(desired);
            return Ok(false);
        }
        super::PLUGIN_MEMORY_GROWN.fetch_add(
            desired.saturating_sub(current) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
