//! The unified store on SQLite (WAL): unified records, ID mappings, the transaction log,
//! source and destination watermarks, what was last written to each destination, quarantined
//! records and the cycles run. Schema changes are numbered migrations.

mod calls;
mod checkpoint;
mod codec;
mod cycles;
mod error;
mod intake;
mod lookup;
mod meta;
mod quarantine;
mod saver;
mod schema;
mod snapshot;
mod txlog;
mod watermarks;

pub use codec::{decode_fields, decode_value, encode_fields, encode_value};
pub use cycles::CycleRow;
pub use error::StoreError;
pub use intake::{Intake, Received};
pub use lookup::lookup_matches;
pub use quarantine::Quarantined;
pub use saver::{Mapping, Saver};
pub use snapshot::Snapshot;
pub use txlog::{FieldChange, LogEntry, NewEntry, value_is_the_records};
pub use watermarks::Endpoint;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::wit::Value;

/// Results of store calls.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The SQL of each lookup asked for, built once: building it (and finding out whether
    /// its index exists) cost as much as running it.
    lookups: std::cell::RefCell<Vec<lookup::Lookup>>,
    /// Checkpoints on a thread of their own, for a store opened to write.
    checkpoints: Option<checkpoint::Checkpoints>,
}

/// Who last changed a field, and when (the source record's watermark, or the cycle's time).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// `connector/entity` of the source: shared, as a record's fields mostly share it.
    pub source: std::sync::Arc<str>,
    /// Microseconds since the Unix epoch.
    pub at: i64,
}

/// A unified record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Unified {
    /// The unified id.
    pub id: String,
    /// Field values.
    pub fields: BTreeMap<String, Value>,
    /// Per field, who last changed it and when.
    pub meta: BTreeMap<String, Stamp>,
    /// The source that last changed the record.
    pub source: String,
    /// When the record was created (micros).
    pub created: i64,
    /// When it last changed (micros).
    pub updated: i64,
    /// Whether it was deleted.
    pub deleted: bool,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn =
            Connection::open(path).map_err(|error| StoreError::new(path, None, error))?;
        let err = |error| StoreError::new(path, Some(&conn), error);
        // First, so that even switching to WAL waits for another connection's lock.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        wal(&conn).map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        stable_plans(&conn).map_err(err)?;
        if let Err(error) = schema::migrate(&mut conn) {
            return Err(StoreError::new(path, Some(&conn), error));
        }
        let checkpoints = checkpoint::Checkpoints::start(path, &conn);
        Ok(Store {
            conn,
            path: path.to_owned(),
            lookups: Default::default(),
            checkpoints,
        })
    }

    /// Opens an existing store for reading only (status, log, lookups).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let err = |error| StoreError::new(path, None, error);
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        stable_plans(&conn).map_err(err)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            lookups: Default::default(),
            checkpoints: None,
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, error: rusqlite::Error) -> StoreError {
        StoreError::new(&self.path, Some(&self.conn), error)
    }

    /// Runs `f` in one transaction: all of it is saved, or none. The write lock is taken at
    /// the start, so a second process or thread writing the same store (`wasync serve`'s
    /// webhook intake beside its cycles) waits its turn instead of failing mid-transaction.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let behaviour = rusqlite::TransactionBehavior::Immediate;
        let tx = self
            .conn
            .transaction_with_behavior(behaviour)
            .map_err(|error| StoreError::new(&self.path, None, error))?;
        let result = f(&Tx(&tx)).and_then(|v| tx.commit().map(|()| v));
        if let (Ok(_), Some(checkpoints)) = (&result, &self.checkpoints) {
            checkpoints.nudge();
        }
        result.map_err(|e| self.err(e))
    }

    /// The unified record `id` of `entity`.
    pub fn record(&self, entity: &str, id: &str) -> Result<Option<Unified>> {
        Tx(&self.conn).record(entity, id).map_err(|e| self.err(e))
    }

    /// The unified record `id` of `entity` without its per-field meta (left empty).
    pub fn record_values(&self, entity: &str, id: &str) -> Result<Option<Unified>> {
        Tx(&self.conn)
            .record_values(entity, id)
            .map_err(|e| self.err(e))
    }

    /// The unified id mapped to an external record, and the watermark (JSON) of the last
    /// version of it applied.
    pub fn mapping(
        &self,
        connector: &str,
        entity: &str,
        external_id: &str,
    ) -> Result<Option<(String, Option<String>)>> {
        Tx(&self.conn)
            .mapping(connector, entity, external_id)
            .map_err(|e| self.err(e))
    }

    /// Read-only queries on the open connection.
    pub fn read(&self) -> Tx<'_> {
        Tx(&self.conn)
    }
}

/// How long a connection waits for another's lock before it gives up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Switches the store to WAL. When connections open a brand-new file at once (`wasync
/// serve`'s threads as it starts), SQLite can answer one of them "database is locked" at once,
/// without waiting on the busy timeout (it will not wait where waiting could deadlock); so
/// try again until the timeout has passed.
fn wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// Turns on SQLite's query planner stability guarantee. Without it, a plan that SQLite ties to
/// a bound value (a `LIMIT ?`, a join through a partial index) expires whenever the statement
/// cache clears its bindings, and every lookup compiled its SQL again: a quarter of a sync's
/// instructions. Our queries are equalities on keys; no plan gains from the values.
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map(drop)
}

/// The unified record: `?1` the entity, `?2` the id.
const RECORD: &str = "SELECT id, fields, meta, source, created, updated, deleted FROM records WHERE entity = ?1 AND id = ?2";

/// The same without its per-field meta, for readers that do not use it (destinations):
/// parsing the meta was a third of reading a record.
const RECORD_VALUES: &str = "SELECT id, fields, NULL, source, created, updated, deleted FROM records WHERE entity = ?1 AND id = ?2";

/// An external record's mapping: `?1` connector, `?2` external entity, `?3` external id.
const MAPPING: &str = "SELECT unified_id, seen FROM id_map
     WHERE connector = ?1 AND external_entity = ?2 AND external_id = ?3";

/// A unified record's first external id in one connector's entity.
const EXTERNAL_ID: &str = "SELECT external_id FROM id_map
     WHERE connector = ?1 AND external_entity = ?2 AND unified_id = ?3 ORDER BY rowid LIMIT 1";

/// Moves mappings from one unified record (`?2`) to another (`?3`).
const MOVE_IDS: &str = "UPDATE id_map SET unified_id = ?3 WHERE entity = ?1 AND unified_id = ?2";

/// Drops a record's match keys.
const DELETE_MATCH_KEYS: &str = "DELETE FROM match_keys WHERE entity = ?1 AND id = ?2";

/// Ids of live records with a match key: `?1` the entity, `?2` the key.
const IDS_WITH_KEY: &str =
    "SELECT k.id FROM match_keys k JOIN records r ON r.entity = k.entity AND r.id = k.id
     WHERE k.entity = ?1 AND k.key = ?2 AND r.deleted = 0 ORDER BY k.id";

/// Queries and changes inside a transaction (or on a plain connection, for reads).
pub struct Tx<'a>(&'a Connection);

fn unified_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Unified> {
    let fields = codec::decode_fields(row.get_ref(1)?.as_str()?);
    let meta = match row.get_ref(2)?.as_str_or_null()? {
        Some(text) => meta::decode(text, &fields),
        None => BTreeMap::new(),
    };
    Ok(Unified {
        id: row.get(0)?,
        fields,
        meta,
        source: row.get(3)?,
        created: row.get(4)?,
        updated: row.get(5)?,
        deleted: row.get(6)?,
    })
}

impl Tx<'_> {
    /// The unified record `id` of `entity`.
    pub fn record(&self, entity: &str, id: &str) -> rusqlite::Result<Option<Unified>> {
        self.0
            .prepare_cached(RECORD)?
            .query_row(params![entity, id], unified_from_row)
            .optional()
    }

    /// The unified record `id` of `entity` without its per-field meta (left empty).
    pub fn record_values(&self, entity: &str, id: &str) -> rusqlite::Result<Option<Unified>> {
        self.0
            .prepare_cached(RECORD_VALUES)?
            .query_row(params![entity, id], unified_from_row)
            .optional()
    }

    /// Inserts or replaces a unified record.
    pub fn put_record(&self, entity: &str, record: &Unified) -> rusqlite::Result<()> {
        saver::put_record(
            &mut *self.0.prepare_cached(saver::PUT_RECORD)?,
            entity,
            record,
        )
    }

    /// The unified id mapped to an external record, and the watermark (JSON) of the last
    /// version of it applied.
    pub fn mapping(
        &self,
        connector: &str,
        entity: &str,
        external_id: &str,
    ) -> rusqlite::Result<Option<(String, Option<String>)>> {
        self.0
            .prepare_cached(MAPPING)?
            .query_row(params![connector, entity, external_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
    }

    /// The external id of a unified record in one connector's entity, if mapped.
    pub fn external_id(
        &self,
        connector: &str,
        entity: &str,
        unified_id: &str,
    ) -> rusqlite::Result<Option<String>> {
        self.0
            .prepare_cached(EXTERNAL_ID)?
            .query_row(params![connector, entity, unified_id], |r| r.get(0))
            .optional()
    }

    /// Maps an external record to a unified record (replacing an earlier mapping of it);
    /// `seen` is the watermark (JSON) of the version applied, when one was.
    pub fn map_id(
        &self,
        connector: &str,
        entity: &str,
        external_id: &str,
        unified_entity: &str,
        unified_id: &str,
        seen: Option<&str>,
    ) -> rusqlite::Result<()> {
        let mapping = saver::Mapping {
            connector,
            entity,
            external_id,
            unified_entity,
            unified_id,
            seen,
        };
        saver::map_id(&mut *self.0.prepare_cached(saver::MAP_ID)?, &mapping)
    }

    /// Moves every ID mapping of `from` to `to` (a merge's loser to its winner).
    pub fn move_ids(&self, entity: &str, from: &str, to: &str) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(MOVE_IDS)?
            .execute(params![entity, from, to])?;
        Ok(())
    }

    /// Replaces the match keys of a record.
    pub fn set_match_keys(&self, entity: &str, id: &str, keys: &[String]) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(DELETE_MATCH_KEYS)?
            .execute(params![entity, id])?;
        let mut insert = self.0.prepare_cached(
            "INSERT OR IGNORE INTO match_keys (entity, key, id) VALUES (?1, ?2, ?3)",
        )?;
        for key in keys {
            insert.execute(params![entity, key, id])?;
        }
        Ok(())
    }

    /// Ids of live records of `entity` having match key `key`.
    pub fn ids_with_key(&self, entity: &str, key: &str) -> rusqlite::Result<Vec<String>> {
        self.0
            .prepare_cached(IDS_WITH_KEY)?
            .query_map(params![entity, key], |r| r.get(0))?
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// `wasync serve` opens one store from two threads as it starts (and a user may start
    /// `wasync sync` beside it): a brand-new store must come up for all of them.
    #[test]
    fn a_new_store_opened_by_several_threads_at_once_opens_for_all() {
        for round in 0..50 {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(format!("round{round}.db"));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || Store::open(&path).map(drop))
                })
                .collect();
            for t in threads {
                let opened = t.join().expect("no panic");
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        }
    }

    /// Both sides of a lookup are trimmed alike, of spaces only as SQLite's `trim` in the
    /// index is: a value with a tab at its end finds itself, stored or pending. The value
    /// looked up used to lose the tab and miss the record holding the very same text.
    #[test]
    fn a_lookup_trims_what_it_looks_for_as_the_index_trims_what_is_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("open");
        store.index_lookup_field("Account", "Name").expect("index");
        let fields = BTreeMap::from([("Name".into(), Value::Text("Acme\t".into()))]);
        let record = Unified {
            id: "a".into(),
            fields: fields.clone(),
            meta: BTreeMap::new(),
            source: "s".into(),
            created: 1,
            updated: 1,
            deleted: false,
        };
        store
            .transaction(|tx| tx.put_record("Account", &record))
            .expect("save");
        let find = |text: &str| {
            let value = Value::Text(text.into());
            let stored = store
                .find("Account", &[("Name", &value)], 10)
                .expect("find");
            let pending = lookup_matches(&fields, &[("Name", &value)]);
            (stored.len(), pending)
        };
        assert_eq!(find(" ACME\t "), (1, true));
        assert_eq!(find("Acme"), (0, false));
    }

    /// A statement whose plan SQLite ties to bound values is compiled again on every use
    /// (`clear_bindings` expires it): lookups and match-key queries did that, at ~100,000
    /// instructions a call. The planner stability guarantee keeps each compiled once.
    #[test]
    fn lookups_and_match_keys_are_compiled_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("open");
        store.index_lookup_field("Account", "Name").expect("index");
        store
            .transaction(|tx| {
                for i in 0..20 {
                    let fields = BTreeMap::from([("Name".into(), Value::Text(format!("Co {i}")))]);
                    let record = Unified {
                        id: i.to_string(),
                        fields,
                        meta: BTreeMap::new(),
                        source: "s".into(),
                        created: i,
                        updated: i,
                        deleted: false,
                    };
                    tx.put_record("Account", &record)?;
                    tx.set_match_keys("Account", &record.id, &[format!("k{i}")])?;
                }
                Ok(())
            })
            .expect("save");
        for i in 0..20 {
            let name = Value::Text(format!("co {i}"));
            let found = store.find("Account", &[("Name", &name)], 10).expect("find");
            assert_eq!(found.len(), 1);
            let ids = store
                .read()
                .ids_with_key("Account", &format!("k{i}"))
                .expect("keys");
            assert_eq!(ids, [i.to_string()]);
        }
        let mut reprepared = 0;
        let mut runs = Vec::new();
        for sql in [find_sql_for_test(), IDS_WITH_KEY.to_owned()] {
            let stmt = store.conn.prepare_cached(&sql).expect("cached");
            reprepared += stmt.get_status(StatementStatus::RePrepare);
            runs.push(stmt.get_status(StatementStatus::Run));
        }
        assert_eq!(runs, [20, 20], "the statements checked are the ones used");
        assert_eq!(reprepared, 0);
    }

    /// Every query a cycle runs once per record finds its rows through an index: one that
    /// scanned a table, or the whole of an index, would make each cycle slower as the store
    /// grows. So each step of its plan that reads rows must be a `SEARCH` (rows found by a key)
    /// and none a `SCAN`: `SCAN t` reads all of table `t`, and `SCAN t USING [COVERING] INDEX
    /// i` all of index `i`, which is no better.
    #[test]
    fn per_record_queries_use_an_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        store.index_lookup_field("Account", "Name").expect("index");
        let statements = [
            RECORD,
            RECORD_VALUES,
            MAPPING,
            EXTERNAL_ID,
            MOVE_IDS,
            DELETE_MATCH_KEYS,
            IDS_WITH_KEY,
            txlog::CHANGED_SINCE,
            txlog::LOG_OF_RECORD,
            watermarks::WRITTEN,
            &find_sql_for_test(),
        ];
        for sql in statements {
            let mut plan = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("plan");
            let nulls = vec![rusqlite::types::Null; plan.parameter_count()];
            let steps: Vec<String> = plan
                .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
                .and_then(Iterator::collect)
                .expect("steps");
            assert!(
                steps.iter().any(|s| s.starts_with("SEARCH")),
                "{sql}: no step finds rows by a key\n{steps:#?}"
            );
            assert!(
                !steps.iter().any(|s| s.starts_with("SCAN")),
                "{sql}: a full scan\n{steps:#?}"
            );
        }
    }

    fn find_sql_for_test() -> String {
        lookup::find_sql("Account", &["Name"], true)
    }
}
