use super::{Script, connector, ids, item, read, try_connector};
use crate::page::link_next;
use crate::settings::SinceFormat;
use crate::values::since_text;
use serde_json::json;
use wasync_sdk::{Connector, Error, Value, ValueKind};

fn ascending_cursor() -> serde_json::Value {
    json!({
        "path": "/items", "query": {"sort": "updated_at"}, "records": "data",
        "watermark_field": "updated_at", "order": "ascending",
        "since": {"param": "updated_since"},
        "paging": {"type": "cursor", "param": "cursor", "path": "meta.next", "size_param": "limit", "size": 2}
    })
}

#[test]
fn an_ascending_read_holds_back_a_run_of_ties_until_a_later_watermark_shows() {
    let rest = connector(ascending_cursor());
    let script = Script::new()
        .get(
            "/items?sort=updated_at&limit=2",
            json!({"data": [item("a", 1), item("c", 2)], "meta": {"next": "k1"}}),
        )
        .get(
            "/items?sort=updated_at&limit=2&cursor=k1",
            json!({"data": [item("b", 2), item("d", 3)], "meta": {"next": "k2"}}),
        );
    // After the first page only `a` is surely complete; the second shows t2's run is over.
    let page = read(&rest, None, 2).expect("read");
    assert_eq!(ids(&page), ["a", "b"]);
    assert!(page.more);
    drop(script);

    // The next read goes on with the walk: the fewest calls.
    let script = Script::new().get(
        "/items?sort=updated_at&limit=2&cursor=k2",
        json!({"data": [item("e", 4)], "meta": {"next": null}}),
    );
    let page = read(&rest, Some(("2026-01-01T00:00:02Z", "b")), 2).expect("read");
    assert_eq!((ids(&page), page.more), (vec!["c", "d"], true));
    let page = read(&rest, Some(("2026-01-01T00:00:03Z", "d")), 2).expect("kept");
    assert_eq!((ids(&page), page.more), (vec!["e"], false));
    drop(script);

    // Another instance (a new process) asks again from t2, inclusive and rounded down, and
    // skips up to `b`.
    let rest = connector(ascending_cursor());
    let _script = Script::new()
        .get(
            "/items?sort=updated_at&updated_since=2026-01-01T00%3A00%3A02Z&limit=2",
            json!({"data": [item("c", 2), item("b", 2)], "meta": {"next": "k3"}}),
        )
        .get(
            "/items?sort=updated_at&updated_since=2026-01-01T00%3A00%3A02Z&limit=2&cursor=k3",
            json!({"data": [item("d", 3)], "meta": {"next": null}}),
        );
    let page = read(&rest, Some(("2026-01-01T00:00:02Z", "b")), 2).expect("read");
    assert_eq!((ids(&page), page.more), (vec!["c", "d"], false));
}

#[test]
fn a_kept_walk_that_fails_to_go_on_starts_again_from_the_cursor() {
    let rest = connector(ascending_cursor());
    let _script = Script::new()
        .get(
            "/items?sort=updated_at&limit=2",
            json!({"data": [item("a", 1), item("b", 2)], "meta": {"next": "k1"}}),
        )
        .expect(
            "GET",
            "/items?sort=updated_at&limit=2&cursor=k1",
            None,
            400,
            json!({"message": "cursor expired"}),
            &[],
        )
        .get(
            "/items?sort=updated_at&updated_since=2026-01-01T00%3A00%3A01Z&limit=2",
            json!({"data": [item("a", 1), item("b", 2)], "meta": {"next": null}}),
        );
    let page = read(&rest, None, 1).expect("read");
    assert_eq!((ids(&page), page.more), (vec!["a"], true));
    let page = read(&rest, Some(("2026-01-01T00:00:01Z", "a")), 1).expect("again");
    assert_eq!((ids(&page), page.more), (vec!["b"], false));
}

#[test]
fn an_ascending_read_ends_safely_at_a_repeated_token() {
    let rest = connector(ascending_cursor());
    let _script = Script::new()
        .get(
            "/items?sort=updated_at&limit=2",
            json!({"data": [item("a", 1), item("b", 2)], "meta": {"next": "k"}}),
        )
        .get(
            "/items?sort=updated_at&limit=2&cursor=k",
            json!({"data": [item("c", 3)], "meta": {"next": "k"}}),
        );
    let page = read(&rest, None, 10).expect("a safe part");
    assert_eq!(
        ids(&page),
        ["a", "b"],
        "what comes before the last watermark"
    );
    assert!(page.more, "the next read starts again from `b`");
}

#[test]
fn an_ascending_list_out_of_order_is_an_error_naming_it() {
    let rest = connector(ascending_cursor());
    let _script = Script::new().get(
        "/items?sort=updated_at&limit=2",
        json!({"data": [item("a", 5), item("b", 2)], "meta": {"next": null}}),
    );
    let error = read(&rest, None, 10).expect_err("out of order");
    assert!(
        matches!(&error, Error::Other(m) if m.contains("ascending")),
        "{error:?}"
    );
}

fn unordered(paging: serde_json::Value) -> serde_json::Value {
    json!({"path": "/items", "watermark_field": "updated_at", "paging": paging})
}

#[test]
fn an_unordered_list_is_fetched_once_and_answered_a_limit_at_a_time() {
    let rest = connector(unordered(json!({"type": "none"})));
    let _script = Script::new().get(
        "/items",
        json!([
            item("e", 5),
            item("a", 1),
            item("d", 4),
            item("b", 2),
            item("c", 3)
        ]),
    );
    let first = read(&rest, None, 2).expect("read");
    assert_eq!((ids(&first), first.more), (vec!["a", "b"], true));
    let second = read(&rest, Some(("2026-01-01T00:00:02Z", "b")), 2).expect("from memory");
    assert_eq!((ids(&second), second.more), (vec!["c", "d"], true));
    let third = read(&rest, Some(("2026-01-01T00:00:04Z", "d")), 2).expect("from memory");
    assert_eq!((ids(&third), third.more), (vec!["e"], false));
}

#[test]
fn an_unordered_read_fails_on_a_page_that_skipped_records() {
    let paging = json!({"type": "page", "param": "page", "size_param": "per_page", "size": 2,
                        "total_pages": "pages"});
    let rest = connector(json!({"path": "/items", "records": "data",
                                "watermark_field": "updated_at", "paging": paging}));
    let _script = Script::new().get(
        "/items?per_page=2&page=1",
        json!({"data": [item("a", 1)], "pages": 3}),
    );
    let error = read(&rest, None, 10).expect_err("a short page in the middle");
    assert!(
        matches!(&error, Error::Unavailable(m) if m.contains("page 1 of 3")),
        "{error:?}"
    );
}

#[test]
fn offsets_move_by_what_came_so_a_short_page_loses_nothing() {
    let paging = json!({"type": "offset", "param": "offset", "size_param": "limit", "size": 2,
                        "total": "total"});
    let rest = connector(json!({"path": "/items", "records": "items",
                                "watermark_field": "updated_at", "paging": paging}));
    let _script = Script::new()
        .get(
            "/items?limit=2&offset=0",
            json!({"items": [item("a", 1)], "total": 3}),
        )
        .get(
            "/items?limit=2&offset=1",
            json!({"items": [item("b", 2), item("c", 3)], "total": 3}),
        );
    let page = read(&rest, None, 10).expect("read");
    assert_eq!((ids(&page), page.more), (vec!["a", "b", "c"], false));
}

#[test]
fn a_post_list_carries_since_and_the_cursor_in_its_body() {
    let rest = connector(json!({
        "path": "/search", "method": "POST", "body": {"sort": "updated_at"},
        "records": "records", "watermark_field": "updated_at", "order": "ascending",
        "since": {"param": "filter.updated_since", "format": "rfc3339-millis"},
        "paging": {"type": "cursor", "param": "after", "path": "next_after", "size_param": "limit", "size": 50}
    }));
    let _script = Script::new()
    .expect(
        "POST",
        "/search",
        Some(json!({"sort": "updated_at", "filter": {"updated_since": "2026-01-01T00:00:01.000Z"},
                    "limit": 50})),
        200,
        json!({"records": [item("a", 1), item("b", 2)], "next_after": "x"}),
        &[],
    )
    .expect(
        "POST",
        "/search",
        Some(json!({"sort": "updated_at", "filter": {"updated_since": "2026-01-01T00:00:01.000Z"},
                    "limit": 50, "after": "x"})),
        200,
        json!({"records": [], "next_after": null}),
        &[],
    );
    let page = read(&rest, Some(("2026-01-01T00:00:01Z", "a")), 10).expect("read");
    assert_eq!(ids(&page), ["b"]);
}

#[test]
fn link_paging_follows_rel_next_to_its_end() {
    let rest = connector(unordered(
        json!({"type": "link", "size_param": "per_page", "size": 1}),
    ));
    let next = format!(
        "<{}/items?per_page=1&page=2>; rel=\"next\", <x>; rel=\"last\"",
        super::BASE
    );
    let _script = Script::new()
        .expect(
            "GET",
            "/items?per_page=1",
            None,
            200,
            json!([item("b", 2)]),
            &[("Link", &next)],
        )
        .get("/items?per_page=1&page=2", json!([item("a", 1)]));
    let page = read(&rest, None, 10).expect("read");
    assert_eq!(ids(&page), ["a", "b"]);
}

#[test]
fn link_headers_are_parsed_as_rfc_8288_says() {
    let header = r#"<https://x/?page=2>; rel="next", <https://x/?page=9>; rel="last""#;
    assert_eq!(link_next(header).as_deref(), Some("https://x/?page=2"));
    let header = r#"<https://x/?page=1>; rel="prev first", <https://x/?a=1,2>; rel=next"#;
    assert_eq!(link_next(header).as_deref(), Some("https://x/?a=1,2"));
    assert_eq!(link_next(r#"<https://x/?page=1>; rel="prev""#), None);
}

#[test]
fn a_record_that_cannot_be_read_comes_with_an_error_instead_of_being_dropped() {
    let rest = connector(unordered(json!({"type": "none"})));
    let _script = Script::new().get(
        "/items",
        json!([item("a", 1), {"id": "b", "updated_at": "yesterday"}, {"updated_at": "2026-01-01T00:00:03Z"}]),
    );
    let page = read(&rest, None, 10).expect("read");
    assert_eq!(page.records.len(), 3, "{page:?}");
    let errors: Vec<_> = page
        .records
        .iter()
        .filter_map(|r| r.fields.iter().find(|f| f.name == "_error"))
        .collect();
    assert_eq!(errors.len(), 2, "{page:?}");
    assert!(format!("{errors:?}").contains("yesterday"), "{errors:?}");
}

#[test]
fn describe_samples_the_first_page_when_fields_are_not_configured() {
    let rest = connector(unordered(json!({"type": "none"})));
    let _script = Script::new().get(
        "/items",
        json!([{"id": 1, "updated_at": "2026-01-01T00:00:01Z", "n": null, "tags": []},
               {"id": 2, "updated_at": "2026-01-01T00:00:02Z", "n": 2.5, "ok": true}]),
    );
    let described = rest.describe().expect("describe");
    let kinds: Vec<(String, ValueKind, bool)> = described[0]
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.kind, f.read_only))
        .collect();
    assert_eq!(
        kinds,
        [
            ("id".into(), ValueKind::Integer, true),
            ("n".into(), ValueKind::Float, false),
            ("ok".into(), ValueKind::Boolean, false),
            ("tags".into(), ValueKind::Json, false),
            ("updated_at".into(), ValueKind::Timestamp, true),
        ]
    );
    rest.describe().expect("kept: no second call");
}

#[test]
fn configured_fields_are_typed_and_reach_into_objects() {
    let rest = connector(json!({"path": "/items", "watermark_field": "updated_at",
        "fields": {"a.b": "integer", "when": "timestamp", "name": "text"}}));
    let _script = Script::new().get(
        "/items",
        json!([{"id": "x", "updated_at": "2026-01-01T00:00:01Z", "a": {"b": "7"},
                "when": "2026-01-02T00:00:00Z", "name": 5, "other": 1}]),
    );
    let page = read(&rest, None, 10).expect("read");
    let fields: Vec<(&str, &Value)> = page.records[0]
        .fields
        .iter()
        .map(|f| (f.name.as_str(), &f.value))
        .collect();
    assert_eq!(
        fields,
        [
            ("a.b", &Value::Integer(7)),
            ("name", &Value::Text("5".into())),
            ("when", &Value::Timestamp(1_767_312_000_000_000)),
        ]
    );
}

#[test]
fn a_watermark_goes_into_a_request_rounded_down_in_the_format_asked() {
    let t = Value::Timestamp(1_767_225_601_234_567); // 2026-01-01T00:00:01.234567Z
    let text = |format| since_text(&t, format);
    assert_eq!(
        text(SinceFormat::Rfc3339).as_deref(),
        Some("2026-01-01T00:00:01Z")
    );
    assert_eq!(
        text(SinceFormat::Rfc3339Millis).as_deref(),
        Some("2026-01-01T00:00:01.234Z")
    );
    assert_eq!(
        text(SinceFormat::Rfc3339Micros).as_deref(),
        Some("2026-01-01T00:00:01.234567Z")
    );
    assert_eq!(text(SinceFormat::Unix).as_deref(), Some("1767225601"));
    assert_eq!(
        text(SinceFormat::UnixMillis).as_deref(),
        Some("1767225601234")
    );
    assert_eq!(
        since_text(&Value::Integer(42), SinceFormat::Raw).as_deref(),
        Some("42")
    );
}

#[test]
fn settings_that_cannot_work_are_refused_naming_the_key() {
    let refused = |entity: serde_json::Value| match try_connector(entity) {
        Err(Error::InvalidConfig(m)) => m,
        other => panic!("accepted: {:?}", other.err()),
    };
    let base = || json!({"path": "/items", "watermark_field": "updated_at"});
    let with = |key: &str, value: serde_json::Value| {
        let mut e = base();
        e[key] = value;
        e
    };
    assert!(
        refused(with("paging", json!({"type": "offset", "param": "o"}))).contains("size_param")
    );
    assert!(refused(with("body", json!({}))).contains("POST"));
    assert!(refused(with("path", json!("items"))).contains("`path`"));
    let update = json!({"update": {"method": "PATCH", "path": "/items"}});
    assert!(refused(with("write", update)).contains("{id}"));
    let create = json!({"create": {"method": "GET", "path": "/items"}});
    assert!(refused(with("write", create)).contains("write.create.method"));
    assert!(refused(with("colour", json!(1))).contains("colour"));
    let settings: crate::Settings = serde_json::from_value(json!({
        "base_url": "https://x", "headers": {"Authorization": "Bearer s3cret"},
        "entities": {"items": base()}
    }))
    .expect("parses");
    let error = crate::Rest::with_transport(settings, super::fake_send).err();
    assert!(
        matches!(&error, Some(Error::InvalidConfig(m)) if m.contains("http.auth") && !m.contains("s3cret")),
        "{error:?}"
    );
}
