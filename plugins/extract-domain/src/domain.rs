//! The registrable domain ("eTLD+1") of whatever a data field holds: a URL, a
//! bare host name or an e-mail address.
//!
//! The Public Suffix List comes compiled in through the `psl` crate (ICANN and
//! private rules together, as the PSL's own test file expects), and Unicode
//! names go through UTS #46 (the `idna` crate), as browsers do.
//!
//! Everything here works on borrowed slices of the input. ASCII input, the
//! common case, is lowercased into a stack buffer, so the only heap
//! allocation is the returned `String`; input with non-ASCII or punycode
//! labels additionally pays for the IDN conversion it needs.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// Longest host name DNS allows (without the root dot), in ASCII form.
const MAX_HOST_LEN: usize = 253;
/// Longest label DNS allows, in ASCII form.
const MAX_LABEL_LEN: usize = 63;
/// Cap on a non-ASCII host before UTS #46 runs: a name that fits in DNS is at
/// most 253 ASCII characters and each of them comes from at most a 4-byte
/// character, so anything longer is garbage and not worth the work.
const MAX_UNICODE_HOST_BYTES: usize = 4 * MAX_HOST_LEN;

/// The registrable domain (eTLD+1 by the Public Suffix List) of a URL, host name or e-mail address.
///
/// Returns `None` when there is none to give: a public suffix itself
/// (`co.uk`), a single label (`localhost`), an IP address, an empty or
/// malformed value. Mixed case is lowercased; an IDN keeps the form it came
/// in (Unicode in, Unicode out; punycode in, punycode out).
#[must_use]
pub fn registrable_domain(input: &str) -> Option<String> {
    let host = host_of(input)?;
    if host.is_ascii() {
        ascii_registrable_domain(host)
    } else {
        unicode_registrable_domain(host)
    }
}

/// Cuts the host out of a URL, host name or e-mail address, without copying.
///
/// Surrounding whitespace goes, and trailing dots (the DNS root, which does not
/// change which domain is meant). A name that begins with a dot has an empty
/// first label: it is not a host name, and the Public Suffix List's own tests
/// give it no domain.
fn host_of(input: &str) -> Option<&str> {
    let (rest, is_mailto) = strip_scheme(input.trim());
    let authority = if is_mailto {
        // `mailto:a@x.com,b@y.com?subject=hi`: the first address counts.
        cut_at(rest, |c| matches!(c, ',' | '?' | '#'))
    } else {
        cut_at(rest, |c| matches!(c, '/' | '\\' | '?' | '#'))
    };
    // Userinfo or an e-mail's local part ends at the last `@` (a quoted local
    // part may itself hold one).
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = strip_port(host_and_port)?;
    if host.starts_with('.') {
        return None;
    }
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then_some(host)
}

/// Drops a leading `scheme://`, `//` or `mailto:`; says whether it was `mailto:`.
///
/// A scheme only counts when followed by `//` (or it is `mailto`), so that
/// `example.com:8080` keeps its host.
fn strip_scheme(s: &str) -> (&str, bool) {
    if let Some(rest) = s.strip_prefix("//") {
        return (rest, false);
    }
    let scheme_len = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .unwrap_or(s.len());
    // Every byte before `scheme_len` is ASCII, so both ends are char boundaries.
    let (Some(scheme), Some(after)) = (s.get(..scheme_len), s.get(scheme_len..)) else {
        return (s, false);
    };
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return (s, false);
    }
    if let Some(rest) = after.strip_prefix("://") {
        return (rest, false);
    }
    match after.strip_prefix(':') {
        Some(rest) if scheme.eq_ignore_ascii_case("mailto") => (rest, true),
        _ => (s, false),
    }
}

/// The part of `s` before the first character matching `stop`.
fn cut_at(s: &str, stop: impl Fn(char) -> bool) -> &str {
    s.find(stop).map_or(s, |end| &s[..end])
}

/// Drops a `:port`; `None` for a bracketed IPv6 literal or a bad port.
fn strip_port(host_and_port: &str) -> Option<&str> {
    if host_and_port.starts_with('[') {
        return None;
    }
    match host_and_port.split_once(':') {
        None => Some(host_and_port),
        Some((host, port)) => is_valid_port(port).then_some(host),
    }
}

/// An empty port (`host:`) or a decimal number up to 65535, as URLs allow.
fn is_valid_port(port: &str) -> bool {
    port.bytes().all(|b| b.is_ascii_digit()) && (port.is_empty() || port.parse::<u16>().is_ok())
}

/// The fast path: an all-ASCII host, lowercased on the stack.
fn ascii_registrable_domain(host: &str) -> Option<String> {
    if host.len() > MAX_HOST_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_HOST_LEN];
    let name = buf.get_mut(..host.len())?;
    name.copy_from_slice(host.as_bytes());
    name.make_ascii_lowercase();
    if !is_valid_ascii_host(name) {
        return None;
    }
    // Punycode labels must decode to a valid IDN, or the name is bogus.
    if has_punycode_label(name) && to_ascii(name).is_none() {
        return None;
    }
    let domain = psl::domain(name)?;
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_owned)
}

/// A host with non-ASCII characters: the list is looked up in punycode (the
/// form every name has exactly one of, after UTS #46 lowercasing and
/// normalisation), and the answer turned back into Unicode.
fn unicode_registrable_domain(host: &str) -> Option<String> {
    if host.len() > MAX_UNICODE_HOST_BYTES {
        return None;
    }
    let ascii = to_ascii(host.as_bytes())?;
    // UTS #46 maps ideographic full stops (`。`) to dots, so look again: a
    // leading one is an empty label, trailing ones the root. Its output is
    // lowercase and its IDN labels are already validated.
    if ascii.starts_with('.') {
        return None;
    }
    let name = ascii.trim_end_matches('.').as_bytes();
    if !is_valid_ascii_host(name) {
        return None;
    }
    let domain = psl::domain(name)?;
    let (unicode, checked) =
        Uts46::new().to_unicode(domain.as_bytes(), AsciiDenyList::URL, Hyphens::Allow);
    checked.ok()?;
    Some(unicode.into_owned())
}

/// UTS #46 `ToASCII` with the WHATWG URL settings browsers use (underscores and
/// hyphens anywhere allowed; lengths are checked by [`is_valid_ascii_host`]).
fn to_ascii(name: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    Uts46::new()
        .to_ascii(name, AsciiDenyList::URL, Hyphens::Allow, DnsLength::Ignore)
        .ok()
}

/// Whether any label is punycode (`xn--`), which needs IDN validation.
fn has_punycode_label(name: &[u8]) -> bool {
    name.split(|&b| b == b'.')
        .any(|label| label.starts_with(b"xn--"))
}

/// A lowercase ASCII name that DNS could hold and that is not an IP address:
/// at most 253 bytes, labels of 1 to 63 of `a-z 0-9 - _`, and a last label
/// that is not a number (which would make it an IPv4 address, as in URLs).
fn is_valid_ascii_host(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > MAX_HOST_LEN {
        return false;
    }
    let labels_ok = name.split(|&b| b == b'.').all(|label| {
        (1..=MAX_LABEL_LEN).contains(&label.len())
            && label
                .iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    });
    let last = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    labels_ok && !is_number(last)
}

/// A decimal or `0x` hexadecimal number, as the URL standard reads IPv4 parts.
fn is_number(label: &[u8]) -> bool {
    match label.strip_prefix(b"0x") {
        Some(hex) => hex.iter().all(u8::is_ascii_hexdigit),
        None => !label.is_empty() && label.iter().all(u8::is_ascii_digit),
    }
}

#[cfg(test)]
mod tests {
    use super::registrable_domain;

    #[test]
    fn examples_from_the_doc() {
        let cases = [
            ("https://WWW.Example.co.uk/a?b#c", Some("example.co.uk")),
            (
                "http://user:pw@www.example.com:8080/path",
                Some("example.com"),
            ),
            ("www.example.com/path", Some("example.com")),
            ("//example.com", Some("example.com")),
            (" example.com. ", Some("example.com")),
            (" .example.com", None),
            ("Jane.Doe@Mail.Example.co.uk", Some("example.co.uk")),
            ("mailto:x@y.com", Some("y.com")),
            ("www.食狮.中国", Some("食狮.中国")),
            ("www.xn--85x722f.xn--fiqs8s", Some("xn--85x722f.xn--fiqs8s")),
            ("co.uk", None),
            ("127.0.0.1", None),
            ("[::1]:80", None),
            ("localhost", None),
            ("", None),
            ("@", None),
            ("..", None),
        ];
        for (input, expected) in cases {
            assert_eq!(registrable_domain(input).as_deref(), expected, "{input:?}");
        }
    }
}
