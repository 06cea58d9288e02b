//! Changes received by webhook, waiting for a cycle: the durable half of `wasync serve`'s
//! intake. A change is committed here before its sender is answered, and marked done in the
//! same transaction that saves what it did, so neither a crash nor a redelivery loses or
//! repeats one.

use super::Tx;
use rusqlite::params;

/// A change to take in, routed to one pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The pipeline whose source reads it.
    pub pipeline: String,
    /// The connector it arrived through.
    pub connector: String,
    /// The connector's entity.
    pub entity: String,
    /// Names the change across redeliveries.
    pub key: String,
    /// The record as JSON.
    pub record: String,
}

/// A change waiting for a cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    /// Its row.
    pub id: i64,
    /// The connector it arrived through.
    pub connector: String,
    /// The connector's entity.
    pub entity: String,
    /// The record as JSON.
    pub record: String,
}

impl Tx<'_> {
    /// Takes changes in; returns how many were new (the others were delivered before).
    pub fn take_in(&self, changes: &[Received], now: i64) -> rusqlite::Result<usize> {
        let mut insert = self.0.prepare_cached(
            "INSERT INTO intake (pipeline, connector, entity, key, record, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (pipeline, connector, entity, key) DO NOTHING",
        )?;
        let mut new = 0;
        for c in changes {
            new += insert.execute(params![
                c.pipeline,
                c.connector,
                c.entity,
                c.key,
                c.record,
                now
            ])?;
        }
        Ok(new)
    }

    /// At most `limit` changes waiting for `pipeline`, in the order they arrived.
    pub fn waiting(&self, pipeline: &str, limit: u32) -> rusqlite::Result<Vec<Intake>> {
        self.0
            .prepare_cached(
                "SELECT id, connector, entity, record FROM intake WHERE pipeline = ?1 AND done IS NULL ORDER BY id LIMIT ?2",
            )?
            .query_map(params![pipeline, limit], |r| {
                Ok(Intake {
                    id: r.get(0)?,
                    connector: r.get(1)?,
                    entity: r.get(2)?,
                    record: r.get(3)?,
                })
            })?
            .collect()
    }

    /// How many changes wait for `pipeline`.
    pub fn waiting_count(&self, pipeline: &str) -> rusqlite::Result<u64> {
        self.0
            .prepare_cached("SELECT count(*) FROM intake WHERE pipeline = ?1 AND done IS NULL")?
            .query_row(params![pipeline], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
    }

    /// Marks changes as saved by a cycle.
    pub fn intake_done(&self, ids: &[i64], now: i64) -> rusqlite::Result<()> {
        let mut update = self
            .0
            .prepare_cached("UPDATE intake SET done = ?2 WHERE id = ?1 AND done IS NULL")?;
        for id in ids {
            update.execute(params![id, now])?;
        }
        Ok(())
    }

    /// Forgets changes done before `before`: past that, a redelivery would be taken in again.
    pub fn prune_intake(&self, before: i64) -> rusqlite::Result<usize> {
        self.0
            .prepare_cached("DELETE FROM intake WHERE done IS NOT NULL AND done < ?1")?
            .execute(params![before])
    }
}
