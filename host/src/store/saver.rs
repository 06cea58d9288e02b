//! What a save writes per record, by statements prepared once per save: looking each
//! statement up in the cache and handing it back, three times a record, was 6% of a
//! load's save (4,000 instructions a record).

use super::txlog::{FieldChange, LOG_ROW, NewEntry, log_row};
use super::{Tx, Unified, codec, meta};
use rusqlite::{CachedStatement, Statement, params};

/// Inserts or replaces a unified record.
pub(super) const PUT_RECORD: &str =
    "INSERT INTO records (entity, id, fields, meta, source, created, updated, deleted)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (entity, id) DO UPDATE SET fields = ?3, meta = ?4, source = ?5, updated = ?7, deleted = ?8";

/// Maps an external record to a unified one, or moves its mapping.
pub(super) const MAP_ID: &str = "INSERT INTO id_map (connector, external_entity, external_id, entity, unified_id, seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (connector, external_entity, external_id)
     DO UPDATE SET entity = ?4, unified_id = ?5, seen = COALESCE(?6, seen)";

/// An external record's mapping to a unified record, with the watermark (JSON) of the
/// version applied, if any.
#[derive(Debug, Clone, Copy)]
pub struct Mapping<'a> {
    /// The connector.
    pub connector: &'a str,
    /// Its entity.
    pub entity: &'a str,
    /// The external id.
    pub external_id: &'a str,
    /// The unified entity.
    pub unified_entity: &'a str,
    /// The unified id.
    pub unified_id: &'a str,
    /// The watermark (JSON) of the version applied; `None` keeps the one stored.
    pub seen: Option<&'a str>,
}

/// A save's statements, for one transaction.
pub struct Saver<'t> {
    record: CachedStatement<'t>,
    log: CachedStatement<'t>,
    map: CachedStatement<'t>,
}

impl Tx<'_> {
    /// The statements of a save, prepared once for all its records.
    pub fn saver(&self) -> rusqlite::Result<Saver<'_>> {
        Ok(Saver {
            record: self.0.prepare_cached(PUT_RECORD)?,
            log: self.0.prepare_cached(LOG_ROW)?,
            map: self.0.prepare_cached(MAP_ID)?,
        })
    }
}

impl Saver<'_> {
    /// As [`Tx::put_record`].
    pub fn put_record(&mut self, entity: &str, record: &Unified) -> rusqlite::Result<()> {
        put_record(&mut self.record, entity, record)
    }

    /// As [`Tx::log`].
    pub fn log(&mut self, e: &NewEntry<'_>, changes: &[FieldChange<'_>]) -> rusqlite::Result<()> {
        log_row(&mut self.log, e, changes)
    }

    /// As [`Tx::map_id`].
    pub fn map_id(&mut self, m: &Mapping<'_>) -> rusqlite::Result<()> {
        map_id(&mut self.map, m)
    }
}

/// Inserts or replaces a unified record by `stmt`, prepared from [`PUT_RECORD`].
pub(super) fn put_record(
    stmt: &mut Statement<'_>,
    entity: &str,
    record: &Unified,
) -> rusqlite::Result<()> {
    let meta = meta::encode(&record.meta, &record.fields);
    stmt.execute(params![
        entity,
        record.id,
        codec::encode_fields(&record.fields),
        meta,
        record.source,
        record.created,
        record.updated,
        record.deleted
    ])?;
    Ok(())
}

/// Writes a mapping by `stmt`, prepared from [`MAP_ID`].
pub(super) fn map_id(stmt: &mut Statement<'_>, m: &Mapping<'_>) -> rusqlite::Result<()> {
    stmt.execute(params![
        m.connector,
        m.entity,
        m.external_id,
        m.unified_entity,
        m.unified_id,
        m.seen
    ])?;
    Ok(())
}
