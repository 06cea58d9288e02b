// Runs the connector starter (sdk/js/starter/connector, built) through the host: `wasync
// sync` between it and a JSON Lines file, against a stand-in for the contacts API it talks
// to, served here on 127.0.0.1. Every call of the 0.2.0 `external` interface that carries a
// batch crosses the host's decoder: `read` pages (records), `write` changes (records) and
// their answers (results: ids, and an error for the change the API refuses).
//
//   node connector-sync.mjs WASYNC STARTER-CONNECTOR.wasm WORK_DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';

const [wasync, component, work] = process.argv.slice(2).map((p) => p && resolve(p));
if (!wasync || !component || !work) {
  console.error('usage: node connector-sync.mjs WASYNC STARTER-CONNECTOR.wasm WORK_DIR');
  process.exit(2);
}

// --- the contacts API, as the starter's comment describes it -------------------------------

const T0 = 1_700_000_000_000_000; // microseconds; every change gets the next one
let clock = T0;
const contacts = new Map([
  ['c1', { id: 'c1', email: 'a@example.test', updated: ++clock }],
  ['c2', { id: 'c2', email: null, updated: ++clock }],
  ['c3', { id: 'c3', email: 'b@example.test', updated: ++clock }],
]);
let created = 0;
const requests = []; // the writes it was sent: [method, path, body]

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const url = new URL(req.url, 'http://api');
    const json = (status, answer) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(answer === undefined ? '' : JSON.stringify(answer));
    };
    const [, collection, id] = url.pathname.split('/');
    if (collection !== 'contacts') return json(404, { error: 'no such path' });
    if (req.method === 'GET' && id === undefined) {
      const after = Number(url.searchParams.get('after') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const page = [...contacts.values()].filter((c) => c.updated > after).sort((a, b) => a.updated - b.updated);
      return json(200, page.slice(0, limit));
    }
    const fields = body === '' ? {} : JSON.parse(body);
    requests.push([req.method, url.pathname, fields]);
    if (req.method === 'POST' && id === undefined) {
      if (String(fields.email).endsWith('@refused.test')) return json(422, { error: 'email refused' });
      const contact = { id: `n${++created}`, email: fields.email ?? null, updated: ++clock };
      contacts.set(contact.id, contact);
      return json(201, contact);
    }
    const contact = contacts.get(id);
    if (contact === undefined) return json(404, { error: `no contact ${id}` });
    if (req.method === 'PUT') {
      Object.assign(contact, fields, { updated: ++clock });
      return json(200, contact);
    }
    if (req.method === 'DELETE') {
      contacts.delete(id);
      return json(204);
    }
    return json(405, { error: 'method not allowed' });
  });
});
await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
const api = `127.0.0.1:${server.address().port}`;

// --- the pipeline: the API and a file, each a source and a destination ---------------------

rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'files'), { recursive: true });
const people = join(work, 'files', 'people.jsonl');
const person = (id, email, updated, extra = {}) => `${JSON.stringify({ id, email, updated, ...extra })}\n`;
const then = new Date(Date.now() - 60_000).toISOString();
writeFileSync(people, person('p1', 'p1@example.test', then) + person('p2', 'p2@refused.test', then) + person('p3', 'p3@example.test', then));
const config = join(work, 'wasync.toml');
writeFileSync(
  config,
  `store = "wasync.db"

[connectors.api]
plugin = ${JSON.stringify(component)}
[connectors.api.settings]
base_url = "http://${api}/"
[connectors.api.http]
hosts = ["${api}"]
retries = 0

[connectors.files]
plugin = "jsonl"
dirs = [{ host = "files", guest = "/data" }]
[connectors.files.settings.entities.people]
id_field = "id"
watermark_field = "updated"
upsert_key = "wasync_id"

[[pipeline]]
name = "contacts"
entity = "Contact"

[[pipeline.source]]
connector = "api"
entity = "contacts"
[pipeline.source.fields]
Email = "email"

[[pipeline.source]]
connector = "files"
entity = "people"
[pipeline.source.fields]
Email = "email"

[[pipeline.destination]]
connector = "files"
entity = "people"
external_id_field = "wasync_id"
[pipeline.destination.fields]
email = "Email"

[[pipeline.destination]]
connector = "api"
entity = "contacts"
on_delete = "delete"
[pipeline.destination.fields]
email = "Email"
`,
);

/// Runs wasync with `args`; resolves to its stdout, rejects with its stderr. Asynchronous,
/// so that the API above goes on answering meanwhile.
function run(...args) {
  return new Promise((done, failed) => {
    const child = spawn(wasync, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0 ? done(out) : failed(new Error(`wasync ${args.join(' ')} exited ${code}:\n${err}${out}`)),
    );
  });
}

/// The latest line of each record in the file, by email.
function fileByEmail() {
  const latest = new Map();
  for (const line of readFileSync(people, 'utf8').split('\n').filter(Boolean)) {
    const rec = JSON.parse(line);
    latest.set(rec.id, rec);
  }
  return new Map([...latest.values()].filter((r) => !r._deleted).map((r) => [r.email, r]));
}

try {
  // 1. The API's contacts reach the file, the file's people reach the API: three pages read
  //    and two creates written through the starter; one create is refused by the API.
  await run('sync', '--config', config);
  const file = fileByEmail();
  for (const email of ['a@example.test', 'b@example.test', null]) {
    assert.ok(file.has(email), `the contact with email ${email} reached the file: ${[...file.keys()]}`);
  }
  const posts = requests.filter(([method]) => method === 'POST').map(([, , body]) => body.email).sort();
  assert.deepEqual(posts, ['p1@example.test', 'p2@refused.test', 'p3@example.test']);
  const emails = [...contacts.values()].map((c) => c.email);
  assert.ok(emails.includes('p1@example.test') && emails.includes('p3@example.test'), `created: ${emails}`);
  assert.ok(!emails.includes('p2@refused.test'), 'the refused create made nothing');
  const quarantined = await run('quarantine', 'list', '--config', config, '--json');
  assert.match(quarantined, /POST \/contacts: 422/, 'the refused change is set aside with its error');
  assert.equal(quarantined.trim().split('\n').length, 1, `only the refused change is set aside:\n${quarantined}`);

  // The contacts the creates made read back as what the store already has: nothing moves
  // but the refused create, retried.
  requests.length = 0;
  await run('sync', '--config', config);
  assert.deepEqual(requests, [['POST', '/contacts', { email: 'p2@refused.test' }]]);

  // 2. An update and a delete in the file become a PUT and a DELETE of the contacts the
  //    creates made (their ids came back from `write` as the results' values).
  const id = (email) => [...contacts.values()].find((c) => c.email === email).id;
  const p1 = id('p1@example.test');
  const p3 = id('p3@example.test');
  requests.length = 0;
  const now = new Date().toISOString();
  appendFileSync(people, person('p1', 'p1@changed.test', now) + person('p3', null, now, { _deleted: true }));
  await run('sync', '--config', config);
  assert.deepEqual(requests.filter(([method]) => method !== 'POST'), [
    ['PUT', `/contacts/${p1}`, { email: 'p1@changed.test' }],
    ['DELETE', `/contacts/${p3}`, {}],
  ]);
  assert.equal(contacts.get(p1).email, 'p1@changed.test');
  assert.ok(!contacts.has(p3));
  console.log(`connector starter through the host: ${contacts.size} contacts in the API, ${fileByEmail().size} people in the file`);
} finally {
  server.close();
}
