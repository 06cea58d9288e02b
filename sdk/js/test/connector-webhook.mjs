// Posts webhook requests to `wasync serve` for a JavaScript connector (test/relay.js, built)
// and checks what reaches a JSON Lines destination: the connector's changes cross the host
// as `entity-changes`, one records batch per run of one entity, with fields some records
// lack and a delete.
//
//   node connector-webhook.mjs WASYNC RELAY.wasm WORK_DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [wasync, component, work] = process.argv.slice(2).map((p) => p && resolve(p));
if (!wasync || !component || !work) {
  console.error('usage: node connector-webhook.mjs WASYNC RELAY.wasm WORK_DIR');
  process.exit(2);
}

/// A port nothing listens on now.
async function freePort() {
  const probe = createServer();
  await new Promise((ready) => probe.listen(0, '127.0.0.1', ready));
  const { port } = probe.address();
  await new Promise((closed) => probe.close(closed));
  return port;
}

const port = await freePort();
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'files'), { recursive: true });
const pipeline = (entity) => `
[[pipeline]]
name = "${entity}"
entity = "${entity.toUpperCase()}"
schedule = "1s"

[[pipeline.source]]
connector = "relay"
entity = "${entity}"
[pipeline.source.fields]
X = "x"
Y = "y"

[[pipeline.destination]]
connector = "files"
entity = "${entity}"
on_delete = "delete"
[pipeline.destination.fields]
x = "X"
y = "Y"
`;
const config = join(work, 'wasync.toml');
writeFileSync(
  config,
  `store = "wasync.db"

[serve]
listen = "127.0.0.1:${port}"
watch_ms = 0

[connectors.relay]
plugin = ${JSON.stringify(component)}
[connectors.relay.webhook]
secret = "unused: the relay checks no signature"

[connectors.files]
plugin = "jsonl"
dirs = [{ host = "files", guest = "/data" }]
[connectors.files.settings.entities.a]
id_field = "id"
watermark_field = "updated"
deleted_field = "gone"
[connectors.files.settings.entities.b]
id_field = "id"
watermark_field = "updated"
deleted_field = "gone"
${pipeline('a')}${pipeline('b')}`,
);

const serve = spawn(wasync, ['serve', '--config', config], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
serve.stderr.on('data', (d) => (log += d));
const exited = new Promise((done) => serve.on('close', done));

/// Posts `changes` to the relay's webhook; the host's answer.
async function post(changes) {
  const response = await fetch(`http://127.0.0.1:${port}/webhooks/relay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changes),
  });
  return { status: response.status, body: await response.json() };
}

/// Each record of a destination file, its lines merged in order (a tombstone keeps the
/// fields before it), by its `x`.
function latest(entity) {
  const file = join(work, 'files', `${entity}.jsonl`);
  const byId = new Map();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      const rec = JSON.parse(line);
      byId.set(rec.id, { ...byId.get(rec.id), ...rec });
    }
  }
  return Object.fromEntries([...byId.values()].map((rec) => [rec.x, rec]));
}

/// Waits until `check` holds (it throws until then), or fails with its last error.
async function until(check) {
  for (let tries = 0; ; tries++) {
    try {
      return check();
    } catch (e) {
      if (tries === 300) throw e;
      await sleep(100);
    }
  }
}

try {
  // Up: the health route answers (the first time, after the component is compiled, which
  // can take a minute on a busy machine; later from the compile cache, in a second).
  for (let tries = 0; ; tries++) {
    if (serve.exitCode !== null) throw new Error(`wasync serve exited ${serve.exitCode}:\n${log}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch (e) {
      if (tries === 1800) throw new Error(`wasync serve is not up after 3 minutes: ${e.message}\n${log}`);
    }
    await sleep(100);
  }

  // Three runs of one entity each (a, a | b | a): three records batches, fields absent in some.
  const first = await post([
    { entity: 'a', id: '1', watermark: 1, fields: { x: 'one', y: 1 } },
    { entity: 'a', id: '2', watermark: 2, fields: { x: 'two' } },
    { entity: 'b', id: '3', watermark: 3, fields: { y: 'only y', x: 'three' } },
    { entity: 'a', id: '4', watermark: 4, fields: { y: true, x: 'four' } },
  ]);
  assert.deepEqual(first, { status: 200, body: { received: 4, new: 4 } });
  const a = await until(() => {
    const a = latest('a');
    assert.deepEqual(Object.keys(a).sort(), ['four', 'one', 'two']);
    return a;
  });
  assert.deepEqual([a.one.y, a.two.y, a.four.y], [1, undefined, true]);
  await until(() => assert.equal(latest('b').three?.y, 'only y'));

  // A delete: a deleted record, with no fields.
  const second = await post([{ entity: 'a', id: '2', watermark: 5, deleted: true }]);
  assert.equal(second.status, 200, JSON.stringify(second));
  await until(() => assert.equal(latest('a').two?.gone, true));
  console.log('webhook changes through the host: 3 runs of 2 entities, then a delete');
} finally {
  serve.kill('SIGTERM');
  await exited;
}
