//! Signing webhook requests as senders do, so tests and benchmarks can post what a real
//! system would: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `webhook-signature` header for a message: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under `secret` (`whsec_` + base64, or raw text).
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD.decode(encoded).unwrap_or_default(),
        None => secret.as_bytes().to_vec(),
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The three Standard Webhooks headers for a message sent now.
pub fn standard_headers(secret: &str, id: &str, body: &[u8]) -> Vec<(String, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), now.to_string()),
        (
            "webhook-signature".into(),
            standard_signature(secret, id, now, body),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specifications_test_vector() {
        let signature = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
