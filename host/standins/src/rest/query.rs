//! What a list request asks for, read from its query string or search body: filters,
//! page size, page numbers; and the opaque cursors that carry a position between pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use serde::{Deserialize, Serialize};

use super::Refusal;
use super::store::{Filter, Order, Position};
use crate::server::Incoming;
use crate::time;

/// The page size when a request names none.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page served; larger sizes are lowered to it, as most APIs do.
pub(crate) const MAX_PAGE_SIZE: usize = 100;

/// The filters of a list request's query string.
pub(crate) fn filter(req: &Incoming) -> Result<Filter, Refusal> {
    let since = req
        .param("updated_since")
        .map(|text| since("updated_since", text))
        .transpose()?;
    let include_deleted = match req.param("include_deleted") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Refusal::bad_request(format!(
                "include_deleted must be true or false, not {other:?}"
            )));
        }
    };
    Ok(Filter {
        since,
        order: order(req.param("sort"))?,
        include_deleted,
    })
}

/// The order `sort` names: none (by id) or `updated_at`.
pub(crate) fn order(sort: Option<&str>) -> Result<Order, Refusal> {
    match sort {
        None => Ok(Order::Id),
        Some("updated_at") => Ok(Order::Updated),
        Some(other) => Err(Refusal::bad_request(format!(
            "sort must be updated_at, not {other:?}"
        ))),
    }
}

/// An `updated_since` value in milliseconds: RFC 3339 with any fraction and offset.
pub(crate) fn since(name: &str, text: &str) -> Result<i64, Refusal> {
    parse_since(text).ok_or_else(|| {
        Refusal::bad_request(format!(
            "{name} must be an RFC 3339 date and time such as 2026-12-07T10:00:00.123Z, not {text:?}"
        ))
    })
}

fn parse_since(text: &str) -> Option<i64> {
    // The `+` of an offset arrives as a space when a client did not encode it.
    let text = text.replace(' ', "+");
    let ms = time::parse_datetime(&text)?;
    // Records carry whole milliseconds: an instant within one is followed by the next
    // millisecond, so that "at or after" keeps its meaning.
    let fraction: &[u8] = match text.as_bytes().get(19..) {
        Some([b'.', rest @ ..]) => rest,
        _ => &[],
    };
    let finer = fraction
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .skip(3)
        .any(|&b| b != b'0');
    Some(if finer { ms + 1 } else { ms })
}

/// A page size parameter: [`DEFAULT_PAGE_SIZE`] when absent, held to 1..=[`MAX_PAGE_SIZE`].
pub(crate) fn page_size(name: &str, text: Option<&str>) -> Result<usize, Refusal> {
    let Some(text) = text else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    let size: i128 = text
        .trim()
        .parse()
        .map_err(|_| Refusal::bad_request(format!("{name} must be a number, not {text:?}")))?;
    Ok(clamp_page_size(size))
}

/// A page size held to 1..=[`MAX_PAGE_SIZE`].
pub(crate) fn clamp_page_size(size: impl Into<i128>) -> usize {
    let size = size.into().clamp(1, MAX_PAGE_SIZE as i128);
    usize::try_from(size).unwrap_or(MAX_PAGE_SIZE)
}

/// A whole number parameter at least `min` (`default` when absent).
pub(crate) fn whole(
    name: &str,
    text: Option<&str>,
    default: usize,
    min: usize,
) -> Result<usize, Refusal> {
    let Some(text) = text else {
        return Ok(default);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(Refusal::bad_request(format!(
            "{name} must be a whole number of at least {min}, not {text:?}"
        ))),
    }
}

/// What a cursor carries: where the next page starts, and the filters it belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    at: Position,
    since: Option<i64>,
    order: Order,
    include_deleted: bool,
}

/// The opaque cursor for `position` under `filter`: base64 of JSON, as many APIs make them.
pub(crate) fn encode(position: &Position, filter: &Filter) -> String {
    let cursor = Cursor {
        at: position.clone(),
        since: filter.since,
        order: filter.order,
        include_deleted: filter.include_deleted,
    };
    BASE64.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// The position of the cursor parameter `name` (the start when absent or empty); refused
/// when it is not one of ours or was made for other filters.
pub(crate) fn position(
    name: &str,
    text: Option<&str>,
    filter: &Filter,
) -> Result<Position, Refusal> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Position::Start);
    };
    let cursor: Cursor = BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            Refusal::bad_request(format!(
                "{name} is not a cursor this API gave out: {text:?}"
            ))
        })?;
    let same = cursor.since == filter.since
        && cursor.order == filter.order
        && cursor.include_deleted == filter.include_deleted;
    if !same {
        return Err(Refusal::bad_request(format!(
            "{name} belongs to a list with other filters (updated_since, sort, include_deleted)"
        )));
    }
    Ok(cursor.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::store::Key;

    #[test]
    fn since_takes_any_precision_and_offset() {
        let ms = time::parse_datetime("2026-12-07T10:00:00.123Z").expect("valid");
        for same in [
            "2026-12-07T10:00:00.123Z",
            "2026-12-07T10:00:00.123000+00:00",
            "2026-12-07T10:00:00.123 00:00",
            "2026-12-07T11:00:00.123+01:00",
        ] {
            assert_eq!(parse_since(same), Some(ms), "{same}");
        }
        assert_eq!(parse_since("2026-12-07T10:00:00Z"), Some(ms - 123));
        assert_eq!(parse_since("2026-12-07T10:00:00.1Z"), Some(ms - 23));
        // Within the millisecond: records of .123 are before it.
        assert_eq!(parse_since("2026-12-07T10:00:00.1230001Z"), Some(ms + 1));
        assert_eq!(parse_since("2026-12-07"), None);
        assert!(since("updated_since", "yesterday").is_err());
    }

    #[test]
    fn page_sizes_are_held_to_bounds() {
        assert_eq!(page_size("limit", None), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size("limit", Some("0")), Ok(1));
        assert_eq!(page_size("limit", Some("-5")), Ok(1));
        assert_eq!(page_size("limit", Some("55")), Ok(55));
        assert_eq!(page_size("limit", Some("100000000000000000000")), Ok(100));
        assert!(page_size("limit", Some("ten")).is_err());
        assert_eq!(whole("page", Some("0"), 1, 1).map_err(|_| ()), Err(()));
    }

    #[test]
    fn cursors_round_trip_only_under_their_filters() {
        let filter = Filter {
            since: Some(5),
            order: Order::Updated,
            include_deleted: false,
        };
        let at = Position::After(Key {
            updated: 7,
            id: "r-000003".into(),
        });
        let cursor = encode(&at, &filter);
        assert_eq!(position("cursor", Some(&cursor), &filter), Ok(at));
        let other = Filter {
            since: None,
            ..filter.clone()
        };
        assert!(position("cursor", Some(&cursor), &other).is_err());
        assert!(position("cursor", Some("bm9wZQ"), &filter).is_err());
        assert_eq!(position("cursor", Some(""), &filter), Ok(Position::Start));
    }
}
