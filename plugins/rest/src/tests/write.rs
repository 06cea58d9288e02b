use super::{Script, connector};
use crate::write::Template;
use serde_json::json;
use wasync_sdk::{Change, Connector, Error, Field, Value};

fn writable() -> crate::Rest {
    connector(json!({
        "path": "/items", "watermark_field": "updated_at",
        "write": {
            "create": {"method": "POST", "path": "/items", "wrap": "item", "id": "item.id"},
            "update": {"method": "PATCH", "path": "/items/{id}"},
            "delete": {"method": "DELETE", "path": "/items/{id}"}
        }
    }))
}

fn field(name: &str, value: Value) -> Field {
    Field {
        name: name.into(),
        value,
    }
}

#[test]
fn each_change_is_one_call_and_comes_back_with_its_id() {
    let rest = writable();
    let _script = Script::new()
        .expect(
            "POST",
            "/items",
            Some(json!({"item": {"name": "Acme", "address": {"city": "Oslo"}, "n": 3}})),
            201,
            json!({"item": {"id": 17}}),
            &[],
        )
        .expect(
            "PATCH",
            "/items/a%2Fb",
            Some(json!({"when": "2026-01-01T00:00:01.234Z", "tags": ["x"]})),
            200,
            json!({}),
            &[],
        )
        .expect(
            "DELETE",
            "/items/gone",
            None,
            404,
            json!({"error": "not_found"}),
            &[],
        )
        .expect(
            "DELETE",
            "/items/x",
            None,
            422,
            json!({"message": "cannot delete"}),
            &[],
        );
    let results = rest.write(
        "items",
        vec![
            Change::Upsert {
                id: None,
                fields: vec![
                    field("name", Value::Text("Acme".into())),
                    field("address.city", Value::Text("Oslo".into())),
                    field("n", Value::Integer(3)),
                ],
            },
            Change::Upsert {
                id: Some("a/b".into()),
                fields: vec![
                    field("when", Value::Timestamp(1_767_225_601_234_567)),
                    field("tags", Value::Json("[\"x\"]".into())),
                ],
            },
            Change::Delete("gone".into()),
            Change::Delete("x".into()),
        ],
    );
    assert_eq!(results[0], Ok("17".into()));
    assert_eq!(results[1], Ok("a/b".into()));
    assert_eq!(results[2], Ok("gone".into()), "already deleted is deleted");
    assert!(
        matches!(&results[3], Err(Error::InvalidInput(m)) if m.contains("cannot delete") && m.contains("422")),
        "{:?}",
        results[3]
    );
}

#[test]
fn a_create_can_name_its_record_by_a_key_field() {
    let rest = connector(json!({
        "path": "/items", "watermark_field": "updated_at",
        "write": {"create": {"method": "PUT", "path": "/items/{wasync_id}"}}
    }));
    let _script = Script::new().expect(
        "PUT",
        "/items/u-1",
        Some(json!({"wasync_id": "u-1"})),
        201,
        json!({"id": "u-1", "wasync_id": "u-1"}),
        &[],
    );
    let create = |fields| Change::Upsert { id: None, fields };
    let results = rest.write(
        "items",
        vec![
            create(vec![field("wasync_id", Value::Text("u-1".into()))]),
            create(vec![field("wasync_id", Value::Null)]),
            Change::Delete("u-1".into()),
        ],
    );
    assert_eq!(results[0], Ok("u-1".into()));
    assert!(
        matches!(&results[1], Err(Error::InvalidInput(m)) if m.contains("wasync_id")),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Err(Error::InvalidInput(m)) if m.contains("write.delete")),
        "{:?}",
        results[2]
    );
}

#[test]
fn a_create_whose_answer_has_no_id_is_an_error_that_says_where_it_looked() {
    let rest = writable();
    let _script = Script::new().expect(
        "POST",
        "/items",
        Some(json!({"item": {}})),
        201,
        json!({"ok": true}),
        &[],
    );
    let results = rest.write(
        "items",
        vec![Change::Upsert {
            id: None,
            fields: vec![],
        }],
    );
    assert!(
        matches!(&results[0], Err(Error::Other(m)) if m.contains("`item.id`")),
        "{results:?}"
    );
}

#[test]
fn path_templates_are_checked_when_configured() {
    assert!(Template::parse("/a/{id}/b/{key}").is_ok());
    assert!(Template::parse("/a/{id").is_err());
    assert!(Template::parse("/a/id}").is_err());
    assert!(Template::parse("/a/{}").is_err());
}
