//! `wasync:plugin/lookup`: read-only look-ups into the unified store.
//!
//! A use of a plugin gets lookups only when its grants carry a [`LookupGrant`]; the sync
//! engine grants them to entity functions. Without a grant every call is denied.

use crate::wit::lookup::{self, Host};
use crate::wit::{Error, Field, Record};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use wasmtime::component::{HasData, Linker};

/// Nanoseconds spent back in the host answering plugins' lookups (store queries): store
/// work a plugin asked for, which the benchmarks tell apart from crossing into plugins.
pub static LOOKUP_NANOS: AtomicU64 = AtomicU64::new(0);

/// What answers a plugin's `lookup.find`.
pub trait LookupSource: Send + Sync {
    /// Unified records of `entity` matching every field, at most `limit`, oldest first.
    fn find(&self, entity: &str, matching: &[Field], limit: u32) -> Result<Vec<Record>, Error>;
}

/// A granted [`LookupSource`].
#[derive(Clone)]
pub struct LookupGrant(pub Arc<dyn LookupSource>);

impl std::fmt::Debug for LookupGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupGrant")
    }
}

/// The lookup import of one plugin instance.
pub struct Lookup<'a> {
    /// The plugin's name, for the refusal.
    pub plugin: &'a str,
    /// What it was granted, if anything.
    pub grant: Option<&'a LookupGrant>,
}

impl Host for Lookup<'_> {
    fn find(
        &mut self,
        entity: String,
        matching: Vec<Field>,
        limit: u32,
    ) -> Result<Vec<Record>, Error> {
        let Some(grant) = self.grant else {
            return Err(Error::AccessDenied(format!(
                "plugin `{}` has no lookup grant (asked for `{entity}`)",
                self.plugin
            )));
        };
        let started = Instant::now();
        let found = grant.0.find(&entity, &matching, limit);
        LOOKUP_NANOS.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        found
    }
}

/// 0.2.0's lookup is 0.1.0's under a new name.
impl crate::wit::v0_2::lookup::Host for Lookup<'_> {
    fn find(
        &mut self,
        entity: String,
        matching: Vec<Field>,
        limit: u32,
    ) -> Result<Vec<Record>, Error> {
        Host::find(self, entity, matching, limit)
    }
}

struct HasLookup;

impl HasData for HasLookup {
    type Data<'a> = Lookup<'a>;
}

/// Links the lookup import of every version served, each call answered by the [`Lookup`]
/// `get` gives.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Lookup<'_>,
) -> wasmtime::Result<()> {
    lookup::add_to_linker::<T, HasLookup>(linker, get)?;
    crate::wit::v0_2::lookup::add_to_linker::<T, HasLookup>(linker, get)
}
