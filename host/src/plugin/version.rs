//! A plugin's version, as the transaction log and `/status` name it: the version the
//! component declares in a top-level `version` custom section (what `wasm-tools metadata add
//! --version` and OCI tooling write), else `sha256:` and the first 12 hex digits of its bytes,
//! so two different builds never share a name.

/// The custom section a component declares its version in.
pub const SECTION: &str = "version";

/// The longest declared version taken; a longer one is ignored (it is not a version).
const MAX_LEN: usize = 64;

/// The version of the component `bytes`, whose SHA-256 is `digest` (hex).
pub fn of(bytes: &[u8], digest: &str) -> String {
    declared(bytes).unwrap_or_else(|| format!("sha256:{}", &digest[..digest.len().min(12)]))
}

/// The declared version: the first top-level `version` custom section, if it is short,
/// printable UTF-8. Nested modules' sections are not looked at.
pub fn declared(bytes: &[u8]) -> Option<String> {
    let mut at = 8; // magic and version/layer
    while at < bytes.len() {
        let id = bytes[at];
        let (size, after) = leb128(bytes, at + 1)?;
        let end = after.checked_add(size)?;
        let payload = bytes.get(after..end)?;
        if id == 0 {
            let (name_len, name_at) = leb128(payload, 0)?;
            let name = payload.get(name_at..name_at.checked_add(name_len)?)?;
            if name == SECTION.as_bytes() {
                let text = std::str::from_utf8(&payload[name_at + name_len..]).ok()?;
                let text = text.trim();
                let usable = !text.is_empty()
                    && text.len() <= MAX_LEN
                    && text.chars().all(|c| c.is_ascii_graphic());
                return usable.then(|| text.to_owned());
            }
        }
        at = end;
    }
    None
}

/// An unsigned LEB128 number at `at`: its value and where the next byte is.
fn leb128(bytes: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut value: usize = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

/// `bytes` with a `version` custom section appended, declaring `version`.
pub fn declare(bytes: &[u8], version: &str) -> Vec<u8> {
    with_section(bytes, SECTION, version.as_bytes())
}

/// `bytes` (a component or module) with a custom section `name` holding `data` appended.
pub fn with_section(bytes: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    push_leb128(&mut payload, name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    let mut out = bytes.to_vec();
    out.push(0);
    push_leb128(&mut out, payload.len());
    out.extend_from_slice(&payload);
    out
}

fn push_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty component: magic, version 0x0d, layer 1.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn a_declared_version_is_read_back_and_otherwise_the_digest_names_it() {
        assert_eq!(of(EMPTY, "0123456789abcdef"), "sha256:0123456789ab");
        let declared = declare(EMPTY, "1.4.2");
        assert_eq!(of(&declared, "00"), "1.4.2");
        // A second declaration later does not replace the first.
        assert_eq!(of(&declare(&declared, "9.9.9"), "00"), "1.4.2");
    }

    #[test]
    fn garbage_and_unprintable_versions_are_not_versions() {
        assert_eq!(declared(b"\0asm\x0d\0\x01\0\x00\xff\xff\xff\xff\xff"), None);
        assert_eq!(declared(&declare(EMPTY, "a b")), None);
        assert_eq!(declared(&declare(EMPTY, "")), None);
        assert_eq!(declared(b"short"), None);
    }
}
