//! Writes: endpoints, batches of 100, results in change order, 207s, values, refusals.

use super::*;
use wasync_sdk::{Change, Connector, Field, Value};

const BATCH: &str = "/crm/v3/objects/companies/batch";

fn field(name: &str, value: impl Into<Value>) -> Field {
    Field {
        name: name.into(),
        value: value.into(),
    }
}

fn create(fields: Vec<Field>) -> Change {
    Change::Upsert { id: None, fields }
}

fn update(id: &str, fields: Vec<Field>) -> Change {
    Change::Upsert {
        id: Some(id.into()),
        fields,
    }
}

/// A batch answer (`SimplePublicObjectBatch`) with these objects.
fn batch_reply(results: Vec<Json>) -> Json {
    json!({"status": "COMPLETE", "results": results,
           "startedAt": "2024-03-01T12:00:00.100Z", "completedAt": "2024-03-01T12:00:00.200Z"})
}

/// A company as a batch write returns it, with its `wasync_id`.
fn written(id: u64, wasync_id: Option<&str>) -> Json {
    let mut object = company(id, 1_709_294_400_000, "x");
    if let Some(key) = wasync_id {
        object["properties"]["wasync_id"] = json!(key);
    }
    object
}

#[test]
fn changes_go_to_their_endpoints_and_results_keep_their_order() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post(
        &format!("{BATCH}/update"),
        json!({"inputs": [{"id": "512", "properties": {"city": "Cambridge"}},
                          {"id": "999", "properties": {"city": "Nowhere"}}]}),
        207,
        json!({"status": "COMPLETE", "results": [written(512, None)], "numErrors": 1,
               "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                           "message": "Could not get some COMPANY objects, they may be deleted or not exist. Check that ids are valid.",
                           "context": {"ids": ["999"]}}],
               "startedAt": "2024-03-01T12:00:00.100Z", "completedAt": "2024-03-01T12:00:00.200Z"}),
    );
    script.post(
        &format!("{BATCH}/upsert"),
        json!({"inputs": [{"idProperty": "wasync_id", "id": "w-1",
                           "properties": {"name": "Keyed", "wasync_id": "w-1"}}]}),
        200,
        batch_reply(vec![{
            let mut object = written(600, Some("w-1"));
            object["new"] = json!(true);
            object
        }]),
    );
    script.post(
        &format!("{BATCH}/create"),
        json!({"inputs": [{"properties": {"name": "A"}},
                          {"properties": {"name": "B", "wasync_id": ""}}]}),
        201,
        batch_reply(vec![written(601, None), written(602, None)]),
    );
    script.post_raw(
        &format!("{BATCH}/archive"),
        json!({"inputs": [{"id": "513"}]}),
        204,
        "",
    );
    let results = companies()?.write(
        "companies",
        vec![
            create(vec![field("name", "A")]),
            update(
                "512",
                vec![field("city", "Cambridge"), field("hs_object_id", 512)],
            ),
            Change::Delete("513".into()),
            create(vec![field("name", "Keyed"), field("wasync_id", "w-1")]),
            update("999", vec![field("city", "Nowhere")]),
            // An empty key is no key: a plain create.
            create(vec![field("name", "B"), field("wasync_id", Value::Null)]),
        ],
    );
    assert_eq!(results.len(), 6);
    assert_eq!(results[0], Ok("601".into()));
    assert_eq!(results[1], Ok("512".into()));
    assert_eq!(results[2], Ok("513".into()));
    assert_eq!(results[3], Ok("600".into()));
    assert!(
        matches!(&results[4], Err(Error::NotFound(m)) if m.contains("Could not get some COMPANY objects")),
        "{:?}",
        results[4]
    );
    assert_eq!(results[5], Ok("602".into()));
    Ok(())
}

#[test]
fn calls_take_at_most_100_inputs() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let changes: Vec<Change> = (0..250)
        .map(|i| create(vec![field("name", format!("Company {i}"))]))
        .collect();
    for (first, count) in [(0, 100), (100, 100), (200, 50)] {
        let inputs: Vec<Json> = (first..first + count)
            .map(|i| json!({"properties": {"name": format!("Company {i}")}}))
            .collect();
        let results = (first..first + count)
            .map(|i| written(10_000 + i as u64, None))
            .collect();
        script.post(
            &format!("{BATCH}/create"),
            json!({"inputs": inputs}),
            201,
            batch_reply(results),
        );
    }
    let results = companies()?.write("companies", changes);
    let expected: Vec<Result<String, Error>> =
        (0..250).map(|i| Ok((10_000 + i).to_string())).collect();
    assert_eq!(results, expected);
    Ok(())
}

#[test]
fn an_id_twice_goes_in_two_calls() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    for city in ["A", "B"] {
        script.post(
            &format!("{BATCH}/update"),
            json!({"inputs": [{"id": "512", "properties": {"city": city}}]}),
            200,
            batch_reply(vec![written(512, None)]),
        );
    }
    let results = companies()?.write(
        "companies",
        vec![
            update("512", vec![field("city", "A")]),
            update("512", vec![field("city", "B")]),
        ],
    );
    assert_eq!(results, vec![Ok("512".into()), Ok("512".into())]);
    Ok(())
}

#[test]
fn upserts_map_back_by_key_and_replay_without_duplicates() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    let inputs = json!({"inputs": [
        {"idProperty": "wasync_id", "id": "w-1", "properties": {"name": "One", "wasync_id": "w-1"}},
        {"idProperty": "wasync_id", "id": "w-2", "properties": {"name": "Two", "wasync_id": "w-2"}}]});
    // First time: both created, answered in another order.
    script.post(
        &format!("{BATCH}/upsert"),
        inputs.clone(),
        200,
        batch_reply(vec![written(702, Some("w-2")), written(701, Some("w-1"))]),
    );
    // Replayed: the same objects, updated.
    script.post(
        &format!("{BATCH}/upsert"),
        inputs,
        200,
        batch_reply(vec![written(701, Some("w-1")), written(702, Some("w-2"))]),
    );
    let hubspot = companies()?;
    let changes = vec![
        create(vec![field("name", "One"), field("wasync_id", "w-1")]),
        create(vec![field("name", "Two"), field("wasync_id", "w-2")]),
    ];
    let expected = vec![Ok("701".to_owned()), Ok("702".to_owned())];
    assert_eq!(hubspot.write("companies", changes.clone()), expected);
    assert_eq!(hubspot.write("companies", changes), expected);
    Ok(())
}

#[test]
fn values_are_written_as_strings() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post(
        &format!("{BATCH}/update"),
        json!({"inputs": [{"id": "512", "properties": {
            "name": "Biglytics", "numberofemployees": "25", "annualrevenue": "1000000.5",
            "is_public": "true", "founded_on": "2024-03-01", "description": "{\"tags\":[1]}",
            "city": "", "phone": "2019-12-07T16:50:06.678Z"}}]}),
        200,
        batch_reply(vec![written(512, None)]),
    );
    let results = companies()?.write(
        "companies",
        vec![update(
            "512",
            vec![
                field("name", "Biglytics"),
                field("numberofemployees", 25i64),
                field("annualrevenue", 1_000_000.5),
                field("is_public", true),
                field("founded_on", Value::Timestamp(1_709_251_200_000_000)),
                field("description", Value::Json("{\"tags\":[1]}".into())),
                field("city", Value::Null),
                field("phone", Value::Timestamp(1_575_737_406_678_123)),
            ],
        )],
    );
    assert_eq!(results, vec![Ok("512".into())]);
    Ok(())
}

#[test]
fn unusable_fields_fail_their_change_only() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post(
        &format!("{BATCH}/create"),
        json!({"inputs": [{"properties": {"name": "Fine"}}]}),
        201,
        batch_reply(vec![written(800, None)]),
    );
    let results = companies()?.write(
        "companies",
        vec![
            create(vec![field("name", "X"), field("revenue", 5i64)]),
            update("512", vec![field("createdate", Value::Timestamp(0))]),
            create(vec![field("name", "Fine")]),
            create(vec![field("numberofemployees", "many")]),
            create(vec![field("hs_object_id", 5i64)]),
            update(" ", vec![]),
        ],
    );
    let invalid = |result: &Result<String, Error>, text: &str| matches!(result, Err(Error::InvalidInput(m)) if m.contains(text));
    assert!(invalid(&results[0], "`revenue`"), "{:?}", results[0]);
    assert!(invalid(&results[1], "`createdate`"), "{:?}", results[1]);
    assert!(invalid(&results[1], "read-only"), "{:?}", results[1]);
    assert_eq!(results[2], Ok("800".into()));
    assert!(
        invalid(&results[3], "`numberofemployees`"),
        "{:?}",
        results[3]
    );
    assert!(invalid(&results[4], "`hs_object_id`"), "{:?}", results[4]);
    assert!(invalid(&results[5], "empty"), "{:?}", results[5]);
    Ok(())
}

#[test]
fn a_refused_call_fails_its_changes_only() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post(
        &format!("{BATCH}/update"),
        json!({"inputs": [{"id": "512", "properties": {"name": "Kept"}}]}),
        200,
        batch_reply(vec![written(512, None)]),
    );
    script.post(
        &format!("{BATCH}/create"),
        json!({"inputs": [{"properties": {"industry": "NOT_AN_OPTION"}}, {"properties": {"name": "B"}}]}),
        400,
        json!({"status": "error", "category": "VALIDATION_ERROR",
               "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"NOT_AN_OPTION was not one of the allowed options\",\"error\":\"INVALID_OPTION\",\"name\":\"industry\"}]",
               "correlationId": "c-9"}),
    );
    script.post(
        &format!("{BATCH}/archive"),
        json!({"inputs": [{"id": "513"}]}),
        429,
        json!({"status": "error", "message": "You have reached your secondly limit.",
               "errorType": "RATE_LIMIT", "correlationId": "c-10", "policyName": "SECONDLY"}),
    );
    let results = companies()?.write(
        "companies",
        vec![
            create(vec![field("industry", "NOT_AN_OPTION")]),
            update("512", vec![field("name", "Kept")]),
            create(vec![field("name", "B")]),
            Change::Delete("513".into()),
        ],
    );
    for i in [0, 2] {
        assert!(
            matches!(&results[i], Err(Error::InvalidInput(m)) if m.contains("was not one of the allowed options")),
            "{:?}",
            results[i]
        );
    }
    assert_eq!(results[1], Ok("512".into()));
    assert!(
        matches!(&results[3], Err(Error::RateLimited(m)) if m.contains("SECONDLY")),
        "{:?}",
        results[3]
    );
    Ok(())
}

#[test]
fn a_failed_describe_fails_every_change() -> Result<(), Error> {
    let script = Script::new();
    script.get(
        "/crm/v3/properties/companies",
        503,
        json!({"status": "error", "message": "Service unavailable", "correlationId": "c-11",
               "category": "SERVICE_UNAVAILABLE"}),
    );
    let results = companies()?.write(
        "companies",
        vec![Change::Delete("1".into()), Change::Delete("2".into())],
    );
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::Unavailable(_)))),
        "{results:?}"
    );
    assert!(companies()?.write("companies", vec![]).is_empty());
    Ok(())
}

#[test]
fn an_unclear_create_answer_fails_its_creates() -> Result<(), Error> {
    let script = Script::new();
    script.describe_companies();
    script.post(
        &format!("{BATCH}/create"),
        json!({"inputs": [{"properties": {"name": "A"}}, {"properties": {"name": "B"}}]}),
        207,
        json!({"status": "COMPLETE", "results": [written(900, None)], "numErrors": 1,
               "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "bad", "context": {}}],
               "startedAt": "2024-03-01T12:00:00.100Z", "completedAt": "2024-03-01T12:00:00.200Z"}),
    );
    let results = companies()?.write(
        "companies",
        vec![
            create(vec![field("name", "A")]),
            create(vec![field("name", "B")]),
        ],
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::Other(m)) if m.contains("1 of 2"))),
        "{results:?}"
    );
    Ok(())
}
