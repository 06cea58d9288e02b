//! Deletes in reads. HubSpot's search never returns archived (deleted) objects, so with
//! `read_deletes` a read also lists them (`GET /crm/v3/objects/{type}?archived=true`, the
//! only place the API shows them) and merges those archived inside its window as tombstones
//! at their `archivedAt`.
//!
//! The list cannot be filtered by time or sorted, so each read walks it whole: ceil(A / 100)
//! calls, where A is the objects archived in the last 90 days (HubSpot purges them after
//! that). Exact deletes cost that much per read; HubSpot's `deletion` webhooks cost nothing.

use crate::api::{Api, Purpose};
use crate::search::{bound, order_key, text};
use serde::Deserialize;
use wasync_sdk::time::parse_rfc3339;
use wasync_sdk::{Error, Page, ReadRequest, Record, Timestamp, Value};

/// The most objects one list call returns.
const LIST_PAGE: usize = 100;

/// One page of the archived list, the parts used.
#[derive(Deserialize)]
struct ArchivedPage {
    #[serde(default)]
    results: Vec<Archived>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Archived {
    #[serde(deserialize_with = "text")]
    id: String,
    #[serde(default, rename = "archivedAt")]
    archived_at: Option<String>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<Next>,
}

#[derive(Deserialize)]
struct Next {
    #[serde(deserialize_with = "text")]
    after: String,
}

/// `page` (sorted, the search's answer to `request`) with the objects archived in its
/// window merged in, at most the request's limit. The window starts after the request's
/// cursor and ends at the page's last record when more follow it, else at `until`.
pub fn merge(api: &Api, request: &ReadRequest, mut page: Page) -> Result<Page, Error> {
    let low = match &request.after {
        Some(cursor) => {
            bound(&cursor.watermark, "cursor watermark")?.map(|micros| key(micros, &cursor.id))
        }
        None => None,
    };
    let until = match &request.until {
        Some(value) => bound(value, "`until`")?,
        None => None,
    };
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let high = match (page.more, page.records.last()) {
        (true, Some(last)) => Some(order_key(last)),
        _ => until.map(|micros| (Some(micros), Some(u64::MAX), String::new())),
    };
    for (id, micros) in archived(api, &request.entity)? {
        let at = key(micros, &id);
        if low.as_ref().is_some_and(|low| at <= *low) || high.as_ref().is_some_and(|h| at > *h) {
            continue;
        }
        page.records.push(Record {
            id,
            watermark: Value::Timestamp(micros),
            fields: Vec::new(),
            deleted: true,
        });
    }
    page.records.sort_by_key(order_key);
    if page.records.len() > limit {
        page.records.truncate(limit);
        page.more = true;
    }
    Ok(page)
}

fn key(micros: Timestamp, id: &str) -> (Option<Timestamp>, Option<u64>, String) {
    (Some(micros), id.parse().ok(), id.to_owned())
}

/// Every archived object of `entity`: (id, `archivedAt` in microseconds).
fn archived(api: &Api, entity: &str) -> Result<Vec<(String, Timestamp)>, Error> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!(
            "/crm/v3/objects/{entity}?archived=true&limit={LIST_PAGE}&properties=hs_object_id"
        );
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page: ArchivedPage = api.get(&path, Purpose::Read)?.decode()?;
        for object in page.results {
            let at = object.archived_at.as_deref().and_then(parse_rfc3339);
            let Some(micros) = at else {
                return Err(Error::Other(format!(
                    "HubSpot listed archived {entity} {} without a readable archivedAt",
                    object.id
                )));
            };
            all.push((object.id, micros));
        }
        match page.paging.and_then(|p| p.next) {
            Some(next) if after.as_deref() != Some(next.after.as_str()) => after = Some(next.after),
            _ => return Ok(all),
        }
    }
}
