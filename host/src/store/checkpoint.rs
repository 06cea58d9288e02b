//! Checkpoints on a thread of their own. In WAL mode every page a transaction writes goes to
//! the log first and is copied into the database by a checkpoint; SQLite runs one in the
//! committing connection once the log passes 1,000 pages, so the cycle waited for it: about
//! a tenth of a load. Here a connection of the store's own copies the log after each commit
//! while the cycle goes on (a passive checkpoint: it never blocks the writer), on the second
//! core. A checkpoint cut off, by a kill or the process ending, is safe: the log stays whole
//! until the next one.

use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Pages of log past which the committing connection checkpoints after all, should the
/// thread fall behind (SQLite's default is 1,000: a load's every commit passed it). The log
/// file is cut back to about this size when it starts over.
const BACKSTOP_PAGES: i64 = 16_384;

/// Asks the checkpoint thread for a checkpoint; dropped, it waits for the thread to end, so
/// that the store's last connection closes and leaves no log behind.
pub struct Checkpoints {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpoints {
    /// Starts the thread for the store at `path`, and turns off the committing connection's
    /// own checkpoints (`writer`). `None`, with the writer's checkpoints left on, when the
    /// thread or its connection cannot be had.
    pub fn start(path: &Path, writer: &Connection) -> Option<Checkpoints> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::BUSY_TIMEOUT).ok()?;
        let (nudge, nudged) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("wasync-checkpoint".into())
            .spawn(move || run(&conn, &nudged))
            .ok()?;
        let checkpoints = Checkpoints {
            nudge: Some(nudge),
            thread: Some(thread),
        };
        writer
            .pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)
            .ok()?;
        writer
            .pragma_update(None, "journal_size_limit", BACKSTOP_PAGES * 4096)
            .ok()?;
        Some(checkpoints)
    }

    /// After a commit: a checkpoint when the thread is free (a nudge already waiting covers
    /// this commit too).
    pub fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            // Full: a nudge is waiting already. Disconnected: the thread is gone, and the
            // writer's own checkpoints at the backstop remain.
            let _ = nudge.try_send(());
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.nudge = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, nudged: &Receiver<()>) {
    while nudged.recv().is_ok() {
        // Busy (another connection's checkpoint) or failed: the next commit asks again.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(%error, "checkpoint");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, Unified};
    use crate::wit::Value;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    /// A commit is copied into the database by the thread, not by the committing
    /// connection (whose own checkpoints wait for a much longer log), and the store's close
    /// leaves no log behind.
    #[test]
    fn commits_reach_the_database_by_the_thread_and_close_leaves_no_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).expect("open");
        let own: i64 = store
            .conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(own, super::BACKSTOP_PAGES);
        let before = std::fs::metadata(&path).expect("db").len();
        store
            .transaction(|tx| {
                for i in 0..500 {
                    let text = Value::Text(format!("record {i} {}", "x".repeat(200)));
                    let record = Unified {
                        id: format!("r{i}"),
                        fields: BTreeMap::from([("Name".into(), text)]),
                        meta: BTreeMap::new(),
                        source: "s/e".into(),
                        created: i,
                        updated: i,
                        deleted: false,
                    };
                    tx.put_record("Account", &record)?;
                }
                Ok(())
            })
            .expect("save");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).expect("db").len() <= before {
            assert!(Instant::now() < deadline, "no checkpoint copied the commit");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(store);
        assert!(!dir.path().join("s.db-wal").exists(), "the log is left");
        let store = Store::open_read_only(&path).expect("reopen");
        assert!(store.record("Account", "r499").expect("read").is_some());
    }
}
