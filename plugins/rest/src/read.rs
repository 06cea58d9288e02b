//! A read: the changes after a (watermark, id) cursor, sorted by it, at most a limit.
//!
//! The API is asked for the changes since the cursor's watermark (inclusive: every record at
//! the watermark comes again, and those at or before the cursor are skipped here), and its
//! pages are walked until the read can answer:
//!
//! - **Ascending lists** stop once `limit` records are known to come before the latest
//!   watermark seen. Ties come in any order, so the records at that watermark are held back
//!   until a later one shows the run is complete; a run longer than `limit` is read whole.
//!   When a page looks wrong (a repeated token, a short page in the middle), the read ends
//!   there with what is surely complete, and the next read starts again from it.
//! - **Unordered lists** are walked to their end and sorted. A page that looks wrong fails
//!   the read, since nothing says which records were missed.
//!
//! What a read fetched beyond its answer is kept, with where the walk was, for the read that
//! continues from its last record: a list is walked once however the host pages it, at the
//! fewest calls the API allows. A kept walk that fails to go on (a token expired while the
//! host waited) is dropped, and the read starts again from its cursor.

use crate::Rest;
use crate::page::{Place, Step, Walk};
use crate::settings::{EntitySettings, Order};
use crate::values::{IdKey, Key, Mark, record, since_text};
use wasync_sdk::{Error, Page, ReadRequest, Record, Value};

/// A read under way: what was fetched and not yet answered, and where the walk is.
pub struct Progress {
    entity: String,
    until: Option<Value>,
    /// The last record answered: the next read continues after it.
    last: Option<Key>,
    /// Fetched records after `last`, unsorted.
    records: Vec<(Key, Record)>,
    /// The latest watermark seen, and how many of `records` come before it (ascending
    /// lists: surely complete).
    latest: Option<Mark>,
    complete: usize,
    /// The watermark the last record read had, for one that has none of its own.
    fallback: Value,
    /// Where the walk is; `None` once the list ended.
    walk: Option<Place>,
}

pub fn read(rest: &Rest, e: &EntitySettings, request: &ReadRequest) -> Result<Page, Error> {
    let after = cursor_key(request)?;
    let until = match &request.until {
        Some(bound) => Some(Mark::of(bound).ok_or_else(|| {
            Error::InvalidInput(format!("a read's bound must be a watermark, not {bound:?}"))
        })?),
        None => None,
    };
    let kept = rest
        .progress
        .borrow_mut()
        .take()
        .filter(|p| p.entity == request.entity && p.last == after && p.until == request.until);
    let limit = request.limit.max(1) as usize;
    if let Some(progress) = kept {
        let walking = progress.walk.is_some();
        match answer(rest, e, progress, until.as_ref(), limit) {
            Err(error) if walking => {
                let message = format!("{}: going on with a kept walk failed ({error})", e.path);
                wasync_sdk::log::info(&format!("{message}; reading again from the cursor"));
            }
            done => return done,
        }
    }
    let since = match (&request.after, &e.since) {
        (Some(cursor), Some(_)) => Some(
            since_text(&cursor.watermark, e.since_format()).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the cursor's watermark {:?} cannot be written as `since.format` asks",
                    cursor.watermark
                ))
            })?,
        ),
        _ => None,
    };
    let fresh = Progress {
        entity: request.entity.clone(),
        until: request.until.clone(),
        last: after,
        records: Vec::new(),
        latest: None,
        complete: 0,
        fallback: request
            .after
            .as_ref()
            .map_or(Value::Null, |c| c.watermark.clone()),
        walk: Some(Place::start(since)),
    };
    answer(rest, e, fresh, until.as_ref(), limit)
}

fn cursor_key(request: &ReadRequest) -> Result<Option<Key>, Error> {
    let Some(cursor) = &request.after else {
        return Ok(None);
    };
    let watermark = Mark::of(&cursor.watermark).ok_or_else(|| {
        Error::InvalidInput(format!(
            "a cursor's watermark must be a time, an integer or text, not {:?}",
            cursor.watermark
        ))
    })?;
    Ok(Some(Key {
        watermark,
        id: IdKey::new(&cursor.id),
    }))
}

/// Walks on until `progress` can answer `limit` records, answers, and keeps the rest.
fn answer(
    rest: &Rest,
    e: &EntitySettings,
    mut progress: Progress,
    until: Option<&Mark>,
    limit: usize,
) -> Result<Page, Error> {
    let ordered = e.order == Order::Ascending;
    while let Some(place) = progress.walk.take() {
        if ordered && progress.complete >= limit {
            progress.walk = Some(place);
            break;
        }
        let mut walk = Walk::new(&rest.api, e, place);
        let (page, step) = walk.next()?;
        let place = walk.place();
        let (past_until, step) = match take(&mut progress, e, &page, until)? {
            Taken::Page { past_until } => (past_until, step),
            Taken::Again(id) => (
                false,
                Step::Wrong(format!(
                    "the API listed record `{id}` again, behind later ones: its paging went back"
                )),
            ),
        };
        progress.walk = match step {
            Step::End => None,
            _ if ordered && past_until => None,
            Step::Next => Some(place),
            Step::Wrong(why) if ordered && progress.complete > 0 => {
                wasync_sdk::log::warn(&format!(
                    "{}: {why}; this read ends at the last complete watermark, the next starts \
                     there",
                    e.path
                ));
                // Nothing after what is complete can be trusted: start again from there.
                sort(&mut progress.records);
                progress.records.truncate(progress.complete);
                let answerable = progress.records.len().min(limit);
                return Ok(reply(rest, progress, answerable, Next::StartAgain));
            }
            Step::Wrong(why) => return Err(Error::Unavailable(format!("{}: {why}", e.path))),
        };
    }
    sort(&mut progress.records);
    let answerable = match progress.walk {
        None => progress.records.len(),
        Some(_) => progress.complete,
    };
    let next = match progress.walk.is_some() || answerable > limit {
        true => Next::GoOn,
        false => Next::Done,
    };
    Ok(reply(rest, progress, answerable.min(limit), next))
}

/// Sorts records by key, keeping one of each: a page an API served twice brings nothing
/// twice.
fn sort(records: &mut Vec<(Key, Record)>) {
    records.sort_by(|a, b| a.0.cmp(&b.0));
    records.dedup_by(|a, b| a.0 == b.0);
}

/// What a page brought.
enum Taken {
    /// Its records, and whether it went past the read's bound.
    Page { past_until: bool },
    /// An ascending list that went back to a record it had listed (this id): a page
    /// repeated, which the rest of the page is not taken from.
    Again(String),
}

/// Takes a page's records into `progress`: those after its cursor and up to `until`.
fn take(
    progress: &mut Progress,
    e: &EntitySettings,
    page: &[serde_json::Value],
    until: Option<&Mark>,
) -> Result<Taken, Error> {
    let mut past_until = false;
    for json in page {
        let record = record(json, e, &progress.fallback);
        progress.fallback = record.watermark.clone();
        let Some(key) = Key::of(&record) else {
            continue;
        };
        if e.order == Order::Ascending {
            if progress.latest.as_ref().is_some_and(|l| key.watermark < *l) {
                let seen = progress.last.as_ref().is_some_and(|last| key <= *last)
                    || progress.records.iter().any(|(k, _)| *k == key);
                if seen {
                    return Ok(Taken::Again(record.id));
                }
                return Err(Error::Other(format!(
                    "`{}` is configured with `order = \"ascending\"`, but the API listed \
                     watermark {:?} after a later one",
                    e.path, record.watermark
                )));
            }
            if progress.latest.as_ref() != Some(&key.watermark) {
                progress.complete = progress.records.len();
                progress.latest = Some(key.watermark.clone());
            }
        }
        if until.is_some_and(|u| key.watermark > *u) {
            past_until = true;
        } else if progress.last.as_ref().is_none_or(|last| key > *last) {
            progress.records.push((key, record));
        }
    }
    Ok(Taken::Page { past_until })
}

/// What follows an answer.
#[derive(PartialEq)]
enum Next {
    /// The list is answered to its end.
    Done,
    /// The next read goes on where this one stopped.
    GoOn,
    /// The next read starts again from its cursor.
    StartAgain,
}

/// Answers the first `count` of the (sorted) records, and keeps the rest for the read that
/// continues after the last of them.
fn reply(rest: &Rest, mut progress: Progress, count: usize, next: Next) -> Page {
    let rest_of = progress.records.split_off(count);
    let answered = std::mem::replace(&mut progress.records, rest_of);
    progress.complete = progress.complete.saturating_sub(count);
    if let Some((key, _)) = answered.last() {
        progress.last = Some(key.clone());
    }
    if next == Next::GoOn && !answered.is_empty() {
        *rest.progress.borrow_mut() = Some(progress);
    }
    Page {
        records: answered.into_iter().map(|(_, r)| r).collect(),
        more: next != Next::Done,
    }
}
