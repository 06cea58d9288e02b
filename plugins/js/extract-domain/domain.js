// The registrable domain ("eTLD+1") of whatever a data field holds: a URL, a bare host
// name or an e-mail address. A line-by-line port of the Rust twin,
// plugins/extract-domain/src/domain.rs: the same rules, in the same order, so both give
// the same answer on every case of tests/data/extract_domain_cases.txt.
//
// Pure JavaScript with no wasync import, so node can run it directly in tests.

import { toAscii, toUnicode } from './idna.js';
import { registrableDomain as pslDomain } from './psl.js';

/// Longest host name DNS allows (without the root dot), in ASCII form.
const MAX_HOST_LEN = 253;
/// Longest label DNS allows, in ASCII form.
const MAX_LABEL_LEN = 63;
/// Cap on a non-ASCII host (in UTF-8 bytes) before UTS #46 runs: a name that fits in DNS is
/// at most 253 ASCII characters, each from at most a 4-byte character.
const MAX_UNICODE_HOST_BYTES = 4 * MAX_HOST_LEN;

const ASCII = /^[\x00-\x7f]*$/;
/// What Rust's `str::trim` removes: Unicode White_Space (JavaScript's `trim` differs),
/// spelled out because the engine componentize-js embeds has no `\p{…}` classes.
const EDGE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/// The registrable domain of a URL, host name or e-mail address, or `null` when there is
/// none: a public suffix itself (`co.uk`), a single label (`localhost`), an IP address, an
/// empty or malformed value. An IDN keeps the form it came in.
export function registrableDomain(input) {
  const host = hostOf(input);
  if (host === null) return null;
  return ASCII.test(host) ? asciiRegistrableDomain(host) : unicodeRegistrableDomain(host);
}

/// Cuts the host out of a URL, host name or e-mail address. Surrounding white space and
/// trailing dots (the DNS root) go; a name that begins with a dot has an empty first label
/// and is no host name.
function hostOf(input) {
  const [rest, isMailto] = stripScheme(input.replace(EDGE_SPACE, ''));
  // `mailto:a@x.com,b@y.com?subject=hi`: the first address counts.
  const authority = isMailto ? cutAt(rest, /[,?#]/) : cutAt(rest, /[/\\?#]/);
  // Userinfo or an e-mail's local part ends at the last `@`.
  const at = authority.lastIndexOf('@');
  const hostAndPort = at >= 0 ? authority.slice(at + 1) : authority;
  const host = stripPort(hostAndPort);
  if (host === null) return null;
  if (host.startsWith('.')) return null;
  const trimmed = host.replace(/\.+$/, '');
  return trimmed === '' ? null : trimmed;
}

/// Drops a leading `scheme://`, `//` or `mailto:`; says whether it was `mailto:`. A scheme
/// counts only when followed by `//` (or it is `mailto`), so `example.com:8080` keeps its host.
function stripScheme(s) {
  if (s.startsWith('//')) return [s.slice(2), false];
  const scheme = /^[A-Za-z0-9+\-.]*/.exec(s)[0];
  if (!/^[A-Za-z]/.test(scheme)) return [s, false];
  const after = s.slice(scheme.length);
  if (after.startsWith('://')) return [after.slice(3), false];
  if (after.startsWith(':') && scheme.toLowerCase() === 'mailto') return [after.slice(1), true];
  return [s, false];
}

/// The part of `s` before the first match of `stop`.
function cutAt(s, stop) {
  const end = s.search(stop);
  return end >= 0 ? s.slice(0, end) : s;
}

/// Drops a `:port`; `null` for a bracketed IPv6 literal or a bad port.
function stripPort(hostAndPort) {
  if (hostAndPort.startsWith('[')) return null;
  const colon = hostAndPort.indexOf(':');
  if (colon < 0) return hostAndPort;
  return isValidPort(hostAndPort.slice(colon + 1)) ? hostAndPort.slice(0, colon) : null;
}

/// An empty port (`host:`) or a decimal number up to 65535, as URLs allow.
function isValidPort(port) {
  return /^[0-9]*$/.test(port) && (port === '' || Number(port) <= 65535);
}

/// An all-ASCII host.
function asciiRegistrableDomain(host) {
  if (host.length > MAX_HOST_LEN) return null;
  const name = host.toLowerCase();
  if (!isValidAsciiHost(name)) return null;
  // Punycode labels must decode to a valid IDN, or the name is bogus.
  if (name.split('.').some((l) => l.startsWith('xn--')) && toAscii(name) === null) return null;
  return pslDomain(name);
}

/// A host with non-ASCII characters: looked up in punycode (after UTS #46 lowercasing and
/// normalisation), and the answer turned back into Unicode.
function unicodeRegistrableDomain(host) {
  if (new TextEncoder().encode(host).length > MAX_UNICODE_HOST_BYTES) return null;
  const ascii = toAscii(host);
  if (ascii === null) return null;
  // UTS #46 maps ideographic full stops (`。`) to dots, so look again.
  if (ascii.startsWith('.')) return null;
  const name = ascii.replace(/\.+$/, '');
  if (!isValidAsciiHost(name)) return null;
  const domain = pslDomain(name);
  return domain === null ? null : toUnicode(domain);
}

/// A lowercase ASCII name DNS could hold that is not an IP address: at most 253 bytes,
/// labels of 1 to 63 of `a-z 0-9 - _`, and a last label that is not a number (which would
/// make it an IPv4 address, as in URLs).
function isValidAsciiHost(name) {
  if (name === '' || name.length > MAX_HOST_LEN) return false;
  const labels = name.split('.');
  const labelsOk = labels.every((l) => l.length >= 1 && l.length <= MAX_LABEL_LEN && /^[a-z0-9\-_]*$/.test(l));
  return labelsOk && !isNumber(labels[labels.length - 1]);
}

/// A decimal or `0x` hexadecimal number, as the URL standard reads IPv4 parts.
function isNumber(label) {
  return label.startsWith('0x') ? /^[0-9a-fA-F]*$/.test(label.slice(2)) : /^[0-9]+$/.test(label);
}
