// The Public Suffix List algorithm (https://publicsuffix.org/list/), over the rules of the
// pinned `psl` npm package, ICANN and private sections together, as the Rust twin's `psl`
// crate has them.
//
// Not `psl.get` or `tldts`: both treat `kawasaki.jp` as a public suffix because of the
// wildcard rule `*.kawasaki.jp`, which by the list's own algorithm matches only names with
// a label in place of the `*`. So this module keeps the rules and applies the algorithm.
//
// The package's `exports` hide `data/rules.js` from bare imports, hence the path into the
// SDK's node_modules (installed by `npm ci --prefix sdk/js`).

import rules from '../../../sdk/js/node_modules/psl/data/rules.js';
import { toAscii } from './idna.js';

/// Suffixes by kind, all in ASCII (punycode) form: rules are looked up the way names are.
const normal = new Set();
/// `*.foo.bar` is stored as `foo.bar`.
const wildcard = new Set();
/// `!city.kobe.jp` is stored as `city.kobe.jp`.
const exception = new Set();

// Runs when componentize-js pre-initialises the module, so a call never pays for it.
for (const rule of rules) {
  let set = normal;
  let name = rule;
  if (rule.startsWith('!')) {
    set = exception;
    name = rule.slice(1);
  } else if (rule.startsWith('*.')) {
    set = wildcard;
    name = rule.slice(2);
  }
  const ascii = /^[\x00-\x7f]*$/.test(name) ? name : toAscii(name);
  if (ascii !== null) set.add(ascii);
}

/// The registrable domain (public suffix plus one label) of a lowercase ASCII host name
/// with non-empty labels, or `null` when the name is a public suffix itself.
/// Unlisted top-level domains follow the default rule `*`.
export function registrableDomain(name) {
  const labels = name.split('.');
  const n = labels.length;
  const suffix = (from) => labels.slice(from).join('.');
  let suffixLabels = 1; // The default rule `*`.
  const exceptionAt = labels.findIndex((_, i) => exception.has(suffix(i)));
  if (exceptionAt >= 0) {
    suffixLabels = n - exceptionAt - 1;
  } else {
    // The longest matching rule prevails; the first match from the left is the longest.
    for (let i = 0; i < n; i++) {
      if (normal.has(suffix(i)) || (i + 1 < n && wildcard.has(suffix(i + 1)))) {
        suffixLabels = n - i;
        break;
      }
    }
  }
  return n > suffixLabels ? suffix(n - suffixLabels - 1) : null;
}
