// The JavaScript side of the batch layout (docs/batch.md) against the layout itself: the
// document's example byte for byte, buffers written out by hand from its rules, and every
// case of value, error and record against a reference written here the plain way (one
// array per part, as sdk/batch/src/results.rs and records.rs write them), so that the fast
// single-buffer writers in wasync.js cannot drift from it unnoticed.
//
//   node --test sdk/js/test/batch.test.mjs
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';

// wasync.js imports the host's log, which only a component has: a stub stands in.
register(
  'data:text/javascript,' +
    encodeURIComponent(`
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith('wasync:plugin/')) {
          return { shortCircuit: true, url: 'data:text/javascript,export function log() {}' };
        }
        return next(specifier, context);
      }`),
);
const {
  decodeRecords,
  decodeValues,
  defineConnector,
  encodeEntityChanges,
  encodeRecords,
  error,
  invalidConfig,
  invalidInput,
  PluginError,
  transformBatch,
  value,
  writeBatch,
} = await import('../wasync.js');

const TAG = { null: 1, boolean: 2, integer: 3, float: 4, text: 5, timestamp: 6, json: 7 };
const KIND = ['invalid-config', 'invalid-input', 'access-denied', 'not-found', 'unauthorized', 'rate-limited', 'unavailable', 'other'];
const utf8 = new TextEncoder();

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return [...b];
}

function header(kind, rows) {
  return [0x57, 0x53, 0x42, 0x31, kind, ...u32(rows)];
}

function text(s) {
  const bytes = utf8.encode(s);
  return [...u32(bytes.length), ...bytes];
}

/// A column's tags and payloads, one array each; `undefined` is an absent row (tag 0).
function column(values) {
  const tags = [];
  const payload = [];
  for (const v of values) {
    tags.push(v === undefined ? 0 : TAG[v.tag]);
    const b = new Uint8Array(8);
    const view = new DataView(b.buffer);
    switch (v?.tag) {
      case 'boolean':
        payload.push(v.val ? 1 : 0);
        break;
      case 'integer':
      case 'timestamp':
        view.setBigInt64(0, BigInt(v.val), true);
        payload.push(...b);
        break;
      case 'float':
        view.setFloat64(0, v.val, true);
        payload.push(...b);
        break;
      case 'text':
      case 'json':
        payload.push(...text(v.val));
        break;
    }
  }
  return [...tags, ...payload];
}

/// A `values` batch.
function values(vs) {
  return new Uint8Array([...header(1, vs.length), ...column(vs)]);
}

/// A `results` batch of `{ ok: value }` and `{ err: [kind, message] }`, the plain way: the
/// statuses, the error table, then the column of the ok values.
function results(rs) {
  const status = rs.map((r) => ('ok' in r ? 0 : 4));
  const errors = rs.filter((r) => 'err' in r).flatMap(({ err: [kind, message] }) => [KIND.indexOf(kind), ...text(message)]);
  return new Uint8Array([...header(2, rs.length), ...status, ...errors, ...column(rs.filter((r) => 'ok' in r).map((r) => r.ok))]);
}

/// A `records` batch of jco records, the plain way: the ids, the watermarks' column, a
/// deleted byte each, the number of field names, then per name (in the order names first
/// appear) the name and a column holding each record's first value of that field, absent
/// where it has none.
function records(rs) {
  const names = [...new Set(rs.flatMap((r) => r.fields.map((f) => f.name)))];
  return new Uint8Array([
    ...header(3, rs.length),
    ...rs.flatMap((r) => text(r.id)),
    ...column(rs.map((r) => r.watermark)),
    ...rs.map((r) => (r.deleted ? 1 : 0)),
    ...u32(names.length),
    ...names.flatMap((name) => [...text(name), ...column(rs.map((r) => r.fields.find((f) => f.name === name)?.value))]),
  ]);
}

/// A jco record.
const rec = (id, watermark, fields, deleted = false) => ({
  id,
  watermark,
  fields: Object.entries(fields).map(([name, v]) => ({ name, value: v })),
  deleted,
});

const run = (apply, vs) => transformBatch({ apply }, values(vs));

test("docs/batch.md's example, through a transform that changes nothing", () => {
  const input = new Uint8Array([
    0x57, 0x53, 0x42, 0x31, 0x01, 0x03, 0x00, 0x00, 0x00,
    0x05, 0x01, 0x03,
    0x08, 0x00, 0x00, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
  const seen = [];
  const output = transformBatch({ apply: (v) => (seen.push(v), v) }, input);
  assert.deepEqual(seen, [value.text('acme.com'), value.null(), value.integer(7)]);
  assert.deepEqual([...output], [
    0x57, 0x53, 0x42, 0x31, 0x02, 0x03, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00,
    0x05, 0x01, 0x03,
    0x08, 0x00, 0x00, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
});

test('errors come after the statuses, before the column', () => {
  const output = run((v) => {
    if (v.tag === 'integer') throw invalidInput('no');
    return v;
  }, [value.integer(5), value.text('a')]);
  assert.deepEqual([...output], [
    0x57, 0x53, 0x42, 0x31, 0x02, 0x02, 0x00, 0x00, 0x00,
    0x04, 0x00, // statuses: error, ok
    0x01, 0x02, 0x00, 0x00, 0x00, 0x6e, 0x6f, // invalid-input, "no"
    0x05, // the column: one text
    0x01, 0x00, 0x00, 0x00, 0x61,
  ]);
});

const EVERY_CASE = [
  value.null(),
  value.boolean(true),
  value.boolean(false),
  value.integer(0),
  value.integer(-(2n ** 63n)),
  value.integer(2n ** 63n - 1n),
  value.float(-0),
  value.float(1.5e300),
  value.float(Infinity),
  value.text(''),
  value.text('Acme'),
  value.text('héllo 😀 食狮 \u0000 \ufffd'),
  value.text('x'.repeat(70_000)),
  value.timestamp(1_700_000_000_000_000n),
  value.timestamp(-1n),
  value.json('{"a": [1, null]}'),
];

test('every case of value reads as jco gives it and writes back the same', () => {
  const seen = [];
  const output = run((v) => (seen.push(v), v), EVERY_CASE);
  assert.deepEqual(seen, EVERY_CASE);
  assert.deepEqual(output, results(EVERY_CASE.map((ok) => ({ ok }))));
});

test('a column of texts is read at once, and the same as one by one', () => {
  // Texts, JSON texts and nulls only: wasync.js decodes them together, unless a text holds
  // U+FFFD (then one by one, as a column with numbers is).
  const texts = [
    value.text('Acme'),
    value.null(),
    value.text(''),
    value.text('\ufeffa leading U+FEFF is data'),
    value.json('{"a": "é"}'),
    value.text('食狮.com.cn 😀'),
    value.text('\u0000\u0001 \u00ff'),
    value.text(''),
  ];
  for (const column of [texts, [...texts, value.text('holds \ufffd')], [...texts, value.integer(1)], [value.null()]]) {
    const seen = [];
    assert.deepEqual(run((v) => (seen.push(v), v), column), results(column.map((ok) => ({ ok }))));
    assert.deepEqual(seen, column);
  }
});

test('texts are written at once when all are ASCII, one by one when not', () => {
  const ascii = ['a', '', 'bcd', 'x'.repeat(1000)].map(value.text);
  const unicode = [...ascii, value.text('é'), value.text('a\ud800'), value.text('\udc00b'), value.json('[]')];
  for (const column of [ascii, unicode, [...ascii, value.integer(-1), value.float(0.25), value.boolean(true)]]) {
    assert.deepEqual(run((v) => v, column), results(column.map((ok) => ({ ok }))));
  }
  // A surrogate pair split across two texts is two U+FFFDs, not one character.
  const pair = [value.text('\ud83d'), value.text('\ude00')];
  assert.deepEqual(
    transformBatch({ apply: (v) => pair[Number(v.val)] }, values([value.integer(0), value.integer(1)])),
    results([{ ok: value.text('\ufffd') }, { ok: value.text('\ufffd') }]),
  );
});

test('an empty batch is a header', () => {
  assert.deepEqual([...run(() => assert.fail('no values'), [])], header(2, 0));
});

test('a throw fails its row alone, with its kind and message', () => {
  const thrown = [
    invalidConfig('bad config'),
    invalidInput('bad input'),
    new PluginError(error.accessDenied('denied')),
    error.notFound('an error variant thrown as it is'),
    { payload: error.unavailable('as a host import throws it') },
    new PluginError(error.unauthorized('')),
    new PluginError(error.rateLimited('slow down')),
    new Error('a plain Error'),
    new TypeError('x is undefined'),
    'a thrown string',
    7,
    new PluginError({ tag: 'a-kind-from-later', val: 'unknown kinds are other' }),
  ];
  const input = thrown.flatMap((_, i) => [value.text(`ok ${i}`), value.integer(i)]);
  const output = run((v) => {
    if (v.tag === 'integer') throw thrown[Number(v.val)];
    return value.text(`${v.val}!`);
  }, input);
  const err = [
    ['invalid-config', 'bad config'],
    ['invalid-input', 'bad input'],
    ['access-denied', 'denied'],
    ['not-found', 'an error variant thrown as it is'],
    ['unavailable', 'as a host import throws it'],
    ['unauthorized', ''],
    ['rate-limited', 'slow down'],
    ['other', 'a plain Error'],
    ['other', 'TypeError: x is undefined'],
    ['other', 'a thrown string'],
    ['other', '7'],
    ['other', 'unknown kinds are other'],
  ];
  assert.deepEqual(output, results(thrown.flatMap((_, i) => [{ ok: value.text(`ok ${i}!`) }, { err: err[i] }])));
});

test('what is not a value fails its row alone, saying what it was', () => {
  const returned = [undefined, null, 'text', { tag: 'txt', val: 'a' }, { tag: 'text', val: 5 }, { tag: 'json', val: {} }, { tag: 'integer', val: 1.5 }];
  const output = run((v) => (v.tag === 'integer' ? returned[Number(v.val)] : v), [
    value.text('first'),
    ...returned.map((_, i) => value.integer(i)),
    value.text('last'),
  ]);
  const expected = results([
    { ok: value.text('first') },
    { err: ['other', 'TypeError: returned undefined, not a value (such as value.text(\'…\') or value.null())'] },
    { err: ['other', 'TypeError: returned null, not a value (such as value.text(\'…\') or value.null())'] },
    { err: ['other', 'TypeError: returned string text, not a value (such as value.text(\'…\') or value.null())'] },
    { err: ['other', 'TypeError: returned an object with tag "txt", not a value (such as value.text(\'…\') or value.null())'] },
    { err: ['other', 'TypeError: returned a text value whose val is number 5, not a string'] },
    { err: ['other', 'TypeError: returned a json value whose val is an object, not a string'] },
    { err: ['other', 'RangeError: The number 1.5 cannot be converted to a BigInt because it is not an integer'] },
    { ok: value.text('last') },
  ]);
  assert.deepEqual(output, expected);
});

test('values are lowered as jco lowers them', () => {
  // s64 from a Number or a BigInt out of range (wrapped), float from anything numeric,
  // boolean from anything truthy, and a lone surrogate as U+FFFD.
  const returned = [
    { tag: 'integer', val: 5 },
    { tag: 'timestamp', val: 2n ** 64n + 3n },
    { tag: 'float', val: '2.5' },
    { tag: 'boolean', val: 'yes' },
    { tag: 'boolean', val: 0 },
    { tag: 'text', val: 'a\ud800b' },
  ];
  const output = run((v) => returned[Number(v.val)], returned.map((_, i) => value.integer(i)));
  assert.deepEqual(output, results([
    { ok: value.integer(5) },
    { ok: value.timestamp(3n) },
    { ok: value.float(2.5) },
    { ok: value.boolean(true) },
    { ok: value.boolean(false) },
    { ok: value.text('a\ufffdb') },
  ]));
});

test('an answer far larger than its batch grows the buffer', () => {
  const input = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? value.integer(i) : value.text(`v${i}`)));
  const grow = (v) => {
    if (v.tag === 'integer' && v.val % 2n === 0n) throw invalidInput(`even ${'ü'.repeat(5000)}`);
    return v.tag === 'text' ? value.text(`${v.val}${'é😀'.repeat(2000)}`) : value.float(Number(v.val));
  };
  const expected = results(input.map((v) => {
    try {
      return { ok: grow(v) };
    } catch (e) {
      return { err: [e.variant.tag, e.variant.val] };
    }
  }));
  assert.deepEqual(run(grow, input), expected);
});

test('random batches agree with the plain writer', () => {
  let seed = 7;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pick = () => {
    switch (random(8)) {
      case 0: return value.null();
      case 1: return value.boolean(random(2) === 1);
      case 2: return value.integer(BigInt(random(2 ** 30)) * (random(2) ? -1n : 1n) * 2n ** 33n);
      case 3: return value.float(random(1000) / 7);
      case 4: return value.timestamp(random(1_000_000));
      case 5: return value.json(`[${random(100)}]`);
      case 6: return value.text('é'.repeat(random(4)) + 'x'.repeat(random(40)));
      default: return value.text(`${random(1_000_000)}`);
    }
  };
  for (let round = 0; round < 50; round++) {
    const input = Array.from({ length: random(200) }, pick);
    const outcomes = input.map(() => (random(5) === 0 ? { err: [KIND[random(8)], `failed ${random(100)}`] } : { ok: pick() }));
    let row = 0;
    const output = run(() => {
      const o = outcomes[row++];
      if ('err' in o) throw new PluginError({ tag: o.err[0], val: o.err[1] });
      return o.ok;
    }, input);
    assert.deepEqual(output, results(outcomes), `round ${round}`);
  }
});

test('a batch the host could not have written stops the call', () => {
  const good = values([value.text('a'), value.integer(1)]);
  const broken = (edit) => {
    const b = new Uint8Array(good);
    edit(b);
    return b;
  };
  const cases = [
    [new Uint8Array([0x57, 0x53, 0x42]), /does not begin with `WSB1`/],
    [broken((b) => (b[0] = 0x58)), /does not begin with `WSB1`/],
    [broken((b) => (b[4] = 2)), /expected kind 1 \(values\), found 2/],
    [broken((b) => (b[5] = 200)), /the row count 200 is more than the bytes left/],
    [broken((b) => (b[9] = 0)), /row 0 has the tag 0/],
    [broken((b) => (b[9] = 8)), /row 0 has the tag 8/],
    [broken((b) => (b[11] = 200)), /at byte 11: a text is longer than the bytes left/],
    [new Uint8Array([...good, 0]), /1 bytes follow the end of the batch/],
    [good.subarray(0, good.length - 1), /RangeError|bytes/],
    [values([value.text('\ud800')]).map((b, i) => (i === 14 ? 0xff : b)), /TypeError|not valid|malformed|decode/i],
    [values([value.text('ab'), value.null()]).map((b, i) => (i === 11 ? 3 : b)), /a text is longer than the bytes left/],
    [values([value.text('ab'), value.null()]).map((b, i) => (i === 11 ? 1 : b)), /1 bytes follow the end of the batch/],
    [values([value.json('ab')]).map((b, i) => (i === 15 ? 0xc3 : b)), /TypeError|not valid|malformed|decode/i],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => transformBatch({ apply: (v) => v }, input), message);
  }
});

test('a batch given as a view into a larger buffer reads from the view', () => {
  const batch = values([value.text('in a view'), value.float(0.5)]);
  const big = new Uint8Array(batch.length + 20);
  big.set(batch, 10);
  assert.deepEqual(
    transformBatch({ apply: (v) => v }, big.subarray(10, 10 + batch.length)),
    results([{ ok: value.text('in a view') }, { ok: value.float(0.5) }]),
  );
});

// --- records (kind 3): a connector's pages, webhook changes and the changes it writes ----

/// Three records as docs/batch.md lays them out: the second has a field the first lacks,
/// lacks one the first has, lists its fields in another order and names one twice; the
/// third is deleted, with no fields.
const PAGE = [
  rec('1', value.timestamp(5), { Name: value.text('Acme'), Size: value.integer(9) }),
  {
    id: '',
    watermark: value.null(),
    fields: [
      { name: 'Flag', value: value.boolean(true) },
      { name: 'Name', value: value.text('B') },
      { name: 'Name', value: value.text('not kept: a field named twice keeps its first value') },
    ],
    deleted: false,
  },
  rec('3', value.null(), {}, true),
];
const PAGE_BYTES = [
  0x57, 0x53, 0x42, 0x31, 0x03, 0x03, 0x00, 0x00, 0x00, // header: WSB1, records, 3 rows
  0x01, 0x00, 0x00, 0x00, 0x31, // ids: "1",
  0x00, 0x00, 0x00, 0x00, //      "",
  0x01, 0x00, 0x00, 0x00, 0x33, //      "3"
  0x06, 0x01, 0x01, // watermarks: tags timestamp, null, null
  0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   5
  0x00, 0x00, 0x01, // deleted: no, no, yes
  0x03, 0x00, 0x00, 0x00, // 3 field columns, in the order their names first appear:
  0x04, 0x00, 0x00, 0x00, 0x4e, 0x61, 0x6d, 0x65, // "Name"
  0x05, 0x05, 0x00, //   tags: text, text, absent
  0x04, 0x00, 0x00, 0x00, 0x41, 0x63, 0x6d, 0x65, //   "Acme"
  0x01, 0x00, 0x00, 0x00, 0x42, //   "B"
  0x04, 0x00, 0x00, 0x00, 0x53, 0x69, 0x7a, 0x65, // "Size"
  0x03, 0x00, 0x00, //   tags: integer, absent, absent
  0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   9
  0x04, 0x00, 0x00, 0x00, 0x46, 0x6c, 0x61, 0x67, // "Flag"
  0x00, 0x02, 0x00, //   tags: absent, boolean, absent
  0x01, //   true
];

test('records are written as docs/batch.md lays them out, byte for byte', () => {
  assert.deepEqual([...encodeRecords(PAGE)], PAGE_BYTES);
  assert.deepEqual([...records(PAGE)], PAGE_BYTES, 'the plain writer agrees');
});

test('records read back with only their own fields, in column order', () => {
  assert.deepEqual(decodeRecords(new Uint8Array(PAGE_BYTES)), [
    PAGE[0],
    rec('', value.null(), { Name: value.text('B'), Flag: value.boolean(true) }),
    PAGE[2],
  ]);
});

test('no records, and records without fields, are a header and their parts', () => {
  assert.deepEqual([...encodeRecords([])], [...header(3, 0), 0, 0, 0, 0]);
  const bare = [rec('a', value.integer(1), {}), rec('b', value.text('w'), {}, true)];
  assert.deepEqual(encodeRecords(bare), records(bare));
  assert.deepEqual(decodeRecords(encodeRecords(bare)), bare);
});

test('every case of value crosses in a field and a watermark', () => {
  const page = EVERY_CASE.map((v, i) => rec(`r${i}`, v, { v, [`only${i % 3}`]: v }, i % 5 === 0));
  const bytes = encodeRecords(page);
  assert.deepEqual(bytes, records(page));
  assert.deepEqual(decodeRecords(bytes), page);
});

test('random pages agree with the plain writer and read back', () => {
  let seed = 11;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pick = () => EVERY_CASE[random(EVERY_CASE.length - 1)]; // not the 70,000-byte text
  const names = ['Id', 'Name', 'é 😀', '', 'Website', 'Type', 'x'.repeat(300)];
  for (let round = 0; round < 60; round++) {
    const page = Array.from({ length: random(40) }, (_, i) => ({
      id: random(4) === 0 ? '' : `${random(1000)}-${'ü'.repeat(random(3))}`,
      watermark: pick(),
      fields: Array.from({ length: random(6) }, () => ({ name: names[random(names.length)], value: pick() })),
      deleted: random(6) === 0,
    }));
    const bytes = encodeRecords(page);
    assert.deepEqual(bytes, records(page), `round ${round}`);
    // What reads back: each record's first value of each field, in the order of the columns.
    const order = [...new Set(page.flatMap((r) => r.fields.map((f) => f.name)))];
    const expected = page.map((r) => ({
      ...r,
      fields: order.flatMap((name) => r.fields.filter((f) => f.name === name).slice(0, 1)),
    }));
    assert.deepEqual(decodeRecords(bytes), expected, `round ${round}`);
  }
});

test('a record that is not one fails the page, saying which and why', () => {
  const good = rec('1', value.null(), { Name: value.text('Acme') });
  const cases = [
    [[good, rec('2', value.null(), { Name: undefined })], /^TypeError: record 1 \(id "2"\), field `Name`: undefined, not a value/],
    [[good, rec('2', value.null(), { Name: { tag: 'text', val: 5 } })], /field `Name`: a text value whose val is number 5, not a string/],
    [[good, rec('2', value.null(), { N: { tag: 'integer', val: 1.5 } })], /record 1 \(id "2"\), field `N`: RangeError: The number 1.5/],
    [[good, { ...good, id: 7 }], /^TypeError: record 1: its id is number 7, not a string/],
    [[good, { ...good, watermark: 'w' }], /record 1 \(id "1"\): its watermark is string w, not a value/],
    [[good, { ...good, fields: { Name: 'x' } }], /record 1 \(id "1"\): its fields are an object, not a list/],
    [[good, { ...good, fields: [{ value: value.null() }] }], /record 1 \(id "1"\): the name of its field 0 is undefined, not a string/],
    [[good, null], /record 1: null, not a record/],
    [good, /the records are an object, not a list/],
  ];
  for (const [page, message] of cases) {
    assert.throws(() => encodeRecords(page), (e) => message.test(`${e.name}: ${e.message}`), String(message));
  }
});

test("the changes a write is given read as they did under 0.1.0, and its ids go back as results", () => {
  // As the host writes them (host/src/plugin/batch.rs): an update, a create (empty id) with a
  // field the update lacks, an update without fields, and a delete (deleted, no fields).
  const changes = [
    rec('001', value.null(), { Name: value.text('Acme') }),
    rec('', value.null(), { Name: value.text('New'), Size: value.integer(3) }),
    rec('002', value.null(), {}),
    rec('003', value.null(), {}, true),
  ];
  const seen = [];
  const answers = [() => 'ext-001', () => 'new-1', () => 7, () => {
    throw new PluginError(error.notFound('no 003'));
  }];
  const output = writeBatch(
    {
      write(entity, change) {
        seen.push([entity, change]);
        return answers[seen.length - 1]();
      },
    },
    'contacts',
    records(changes),
  );
  assert.deepEqual(seen, [
    ['contacts', { tag: 'upsert', val: { id: '001', fields: [{ name: 'Name', value: value.text('Acme') }] } }],
    [
      'contacts',
      {
        tag: 'upsert',
        val: { id: undefined, fields: [{ name: 'Name', value: value.text('New') }, { name: 'Size', value: value.integer(3) }] },
      },
    ],
    ['contacts', { tag: 'upsert', val: { id: '002', fields: [] } }],
    ['contacts', { tag: 'delete', val: '003' }],
  ]);
  assert.deepEqual([...output], [
    0x57, 0x53, 0x42, 0x31, 0x02, 0x04, 0x00, 0x00, 0x00, // header: WSB1, results, 4 rows
    0x00, 0x00, 0x04, 0x04, // statuses: ok, ok, error, error
    0x07, 0x44, 0x00, 0x00, 0x00, ...utf8.encode('TypeError: returned number 7, not the external id written (a string)'),
    0x03, 0x06, 0x00, 0x00, 0x00, ...utf8.encode('no 003'), // not-found
    0x05, 0x05, // the ids: two texts
    0x07, 0x00, 0x00, 0x00, ...utf8.encode('ext-001'),
    0x05, 0x00, 0x00, 0x00, ...utf8.encode('new-1'),
  ]);
});

test('webhook changes go as runs of one entity, in the order they arrived', () => {
  const change = (entity, id, fields = {}) => ({ entity, record: rec(id, value.integer(Number(id)), fields) });
  const arrived = [
    change('a', '1', { x: value.text('1') }),
    change('a', '2', { y: value.null() }),
    change('b', '3'),
    change('a', '4', { x: value.text('4') }),
  ];
  const groups = encodeEntityChanges(arrived);
  assert.deepEqual(groups.map((g) => g.entity), ['a', 'b', 'a']);
  assert.deepEqual(groups[0].records, records([arrived[0].record, arrived[1].record]));
  assert.deepEqual(decodeRecords(groups[1].records), [arrived[2].record]);
  assert.deepEqual(decodeRecords(groups[2].records), [arrived[3].record]);
  assert.deepEqual(encodeEntityChanges([]), []);
  assert.throws(() => encodeEntityChanges([arrived[0], { entity: 'b', record: { id: 'x' } }]), /change 1 \(id "x"\): its watermark is undefined/);
  assert.throws(() => encodeEntityChanges([arrived[0], { record: arrived[0].record }]), /change 1: its entity is undefined, not a string/);
});

test('a connector answers the 0.2.0 calls, its code as it was under 0.1.0', () => {
  // What a 0.1.0 connector does: records with the fields it has, changes by tag.
  const written = [];
  class Memory {
    constructor(config) {
      this.prefix = config.prefix;
    }
    describe() {
      return [{ name: 'contacts', kind: 'object', idField: 'id', watermarkField: 'updated', fields: [] }];
    }
    read(request) {
      if (request.entity !== 'contacts') throw new PluginError(error.notFound(`no entity ${request.entity}`));
      return { records: PAGE.slice(0, request.limit), more: request.limit < PAGE.length };
    }
    write(entity, change) {
      written.push(change.tag);
      if (change.tag === 'delete') throw invalidInput(`cannot delete ${change.val}`);
      return change.val.id ?? `${this.prefix}${written.length}`;
    }
    webhook(request) {
      if (request.method !== 'POST') throw new Error('POST only');
      return JSON.parse(new TextDecoder().decode(request.body)).map(([entity, id]) => ({
        entity,
        record: rec(id, value.null(), { From: value.text('webhook') }),
      }));
    }
  }
  const { System } = defineConnector(Memory);
  const system = System.create('{"prefix": "m-"}');
  assert.equal(system.describe()[0].name, 'contacts');

  const page = system.read({ entity: 'contacts', after: undefined, until: undefined, limit: 5 });
  assert.deepEqual([...page.records], PAGE_BYTES);
  assert.equal(page.more, false);
  assert.equal(system.read({ entity: 'contacts', limit: 1 }).more, true);
  assert.throws(() => system.read({ entity: 'leads', limit: 1 }), (e) => e.tag === 'not-found' && e.val === 'no entity leads');

  const ids = system.write('contacts', records([rec('', value.null(), { Name: value.text('x') }), rec('9', value.null(), {}, true)]));
  assert.deepEqual(written, ['upsert', 'delete']);
  assert.deepEqual(ids, results([{ ok: value.text('m-1') }, { err: ['invalid-input', 'cannot delete 9'] }]));

  const body = utf8.encode(JSON.stringify([['contacts', '1'], ['contacts', '2'], ['leads', '3']]));
  const groups = system.webhook({ method: 'POST', path: '/', headers: [], body });
  assert.deepEqual(groups.map((g) => [g.entity, decodeRecords(g.records).map((r) => r.id)]), [
    ['contacts', ['1', '2']],
    ['leads', ['3']],
  ]);
  assert.throws(() => system.webhook({ method: 'GET', path: '/', headers: [], body: new Uint8Array() }), (e) => e.tag === 'other' && e.val === 'POST only');
  // A bad record in a page is an error of the call, not a trap.
  class Bad extends Memory {
    read() {
      return { records: [rec('1', value.null(), { Name: 'Acme' })], more: false };
    }
  }
  assert.throws(
    () => defineConnector(Bad).System.create('{}').read({ entity: 'contacts', limit: 5 }),
    (e) => e.tag === 'other' && /^TypeError: record 0 \(id "1"\), field `Name`: string Acme, not a value/.test(e.val),
  );
});

test('a records batch the host could not have written stops the call', () => {
  const good = records([rec('1', value.null(), { A: value.text('x') })]);
  const edited = (at, byte) => good.map((b, i) => (i === at ? byte : b));
  // header 0-8, id 9-13, watermark tag 14, deleted 15, count 16-19, "A" 20-24, tag 25, text 26-30
  const cases = [
    [edited(4, 1), /expected kind 3 \(records\), found 1/],
    [edited(14, 0), /row 0 has the tag 0, not a value's/],
    [edited(15, 2), /the deleted flag of row 0 is 2, not 0 or 1/],
    [edited(16, 9), /the field count is 9, more than/],
    [edited(25, 8), /row 0 has the tag 8, not a field's/],
    [edited(26, 9), /a text is longer than the bytes left/],
    [edited(30, 0xff), /the text of row 0 is not UTF-8/],
    [edited(13, 0xff), /an id is not UTF-8/],
    [new Uint8Array([...good, 0]), /1 bytes follow the end of the batch/],
    [good.subarray(0, good.length - 1), /a text is longer than the bytes left/],
    [
      records([rec('1', value.null(), { A: value.text('x'), B: value.text('y') })]).map((b, i) => (i === 31 + 4 ? 0x41 : b)),
      /the field `A` has two columns/,
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => decodeRecords(input), message, String(message));
    assert.throws(() => writeBatch({ write: () => 'x' }, 'e', input), message);
  }
  assert.throws(() => decodeValues(good), /expected kind 1 \(values\), found 3/);
});
