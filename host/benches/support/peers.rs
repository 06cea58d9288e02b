//! What the side-by-side benches share: running a tool as a process and measuring it, and
//! the Python peers' virtual environment.

#![allow(dead_code)] // each bench uses its own part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What one run of one tool took.
pub struct Run {
    pub seconds: f64,
    pub peak_mib: f64,
}

/// Runs `cmd` to its end; its wall time and its own peak RSS (wait4's rusage, not this
/// process's). Fails on a non-zero exit, with its output.
pub fn measure(cmd: &mut Command) -> anyhow::Result<Run> {
    use std::os::unix::process::ExitStatusExt;
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    // Read its output on threads so a full pipe cannot stall it.
    let mut child = child;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let mut status = 0;
    // SAFETY: plain FFI; `usage` is written by the kernel before it is read.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(waited == pid, "wait4: {}", std::io::Error::last_os_error());
    let out = out.and_then(|t| t.join().ok()).unwrap_or_default();
    let err = err.and_then(|t| t.join().ok()).unwrap_or_default();
    let status = std::process::ExitStatus::from_raw(status);
    anyhow::ensure!(status.success(), "{cmd:?} failed ({status}):\n{out}\n{err}");
    Ok(Run {
        seconds,
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
    })
}

fn drain(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Bytes of the files under `path` (a store and its WAL, or a DuckDB file).
pub fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| size_of(&e.path())).sum())
        .unwrap_or(0)
}

/// The Python peers' virtual environment, made once and kept in the cache directory.
pub fn python_env() -> anyhow::Result<PathBuf> {
    let cache = std::env::var_os("WASYNC_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wasync")))
        .ok_or_else(|| anyhow::anyhow!("no WASYNC_CACHE_DIR or HOME for the peers' venv"))?;
    let venv = cache.join("bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        measure(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let ready = venv.join(".installed-dlt");
    if !ready.exists() {
        measure(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "dlt[duckdb,parquet]>=1,<2",
            "publicsuffixlist",
        ]))?;
        std::fs::write(&ready, "")?;
    }
    Ok(python)
}
