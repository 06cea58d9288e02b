//! The collections: records by id, their soft deletion, and the two orders lists read
//! them in (by id; by `updated_at`, ties by descending id), kept until the next write so
//! that a walk over a large collection does not sort it again for every page.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Refusal;
use crate::time;

/// Fields the server sets; a write that names one is refused.
const READ_ONLY: [&str; 2] = ["id", "updated_at"];

/// Checks fields a client wants to write: none the server sets, a plausible `email`.
pub(crate) fn validate(fields: &Map<String, Value>) -> Result<(), Refusal> {
    for name in READ_ONLY {
        if fields.contains_key(name) {
            return Err(Refusal::invalid(
                name,
                format!("{name} is read-only: the server sets it"),
            ));
        }
    }
    if let Some(Value::String(email)) = fields.get("email")
        && !email.contains('@')
    {
        return Err(Refusal::invalid(
            "email",
            format!("{email:?} is not an email address"),
        ));
    }
    Ok(())
}

/// One record.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: String,
    /// `updated_at`, in milliseconds since the epoch.
    pub updated: i64,
    pub deleted: bool,
    /// Every other field, as last written.
    pub fields: Map<String, Value>,
}

impl Record {
    /// The record as the API shows it.
    pub(crate) fn render(&self) -> Value {
        let mut out = self.fields.clone();
        out.insert("id".into(), Value::String(self.id.clone()));
        out.insert(
            "updated_at".into(),
            Value::String(time::iso_z(self.updated)),
        );
        if self.deleted {
            out.insert("deleted".into(), Value::Bool(true));
        }
        Value::Object(out)
    }

    /// The position just after this record.
    pub(crate) fn key(&self) -> Key {
        Key {
            updated: self.updated,
            id: self.id.clone(),
        }
    }

    fn set(&mut self, fields: Map<String, Value>, now: i64) {
        self.fields.extend(fields);
        self.updated = now;
    }
}

/// The order a list reads records in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Order {
    /// By ascending id (creation order for server ids): not a watermark order.
    Id,
    /// By ascending `updated_at`, ties by descending id.
    Updated,
}

/// Which records a list shows, and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Only records with `updated_at` at or after this (milliseconds).
    pub since: Option<i64>,
    pub order: Order,
    pub include_deleted: bool,
}

/// A record's place in either order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Key {
    pub updated: i64,
    pub id: String,
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Position {
    Start,
    /// Just after the record with this key (which may have changed or gone since).
    After(Key),
}

/// The records of one collection in both orders, deleted ones included or not (slots into
/// [`Collection::records`]).
#[derive(Debug)]
struct Orders {
    by_id: Vec<usize>,
    by_id_live: Vec<usize>,
    by_updated: Vec<usize>,
    by_updated_live: Vec<usize>,
    /// The last `updated_since` filter read by id (`since`, `include_deleted`) and what it
    /// matched, so that a walk through its pages filters the collection once.
    by_id_since: Option<(i64, bool, Vec<usize>)>,
}

impl Orders {
    fn build(records: &[Record], ids: &BTreeMap<String, usize>) -> Orders {
        let by_id: Vec<usize> = ids.values().copied().collect();
        let mut by_updated: Vec<usize> = by_id.iter().rev().copied().collect();
        // A stable sort keeps the records of one `updated_at` by descending id.
        by_updated.sort_by_key(|&slot| records[slot].updated);
        let live = |slots: &[usize]| -> Vec<usize> {
            slots
                .iter()
                .copied()
                .filter(|&slot| !records[slot].deleted)
                .collect()
        };
        Orders {
            by_id_live: live(&by_id),
            by_updated_live: live(&by_updated),
            by_id,
            by_updated,
            by_id_since: None,
        }
    }

    fn slots(&self, order: Order, include_deleted: bool) -> &[usize] {
        match (order, include_deleted) {
            (Order::Id, true) => &self.by_id,
            (Order::Id, false) => &self.by_id_live,
            (Order::Updated, true) => &self.by_updated,
            (Order::Updated, false) => &self.by_updated_live,
        }
    }

    /// The records by id updated at or after `since`: one pass over the collection, kept
    /// for the next pages.
    fn by_id_since(&mut self, records: &[Record], since: i64, include_deleted: bool) -> &[usize] {
        let kept =
            matches!(&self.by_id_since, Some((s, d, _)) if (*s, *d) == (since, include_deleted));
        if !kept {
            let slots = self
                .slots(Order::Id, include_deleted)
                .iter()
                .copied()
                .filter(|&slot| records[slot].updated >= since)
                .collect();
            self.by_id_since = Some((since, include_deleted, slots));
        }
        self.by_id_since
            .as_ref()
            .map_or(&[], |(_, _, slots)| slots.as_slice())
    }
}

/// The records a list matches, in its order.
#[derive(Debug)]
pub(crate) struct View<'a> {
    records: &'a [Record],
    slots: &'a [usize],
    order: Order,
}

impl<'a> View<'a> {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The `i`-th matching record.
    pub(crate) fn get(&self, i: usize) -> Option<&'a Record> {
        self.slots.get(i).map(|&slot| &self.records[slot])
    }

    /// The index of the first record at `position` (binary search: O(log n)).
    pub(crate) fn index(&self, position: &Position) -> usize {
        let Position::After(key) = position else {
            return 0;
        };
        let after = Reverse(key.id.as_str());
        self.slots.partition_point(|&slot| {
            let record = &self.records[slot];
            match self.order {
                Order::Id => record.id <= key.id,
                Order::Updated => {
                    (record.updated, Reverse(record.id.as_str())) <= (key.updated, after)
                }
            }
        })
    }
}

/// The records of one entity.
#[derive(Debug, Default)]
pub(crate) struct Collection {
    /// Every record, in the order created; slots never move.
    records: Vec<Record>,
    /// Id → slot.
    ids: BTreeMap<String, usize>,
    /// The number of the last server-assigned id.
    last_number: u64,
    /// Both orders, until the next write.
    orders: Option<Orders>,
}

impl Collection {
    /// A record, deleted or not.
    pub(crate) fn get(&self, id: &str) -> Option<&Record> {
        self.ids.get(id).map(|&slot| &self.records[slot])
    }

    /// Every record, deleted ones included, by ascending id.
    pub(crate) fn records(&self) -> impl Iterator<Item = &Record> {
        self.ids.values().map(|&slot| &self.records[slot])
    }

    /// The records `filter` matches: O(log n), after a sort once per write and, to read by
    /// id `updated_since`, a pass over the collection once per filter.
    pub(crate) fn view(&mut self, filter: &Filter) -> View<'_> {
        let orders = self
            .orders
            .get_or_insert_with(|| Orders::build(&self.records, &self.ids));
        let records = self.records.as_slice();
        let include_deleted = filter.include_deleted;
        let slots = match (filter.since, filter.order) {
            (None, order) => orders.slots(order, include_deleted),
            (Some(since), Order::Updated) => {
                let slots = orders.slots(Order::Updated, include_deleted);
                &slots[slots.partition_point(|&slot| records[slot].updated < since)..]
            }
            (Some(since), Order::Id) => orders.by_id_since(records, since, include_deleted),
        };
        View {
            records,
            slots,
            order: filter.order,
        }
    }

    fn add(&mut self, record: Record) -> &Record {
        self.orders = None;
        let slot = self.records.len();
        self.ids.insert(record.id.clone(), slot);
        self.records.push(record);
        &self.records[slot]
    }

    /// Creates a record under the next free server id (`r-000001`, ...; ids a client
    /// chose with `PUT` are skipped).
    pub(crate) fn create(&mut self, fields: Map<String, Value>, now: i64) -> &Record {
        let id = loop {
            self.last_number += 1;
            let id = format!("r-{:06}", self.last_number);
            if !self.ids.contains_key(&id) {
                break id;
            }
        };
        self.add(Record {
            id,
            updated: now,
            deleted: false,
            fields,
        })
    }

    /// Creates the record `id`, or sets the given fields of it and undeletes it; says
    /// whether it was created.
    pub(crate) fn put(
        &mut self,
        id: &str,
        fields: Map<String, Value>,
        now: i64,
    ) -> (bool, &Record) {
        let Some(&slot) = self.ids.get(id) else {
            let record = Record {
                id: id.to_owned(),
                updated: now,
                deleted: false,
                fields,
            };
            return (true, self.add(record));
        };
        self.orders = None;
        let record = &mut self.records[slot];
        record.set(fields, now);
        record.deleted = false;
        (false, record)
    }

    /// Sets the given fields of a live record; `None` when it is missing or deleted.
    pub(crate) fn patch(
        &mut self,
        id: &str,
        fields: Map<String, Value>,
        now: i64,
    ) -> Option<&Record> {
        let record = self.live_mut(id)?;
        record.set(fields, now);
        Some(record)
    }

    /// Deletes a live record softly; `false` when it is missing or already deleted.
    pub(crate) fn delete(&mut self, id: &str, now: i64) -> bool {
        let Some(record) = self.live_mut(id) else {
            return false;
        };
        record.deleted = true;
        record.updated = now;
        true
    }

    /// A live record about to change.
    fn live_mut(&mut self, id: &str) -> Option<&mut Record> {
        let slot = *self.ids.get(id)?;
        let record = &mut self.records[slot];
        if record.deleted {
            return None;
        }
        self.orders = None;
        Some(record)
    }
}

/// The API's faults beyond the shared queue: how many answers each still applies to.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub short_pages: u32,
    pub repeat_cursor: u32,
}

impl Faults {
    /// Whether this list answer ends early (uses one up).
    pub(crate) fn take_short_page(&mut self) -> bool {
        take(&mut self.short_pages)
    }

    /// Whether this answer's next-page token repeats (uses one up).
    pub(crate) fn take_repeat_cursor(&mut self) -> bool {
        take(&mut self.repeat_cursor)
    }
}

fn take(times: &mut u32) -> bool {
    let some = *times > 0;
    *times = times.saturating_sub(1);
    some
}

/// Everything the API holds.
#[derive(Debug, Default)]
pub(crate) struct Data {
    collections: HashMap<String, Collection>,
    pub faults: Faults,
}

impl Data {
    pub(crate) fn collection(&self, entity: &str) -> Option<&Collection> {
        self.collections.get(entity)
    }

    /// A collection that exists (something was created in it).
    pub(crate) fn existing_mut(&mut self, entity: &str) -> Option<&mut Collection> {
        self.collections.get_mut(entity)
    }

    /// A collection, created if new.
    pub(crate) fn collection_mut(&mut self, entity: &str) -> &mut Collection {
        self.collections.entry(entity.to_owned()).or_default()
    }
}
