//! Configuration, describe and its cache, and HubSpot's errors end to end.

use super::*;
use crate::HubSpot;
use wasync_sdk::{
    Connector, EntityKind, FieldDescription, ReadRequest, Timestamp, Value, ValueKind,
};

fn request(limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "companies".into(),
        after: None,
        until: None,
        limit,
    }
}

fn field(name: &str, kind: ValueKind, read_only: bool) -> FieldDescription {
    FieldDescription {
        name: name.into(),
        kind,
        read_only,
    }
}

#[test]
fn configuration_errors_name_the_key() {
    let script = Script::new();
    for (text, expected) in [
        (
            r#"{"entities": {"companies": {}}, "api_key": "x"}"#,
            "`api_key`",
        ),
        (
            r#"{"entities": {"companies": {"upsert_key": "x"}}}"#,
            "`upsert_key`",
        ),
        (r#"{"base_url": "https://api.hubapi.com"}"#, "`entities`"),
        (r#"{"entities": {}}"#, "`entities`"),
        ("[1, 2", "not JSON"),
    ] {
        let config = Config::parse(text).and_then(|c| <HubSpot as Connector>::new(&c));
        assert!(
            matches!(&config, Err(Error::InvalidConfig(m)) if m.contains(expected)),
            "{text}: {:?}",
            config.err()
        );
    }
    assert_eq!(script.pending(), 0);
}

#[test]
fn describes_each_entity_once() -> Result<(), Error> {
    let script = Script::new();
    let contacts = json!({"results": [
        property("email", "string", "text", false, true),
        property("hs_lastmodifieddate", "datetime", "date", true, false),
        property("hs_object_id", "number", "number", true, false),
    ]});
    script
        .describe_companies()
        .get("/crm/v3/properties/contacts", 200, contacts);
    let hubspot = connector(
        r#"{"base_url": "https://api.hubapi.com/", "entities": {"contacts": {},
            "companies": {"properties": ["name", "numberofemployees", "is_public", "founded_on"]}}}"#,
    )?;
    let described = hubspot.describe()?;
    assert_eq!(hubspot.describe()?, described);
    let companies = &described[0];
    assert_eq!(companies.name, "companies");
    assert_eq!(companies.kind, EntityKind::Object);
    assert_eq!(companies.id_field, "hs_object_id");
    assert_eq!(companies.watermark_field, "hs_lastmodifieddate");
    assert_eq!(
        companies.fields,
        vec![
            field("name", ValueKind::Text, false),
            field("numberofemployees", ValueKind::Float, false),
            field("is_public", ValueKind::Boolean, false),
            field("founded_on", ValueKind::Text, false),
            field("hs_object_id", ValueKind::Integer, true),
            field("hs_lastmodifieddate", ValueKind::Timestamp, true),
        ]
    );
    assert_eq!(described[1].name, "contacts");
    assert_eq!(described[1].fields.len(), 3);
    // The read uses the cached properties: its search is the only request.
    let properties = [
        "name",
        "numberofemployees",
        "is_public",
        "founded_on",
        "hs_object_id",
        "hs_lastmodifieddate",
    ];
    script.post(
        "/crm/v3/objects/companies/search",
        search_body(&properties, None, None, 10, "0"),
        200,
        search_reply(0, vec![], None),
    );
    assert_eq!(hubspot.read(request(10))?.records, vec![]);
    Ok(())
}

#[test]
fn describes_every_property_by_default() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let described = companies()?.describe()?;
    let names: Vec<&str> = described[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, all_properties());
    let createdate = described[0].fields.iter().find(|f| f.name == "createdate");
    assert_eq!(
        createdate,
        Some(&field("createdate", ValueKind::Timestamp, true))
    );
    Ok(())
}

#[test]
fn settings_the_properties_contradict_are_invalid_config() -> Result<(), Error> {
    for (settings, expected) in [
        (r#"{"properties": ["name", "revenue"]}"#, "`revenue`"),
        (r#"{"upsert_property": "wasync"}"#, "`wasync`"),
        (r#"{"upsert_property": "domain"}"#, "hasUniqueValue"),
        (r#"{"upsert_property": "hs_object_id"}"#, "hasUniqueValue"),
    ] {
        let script = Script::new();
        script.describe_companies().describe_companies();
        let hubspot = connector(&format!(r#"{{"entities": {{"companies": {settings}}}}}"#))?;
        for result in [hubspot.describe().err(), hubspot.read(request(5)).err()] {
            assert!(
                matches!(&result, Some(Error::InvalidConfig(m)) if m.contains(expected)),
                "{settings}: {result:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn an_unconfigured_entity_is_not_found() -> Result<(), Error> {
    let script = Script::new();
    let hubspot = companies()?;
    let mut contacts = request(5);
    contacts.entity = "contacts".into();
    assert!(matches!(hubspot.read(contacts), Err(Error::NotFound(m)) if m.contains("`contacts`")));
    let results = hubspot.write("deals", vec![wasync_sdk::Change::Delete("1".into())]);
    assert!(matches!(results.as_slice(), [Err(Error::NotFound(_))]));
    assert_eq!(script.pending(), 0);
    Ok(())
}

#[test]
fn a_rejected_token_is_unauthorized() -> Result<(), Error> {
    let script = Script::new();
    script.get(
        "/crm/v3/properties/companies",
        401,
        json!({"status": "error", "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
               "correlationId": "a1b2c3d4-0000-4000-8000-000000000001", "category": "INVALID_AUTHENTICATION"}),
    );
    let err = companies()?.describe().err();
    assert!(
        matches!(&err, Some(Error::Unauthorized(m))
            if m.contains("Authentication credentials not found") && m.contains("INVALID_AUTHENTICATION")),
        "{err:?}"
    );
    Ok(())
}

/// The search of a first read of 10 with every property.
fn first_search() -> Json {
    search_body(&all_properties(), None, None, 10, "0")
}

#[test]
fn search_failures_map_to_error_cases() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let hubspot = companies()?;
    let path = "/crm/v3/objects/companies/search";
    type IsCase = fn(&Error) -> bool;
    let cases: Vec<(u16, &str, IsCase, &str)> = vec![
        (
            429,
            r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c-1","policyName":"TEN_SECONDLY_ROLLING"}"#,
            |e| matches!(e, Error::RateLimited(_)),
            "TEN_SECONDLY_ROLLING rate limit",
        ),
        (
            429,
            r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c-2","policyName":"DAILY"}"#,
            |e| matches!(e, Error::RateLimited(_)),
            "DAILY",
        ),
        (
            500,
            r#"{"status":"error","message":"internal error","correlationId":"c-3","category":"INTERNAL_ERROR"}"#,
            |e| matches!(e, Error::Unavailable(_)),
            "internal error",
        ),
        (
            400,
            r#"{"status":"error","message":"There was a problem with the request.","correlationId":"c-4","category":"VALIDATION_ERROR"}"#,
            |e| matches!(e, Error::Other(_)),
            "There was a problem with the request.",
        ),
        (
            200,
            r#"{"total":2,"results":[{"id":"512","properties":{"na"#,
            |e| matches!(e, Error::Unavailable(_)),
            "not valid JSON",
        ),
        (
            200,
            r#"{"total":1,"results":[{"properties":{}}]}"#,
            |e| matches!(e, Error::Other(_)),
            "missing field `id`",
        ),
    ];
    for (status, reply, is_case, text) in cases {
        script.post_raw(path, first_search(), status, reply);
        let err = hubspot.read(request(10)).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| is_case(e) && e.to_string().contains(text)),
            "{status} {reply}: {err:?}"
        );
    }
    // An error of the host (a timeout after its retries) passes through as it is.
    let timeout = Error::Unavailable("request timed out after 30 s".into());
    script.post_fails(path, first_search(), timeout.clone());
    assert_eq!(hubspot.read(request(10)), Err(timeout));
    Ok(())
}

#[test]
fn cursors_that_are_not_hubspot_cursors_are_invalid_input() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let hubspot = companies()?;
    let cursor = |watermark: Value, id: &str| ReadRequest {
        after: Some(wasync_sdk::Cursor {
            watermark,
            id: id.into(),
        }),
        ..request(10)
    };
    const T: Timestamp = 1_575_737_406_678_000;
    for request in [
        cursor(Value::Timestamp(T), "acme"),
        cursor(Value::Integer(5), "512"),
        cursor(Value::Text("last tuesday".into()), "512"),
        ReadRequest {
            until: Some(Value::Null),
            ..request(10)
        },
    ] {
        let err = hubspot.read(request.clone()).err();
        assert!(
            matches!(err, Some(Error::InvalidInput(_))),
            "{request:?}: {err:?}"
        );
    }
    Ok(())
}
