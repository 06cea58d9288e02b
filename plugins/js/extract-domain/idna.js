// UTS #46 with the settings browsers use for URLs (WHATWG URL "domain to ASCII"), as the
// Rust twin's `idna` crate runs it: nontransitional, hyphens anywhere, Bidi and joiner
// checks on, DNS lengths not checked here, and the URL's forbidden code points refused.

// The engine componentize-js embeds has no Intl, so no `String.prototype.normalize`, which
// tr46 needs for NFC; unorm installs a pure-JavaScript one when it is missing. (Its tables
// are Unicode 8.0: characters newer than that normalise to themselves.)
import '../../../sdk/js/node_modules/unorm/lib/unorm.js';
// A path into the SDK's node_modules (not a bare import) so that node runs this file as is.
import tr46 from '../../../sdk/js/node_modules/tr46/index.js';

const OPTIONS = {
  checkBidi: true,
  checkHyphens: false,
  checkJoiners: true,
  useSTD3ASCIIRules: false,
  transitionalProcessing: false,
  verifyDNSLength: false,
};

/// WHATWG URL's forbidden domain code points (Rust's `AsciiDenyList::URL`).
const FORBIDDEN = /[\x00-\x20#%/:<>?@[\\\]^|\x7f]/;

/// The ASCII (punycode) form of a name, or `null` when UTS #46 finds it invalid.
export function toAscii(name) {
  if (FORBIDDEN.test(name)) return null;
  const ascii = tr46.toASCII(name, OPTIONS);
  // Punycode labels may decode to what the input itself could not hold.
  return ascii === null || toUnicode(ascii) === null ? null : ascii;
}

/// The Unicode form of a name, or `null` when one of its labels is invalid.
export function toUnicode(name) {
  const { domain, error } = tr46.toUnicode(name, OPTIONS);
  return error || FORBIDDEN.test(domain) ? null : domain;
}
