//! A merge policy that deduplicates by `Name` and misbehaves as a record's `Name` says. The
//! misbehaviours themselves are in the `misbehave` crate, shared with the other hostile
//! guests. A configuration with `refuse` is refused.
//!
//! `match-keys` gives a record whose `Name` is text the key `k:<Name lowercased>` (a record
//! without a text `Name` has no key, so no duplicates), except:
//!
//! | `Name`           | what `match-keys` does for that record                         |
//! |------------------|----------------------------------------------------------------|
//! | `loop`           | spins forever (the host's deadline must stop it)               |
//! | `memory`         | allocates until allocation fails (memory cap)                  |
//! | `trap`           | panics with the message `boom` (a trap)                        |
//! | `recurse`        | recurses without end (a stack overflow trap)                   |
//! | `many:N`         | N distinct keys, `k:many:N:0` .. `k:many:N:{N-1}`              |
//! | `big:N`          | one key of N MiB                                               |
//! | `wait:MS`        | spins for MS ms, then the usual key                            |
//! | `file:PATH`      | one key, `k:` and PATH's text or `error: ...`                  |
//! | `env:NAME`       | one key, `k:` and the variable's value, or `k:` alone          |
//! | `env`            | one key, `k:` and how many variables it sees                   |
//! | `socket:ADDR`    | one key, `k:` and `connected to ADDR` or `error: ...` (no network is granted: it must be an error) |
//! | `log:MESSAGE`    | logs MESSAGE at info, then the usual key                       |
//!
//! (`fail:MSG` is any other text here: `match-keys` has no error per record.)
//!
//! `resolve` picks the first candidate as the winner and fills the winner's empty fields
//! from the others, first non-empty value in candidate order; fields already set keep their
//! value. Unless a candidate's `Name` is `resolve:WORD`, in which case (the first such
//! candidate decides):
//!
//! | `Name`               | what `resolve` does for the group                          |
//! |----------------------|------------------------------------------------------------|
//! | `resolve:loop`       | spins forever                                              |
//! | `resolve:memory`     | allocates until allocation fails                           |
//! | `resolve:trap`       | panics with the message `boom`                             |
//! | `resolve:recurse`    | recurses without end                                       |
//! | `resolve:big:N`      | resolves, setting the winner's `Name` to a text of N MiB   |
//! | `resolve:fail:MSG`   | an `invalid-input` error with MSG for this group alone     |
//! | any other            | resolves as usual                                          |
//!
//! Records named `resolve:WORD` share the key `k:resolve:word`, so two of them make a group.

use misbehave::Word;
use wasync_sdk::{Candidate, Config, Error, Field, MergePolicy, Record, Resolution, Value, log};

struct HostileMerge;

impl MergePolicy for HostileMerge {
    fn new(config: &Config) -> Result<Self, Error> {
        if config.json().get("refuse").is_some() {
            return Err(Error::InvalidConfig("refused as asked".into()));
        }
        Ok(HostileMerge)
    }

    fn match_keys(&self, record: &Record) -> Vec<String> {
        let Some(Value::Text(name)) = record.get("Name") else {
            return Vec::new();
        };
        let usual = || vec![format!("k:{}", name.to_lowercase())];
        if name.starts_with("resolve:") {
            return usual();
        }
        match Word::parse(name) {
            Word::Loop => misbehave::spin(),
            Word::Memory => vec![misbehave::hoard().to_string()],
            Word::Trap => panic!("boom"),
            Word::Recurse => vec![misbehave::recurse().to_string()],
            Word::Many(n) => (0..n).map(|i| format!("k:many:{n}:{i}")).collect(),
            Word::Big(mib) => vec![misbehave::big(mib)],
            Word::Wait(ms) => {
                misbehave::busy_wait(ms);
                usual()
            }
            Word::File(path) => vec![format!("k:{}", misbehave::read_file(path))],
            Word::Env(name) => vec![format!("k:{}", std::env::var(name).unwrap_or_default())],
            Word::EnvCount => vec![format!("k:{}", std::env::vars().count())],
            Word::Socket(addr) => vec![format!("k:{}", misbehave::connect(addr))],
            Word::Log(message) => {
                log::info(message);
                usual()
            }
            Word::Fail(_) | Word::Plain => usual(),
        }
    }

    fn resolve(&self, group: Vec<Candidate>) -> Result<Resolution, Error> {
        let asked = group.iter().find_map(|c| match c.record.get("Name") {
            Some(Value::Text(name)) => name.strip_prefix("resolve:").map(str::to_owned),
            _ => None,
        });
        let mut big = None;
        if let Some(word) = &asked {
            match Word::parse(word) {
                Word::Loop => misbehave::spin(),
                Word::Memory => {
                    misbehave::hoard();
                }
                Word::Trap => panic!("boom"),
                Word::Recurse => {
                    misbehave::recurse();
                }
                Word::Big(mib) => big = Some(misbehave::big(mib)),
                Word::Fail(message) => return Err(Error::InvalidInput(message.to_owned())),
                _ => {}
            }
        }
        let mut fields = fill_empty(&group);
        if let Some(text) = big {
            set(&mut fields, "Name", Value::Text(text));
        }
        Ok(Resolution { winner: 0, fields })
    }
}

/// The first candidate's fields, each empty one filled from the first other candidate that
/// has it non-empty, and fields only the others have added.
fn fill_empty(group: &[Candidate]) -> Vec<Field> {
    let mut fields: Vec<Field> = group
        .first()
        .map(|winner| winner.record.fields.clone())
        .unwrap_or_default();
    for loser in group.iter().skip(1) {
        for field in &loser.record.fields {
            if field.value.is_empty() {
                continue;
            }
            match fields.iter_mut().find(|f| f.name == field.name) {
                Some(mine) if mine.value.is_empty() => mine.value = field.value.clone(),
                Some(_) => {}
                None => fields.push(field.clone()),
            }
        }
    }
    fields
}

fn set(fields: &mut Vec<Field>, name: &str, value: Value) {
    match fields.iter_mut().find(|f| f.name == name) {
        Some(field) => field.value = value,
        None => fields.push(Field {
            name: name.to_owned(),
            value,
        }),
    }
}

wasync_sdk::export_merge_policy!(HostileMerge);
