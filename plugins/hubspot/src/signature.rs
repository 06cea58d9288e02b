//! HubSpot's v3 request signature ("Validating requests from HubSpot"): a webhook request
//! is HubSpot's when its `X-HubSpot-Signature-v3` header is
//! `base64(HMAC-SHA256(client secret, method + URI + body + timestamp))` and its
//! `X-HubSpot-Request-Timestamp` (milliseconds since the epoch) is recent.
//!
//! Every refusal is `unauthorized` and says which check failed; none carries the secret or
//! the signature expected, so a message never helps forge a request.

use crate::settings::WebhookSettings;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};
use wasync_sdk::{Error, WebhookRequest};

/// The signature header, as the host passes header names: lower-cased.
pub const SIGNATURE_HEADER: &str = "x-hubspot-signature-v3";
/// The timestamp header (milliseconds since the epoch, as decimal text).
pub const TIMESTAMP_HEADER: &str = "x-hubspot-request-timestamp";

/// The percent-encodings HubSpot decodes in the URI before signing, and only these: the
/// docs' table. Others (`%20`, `%26`, ...) stay encoded in the source string.
const DECODED: [(&str, char); 12] = [
    ("%3A", ':'),
    ("%2F", '/'),
    ("%3F", '?'),
    ("%40", '@'),
    ("%21", '!'),
    ("%24", '$'),
    ("%27", '\''),
    ("%28", '('),
    ("%29", ')'),
    ("%2A", '*'),
    ("%2C", ','),
    ("%3B", ';'),
];

/// Checks that `request` is HubSpot's, as of `now`.
pub fn verify(
    settings: &WebhookSettings,
    request: &WebhookRequest,
    now: SystemTime,
) -> Result<(), Error> {
    let signature = header(request, SIGNATURE_HEADER)
        .ok_or_else(|| refuse("the request has no X-HubSpot-Signature-v3 header"))?;
    let timestamp = header(request, TIMESTAMP_HEADER)
        .ok_or_else(|| refuse("the request has no X-HubSpot-Request-Timestamp header"))?;
    check_age(timestamp, settings.tolerance_seconds, now)?;
    let uri = uri(settings, request)?;
    let signature = BASE64
        .decode(signature.trim())
        .map_err(|_| refuse("the X-HubSpot-Signature-v3 header is not base64"))?;
    let mut mac = keyed(&settings.secret);
    mac.update(request.method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(&request.body);
    mac.update(timestamp.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature).map_err(|_| {
        refuse(&format!(
            "the X-HubSpot-Signature-v3 signature does not match the request \
             ({} {uri}); check `webhook.secret` and `webhook.public_url`",
            request.method
        ))
    })
}

/// The v3 signature of a request, as HubSpot computes it: for tests that need many signed
/// requests once the known-answer test has checked it.
#[cfg(test)]
pub fn sign(secret: &str, method: &str, uri: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac = keyed(secret);
    mac.update(method.as_bytes());
    mac.update(decode_uri(uri).as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn keyed(secret: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; the error case cannot happen.
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// A header's value, by case-insensitive name (the host lower-cases them; be lenient).
fn header<'r>(request: &'r WebhookRequest, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Refuses a timestamp more than `tolerance` seconds from `now`, either way: an old one
/// may be a replay, and one from the future cannot be HubSpot's.
fn check_age(timestamp: &str, tolerance: u64, now: SystemTime) -> Result<(), Error> {
    let sent: i128 = timestamp
        .trim()
        .parse::<u64>()
        .map_err(|_| {
            refuse(&format!(
                "the X-HubSpot-Request-Timestamp `{timestamp}` is not milliseconds since the epoch"
            ))
        })?
        .into();
    let now: i128 = match now.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    };
    let off = (now - sent).abs();
    if off > i128::from(tolerance) * 1000 {
        let direction = if sent < now { "old" } else { "in the future" };
        return Err(refuse(&format!(
            "the request's timestamp is {} s {direction}, beyond the tolerance of {tolerance} s \
             (`webhook.tolerance_seconds`)",
            off / 1000
        )));
    }
    Ok(())
}

/// The URI HubSpot signed, its listed percent-encodings decoded: `public_url` + path, or
/// `https://` + `Host` + path.
fn uri(settings: &WebhookSettings, request: &WebhookRequest) -> Result<String, Error> {
    let uri = match &settings.public_url {
        Some(base) => format!("{base}{}", request.path),
        None => {
            let host = header(request, "host")
                .map(str::trim)
                .filter(|h| !h.is_empty());
            let host = host.ok_or_else(|| {
                refuse(
                    "the request has no Host header to build the signed URI from; \
                     set `webhook.public_url`",
                )
            })?;
            format!("https://{host}{}", request.path)
        }
    };
    Ok(decode_uri(&uri))
}

/// Decodes the percent-encodings HubSpot's docs list (either case of hex digit).
pub fn decode_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let candidate = rest.get(at..at + 3);
        let decoded = candidate.and_then(|c| {
            DECODED
                .iter()
                .find(|(encoded, _)| encoded.eq_ignore_ascii_case(c))
                .map(|(_, ch)| *ch)
        });
        match decoded {
            Some(ch) => {
                out.push(ch);
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn refuse(message: &str) -> Error {
    Error::Unauthorized(format!("HubSpot webhook refused: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_only_the_listed_characters() {
        assert_eq!(
            decode_uri("https://h/a%3Ab%2fc%3F%40%21%24%27%28%29%2A%2C%3B"),
            "https://h/a:b/c?@!$'()*,;"
        );
        assert_eq!(
            decode_uri("https://h/p?q=a%20b%26c%3Dd%25"),
            "https://h/p?q=a%20b%26c%3Dd%25"
        );
        assert_eq!(decode_uri("%"), "%");
        assert_eq!(decode_uri("a%3"), "a%3");
        assert_eq!(decode_uri("100%%3A"), "100%:");
    }
}
