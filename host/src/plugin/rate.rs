//! A connector's own rate limit: the one its component declares in a `wasync:rate` custom
//! section (`{"requests": 4, "per_seconds": 1}`, what the Rust SDK's `declare_rate_limit!`
//! writes), in the component or a core module inside it. The pipeline file's
//! `[connectors.NAME.http] rate` overrides it.

use crate::config::RateConfig;
use wasmparser::{Parser, Payload};

/// The custom section a connector declares its rate limit in.
pub const SECTION: &str = "wasync:rate";

/// The declared rate limit of the component `bytes`: the first `wasync:rate` section that
/// reads as one (at least one request, a window longer than zero and finite). A section
/// that does not read is ignored, with a warning naming the plugin.
pub fn declared(bytes: &[u8], plugin: &str) -> Option<RateConfig> {
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        let Payload::CustomSection(section) = payload else {
            continue;
        };
        if section.name() != SECTION {
            continue;
        }
        match serde_json::from_slice::<RateConfig>(section.data()) {
            Ok(rate) if usable(&rate) => return Some(rate),
            _ => tracing::warn!(
                plugin,
                "the `{SECTION}` section is not a rate limit (`{{\"requests\": 4, \"per_seconds\": 1}}`): ignored"
            ),
        }
    }
    None
}

/// Whether `rate` can be kept to: at least one request, in a window longer than zero.
pub fn usable(rate: &RateConfig) -> bool {
    rate.requests > 0 && rate.per_seconds.is_finite() && rate.per_seconds > 0.0
}

/// `bytes` with a `wasync:rate` section appended, declaring `rate`: how a plugin built
/// from a `wasync-plugin.toml` with `rate` (Python, JavaScript) declares one.
pub fn declare(bytes: &[u8], rate: RateConfig) -> Vec<u8> {
    let json = format!(
        r#"{{"requests":{},"per_seconds":{}}}"#,
        rate.requests, rate.per_seconds
    );
    super::version::with_section(bytes, SECTION, json.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with one custom section.
    fn module_with(name: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        let mut payload = vec![u8::try_from(name.len()).expect("short")];
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        bytes.push(0);
        bytes.push(u8::try_from(payload.len()).expect("short"));
        bytes.extend(payload);
        bytes
    }

    #[test]
    fn a_declared_rate_is_read_and_a_bad_one_ignored() {
        let rate = declared(
            &module_with(SECTION, br#"{"requests": 4, "per_seconds": 1}"#),
            "x",
        )
        .expect("declared");
        assert_eq!((rate.requests, rate.per_seconds), (4, 1.0));
        for bad in [
            &br#"{"requests": 0, "per_seconds": 1}"#[..],
            b"fast",
            br#"{"requests": 4}"#,
        ] {
            assert!(declared(&module_with(SECTION, bad), "x").is_none());
        }
        assert!(
            declared(
                &module_with("other", br#"{"requests": 4, "per_seconds": 1}"#),
                "x"
            )
            .is_none()
        );
    }

    #[test]
    fn a_rate_declared_on_a_built_component_is_read_back_and_it_stays_well_formed() {
        let (_, component) = crate::plugin::builtin::BUILTINS
            .iter()
            .find(|(name, _)| *name == "extract-domain")
            .expect("built in");
        assert!(declared(component, "extract-domain").is_none());
        let rate = RateConfig {
            requests: 10,
            per_seconds: 2.5,
        };
        let declared_bytes = declare(component, rate);
        let back = declared(&declared_bytes, "x").expect("declared");
        assert_eq!((back.requests, back.per_seconds), (10, 2.5));
        let parsed: Result<Vec<_>, _> = Parser::new(0).parse_all(&declared_bytes).collect();
        assert!(parsed.is_ok(), "still a well-formed component");
    }
}
