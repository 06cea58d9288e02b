//! Store errors: which store, what SQLite said, and, where that alone would leave a user
//! guessing (a full disk, a file size limit, a read-only volume), what is wrong and what to
//! do.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// A store error, naming the store file and, where SQLite's message would leave a user
/// guessing (`disk I/O error`), what the system said and what to do. SQLite's message is
/// part of it, not a `source()` of its own: a chain printed whole would say it twice.
#[derive(Debug)]
pub struct StoreError {
    path: PathBuf,
    error: rusqlite::Error,
    /// The OS error behind an I/O failure or a file that would not open, where SQLite had one.
    os_error: Option<i32>,
}

impl StoreError {
    pub(super) fn new(
        path: &Path,
        conn: Option<&Connection>,
        error: rusqlite::Error,
    ) -> StoreError {
        use rusqlite::ErrorCode::{CannotOpen, SystemIoFailure};
        let os_error = match error.sqlite_error_code() {
            Some(CannotOpen | SystemIoFailure) => conn.and_then(system_errno),
            _ => None,
        };
        StoreError {
            path: path.to_owned(),
            error,
            os_error,
        }
    }

    /// What is wrong in words, and what to do, where SQLite's message alone is not enough.
    fn why(&self) -> Option<String> {
        use rusqlite::ErrorCode::{CannotOpen, DiskFull, ReadOnly};
        use std::io::ErrorKind::{FileTooLarge, ReadOnlyFilesystem, StorageFull};
        let os = self.os_error.map(std::io::Error::from_raw_os_error);
        let kind = os.as_ref().map(std::io::Error::kind);
        let why = match (self.error.sqlite_error_code(), kind) {
            (Some(DiskFull), _) | (_, Some(StorageFull)) => {
                "the disk is full: free some space, then run again".to_owned()
            }
            (_, Some(FileTooLarge)) => "a file of the store is at the file size limit \
                 (`ulimit -f`): raise the limit or free space, then run again"
                .to_owned(),
            (Some(ReadOnly), _) | (_, Some(ReadOnlyFilesystem)) => "the store cannot be \
                 written: its volume is read-only, or its file, its folder or its -wal and \
                 -shm files are not writable by this user"
                .to_owned(),
            (Some(CannotOpen), _) => format!(
                "its folder must exist and be writable by this user{}",
                os.map(|e| format!("; the system said: {e}"))
                    .unwrap_or_default()
            ),
            (_, Some(_)) => format!("the system said: {}", os?),
            _ => return None,
        };
        Some(why)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Absolute: `wasync.db` alone does not say which folder a user must look in.
        let path = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        write!(f, "store {}: {}", path.display(), self.error)?;
        match self.why() {
            Some(why) => write!(f, " ({why})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for StoreError {}

/// The OS error (errno) of the last I/O failure on `conn`, if there was one.
fn system_errno(conn: &Connection) -> Option<i32> {
    // SAFETY: the handle is the open connection's, alive while `conn` is borrowed; the call
    // only reads a field of it.
    let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
    (errno != 0).then_some(errno)
}
