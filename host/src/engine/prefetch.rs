//! Reading ahead: while a cycle works on a source's page, the source's next page is read on
//! a thread of its own, so a long read (the first sync of a large source) takes the second
//! core instead of waiting its turn. On a load of one `jsonl` source, reading was a fifth of
//! the time.
//!
//! The page read ahead is the next cycle's read, done early: the next cycle takes it only if
//! the source's stored cursor is then where the page starts. A cycle that failed moved no
//! cursor, and the source is read again from it. What a source gains after the read ahead
//! lies past the page's end (a change is stamped later than what was there before, and the
//! page had more after it), so the next read still finds it.

use crate::wit::external::Page;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

/// A source's next page, being read.
#[derive(Default)]
pub struct ReadAhead(Mutex<Option<Next>>);

struct Next {
    /// The stored cursor (watermark JSON, id) the page follows.
    after: (String, String),
    /// The read; `None` when it failed (the next cycle reads again, and reports why).
    read: JoinHandle<Option<Page>>,
}

impl ReadAhead {
    /// Starts `read`, of the page after cursor `after`, on a thread of its own.
    pub fn start(
        &self,
        after: (String, String),
        read: impl FnOnce() -> Option<Page> + Send + 'static,
    ) {
        let read = std::thread::Builder::new()
            .name("wasync-read-ahead".into())
            .spawn(read);
        // Without a thread, the next cycle reads as it would have.
        let next = read.ok().map(|read| Next { after, read });
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = next;
    }

    /// The page read ahead, if it follows the stored cursor `stored` and the read worked.
    /// Waits for the read to finish.
    pub fn take(&self, stored: Option<&(String, String)>) -> Option<Page> {
        let next = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let page = next.read.join().ok().flatten();
        page.filter(|_| stored == Some(&next.after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::Record;

    fn page(ids: &[&str]) -> Page {
        let records = ids
            .iter()
            .map(|id| Record {
                id: (*id).to_owned(),
                watermark: crate::wit::Value::Integer(1),
                fields: Vec::new(),
                deleted: false,
            })
            .collect();
        Page {
            records,
            more: true,
        }
    }

    fn cursor(id: &str) -> (String, String) {
        ("1".to_owned(), id.to_owned())
    }

    /// The page is the next cycle's read only where that cycle starts: after a cycle that
    /// failed (the cursor did not move) it is dropped, and so is a read that failed. Either
    /// way it is taken once.
    #[test]
    fn a_page_read_ahead_is_taken_only_where_the_next_read_starts() {
        let ahead = ReadAhead::default();
        ahead.start(cursor("b"), || Some(page(&["c", "d"])));
        let taken = ahead.take(Some(&cursor("b"))).expect("taken");
        assert_eq!(taken.records.len(), 2);
        assert!(ahead.take(Some(&cursor("b"))).is_none(), "taken once");

        ahead.start(cursor("b"), || Some(page(&["c"])));
        assert!(
            ahead.take(Some(&cursor("a"))).is_none(),
            "the cursor stayed at a"
        );
        assert!(ahead.take(None).is_none());

        ahead.start(cursor("b"), || None);
        assert!(ahead.take(Some(&cursor("b"))).is_none(), "a failed read");
    }
}
