//! The index kept beside its file (`.Account.jsonl.index`), so that a new process takes in
//! only what was appended since, not the whole file again: on a file of 100,000 records
//! that parse was a third of taking in 10,000 changes.
//!
//! The kept index is a cache, never the truth. It is written whole to a temporary file and
//! renamed over the last one, and read back only when its format, its entity's settings and
//! a checksum of its bytes all agree; the file is then checked against it as any file is
//! against a live index (only appended to since, or taken in again from the start), and
//! every line read back is checked against its hash. A kept index that cannot be written
//! (a read-only directory, a full disk) or read is simply not used.

use super::{Index, Seen, Slot, Slots};
use crate::settings::{EntitySettings, Kind};
use crate::span::{Span, hash};
use crate::value::Mark;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasync_sdk::Value;

/// The format, first in the file: a kept index of another format is not read.
const MAGIC: &[u8; 8] = b"wsjidx01";

/// Where the index of the file at `path` is kept: beside it, hidden.
pub fn path_for(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(path.with_file_name(format!(".{name}.index")))
}

/// Whether enough was taken in since the index was last kept to keep it again: a MiB, and
/// an eighth of the file, so a long file of small appends is not rewritten for each.
pub fn worth_keeping(index: &Index) -> bool {
    let new = index.offset.saturating_sub(index.kept);
    new >= (1 << 20) && new >= index.offset / 8
}

/// Keeps `index` beside the file at `path`.
pub fn save(index: &mut Index, path: &Path, entity: &EntitySettings) -> std::io::Result<()> {
    index.settle();
    let bytes = encode(index, entity);
    let Some(kept) = path_for(path) else {
        return Ok(());
    };
    let partial = kept.with_extension("index.partial");
    std::fs::write(&partial, &bytes)?;
    std::fs::rename(&partial, &kept)?;
    index.kept = index.offset;
    Ok(())
}

/// The index kept beside the file at `path`, when there is one that can be used.
pub fn load(path: &Path, entity: &EntitySettings) -> Option<Index> {
    let bytes = std::fs::read(path_for(path)?).ok()?;
    decode(&bytes, entity)
}

fn encode(index: &Index, entity: &EntitySettings) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(64 * index.slots.records() + 1024));
    out.0.extend_from_slice(MAGIC);
    out.settings(entity);
    out.u64(index.offset);
    out.u64(index.lines);
    out.bytes(&index.file.tail);
    out.time(index.file.modified);
    out.strings(&index.fields);
    out.strings(&index.last_keys);
    out.option(index.max_mark.as_ref(), |out, mark| out.value(&mark.0));
    out.option(index.max_timestamp.as_ref(), |out, t| out.u64(*t as u64));
    // The latest versions, in (watermark, id) order: read back, they are the order.
    let live: Vec<u32> = (index.order.iter().copied())
        .filter(|&slot| !index.slots.get(slot).superseded)
        .collect();
    out.u64(live.len() as u64);
    let mut position = HashMap::with_capacity(index.keys_of.len());
    for (n, &number) in live.iter().enumerate() {
        let slot = index.slots.get(number);
        out.value(&slot.mark.0);
        let (at, len, line_hash) = slot.span.parts();
        out.u64(at);
        out.u32(len);
        out.u32(line_hash);
        out.u32(slot.line);
        out.0
            .push(u8::from(slot.deleted) | u8::from(slot.broken) << 1);
        out.str(index.slots.id(number));
        out.option(index.keys_of.get(&number), |out, key| out.str(key));
        out.option(index.broken.get(&number), |out, message| out.str(message));
        // Where the keys' slots land, for the keys below: only slots with a key have one.
        if index.keys_of.contains_key(&number) {
            position.insert(number, n as u64);
        }
    }
    let keys: Vec<(&String, u64)> = (index.keys.iter())
        .filter_map(|(key, slot)| Some((key, *position.get(slot)?)))
        .collect();
    out.u64(keys.len() as u64);
    for (key, n) in keys {
        out.str(key);
        out.u64(n);
    }
    let sum = hash(&out.0);
    out.u64(sum);
    out.0
}

fn decode(bytes: &[u8], entity: &EntitySettings) -> Option<Index> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if hash(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut input = In(body.strip_prefix(MAGIC)?);
    if input.settings()? != settings_of(entity) {
        return None;
    }
    let mut index = Index {
        offset: input.u64()?,
        lines: input.u64()?,
        ..Index::default()
    };
    index.file = Seen {
        tail: input.bytes()?.to_vec(),
        modified: input.time()?,
    };
    index.fields = input.strings()?;
    index.seen = index.fields.iter().cloned().collect();
    index.last_keys = input.strings()?;
    index.max_mark = input.option(|input| input.value().map(Mark))?;
    index.max_timestamp = input.option(|input| input.u64().map(|t| t as i64))?;
    let count = input.u64()?;
    let mut slots = Slots::default();
    for _ in 0..count {
        let mark = Mark(input.value()?);
        let span = Span::from_parts(input.u64()?, input.u32()?, input.u32()?);
        let line = input.u32()?;
        let flags = input.u8()?;
        let id = input.str()?;
        let key = input.option(|input| input.str().map(Box::from))?;
        let message = input.option(|input| input.str().map(String::from))?;
        let mut slot = Slot::new(mark, span, u64::from(line));
        slot.deleted = flags & 1 != 0;
        slot.broken = flags & 2 != 0;
        let (number, old) = slots.push(id, slot);
        if old.is_some() {
            return None;
        }
        if let Some(key) = key {
            index.keys_of.insert(number, key);
        }
        if let Some(message) = message {
            index.broken.insert(number, message);
        }
    }
    index.slots = slots;
    index.order = (0..count as u32).collect();
    index.sorted = index.order.len();
    for _ in 0..input.u64()? {
        let key = input.str()?.to_owned();
        let slot = u32::try_from(input.u64()?)
            .ok()
            .filter(|&s| u64::from(s) < count)?;
        index.keys.insert(key, slot);
    }
    if !input.0.is_empty() {
        return None;
    }
    index.kept = index.offset;
    Some(index)
}

/// What of an entity's settings shapes its index: a kept index made under others is not
/// used.
fn settings_of(entity: &EntitySettings) -> Vec<u8> {
    let mut out = Out(Vec::new());
    out.settings(entity);
    out.0
}

struct Out(Vec<u8>);

impl Out {
    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn strings(&mut self, texts: &[String]) {
        self.u64(texts.len() as u64);
        texts.iter().for_each(|text| self.str(text));
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        self.0.push(u8::from(value.is_some()));
        if let Some(value) = value {
            write(self, value);
        }
    }

    fn time(&mut self, time: Option<SystemTime>) {
        let since = time.and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        self.option(since, |out, since| {
            out.u64(since.as_secs());
            out.u32(since.subsec_nanos());
        });
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.0.push(0),
            Value::Boolean(b) => self.0.extend_from_slice(&[1, u8::from(*b)]),
            Value::Integer(n) => {
                self.0.push(2);
                self.u64(*n as u64);
            }
            Value::Float(x) => {
                self.0.push(3);
                self.u64(x.to_bits());
            }
            Value::Text(text) => {
                self.0.push(4);
                self.str(text);
            }
            Value::Timestamp(t) => {
                self.0.push(5);
                self.u64(*t as u64);
            }
            Value::Json(text) => {
                self.0.push(6);
                self.str(text);
            }
        }
    }

    fn settings(&mut self, entity: &EntitySettings) {
        self.str(&entity.id_field);
        self.str(&entity.watermark_field);
        self.option(entity.deleted_field.as_deref(), Self::str);
        self.option(entity.upsert_key.as_deref(), Self::str);
        self.0.push(match entity.kind {
            Kind::Object => 0,
            Kind::Event => 1,
        });
    }
}

/// A kept index being read: every read is checked against what is left.
struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        self.take(len)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let count = self.u64()?;
        // Each string takes at least its length's eight bytes.
        if count > self.0.len() as u64 / 8 {
            return None;
        }
        (0..count).map(|_| self.str().map(String::from)).collect()
    }

    fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }

    fn time(&mut self) -> Option<Option<SystemTime>> {
        self.option(|input| {
            let since = Duration::new(input.u64()?, input.u32()?);
            UNIX_EPOCH.checked_add(since)
        })
    }

    fn value(&mut self) -> Option<Value> {
        Some(match self.u8()? {
            0 => Value::Null,
            1 => Value::Boolean(self.u8()? != 0),
            2 => Value::Integer(self.u64()? as i64),
            3 => Value::Float(f64::from_bits(self.u64()?)),
            4 => Value::Text(self.str()?.to_owned()),
            5 => Value::Timestamp(self.u64()? as i64),
            6 => Value::Json(self.str()?.to_owned()),
            _ => return None,
        })
    }

    fn settings(&mut self) -> Option<Vec<u8>> {
        let start = self.0;
        self.str()?;
        self.str()?;
        self.option(|input| input.str())?;
        self.option(|input| input.str())?;
        self.u8()?;
        Some(start[..start.len() - self.0.len()].to_vec())
    }
}
