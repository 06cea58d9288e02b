//! Read snapshots: one read transaction held across many queries.
//!
//! Outside a transaction every query is its own: SQLite takes and drops the file's shared
//! lock (two `fcntl` calls) and looks at the WAL index again, per query. A stage that reads
//! once per record (a lookup, a mapping, the record itself) spent more time in those system
//! calls than in its queries. Holding one read transaction for the stage takes them once,
//! and every read in it sees one state of the store.

use super::{Result, Store};

/// A read transaction held open until this drops. Writers on other connections go on (WAL);
/// the store's own writes wait for it to drop, which the borrow checker enforces.
#[must_use = "the snapshot ends when this drops"]
pub struct Snapshot<'a> {
    /// The store, when this snapshot began the transaction (not when nested in another).
    began: Option<&'a Store>,
}

impl Store {
    /// Begins a read snapshot; inside another one it is that one.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        let began = self.begin_read()?;
        Ok(Snapshot {
            began: began.then_some(self),
        })
    }

    /// Begins a read transaction unless one is open; says whether it began one, which the
    /// caller must end with [`Store::end_read`]. For holders that cannot keep a borrow (a
    /// store behind a mutex).
    pub fn begin_read(&self) -> Result<bool> {
        if !self.conn.is_autocommit() {
            return Ok(false);
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Ends the read transaction [`Store::begin_read`] began. Ending one has nothing to save;
    /// should SQLite refuse, roll back, so the connection never stays in a stale snapshot.
    pub fn end_read(&self) {
        if self.conn.execute_batch("COMMIT").is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.began {
            store.end_read();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Unified;
    use std::collections::BTreeMap;

    fn unified(id: &str) -> Unified {
        Unified {
            id: id.into(),
            fields: BTreeMap::new(),
            meta: BTreeMap::new(),
            source: "s/e".into(),
            created: 1,
            updated: 1,
            deleted: false,
        }
    }

    #[test]
    fn a_snapshot_sees_one_state_and_the_next_sees_the_new_one() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("s.db");
        let mut writer = Store::open(&path)?;
        let reader = Store::open_read_only(&path)?;
        {
            let _snapshot = reader.snapshot()?;
            assert!(reader.record("Account", "a")?.is_none());
            writer.transaction(|tx| tx.put_record("Account", &unified("a")))?;
            // Still the state the snapshot began with.
            assert!(reader.record("Account", "a")?.is_none());
            let _nested = reader.snapshot()?;
        }
        assert!(reader.conn.is_autocommit(), "the snapshot ended");
        let _snapshot = reader.snapshot()?;
        assert!(reader.record("Account", "a")?.is_some());
        Ok(())
    }
}
