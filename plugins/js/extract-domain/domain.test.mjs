// Every case of tests/data/extract_domain_cases.txt, the Rust twin's behaviour table, run
// on the JavaScript port in node. Run: node --test plugins/js/extract-domain/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registrableDomain } from './domain.js';

const CASES = fileURLToPath(new URL('../../../tests/data/extract_domain_cases.txt', import.meta.url));

/// `input<TAB>expected` lines; inputs are verbatim (some are blank or end in spaces).
function cases() {
  return readFileSync(CASES, 'utf8')
    .split('\n')
    .filter((line) => line.includes('\t') && !line.startsWith('#'))
    .map((line) => {
      const tab = line.indexOf('\t');
      return [line.slice(0, tab), line.slice(tab + 1)];
    });
}

test('gives the answer of the behaviour table on every case', () => {
  const all = cases();
  assert.ok(all.length > 150, `only ${all.length} cases read from ${CASES}`);
  const wrong = all
    .map(([input, expected]) => [input, expected, registrableDomain(input) ?? 'null'])
    .filter(([, expected, got]) => got !== expected);
  assert.deepEqual(wrong, []);
});

test('normalises to NFC without String.prototype.normalize, as inside the component', () => {
  // The embedded engine has no Intl: idna.js must bring its own NFC. A decomposed `ü`
  // (u + U+0308) must come out composed, as the Rust twin gives it.
  const script = `
    delete String.prototype.normalize;
    const { registrableDomain } = await import(${JSON.stringify(new URL('./domain.js', import.meta.url).href)});
    process.stdout.write(JSON.stringify([registrableDomain('WWW.Bu\\u0308cher.DE'), registrableDomain('Straße.de')]));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['b\u00fccher.de', 'stra\u00dfe.de']);
});
