// Runs a built JavaScript filter component in node (transpiled by jco, WASI from
// preview2-shim, `log` and `lookup` stubbed) and checks its outcomes and errors against
// what the Rust filter gives.
//
//   node filter-component.mjs COMPONENT.wasm WORK_DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [component, work] = process.argv.slice(2).map((p) => p && resolve(p));
if (!component || !work) {
  console.error('usage: node filter-component.mjs COMPONENT.wasm WORK_DIR');
  process.exit(2);
}
const sdk = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(work, 'stubs'), { recursive: true });
writeFileSync(join(work, 'package.json'), '{"type": "module"}\n');
writeFileSync(join(work, 'stubs', 'log.js'), 'export function log(level, message) {}\n');
writeFileSync(join(work, 'stubs', 'types.js'), 'export {};\n');
writeFileSync(
  join(work, 'stubs', 'lookup.js'),
  "export function find() { throw { tag: 'access-denied', val: 'not granted' }; }\n",
);
try {
  symlinkSync(join(sdk, 'node_modules'), join(work, 'node_modules'));
} catch (e) {
  if (e.code !== 'EEXIST') throw e;
}
execFileSync(
  join(sdk, 'node_modules', '.bin', 'jco'),
  ['transpile', component, '-o', join(work, 'out'), '--name', 'filter', '--quiet',
    '--map', 'wasync:plugin/log@0.2.0=../stubs/log.js',
    '--map', 'wasync:plugin/types@0.2.0=../stubs/types.js',
    '--map', 'wasync:plugin/lookup@0.2.0=../stubs/lookup.js'],
  { stdio: 'inherit' },
);
const { entity } = await import(join(work, 'out', 'filter.js'));

const text = (val) => ({ tag: 'text', val });
const account = (type, extra = []) => ({
  id: '001',
  watermark: { tag: 'null' },
  fields: [{ name: 'Name', value: text('Acme') }, { name: 'Type', value: type }, ...extra],
  deleted: false,
});
const create = (config) => entity.Function.create(config);
const configError = (config) => {
  try {
    create(config);
  } catch (e) {
    return e.payload ?? e;
  }
  return 'accepted';
};

let f = create('{"keep_if": {"field": "Type", "equals": "Customer"}}');
const customer = account(text('Customer'));
const tombstone = { ...account({ tag: 'null' }), fields: [], deleted: true };
assert.deepEqual(f.apply('Account', [customer, account(text('Prospect')), tombstone]), [
  { tag: 'ok', val: { tag: 'keep', val: customer } },
  { tag: 'ok', val: { tag: 'stop', val: 'keep_if not met: Type is "Prospect", not "Customer"' } },
  { tag: 'ok', val: { tag: 'keep', val: tombstone } },
]);
f = create('{"stop_if": {"field": "Type", "in": ["Prospect", "Other"]}}');
assert.deepEqual(f.apply('Account', [account(text('Prospect'))]), [
  { tag: 'ok', val: { tag: 'stop', val: 'stop_if met: Type is "Prospect", one of ["Prospect", "Other"]' } },
]);
f = create('{"keep_if": {"field": "Type", "equals": "customer"}, "ignore_case": true}');
assert.equal(f.apply('Account', [account(text(' CUSTOMER '))])[0].val.tag, 'keep');
// The engine lowercases without ICU; the filter must still fold `ΟΔΟΣ` to `οδος`, as Rust.
f = create('{"keep_if": {"field": "Type", "equals": "οδος"}, "ignore_case": true}');
assert.equal(f.apply('Account', [account(text('ΟΔΟΣ'))])[0].val.tag, 'keep');
f = create('{"stop_if": {"field": "Region", "equals": null}}');
assert.deepEqual(f.apply('Account', [customer])[0].val, { tag: 'stop', val: 'stop_if met: Region is missing' });
// Integers cross as s64 (BigInt) and compare with `1.0` but not with a timestamp.
f = create('{"stop_if": {"any": [{"field": "N", "equals": 5.0}, {"field": "T", "equals": 5.0}]}}');
const n = { name: 'N', value: { tag: 'integer', val: 5n } };
const t = { name: 'T', value: { tag: 'timestamp', val: 5n } };
assert.deepEqual(f.apply('Account', [account(text('x'), [n]), account(text('x'), [t])]).map((r) => r.val.val), [
  'stop_if met: N is 5',
  account(text('x'), [t]),
]);
assert.deepEqual(configError('{"keep_if": {"field": "a", "equal": 1}}'), {
  tag: 'invalid-config',
  val: 'keep_if: unknown key `equal` (expected `field` with one of `equals`, `not_equals`, `in`, `not_in`, `is_empty`, `contains`, or one of `all`, `any`, `not`)',
});
assert.deepEqual(configError('{"keep_if": {"any": [{"field": "a", "equals": 1}, {"not": 3}]}}'), {
  tag: 'invalid-config',
  val: 'keep_if.any[1].not: a condition must be an object, like {"field": "Type", "equals": "Customer"}',
});
assert.deepEqual(configError('{}'), { tag: 'invalid-config', val: 'give a condition as `keep_if` or `stop_if`' });
console.log('filter (JavaScript component): outcomes and configuration errors agree with the Rust filter');
