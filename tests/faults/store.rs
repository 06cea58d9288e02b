//! The store's disk filling up, and the store on a read-only volume.
//!
//! A full disk is a file size limit (`RLIMIT_FSIZE`, set with `prlimit`): a write past it
//! fails with `EFBIG` as a write to a full disk fails with `ENOSPC`, without privileges or
//! a file system of its own. A read-only volume is a store its runner cannot write: as root
//! (whom permissions do not stop) the run is made as `nobody` with `setpriv`.

use super::{
    Accounts, assert_no_panic, assert_same_state, cache_dir, quarantine, run, wasync, whole_lines,
};
use crate::bounded::Finished;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// An undisturbed run: the copy synced in one go.
fn undisturbed() -> Accounts {
    let accounts = Accounts::new();
    accounts.sync().succeeded();
    accounts
}

/// `wasync sync` with every file it writes limited to `bytes`.
fn sync_limited(accounts: &Accounts, bytes: u64) -> Finished {
    let limit = format!("--fsize={bytes}:{bytes}");
    let mut command = Command::new("prlimit");
    command
        .args([
            &limit,
            "--",
            env!("CARGO_BIN_EXE_wasync"),
            "sync",
            "--config",
        ])
        .arg(accounts.config())
        .env("WASYNC_CACHE_DIR", cache_dir());
    run(&mut command)
}

#[test]
fn a_store_at_a_file_size_limit_fails_clearly_and_a_rerun_ends_as_an_undisturbed_run() {
    let undisturbed = undisturbed();
    let want = undisturbed.state();
    // From a limit the first cycle meets to ones later cycles meet: below a third and two
    // thirds of the store an undisturbed run leaves.
    let full = std::fs::metadata(undisturbed.store())
        .expect("the store")
        .len();
    for limit in [40 << 10, full / 3, full * 2 / 3] {
        let accounts = Accounts::new();
        let out = sync_limited(&accounts, limit);
        assert_no_panic(&out);
        assert_eq!(
            out.ended().code(),
            Some(1),
            "limit {limit}: an error and exit 1, not a signal: {}",
            out.stderr
        );
        let store = accounts.store().display().to_string();
        assert!(
            out.stderr.contains(&format!("store {store}: "))
                && out.stderr.contains("file size limit"),
            "limit {limit}: the error names the store and says the limit is reached: {}",
            out.stderr
        );
        // No half-written line in either file, whatever had been written before the stop.
        for (system, name) in [
            ("salesforce", "Account.jsonl"),
            ("hubspot", "companies.jsonl"),
        ] {
            whole_lines(&accounts.file(system, name));
        }
        accounts.sync().succeeded();
        let got = accounts.state();
        assert_same_state(&got.0, &want.0, &format!("limit {limit}: Salesforce side"));
        assert_same_state(&got.1, &want.1, &format!("limit {limit}: HubSpot side"));
        assert!(
            quarantine(&accounts.config()).is_empty(),
            "limit {limit}: nothing set aside"
        );
    }
}

/// Whether this test runs as root, whom file permissions do not stop.
fn is_root(dir: &Path) -> bool {
    let probe = dir.join(".owner");
    std::fs::write(&probe, "").expect("write probe");
    let uid = std::fs::metadata(&probe).expect("stat probe").uid();
    let _ = std::fs::remove_file(probe);
    uid == 0
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Runs `wasync sync` as a user who can read the copy and write its JSON Lines files but
/// not the store's folder or files: as `nobody` when the test runs as root (with a copy of
/// the binary and of the compile cache that `nobody` can reach), else as the test's user.
struct ReadOnlyStore {
    /// The binary and compile cache `nobody` runs with, when the test runs as root.
    nobody: Option<(tempfile::TempDir, PathBuf, PathBuf)>,
}

impl ReadOnlyStore {
    fn new(accounts: &Accounts) -> ReadOnlyStore {
        let root = accounts.dir.path();
        let nobody = is_root(root).then(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            chmod(dir.path(), 0o755);
            let bin = dir.path().join("wasync");
            std::fs::copy(env!("CARGO_BIN_EXE_wasync"), &bin).expect("copy the binary");
            let cache = dir.path().join("components");
            super::cli::copy_dir(&cache_dir(), &cache);
            chmod(&cache, 0o777);
            (dir, bin, cache)
        });
        for data in ["data", "data/salesforce", "data/hubspot"] {
            chmod(&root.join(data), 0o777);
        }
        for file in [
            ("salesforce", "Account.jsonl"),
            ("hubspot", "companies.jsonl"),
        ] {
            chmod(&accounts.file(file.0, file.1), 0o666);
        }
        for entry in std::fs::read_dir(root).expect("list") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("wasync.db"))
            {
                chmod(&path, 0o444);
            }
        }
        chmod(root, 0o555);
        ReadOnlyStore { nobody }
    }

    fn sync(&self, accounts: &Accounts) -> Finished {
        let mut command = match &self.nobody {
            Some((_, bin, cache)) => {
                let mut command = Command::new("setpriv");
                command
                    .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                    .arg(bin)
                    .env("WASYNC_CACHE_DIR", cache);
                command
            }
            None => wasync(),
        };
        run(command.args(["sync", "--config"]).arg(accounts.config()))
    }

    /// Gives the folder back to its owner.
    fn lift(accounts: &Accounts) {
        chmod(accounts.dir.path(), 0o755);
    }
}

/// A failed run on a read-only store: exit 1, the error names the store and says `says`,
/// and neither JSON Lines file changed.
fn fails_read_only(accounts: &Accounts, says: &str) {
    let before = accounts.bytes();
    let read_only = ReadOnlyStore::new(accounts);
    let out = read_only.sync(accounts);
    ReadOnlyStore::lift(accounts);
    assert_no_panic(&out);
    assert_eq!(out.ended().code(), Some(1), "{}", out.stderr);
    let store = accounts.store().display().to_string();
    assert!(
        out.stderr.contains(&format!("store {store}: ")) && out.stderr.contains(says),
        "the error names the store and says {says:?}: {}",
        out.stderr
    );
    assert!(
        accounts.bytes() == before,
        "nothing written to the JSON Lines files"
    );
}

#[test]
fn a_store_on_a_read_only_volume_fails_clearly_changes_nothing_and_a_rerun_catches_up() {
    // No store yet, and its folder cannot be written: it cannot be made.
    let fresh = Accounts::new();
    fails_read_only(&fresh, "its folder must exist and be writable by this user");

    // A store in use, then new records upstream and the store read-only.
    let accounts = Accounts::new();
    accounts.sync().succeeded();
    accounts.add(150, 200);
    fails_read_only(&accounts, "the store cannot be written");

    // Writable again, each ends where an undisturbed run with the same records does.
    let plain = undisturbed();
    let more = undisturbed();
    more.add(150, 200);
    more.sync().succeeded();
    for (copy, want) in [(&fresh, &plain), (&accounts, &more)] {
        copy.sync().succeeded();
        let (got, want) = (copy.state(), want.state());
        assert_same_state(&got.0, &want.0, "Salesforce side");
        assert_same_state(&got.1, &want.1, "HubSpot side");
    }
}
