//! Lists: every paging style, filters, orders, and the faults that break paging clients.

use std::thread::sleep;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Client, ids};

const ENTITY: &str = "tickets";
/// More pages than any walk here needs: a walk that goes on is caught, not endless.
const MAX_PAGES: usize = 100;

/// The paging styles, each on its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Cursor,
    Next,
    Link,
    Offset,
    Page,
    Search,
}

const STYLES: [Style; 6] = [
    Style::Cursor,
    Style::Next,
    Style::Link,
    Style::Offset,
    Style::Page,
    Style::Search,
];

/// 250 records in runs of ten that share one `updated_at`; their ids in order.
fn seed(client: &Client) -> Vec<String> {
    (0..25)
        .flat_map(|run| {
            let rows = (0..10).map(move |i| json!({ "n": run * 10 + i }));
            client.api.insert_many(ENTITY, rows)
        })
        .collect()
}

fn ok(answer: Answer) -> Answer {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
}

/// `&name=value...` for a query string.
fn query(pairs: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).expect("encodable");
    if encoded.is_empty() {
        encoded
    } else {
        format!("&{encoded}")
    }
}

/// The target of a `Link` header's `rel="next"`.
fn next_link(link: Option<&str>) -> Option<String> {
    link?
        .split(", ")
        .find(|part| part.ends_with("rel=\"next\""))
        .and_then(|part| part.split_once('<'))
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(url, _)| url.to_owned())
}

fn extend(seen: &mut Vec<Value>, records: &Value) {
    seen.extend(records.as_array().expect("records").iter().cloned());
}

/// Every record a client that follows `style`'s pages of 20 sees, in order; `filters` are
/// list parameters (`updated_since`, `sort`, `include_deleted`).
fn walk(client: &Client, style: Style, filters: &[(&str, &str)]) -> Value {
    let q = query(filters);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut url = match style {
        Style::Next => format!("/next/{ENTITY}?page_size=20{q}"),
        _ => format!("/link/{ENTITY}?per_page=20{q}"),
    };
    for page in 1..=MAX_PAGES {
        let done = match style {
            Style::Cursor => {
                let a = ok(client.get(&format!("/cursor/{ENTITY}?limit=20&cursor={cursor}{q}")));
                extend(&mut seen, &a.body["data"]);
                let next = a.body["meta"]["next_cursor"].as_str().map(str::to_owned);
                next.map(|next| cursor = next).is_none()
            }
            Style::Next | Style::Link => {
                let a = ok(client.get(&url));
                let records = if style == Style::Next {
                    &a.body["results"]
                } else {
                    &a.body
                };
                extend(&mut seen, records);
                let next = match style {
                    Style::Next => a.body["next"].as_str().map(str::to_owned),
                    _ => next_link(a.link.as_deref()),
                };
                next.map(|next| url = next).is_none()
            }
            Style::Offset => {
                let offset = (page - 1) * 20;
                let a = ok(client.get(&format!("/offset/{ENTITY}?offset={offset}&limit=20{q}")));
                extend(&mut seen, &a.body["items"]);
                offset + 20 >= a.body["total"].as_u64().expect("a total") as usize
            }
            Style::Page => {
                let a = ok(client.get(&format!("/page/{ENTITY}?page={page}&per_page=20{q}")));
                extend(&mut seen, &a.body["data"]);
                page as u64 >= a.body["total_pages"].as_u64().expect("total_pages")
            }
            Style::Search => {
                let mut body = json!({ "limit": 20, "filter": {} });
                for (name, value) in filters {
                    match *name {
                        "sort" => body["sort"] = json!(value),
                        "include_deleted" => body["filter"][name] = json!(*value == "true"),
                        _ => body["filter"][name] = json!(value),
                    }
                }
                if !cursor.is_empty() {
                    body["after"] = json!(cursor);
                }
                let target = format!("/search/{ENTITY}");
                let a = ok(client.send(Method::POST, &target, Some(&body)));
                extend(&mut seen, &a.body["records"]);
                let next = a.body["next_after"].as_str().map(str::to_owned);
                next.map(|next| cursor = next).is_none()
            }
        };
        if done {
            return Value::Array(seen);
        }
    }
    panic!("{style:?} went on past {MAX_PAGES} pages");
}

fn updated_at(record: &Value) -> &str {
    record["updated_at"].as_str().expect("updated_at")
}

#[test]
fn every_style_walks_every_record_once() {
    let client = Client::new();
    let all = seed(&client);
    assert_eq!(all.len(), 250);
    for style in STYLES {
        assert_eq!(ids(&walk(&client, style, &[])), all, "{style:?} by id");
        let walked = walk(&client, style, &[("sort", "updated_at")]);
        let records = walked.as_array().expect("records");
        assert!(
            records
                .windows(2)
                .all(|w| updated_at(&w[0]) <= updated_at(&w[1])),
            "{style:?} by updated_at"
        );
        let mut got = ids(&walked);
        got.sort();
        assert_eq!(got, all, "{style:?} by updated_at");
    }
}

#[test]
fn updated_since_is_inclusive() {
    let client = Client::new();
    client
        .api
        .insert_many(ENTITY, vec![json!({"batch": "a"}); 2]);
    sleep(Duration::from_millis(5));
    let mut expected = client
        .api
        .insert_many(ENTITY, vec![json!({"batch": "b"}); 3]);
    sleep(Duration::from_millis(5));
    expected.push(client.api.insert(ENTITY, json!({"batch": "c"})));
    let record = client.api.get(ENTITY, &expected[0]).expect("stored");
    let since = updated_at(&record).to_owned();
    assert!(since.ends_with('Z') && since.len() == 24, "{since}");
    for style in STYLES {
        for sort in [&[][..], &[("sort", "updated_at")][..]] {
            let filters = [&[("updated_since", since.as_str())][..], sort].concat();
            let mut got = ids(&walk(&client, style, &filters));
            got.sort();
            assert_eq!(got, expected, "{style:?} {sort:?}");
        }
    }
    for spelling in [since.replace('Z', "+00:00"), since.replace('Z', "000Z")] {
        let got = ids(&walk(
            &client,
            Style::Cursor,
            &[("updated_since", &spelling)],
        ));
        assert_eq!(got, expected, "{spelling}");
    }
    // Plain seconds: the start of that second, so b and c at least.
    let second = format!("{}Z", &since[..19]);
    let got = ids(&walk(&client, Style::Offset, &[("updated_since", &second)]));
    assert!(expected.iter().all(|id| got.contains(id)), "{second}");
    // A microsecond later: b's records are before it.
    let later = since.replace('Z', "001Z");
    let got = ids(&walk(&client, Style::Page, &[("updated_since", &later)]));
    assert_eq!(got, expected[3..], "{later}");
    let refused = client.get(&format!("/cursor/{ENTITY}?updated_since=yesterday"));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"], "bad_request");
    let message = refused.body["message"].as_str().expect("a message");
    assert!(message.contains("updated_since"), "{message}");
}

#[test]
fn ties_by_updated_at_are_not_in_id_order() {
    let client = Client::new();
    let created = client.api.insert_many(ENTITY, vec![json!({}); 5]);
    let by_id = ok(client.get(&format!("/cursor/{ENTITY}")));
    assert_eq!(ids(&by_id.body["data"]), created);
    let by_updated = ok(client.get(&format!("/cursor/{ENTITY}?sort=updated_at")));
    let mut reversed = created.clone();
    reversed.reverse();
    assert_eq!(ids(&by_updated.body["data"]), reversed);
}

#[test]
fn short_pages_end_early_and_only_counted_paging_skips_the_rest() {
    let client = Client::new();
    let all = seed(&client);
    let without_10_to_20 = [&all[..10], &all[20..]].concat();
    for style in STYLES {
        client.api.short_pages(1);
        let keyset = matches!(style, Style::Cursor | Style::Next | Style::Search);
        let expected = if keyset { &all } else { &without_10_to_20 };
        assert_eq!(&ids(&walk(&client, style, &[])), expected, "{style:?}");
    }
    client.api.short_pages(3);
    let offset = ok(client.get(&format!("/offset/{ENTITY}?limit=20")));
    assert_eq!(
        (
            offset.body["items"].as_array().map(Vec::len),
            offset.body["total"].as_u64()
        ),
        (Some(10), Some(250))
    );
    let page = ok(client.get(&format!("/page/{ENTITY}?per_page=20&page=13")));
    assert_eq!(ids(&page.body["data"]), all[240..245]);
    assert_eq!(page.body["total_pages"], 13);
    let next = ok(client.get(&format!("/next/{ENTITY}?page_size=20")));
    assert_eq!(next.body["count"], 250);
    assert_eq!(next.body["results"].as_array().map(Vec::len), Some(10));
    // Used up: whole pages again.
    let whole = ok(client.get(&format!("/cursor/{ENTITY}?limit=20")));
    assert_eq!(ids(&whole.body["data"]), all[..20]);
}

#[test]
fn repeated_cursors_lead_back_to_the_same_page() {
    let client = Client::new();
    let all = seed(&client);
    let first = ok(client.get(&format!("/cursor/{ENTITY}?limit=20")));
    let c1 = first.body["meta"]["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    client.api.repeat_cursor(1);
    let second = format!("/cursor/{ENTITY}?limit=20&cursor={c1}");
    let repeated = ok(client.get(&second));
    assert_eq!(ids(&repeated.body["data"]), all[20..40]);
    assert_eq!(repeated.body["meta"]["next_cursor"], c1.as_str());
    let again = ok(client.get(&second));
    assert_ne!(again.body["meta"]["next_cursor"], c1.as_str());

    let first = ok(client.get(&format!("/next/{ENTITY}?page_size=20&sort=updated_at")));
    let n1 = first.body["next"].as_str().expect("a next URL").to_owned();
    client.api.repeat_cursor(1);
    assert_eq!(ok(client.get(&n1)).body["next"], n1.as_str());

    client.api.repeat_cursor(1);
    let link = ok(client.get(&format!("/link/{ENTITY}?per_page=20&page=2")));
    let next = next_link(link.link.as_deref()).expect("a next link");
    assert!(
        next.contains("page=2") && !next.contains("page=3"),
        "{next}"
    );

    // Offset and page lists carry no token and leave the fault for the next that does.
    client.api.repeat_cursor(1);
    ok(client.get(&format!("/offset/{ENTITY}?limit=20")));
    ok(client.get(&format!("/page/{ENTITY}?per_page=20")));
    let body = json!({ "limit": 20 });
    let search = ok(client.send(Method::POST, &format!("/search/{ENTITY}"), Some(&body)));
    let start = search.body["next_after"].as_str().expect("a cursor");
    let body = json!({ "limit": 20, "after": start });
    let again = ok(client.send(Method::POST, &format!("/search/{ENTITY}"), Some(&body)));
    assert_eq!(ids(&again.body["records"]), all[..20]);
}

#[test]
fn an_unknown_collection_lists_as_empty() {
    let client = Client::new();
    let cursor = ok(client.get("/cursor/nothing"));
    assert_eq!(
        cursor.body,
        json!({ "data": [], "meta": { "next_cursor": null } })
    );
    let page = ok(client.get("/page/nothing"));
    assert_eq!(page.body["total_pages"], 0);
    let link = ok(client.get("/link/nothing"));
    assert_eq!((link.body, link.link), (json!([]), None));
    let next = ok(client.get("/next/nothing"));
    assert_eq!(
        next.body,
        json!({ "count": 0, "next": null, "results": [] })
    );
}

#[test]
fn one_page_has_no_link_header_and_the_last_has_no_next() {
    let client = Client::new();
    client.api.insert_many(ENTITY, vec![json!({}); 30]);
    assert_eq!(
        ok(client.get(&format!("/link/{ENTITY}?per_page=50"))).link,
        None
    );
    let first = ok(client.get(&format!("/link/{ENTITY}?per_page=20&sort=updated_at")));
    let link = first.link.expect("a Link header");
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"last\""),
        "{link}"
    );
    assert!(link.contains("sort=updated_at"), "{link}");
    let last = ok(client.get(&format!("/link/{ENTITY}?per_page=20&page=2")));
    assert_eq!(last.body.as_array().map(Vec::len), Some(10));
    let link = last.link.expect("a Link header");
    assert!(
        !link.contains("rel=\"next\"") && link.contains("rel=\"prev\""),
        "{link}"
    );
}

#[test]
fn bad_list_parameters_are_refused() {
    let client = Client::new();
    client.api.insert_many(ENTITY, vec![json!({}); 2]);
    for target in [
        "/cursor/tickets?sort=id",
        "/cursor/tickets?limit=ten",
        "/cursor/tickets?cursor=nonsense",
        "/cursor/tickets?include_deleted=maybe",
        "/offset/tickets?offset=-1",
        "/page/tickets?page=0",
    ] {
        let answer = client.get(target);
        assert_eq!(answer.status, 400, "{target}");
        assert_eq!(answer.body["error"], "bad_request", "{target}");
    }
    // A cursor is only good for the filters it was given out under.
    let by_id = ok(client.get("/cursor/tickets?limit=1"));
    let cursor = by_id.body["meta"]["next_cursor"]
        .as_str()
        .expect("a cursor");
    let mixed = client.get(&format!(
        "/cursor/tickets?limit=1&sort=updated_at&cursor={cursor}"
    ));
    assert_eq!(mixed.status, 400);
    for body in [
        json!([]),
        json!({"limit": "ten"}),
        json!({"filters": {}}),
        json!({"sort": "id"}),
    ] {
        let answer = client.send(Method::POST, "/search/tickets", Some(&body));
        assert_eq!(answer.status, 400, "{body}");
    }
}
