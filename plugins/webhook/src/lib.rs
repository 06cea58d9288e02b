//! `webhook`: a connector for any system that can post events. It takes signed JSON
//! webhooks in ([Standard Webhooks](https://www.standardwebhooks.com)), and as a destination
//! delivers records and events to an HTTP collector.
//!
//! # Configuration
//!
//! ```json
//! {"entities": {"PageView": {},
//!               "Order": {"kind": "object", "id_field": "order_id",
//!                         "watermark_field": "updated_at"}},
//!  "webhook": {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tolerance_seconds": 300},
//!  "deliver": {"url": "http://127.0.0.1:9000/collect"}}
//! ```
//!
//! - `entities` (object, required, not empty): the entities webhooks may carry and `write`
//!   may deliver, by name. Each takes:
//!   - `kind` (`event` or `object`, default `event`).
//!   - `id_field` (string, default `id`): the data field holding a record's id.
//!   - `watermark_field` (string, default `timestamp`): the data field holding a record's
//!     watermark.
//!
//!   `describe` returns these entities with their id and watermark fields and no field list
//!   (the data decides the fields).
//! - `webhook` (object, optional): how requests are verified. **The host injects it** from
//!   its own configuration (`[connectors.NAME.webhook] secret_env = "…"`), so the secret
//!   never sits in a pipeline file:
//!   - `secret` (string, required): `whsec_` followed by base64 (the Standard Webhooks form),
//!     or any other text, taken as its UTF-8 bytes.
//!   - `tolerance_seconds` (integer, default 300, not 0): how far `webhook-timestamp` may
//!     be from the connector's clock, either way.
//!   - `public_url` (string, optional): passed on by the host for schemes whose signatures
//!     cover the URL; Standard Webhooks signatures do not, so it is accepted and unused.
//!
//!   Without it every webhook is refused with `invalid-config` "no webhook secret
//!   configured".
//! - `deliver` (object, optional): `url` (string, required), the collector's absolute
//!   http(s) URL, where `write` posts. The host must allow the connector that host. Without
//!   it every change written fails with `invalid-config`.
//!
//! An unknown key anywhere is an `invalid-config` error that names it; so is an empty name,
//! a `whsec_` secret that is not base64, or a URL that is not http(s). Errors and `Debug`
//! output never show the secret.
//!
//! # Receiving
//!
//! A webhook is a `POST` with three headers, as Standard Webhooks has them:
//!
//! - `webhook-id`: the message's id, the same on every redelivery of it;
//! - `webhook-timestamp`: when it was sent, in seconds since 1970;
//! - `webhook-signature`: space-separated signatures `v1,<base64>`, each an HMAC-SHA256
//!   with the secret over `{webhook-id}.{webhook-timestamp}.{body}` (the body's exact
//!   bytes). The request is authentic when any one of them matches (senders list two while
//!   they rotate secrets); other schemes (`v1a`) are skipped.
//!
//! A missing header, a signature that does not match, or a timestamp further than
//! `tolerance_seconds` from now (a replay) refuses the request with `unauthorized`, saying
//! which check failed. Another method than `POST` is `invalid-input`.
//!
//! The body is UTF-8 JSON: one item, or an array of at most 1000 items, each
//!
//! ```json
//! {"entity": "PageView", "id": "pv-1", "timestamp": "2024-03-01T12:00:00Z",
//!  "deleted": false, "data": {"url": "/pricing", "user": "u-17", "ms": 412}}
//! ```
//!
//! - `entity` (required): a configured entity.
//! - `data` (object, required unless `deleted` is true): the record's fields. Strings
//!   become text, whole numbers integers, other numbers floats, booleans and null as such,
//!   arrays and objects JSON text.
//! - `id` (text or integer, optional): the record id. Without it, `data[id_field]`; without
//!   that, the `webhook-id` (one item) or `{webhook-id}#{index}` (an array), so a
//!   redelivered message gives the same ids again.
//! - `timestamp` (RFC 3339 text or epoch milliseconds, optional): the record's watermark.
//!   Without it, `data[watermark_field]` read the same way; without that, the
//!   `webhook-timestamp`.
//! - `deleted` (boolean, default false): a tombstone; meaningful for objects.
//!
//! Other keys of an item (`type`, say) are ignored. A body that is not JSON, an item that
//! is not an object, an unknown entity, or a value of the wrong type refuses the whole
//! request with `invalid-input` naming the item (`item 3: …`); nothing is stored.
//!
//! To try it against `wasync serve`, which takes a connector's webhooks at
//! `/webhooks/NAME` (here a connector named `events`), sign with `openssl` and post with
//! `curl`:
//!
//! ```sh
//! SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
//! ID=msg_1 TS=$(date +%s)
//! BODY='{"entity": "PageView", "data": {"url": "/pricing", "user": "u-17"}}'
//! KEY=$(printf %s "${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
//! SIG=$(printf %s "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY -binary | base64)
//! curl -X POST http://127.0.0.1:7870/webhooks/events \
//!   -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG" \
//!   -H 'content-type: application/json' --data-raw "$BODY"
//! ```
//!
//! # Delivering
//!
//! `write` sends all changes of one call in one `POST` to `deliver.url`, with
//! `Content-Type: application/json`:
//!
//! ```json
//! {"entity": "Order",
//!  "records": [{"id": "o-1", "deleted": false, "fields": {"total": 12.5, "at": "2024-03-01T12:00:00.000000Z"}},
//!              {"id": "o-2", "deleted": true}]}
//! ```
//!
//! Fields are plain JSON: timestamps as RFC 3339 UTC text with microseconds, JSON values as
//! the JSON they hold. A record's id is the change's id when it has one; else the
//! `id_field` value when it is non-empty text or an integer; else the first 32 hex digits
//! of SHA-256 over the entity name, a newline and the fields as canonical JSON (keys sorted,
//! no spaces). The header `Idempotency-Key` is the hex SHA-256 of the ids, each followed by
//! a newline. Both are the same each time the same changes are written, so a collector can
//! drop a write replayed after a crash.
//!
//! A derived id is the same for any two creates with equal fields: right for a replay,
//! wrong for two events that merely look alike (two views of one page by one user). Give
//! such records an id of their own: set the destination's `external_id_field` to the
//! entity's `id_field` (`id`), and the host puts the unified id there.
//!
//! Each change gets its own result, in order: its id when the collector answers 2xx. A
//! 429 fails every change of the call as `rate-limited`, another 4xx as `invalid-input`, a
//! 5xx as `unavailable`, each with the status and the start of the collector's body; the
//! host's own errors (a timeout, a host not allowed) pass through. The host has already
//! retried 429s and 5xx. A change that cannot be sent (an empty delete id, a float JSON
//! cannot hold, JSON text that does not parse) fails alone and is left out of the request.
//!
//! # Reading
//!
//! There is nothing to read: events arrive only by webhook, so `read` returns an empty
//! page.

mod deliver;
mod receive;
mod settings;
mod signature;
mod value;

pub use deliver::Transport;
pub use receive::MAX_ITEMS;
pub use settings::{DeliverSettings, EntitySettings, Kind, Settings, WebhookSettings};

use std::time::{SystemTime, UNIX_EPOCH};
use wasync_sdk::{
    Change, Config, Connector, EntityChange, EntityDescription, Error, Page, ReadRequest,
    WebhookRequest,
};

/// The time now, in seconds since 1970: the wall clock, or a fixed one in tests.
pub type Clock = fn() -> i64;

/// One configured use of the connector.
pub struct Webhook {
    settings: Settings,
    /// The HMAC key, decoded once; `None` when the host injected no secret.
    key: Option<Vec<u8>>,
    send: Transport,
    clock: Clock,
}

impl Webhook {
    /// The connector for `settings`, sending through the host, on the wall clock.
    pub fn with_settings(settings: Settings) -> Result<Self, Error> {
        Webhook::with_parts(settings, wasync_sdk::http::send, system_clock)
    }

    /// The connector for `settings`, sending through `send`, on `clock` (fakes, in tests).
    pub fn with_parts(settings: Settings, send: Transport, clock: Clock) -> Result<Self, Error> {
        settings.validate()?;
        let key = match &settings.webhook {
            Some(webhook) => Some(webhook.secret.key()?),
            None => None,
        };
        Ok(Webhook {
            settings,
            key,
            send,
            clock,
        })
    }

    fn entity(&self, name: &str) -> Result<&EntitySettings, Error> {
        self.settings
            .entities
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("no entity `{name}` is configured")))
    }
}

/// The wall clock; `std::time::SystemTime` reads WASI's clock in a component.
fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Connector for Webhook {
    fn new(config: &Config) -> Result<Self, Error> {
        Webhook::with_settings(config.deserialize()?)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        Ok(self
            .settings
            .entities
            .iter()
            .map(|(name, entity)| EntityDescription {
                name: name.clone(),
                kind: entity.kind.into(),
                id_field: entity.id_field.clone(),
                watermark_field: entity.watermark_field().to_owned(),
                fields: Vec::new(),
            })
            .collect())
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        self.entity(&request.entity)?;
        Ok(Page {
            records: Vec::new(),
            more: false,
        })
    }

    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        if changes.is_empty() {
            return Vec::new();
        }
        let Some(deliver) = &self.settings.deliver else {
            let e = Error::InvalidConfig(
                "no `deliver.url` is configured: this connector has nowhere to write".into(),
            );
            return vec![Err(e); changes.len()];
        };
        match self.entity(entity) {
            Ok(settings) => deliver::write(self.send, &deliver.url, entity, settings, changes),
            Err(e) => vec![Err(e); changes.len()],
        }
    }

    fn webhook(&self, request: WebhookRequest) -> Result<Vec<EntityChange>, Error> {
        if !request.method.eq_ignore_ascii_case("POST") {
            return Err(Error::InvalidInput(format!(
                "webhooks are POST requests, not {}",
                request.method
            )));
        }
        let (Some(key), Some(webhook)) = (&self.key, &self.settings.webhook) else {
            return Err(Error::InvalidConfig(
                "no webhook secret configured: set `[connectors.NAME.webhook] secret_env` in \
                 the host's configuration"
                    .into(),
            ));
        };
        let message = signature::verify(&request, key, webhook.tolerance_seconds, (self.clock)())?;
        receive::changes(&request.body, &message, &self.settings.entities)
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_connector!(Webhook);

#[cfg(test)]
mod tests;
