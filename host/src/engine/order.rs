//! The order a cycle takes changes in: by watermark, then source, then as each source gave
//! them, whatever the batch size or the order the sources are listed in. Sources are read
//! in step, by time: a change made later in one system is never taken before an earlier
//! change in another, so the end state does not depend on how the reads are paged.

use super::{Pipeline, Source};
use crate::store::encode_value;
use crate::wit::Value;
use crate::wit::external::Page;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Mutex, PoisonError};

/// A point in the order the sources' changes are taken in: (watermark, source). Within one
/// source and watermark the connector's own order holds (ids sort differently per system).
pub type Point<'a> = (&'a Value, &'a str);

/// Where this cycle's reads stop so that the sources move in step, by time: the earliest end
/// among the pages that have more after them. Without it a change made later in one system
/// could be taken in a cycle before an earlier change in another, and the end state would
/// depend on page sizes. `None` when every page is the last, or when the sources' watermarks
/// are not of one comparable kind (then each source goes at its own pace).
pub fn horizon(p: &Pipeline, pages: &[(usize, Page)]) -> Option<(Value, String)> {
    let mut kinds = pages
        .iter()
        .flat_map(|(_, page)| page.records.first())
        .map(|r| std::mem::discriminant(&r.watermark));
    let first = kinds.next()?;
    if kinds.any(|k| k != first) || pages.len() < 2 {
        return None;
    }
    pages
        .iter()
        .filter(|(_, page)| page.more)
        .filter_map(|(index, page)| {
            let last = page.records.last()?;
            Some((&last.watermark, p.sources[*index].label.as_str()))
        })
        .min_by(|a, b| order(a.0, a.1, *b))
        .map(|(w, label)| (w.clone(), label.to_owned()))
}

/// Orders a change of source `label` against point `to`.
pub fn order(watermark: &Value, label: &str, to: Point<'_>) -> Ordering {
    compare_watermarks(watermark, to.0).then_with(|| label.cmp(to.1))
}

/// Watermarks of one kind by value; of different kinds, by kind.
fn compare_watermarks(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Integer(x), Value::Integer(y)) => {
            x.cmp(y)
        }
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => kind(a).cmp(&kind(b)),
    }
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Boolean(_) => 1,
        Value::Integer(_) => 2,
        Value::Float(_) => 3,
        Value::Timestamp(_) => 4,
        Value::Text(_) => 5,
        Value::Json(_) => 6,
    }
}

/// What a source's last read brought past the cycle's horizon, kept for its next cycle so it
/// is not asked for again; and whether that read left it behind. Only in memory: after a
/// restart a source is read again from its stored cursor.
#[derive(Default)]
pub struct Ahead {
    kept: Mutex<Option<Kept>>,
    behind: AtomicBool,
}

struct Kept {
    /// The stored cursor (watermark JSON, id) they follow.
    after: Option<(String, String)>,
    page: Page,
}

impl Ahead {
    /// The page to take instead of reading, if any. It must follow the stored cursor
    /// `after` (a cycle that did not finish left the cursor behind, and then the source is
    /// read again from there). A source read to its end is not asked again while another
    /// source is behind: what it has now lies past the horizon, and would wait anyway.
    pub fn take(&self, after: Option<&(String, String)>, others_behind: bool) -> Option<Page> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let done = kept.page.records.is_empty() && !kept.page.more;
        (kept.after.as_ref() == after && (others_behind || !done)).then_some(kept.page)
    }

    /// Whether the last read left more to read.
    pub fn behind(&self) -> bool {
        self.behind.load(AtomicOrdering::Relaxed)
    }

    /// Keeps `page` (following cursor `after`) for the next cycle: records past the horizon,
    /// or nothing when the source was read to its end. An empty page with more after it
    /// would stand in for a read that is needed, so it is not kept.
    fn keep(&self, after: Option<(String, String)>, page: Page, behind: bool) {
        self.behind.store(behind, AtomicOrdering::Relaxed);
        let kept = (!page.records.is_empty() || !page.more).then_some(Kept { after, page });
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = kept;
    }
}

/// Cuts `page` of `source` at horizon `h`, if any: what lies past it waits for a later
/// cycle, the cursor before it; it is kept (see [`Ahead`]), and so is a page that ended the
/// source. `stored` is the source's cursor now. Whether records past the horizon were kept.
pub fn cut(
    source: &Source,
    page: &mut Page,
    h: Option<&(Value, String)>,
    stored: Option<(String, String)>,
) -> bool {
    // The page that set the horizon is taken whole; another stops before the horizon.
    let at = h
        .filter(|(_, label)| *label != source.label)
        .and_then(|(w, label)| {
            page.records
                .iter()
                .position(|r| order(&r.watermark, &source.label, (w, label)) != Ordering::Less)
        });
    let rest = Page {
        records: at.map(|at| page.records.split_off(at)).unwrap_or_default(),
        more: page.more,
    };
    page.more |= !rest.records.is_empty();
    let after = match page.records.last() {
        Some(last) => Some((encode_value(&last.watermark).to_string(), last.id.clone())),
        None => stored,
    };
    let kept = !rest.records.is_empty();
    source.ahead.keep(after, rest, page.more);
    kept
}
