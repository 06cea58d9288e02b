//! `wasync:plugin/lookup`: read-only look-ups into the unified store.
//!
//! No store is attached to plugin instances yet, so no use holds a lookup grant and every
//! call is denied, which is exactly what an ungranted use gets.

use crate::plugin::HostState;
use crate::plugin::bindings::lookup::Host;
use crate::plugin::bindings::{Error, Field, Record};

impl Host for HostState {
    fn find(
        &mut self,
        entity: String,
        _match: Vec<Field>,
        _limit: u32,
    ) -> Result<Vec<Record>, Error> {
        Err(Error::AccessDenied(format!(
            "plugin `{}` has no lookup grant (asked for `{entity}`)",
            self.plugin
        )))
    }
}
