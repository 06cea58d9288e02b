// The Rust twin's tests (plugins/filter/src/lib.rs and condition.rs), case for case, plus
// the places where JSON.parse would have got it wrong. Run: node --test plugins/js/filter/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Filter } from './filter.js';
import { parse as parseJson, display, ryu, rustFloat } from './json.js';
import { lowercase, parseCondition } from './condition.js';

const text = (val) => ({ tag: 'text', val });
const int = (n) => ({ tag: 'integer', val: BigInt(n) });
const float = (val) => ({ tag: 'float', val });
const bool = (val) => ({ tag: 'boolean', val });
const NULL = { tag: 'null' };

const record = (fields) => ({
  id: '1',
  watermark: NULL,
  fields: fields.map(([name, value]) => ({ name, value })),
  deleted: false,
});
const cond = (json, ignoreCase = false) => parseCondition(parseJson(json), 'keep_if', ignoreCase);
const account = (kind) => record([['Name', text('Acme')], ['Type', kind]]);

test('equals compares by type', () => {
  const cases = [
    ['"a"', text('a'), true],
    ['"a"', text('A'), false],
    ['1', int(1), true],
    ['1', float(1.0), true],
    ['1.0', int(1), true],
    ['1.5', float(1.5), true],
    ['1', text('1'), false],
    ['true', bool(true), true],
    ['true', text('true'), false],
    ['null', NULL, true],
    ['null', text(''), false],
    ['5', { tag: 'timestamp', val: 5n }, true],
    ['5.0', { tag: 'timestamp', val: 5n }, false],
    ['{"a": [1]}', { tag: 'json', val: '{"a": [1]}' }, true],
    ['{"a": [1]}', { tag: 'json', val: '{"a": [1.0]}' }, false],
    ['[1]', { tag: 'json', val: '[2]' }, false],
    ['18446744073709551615', int(2n ** 63n - 1n), false],
    ['9223372036854775807', int(2n ** 63n - 1n), true],
  ];
  for (const [expected, value, eq] of cases) {
    const r = record([['F', value]]);
    assert.equal(cond(`{"field": "F", "equals": ${expected}}`).holds(r), eq, `${expected} vs ${JSON.stringify(value, (_, x) => (typeof x === 'bigint' ? `${x}n` : x))}`);
    assert.equal(cond(`{"field": "F", "not_equals": ${expected}}`).holds(r), !eq, expected);
  }
});

test('a missing field equals null', () => {
  assert.ok(cond('{"field": "F", "equals": null}').holds(record([])));
  assert.ok(cond('{"field": "F", "not_equals": "x"}').holds(record([])));
});

test('ignoring case trims and folds both sides', () => {
  let c = cond('{"field": "F", "in": [" Customer", "Partner"]}', true);
  assert.ok(c.holds(record([['F', text('CUSTOMER ')]])));
  assert.ok(!c.holds(record([['F', text('Prospect')]])));
  c = cond('{"field": "F", "contains": "ACME"}', true);
  assert.ok(c.holds(record([['F', text('The acme company')]])));
  c = cond('{"field": "F", "contains": "ACME"}');
  assert.ok(!c.holds(record([['F', text('The acme company')]])));
  // Rust trims U+0085 and keeps U+FEFF; JavaScript's trim does the opposite.
  c = cond('{"field": "F", "equals": "x"}', true);
  assert.ok(c.holds(record([['F', text('\u0085X')]])));
  assert.ok(!c.holds(record([['F', text('\ufeffX')]])));
});

test('is_empty covers null, blank and missing', () => {
  const empty = cond('{"field": "F", "is_empty": true}');
  const filled = cond('{"field": "F", "is_empty": false}');
  for (const r of [record([]), record([['F', NULL]]), record([['F', text('  ')]])]) {
    assert.ok(empty.holds(r) && !filled.holds(r));
  }
  const r = record([['F', int(0)]]);
  assert.ok(!empty.holds(r) && filled.holds(r));
});

test('contains looks only in text', () => {
  const c = cond('{"field": "F", "contains": "1"}');
  assert.ok(c.holds(record([['F', text('a1')]])));
  assert.ok(!c.holds(record([['F', int(1)]])));
});

test('groups combine', () => {
  const c = cond(`{"all": [
    {"field": "Type", "equals": "Customer"},
    {"any": [{"field": "Country", "equals": "DE"}, {"not": {"field": "Vip", "equals": false}}]}
  ]}`);
  const r = (t, k, v) => record([['Type', text(t)], ['Country', text(k)], ['Vip', bool(v)]]);
  assert.ok(c.holds(r('Customer', 'DE', false)));
  assert.ok(c.holds(r('Customer', 'FR', true)));
  assert.ok(!c.holds(r('Customer', 'FR', false)));
  assert.ok(!c.holds(r('Prospect', 'DE', true)));
});

test('explains field tests', () => {
  const r = record([['Type', text('Prospect')], ['Note', text('')]]);
  const explain = (c, holds) => cond(c).explain(r, holds);
  assert.equal(explain('{"field": "Type", "equals": "Customer"}', false), 'Type is "Prospect", not "Customer"');
  assert.equal(explain('{"field": "Type", "not_equals": "Customer"}', true), 'Type is "Prospect", not "Customer"');
  assert.equal(explain('{"field": "Type", "not_equals": "Prospect"}', false), 'Type is "Prospect"');
  assert.equal(explain('{"field": "Type", "not_in": ["Prospect", 1]}', false), 'Type is "Prospect", one of ["Prospect", 1]');
  assert.equal(explain('{"field": "Note", "is_empty": true}', true), 'Note is empty');
  assert.equal(explain('{"field": "Other", "is_empty": false}', false), 'Other is missing (empty)');
  assert.equal(explain('{"field": "Type", "is_empty": true}', false), 'Type is "Prospect", not empty');
  assert.equal(explain('{"field": "Type", "contains": "cust"}', false), 'Type is "Prospect", which does not contain "cust"');
  // Numbers print as serde_json prints them, not as JSON.parse would leave them.
  assert.equal(explain('{"field": "Type", "equals": 1.0}', false), 'Type is "Prospect", not 1.0');
  assert.equal(explain('{"field": "Type", "in": [1e21, 18446744073709551615, {"b": 1, "a": 2}]}', false), 'Type is "Prospect", not one of [1e21, 18446744073709551615, {"a":2,"b":1}]');
});

test('explains groups by the parts that decided', () => {
  const r = record([['Type', text('Prospect')], ['Country', text('DE')]]);
  const typeIs = '{"field": "Type", "equals": "Customer"}';
  const countryIs = '{"field": "Country", "equals": "DE"}';
  assert.equal(cond(`{"all": [${countryIs}, ${typeIs}]}`).explain(r, false), 'Type is "Prospect", not "Customer"');
  assert.equal(
    cond(`{"any": [${typeIs}, {"field": "Country", "equals": "FR"}]}`).explain(r, false),
    'Type is "Prospect", not "Customer" and Country is "DE", not "FR"',
  );
  assert.equal(cond(`{"not": ${countryIs}}`).explain(r, false), 'Country is "DE"');
});

test('shows values as Rust does', () => {
  const reason = (v) => cond('{"field": "F", "equals": "y"}').explain(record([['F', v]]), false);
  assert.equal(reason(float(1.0)), 'F is 1, not "y"');
  assert.equal(reason(float(1e21)), 'F is 1000000000000000000000, not "y"');
  assert.equal(reason(int(-5)), 'F is -5, not "y"');
  assert.equal(reason({ tag: 'timestamp', val: 7n }), 'F is the timestamp 7, not "y"');
  assert.equal(reason({ tag: 'json', val: '{"a": 1}' }), 'F is {"a": 1}, not "y"');
  const long = reason(text('x'.repeat(100)));
  assert.ok(long.includes('…') && long.length < 100, long);
  // The cut counts characters (60, quotes included), not UTF-16 units or bytes.
  assert.equal(reason(text('é'.repeat(58))), `F is "${'é'.repeat(58)}", not "y"`);
  assert.equal(reason(text('é'.repeat(59))), `F is "${'é'.repeat(59)}…, not "y"`);
});

test('formats floats as ryu and Rust Display do', () => {
  const cases = [[1, '1.0', '1'], [1.5, '1.5', '1.5'], [0.001, '0.001', '0.001'], [1e-7, '1e-7', '0.0000001'],
    [1.5e-7, '1.5e-7', '0.00000015'], [1e16, '1e16', '10000000000000000'], [1234567.0, '1234567.0', '1234567'],
    [-0, '-0.0', '-0'], [123456789012345680000, '1.2345678901234568e20', '123456789012345680000']];
  for (const [x, serde, rust] of cases) {
    assert.equal(ryu(x), serde, `ryu ${x}`);
    assert.equal(rustFloat(x), rust, `display ${x}`);
  }
  assert.equal(display(parseJson('[1, -2, 2.50, "a\\u0001", {"z": null, "a": true}]')), '[1,-2,2.5,"a\\u0001",{"a":true,"z":null}]');
});

test('keep_if keeps what matches and stops the rest', () => {
  const f = Filter.fromText('{"keep_if": {"field": "Type", "equals": "Customer"}}');
  const customer = account(text('Customer'));
  assert.deepEqual(f.decide(customer), { tag: 'keep', val: customer });
  assert.deepEqual(f.decide(account(text('Prospect'))), { tag: 'stop', val: 'keep_if not met: Type is "Prospect", not "Customer"' });
});

test('stop_if stops what matches', () => {
  const f = Filter.fromText('{"stop_if": {"field": "Type", "in": ["Prospect", "Other"]}}');
  assert.deepEqual(f.decide(account(text('Prospect'))), { tag: 'stop', val: 'stop_if met: Type is "Prospect", one of ["Prospect", "Other"]' });
  assert.equal(f.decide(account(text('Customer'))).tag, 'keep');
});

test('ignore_case trims and folds case', () => {
  const f = Filter.fromText('{"keep_if": {"field": "Type", "equals": "customer"}, "ignore_case": true}');
  assert.equal(f.decide(account(text(' CUSTOMER '))).tag, 'keep');
  const strict = Filter.fromText('{"keep_if": {"field": "Type", "equals": "customer"}}');
  assert.equal(strict.decide(account(text('Customer'))).tag, 'stop');
});

test('deletes always pass', () => {
  const f = Filter.fromText('{"keep_if": {"field": "Type", "equals": "Customer"}}');
  const tombstone = { ...account(NULL), fields: [], deleted: true };
  assert.deepEqual(f.decide(tombstone), { tag: 'keep', val: tombstone });
});

test('a missing field is null', () => {
  const f = Filter.fromText('{"stop_if": {"field": "Region", "equals": null}}');
  assert.deepEqual(f.decide(account(text('Customer'))), { tag: 'stop', val: 'stop_if met: Region is missing' });
});

// The cases every language shares (plugins/filter/refused.txt: the configuration, a TAB, a
// part of the message), then this port's own: its JSON parsing, which must fail as serde's.
const refused = readFileSync(new URL('../../filter/refused.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => {
    const tab = line.indexOf('\t');
    assert.ok(tab > 0, `refused.txt: no TAB in ${JSON.stringify(line)}`);
    return [line.slice(0, tab), line.slice(tab + 1)];
  });

test('refuses unusable configurations', () => {
  assert.ok(refused.length > 0, 'refused.txt has no cases');
  const cases = [
    ...refused,
    ['  ', 'give a condition'],
    // serde_json sorts keys, so the first unknown key named is `b`, not `z`.
    ['{"z": 1, "b": 2, "keep_if": {"field": "a", "equals": 1}}', 'unknown key `b`'],
    ['{"keep_if": ', 'not JSON: EOF while parsing a value at line 1 column 12'],
    ['{"keep_if": {"field": "a", "equals": 01}}', 'not JSON: invalid number'],
  ];
  for (const [config, expected] of cases) {
    assert.throws(() => Filter.fromText(config), (e) => {
      assert.equal(e.tag, 'invalid-config', config);
      assert.ok(e.val.includes(expected), `${config}: ${e.val}`);
      return true;
    });
  }
});

test('lowercases as Rust does, final sigma included', () => {
  for (const [input, want] of [['ΟΔΟΣ', 'οδος'], ['ΟΔΟΣ ΚΑΙ ΣΑ', 'οδος και σα'], ['ΟΔΟΣ.', 'οδος.'], ['Σ', 'σ'], ['ΑΣ\u0301Β', 'ασ\u0301β'], ['İ', 'i\u0307']]) {
    assert.equal(lowercase(input), want, input);
  }
});
