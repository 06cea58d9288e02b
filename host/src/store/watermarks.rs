//! Where each source was read up to (a (watermark, id) cursor), where each destination was
//! written up to (a log position), and what was last written to each destination record.

use super::Tx;
use rusqlite::{OptionalExtension, params};

/// A source or destination of a pipeline, as the store keys its watermark.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The pipeline.
    pub pipeline: &'a str,
    /// The connector.
    pub connector: &'a str,
    /// Its entity.
    pub entity: &'a str,
}

/// What was last written for a unified record to a destination, and its external id.
pub(super) const WRITTEN: &str = "SELECT external_id, fields FROM written
     WHERE pipeline = ?1 AND connector = ?2 AND entity = ?3 AND unified_id = ?4";

impl Tx<'_> {
    /// A source's cursor: (watermark as JSON, last id).
    pub fn source_cursor(&self, d: Endpoint<'_>) -> rusqlite::Result<Option<(String, String)>> {
        self.0
            .prepare_cached(
                "SELECT watermark, last_id FROM source_watermarks WHERE pipeline = ?1 AND connector = ?2 AND entity = ?3",
            )?
            .query_row(params![d.pipeline, d.connector, d.entity], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }

    /// Moves a source's cursor.
    pub fn set_source_cursor(
        &self,
        d: Endpoint<'_>,
        watermark: &str,
        last_id: &str,
        now: i64,
    ) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO source_watermarks (pipeline, connector, entity, watermark, last_id, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (pipeline, connector, entity) DO UPDATE SET watermark = ?4, last_id = ?5, updated = ?6",
            )?
            .execute(params![d.pipeline, d.connector, d.entity, watermark, last_id, now])?;
        Ok(())
    }

    /// Whether a source has been read through to its end at least once.
    pub fn caught_up(&self, d: Endpoint<'_>) -> rusqlite::Result<bool> {
        self.0
            .prepare_cached(
                "SELECT 1 FROM caught_up WHERE pipeline = ?1 AND connector = ?2 AND entity = ?3",
            )?
            .exists(params![d.pipeline, d.connector, d.entity])
    }

    /// Records that a source has been read through to its end; the first time counts.
    pub fn set_caught_up(&self, d: Endpoint<'_>, now: i64) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO caught_up (pipeline, connector, entity, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (pipeline, connector, entity) DO NOTHING",
            )?
            .execute(params![d.pipeline, d.connector, d.entity, now])?;
        Ok(())
    }

    /// A destination's watermark: the log position written up to.
    pub fn destination_seq(&self, d: Endpoint<'_>) -> rusqlite::Result<i64> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT seq FROM destination_watermarks WHERE pipeline = ?1 AND connector = ?2 AND entity = ?3",
            )?
            .query_row(params![d.pipeline, d.connector, d.entity], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Moves a destination's watermark.
    pub fn set_destination_seq(&self, d: Endpoint<'_>, seq: i64, now: i64) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO destination_watermarks (pipeline, connector, entity, seq, updated) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pipeline, connector, entity) DO UPDATE SET seq = ?4, updated = ?5",
            )?
            .execute(params![d.pipeline, d.connector, d.entity, seq, now])?;
        Ok(())
    }

    /// What was last written to a destination for a unified record: (external id, fields JSON).
    pub fn written(
        &self,
        d: Endpoint<'_>,
        unified_id: &str,
    ) -> rusqlite::Result<Option<(String, String)>> {
        self.0
            .prepare_cached(WRITTEN)?
            .query_row(
                params![d.pipeline, d.connector, d.entity, unified_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// Records what was written to a destination.
    pub fn set_written(
        &self,
        d: Endpoint<'_>,
        unified_id: &str,
        external_id: &str,
        fields: &str,
        now: i64,
    ) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO written (pipeline, connector, entity, unified_id, external_id, fields, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (pipeline, connector, entity, unified_id) DO UPDATE SET external_id = ?5, fields = ?6, at = ?7",
            )?
            .execute(params![d.pipeline, d.connector, d.entity, unified_id, external_id, fields, now])?;
        Ok(())
    }

    /// Forgets what was written for a unified record (after a delete there).
    pub fn clear_written(&self, d: Endpoint<'_>, unified_id: &str) -> rusqlite::Result<()> {
        self.0
            .prepare_cached("DELETE FROM written WHERE pipeline = ?1 AND connector = ?2 AND entity = ?3 AND unified_id = ?4")?
            .execute(params![d.pipeline, d.connector, d.entity, unified_id])?;
        Ok(())
    }

    /// Every source cursor of a pipeline: (connector, entity, watermark JSON, last id).
    pub fn source_cursors(
        &self,
        pipeline: &str,
    ) -> rusqlite::Result<Vec<(String, String, String, String)>> {
        self.0
            .prepare_cached(
                "SELECT connector, entity, watermark, last_id FROM source_watermarks WHERE pipeline = ?1 ORDER BY connector, entity",
            )?
            .query_map(params![pipeline], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect()
    }
}
