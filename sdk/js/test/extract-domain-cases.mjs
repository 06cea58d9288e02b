// Runs every case of tests/data/extract_domain_cases.txt through a built extract-domain
// component with `wasync plugin call`, and fails on any answer that differs from the table.
//
//   node extract-domain-cases.mjs WASYNC_BINARY COMPONENT.wasm
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [wasync, component] = process.argv.slice(2);
if (!wasync || !component) {
  console.error('usage: node extract-domain-cases.mjs WASYNC_BINARY COMPONENT.wasm');
  process.exit(2);
}
const table = fileURLToPath(new URL('../../../tests/data/extract_domain_cases.txt', import.meta.url));
const cases = readFileSync(table, 'utf8')
  .split('\n')
  .filter((line) => line.includes('\t') && !line.startsWith('#'))
  .map((line) => [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)]);

const run = spawnSync(wasync, ['plugin', 'call', component], {
  input: cases.map(([input]) => JSON.stringify(input)).join('\n') + '\n',
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
if (run.status !== 0) {
  console.error(`wasync plugin call failed (${run.status ?? run.signal}):\n${run.stderr}`);
  process.exit(1);
}
const answers = run.stdout.trimEnd().split('\n');
if (answers.length !== cases.length) {
  console.error(`${cases.length} cases but ${answers.length} answers`);
  process.exit(1);
}
let wrong = 0;
cases.forEach(([input, expected], i) => {
  const want = JSON.stringify({ ok: expected === 'null' ? null : expected });
  if (answers[i] !== want) {
    wrong++;
    console.error(`${JSON.stringify(input)}: expected ${want}, got ${answers[i]}`);
  }
});
console.log(`extract-domain (JavaScript): ${cases.length - wrong}/${cases.length} cases agree with ${table}`);
process.exit(wrong === 0 ? 0 : 1);
