//! The live state of one system (a JSON Lines file or a stand-in's table) and how two runs'
//! states differ: records only in one, content that differs, and duplicate creates.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

pub type Record = Map<String, Value>;
/// Live records by id, without the fields the comparison ignores.
pub type Live = BTreeMap<String, Record>;

/// How one system's records are read and compared.
pub struct Side {
    /// For messages: `salesforce/Account.jsonl`.
    pub label: &'static str,
    pub id: &'static str,
    /// Where wasync keeps the unified id of what it wrote.
    pub wasync_id: &'static str,
    pub name: &'static str,
    /// Fields that differ between runs by nature: watermarks, timestamps.
    pub ignored: &'static [&'static str],
}

pub const SF_FILE: Side = Side {
    label: "salesforce/Account.jsonl",
    id: "Id",
    wasync_id: "Wasync_Id__c",
    name: "Name",
    ignored: &["SystemModstamp"],
};

pub const HS_FILE: Side = Side {
    label: "hubspot/companies.jsonl",
    id: "id",
    wasync_id: "wasync_id",
    name: "name",
    ignored: &["hs_lastmodifieddate"],
};

pub const SF_STANDIN: Side = Side {
    label: "Salesforce stand-in Accounts",
    id: "Id",
    wasync_id: "Wasync_Id__c",
    name: "Name",
    ignored: &["SystemModstamp", "LastModifiedDate", "CreatedDate"],
};

pub const HS_STANDIN: Side = Side {
    label: "HubSpot stand-in companies",
    id: "hs_object_id",
    wasync_id: "wasync_id",
    name: "name",
    ignored: &["hs_lastmodifieddate", "createdate"],
};

/// The live state of a JSON Lines file: the last line per id, tombstones dropped.
///
/// A kill can cut an append short inside its one `write` (Linux stops a write to a file at
/// a fatal signal). The `jsonl` connector then ends that torn line before it appends again
/// and the rerun writes its records whole, so the torn line stays in the file as a bad
/// line, by design. Such a line is the start of a JSON object cut off: it is skipped here.
/// Any other line that is not a JSON object fails the test.
pub fn jsonl(path: &Path, side: &Side, deleted: &str) -> Live {
    let text = std::fs::read_to_string(path).expect("read a data file");
    let mut last = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => record,
            Err(e) if e.is_eof() && line.starts_with('{') => continue,
            _ => panic!("{}: not a JSON object line: {line}", path.display()),
        };
        let id = match record.get(side.id) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => panic!("{}: a line without {}: {line}", path.display(), side.id),
        };
        last.insert(id, record);
    }
    live(last, side, |r| {
        r.get(deleted) == Some(&Value::Bool(true)) || r.get("_deleted") == Some(&Value::Bool(true))
    })
}

/// Keeps the records `deleted` says are live, without the ignored fields.
pub fn live(records: Live, side: &Side, deleted: impl Fn(&Record) -> bool) -> Live {
    records
        .into_iter()
        .filter(|(_, r)| !deleted(r))
        .map(|(id, mut r)| {
            for f in side.ignored {
                r.remove(*f);
            }
            (id, r)
        })
        .collect()
}

/// How two runs' states of one system differ.
#[derive(Default)]
pub struct SideDiff {
    pub label: String,
    pub live: (usize, usize),
    /// Original (source) records live in one run only.
    pub only_reference: Vec<String>,
    pub only_run: Vec<String>,
    /// Original records whose content differs: id, reference, run.
    pub content: Vec<(String, String, String)>,
    /// Records wasync created, by content, in one run only.
    pub created_only_reference: Vec<String>,
    pub created_only_run: Vec<String>,
}

impl SideDiff {
    pub fn is_clean(&self) -> bool {
        self.only_reference.is_empty()
            && self.only_run.is_empty()
            && self.content.is_empty()
            && self.created_only_reference.is_empty()
            && self.created_only_run.is_empty()
    }

    /// Counts per category and a few examples of each.
    pub fn summary(&self, reference: &str, run: &str) -> String {
        let mut s = format!(
            "{}: {} live in {reference}, {} in {run}\n",
            self.label, self.live.0, self.live.1
        );
        let mut list = |what: String, items: Vec<String>| list(&mut s, &what, &items);
        list(
            format!("source records live only in {reference}"),
            self.only_reference.clone(),
        );
        list(
            format!("source records live only in {run}"),
            self.only_run.clone(),
        );
        list(
            "source records whose content differs".into(),
            self.content
                .iter()
                .map(|(id, a, b)| format!("{id}\n      {reference}: {a}\n      {run}: {b}"))
                .collect(),
        );
        list(
            format!("created records only in {reference}"),
            self.created_only_reference.clone(),
        );
        list(
            format!("created records only in {run}"),
            self.created_only_run.clone(),
        );
        s
    }
}

/// Appends `what: count` and the first few items to `s`, when there are any.
pub fn list(s: &mut String, what: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(s, "  {what}: {}", items.len());
    for item in items.iter().take(3) {
        let _ = writeln!(s, "    {item}");
    }
}

fn text(r: &Record) -> String {
    Value::Object(r.clone()).to_string()
}

/// A created record's content: without its id and unified id, which depend on which source
/// record a unified record was first made from.
fn content(side: &Side, r: &Record) -> String {
    let mut r = r.clone();
    r.remove(side.id);
    r.remove(side.wasync_id);
    r.remove("id");
    text(&r)
}

/// Compares two runs' live states; `originals` are the source records' ids (the rest were
/// created by wasync).
pub fn compare(
    side: &Side,
    originals: &BTreeSet<String>,
    reference: &Live,
    run: &Live,
) -> SideDiff {
    let created = |live: &Live| -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, r) in live.iter().filter(|(id, _)| !originals.contains(*id)) {
            *counts.entry(content(side, r)).or_insert(0) += 1;
        }
        counts
    };
    let (created_a, created_b) = (created(reference), created(run));
    let missing = |a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>| {
        a.iter()
            .flat_map(|(k, n)| {
                let extra = n.saturating_sub(b.get(k).copied().unwrap_or(0));
                std::iter::repeat_n(k.clone(), extra)
            })
            .collect()
    };
    let original = |live: &Live| -> BTreeSet<String> {
        live.keys()
            .filter(|id| originals.contains(*id))
            .cloned()
            .collect()
    };
    let (a, b) = (original(reference), original(run));
    SideDiff {
        label: side.label.to_owned(),
        live: (reference.len(), run.len()),
        only_reference: a.difference(&b).map(|id| text(&reference[id])).collect(),
        only_run: b.difference(&a).map(|id| text(&run[id])).collect(),
        content: a
            .intersection(&b)
            .filter(|id| reference[*id] != run[*id])
            .map(|id| (id.clone(), text(&reference[id]), text(&run[id])))
            .collect(),
        created_only_reference: missing(&created_a, &created_b),
        created_only_run: missing(&created_b, &created_a),
    }
}

fn normalised(r: &Record, field: &str) -> Option<String> {
    r.get(field)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

/// Created records that duplicate another live record of the same system: the same unified
/// id, or the same name (the unified record's twin was there to be matched).
pub fn duplicate_creates(side: &Side, originals: &BTreeSet<String>, live: &Live) -> Vec<String> {
    let mut by_wasync: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for (id, r) in live {
        if let Some(w) = normalised(r, side.wasync_id) {
            by_wasync.entry(w).or_default().push(id);
        }
        if let Some(n) = normalised(r, side.name) {
            by_name.entry(n).or_default().push(id);
        }
    }
    let mut found = Vec::new();
    for (key, ids, what) in by_wasync
        .iter()
        .map(|(k, v)| (k, v, side.wasync_id))
        .chain(by_name.iter().map(|(k, v)| (k, v, side.name)))
    {
        if ids.len() > 1 && ids.iter().any(|id| !originals.contains(*id)) {
            let records: Vec<String> = ids.iter().map(|id| text(&live[*id])).collect();
            found.push(format!("{what} {key:?} on {}", records.join(" and ")));
        }
    }
    found
}

/// Field changes in the transaction log that repeat another's record, op, field, old and new
/// value, and source: a change applied twice (this data changes no field back and forth).
pub fn txlog_repeats(store: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store");
    let mut statement = conn
        .prepare(
            "SELECT t.record_id, t.op, c.value, t.source, count(*), group_concat(t.seq)
             FROM txlog t, json_each(t.changes) c
             GROUP BY t.entity, t.record_id, t.op, c.value, t.source
             HAVING count(*) > 1",
        )
        .expect("prepare");
    statement
        .query_map([], |r| {
            Ok(format!(
                "{} {}: {} from {} ({} times: seq {})",
                r.get::<_, String>(1)?,
                r.get::<_, String>(0)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}
