//! Conversions between what `wasync:plugin@0.2.0` and 0.1.0 each declare of their own alike:
//! the parts of entity functions, merge policies, connectors, `http` and `log` whose shape
//! 0.2.0 kept. The values move; only inputs given by reference are cloned.

use crate::wit::{self as v1, v0_2 as v2};

/// `From` both ways between two records of the same fields.
macro_rules! same_record {
    ($a:ty, $b:ty, { $($field:ident),* }) => {
        impl From<$a> for $b {
            fn from(x: $a) -> Self {
                Self { $($field: x.$field.into()),* }
            }
        }
        impl From<$b> for $a {
            fn from(x: $b) -> Self {
                Self { $($field: x.$field.into()),* }
            }
        }
    };
}

same_record!(v1::entity::Attached, v2::entity::Attached, { record, unified_id });
same_record!(v1::merge::Candidate, v2::merge::Candidate, { record, source, created, updated });
same_record!(v1::merge::Resolution, v2::merge::Resolution, { winner, fields });
same_record!(v1::external::WebhookRequest, v2::external::WebhookRequest, { method, path, headers, body });
same_record!(v1::http::Request, v2::http::Request, { method, url, headers, body });
same_record!(v1::http::Response, v2::http::Response, { status, headers, body });

impl From<v1::external::Cursor> for v2::external::Cursor {
    fn from(c: v1::external::Cursor) -> Self {
        Self {
            watermark: c.watermark,
            id: c.id,
        }
    }
}

impl From<v2::external::Cursor> for v1::external::Cursor {
    fn from(c: v2::external::Cursor) -> Self {
        Self {
            watermark: c.watermark,
            id: c.id,
        }
    }
}

impl From<v1::external::ReadRequest> for v2::external::ReadRequest {
    fn from(r: v1::external::ReadRequest) -> Self {
        Self {
            entity: r.entity,
            after: r.after.map(Into::into),
            until: r.until,
            limit: r.limit,
        }
    }
}

impl From<v2::entity::Outcome> for v1::entity::Outcome {
    fn from(o: v2::entity::Outcome) -> Self {
        match o {
            v2::entity::Outcome::Keep(r) => Self::Keep(r),
            v2::entity::Outcome::Attach(a) => Self::Attach(a.into()),
            v2::entity::Outcome::Stop(reason) => Self::Stop(reason),
        }
    }
}

impl From<v2::log::Level> for v1::log::Level {
    fn from(level: v2::log::Level) -> Self {
        match level {
            v2::log::Level::Trace => Self::Trace,
            v2::log::Level::Debug => Self::Debug,
            v2::log::Level::Info => Self::Info,
            v2::log::Level::Warn => Self::Warn,
            v2::log::Level::Error => Self::Error,
        }
    }
}

/// Clones inputs given by reference into 0.2.0's shapes.
pub fn owned<A: Clone + Into<B>, B>(items: &[A]) -> Vec<B> {
    items.iter().cloned().map(Into::into).collect()
}
