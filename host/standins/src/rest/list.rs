//! The six list endpoints over the same collections, and what they share: reading a page
//! of the matching records, pages that end early, and cursors that repeat.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Refusal;
use super::query;
use super::store::{Collection, Data, Filter, Key, Position, View};
use crate::server::{Incoming, Reply};

/// A page of the matching records, before faults shorten it.
struct Window {
    records: Vec<Value>,
    /// Each record's key, for a page that ends early to be continued after its last.
    keys: Vec<Key>,
    /// How many records match in all.
    total: usize,
    /// The last record of the page when more follow it.
    last: Option<Key>,
}

/// Reads `size` matching records from the index `start` picks; an unknown collection
/// matches nothing.
fn read(
    data: &mut Data,
    entity: &str,
    filter: &Filter,
    size: usize,
    start: impl FnOnce(&View<'_>) -> usize,
) -> Window {
    let mut empty = Collection::default();
    let view = data.existing_mut(entity).unwrap_or(&mut empty).view(filter);
    let total = view.len();
    let start = start(&view).min(total);
    let end = start.saturating_add(size).min(total);
    let (records, keys) = (start..end)
        .filter_map(|i| view.get(i))
        .map(|r| (r.render(), r.key()))
        .unzip();
    let last = (end < total)
        .then(|| end.checked_sub(1).and_then(|i| view.get(i)))
        .flatten()
        .map(|r| r.key());
    Window {
        records,
        keys,
        total,
        last,
    }
}

impl Window {
    /// The records to send: the first half (rounded up) only while short pages are
    /// injected, as an API does that filters a page after reading it. Offsets and page
    /// numbers still count the whole page, so there the rest is skipped; a keyset page
    /// (`keyset`) goes on after the records sent, so nothing is.
    fn records(&mut self, data: &mut Data, keyset: bool) -> Vec<Value> {
        let mut records = std::mem::take(&mut self.records);
        if data.faults.take_short_page() {
            let kept = records.len().div_ceil(2);
            if keyset && kept < records.len() {
                self.last = self.keys.get(kept - 1).cloned();
            }
            records.truncate(kept);
        }
        records
    }

    /// Where the next page starts: after this whole page, or where this one started
    /// (`own`) while repeated cursors are injected; `None` after the last page.
    fn next(&self, data: &mut Data, own: &Position) -> Option<Position> {
        let last = self.last.clone()?;
        Some(if data.faults.take_repeat_cursor() {
            own.clone()
        } else {
            Position::After(last)
        })
    }
}

/// A keyset page, as the cursor, next-URL and search styles serve it: the records after
/// `own`, the token of the page after them (`None` after the last), and how many match.
fn keyset(
    data: &mut Data,
    entity: &str,
    filter: &Filter,
    size: usize,
    own: &Position,
) -> (Vec<Value>, Option<String>, usize) {
    let mut window = read(data, entity, filter, size, |view| view.index(own));
    let records = window.records(data, true);
    let next = window.next(data, own).map(|at| query::encode(&at, filter));
    (records, next, window.total)
}

/// `GET /cursor/{entity}?limit&cursor`: `{"data", "meta": {"next_cursor"}}`.
pub(crate) fn cursor(data: &mut Data, entity: &str, req: &Incoming) -> Result<Reply, Refusal> {
    let filter = query::filter(req)?;
    let size = query::page_size("limit", req.param("limit"))?;
    let own = query::position("cursor", req.param("cursor"), &filter)?;
    let (records, next, _) = keyset(data, entity, &filter, size, &own);
    Ok(Reply::json(
        200,
        &json!({ "data": records, "meta": { "next_cursor": next } }),
    ))
}

/// `GET /next/{entity}?page_size&page_token`: `{"count", "next", "results"}`, where `next`
/// is this request's URL with the next page's `page_token`.
pub(crate) fn next_url(
    data: &mut Data,
    url: &str,
    entity: &str,
    req: &Incoming,
) -> Result<Reply, Refusal> {
    let filter = query::filter(req)?;
    let size = query::page_size("page_size", req.param("page_size"))?;
    let own = query::position("page_token", req.param("page_token"), &filter)?;
    let (records, next, total) = keyset(data, entity, &filter, size, &own);
    let next = next.map(|token| absolute(url, "next", entity, req, "page_token", &token));
    Ok(Reply::json(
        200,
        &json!({ "count": total, "next": next, "results": records }),
    ))
}

/// `GET /link/{entity}?per_page&page`: a bare array, and a `Link` header as GitHub sends
/// it (`next` and `last` before the last page, `prev` and `first` after the first; none
/// when everything fits one page).
pub(crate) fn link(
    data: &mut Data,
    url: &str,
    entity: &str,
    req: &Incoming,
) -> Result<Reply, Refusal> {
    let filter = query::filter(req)?;
    let size = query::page_size("per_page", req.param("per_page"))?;
    let page = query::whole("page", req.param("page"), 1, 1)?;
    let start = (page - 1).saturating_mul(size);
    let mut window = read(data, entity, &filter, size, |_| start);
    let pages = window.total.div_ceil(size);
    let to = |page: usize, rel: &str| {
        let target = absolute(url, "link", entity, req, "page", &page.to_string());
        format!("<{target}>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    if pages > 1 {
        if page < pages {
            let next = if data.faults.take_repeat_cursor() {
                page
            } else {
                page + 1
            };
            links.extend([to(next, "next"), to(pages, "last")]);
        }
        if page > 1 {
            links.extend([to((page - 1).min(pages), "prev"), to(1, "first")]);
        }
    }
    let reply = Reply::json(200, &window.records(data, false));
    Ok(if links.is_empty() {
        reply
    } else {
        reply.with("link", links.join(", "))
    })
}

/// `GET /offset/{entity}?offset&limit`: `{"items", "total"}`.
pub(crate) fn offset(data: &mut Data, entity: &str, req: &Incoming) -> Result<Reply, Refusal> {
    let filter = query::filter(req)?;
    let size = query::page_size("limit", req.param("limit"))?;
    let offset = query::whole("offset", req.param("offset"), 0, 0)?;
    let mut window = read(data, entity, &filter, size, |_| offset);
    let records = window.records(data, false);
    Ok(Reply::json(
        200,
        &json!({ "items": records, "total": window.total }),
    ))
}

/// `GET /page/{entity}?page&per_page`: `{"data", "page", "per_page", "total_pages"}`.
pub(crate) fn page(data: &mut Data, entity: &str, req: &Incoming) -> Result<Reply, Refusal> {
    let filter = query::filter(req)?;
    let size = query::page_size("per_page", req.param("per_page"))?;
    let page = query::whole("page", req.param("page"), 1, 1)?;
    let start = (page - 1).saturating_mul(size);
    let mut window = read(data, entity, &filter, size, |_| start);
    let records = window.records(data, false);
    Ok(Reply::json(
        200,
        &json!({
            "data": records,
            "page": page,
            "per_page": size,
            "total_pages": window.total.div_ceil(size),
        }),
    ))
}

/// The body of `POST /search/{entity}`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    filter: Option<SearchFilter>,
    sort: Option<String>,
    limit: Option<i64>,
    after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchFilter {
    updated_since: Option<String>,
    include_deleted: Option<bool>,
}

/// `POST /search/{entity}` with `{"filter": {"updated_since", "include_deleted"}, "sort",
/// "limit", "after"}`: `{"records", "next_after"}`.
pub(crate) fn search(data: &mut Data, entity: &str, req: &Incoming) -> Result<Reply, Refusal> {
    let body: Search = if req.body.iter().all(u8::is_ascii_whitespace) {
        Search::default()
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| Refusal::bad_request(format!("invalid search body: {e}")))?
    };
    let conditions = body.filter.unwrap_or_default();
    let filter = Filter {
        since: conditions
            .updated_since
            .map(|text| query::since("filter.updated_since", &text))
            .transpose()?,
        order: query::order(body.sort.as_deref())?,
        include_deleted: conditions.include_deleted.unwrap_or(false),
    };
    let size = body
        .limit
        .map_or(query::DEFAULT_PAGE_SIZE, query::clamp_page_size);
    let own = query::position("after", body.after.as_deref(), &filter)?;
    let (records, next, _) = keyset(data, entity, &filter, size, &own);
    Ok(Reply::json(
        200,
        &json!({ "records": records, "next_after": next }),
    ))
}

/// The absolute URL of `/{style}/{entity}` with the request's parameters, `name` set to
/// `value` (replacing any it had).
fn absolute(
    url: &str,
    style: &str,
    entity: &str,
    req: &Incoming,
    name: &str,
    value: &str,
) -> String {
    let mut pairs: Vec<(&str, &str)> = req
        .query
        .iter()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    pairs.push((name, value));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{url}/{style}/{}?{query}", encode_segment(entity))
}

/// Percent-encodes a path segment (all but RFC 3986's unreserved characters).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("tickets"), "tickets");
        assert_eq!(encode_segment("a b/é"), "a%20b%2F%C3%A9");
    }
}
