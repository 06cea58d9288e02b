//! Webhooks: the v3 signature (a known answer computed outside this crate, then every
//! refusal), payload mapping per event kind, skipped events, the batch read of creations.

use super::*;
use crate::signature::sign;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasync_sdk::{Connector, EntityChange, Field, Record, Value, WebhookRequest};

/// The connector's clock in these tests: 2023-11-14T22:13:20Z.
const NOW_MS: u64 = 1_700_000_000_000;
const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const HOST: &str = "sync.example.com";
const PATH: &str = "/hooks/hubspot";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(NOW_MS)
}

/// A connector for `entities` (JSON) with a webhook secret, reading the fixed clock.
fn hooked(entities: &str) -> Result<HubSpot, Error> {
    let settings = format!(r#"{{"entities": {entities}, "webhook": {{"secret": "{SECRET}"}}}}"#);
    Ok(connector(&settings)?.with_clock(now))
}

fn companies_hooked() -> Result<HubSpot, Error> {
    hooked(r#"{"companies": {}}"#)
}

/// A POST to `https://{HOST}{PATH}` signed as HubSpot signs it, sent `age_ms` before now.
fn signed(body: &str, age_ms: i64) -> WebhookRequest {
    let timestamp = (NOW_MS as i64 - age_ms).to_string();
    let uri = format!("https://{HOST}{PATH}");
    let signature = sign(SECRET, "POST", &uri, body.as_bytes(), &timestamp);
    request(PATH, HOST, body, Some(&signature), Some(&timestamp))
}

fn request(
    path: &str,
    host: &str,
    body: &str,
    signature: Option<&str>,
    timestamp: Option<&str>,
) -> WebhookRequest {
    let mut headers = vec![
        ("host".to_owned(), host.to_owned()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    if let Some(signature) = signature {
        headers.push(("x-hubspot-signature-v3".into(), signature.into()));
    }
    if let Some(timestamp) = timestamp {
        headers.push(("x-hubspot-request-timestamp".into(), timestamp.into()));
    }
    WebhookRequest {
        method: "POST".into(),
        path: path.into(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// One event as HubSpot's Webhooks API sends it.
fn event(event_id: u64, subscription_type: &str, object_id: u64, occurred_at: i64) -> Json {
    json!({"eventId": event_id, "subscriptionId": 25, "portalId": 62515, "appId": 1160452,
           "occurredAt": occurred_at, "subscriptionType": subscription_type,
           "attemptNumber": 0, "objectId": object_id, "changeSource": "CRM"})
}

fn property_change(event_id: u64, object_id: u64, at: i64, name: &str, value: &str) -> Json {
    let mut event = event(event_id, "company.propertyChange", object_id, at);
    event["propertyName"] = json!(name);
    event["propertyValue"] = json!(value);
    event
}

fn tombstone(entity: &str, id: &str, at_ms: i64) -> EntityChange {
    EntityChange {
        entity: entity.into(),
        record: Record {
            id: id.into(),
            watermark: Value::Timestamp(at_ms * 1000),
            fields: vec![],
            deleted: true,
        },
    }
}

fn partial(id: &str, at_ms: i64, name: &str, value: Value) -> EntityChange {
    EntityChange {
        entity: "companies".into(),
        record: Record {
            id: id.into(),
            watermark: Value::Timestamp(at_ms * 1000),
            fields: vec![Field {
                name: name.into(),
                value,
            }],
            deleted: false,
        },
    }
}

/// The body of the known-answer tests, byte for byte as signed outside this crate.
const KNOWN_BODY: &str = r#"[{"eventId":1,"subscriptionId":25,"portalId":33,"appId":1160452,"occurredAt":1700000000000,"subscriptionType":"company.deletion","attemptNumber":0,"objectId":512,"changeFlag":"DELETED","changeSource":"CRM"}]"#;

#[test]
fn accepts_a_signature_computed_by_hubspots_formula() -> Result<(), Error> {
    // Python: base64(hmac.new(SECRET, b"POST" + uri + body + ts, sha256).digest()) with
    // uri `https://www.example.com/webhook_uri` and ts `1700000000000`.
    let _script = Script::new();
    let hubspot = companies_hooked()?;
    let request = request(
        "/webhook_uri",
        "www.example.com",
        KNOWN_BODY,
        Some("7iwwZahzflfpwr6eVAAvez3I8vKA1ryLfiuDPdfwKek="),
        Some("1700000000000"),
    );
    let changes = hubspot.webhook(request)?;
    assert_eq!(
        changes,
        vec![tombstone("companies", "512", 1_700_000_000_000)]
    );
    Ok(())
}

#[test]
fn signs_the_public_url_with_hubspots_listed_characters_decoded() -> Result<(), Error> {
    // Signed outside this crate over `https://sync.example.com/hooks/hubspot:a?x=/&y=a%20b`:
    // `%3A` and `%2F` are decoded, `%20` is not on HubSpot's list and stays.
    let _script = Script::new();
    let settings = format!(
        r#"{{"entities": {{"companies": {{}}}},
            "webhook": {{"secret": "{SECRET}", "public_url": "https://sync.example.com/"}}}}"#
    );
    let hubspot = connector(&settings)?.with_clock(now);
    let request = request(
        "/hooks/hubspot%3Aa?x=%2F&y=a%20b",
        "10.0.0.7:8080",
        KNOWN_BODY,
        Some("qpwscz4NE29lYEdqRDVV+0gZZ6zwXqkEKB+E4OEmKLo="),
        Some("1700000000000"),
    );
    assert_eq!(hubspot.webhook(request)?.len(), 1);
    Ok(())
}

fn refusal(hubspot: &HubSpot, request: WebhookRequest) -> String {
    match hubspot.webhook(request) {
        Err(Error::Unauthorized(message)) => message,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[test]
fn refuses_requests_that_fail_a_check_and_says_which() -> Result<(), Error> {
    let _script = Script::new();
    let hubspot = companies_hooked()?;
    let body = KNOWN_BODY;
    let good = signed(body, 0);
    let header = |name: &str| {
        good.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (signature, timestamp) = (
        header("x-hubspot-signature-v3"),
        header("x-hubspot-request-timestamp"),
    );
    let tampered = body.replace("512", "513");
    let cases = [
        (
            request(PATH, HOST, body, None, Some(&timestamp)),
            "no X-HubSpot-Signature-v3",
        ),
        (
            request(PATH, HOST, body, Some(&signature), None),
            "no X-HubSpot-Request-Timestamp",
        ),
        (
            request(PATH, HOST, body, Some(&signature), Some("yesterday")),
            "`yesterday` is not milliseconds",
        ),
        (signed(body, 300_001), "300 s old"),
        (signed(body, -300_001), "300 s in the future"),
        (
            request(PATH, HOST, &tampered, Some(&signature), Some(&timestamp)),
            "does not match",
        ),
        (
            request(
                PATH,
                "evil.example.com",
                body,
                Some(&signature),
                Some(&timestamp),
            ),
            "does not match",
        ),
        (
            request(
                "/hooks/other",
                HOST,
                body,
                Some(&signature),
                Some(&timestamp),
            ),
            "does not match",
        ),
        (
            request(PATH, HOST, body, Some("not base64!"), Some(&timestamp)),
            "not base64",
        ),
        (
            request(PATH, "", body, Some(&signature), Some(&timestamp)),
            "no Host header",
        ),
    ];
    for (request, expected) in cases {
        let message = refusal(&hubspot, request);
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(!message.contains(SECRET), "{message}");
    }
    // Another app's secret: the signature is right in form but not ours.
    let mut other = signed(body, 0);
    let forged = sign(
        "another-secret",
        "POST",
        &format!("https://{HOST}{PATH}"),
        body.as_bytes(),
        &timestamp,
    );
    for (name, value) in &mut other.headers {
        if name == "x-hubspot-signature-v3" {
            *value = forged.clone();
        }
    }
    let message = refusal(&hubspot, other);
    assert!(message.contains("does not match"), "{message}");
    assert!(!message.contains(&signature), "{message}");
    // Exactly at the tolerance, either way, is accepted.
    assert_eq!(hubspot.webhook(signed(body, 300_000))?.len(), 1);
    assert_eq!(hubspot.webhook(signed(body, -300_000))?.len(), 1);
    Ok(())
}

#[test]
fn honours_a_configured_tolerance() -> Result<(), Error> {
    let _script = Script::new();
    let settings = format!(
        r#"{{"entities": {{"companies": {{}}}},
            "webhook": {{"secret": "{SECRET}", "tolerance_seconds": 10}}}}"#
    );
    let hubspot = connector(&settings)?.with_clock(now);
    assert_eq!(hubspot.webhook(signed(KNOWN_BODY, 10_000))?.len(), 1);
    let message = refusal(&hubspot, signed(KNOWN_BODY, 10_001));
    assert!(message.contains("tolerance of 10 s"), "{message}");
    Ok(())
}

#[test]
fn without_webhook_settings_every_call_is_a_configuration_error() -> Result<(), Error> {
    let _script = Script::new();
    let hubspot = connector(r#"{"entities": {"companies": {}}}"#)?;
    match hubspot.webhook(signed(KNOWN_BODY, 0)) {
        Err(Error::InvalidConfig(message)) => {
            assert!(message.contains("`webhook.secret`"), "{message}")
        }
        other => panic!("expected invalid-config, got {other:?}"),
    }
    Ok(())
}

#[test]
fn refuses_bodies_that_are_not_events() -> Result<(), Error> {
    let _script = Script::new();
    let hubspot = companies_hooked()?;
    let no_id = json!([{"subscriptionType": "company.deletion", "occurredAt": 1}]).to_string();
    let no_dot = json!([event(1, "companydeletion", 5, 1)]).to_string();
    let bad_id = json!([{"subscriptionType": "company.deletion", "occurredAt": 1,
                         "objectId": "abc"}])
    .to_string();
    let no_type_id = json!([event(1, "object.deletion", 5, 1)]).to_string();
    let no_property = json!([event(1, "company.propertyChange", 5, 1)]).to_string();
    for (body, expected) in [
        ("{\"eventId\": 1}", "not a JSON array"),
        ("[{\"eventId\": 1", "not a JSON array"),
        (
            no_id.as_str(),
            "event 0 is malformed: missing field `objectId`",
        ),
        (no_dot.as_str(), "not `object.action`"),
        (bad_id.as_str(), "`abc` is not a HubSpot object id"),
        (no_type_id.as_str(), "no `objectTypeId`"),
        (no_property.as_str(), "no `propertyName`"),
    ] {
        match hubspot.webhook(signed(body, 0)) {
            Err(Error::InvalidInput(message)) => {
                assert!(message.contains(expected), "{expected}: {message}")
            }
            other => panic!("{body}: expected invalid-input, got {other:?}"),
        }
    }
    assert_eq!(hubspot.webhook(signed("[]", 0))?, vec![]);
    Ok(())
}

#[test]
fn property_changes_are_partial_records_typed_as_reads_type_them() -> Result<(), Error> {
    let script = Script::new();
    // One properties call for the whole payload, none for the skipped property.
    script.describe_companies();
    let hubspot = hooked(
        r#"{"companies": {"properties": ["name", "numberofemployees", "is_public",
                                          "founded_on", "annualrevenue"]}}"#,
    )?;
    let at = 1_699_999_990_000;
    let body = json!([
        property_change(1, 512, at, "numberofemployees", "25"),
        property_change(2, 512, at + 1, "is_public", "true"),
        property_change(3, 513, at + 2, "industry", "COMPUTER_SOFTWARE"),
        property_change(4, 512, at + 3, "numberofemployees", ""),
        property_change(5, 514, at + 4, "annualrevenue", "1000000.50"),
        property_change(6, 514, at + 5, "founded_on", "2011-05-01"),
    ])
    .to_string();
    let changes = hubspot.webhook(signed(&body, 0))?;
    assert_eq!(
        changes,
        vec![
            partial("512", at, "numberofemployees", Value::Integer(25)),
            partial("512", at + 1, "is_public", Value::Boolean(true)),
            partial("512", at + 3, "numberofemployees", Value::Null),
            partial("514", at + 4, "annualrevenue", Value::Float(1_000_000.5)),
            partial(
                "514",
                at + 5,
                "founded_on",
                Value::Text("2011-05-01".into())
            ),
        ]
    );
    // The schema is kept: a second payload makes no call.
    let again = json!([property_change(7, 512, at + 6, "name", "Biglytics")]).to_string();
    assert_eq!(
        hubspot.webhook(signed(&again, 0))?,
        vec![partial(
            "512",
            at + 6,
            "name",
            Value::Text("Biglytics".into())
        )]
    );
    Ok(())
}

#[test]
fn creations_are_read_back_in_one_batch_per_object_type() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let properties = all_properties();
    let modified = 1_699_999_999_123;
    // Asked for once though created twice (a repeated delivery); 515 is gone since.
    script.post(
        "/crm/v3/objects/companies/batch/read",
        json!({"properties": properties,
               "inputs": [{"id": "512"}, {"id": "515"}, {"id": "513"}]}),
        207,
        json!({"status": "COMPLETE",
               "results": [company(513, modified + 1, "Acme"), company(512, modified, "Biglytics")],
               "numErrors": 1,
               "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                           "message": "Could not get some COMPANY objects, they may be deleted or not exist. Check that ids are valid.",
                           "context": {"ids": ["515"]}}],
               "startedAt": "2023-11-14T22:13:19.000Z", "completedAt": "2023-11-14T22:13:19.100Z"}),
    );
    let hubspot = companies_hooked()?;
    let at = 1_699_999_990_000;
    let mut generic = event(4, "object.creation", 513, at + 3);
    generic["objectTypeId"] = json!("0-2");
    let body = json!([
        event(1, "company.creation", 512, at),
        property_change(2, 512, at + 1, "name", "Biglytics"),
        event(3, "company.creation", 515, at + 2),
        generic,
        event(5, "company.creation", 512, at + 4),
        event(6, "company.deletion", 516, at + 5),
    ])
    .to_string();
    let changes = hubspot.webhook(signed(&body, 0))?;
    let ids: Vec<(&str, bool)> = changes
        .iter()
        .map(|c| (c.record.id.as_str(), c.record.deleted))
        .collect();
    assert_eq!(
        ids,
        [
            ("512", false),
            ("512", false),
            ("513", false),
            ("512", false),
            ("516", true)
        ]
    );
    let created = &changes[0].record;
    assert_eq!(created.watermark, Value::Timestamp(modified * 1000));
    assert_eq!(created.fields.len(), properties.len());
    let field = |record: &Record, name: &str| {
        record
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
    };
    assert_eq!(
        field(created, "name"),
        Some(Value::Text("Biglytics".into()))
    );
    assert_eq!(field(created, "hs_object_id"), Some(Value::Integer(512)));
    assert_eq!(field(created, "city"), Some(Value::Null));
    assert_eq!(
        changes[1],
        partial("512", at + 1, "name", Value::Text("Biglytics".into()))
    );
    assert_eq!(
        changes[2].record.watermark,
        Value::Timestamp((modified + 1) * 1000)
    );
    assert_eq!(changes[3], changes[0]);
    assert_eq!(changes[4], tombstone("companies", "516", at + 5));
    Ok(())
}

#[test]
fn events_of_unconfigured_types_and_kinds_are_skipped() -> Result<(), Error> {
    let script = Script::new();
    let hubspot = hooked(r#"{"contacts": {}}"#)?;
    let mut deal = event(3, "object.creation", 9, 1);
    deal["objectTypeId"] = json!("0-3");
    let mut contact = event(5, "object.deletion", 12, 7);
    contact["objectTypeId"] = json!("0-1");
    let body = json!([
        event(1, "company.creation", 7, 1),
        property_change(2, 7, 2, "name", "Acme"),
        deal,
        event(4, "contact.associationChange", 11, 3),
        contact,
        event(6, "contact.privacyDeletion", 13, 8),
    ])
    .to_string();
    let changes = hubspot.webhook(signed(&body, 0))?;
    assert_eq!(
        changes,
        vec![
            tombstone("contacts", "12", 7),
            tombstone("contacts", "13", 8)
        ]
    );
    assert_eq!(script.pending(), 0);
    Ok(())
}

#[test]
fn a_failed_batch_read_refuses_the_request_so_hubspot_retries() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post_fails(
        "/crm/v3/objects/companies/batch/read",
        json!({"properties": all_properties(), "inputs": [{"id": "512"}]}),
        Error::Unavailable("HubSpot answered with HTTP 503".into()),
    );
    let hubspot = companies_hooked()?;
    let body = json!([event(1, "company.creation", 512, 1)]).to_string();
    assert!(matches!(
        hubspot.webhook(signed(&body, 0)),
        Err(Error::Unavailable(_))
    ));
    Ok(())
}
