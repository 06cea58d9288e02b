//! The kill loop: `wasync sync` (until caught up) started, SIGKILLed at seeded moments,
//! restarted, and finally run to the end.

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

/// When one process of the campaign is killed.
#[derive(Debug, Clone, Copy)]
pub enum Kill {
    /// This long after it started.
    At(Duration),
    /// As soon as a stand-in has applied a write whose answer it holds back, or after this
    /// long if none came.
    AfterWrite(Duration),
}

/// Where a stand-in campaign can aim a kill: between a write applied and its answer.
pub trait Writes {
    /// Writes the stand-ins applied so far.
    fn applied(&self) -> u64;
    /// Holds back the answers of writes for `delay` (zero: answer at once).
    fn hold(&self, delay: Duration);
}

/// How much of the uninterrupted run's cycle time the kill moments are spread over: a
/// killed and restarted sync was seen to catch up in about two thirds of it (measured on
/// 20,000 records per source), so spread over all of it, a third of the kills would come
/// after the end.
const PACE: f64 = 0.6;

/// `kills` kill moments spread over a run of `duration`: sorted points in it, each process
/// killed `startup` plus the gap to the previous point after it started. With `writes`,
/// about a third of the kills come as soon as a write is applied instead (by that moment).
pub fn plan(
    seed: u64,
    kills: usize,
    duration: Duration,
    startup: Duration,
    writes: bool,
) -> Vec<Kill> {
    let mut rng = Rng(seed ^ 0x6b11_1e55);
    let span = (duration.as_micros() as f64 * PACE).max(1.0) as usize;
    let mut points: Vec<usize> = (0..kills).map(|_| rng.below(span)).collect();
    points.sort_unstable();
    let mut last = 0;
    points
        .into_iter()
        .map(|p| {
            let at = startup + Duration::from_micros((p - last) as u64);
            last = p;
            match writes && rng.below(3) == 0 {
                true => Kill::AfterWrite(at),
                false => Kill::At(at),
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
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// From start to exit.
    pub wall: Duration,
    /// The sum of its cycles' times as it printed them: the work, without starting up (and
    /// without compiling plugins on a cold cache), which kill moments are spread over.
    pub work: Duration,
}

impl Ran {
    /// What starting up cost.
    pub fn startup(&self) -> Duration {
        self.wall.saturating_sub(self.work)
    }
}

/// Runs `wasync sync` until caught up; fails the test if it does not succeed.
pub fn run_to_end(config: &Path, log: &Path) -> Ran {
    let before = std::fs::metadata(log)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let started = Instant::now();
    let status = start(config, log).wait().expect("wait for wasync");
    let wall = started.elapsed();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(status.success(), "wasync sync failed ({status}): {text}");
    let work = text
        .get(before..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cycle "))
        .filter_map(|l| {
            l.rsplit_once('(')?
                .1
                .strip_suffix(" ms)")?
                .parse::<f64>()
                .ok()
        })
        .sum::<f64>();
    Ran {
        wall,
        work: Duration::from_secs_f64(work / 1e3).min(wall),
    }
}

/// What a campaign did, for messages.
pub struct Outcome {
    /// One line per process.
    pub story: Vec<String>,
    /// Processes killed.
    pub landed: usize,
    /// From the first start to the end of the last run.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} kill(s) landed in {:.1} s:\n",
            self.landed,
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

/// Runs the kill plan, then `wasync sync` to the end (which must succeed).
pub fn run(config: &Path, log: &Path, plan: &[Kill], writes: Option<&dyn Writes>) -> Outcome {
    let started = Instant::now();
    let mut story = Vec::new();
    let mut landed = 0;
    for (i, kill) in plan.iter().enumerate() {
        let mut child = start(config, log);
        let since = Instant::now();
        let mut wrote = false;
        let killed = match (kill, writes) {
            (Kill::At(at), _) => wait_then_kill(&mut child, || since.elapsed() >= *at),
            (Kill::AfterWrite(by), Some(w)) => {
                let before = w.applied();
                w.hold(HOLD);
                let killed = wait_then_kill(&mut child, || {
                    wrote = w.applied() > before;
                    wrote || since.elapsed() >= *by
                });
                w.hold(Duration::ZERO);
                killed
            }
            (Kill::AfterWrite(_), None) => panic!("a write kill needs stand-ins"),
        };
        let ms = since.elapsed().as_millis();
        match killed {
            Some(true) => {
                landed += 1;
                let how = match wrote {
                    true => "after a write was applied, before its answer",
                    false => "",
                };
                story.push(format!("run {}: {kill:?}: killed at {ms} ms {how}", i + 1));
            }
            Some(false) => {
                story.push(format!("run {}: {kill:?}: finished first ({ms} ms)", i + 1));
                break;
            }
            None => panic!(
                "wasync sync failed before its kill ({kill:?}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
    let last = run_to_end(config, log);
    story.push(format!("last run to the end: {} ms", last.wall.as_millis()));
    Outcome {
        story,
        landed,
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
