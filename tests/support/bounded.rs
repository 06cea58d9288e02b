//! A child process run under a hard time limit, with its peak memory watched: for tests of
//! commands that may never end (a plugin looping where the host does not stop it), so that
//! such a test fails with what it saw instead of hanging.

#![allow(dead_code)] // each test file uses its own part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Lines of stdout are kept up to this many bytes each (their full length is kept too), so a
/// command that prints hundreds of MiB does not fill the test's memory.
pub const LINE_KEPT: usize = 4096;

/// Stderr is kept up to this many bytes.
const STDERR_KEPT: usize = 64 << 10;

/// How a bounded run ended.
#[derive(Debug)]
pub struct Finished {
    /// The command as run, for messages.
    pub command: String,
    /// Its exit status; `None` when it was killed at the time limit.
    pub status: Option<ExitStatus>,
    /// Its stdout, line by line, each cut to [`LINE_KEPT`] bytes.
    pub lines: Vec<String>,
    /// The full length in bytes of each line of stdout (without the newline).
    pub line_lengths: Vec<usize>,
    /// The start of its stderr.
    pub stderr: String,
    /// From start to exit (or kill).
    pub elapsed: Duration,
    /// The largest `VmHWM` (peak resident memory) seen in `/proc/PID/status`, in bytes.
    pub peak_memory: u64,
    /// The time limit it ran under.
    pub limit: Duration,
}

impl Finished {
    /// The exit status; fails the test if the command had to be killed.
    pub fn ended(&self) -> ExitStatus {
        match self.status {
            Some(status) => status,
            None => panic!(
                "`{}` was still running after {:?} and was killed (a plugin was never \
                 stopped, or the host stalled); peak memory {} MiB\nstdout: {:?}\nstderr: {}",
                self.command,
                self.limit,
                self.peak_memory >> 20,
                self.lines,
                self.stderr
            ),
        }
    }

    /// Fails the test unless the command ended with success.
    pub fn succeeded(&self) -> &Self {
        let status = self.ended();
        assert!(
            status.success(),
            "`{}` failed ({status}):\n{}",
            self.command,
            self.stderr
        );
        self
    }

    /// Fails the test unless the command ended within `bound`.
    pub fn within(&self, bound: Duration) -> &Self {
        self.ended();
        assert!(
            self.elapsed <= bound,
            "`{}` took {:?}, more than {bound:?}\nstderr: {}",
            self.command,
            self.elapsed,
            self.stderr
        );
        self
    }

    /// Fails the test unless the command's peak resident memory stayed under `bound` bytes.
    pub fn peak_under(&self, bound: u64) -> &Self {
        assert!(
            self.peak_memory > 0,
            "`{}`: no peak memory was seen",
            self.command
        );
        assert!(
            self.peak_memory < bound,
            "`{}` peaked at {} MiB of memory, more than {} MiB",
            self.command,
            self.peak_memory >> 20,
            bound >> 20
        );
        self
    }

    /// Stdout's lines parsed as JSON (a line cut short is an error).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.lines
            .iter()
            .zip(&self.line_lengths)
            .map(|(line, &len)| {
                assert!(
                    len <= LINE_KEPT,
                    "a line of {len} bytes was cut; look at it with `line_lengths`"
                );
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("`{}` printed {line:?}: {e}", self.command))
            })
            .collect()
    }
}

/// Runs `command` with `stdin`, killing it after `limit`; watches its peak memory.
pub fn run(command: &mut Command, stdin: &str, limit: Duration) -> Finished {
    let described = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {described}: {e}"));
    let pid = child.id();
    let input = stdin.as_bytes().to_vec();
    let mut pipe_in = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        // The command may end (or be killed) before it read everything: not an error here.
        let _ = pipe_in.write_all(&input);
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || read_lines(stdout));
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stderr_pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let room = STDERR_KEPT.saturating_sub(kept.len());
            kept.extend_from_slice(&buffer[..n.min(room)]);
        }
        String::from_utf8_lossy(&kept).into_owned()
    });

    let mut peak_memory = 0;
    let status = loop {
        peak_memory = peak_memory.max(vm_hwm(pid));
        match child.try_wait().expect("wait for the child") {
            Some(status) => break Some(status),
            None if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let elapsed = started.elapsed();
    let _ = writer.join();
    let (lines, line_lengths) = reader.join().expect("the stdout reader");
    let stderr = errors.join().expect("the stderr reader");
    // Shown with a failing test's output.
    eprintln!(
        "{described}: {} after {elapsed:?}, peak memory {} MiB",
        status.map_or_else(|| "killed".to_owned(), |s| s.to_string()),
        peak_memory >> 20
    );
    Finished {
        command: described,
        status,
        lines,
        line_lengths,
        stderr,
        elapsed,
        peak_memory,
        limit,
    }
}

/// Reads lines to the end, keeping the start of each and its length.
fn read_lines(stdout: impl Read) -> (Vec<String>, Vec<usize>) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let (mut lines, mut lengths) = (Vec::new(), Vec::new());
    let mut kept = Vec::new();
    let mut length = 0usize;
    loop {
        let buffer = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buffer) => buffer,
        };
        let (chunk, line_ends) = match buffer.iter().position(|&b| b == b'\n') {
            Some(i) => (&buffer[..i], true),
            None => (buffer, false),
        };
        let room = LINE_KEPT.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        length += chunk.len();
        let used = chunk.len() + usize::from(line_ends);
        reader.consume(used);
        if line_ends {
            lines.push(String::from_utf8_lossy(&kept).into_owned());
            lengths.push(length);
            kept.clear();
            length = 0;
        }
    }
    if length > 0 {
        lines.push(String::from_utf8_lossy(&kept).into_owned());
        lengths.push(length);
    }
    (lines, lengths)
}

/// `VmHWM` of process `pid` in bytes, or 0 once it is gone.
pub fn vm_hwm(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib << 10)
}
