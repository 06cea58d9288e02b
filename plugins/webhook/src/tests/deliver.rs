//! Delivering: the request `write` sends, its ids, and how answers become results.

use super::*;
use serde_json::{Value as Json, json};
use sha2::Digest;
use wasync_sdk::{Change, Field, Value};

const URL: &str = "http://127.0.0.1:9000/collect";

fn upsert(id: Option<&str>, fields: &[(&str, Value)]) -> Change {
    Change::Upsert {
        id: id.map(str::to_owned),
        fields: fields
            .iter()
            .map(|(name, value)| Field {
                name: (*name).into(),
                value: value.clone(),
            })
            .collect(),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn body(request: &Request) -> Json {
    serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap_or(Json::Null)
}

/// The changes of the documented example: an update, a create keyed by the id field, a
/// create with no key, and a delete.
fn orders() -> Vec<Change> {
    vec![
        upsert(Some("o-1"), &[("total", Value::Float(12.5))]),
        upsert(
            None,
            &[
                ("order_id", Value::Integer(42)),
                ("paid", Value::Boolean(true)),
            ],
        ),
        upsert(
            None,
            &[
                ("note", Value::Text("gift".into())),
                ("at", Value::Timestamp(1_709_294_400_000_000)),
                ("items", Value::Json(r#"[{"sku": "a", "n": 2}]"#.into())),
                ("gone", Value::Null),
            ],
        ),
        Change::Delete("o-2".into()),
    ]
}

#[test]
fn posts_one_request_with_ids_and_an_idempotency_key() -> Result<(), Error> {
    let results = connector(SETTINGS)?.write("Order", orders());
    let derived = {
        // Independently: entity, newline, the fields' JSON with sorted keys and no spaces.
        let canonical = r#"{"at":"2024-03-01T12:00:00.000000Z","gone":null,"items":[{"n":2,"sku":"a"}],"note":"gift"}"#;
        hex_sha256(format!("Order\n{canonical}").as_bytes())[..32].to_owned()
    };
    let ids = ["o-1", "42", derived.as_str(), "o-2"];
    assert_eq!(results, ids.map(|id| Ok(id.to_owned())));

    let sent = sent();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", URL)
    );
    assert_eq!(header(request, "Content-Type"), Some("application/json"));
    let key = hex_sha256(format!("o-1\n42\n{derived}\no-2\n").as_bytes());
    assert_eq!(header(request, "Idempotency-Key"), Some(key.as_str()));
    assert!(
        !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    );
    assert_eq!(
        body(request),
        json!({"entity": "Order", "records": [
            {"id": "o-1", "deleted": false, "fields": {"total": 12.5}},
            {"id": "42", "deleted": false, "fields": {"order_id": 42, "paid": true}},
            {"id": derived, "deleted": false, "fields": {"note": "gift",
                "at": "2024-03-01T12:00:00.000000Z", "items": [{"sku": "a", "n": 2}], "gone": null}},
            {"id": "o-2", "deleted": true},
        ]})
    );
    Ok(())
}

#[test]
fn a_replayed_write_carries_the_same_ids_and_key() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let first = connector.write("Order", orders());
    let mut reordered = orders();
    // The same record with its fields in another order is the same record.
    if let Some(Change::Upsert { fields, .. }) = reordered.get_mut(2) {
        fields.reverse();
    }
    let second = connector.write("Order", reordered);
    assert_eq!(first, second);
    let sent = sent();
    assert_eq!(
        header(&sent[0], "Idempotency-Key"),
        header(&sent[1], "Idempotency-Key")
    );

    // Another entity, or another value, is another record.
    let one = |entity: &str, note: &str| {
        connector.write(
            entity,
            vec![upsert(None, &[("note", Value::Text(note.into()))])],
        )
    };
    let (a, b, c) = (one("Order", "x"), one("PageView", "x"), one("Order", "y"));
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert!(
        a.iter().all(|r| r.as_ref().is_ok_and(|id| id.len() == 32)),
        "{a:?}"
    );
    Ok(())
}

#[test]
fn falls_back_from_empty_ids() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let results = connector.write(
        "PageView",
        vec![
            upsert(Some(" "), &[("id", Value::Text("pv-1".into()))]),
            upsert(
                None,
                &[("id", Value::Text("".into())), ("u", Value::Integer(1))],
            ),
            upsert(None, &[("id", Value::Float(1.0)), ("u", Value::Integer(1))]),
        ],
    );
    assert_eq!(results[0], Ok("pv-1".to_owned()));
    for r in &results[1..] {
        assert!(r.as_ref().is_ok_and(|id| id.len() == 32), "{r:?}");
    }
    assert_eq!(sent().len(), 1);
    Ok(())
}

#[test]
fn fails_an_unsendable_change_alone() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let results = connector.write(
        "Order",
        vec![
            upsert(Some("o-1"), &[("total", Value::Float(f64::INFINITY))]),
            Change::Delete("".into()),
            upsert(Some("o-3"), &[("raw", Value::Json("{not json".into()))]),
            upsert(Some("o-4"), &[("total", Value::Integer(1))]),
        ],
    );
    assert!(matches!(&results[0], Err(Error::InvalidInput(m)) if m.contains("field `total`")));
    assert!(matches!(&results[1], Err(Error::InvalidInput(m)) if m.contains("empty id")));
    assert!(matches!(&results[2], Err(Error::InvalidInput(m)) if m.contains("field `raw`")));
    assert_eq!(results[3], Ok("o-4".to_owned()));
    let sent = sent();
    let records = body(&sent[0])["records"].clone();
    assert_eq!(
        records,
        json!([{"id": "o-4", "deleted": false, "fields": {"total": 1}}])
    );
    let key = hex_sha256(b"o-4\n");
    assert_eq!(header(&sent[0], "Idempotency-Key"), Some(key.as_str()));

    let results = connector.write("Order", vec![Change::Delete(String::new())]);
    assert!(matches!(&results[0], Err(Error::InvalidInput(_))));
    assert!(
        super::sent().is_empty(),
        "nothing left to send, nothing sent"
    );
    Ok(())
}

#[test]
fn maps_the_collectors_answers() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let long = format!("{{\"error\": \"{}\"}}", "x".repeat(500));
    let cases: Vec<(Result<Response, Error>, &str, &str)> = vec![
        (Ok(response(204, "")), "ok", ""),
        (
            Ok(response(400, "{\"error\":\n  \"field total is required\"}")),
            "invalid input",
            "HTTP 400: {\"error\": \"field total is required\"}",
        ),
        (
            Ok(response(404, "")),
            "invalid input",
            "HTTP 404: (empty body)",
        ),
        (Ok(response(422, &long)), "invalid input", "xxx…"),
        (
            Ok(response(429, "slow down")),
            "rate limited",
            "HTTP 429: slow down",
        ),
        (Ok(response(500, "boom")), "unavailable", "HTTP 500: boom"),
        (Ok(response(503, "")), "unavailable", "HTTP 503"),
        (Ok(response(302, "")), "error", "redirects"),
        (
            Err(Error::Unavailable("timed out after 30 s".into())),
            "unavailable",
            "timed out",
        ),
        (
            Err(Error::AccessDenied("host 127.0.0.1 is not allowed".into())),
            "access denied",
            "not allowed",
        ),
    ];
    for (reply, kind, text) in cases {
        reply_with(reply);
        let results = connector.write("Order", orders());
        assert_eq!(results.len(), 4);
        for result in &results {
            match result {
                Ok(_) => assert_eq!(kind, "ok", "{results:?}"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(
                        message.starts_with(kind) && message.contains(text),
                        "{kind}: {message}"
                    );
                    assert!(message.len() < 400, "{message}");
                }
            }
        }
        if kind == "ok" {
            assert_eq!(results[0], Ok("o-1".to_owned()));
        }
        assert_eq!(sent().len(), 1, "{kind} {text}: one request per call");
    }
    Ok(())
}

#[test]
fn needs_a_url_and_a_configured_entity() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let results = connector.write("Invoice", orders());
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::NotFound(m)) if m.contains("`Invoice`")))
    );
    assert_eq!(connector.write("Order", vec![]), []);

    let no_url = super::connector(r#"{"entities": {"Order": {}}}"#)?;
    let results = no_url.write("Order", orders());
    assert_eq!(results.len(), 4);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::InvalidConfig(m)) if m.contains("`deliver.url`")))
    );
    assert!(sent().is_empty());
    Ok(())
}
