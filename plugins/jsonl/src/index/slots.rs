//! The index's storage, compact so that memory grows by a few dozen bytes per record: every
//! version in fixed-size chunks of slots, ids in chunks of one byte arena, and an
//! open-addressed table from id to slot that holds slot numbers only.
//!
//! Nothing here grows by doubling one large allocation: a plugin's memory never shrinks, so
//! a doubling's moment of old and new buffers would stay its size for good.

use super::Mark;
use crate::span::Span;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// Slots per chunk.
const SLOTS: usize = 4096;
/// Bytes per chunk of the id arena; a longer id gets a chunk of its own.
const ID_BYTES: usize = 1 << ID_SHIFT;

/// One version of a record, as taken in from its line.
#[derive(Debug)]
pub struct Slot {
    pub mark: Mark,
    pub span: Span,
    id: IdRef,
    /// The line number, for messages.
    pub line: u32,
    pub deleted: bool,
    /// A line that is not a record: its message is in [`Slots::broken`].
    pub broken: bool,
    /// A later line has the same id: this version is gone at the next compaction.
    pub superseded: bool,
}

/// Where an id's bytes are in the arena: the chunk in the high bits of `at`, the offset in
/// it in the low [`ID_SHIFT`].
#[derive(Debug, Clone, Copy)]
struct IdRef {
    at: u32,
    len: u32,
}

/// Bits of an [`IdRef`]'s offset within its chunk.
const ID_SHIFT: u32 = 18;

/// Every version taken in, the ids, and the table from id to the latest version.
#[derive(Debug, Default)]
pub struct Slots {
    chunks: Vec<Vec<Slot>>,
    ids: Vec<Vec<u8>>,
    latest: HashTable<u32>,
    /// Slots in all.
    count: usize,
    /// Superseded slots not yet compacted away.
    pub superseded: usize,
}

impl Slots {
    /// Slots in all, superseded ones included.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Records (latest versions).
    pub fn records(&self) -> usize {
        self.latest.len()
    }

    pub fn get(&self, slot: u32) -> &Slot {
        let slot = slot as usize;
        &self.chunks[slot / SLOTS][slot % SLOTS]
    }

    fn get_mut(&mut self, slot: u32) -> &mut Slot {
        let slot = slot as usize;
        &mut self.chunks[slot / SLOTS][slot % SLOTS]
    }

    /// The id of a slot.
    pub fn id(&self, slot: u32) -> &str {
        // Ids are stored from `&str`s only.
        std::str::from_utf8(self.id_bytes(slot)).unwrap_or_default()
    }

    /// The id of a slot as bytes: what comparisons need, without checking UTF-8 again.
    pub fn id_bytes(&self, slot: u32) -> &[u8] {
        id_bytes(&self.ids, self.get(slot).id)
    }

    /// The slot of the latest version of `id`.
    pub fn latest(&self, id: &str) -> Option<u32> {
        (self.latest)
            .find(hash(id.as_bytes()), |&slot| {
                self.id_bytes(slot) == id.as_bytes()
            })
            .copied()
    }

    /// Adds a version of `id` and makes it the latest; returns its slot and the slot it
    /// supersedes. The id's bytes are kept once, however many versions it has.
    pub fn push(&mut self, id: &str, mut slot: Slot) -> (u32, Option<u32>) {
        let number = u32::try_from(self.len()).unwrap_or(u32::MAX);
        let Slots {
            chunks,
            ids,
            latest,
            ..
        } = self;
        // One hash and one probe, to find the latest version or make room for the first.
        let old = match latest.entry(
            hash(id.as_bytes()),
            |&s| id_bytes(ids, slot_at(chunks, s).id) == id.as_bytes(),
            |&s| hash(id_bytes(ids, slot_at(chunks, s).id)),
        ) {
            Entry::Occupied(mut entry) => Some(std::mem::replace(entry.get_mut(), number)),
            Entry::Vacant(entry) => {
                entry.insert(number);
                None
            }
        };
        slot.id = match old {
            Some(old) => {
                self.get_mut(old).superseded = true;
                self.superseded += 1;
                self.get(old).id
            }
            None => self.store_id(id),
        };
        self.append(slot);
        (number, old)
    }

    fn append(&mut self, slot: Slot) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < SLOTS => chunk.push(slot),
            _ => {
                let mut chunk = Vec::with_capacity(SLOTS);
                chunk.push(slot);
                self.chunks.push(chunk);
            }
        }
        self.count += 1;
    }

    fn store_id(&mut self, id: &str) -> IdRef {
        let bytes = id.as_bytes();
        let fits = |chunk: &Vec<u8>| chunk.len() + bytes.len() <= chunk.capacity().min(ID_BYTES);
        if !self.ids.last().is_some_and(fits) {
            self.ids.push(Vec::with_capacity(ID_BYTES.max(bytes.len())));
        }
        let chunk = self.ids.len() - 1;
        let arena = &mut self.ids[chunk];
        // A long id has a chunk of its own, so it starts at 0: an offset fits the low bits.
        let at = arena.len() as u32;
        arena.extend_from_slice(bytes);
        IdRef {
            at: ((chunk as u32) << ID_SHIFT) | at,
            len: bytes.len() as u32,
        }
    }

    /// Drops superseded slots, the others keeping their order; returns the new number of
    /// each slot, by old number (`u32::MAX` for those dropped). Chunks are moved one at a
    /// time, so the slots are never held twice.
    pub fn compact(&mut self) -> Vec<u32> {
        let mut renumber = vec![u32::MAX; self.count];
        let old = std::mem::take(&mut self.chunks);
        self.count = 0;
        let mut number = 0;
        for chunk in old {
            for slot in chunk {
                if !slot.superseded {
                    renumber[number] = self.count as u32;
                    self.append(slot);
                }
                number += 1;
            }
        }
        for slot in self.latest.iter_mut() {
            *slot = renumber[*slot as usize];
        }
        self.superseded = 0;
        renumber
    }
}

fn slot_at(chunks: &[Vec<Slot>], slot: u32) -> &Slot {
    let slot = slot as usize;
    &chunks[slot / SLOTS][slot % SLOTS]
}

fn id_bytes(ids: &[Vec<u8>], id: IdRef) -> &[u8] {
    let (chunk, at) = (id.at >> ID_SHIFT, id.at & ((1 << ID_SHIFT) - 1));
    &ids[chunk as usize][at as usize..][..id.len as usize]
}

/// The id's hash for the table: rustc's FxHash, a word at a time (SipHash over every line
/// was a tenth of a load's start).
fn hash(bytes: &[u8]) -> u64 {
    crate::span::hash(bytes)
}

impl Slot {
    pub fn new(mark: Mark, span: Span, line: u64) -> Slot {
        Slot {
            mark,
            span,
            id: IdRef { at: 0, len: 0 },
            line: u32::try_from(line).unwrap_or(u32::MAX),
            deleted: false,
            broken: false,
            superseded: false,
        }
    }
}
