//! The store's schema, as numbered migrations recorded in `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version up; never edit a released one, add another.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE records (
        entity TEXT NOT NULL,
        id TEXT NOT NULL,
        fields TEXT NOT NULL,       -- JSON object: field -> value (see codec.rs)
        meta TEXT NOT NULL,         -- JSON object: field -> {source, at} of its last change
        source TEXT NOT NULL,       -- the source that last changed the record
        created INTEGER NOT NULL,   -- microseconds since the Unix epoch
        updated INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (entity, id)
    ) WITHOUT ROWID;
    CREATE TABLE id_map (
        connector TEXT NOT NULL,
        external_entity TEXT NOT NULL,
        external_id TEXT NOT NULL,
        entity TEXT NOT NULL,
        unified_id TEXT NOT NULL,
        seen TEXT,                  -- JSON watermark of the last version of it applied
        PRIMARY KEY (connector, external_entity, external_id)
    );
    CREATE INDEX id_map_unified ON id_map (entity, unified_id);
    CREATE INDEX id_map_external ON id_map (connector, external_entity, unified_id);
    CREATE TABLE match_keys (
        entity TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (entity, key, id)
    ) WITHOUT ROWID;
    CREATE INDEX match_keys_record ON match_keys (entity, id);
    CREATE TABLE txlog (
        seq INTEGER PRIMARY KEY,
        cycle INTEGER NOT NULL,
        at INTEGER NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        op TEXT NOT NULL,
        field TEXT,
        old TEXT,
        new TEXT,
        source TEXT NOT NULL,
        plugin TEXT
    );
    CREATE INDEX txlog_record ON txlog (record_id, seq);
    CREATE INDEX txlog_entity ON txlog (entity, seq);
    CREATE TABLE source_watermarks (
        pipeline TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        watermark TEXT NOT NULL,    -- JSON value
        last_id TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (pipeline, connector, entity)
    );
    CREATE TABLE destination_watermarks (
        pipeline TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        seq INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (pipeline, connector, entity)
    );
    CREATE TABLE written (
        pipeline TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        unified_id TEXT NOT NULL,
        external_id TEXT NOT NULL,
        fields TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (pipeline, connector, entity, unified_id)
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        record TEXT NOT NULL,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE UNIQUE INDEX quarantine_open ON quarantine (pipeline, stage, connector, entity, record_id)
        WHERE resolved_at IS NULL;
    CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        started INTEGER NOT NULL,
        finished INTEGER,
        status TEXT NOT NULL,
        counts TEXT,
        stages TEXT
    );
    ",
    // 2: API calls per connector per UTC day, for daily budgets and `wasync status`.
    "
    CREATE TABLE api_calls (
        connector TEXT NOT NULL,
        day INTEGER NOT NULL,       -- UTC days since 1970-01-01
        calls INTEGER NOT NULL,
        PRIMARY KEY (connector, day)
    ) WITHOUT ROWID;
    ",
    // 3: changes received by webhook, committed before the sender gets its 2xx; a cycle
    // marks them done in the transaction that saves them. `key` names a change across
    // redeliveries, so a change delivered twice is taken in once.
    "
    CREATE TABLE intake (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        key TEXT NOT NULL,
        record TEXT NOT NULL,       -- the record as JSON (see engine::record_json)
        received INTEGER NOT NULL,  -- microseconds since the Unix epoch
        done INTEGER                -- when a cycle saved it
    );
    CREATE UNIQUE INDEX intake_key ON intake (pipeline, connector, entity, key);
    CREATE INDEX intake_pending ON intake (pipeline, id) WHERE done IS NULL;
    ",
    // 4: less to write per saved record. One index on a mapping's unified id serves both a
    // merge's moves and a destination's external id; the log is read by position (its
    // primary key) and filtered by entity, so it needs no second index for that. Records
    // become a rowid table with an index on their id: their ids are hashes, and as a table
    // keyed by them (WITHOUT ROWID) every new record was written into a random page of
    // full rows; now rows are appended and only the small index takes random writes.
    "
    CREATE INDEX id_map_by_unified ON id_map (unified_id, connector, external_entity);
    DROP INDEX id_map_unified;
    DROP INDEX id_map_external;
    DROP INDEX txlog_entity;
    CREATE TABLE records_v4 (
        entity TEXT NOT NULL,
        id TEXT NOT NULL,
        fields TEXT NOT NULL,
        meta TEXT NOT NULL,
        source TEXT NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO records_v4 (entity, id, fields, meta, source, created, updated, deleted)
        SELECT entity, id, fields, meta, source, created, updated, deleted FROM records;
    DROP TABLE records;
    ALTER TABLE records_v4 RENAME TO records;
    CREATE UNIQUE INDEX records_id ON records (entity, id);
    ",
    // 5: the sources of a pipeline that have been read through to their end at least once.
    // A pipeline writes to no destination before all of its sources are: its first sync
    // unifies every source before any create is written, so twins in different systems meet
    // as one record however the reads are paged (engine/write.rs, `held`).
    "
    CREATE TABLE caught_up (
        pipeline TEXT NOT NULL,
        connector TEXT NOT NULL,
        entity TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (pipeline, connector, entity)
    ) WITHOUT ROWID;
    ",
    // 6: one log row per change of a record, not per field: its fields' old and new values
    // (and the plugin behind each) in one column, `changes`, a JSON array of
    // `[field, old, new, plugin?]` (store/txlog.rs). A save wrote ~20 rows per record
    // before, each repeating the record's id, entity, op and source: the log was the larger
    // half of the store. Positions (`seq`) carry over, so destination watermarks still hold.
    "
    CREATE TABLE txlog_v6 (
        seq INTEGER PRIMARY KEY,
        cycle INTEGER NOT NULL,
        at INTEGER NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        op TEXT NOT NULL,
        source TEXT NOT NULL,
        changes TEXT NOT NULL
    );
    INSERT INTO txlog_v6 (seq, cycle, at, entity, record_id, op, source, changes)
        SELECT seq, cycle, at, entity, record_id, op, source,
               json_array(json_array(field, json(old), json(new), plugin))
        FROM txlog;
    DROP TABLE txlog;
    ALTER TABLE txlog_v6 RENAME TO txlog;
    CREATE INDEX txlog_record ON txlog (record_id, seq);
    ",
];

/// Applies the migrations the store lacks, in one transaction that takes the write lock
/// before it reads the version: two connections opening a new store at once (`wasync serve`'s
/// threads) migrate it once, not twice.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, sql) in (1i64..).zip(MIGRATIONS).skip(current.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()
}

/// The SQL expression lookups compare a text field by: lowercased, trimmed.
pub fn normalised_field(field: &str) -> String {
    let path = format!("$.\"{}\"", field.replace('"', ""));
    format!(
        "lower(trim(json_extract(fields, '{}')))",
        path.replace('\'', "''")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in memory as migration `version` left it.
    fn store_at_version(version: usize) -> rusqlite::Result<Connection> {
        let conn = Connection::open_in_memory()?;
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql)?;
        }
        conn.pragma_update(None, "user_version", version as i64)?;
        Ok(conn)
    }

    /// A store made before a migration keeps its data through it.
    #[test]
    fn migrating_keeps_every_record_and_mapping() -> rusqlite::Result<()> {
        let mut conn = store_at_version(3)?;
        conn.execute_batch(
            "INSERT INTO records VALUES ('Account', 'a1', '{\"Name\":\"Acme\"}', '{}', 's/e', 1, 2, 0);
             INSERT INTO records VALUES ('Account', 'a2', '{}', '{}', 's/e', 3, 4, 1);
             INSERT INTO id_map VALUES ('sf', 'Account', '001', 'Account', 'a1', NULL);",
        )?;
        migrate(&mut conn)?;
        let records: Vec<(String, String, i64)> = conn
            .prepare(
                "SELECT id, fields, deleted FROM records WHERE entity = 'Account' ORDER BY id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(
            records,
            [
                ("a1".into(), "{\"Name\":\"Acme\"}".into(), 0),
                ("a2".into(), "{}".into(), 1)
            ]
        );
        let duplicate = conn.execute(
            "INSERT INTO records VALUES ('Account', 'a1', '{}', '{}', 's/e', 5, 5, 0)",
            [],
        );
        assert!(duplicate.is_err(), "a record id stays unique");
        let unified: String = conn.query_row(
            "SELECT unified_id FROM id_map WHERE connector = 'sf' AND external_id = '001'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(unified, "a1");
        Ok(())
    }

    /// A field-by-field log from before migration 6 reads as it did, entry for entry, at the
    /// same positions (destination watermarks point at them); a new row takes the next one.
    #[test]
    fn the_log_keeps_its_entries_and_positions_through_migration_6() -> rusqlite::Result<()> {
        let mut conn = store_at_version(5)?;
        conn.execute_batch(
            r#"INSERT INTO txlog VALUES (7, 1, 100, 'Account', 'a1', 'create', 'Name', NULL, '"Acme"', 'sf/Account', NULL);
               INSERT INTO txlog VALUES (8, 1, 100, 'Account', 'a1', 'create', 'Domain', NULL, '"acme.com"', 'sf/Account', 'extract-domain@1');
               INSERT INTO txlog VALUES (9, 2, 200, 'Account', 'a1', 'update', 'Size', '{"$ts":5}', '12', 'hs/companies', NULL);
               INSERT INTO txlog VALUES (10, 3, 300, 'Account', 'a1', 'delete', NULL, NULL, NULL, 'hs/companies', NULL);"#,
        )?;
        migrate(&mut conn)?;
        let store = crate::store::Tx(&conn);
        let entries: Vec<_> = store
            .log_entries(Some("a1"), 10)?
            .into_iter()
            .map(|e| (e.seq, e.op, e.field, e.old, e.new, e.plugin))
            .collect();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            entries,
            [
                (10, "delete".into(), None, None, None, None),
                (
                    9,
                    "update".into(),
                    some("Size"),
                    some(r#"{"$ts":5}"#),
                    some("12"),
                    None
                ),
                (
                    8,
                    "create".into(),
                    some("Domain"),
                    None,
                    some(r#""acme.com""#),
                    some("extract-domain@1")
                ),
                (
                    7,
                    "create".into(),
                    some("Name"),
                    None,
                    some(r#""Acme""#),
                    None
                ),
            ]
        );
        store.log(
            &crate::store::NewEntry {
                cycle: 4,
                at: 400,
                entity: "Account",
                record_id: "a1",
                op: "update",
                source: "sf/Account",
            },
            &[],
        )?;
        assert_eq!(store.last_seq()?, 11);
        Ok(())
    }
}
