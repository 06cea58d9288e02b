//! The `wasync` binary as the end-to-end tests run it, and the copies of folders they run it
//! in. Each test adds its own arguments and variables at the call site; a variable set there
//! again (a suite's own compile cache) replaces the one set here.

#![allow(dead_code)] // each test file uses its own part of it

use std::path::{Path, PathBuf};
use std::process::Command;

/// The compile cache the tests' commands share: `$WASYNC_CACHE_DIR` when it is set (CI keeps
/// one across runs, see `.ci/run`), else one in the test build's scratch folder; never the
/// user's own.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("WASYNC_CACHE_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("components"),
            PathBuf::from,
        )
}

/// `wasync`, with the environment every test needs: the tests' compile cache, and none of the
/// other `WASYNC_*` settings of whoever runs the tests (a registry, a log level, an injected
/// abort, an SDK folder), which would change what the binary does.
pub fn wasync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasync"));
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("WASYNC_")) {
            command.env_remove(&name);
        }
    }
    command.env("WASYNC_CACHE_DIR", cache_dir());
    command
}

/// A private copy of `examples/NAME`, without the store a run in the checkout may have left.
pub fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    copy_dir(&from, dir.path());
    for file in ["wasync.db", "wasync.db-wal", "wasync.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    dir
}

/// Copies the folder tree `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
