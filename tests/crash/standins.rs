//! The Salesforce and HubSpot stand-ins in this test process (so they outlive every killed
//! `wasync`), loaded with generated data, and the demo's pipeline pointed at them.

use crate::campaign::Writes;
use crate::generate::{Data, Line};
use crate::live::{self, Live, Record};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasync_standins::hubspot::{self, HubSpot};
use wasync_standins::salesforce::{self, Salesforce};

/// Both stand-ins, loaded, with the ids they gave the generated records.
pub struct Systems {
    pub sf: Salesforce,
    pub hs: HubSpot,
    /// The ids of the records loaded (the rest were created by wasync).
    pub sf_ids: BTreeSet<String>,
    pub hs_ids: BTreeSet<String>,
}

/// Fresh stand-ins with `data` loaded in its order.
pub fn start(data: &Data) -> Systems {
    let sf = salesforce::start(salesforce::Options {
        tokens: Vec::new(),
        oauth: Some(wasync::demo::oauth_client()),
        daily_limit: 1_000_000,
        ..salesforce::Options::default()
    })
    .expect("salesforce stand-in");
    let hs = hubspot::start(hubspot::Options {
        tokens: vec!["demo-private-app-token".into()],
        // The host's rate limits are not what is tested here.
        search_per_second: 10_000,
        ten_secondly_limit: 100_000,
        daily_limit: 10_000_000,
        ..hubspot::Options::default()
    })
    .expect("hubspot stand-in");
    let sf_ids = load(&data.salesforce, |l, ids| match l.deleted {
        false => sf.insert("Account", &fields(l)),
        true => {
            sf.delete("Account", &ids[&l.id]);
            ids[&l.id].clone()
        }
    });
    // The stand-ins stamp records with their own clocks: a millisecond shared by the last
    // Accounts and the first companies would order them by chance, and two runs would not
    // be given the same data. Every company is stamped after every Account.
    std::thread::sleep(std::time::Duration::from_millis(3));
    let hs_ids = load(&data.hubspot, |l, ids| match l.deleted {
        false => {
            let props: Vec<(&str, String)> = fields(l)
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect();
            let props: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            hs.create("companies", &props)
        }
        true => {
            hs.archive("companies", &ids[&l.id]);
            ids[&l.id].clone()
        }
    });
    Systems {
        sf,
        hs,
        sf_ids,
        hs_ids,
    }
}

fn fields(l: &Line) -> Vec<(&str, Value)> {
    l.fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect()
}

/// Loads `lines` through `apply` (which gets the ids so far and returns the stand-in's id);
/// the stand-in ids of the records.
fn load(
    lines: &[Line],
    apply: impl Fn(&Line, &BTreeMap<String, String>) -> String,
) -> BTreeSet<String> {
    let mut ids = BTreeMap::new();
    for l in lines {
        let id = apply(l, &ids);
        ids.insert(l.id.clone(), id);
    }
    ids.into_values().collect()
}

impl Systems {
    /// The demo's pipeline for these stand-ins in `dir`, with `batch_size`, rate limits out
    /// of the way.
    pub fn pipeline(&self, dir: &Path, batch_size: usize) -> PathBuf {
        let mut text = wasync::demo::pipeline(&self.sf.url(), &self.hs.url());
        for (from, to) in [
            (
                "requests = 25, per_seconds = 1",
                "requests = 1000, per_seconds = 1",
            ),
            (
                "requests = 4, per_seconds = 1",
                "requests = 1000, per_seconds = 1",
            ),
            ("daily_budget = 15000", "daily_budget = 1000000"),
            ("backoff_ms = 200", "backoff_ms = 20"),
            ("batch_size = 200", &format!("batch_size = {batch_size}")),
        ] {
            // A replace that matched nothing would leave the demo's real limits in place.
            assert!(text.contains(from), "the demo's pipeline has {from:?}");
            text = text.replace(from, to);
        }
        let path = dir.join("wasync.toml");
        std::fs::write(&path, text).expect("write the pipeline");
        path
    }

    /// Live Accounts by id.
    pub fn accounts(&self) -> Live {
        let all = self
            .sf
            .records("Account")
            .into_iter()
            .map(|r| (r["Id"].as_str().unwrap_or_default().to_owned(), r))
            .collect();
        live::live(all, &live::SF_STANDIN, |r| {
            r.get("IsDeleted") == Some(&Value::Bool(true))
        })
    }

    /// Live companies by id.
    pub fn companies(&self) -> Live {
        let all = self
            .hs
            .objects("companies")
            .into_iter()
            .filter(|o| !o.archived)
            .map(|o| {
                let record: Record = o
                    .properties
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                (o.id, record)
            })
            .collect();
        live::live(all, &live::HS_STANDIN, |_| false)
    }
}

impl Writes for Systems {
    fn applied(&self) -> u64 {
        self.sf.writes_applied() + self.hs.writes_applied()
    }

    fn hold(&self, delay: Duration) {
        self.sf.delay_writes(delay);
        self.hs.delay_writes(delay);
    }
}
