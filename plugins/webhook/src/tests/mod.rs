//! The connector driven as the host drives it, with a fixed clock and a fake `http::send`
//! that records each request and replays a scripted answer.

mod deliver;
mod receive;

use crate::Webhook;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;
use wasync_sdk::http::{Request, Response};
use wasync_sdk::{
    Config, Connector, EntityDescription, EntityKind, Error, Page, ReadRequest, WebhookRequest,
};

/// "Now" for every test: 2024-03-01T12:00:00Z.
pub const NOW: i64 = 1_709_294_400;

/// The Standard Webhooks test vector's secret.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn fixed_clock() -> i64 {
    NOW
}

/// A configuration with an event and an object entity, the secret and a collector.
pub const SETTINGS: &str = r#"{
    "entities": {"PageView": {},
                 "Order": {"kind": "object", "id_field": "order_id", "watermark_field": "updated_at"}},
    "webhook": {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "deliver": {"url": "http://127.0.0.1:9000/collect"}}"#;

thread_local! {
    /// Tests run on their own threads, so each has its own record and script.
    static SENT: RefCell<Vec<Request>> = const { RefCell::new(Vec::new()) };
    static REPLY: RefCell<Option<Result<Response, Error>>> = const { RefCell::new(None) };
}

/// The fake transport: records the request, answers with the scripted reply (200 `{}`
/// unless a test set another).
fn fake_send(request: Request) -> Result<Response, Error> {
    SENT.with(|s| s.borrow_mut().push(request));
    REPLY
        .with(|r| r.borrow().clone())
        .unwrap_or_else(|| Ok(response(200, "{}")))
}

/// Makes the fake answer every request with `reply`.
pub fn reply_with(reply: Result<Response, Error>) {
    REPLY.with(|r| *r.borrow_mut() = Some(reply));
}

/// The requests sent so far, taken.
pub fn sent() -> Vec<Request> {
    SENT.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

pub fn response(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// The connector for `settings` (JSON text), on the fixed clock and the fake transport.
pub fn connector(settings: &str) -> Result<Webhook, Error> {
    Webhook::with_parts(
        Config::parse(settings)?.deserialize()?,
        fake_send,
        fixed_clock,
    )
}

/// A `v1,<base64>` signature, computed here from the spec's description rather than by the
/// connector's code: HMAC-SHA256 keyed with the base64 after `whsec_` (or the raw text),
/// over `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    sign_bytes(secret, id, timestamp, body.as_bytes())
}

/// [`sign`] for a body that need not be text.
pub fn sign_bytes(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD.decode(encoded).unwrap_or_default(),
        None => secret.as_bytes().to_vec(),
    };
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        panic!("HMAC takes keys of any length");
    };
    mac.update(&content);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A POST with the three Standard Webhooks headers.
pub fn request(id: &str, timestamp: i64, signature: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/events".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.into()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), signature.into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

/// A request signed with [`SECRET`] at [`NOW`].
pub fn signed(id: &str, body: &str) -> WebhookRequest {
    request(id, NOW, &sign(SECRET, id, NOW, body), body)
}

#[test]
fn describes_the_configured_entities() -> Result<(), Error> {
    let described = connector(SETTINGS)?.describe()?;
    let expected = [
        ("Order", EntityKind::Object, "order_id", "updated_at"),
        ("PageView", EntityKind::Event, "id", "timestamp"),
    ];
    assert_eq!(described.len(), expected.len());
    for (d, (name, kind, id, watermark)) in described.iter().zip(expected) {
        assert_eq!(
            d,
            &EntityDescription {
                name: name.into(),
                kind,
                id_field: id.into(),
                watermark_field: watermark.into(),
                fields: vec![],
            }
        );
    }
    Ok(())
}

#[test]
fn reads_nothing_but_knows_its_entities() -> Result<(), Error> {
    let connector = connector(SETTINGS)?;
    let read = |entity: &str| {
        connector.read(ReadRequest {
            entity: entity.into(),
            after: None,
            until: None,
            limit: 100,
        })
    };
    assert_eq!(read("PageView")?, Page::default());
    assert!(matches!(read("Nope"), Err(Error::NotFound(m)) if m.contains("`Nope`")));
    assert!(sent().is_empty());
    Ok(())
}

#[test]
fn refuses_a_bad_configuration_at_create() {
    let err = connector(r#"{"entities": {"E": {}}, "deliver": {"url": "ftp://x"}}"#).err();
    assert!(
        matches!(&err, Some(Error::InvalidConfig(m)) if m.contains("`deliver.url`")),
        "{err:?}"
    );
}
