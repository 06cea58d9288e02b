//! API calls per connector per UTC day: what daily budgets count against, kept across runs.

use super::Tx;
use rusqlite::{OptionalExtension, params};

impl Tx<'_> {
    /// Calls `connector` made on `day`.
    pub fn api_calls(&self, connector: &str, day: i64) -> rusqlite::Result<u64> {
        self.0
            .prepare_cached("SELECT calls FROM api_calls WHERE connector = ?1 AND day = ?2")?
            .query_row(params![connector, day], |r| r.get::<_, i64>(0))
            .optional()
            .map(|calls| calls.unwrap_or(0).max(0) as u64)
    }

    /// Adds `calls` to `connector`'s count for `day`.
    pub fn add_api_calls(&self, connector: &str, day: i64, calls: u64) -> rusqlite::Result<()> {
        if calls == 0 {
            return Ok(());
        }
        self.0
            .prepare_cached(
                "INSERT INTO api_calls (connector, day, calls) VALUES (?1, ?2, ?3)
                 ON CONFLICT (connector, day) DO UPDATE SET calls = calls + excluded.calls",
            )?
            .execute(params![connector, day, calls as i64])
            .map(drop)
    }
}
