//! Standard Webhooks verification: who sent a request, and when.
//!
//! A sender signs `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 and lists one
//! or more `v1,<base64>` signatures in `webhook-signature` (several while it rotates its
//! secret). A request is authentic when any listed `v1` signature matches, compared in
//! constant time, and fresh when its timestamp is within the tolerance of now. Messages say
//! which check failed and never carry the secret or the signature expected.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasync_sdk::{Error, WebhookRequest};

/// The signature scheme this connector checks; `v1a` (ed25519) and others are skipped.
const SCHEME: &str = "v1";

/// What a verified request says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id`: the same for every delivery of one message.
    pub id: String,
    /// `webhook-timestamp`, seconds since the epoch.
    pub timestamp: i64,
}

/// Checks a request's signature with `key`, then its timestamp against `now` (seconds).
pub fn verify(
    request: &WebhookRequest,
    key: &[u8],
    tolerance_seconds: u64,
    now: i64,
) -> Result<Verified, Error> {
    let id = header(request, "webhook-id")?;
    let timestamp_text = header(request, "webhook-timestamp")?;
    let signatures = header(request, "webhook-signature")?;
    let timestamp = parse_seconds(timestamp_text)?;

    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| Error::Other("HMAC refused the webhook secret's length".into()))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(&request.body);

    let candidates: Vec<&str> = signatures
        .split_whitespace()
        .filter_map(|s| s.split_once(','))
        .filter(|(scheme, _)| *scheme == SCHEME)
        .map(|(_, signature)| signature)
        .collect();
    if candidates.is_empty() {
        return Err(Error::Unauthorized(
            "the webhook-signature header lists no `v1,<base64>` signature".into(),
        ));
    }
    // `verify_slice` compares in constant time; a candidate that is not base64 or not 32
    // bytes long simply does not match.
    let matches = candidates.iter().any(|candidate| {
        STANDARD
            .decode(candidate)
            .is_ok_and(|tag| mac.clone().verify_slice(&tag).is_ok())
    });
    if !matches {
        return Err(Error::Unauthorized(format!(
            "none of the {} v1 signature(s) in webhook-signature matches the configured secret",
            candidates.len()
        )));
    }

    let drift = now.abs_diff(timestamp);
    if drift > tolerance_seconds {
        let direction = if timestamp < now {
            "in the past"
        } else {
            "in the future"
        };
        return Err(Error::Unauthorized(format!(
            "webhook-timestamp {timestamp} is {} s outside the {tolerance_seconds} s tolerance \
             ({drift} s {direction}); a replay, or a clock that is off",
            drift - tolerance_seconds
        )));
    }
    Ok(Verified {
        id: id.to_owned(),
        timestamp,
    })
}

/// The first header named `name` (the host lower-cases names; any case is accepted),
/// trimmed; missing or empty is an error naming it.
fn header<'r>(request: &'r WebhookRequest, name: &str) -> Result<&'r str, Error> {
    let value = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim());
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(Error::Unauthorized(format!("the {name} header is empty"))),
        None => Err(Error::Unauthorized(format!(
            "the {name} header is missing: is the sender using Standard Webhooks?"
        ))),
    }
}

/// Unix seconds as the spec writes them: ASCII digits only.
fn parse_seconds(text: &str) -> Result<i64, Error> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| {
            let shown: String = text.chars().take(32).collect();
            Error::Unauthorized(format!(
                "webhook-timestamp `{shown}` is not a count of seconds since 1970"
            ))
        })
}
