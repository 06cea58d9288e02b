//! How a record's per-field stamps are kept: grouped by stamp, most fields sharing one.
//!
//! Written as one JSON object of field to `{source, at}`, a record's stamps took more bytes
//! than its values (18 fields: 1,210 bytes against 844). A record's fields mostly share one
//! stamp, the source record that last set them all; so the stored form is a JSON array of
//! groups `[source, at, field, ...]`, and the first group may name no fields: it then covers
//! every field of the record that no other group names. Stores from before keep the object
//! form, which still reads.

use super::Stamp;
use crate::wit::Value;
use serde::ser::{SerializeSeq, Serializer};
use std::collections::BTreeMap;

/// The stored form of `meta`, for a record holding `fields`.
pub fn encode(meta: &BTreeMap<String, Stamp>, fields: &BTreeMap<String, Value>) -> String {
    // Both maps are sorted: the same keys are the same sequence.
    let implicit = meta.len() == fields.len() && meta.keys().eq(fields.keys());
    let mut stamps = meta.values();
    if let Some(first) = stamps.next()
        && implicit
        && stamps.all(|s| s.at == first.at && s.source == first.source)
    {
        // The common case, written straight away: one stamp for every field.
        return serde_json::to_string(&[Group(first, &[])]).unwrap_or_else(|_| "[]".into());
    }
    let mut groups: Vec<(&Stamp, Vec<&str>)> = Vec::new();
    for (field, stamp) in meta {
        // Times first: comparing the sources of every field was a tenth of a save.
        match groups
            .iter_mut()
            .find(|(s, _)| s.at == stamp.at && s.source == stamp.source)
        {
            Some((_, names)) => names.push(field),
            None => groups.push((stamp, vec![field])),
        }
    }
    // The largest group names no fields when the stamps cover exactly the record's fields.
    if let Some(largest) = (0..groups.len()).max_by_key(|&i| (groups[i].1.len(), usize::MAX - i)) {
        groups.swap(0, largest);
    }
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::new(&mut out);
    let written = (|| {
        let mut seq = ser.serialize_seq(Some(groups.len()))?;
        for (i, (stamp, names)) in groups.iter().enumerate() {
            let names = if i == 0 && implicit { &[][..] } else { names };
            seq.serialize_element(&Group(stamp, names))?;
        }
        seq.end()
    })();
    match written {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => "[]".into(),
    }
}

/// The stamps a stored form stands for, for a record holding `fields`; anything unreadable
/// reads as no stamps (authority then treats the fields as never stamped).
pub fn decode(text: &str, fields: &BTreeMap<String, Value>) -> BTreeMap<String, Stamp> {
    if text.starts_with('{') {
        return serde_json::from_str(text).unwrap_or_default();
    }
    let Ok(groups) = serde_json::from_str::<Vec<Vec<serde_json::Value>>>(text) else {
        return BTreeMap::new();
    };
    let mut meta = BTreeMap::new();
    let mut implicit = None;
    for group in &groups {
        let (Some(source), Some(at)) = (
            group.first().and_then(|s| s.as_str()),
            group.get(1).and_then(|a| a.as_i64()),
        ) else {
            continue;
        };
        let stamp = Stamp {
            source: source.into(),
            at,
        };
        if group.len() == 2 {
            implicit = Some(stamp);
            continue;
        }
        for name in group[2..].iter().filter_map(|n| n.as_str()) {
            meta.insert(name.to_owned(), stamp.clone());
        }
    }
    if let Some(stamp) = implicit {
        if meta.is_empty() {
            // The common case: one stamp for every field, the map built at once.
            return fields.keys().map(|f| (f.clone(), stamp.clone())).collect();
        }
        for field in fields.keys() {
            if !meta.contains_key(field) {
                meta.insert(field.clone(), stamp.clone());
            }
        }
    }
    meta
}

/// One group as a JSON array: source, at, then the fields.
struct Group<'a>(&'a Stamp, &'a [&'a str]);

impl serde::Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2 + self.1.len()))?;
        seq.serialize_element(&self.0.source)?;
        seq.serialize_element(&self.0.at)?;
        for name in self.1 {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(source: &str, at: i64) -> Stamp {
        Stamp {
            source: source.into(),
            at,
        }
    }

    fn fields(names: &[&str]) -> BTreeMap<String, Value> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Value::Text("v".into())))
            .collect()
    }

    /// Every shape of stamps reads back as it was written: one stamp for all, several, a
    /// field without a stamp, a stamp for a field the record no longer holds, none.
    #[test]
    fn stamps_read_back_as_written() {
        let f = fields(&["A", "B", "C", "D"]);
        let shapes: Vec<BTreeMap<String, Stamp>> = vec![
            f.keys()
                .map(|k| (k.clone(), stamp("sf/Account", 5)))
                .collect(),
            BTreeMap::from([
                ("A".into(), stamp("hs/companies", 9)),
                ("B".into(), stamp("sf/Account", 5)),
                ("C".into(), stamp("sf/Account", 5)),
                ("D".into(), stamp("sf/Account", 7)),
            ]),
            BTreeMap::from([
                ("A".into(), stamp("sf/Account", 5)),
                ("B".into(), stamp("sf/Account", 5)),
            ]),
            BTreeMap::from([
                ("A".into(), stamp("sf/Account", 5)),
                ("B".into(), stamp("sf/Account", 5)),
                ("C".into(), stamp("sf/Account", 5)),
                ("Gone".into(), stamp("sf/Account", 5)),
            ]),
            BTreeMap::new(),
        ];
        for meta in shapes {
            let text = encode(&meta, &f);
            assert_eq!(decode(&text, &f), meta, "{text}");
        }
    }

    /// One stamp for all fields is written once, with no field names: the bulk of a
    /// record's stamps before.
    #[test]
    fn one_stamp_for_all_fields_is_written_once() {
        let f = fields(&["AccountSource", "AnnualRevenue", "BillingCity"]);
        let meta = f
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    stamp("salesforce/Account", 1_767_229_138_000_000),
                )
            })
            .collect();
        assert_eq!(
            encode(&meta, &f),
            r#"[["salesforce/Account",1767229138000000]]"#
        );
    }

    /// A store written before keeps its object form, which reads as it always did; junk
    /// reads as no stamps.
    #[test]
    fn the_old_form_still_reads() {
        let f = fields(&["A"]);
        let old = r#"{"A":{"source":"sf/Account","at":3}}"#;
        assert_eq!(
            decode(old, &f),
            BTreeMap::from([("A".into(), stamp("sf/Account", 3))])
        );
        assert!(decode("[[1,2,3]]", &f).is_empty());
        assert!(decode("junk", &f).is_empty());
    }
}
