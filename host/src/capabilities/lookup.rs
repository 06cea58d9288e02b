//! `wasync:plugin/lookup`: read-only look-ups into the unified store.
//!
//! A use of a plugin gets lookups only when its [`Grants`](crate::plugin::Grants) carry a
//! [`LookupGrant`](crate::plugin::LookupGrant); the sync engine grants them to entity
//! functions. Without a grant every call is denied.

use crate::plugin::HostState;
use crate::plugin::bindings::lookup::Host;
use crate::plugin::bindings::{Error, Field, Record};

impl Host for HostState {
    fn find(
        &mut self,
        entity: String,
        matching: Vec<Field>,
        limit: u32,
    ) -> Result<Vec<Record>, Error> {
        match &self.lookup {
            Some(grant) => grant.0.find(&entity, &matching, limit),
            None => Err(Error::AccessDenied(format!(
                "plugin `{}` has no lookup grant (asked for `{entity}`)",
                self.plugin
            ))),
        }
    }
}
