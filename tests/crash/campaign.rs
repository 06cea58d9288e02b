//! The kill loop: `wasync sync` (until caught up) started, SIGKILLed at seeded moments,
//! restarted, and finally run to the end.
//!
//! Kill moments are drawn over the uninterrupted run's cycles, as a cycle and a time into
//! it, and aimed at the same point of the killed campaign's progress (the cycles it has
//! completed so far, as printed): a killed and restarted sync does not go at the
//! uninterrupted run's pace (on 20,000 records per source the JSON Lines one caught up in
//! less than half its cycle time, the stand-ins one in more), so moments in wall time alone
//! either crowd its start or fall after its end.

use crate::generate::Rng;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The seed: `WASYNC_CRASH_SEED` to replay one, else a new one from the clock.
pub fn seed() -> u64 {
    match std::env::var("WASYNC_CRASH_SEED") {
        Ok(text) => text.trim().parse().expect("WASYNC_CRASH_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_007)
            .unwrap_or(7),
    }
}

/// When one process of the campaign is killed: `into` after it began cycle `cycle` (counted
/// over the whole campaign from 0), or, with `write`, as soon as a stand-in applied a write
/// whose answer it holds back, if that comes first.
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    pub cycle: usize,
    pub into: Duration,
    pub write: bool,
}

/// Where a stand-in campaign can aim a kill: between a write applied and its answer.
pub trait Writes {
    /// Writes the stand-ins applied so far.
    fn applied(&self) -> u64;
    /// Holds back the answers of writes for `delay` (zero: answer at once).
    fn hold(&self, delay: Duration);
}

/// `kills` moments drawn evenly over the cycle time of `reference`, in order. With `writes`,
/// about a third of them fire instead at the first write applied. Draw more than are to land:
/// a restarted sync skips what was written before, and catches up before the last moments.
pub fn plan(seed: u64, kills: usize, reference: &Ran, writes: bool) -> Vec<Kill> {
    let mut rng = Rng(seed ^ 0x6b11_1e55);
    let cycles: Vec<u64> = match reference.cycles.is_empty() {
        true => vec![reference.wall.as_micros() as u64],
        false => reference
            .cycles
            .iter()
            .map(|c| c.as_micros() as u64)
            .collect(),
    };
    let total: u64 = cycles.iter().sum();
    let mut points: Vec<u64> = (0..kills)
        .map(|_| rng.below(total.max(1) as usize) as u64)
        .collect();
    points.sort_unstable();
    points
        .into_iter()
        .map(|mut p| {
            let mut cycle = 0;
            while cycle + 1 < cycles.len() && p >= cycles[cycle] {
                p -= cycles[cycle];
                cycle += 1;
            }
            Kill {
                cycle,
                into: Duration::from_micros(p),
                write: writes && rng.below(3) == 0,
            }
        })
        .collect()
}

/// `wasync sync --config CONFIG`, its output into `log` (appended).
fn start(config: &Path, log: &Path) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the run log");
    let err = out.try_clone().expect("clone the log file");
    Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(["sync", "--config"])
        .arg(config)
        .env("WASYNC_CACHE_DIR", crate::service::cache_dir())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("start wasync")
}

/// One run of `wasync sync` to the end.
#[derive(Debug, Clone)]
pub struct Ran {
    /// From start to exit.
    pub wall: Duration,
    /// Each cycle's time as it printed it.
    pub cycles: Vec<Duration>,
}

impl Ran {
    /// The time in cycles: the work, without starting up (or compiling plugins on a cold
    /// cache).
    pub fn work(&self) -> Duration {
        self.cycles.iter().sum::<Duration>().min(self.wall)
    }

    /// What starting up (and ending) cost.
    pub fn startup(&self) -> Duration {
        self.wall.saturating_sub(self.work())
    }
}

/// The times of the cycle lines in `text` (`cycle 3 of `accounts`: ... (103 ms)`).
fn cycle_times(text: &str) -> Vec<Duration> {
    text.lines()
        .filter(|l| l.starts_with("cycle "))
        .filter_map(|l| {
            let ms = l.rsplit_once('(')?.1.strip_suffix(" ms)")?;
            Some(Duration::from_secs_f64(ms.parse::<f64>().ok()? / 1e3))
        })
        .collect()
}

fn log_len(log: &Path) -> usize {
    std::fs::metadata(log)
        .map(|m| m.len() as usize)
        .unwrap_or(0)
}

fn log_since(log: &Path, from: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(text.get(from..).unwrap_or_default()).into_owned()
}

/// Runs `wasync sync` until caught up; fails the test if it does not succeed.
pub fn run_to_end(config: &Path, log: &Path) -> Ran {
    let before = log_len(log);
    let started = Instant::now();
    let status = start(config, log).wait().expect("wait for wasync");
    let wall = started.elapsed();
    let text = log_since(log, before);
    assert!(status.success(), "wasync sync failed ({status}): {text}");
    Ran {
        wall,
        cycles: cycle_times(&text),
    }
}

/// What a campaign did, for messages.
pub struct Outcome {
    /// One line per process.
    pub story: Vec<String>,
    /// Processes killed.
    pub landed: usize,
    /// Of them, between a write applied and its answer.
    pub after_write: usize,
    /// From the first start to the end of the last run.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} kill(s) landed ({} between a write applied and its answer) in {:.1} s:\n",
            self.landed,
            self.after_write,
            self.elapsed.as_secs_f64()
        );
        for line in &self.story {
            let _ = writeln!(s, "  {line}");
        }
        s
    }
}

/// How long a stand-in holds back a write's answer while a kill is aimed at it.
const HOLD: Duration = Duration::from_millis(300);

/// Runs the kill plan, then `wasync sync` to the end (which must succeed). `reference` is
/// the uninterrupted run whose cycles the plan was drawn over; `startup` what a start
/// costs before the first cycle begins, until a process shows it.
pub fn run(
    config: &Path,
    log: &Path,
    plan: &[Kill],
    reference: &Ran,
    mut startup: Duration,
    writes: Option<&dyn Writes>,
) -> Outcome {
    let started = Instant::now();
    let from = log_len(log);
    let done = || cycle_times(&log_since(log, from)).len();
    // The campaign's pace against the reference's, cycle for cycle: a kill `into` a cycle
    // is aimed that much later or sooner (the machine's load changes while tests run).
    let pace = || {
        let ours = cycle_times(&log_since(log, from));
        let n = ours.len().min(reference.cycles.len());
        let theirs: Duration = reference.cycles[..n].iter().sum();
        match theirs.is_zero() {
            true => 1.0,
            false => ours[..n].iter().sum::<Duration>().as_secs_f64() / theirs.as_secs_f64(),
        }
    };
    let mut story = Vec::new();
    let (mut landed, mut after_write) = (0, 0);
    for (i, kill) in plan.iter().enumerate() {
        let (at_start, from_here) = (done(), log_len(log));
        let into = kill.into.mul_f64(pace());
        let mut child = start(config, log);
        let since = Instant::now();
        let before = writes.map(|w| w.applied());
        if let (true, Some(w)) = (kill.write, writes) {
            w.hold(HOLD);
        }
        // When this process began the planned cycle: when it completed the cycles before it,
        // or, when the campaign had completed them already, once it started up.
        let mut began = None;
        let (mut wrote, mut learned, mut seen) = (false, false, from_here);
        let killed = wait_then_kill(&mut child, || {
            if kill.write {
                wrote = writes.zip(before).is_some_and(|(w, b)| w.applied() > b);
            }
            if log_len(log) != seen {
                seen = log_len(log);
                let mine = cycle_times(&log_since(log, from_here));
                // Its first cycle ended now and took what it printed: the rest was starting
                // up, which the next processes' aim uses.
                if let (false, Some(first)) = (learned, mine.first()) {
                    learned = true;
                    startup = since.elapsed().saturating_sub(*first);
                }
                if began.is_none() && kill.cycle > at_start && at_start + mine.len() >= kill.cycle {
                    began = Some(Instant::now());
                }
            }
            let began = match kill.cycle <= at_start {
                true => Some(since + startup),
                false => began,
            };
            wrote || (!kill.write && began.is_some_and(|b| Instant::now() >= b + into))
        });
        if let Some(w) = writes {
            w.hold(Duration::ZERO);
        }
        let ms = since.elapsed().as_millis();
        let aim = format!("cycle {} + {} ms", kill.cycle + 1, into.as_millis());
        match killed {
            Some(true) => {
                landed += 1;
                after_write += usize::from(wrote);
                let how = match wrote {
                    true => ", after a write was applied, before its answer",
                    false => "",
                };
                story.push(format!(
                    "run {}: aimed at {aim}: killed at {ms} ms{how}, {} cycle(s) done",
                    i + 1,
                    done()
                ));
            }
            Some(false) => {
                story.push(format!(
                    "run {}: aimed at {aim}: finished first ({ms} ms)",
                    i + 1
                ));
                break;
            }
            None => panic!(
                "wasync sync failed before its kill ({kill:?}): {}",
                log_since(log, from)
            ),
        }
    }
    let last = run_to_end(config, log);
    story.push(format!(
        "last run to the end: {} ms, {} cycle(s) in the campaign",
        last.wall.as_millis(),
        done()
    ));
    Outcome {
        story,
        landed,
        after_write,
        elapsed: started.elapsed(),
    }
}

/// Polls until `now` holds, then SIGKILLs the child: `Some(true)` when killed,
/// `Some(false)` when it ended well first, `None` when it failed.
fn wait_then_kill(child: &mut Child, mut now: impl FnMut() -> bool) -> Option<bool> {
    loop {
        if let Some(status) = child.try_wait().expect("poll wasync") {
            return status.success().then_some(false);
        }
        if now() {
            child.kill().expect("SIGKILL wasync");
            child.wait().expect("reap wasync");
            return Some(true);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
