//! A large first Salesforce read through Bulk API 2.0 query jobs ends exactly where REST
//! queries alone do, a record changed after a job's snapshot included.

use super::*;
use std::collections::BTreeSet;

/// Accounts in the org: enough for a job under the settings below.
const ACCOUNTS: usize = 2_000;
/// The Account changed in Salesforce after the first job took its snapshot.
const RENAMED: usize = 800;

/// HubSpot's companies as (name, city), and the Salesforce requests made, after a sync of
/// the org with `settings` added to the connector's, and the query jobs made.
fn sync_with(settings: &str) -> (BTreeSet<(String, String)>, Vec<String>, usize) {
    let dir = tempfile::tempdir().expect("dir");
    let (sf, hs) = servers();
    let ids: Vec<String> = (0..ACCOUNTS)
        .map(|i| {
            sf.insert(
                "Account",
                &[
                    ("Name", format!("Company {i:04}").into()),
                    ("Type", "Customer".into()),
                    ("BillingCity", format!("City {}", i % 97).into()),
                ],
            )
        })
        .collect();
    // HubSpot as the destination alone: Salesforce is read, not written.
    let path = pipeline(dir.path(), &sf, &hs, |t| {
        let first = t.find("[[pipeline.destination]]").expect("destinations");
        let second = first
            + 1
            + t[first + 1..]
                .find("[[pipeline.destination]]")
                .expect("two");
        let t = format!("{}{}", &t[..first], &t[second..]);
        swap(
            t,
            "[connectors.salesforce.settings]\n",
            &format!("[connectors.salesforce.settings]\n{settings}"),
        )
    });
    let mut engine = engine(&path);
    sf.clear_requests();
    // Two cycles of 200: the first starts a job, the second finds it running.
    cycle(&mut engine);
    cycle(&mut engine);
    sf.update(
        "Account",
        &ids[RENAMED],
        &[("Name", "Renamed Company".into())],
    );
    settle(&mut engine, 40);
    let companies = hs
        .objects("companies")
        .into_iter()
        .filter(|o| !o.archived)
        .map(|o| {
            let get = |k: &str| o.properties.get(k).cloned().unwrap_or_default();
            (get("name"), get("city"))
        })
        .collect();
    let requests = sf.requests().into_iter().map(|l| l.path).collect();
    (companies, requests, sf.query_jobs())
}

#[test]
fn a_large_first_read_through_query_jobs_ends_where_rest_alone_does() {
    let (bulk, bulk_requests, jobs) = sync_with("bulk_above = 300\nbulk_records = 1600\n");
    let (rest, rest_requests, no_jobs) = sync_with("bulk = false\n");

    assert_eq!(bulk.len(), ACCOUNTS, "every Account reached HubSpot once");
    assert_eq!(
        bulk, rest,
        "query jobs and REST pages end in the same place"
    );
    assert!(bulk.contains(&(
        "Renamed Company".to_owned(),
        format!("City {}", RENAMED % 97)
    )));
    assert!(
        !bulk
            .iter()
            .any(|(name, _)| name == &format!("Company {RENAMED:04}"))
    );

    assert_eq!((jobs, no_jobs), (1, 0), "{bulk_requests:#?}");
    let count =
        |requests: &[String], part: &str| requests.iter().filter(|p| p.contains(part)).count();
    // REST alone: a query per page of 200, one for the renamed record, and the quiet
    // cycle's that ends the sync.
    assert_eq!(
        count(&rest_requests, "/queryAll"),
        ACCOUNTS / 200 + 2,
        "{rest_requests:#?}"
    );
    // With a job for 1,600 of them: REST pages before it, while it ran, after it (the
    // last 200, then the renamed record) and the quiet cycle's; a count after the first
    // page and after the first full one past the job; the job made, looked at twice, its
    // results in one call. 11 calls where REST alone made 12.
    let kinds = |p: &String| match p {
        p if p.contains("COUNT") => "count",
        p if p.contains("/queryAll") => "query",
        p if p.ends_with("/jobs/query") => "create",
        p if p.ends_with("/results?maxRecords=25000") => "results",
        p if p.contains("/jobs/query/") => "poll",
        _ => "other",
    };
    let calls: Vec<&str> = bulk_requests
        .iter()
        .map(kinds)
        .filter(|k| *k != "other")
        .collect();
    assert_eq!(
        calls,
        [
            "query", "count", "create", "poll", "query", "poll", "results", "query", "count",
            "query", "query"
        ],
        "{bulk_requests:#?}"
    );
}
