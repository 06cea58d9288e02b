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
            Some(grant) => {
                let started = std::time::Instant::now();
                let found = grant.0.find(&entity, &matching, limit);
                crate::plugin::LOOKUP_NANOS.fetch_add(
                    started.elapsed().as_nanos() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                found
            }
            None => Err(Error::AccessDenied(format!(
                "plugin `{}` has no lookup grant (asked for `{entity}`)",
                self.plugin
            ))),
        }
    }
}
