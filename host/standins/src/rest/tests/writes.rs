//! Writes, soft deletion, authentication, the shared faults and the data helpers.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Client, ids};
use crate::Fault;

const ENTITY: &str = "contacts";

fn send(client: &Client, method: Method, target: &str, body: Value) -> (u16, Value) {
    let answer = client.send(method, target, Some(&body));
    (answer.status, answer.body)
}

#[test]
fn records_are_created_updated_and_deleted_softly() {
    let client = Client::new();
    let (status, created) = send(
        &client,
        Method::POST,
        "/v1/contacts",
        json!({"name": "Ada"}),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["id"], &created["name"]),
        (&json!("r-000001"), &json!("Ada"))
    );
    let stamp = created["updated_at"]
        .as_str()
        .expect("updated_at")
        .to_owned();
    assert!(stamp.ends_with('Z') && stamp.len() == 24, "{stamp}");

    let (status, put) = send(
        &client,
        Method::PUT,
        "/v1/contacts/c-7",
        json!({"name": "Bo"}),
    );
    assert_eq!((status, &put["id"]), (201, &json!("c-7")));
    let (status, put) = send(&client, Method::PUT, "/v1/contacts/c-7", json!({"age": 40}));
    assert_eq!(
        (status, &put["name"], &put["age"]),
        (200, &json!("Bo"), &json!(40))
    );

    let (status, patched) = send(
        &client,
        Method::PATCH,
        "/v1/contacts/r-000001",
        json!({"age": 36}),
    );
    assert_eq!(
        (status, &patched["name"], &patched["age"]),
        (200, &json!("Ada"), &json!(36))
    );
    assert!(patched["updated_at"].as_str().expect("updated_at") >= stamp.as_str());
    let (status, missing) = send(&client, Method::PATCH, "/v1/contacts/r-000009", json!({}));
    assert_eq!((status, &missing["error"]), (404, &json!("not_found")));

    let deleted = client.send(Method::DELETE, "/v1/contacts/r-000001", None);
    assert_eq!((deleted.status, deleted.body), (204, Value::Null));
    assert_eq!(
        client
            .send(Method::DELETE, "/v1/contacts/r-000001", None)
            .status,
        404
    );
    let (status, _) = send(
        &client,
        Method::PATCH,
        "/v1/contacts/r-000001",
        json!({"age": 1}),
    );
    assert_eq!(status, 404);
    let gone = client.get("/v1/contacts/r-000001");
    assert_eq!(
        (gone.status, &gone.body["deleted"], &gone.body["name"]),
        (200, &json!(true), &json!("Ada"))
    );
    assert_eq!(client.get("/v1/contacts/r-000404").status, 404);

    let live = client.get("/cursor/contacts");
    assert_eq!(ids(&live.body["data"]), ["c-7"]);
    let all = client.get("/offset/contacts?include_deleted=true");
    assert_eq!(ids(&all.body["items"]), ["c-7", "r-000001"]);
    assert_eq!(all.body["items"][1]["deleted"], true);

    // PUT brings a deleted record back.
    let (status, back) = send(
        &client,
        Method::PUT,
        "/v1/contacts/r-000001",
        json!({"age": 37}),
    );
    assert_eq!(
        (status, back.get("deleted"), &back["name"]),
        (200, None, &json!("Ada"))
    );
    // POST, 2 PUTs, PATCH, DELETE, PUT: refusals are no writes.
    assert_eq!(client.api.writes_applied(), 6);
}

#[test]
fn invalid_writes_change_nothing() {
    let client = Client::new();
    for (body, field) in [
        (json!({"email": "ada.example.com"}), "email"),
        (json!({"id": "mine"}), "id"),
        (
            json!({"updated_at": "2026-01-01T00:00:00.000Z"}),
            "updated_at",
        ),
    ] {
        let (status, refused) = send(&client, Method::POST, "/v1/contacts", body);
        assert_eq!(status, 422, "{refused}");
        assert_eq!(
            (&refused["error"], &refused["field"]),
            (&json!("validation_failed"), &json!(field))
        );
    }
    let id = client
        .api
        .insert(ENTITY, json!({"email": "ada@example.com"}));
    let target = format!("/v1/contacts/{id}");
    let (status, refused) = send(&client, Method::PATCH, &target, json!({"email": "nope"}));
    assert_eq!((status, &refused["field"]), (422, &json!("email")));
    let (status, refused) = send(
        &client,
        Method::PUT,
        "/v1/contacts/x",
        json!({"email": "nope"}),
    );
    assert_eq!((status, &refused["field"]), (422, &json!("email")));
    for body in [json!([1, 2]), json!("text")] {
        let (status, refused) = send(&client, Method::POST, "/v1/contacts", body);
        assert_eq!((status, &refused["error"]), (400, &json!("bad_request")));
    }
    let records = client.api.records(ENTITY);
    assert_eq!(ids(&Value::Array(records.clone())), [id]);
    assert_eq!(records[0]["email"], "ada@example.com");
    assert_eq!(client.api.writes_applied(), 0);
}

#[test]
fn every_request_needs_a_token() {
    let mut client = Client::new();
    client.api.insert(ENTITY, json!({}));
    for token in [None, Some("wrong".to_owned())] {
        client.token = token;
        let answer = client.get("/cursor/contacts");
        assert_eq!(
            (answer.status, &answer.body["error"]),
            (401, &json!("unauthorized"))
        );
        let answer = client.send(Method::POST, "/v1/contacts", Some(&json!({})));
        assert_eq!(answer.status, 401);
    }
    assert_eq!(client.api.records(ENTITY).len(), 1);
}

#[test]
fn shared_faults_answer_with_the_apis_errors() {
    let client = Client::new();
    client.api.inject(Fault::RateLimited {
        times: 1,
        retry_after: Some(3),
    });
    client.api.inject(Fault::ServerError { times: 1 });
    let limited = client.get("/cursor/contacts");
    assert_eq!(
        (limited.status, &limited.body["error"]),
        (429, &json!("rate_limited"))
    );
    assert_eq!(limited.retry_after.as_deref(), Some("3"));
    let failed = client.get("/cursor/contacts");
    assert_eq!(
        (failed.status, &failed.body["error"]),
        (500, &json!("internal"))
    );
    client.api.inject(Fault::Slow {
        times: 1,
        delay: Duration::from_millis(50),
    });
    let (status, _) = send(&client, Method::POST, "/v1/contacts", json!({}));
    assert_eq!(status, 201);
    assert_eq!(client.api.writes_applied(), 1);
    let statuses: Vec<u16> = client.api.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 201]);
    assert_eq!(client.get("/nowhere").status, 404);
}

#[test]
fn data_helpers_act_as_the_api_does() {
    let client = Client::new();
    let api = &client.api;
    let first = api.insert(ENTITY, &[("name", json!("Ada"))]);
    assert_eq!(first, "r-000001");
    assert!(api.put(ENTITY, "r-000002", [("name", json!("Bo"))]));
    assert!(!api.put(ENTITY, "r-000002", json!({"age": 3})));
    // Server ids skip those a client chose.
    assert_eq!(api.insert(ENTITY, json!({})), "r-000003");
    assert!(api.update(ENTITY, &first, json!({"age": 36})));
    assert!(!api.update(ENTITY, "r-000404", json!({})));
    assert!(api.delete(ENTITY, &first));
    assert!(!api.delete(ENTITY, &first));
    assert!(!api.update(ENTITY, &first, json!({})));
    let ada = api.get(ENTITY, &first).expect("kept");
    assert_eq!((&ada["deleted"], &ada["age"]), (&json!(true), &json!(36)));
    let bo = api.get(ENTITY, "r-000002").expect("stored");
    assert_eq!((&bo["name"], &bo["age"]), (&json!("Bo"), &json!(3)));
    assert_eq!(
        ids(&Value::Array(api.records(ENTITY))),
        ["r-000001", "r-000002", "r-000003"]
    );
    assert_eq!(api.get("elsewhere", &first), None);
    assert!(api.records("elsewhere").is_empty());
    assert!(api.requests().is_empty());
    assert_eq!(api.writes_applied(), 0);
}

#[test]
#[should_panic(expected = "email")]
fn data_helpers_refuse_what_the_api_refuses() {
    let client = Client::new();
    client
        .api
        .insert(ENTITY, json!({"email": "not-an-address"}));
}
