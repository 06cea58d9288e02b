//! Receiving: signatures, timestamps, and bodies turned into changes.

use super::*;
use crate::signature::{self, Verified};
use wasync_sdk::{EntityChange, Field, Record, Value};

/// 2024-03-01T12:00:00Z in microseconds.
const NOW_MICROS: i64 = NOW * 1_000_000;

fn unauthorized(result: Result<Vec<EntityChange>, Error>) -> String {
    match result {
        Err(Error::Unauthorized(message)) => message,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

fn invalid_input(result: Result<Vec<EntityChange>, Error>) -> String {
    match result {
        Err(Error::InvalidInput(message)) => message,
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

fn field(name: &str, value: Value) -> Field {
    Field {
        name: name.into(),
        value,
    }
}

#[test]
fn verifies_the_published_test_vector() -> Result<(), Error> {
    let (id, timestamp, body) = (
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        r#"{"test": 2432232314}"#,
    );
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(
        sign(SECRET, id, timestamp, body),
        expected,
        "the test signer"
    );

    let key = crate::settings::Secret::from_text(SECRET).key()?;
    let request = request(id, timestamp, expected, body);
    let verified = signature::verify(&request, &key, 300, timestamp + 10)?;
    assert_eq!(
        verified,
        Verified {
            id: id.into(),
            timestamp
        }
    );
    // Through the connector, on a clock at the vector's time: the signature passes, and
    // the body (no `entity`) is what is refused.
    let connector =
        Webhook::with_parts(Config::parse(SETTINGS)?.deserialize()?, fake_send, || {
            1_614_265_330
        })?;
    let message = invalid_input(connector.webhook(request));
    assert!(message.starts_with("item 0: has no `entity`"), "{message}");
    Ok(())
}

#[test]
fn accepts_a_single_item() -> Result<(), Error> {
    let body = r#"{"entity": "PageView", "id": "pv-1", "timestamp": "2024-03-01T11:59:00.5Z",
        "type": "page.viewed",
        "data": {"url": "/pricing", "ms": 412, "ratio": 0.5, "bot": false, "ref": null,
                 "tags": ["a", "b"], "geo": {"cc": "DE"}}}"#;
    let changes = connector(SETTINGS)?.webhook(signed("msg_1", body))?;
    assert_eq!(
        changes,
        [EntityChange {
            entity: "PageView".into(),
            record: Record {
                id: "pv-1".into(),
                watermark: Value::Timestamp(NOW_MICROS - 59_500_000),
                fields: vec![
                    field("bot", Value::Boolean(false)),
                    field("geo", Value::Json(r#"{"cc":"DE"}"#.into())),
                    field("ms", Value::Integer(412)),
                    field("ratio", Value::Float(0.5)),
                    field("ref", Value::Null),
                    field("tags", Value::Json(r#"["a","b"]"#.into())),
                    field("url", Value::Text("/pricing".into())),
                ],
                deleted: false,
            },
        }]
    );
    Ok(())
}

#[test]
fn accepts_an_array_and_derives_ids_and_watermarks() -> Result<(), Error> {
    let body = r#"[
        {"entity": "PageView", "data": {"url": "/a"}},
        {"entity": "PageView", "data": {"id": "pv-9", "timestamp": 1709294000123, "url": "/b"}},
        {"entity": "Order", "data": {"order_id": 77, "updated_at": "2024-02-29T00:00:00Z", "id": "x"}},
        {"entity": "Order", "id": "o-5", "timestamp": 1709294000000, "data": {"order_id": "o-6",
                                                   "updated_at": "2000-01-01T00:00:00Z"}},
        {"entity": "Order", "deleted": true, "data": {"order_id": ""}}
    ]"#;
    let changes = connector(SETTINGS)?.webhook(signed("msg_2", body))?;
    let got: Vec<(&str, &str, &Value, bool)> = changes
        .iter()
        .map(|c| {
            let r = &c.record;
            (c.entity.as_str(), r.id.as_str(), &r.watermark, r.deleted)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("PageView", "msg_2#0", &Value::Timestamp(NOW_MICROS), false),
            (
                "PageView",
                "pv-9",
                &Value::Timestamp(1_709_294_000_123_000),
                false
            ),
            (
                "Order",
                "77",
                &Value::Timestamp(1_709_164_800_000_000),
                false
            ),
            (
                "Order",
                "o-5",
                &Value::Timestamp(1_709_294_000_000_000),
                false
            ),
            ("Order", "msg_2#4", &Value::Timestamp(NOW_MICROS), true),
        ]
    );
    // The data stays as sent: the watermark field is not turned into a timestamp.
    assert_eq!(
        changes[1].record.get("timestamp"),
        Some(&Value::Integer(1_709_294_000_123))
    );
    Ok(())
}

#[test]
fn a_redelivery_gives_the_same_ids() -> Result<(), Error> {
    let body =
        r#"[{"entity": "PageView", "data": {"u": 1}}, {"entity": "PageView", "data": {"u": 2}}]"#;
    let connector = connector(SETTINGS)?;
    let first = connector.webhook(signed("msg_3", body))?;
    // The sender retries a minute later: same id and body, new timestamp and signature.
    let later = NOW - 60;
    let again = connector.webhook(request(
        "msg_3",
        later,
        &sign(SECRET, "msg_3", later, body),
        body,
    ))?;
    let ids = |changes: &[EntityChange]| -> Vec<String> {
        changes.iter().map(|c| c.record.id.clone()).collect()
    };
    assert_eq!(ids(&first), ["msg_3#0", "msg_3#1"]);
    assert_eq!(ids(&again), ids(&first));
    let single = r#"{"entity": "PageView", "data": {}}"#;
    assert_eq!(ids(&connector.webhook(signed("msg_4", single))?), ["msg_4"]);
    Ok(())
}

#[test]
fn accepts_any_matching_signature_of_several() -> Result<(), Error> {
    let body = r#"{"entity": "PageView", "data": {}}"#;
    let old = sign(
        "whsec_b2xkIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA==",
        "msg_5",
        NOW,
        body,
    );
    let current = sign(SECRET, "msg_5", NOW, body);
    let list = format!("v1a,aGVsbG8= {old} v1,!!! {current}");
    let changes = connector(SETTINGS)?.webhook(request("msg_5", NOW, &list, body))?;
    assert_eq!(changes.len(), 1);
    Ok(())
}

#[test]
fn takes_a_raw_secret_and_headers_in_any_case() -> Result<(), Error> {
    let settings = r#"{"entities": {"PageView": {}}, "webhook": {"secret": "not base64: ☃"}}"#;
    let body = r#"{"entity": "PageView", "data": {}}"#;
    let mut request = request(
        "msg_6",
        NOW,
        &sign("not base64: ☃", "msg_6", NOW, body),
        body,
    );
    for (name, _) in &mut request.headers {
        *name = name.to_uppercase();
    }
    assert_eq!(connector(settings)?.webhook(request)?.len(), 1);
    Ok(())
}

#[test]
fn refuses_what_is_not_signed_right() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let body = r#"{"entity": "PageView", "data": {}}"#;
    let good = signed("msg_7", body);

    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut request = good.clone();
        request.headers.retain(|(n, _)| n != missing);
        let message = unauthorized(connector.webhook(request));
        assert!(
            message.contains(&format!("{missing} header is missing")),
            "{message}"
        );
        let mut request = good.clone();
        for (n, v) in &mut request.headers {
            if n == missing {
                *v = " ".into();
            }
        }
        let message = unauthorized(connector.webhook(request));
        assert!(
            message.contains(&format!("{missing} header is empty")),
            "{message}"
        );
    }

    let other_secret = sign("whsec_b3RoZXIgc2VjcmV0", "msg_7", NOW, body);
    let tampered = r#"{"entity": "PageView", "data": {"admin": true}}"#;
    let expected = sign(SECRET, "msg_7", NOW, body);
    for (request, text) in [
        (
            request("msg_7", NOW, &other_secret, body),
            "none of the 1 v1 signature(s)",
        ),
        (
            request("msg_7", NOW, &expected, tampered),
            "matches the configured secret",
        ),
        (request("msg_8", NOW, &expected, body), "none of the 1"),
        (
            request(
                "msg_7",
                NOW,
                &format!("{other_secret} {other_secret}"),
                body,
            ),
            "none of the 2",
        ),
        (
            request("msg_7", NOW, &expected.replacen("v1,", "v1a,", 1), body),
            "no `v1,<base64>`",
        ),
        (request("msg_7", NOW, "garbage", body), "no `v1,<base64>`"),
    ] {
        let message = unauthorized(connector.webhook(request));
        assert!(message.contains(text), "{text}: {message}");
        assert!(
            !message.contains(&expected[3..]),
            "leaks the signature: {message}"
        );
        assert!(!message.contains("MfKQ9r8G"), "leaks the secret: {message}");
    }

    let mut request = good.clone();
    for (n, v) in &mut request.headers {
        if n == "webhook-timestamp" {
            *v = "+1709294400".into();
        }
    }
    let message = unauthorized(connector.webhook(request));
    assert!(
        message.contains("`+1709294400` is not a count of seconds"),
        "{message}"
    );

    let mut get = good;
    get.method = "GET".into();
    let err = connector.webhook(get);
    assert!(
        matches!(&err, Err(Error::InvalidInput(m)) if m.contains("not GET")),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn refuses_timestamps_outside_the_tolerance() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let body = r#"{"entity": "PageView", "data": {}}"#;
    let at = |t: i64| request("msg_9", t, &sign(SECRET, "msg_9", t, body), body);
    for edge in [NOW - 300, NOW + 300] {
        assert_eq!(connector.webhook(at(edge))?.len(), 1, "{edge}");
    }
    let message = unauthorized(connector.webhook(at(NOW - 1_000)));
    assert_eq!(
        message,
        "webhook-timestamp 1709293400 is 700 s outside the 300 s tolerance (1000 s in the past); \
         a replay, or a clock that is off"
    );
    let message = unauthorized(connector.webhook(at(NOW + 301)));
    assert!(
        message.contains("is 1 s outside the 300 s tolerance (301 s in the future)"),
        "{message}"
    );

    let narrow = r#"{"entities": {"PageView": {}},
                     "webhook": {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tolerance_seconds": 5}}"#;
    let message = unauthorized(super::connector(narrow)?.webhook(at(NOW - 6)));
    assert!(message.contains("outside the 5 s tolerance"), "{message}");
    Ok(())
}

#[test]
fn refuses_webhooks_without_a_secret() -> Result<(), Error> {
    let connector = super::connector(r#"{"entities": {"PageView": {}}}"#)?;
    let err = connector.webhook(signed("msg_10", r#"{"entity": "PageView", "data": {}}"#));
    assert!(
        matches!(&err, Err(Error::InvalidConfig(m)) if m.starts_with("no webhook secret configured")),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn refuses_unusable_bodies_whole() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let ok = r#"{"entity": "PageView", "data": {}}"#;
    for (body, expected) in [
        ("{\"entity\": ", "the body is not JSON"),
        ("", "the body is not JSON"),
        ("42", "the body is a number"),
        (r#""PageView""#, "the body is a string"),
        (
            &format!("[{ok}, {ok}, {ok}, 7]"),
            "item 3: is a number, not an object",
        ),
        (&format!("[{ok}, null]"), "item 1: is null, not an object"),
        (
            r#"{"entity": "Invoice", "data": {}}"#,
            "item 0: entity `Invoice` is not configured (configured: Order, PageView)",
        ),
        (
            r#"{"entity": 5, "data": {}}"#,
            "item 0: `entity` is a number, not text",
        ),
        (r#"{"data": {}}"#, "item 0: has no `entity`"),
        (r#"{"entity": "PageView"}"#, "item 0: has no `data` object"),
        (
            r#"{"entity": "PageView", "data": [1]}"#,
            "item 0: `data` is an array, not an object",
        ),
        (
            r#"{"entity": "PageView", "deleted": "yes", "data": {}}"#,
            "item 0: `deleted` is a string",
        ),
        (
            r#"{"entity": "PageView", "id": true, "data": {}}"#,
            "item 0: `id` is a boolean",
        ),
        (
            r#"{"entity": "PageView", "id": 1.5, "data": {}}"#,
            "item 0: `id` is a number",
        ),
        (
            r#"{"entity": "Order", "data": {"order_id": {"n": 1}}}"#,
            "item 0: data.`order_id` is an object",
        ),
        (
            r#"{"entity": "PageView", "timestamp": "yesterday", "data": {}}"#,
            "item 0: `timestamp` \"yesterday\" is neither",
        ),
        (
            r#"{"entity": "PageView", "timestamp": 1.5, "data": {}}"#,
            "item 0: `timestamp` 1.5 is neither",
        ),
        (
            r#"{"entity": "PageView", "timestamp": 9223372036854775807, "data": {}}"#,
            "item 0: `timestamp`",
        ),
        (
            r#"{"entity": "Order", "data": {"updated_at": true}}"#,
            "item 0: data.`updated_at` true is neither",
        ),
    ] {
        let message = invalid_input(connector.webhook(signed("msg_11", body)));
        assert!(message.starts_with(expected), "{body}: {message}");
    }
    let latin1 = b"{\"entity\": \"Page\xe9\"}";
    let signature = sign_bytes(SECRET, "msg_12", NOW, latin1);
    let mut latin1_request = request("msg_12", NOW, &signature, "");
    latin1_request.body = latin1.to_vec();
    let message = invalid_input(connector.webhook(latin1_request));
    assert_eq!(message, "the body is not UTF-8 (at byte 16)");
    Ok(())
}

#[test]
fn takes_at_most_a_thousand_items() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let items = |n: usize| {
        let item = r#"{"entity": "PageView", "data": {}}"#;
        format!("[{}]", vec![item; n].join(","))
    };
    let changes = connector.webhook(signed("msg_13", &items(1000)))?;
    assert_eq!(changes.len(), 1000);
    assert_eq!(changes[999].record.id, "msg_13#999");
    let message = invalid_input(connector.webhook(signed("msg_13", &items(1001))));
    assert_eq!(
        message,
        "the body holds 1001 items, more than the 1000 one request may carry"
    );
    assert_eq!(connector.webhook(signed("msg_14", "[]"))?, []);
    Ok(())
}
