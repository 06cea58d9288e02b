//! Seeded data shaped like issue 15's: Salesforce-shaped Accounts and HubSpot-shaped
//! companies, about 30% of the names in both systems, about 3% of the Accounts entered twice
//! (a second Id with the same Name), runs of equal watermarks and a few deletes. The same
//! `(n, seed)` gives the same lines, so a failing seed replays.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use wasync_standins::seed;

/// splitmix64, as the stand-ins' seed data uses: small and the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// One line of a source file, in the order the system saw the change.
#[derive(Debug, Clone)]
pub struct Line {
    /// The record's id in the generated data (the stand-ins give their own).
    pub id: String,
    /// The record's fields, without id, watermark and deleted flag.
    pub fields: Map<String, Value>,
    /// A tombstone: the record was deleted at `second`.
    pub deleted: bool,
    /// Seconds after 2026-01-01T00:00:00Z; several lines share one (runs of equal watermarks).
    pub second: u64,
}

/// Both systems' lines.
#[derive(Debug, Clone)]
pub struct Data {
    pub salesforce: Vec<Line>,
    pub hubspot: Vec<Line>,
}

impl Data {
    /// The ids of the Salesforce Accounts, tombstoned ones included.
    pub fn salesforce_ids(&self) -> BTreeSet<String> {
        self.salesforce.iter().map(|l| l.id.clone()).collect()
    }

    /// The ids of the HubSpot companies.
    pub fn hubspot_ids(&self) -> BTreeSet<String> {
        self.hubspot.iter().map(|l| l.id.clone()).collect()
    }
}

/// Share of HubSpot's names that are Salesforce's too.
const SHARED: f64 = 0.3;
/// Share of Accounts entered a second time.
const TWINS: f64 = 0.03;
/// Chance, after a line, that the next one gets a later second (runs of about three).
const TICK: f64 = 0.35;
/// Chance, after a line, that an earlier record of the same system is deleted.
const DELETES: f64 = 0.004;

/// `n` records per source for `seed`.
pub fn generate(n: usize, seed: u64) -> Data {
    let mut rng = Rng(seed ^ 0xc7a5_11ed);
    let shared = (n as f64 * SHARED) as usize;
    let pool = seed::companies(2 * n - shared, seed);

    let mut salesforce = Stream::new(0);
    for (i, c) in pool[..n].iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("Name".into(), json!(c.name));
        fields.insert("Website".into(), json!(c.website));
        fields.insert("Type".into(), json!(c.company_type));
        fields.insert("Industry".into(), json!(c.industry));
        salesforce.push(&mut rng, format!("001{i:012}"), fields);
        if rng.chance(TWINS) {
            let types = ["Customer", "Prospect", "Partner", "Other"];
            let mut twin = Map::new();
            twin.insert("Name".into(), json!(c.name));
            // The same Website: a twin that blanked Domain would make it flip back and forth
            // (HubSpot gives it too), and the log check counts no repeated change.
            twin.insert("Website".into(), json!(c.website));
            twin.insert("Type".into(), json!(types[rng.below(types.len())]));
            twin.insert("Industry".into(), json!("Media"));
            salesforce.push(&mut rng, format!("002{i:012}"), twin);
        }
    }

    // HubSpot: `shared` of Salesforce's companies and the rest of the pool, shuffled, starting
    // a little later so that the two systems' watermarks interleave.
    let mut picks: Vec<usize> = (0..n).collect();
    for i in 0..shared {
        let j = i + rng.below(n - i);
        picks.swap(i, j);
    }
    let mut companies: Vec<usize> = picks[..shared].to_vec();
    companies.extend(n..pool.len());
    for i in (1..companies.len()).rev() {
        companies.swap(i, rng.below(i + 1));
    }
    let mut hubspot = Stream::new(7);
    for (j, &c) in companies.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(pool[c].name));
        fields.insert("domain".into(), json!(pool[c].domain));
        hubspot.push(&mut rng, format!("{}", 9_000_000_000u64 + j as u64), fields);
    }
    Data {
        salesforce: salesforce.lines,
        hubspot: hubspot.lines,
    }
}

/// One system's lines as they are made: its clock and its tombstones.
struct Stream {
    lines: Vec<Line>,
    second: u64,
    deleted: BTreeSet<String>,
}

impl Stream {
    fn new(start: u64) -> Stream {
        Stream {
            lines: Vec::new(),
            second: start,
            deleted: BTreeSet::new(),
        }
    }

    fn push(&mut self, rng: &mut Rng, id: String, fields: Map<String, Value>) {
        self.lines.push(Line {
            id,
            fields,
            deleted: false,
            second: self.second,
        });
        self.tick(rng);
        if rng.chance(DELETES) {
            let victim = self.lines[rng.below(self.lines.len())].clone();
            if !victim.deleted && self.deleted.insert(victim.id.clone()) {
                self.lines.push(Line {
                    deleted: true,
                    second: self.second,
                    ..victim
                });
                self.tick(rng);
            }
        }
    }

    fn tick(&mut self, rng: &mut Rng) {
        if rng.chance(TICK) {
            self.second += 1;
        }
    }
}

/// `2026-01-01T00:00:00.000` plus `second`, without a zone.
fn timestamp(second: u64) -> String {
    let (day, rest) = (second / 86_400, second % 86_400);
    assert!(day < 31, "generated data spans more than January");
    format!(
        "2026-01-{:02}T{:02}:{:02}:{:02}.000",
        day + 1,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Writes the data as the accounts example's files under `dir/data`.
pub fn write_jsonl(data: &Data, dir: &Path) {
    let write = |sub: &str, text: String| {
        let path = dir.join("data").join(sub);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("data dir");
        std::fs::write(&path, text).expect("write data");
    };
    let lines = |lines: &[Line], id: &str, deleted: &str, watermark: &str, zone: &str| {
        let mut text = String::new();
        for l in lines {
            let mut object = Map::new();
            object.insert(id.into(), json!(l.id));
            object.extend(l.fields.clone());
            object.insert(deleted.into(), json!(l.deleted));
            object.insert(
                watermark.into(),
                json!(format!("{}{zone}", timestamp(l.second))),
            );
            text.push_str(&Value::Object(object).to_string());
            text.push('\n');
        }
        text
    };
    let sf = lines(
        &data.salesforce,
        "Id",
        "IsDeleted",
        "SystemModstamp",
        "+0000",
    );
    write("salesforce/Account.jsonl", sf);
    let hs = lines(&data.hubspot, "id", "archived", "hs_lastmodifieddate", "Z");
    write("hubspot/companies.jsonl", hs);
}

/// The accounts example's pipeline file with `batch_size` and, when `reversed`, its two
/// sources in the other order.
pub fn accounts_pipeline(batch_size: usize, reversed: bool) -> String {
    let text = include_str!("../../examples/accounts/wasync.toml")
        .replace("batch_size = 500", &format!("batch_size = {batch_size}"));
    if !reversed {
        return text;
    }
    swap_sources(&text)
}

/// The pipeline text with its two `[[pipeline.source]]` blocks swapped (they come just
/// before `[pipeline.authority]`).
pub fn swap_sources(text: &str) -> String {
    let first = text.find("[[pipeline.source]]").expect("a first source");
    let second = first
        + 1
        + text[first + 1..]
            .find("[[pipeline.source]]")
            .expect("a second");
    let end = text
        .find("[pipeline.authority]")
        .expect("after the sources");
    format!(
        "{}{}\n\n{}\n\n{}",
        &text[..first],
        text[second..end].trim_end(),
        text[first..second].trim_end(),
        &text[end..]
    )
}
