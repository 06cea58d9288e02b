// Helpers for wasync plugins written in JavaScript (`wasync:plugin@0.2.0`).
//
// The WIT types reach JavaScript the way jco represents them: a variant is an object
// `{ tag, val }` (`{ tag: 'text', val: 'Acme' }`, `{ tag: 'null' }`), `s64` (integers,
// timestamps) is a BigInt, a record is an object with camelCase keys, a result returned
// inside a list is `{ tag: 'ok', val }` or `{ tag: 'err', val }`.
//
// Why the `define*` wrappers matter: when JavaScript code throws inside an export, the
// component traps (a `list<result<…>>` return has no error channel, so one bad value would
// fail the whole batch), and a function returning `result<…>` turns a throw into `err` only
// when the thrown thing is itself an `error` variant; a plain `Error` traps with "invalid
// variant tag". The wrappers catch per value or per record and turn any exception into an
// `error` variant (`other(message)` unless it already is one), so the message reaches the
// user and the rest of the batch goes on.
//
// A transform's values and a connector's records are the exception: from 0.2.0 on they
// cross as one buffer in the batch layout of docs/batch.md, which `defineTransform` and
// `defineConnector` read and write here (`transformBatch`; `encodeRecords`, `writeBatch`,
// `encodeEntityChanges`), so that an author still gets and returns one jco `value`, record
// or change at a time, as under 0.1.0.
//
// Import it as `wasync` in a plugin; `sdk/js/build.mjs` resolves that name to this file.

import { log as hostLog } from 'wasync:plugin/log@0.2.0';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/// Constructors for the WIT `value` variant.
export const value = {
  null: () => ({ tag: 'null' }),
  boolean: (b) => ({ tag: 'boolean', val: Boolean(b) }),
  /// A whole number; takes a Number (must be a safe integer) or a BigInt within s64.
  integer: (n) => ({ tag: 'integer', val: toI64(n, 'integer') }),
  float: (x) => ({ tag: 'float', val: Number(x) }),
  // (`String(s)` only when needed: in the engine each call costs as much as the whole check.)
  text: (s) => ({ tag: 'text', val: typeof s === 'string' ? s : String(s) }),
  /// Microseconds since the Unix epoch (Number or BigInt), or a `Date`.
  timestamp: (t) =>
    t instanceof Date
      ? { tag: 'timestamp', val: BigInt(t.getTime()) * 1000n }
      : { tag: 'timestamp', val: toI64(t, 'timestamp') },
  /// Nested data: JSON text as is, anything else is serialised.
  json: (data) => ({ tag: 'json', val: typeof data === 'string' ? data : JSON.stringify(data) }),
};

function toI64(n, what) {
  let big;
  if (typeof n === 'bigint') {
    big = n;
  } else if (typeof n === 'number' && Number.isSafeInteger(n)) {
    big = BigInt(n);
  } else {
    throw new TypeError(`${what} must be a whole number within 64 bits, not ${String(n)}`);
  }
  if (big < I64_MIN || big > I64_MAX) {
    throw new RangeError(`${what} ${big} does not fit in 64 bits`);
  }
  return big;
}

/// The text of a `text` value, else `undefined`.
export function asText(v) {
  return v?.tag === 'text' ? v.val : undefined;
}

/// Whether a value is `null`, or text that is empty or only white space (as the Rust SDK's
/// `Value::is_empty`, which trims Unicode White_Space).
export function isEmpty(v) {
  return v === undefined || v.tag === 'null' || (v.tag === 'text' && trimRust(v.val) === '');
}

/// Unicode White_Space, spelled out: the engine componentize-js embeds has no `\p{…}` classes.
const RUST_EDGE_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/// Trims what Rust's `str::trim` trims (Unicode White_Space): JavaScript's `trim` also
/// removes U+FEFF but keeps U+0085, and plugins that share rules with Rust ones must agree.
export function trimRust(s) {
  return s.replace(RUST_EDGE_SPACE, '');
}

/// A value as a plain JavaScript value: null, boolean, BigInt (integer, timestamp), number,
/// string, or parsed JSON.
export function toJs(v) {
  switch (v.tag) {
    case 'null':
      return null;
    case 'json':
      return JSON.parse(v.val);
    default:
      return v.val;
  }
}

/// A plain JavaScript value as a value: strings are text, safe integers and BigInts
/// integers, other numbers floats, `Date`s timestamps, objects and arrays JSON.
export function fromJs(x) {
  if (x === null || x === undefined) return value.null();
  if (typeof x === 'boolean') return value.boolean(x);
  if (typeof x === 'bigint') return value.integer(x);
  if (typeof x === 'number') return Number.isSafeInteger(x) ? value.integer(x) : value.float(x);
  if (typeof x === 'string') return value.text(x);
  if (x instanceof Date) return value.timestamp(x);
  return value.json(x);
}

/// Constructors for the WIT `error` variant; each takes a message for a person.
export const error = {
  invalidConfig: (message) => ({ tag: 'invalid-config', val: String(message) }),
  invalidInput: (message) => ({ tag: 'invalid-input', val: String(message) }),
  accessDenied: (message) => ({ tag: 'access-denied', val: String(message) }),
  notFound: (message) => ({ tag: 'not-found', val: String(message) }),
  unauthorized: (message) => ({ tag: 'unauthorized', val: String(message) }),
  rateLimited: (message) => ({ tag: 'rate-limited', val: String(message) }),
  unavailable: (message) => ({ tag: 'unavailable', val: String(message) }),
  other: (message) => ({ tag: 'other', val: String(message) }),
};

const ERROR_TAGS = new Set([
  'invalid-config',
  'invalid-input',
  'access-denied',
  'not-found',
  'unauthorized',
  'rate-limited',
  'unavailable',
  'other',
]);

function isErrorVariant(x) {
  return x !== null && typeof x === 'object' && ERROR_TAGS.has(x.tag) && typeof x.val === 'string';
}

/// An exception that carries an `error` variant: `throw new PluginError(error.invalidInput('…'))`.
export class PluginError extends Error {
  constructor(variant) {
    super(variant.val);
    this.name = 'PluginError';
    this.variant = variant;
  }
}

/// Throwable shorthands: `throw invalidConfig('…')`.
export const invalidConfig = (message) => new PluginError(error.invalidConfig(message));
export const invalidInput = (message) => new PluginError(error.invalidInput(message));

/// Whatever was thrown, as an `error` variant: a `PluginError`'s variant, an `error` variant
/// thrown as is, or `other(message)`.
export function toError(thrown) {
  if (thrown instanceof PluginError) return thrown.variant;
  if (isErrorVariant(thrown)) return thrown;
  // What a host import such as `http.send` throws for its `err`: a ComponentError whose
  // payload is the `error` variant. Passed on as it is, so `unavailable` stays `unavailable`.
  if (isErrorVariant(thrown?.payload)) return thrown.payload;
  if (thrown instanceof Error) {
    // `TypeError: x is undefined` says more than the message alone; `Error: …` does not.
    return error.other(thrown.name === 'Error' ? thrown.message : `${thrown.name}: ${thrown.message}`);
  }
  return error.other(String(thrown));
}

export const ok = (val) => ({ tag: 'ok', val });
export const err = (e) => ({ tag: 'err', val: e });

/// Runs `f`; a throw becomes `err(toError(…))`.
export function attempt(f) {
  try {
    return ok(f());
  } catch (e) {
    return err(toError(e));
  }
}

/// Parses configuration text: blank is `{}`; text that is not JSON is `invalid-config`.
export function parseConfig(text) {
  if (trimRust(text) === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidConfig(`not JSON: ${e.message}`);
  }
}

/// A record field's value, or `undefined` when the record has no such field.
export function getField(rec, name) {
  return rec.fields.find((f) => f.name === name)?.value;
}

/// A copy of `rec` with field `name` set to `v` (replaced in place, or added at the end).
export function setField(rec, name, v) {
  const fields = rec.fields.some((f) => f.name === name)
    ? rec.fields.map((f) => (f.name === name ? { name, value: v } : f))
    : [...rec.fields, { name, value: v }];
  return { ...rec, fields };
}

/// A record's fields as a plain object of values (the last wins if a name repeats).
export function fieldsOf(rec) {
  return Object.fromEntries(rec.fields.map((f) => [f.name, f.value]));
}

/// Entity-function outcomes.
export const keep = (rec) => ({ tag: 'keep', val: rec });
export const attach = (rec, unifiedId) => ({ tag: 'attach', val: { record: rec, unifiedId } });
export const stop = (reason) => ({ tag: 'stop', val: String(reason) });

/// Messages to the host's log (never put secrets in them).
export const log = {
  trace: (message) => hostLog('trace', String(message)),
  debug: (message) => hostLog('debug', String(message)),
  info: (message) => hostLog('info', String(message)),
  warn: (message) => hostLog('warn', String(message)),
  error: (message) => hostLog('error', String(message)),
};

/// Builds a resource class whose static `create(configText)` parses the configuration and
/// constructs `Plugin`, turning any exception into an `error` variant (the component
/// model's `err`). A `Plugin` with `static rawConfig = true` gets the text as is, to parse
/// it its own way.
function resource(Plugin, methods) {
  class Resource {
    constructor(inner) {
      this.inner = inner;
    }

    static create(configText) {
      try {
        const config = Plugin.rawConfig ? configText : parseConfig(configText);
        return new Resource(new Plugin(config));
      } catch (e) {
        throw toError(e);
      }
    }
  }
  Object.assign(Resource.prototype, methods);
  return Resource;
}

/// Calls a method whose WIT return is `result<…>`: a throw becomes an `error` variant.
function orThrowError(f) {
  try {
    return f();
  } catch (e) {
    throw toError(e);
  }
}

// The batch layout (docs/batch.md; sdk/batch/src is the reference, and what is written
// here matches it byte for byte). It runs once per value inside the component's JavaScript
// interpreter, where (measured in componentize-js 0.23) a loop step costs about 0.05 µs, a
// new object 0.25 µs and a call into a method of the engine 0.3 µs or more: so the
// per-value path makes only the objects the author's code needs, keeps its state in local
// variables, and leaves the bytes to the engine, in as few calls as it can (TextDecoder,
// TextEncoder.encodeInto, DataView; a byte loop in JavaScript would cost more).
//
// One column code serves every part that holds values: `readColumn` reads a column into
// jco values, `putValue` takes a value's tag and keeps its payload aside, and `putPayloads`
// writes a column's payloads after its tags. A transform's values and results, a record's
// watermark and fields, and a write's external ids all go through them.

const MAGIC = [0x57, 0x53, 0x42, 0x31]; // `WSB1`
const KIND_VALUES = 1;
const KIND_RESULTS = 2;
const KIND_RECORDS = 3;
const KIND_NAMES = ['', 'values', 'results', 'records'];
/// The magic, the kind and the `u32` row count.
const HEADER = 9;
/// A results row's status. `ok` is 0, which a new buffer already holds.
const STATUS_ERROR = 4;

/// The byte of each `error` case, in WIT order.
const ERROR_KIND = Object.assign(Object.create(null), {
  'invalid-config': 0,
  'invalid-input': 1,
  'access-denied': 2,
  'not-found': 3,
  unauthorized: 4,
  'rate-limited': 5,
  unavailable: 6,
  other: 7,
});

// `ignoreBOM` keeps a text's leading U+FEFF, which is data here, not a byte order mark.
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LOSSY_UTF8_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

// --- reading ---------------------------------------------------------------------------

/// A buffer being read. `copy` is made on first need, for `textsOf` to mark up.
function reader(input) {
  return {
    bytes: input,
    view: new DataView(input.buffer, input.byteOffset, input.byteLength),
    copy: null,
    copyView: null,
  };
}

/// Checks the header of a buffer of `kind`; returns its row count.
function readHeader(r, kind) {
  const input = r.bytes;
  if (input.length < HEADER || MAGIC.some((b, i) => input[i] !== b)) {
    throw malformed(0, 'it does not begin with `WSB1`');
  }
  if (input[4] !== kind) throw malformed(4, `expected kind ${kind} (${KIND_NAMES[kind]}), found ${input[4]}`);
  const rows = r.view.getUint32(5, true);
  if (rows > input.length - HEADER) throw malformed(5, `the row count ${rows} is more than the bytes left`);
  return rows;
}

/// Reads the column of `rows` rows at `at` (its tags, then its payloads) into `values` (an
/// array of `rows`), each row as jco gives a `value` to JavaScript; returns where the column
/// ends. A row may be absent (tag 0, `undefined` in `values`) only in a record's field
/// column, `absent`.
function readColumn(r, at, rows, absent, values) {
  const input = r.bytes;
  const view = r.view;
  const size = input.length; // (a getter: a call into the engine each time it is read)
  if (rows > size - at) throw short(input, at, rows, `${rows} tags`);
  const texts = textsOf(r, at, at + rows, rows, absent); // if not null, text k (from 1) is parts[4 * k]
  const parts = texts === null ? null : texts.parts;
  let t = 0; // 4 * the texts read so far
  let from = at + rows; // the next payload, when read one by one
  let row = 0;
  try {
    for (; row < rows; row++) {
      let v;
      switch (input[at + row]) {
        case 5:
          if (parts !== null) {
            v = { tag: 'text', val: parts[(t += 4)] };
          } else {
            if (from + 4 > size) throw short(input, from, 4, 'a text');
            const end = from + 4 + view.getUint32(from, true);
            if (end > size) throw malformed(from, 'a text is longer than the bytes left');
            v = { tag: 'text', val: UTF8_DECODER.decode(input.subarray(from + 4, end)) };
            from = end;
          }
          break;
        case 1:
          v = { tag: 'null' };
          break;
        case 3:
          if (from + 8 > size) throw short(input, from, 8, 'an integer');
          v = { tag: 'integer', val: view.getBigInt64(from, true) };
          from += 8;
          break;
        case 4:
          if (from + 8 > size) throw short(input, from, 8, 'a float');
          v = { tag: 'float', val: view.getFloat64(from, true) };
          from += 8;
          break;
        case 2:
          if (from + 1 > size) throw short(input, from, 1, 'a boolean');
          if (input[from] > 1) throw malformed(from, `a boolean is ${input[from]}, not 0 or 1`);
          v = { tag: 'boolean', val: input[from++] === 1 };
          break;
        case 6:
          if (from + 8 > size) throw short(input, from, 8, 'a timestamp');
          v = { tag: 'timestamp', val: view.getBigInt64(from, true) };
          from += 8;
          break;
        case 7:
          if (parts !== null) {
            v = { tag: 'json', val: parts[(t += 4)] };
          } else {
            if (from + 4 > size) throw short(input, from, 4, 'a JSON text');
            const end = from + 4 + view.getUint32(from, true);
            if (end > size) throw malformed(from, 'a JSON text is longer than the bytes left');
            v = { tag: 'json', val: UTF8_DECODER.decode(input.subarray(from + 4, end)) };
            from = end;
          }
          break;
        case 0:
          if (absent) break; // `v` stays undefined
        // falls through
        default:
          throw malformed(at + row, `row ${row} has the tag ${input[at + row]}, not ${absent ? "a field's" : "a value's"}`);
      }
      values[row] = v;
    }
  } catch (e) {
    // The fatal decoder's TypeError: `from` is still at the text that is not UTF-8.
    throw e instanceof TypeError ? malformed(from + 4, `the text of row ${row} is not UTF-8`) : e;
  }
  return parts === null ? from : texts.end;
}

/// Reads `rows` texts at `at` into `texts`; returns where they end.
function readTexts(r, at, rows, texts, what) {
  const all = textsOf(r, -1, at, rows, false);
  if (all !== null) {
    for (let k = 1; k <= rows; k++) texts.push(all.parts[4 * k]);
    return all.end;
  }
  for (let k = 0; k < rows; k++) {
    const end = textEnd(r, at, what);
    texts.push(utf8(r.bytes, at + 4, end, what));
    at = end;
  }
  return at;
}

/// The texts of a column that holds nothing else but nulls (and absent rows, with
/// `absent`), decoded at once (two calls into the engine in all, instead of two per text):
/// in a copy of the buffer (one per batch: each column marks up only its own bytes, and
/// texts read one by one come from the original), each text's length becomes four 0xFF
/// bytes, which UTF-8 never holds and a lossy decode turns into four U+FFFD, so that
/// splitting at U+FFFD puts the k-th text (from 1) in part 4k. `{ parts, end }`, where `end` is where the payloads
/// (from `from`) end; `null` for any other column, or when a text is not UTF-8, holds
/// U+FFFD itself (there are then more parts) or runs past the end: the texts are then read
/// one by one. A `tagsAt` below 0 reads `rows` texts without tags (the ids of records).
function textsOf(r, tagsAt, from, rows, absent) {
  const input = r.bytes;
  let count = rows;
  if (tagsAt >= 0) {
    count = 0;
    for (let row = 0; row < rows; row++) {
      const tag = input[tagsAt + row];
      if (tag === 5 || tag === 7) count++;
      else if (tag !== 1 && (tag !== 0 || !absent)) return null;
    }
  }
  if (count === 0) return { parts: [], end: from };
  if (r.copy === null) {
    r.copy = input.slice();
    r.copyView = new DataView(r.copy.buffer);
  }
  const view = r.copyView;
  const size = input.length;
  let at = from;
  for (let k = 0; k < count; k++) {
    if (at + 4 > size) return null;
    const next = at + 4 + view.getUint32(at, true);
    view.setUint32(at, 0xffffffff, true);
    at = next;
  }
  if (at > size) return null;
  const parts = LOSSY_UTF8_DECODER.decode(r.copy.subarray(from, at)).split('\ufffd');
  return parts.length === 4 * count + 1 ? { parts, end: at } : null;
}

/// Where the text whose length is at `at` ends, checked against the buffer.
function textEnd(r, at, what) {
  if (at + 4 > r.bytes.length) throw short(r.bytes, at, 4, what);
  const end = at + 4 + r.view.getUint32(at, true);
  if (end > r.bytes.length) throw malformed(at, `${what} is longer than the bytes left`);
  return end;
}

/// The UTF-8 of `input[start..end]` as a string.
function utf8(input, start, end, what) {
  try {
    return UTF8_DECODER.decode(input.subarray(start, end));
  } catch {
    throw malformed(start, `${what} is not UTF-8`);
  }
}

/// A malformed batch from the host is a bug in the host: the call stops (the component
/// traps and the host reports it) rather than guessing, as with the Rust SDK.
function malformed(at, what) {
  return new Error(`wasync: the host sent a malformed batch: invalid batch at byte ${at}: ${what}`);
}

function short(input, at, n, what) {
  return malformed(at, `${what} needs ${n} bytes, ${Math.max(0, input.length - at)} are left`);
}

/// The values of a `values` batch (kind 1), as jco values.
export function decodeValues(input) {
  const r = reader(input);
  const rows = readHeader(r, KIND_VALUES);
  const values = new Array(rows);
  end(r, readColumn(r, HEADER, rows, false, values));
  return values;
}

/// Refuses bytes after the end of a batch.
function end(r, at) {
  if (at !== r.bytes.length) throw malformed(at, `${r.bytes.length - at} bytes follow the end of the batch`);
}

/// The records of a `records` batch (kind 3), as jco records `{ id, watermark, fields,
/// deleted }`: a record has the fields whose columns are not absent in its row, in column
/// order.
export function decodeRecords(input) {
  const r = reader(input);
  const bytes = r.bytes;
  const rows = readHeader(r, KIND_RECORDS);
  const ids = [];
  let at = readTexts(r, HEADER, rows, ids, 'an id');
  const watermarks = new Array(rows);
  at = readColumn(r, at, rows, false, watermarks);
  if (rows > bytes.length - at) throw short(bytes, at, rows, 'the deleted flags');
  const deletedAt = at;
  for (let row = 0; row < rows; row++) {
    if (bytes[at + row] > 1) throw malformed(at + row, `the deleted flag of row ${row} is ${bytes[at + row]}, not 0 or 1`);
  }
  at += rows;
  if (at + 4 > bytes.length) throw short(bytes, at, 4, 'the field count');
  const count = r.view.getUint32(at, true);
  if (count * (4 + rows) > bytes.length - at - 4) {
    throw malformed(at, `the field count is ${count}, more than the ${bytes.length - at - 4} bytes after it can hold`);
  }
  at += 4;
  const names = [];
  const columns = [];
  const seen = new Set();
  for (let c = 0; c < count; c++) {
    const nameEnd = textEnd(r, at, 'a field name');
    const name = utf8(bytes, at + 4, nameEnd, 'a field name');
    if (seen.has(name)) throw malformed(at, `the field \`${name}\` has two columns`);
    seen.add(name);
    const cells = new Array(rows);
    at = readColumn(r, nameEnd, rows, true, cells);
    names.push(name);
    columns.push(cells);
  }
  end(r, at);
  const records = new Array(rows);
  for (let row = 0; row < rows; row++) {
    const fields = [];
    for (let c = 0; c < count; c++) {
      const v = columns[c][row];
      if (v !== undefined) fields.push({ name: names[c], value: v });
    }
    records[row] = { id: ids[row], watermark: watermarks[row], fields, deleted: bytes[deletedAt + row] === 1 };
  }
  return records;
}

// --- writing ---------------------------------------------------------------------------

/// A buffer being written: its bytes (replaced by a larger copy as it grows) and how many
/// are used.
function writer(size) {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer), at: 0 };
}

/// Makes room in `w` for `n` more bytes.
function reserve(w, n) {
  if (w.at + n > w.bytes.length) {
    const bigger = new Uint8Array(Math.max(w.at + n, 2 * w.bytes.length));
    bigger.set(w.bytes.subarray(0, w.at));
    w.bytes = bigger;
    w.view = new DataView(bigger.buffer);
  }
}

/// Writes the header of a buffer of `kind` with `rows` rows at its start.
function putHeader(w, kind, rows) {
  w.bytes.set(MAGIC);
  w.bytes[4] = kind;
  w.view.setUint32(5, rows, true);
}

/// Appends a text: its UTF-8 length, then its bytes.
function putText(w, s) {
  const bytes = UTF8_ENCODER.encode(s);
  reserve(w, 4 + bytes.length);
  w.view.setUint32(w.at, bytes.length, true);
  w.bytes.set(bytes, w.at + 4);
  w.at += 4 + bytes.length;
}

/// The tag of `v` (null 1, boolean 2, integer 3, float 4, text 5, timestamp 6, json 7),
/// with its payload kept aside: a text's or JSON text's in `texts`, any other's but null's
/// in `numbers`, so that a column is its tags and then, by `putPayloads`, those in order.
/// 0 (which no value has) when `v` is not a value: nothing is kept then. Values are
/// lowered as jco lowers them: an s64 from a Number (or numeric text) wrapped to 64 bits,
/// a float from anything numeric, a boolean from anything truthy.
function putValue(v, texts, numbers) {
  switch (v?.tag) {
    case 'text':
      if (typeof v.val !== 'string') return 0;
      texts.push(v.val);
      return 5;
    case 'null':
      return 1;
    case 'integer':
      numbers.push(typeof v.val === 'bigint' ? v.val : BigInt(v.val));
      return 3;
    case 'float':
      numbers.push(+v.val);
      return 4;
    case 'boolean':
      numbers.push(v.val ? 1 : 0);
      return 2;
    case 'timestamp':
      numbers.push(typeof v.val === 'bigint' ? v.val : BigInt(v.val));
      return 6;
    case 'json':
      if (typeof v.val !== 'string') return 0;
      texts.push(v.val);
      return 7;
    default:
      return 0;
  }
}

/// What `v`, refused by `putValue`, is, for a message.
function notAValue(v) {
  if (v?.tag === 'text' || v?.tag === 'json') return `a ${v.tag} value whose val is ${describe(v.val)}, not a string`;
  return `${describe(v)}, not a value (such as value.text('…') or value.null())`;
}

/// Appends the payloads of a column whose tags are `tags`, taken in order from `texts` and
/// `numbers` as `putValue` left them (the tags themselves are the caller's to write).
///
/// The texts are encoded all at once, after room for the rest of the payloads. When that
/// is all ASCII, each text has as many bytes as UTF-16 units, and they move down into
/// place (never over bytes still to move); else each text is encoded again in its place.
function putPayloads(w, tags, texts, numbers) {
  const joined = texts.length === 0 ? '' : texts.join('');
  // Room for the lengths and numbers (8 bytes each, booleans too), then the texts' UTF-8:
  // at most 3 bytes per UTF-16 unit.
  const room = 4 * texts.length + 8 * numbers.length;
  reserve(w, room + 3 * joined.length);
  const out = w.bytes;
  const view = w.view;
  const textsAt = w.at + room;
  const ascii = joined.length === 0 || UTF8_ENCODER.encodeInto(joined, out.subarray(textsAt)).written === joined.length;
  let at = w.at;
  let from = textsAt;
  let t = 0;
  let n = 0;
  const rows = tags.length; // (a getter: read once)
  for (let k = 0; k < rows; k++) {
    switch (tags[k]) {
      case 5:
      case 7: {
        let length;
        if (ascii) {
          length = texts[t++].length;
          out.copyWithin(at + 4, from, from + length);
          from += length;
        } else {
          length = UTF8_ENCODER.encodeInto(texts[t++], out.subarray(at + 4)).written;
        }
        view.setUint32(at, length, true);
        at += 4 + length;
        break;
      }
      case 3:
      case 6:
        view.setBigInt64(at, numbers[n++], true);
        at += 8;
        break;
      case 4:
        view.setFloat64(at, numbers[n++], true);
        at += 8;
        break;
      case 2:
        out[at++] = numbers[n++];
        break;
    }
  }
  w.at = at;
}

/// A column being written, `rows` rows long, every row absent (tag 0) until set.
function column(rows) {
  return { tags: new Uint8Array(rows), texts: [], numbers: [] };
}

/// Appends a column: its tags, then its payloads.
function putColumn(w, c) {
  reserve(w, c.tags.length);
  w.bytes.set(c.tags, w.at);
  w.at += c.tags.length;
  putPayloads(w, c.tags, c.texts, c.numbers);
}

/// Runs `plugin.apply` on each item and answers with a `results` batch (kind 2): one row
/// per item, in order. Whatever `apply` throws, or returns that is not a `value`, is an
/// error for its row alone.
///
/// The answer is the header, a status byte per row, the error table, then the column of
/// the ok rows' values. One pass calls `apply` on each item and writes the statuses and,
/// right after them, the column's tags, keeping the payloads aside; `putPayloads` then
/// writes those after the tags, and when rows failed, `withErrors` makes room for their
/// table.
function results(plugin, items, size) {
  const rows = items.length;
  const w = writer(size);
  const out = w.bytes; // statuses (0 is ok) from HEADER, tags from HEADER + rows
  let tagAt = HEADER + rows; // where the next ok value's tag goes
  const texts = []; // the ok values' texts and JSON texts, in order
  const numbers = []; // their other payloads, in order
  let errors = null; // the failed rows' `error` variants, in order
  for (let row = 0; row < rows; row++) {
    try {
      const r = plugin.apply(items[row]);
      let tag = 5;
      if (r?.tag === 'text' && typeof r.val === 'string') {
        texts.push(r.val); // the most common answer, without a call
      } else {
        tag = putValue(r, texts, numbers);
        if (tag === 0) throw new TypeError(`returned ${notAValue(r)}`);
      }
      out[tagAt++] = tag;
    } catch (e) {
      out[HEADER + row] = STATUS_ERROR;
      (errors ??= []).push(toError(e));
    }
  }
  w.at = tagAt;
  putPayloads(w, out.subarray(HEADER + rows, tagAt), texts, numbers);
  putHeader(w, KIND_RESULTS, rows);
  const written = w.bytes.subarray(0, w.at);
  return errors === null ? written : withErrors(written, HEADER + rows, errors);
}

/// `written` with the error table after its statuses (which end at `statusEnd`), before the
/// column: each error's kind and message, in row order.
function withErrors(written, statusEnd, errors) {
  const messages = errors.map((e) => UTF8_ENCODER.encode(String(e.val)));
  const table = messages.reduce((n, m) => n + 5 + m.length, 0);
  const out = new Uint8Array(written.length + table);
  out.set(written.subarray(0, statusEnd));
  out.set(written.subarray(statusEnd), statusEnd + table);
  const view = new DataView(out.buffer);
  let at = statusEnd;
  errors.forEach((e, i) => {
    out[at] = ERROR_KIND[e.tag] ?? ERROR_KIND.other;
    view.setUint32(at + 1, messages[i].length, true);
    out.set(messages[i], at + 5);
    at += 5 + messages[i].length;
  });
  return out;
}

/// Encodes records (`{ id, watermark, fields: [{ name, value }], deleted }`, as a connector's
/// `read` returns them) as a `records` batch (kind 3): a column per field name, in the order
/// the names first appear, absent in the rows of records without that field. A field named
/// twice in one record keeps its first value. Throws a TypeError naming the record when one
/// is not a record.
export function encodeRecords(records) {
  return recordsBatch(records, 'record', 0);
}

/// `encodeRecords`, naming record `row` `${what} ${first + row}` in a message.
function recordsBatch(records, what, first) {
  if (!Array.isArray(records)) throw new TypeError(`the ${what}s are ${describe(records)}, not a list`);
  const rows = records.length;
  const ids = [];
  const watermarks = column(rows);
  const deleted = new Uint8Array(rows);
  const columns = [];
  const byName = new Map();
  let row = 0;
  let name; // the name of the field being encoded, for a message
  try {
    for (; row < rows; row++) {
      const rec = records[row];
      name = undefined;
      if (rec === null || typeof rec !== 'object') throw new TypeError(`${describe(rec)}, not a record { id, watermark, fields, deleted }`);
      if (typeof rec.id !== 'string') throw new TypeError(`its id is ${describe(rec.id)}, not a string`);
      ids.push(rec.id);
      const tag = putValue(rec.watermark, watermarks.texts, watermarks.numbers);
      if (tag === 0) throw new TypeError(`its watermark is ${notAValue(rec.watermark)}`);
      watermarks.tags[row] = tag;
      deleted[row] = rec.deleted ? 1 : 0;
      const fields = rec.fields;
      if (!Array.isArray(fields)) throw new TypeError(`its fields are ${describe(fields)}, not a list of { name, value }`);
      for (let p = 0, count = fields.length; p < count; p++) {
        const field = fields[p];
        name = field?.name;
        // Records of one system tend to list the same fields in the same order: the column
        // at the field's position is tried before the map.
        let c = columns[p];
        if (c === undefined || c.name !== name) {
          c = byName.get(name);
          if (c === undefined) {
            if (typeof name !== 'string') throw new TypeError(`the name of its field ${p} is ${describe(name)}, not a string`);
            c = column(rows);
            c.name = name;
            columns.push(c);
            byName.set(name, c);
          }
        }
        if (c.tags[row] === 0) {
          const tag = putValue(field.value, c.texts, c.numbers);
          if (tag === 0) throw new TypeError(notAValue(field.value));
          c.tags[row] = tag;
        }
      }
    }
  } catch (e) {
    const id = typeof records[row]?.id === 'string' ? ` (id ${JSON.stringify(records[row].id)})` : '';
    const at = typeof name === 'string' ? `, field \`${name}\`` : '';
    throw new TypeError(`${what} ${first + row}${id}${at}: ${e instanceof TypeError ? e.message : `${e?.name}: ${e?.message}`}`);
  }

  const w = writer(HEADER + 32 * rows + 64);
  w.at = HEADER;
  putPayloads(w, new Uint8Array(rows).fill(5), ids, []); // the ids: texts without tags
  putColumn(w, watermarks);
  reserve(w, rows + 4);
  w.bytes.set(deleted, w.at);
  w.at += rows;
  w.view.setUint32(w.at, columns.length, true);
  w.at += 4;
  for (const c of columns) {
    putText(w, c.name);
    putColumn(w, c);
  }
  putHeader(w, KIND_RECORDS, rows);
  return w.bytes.subarray(0, w.at);
}

// --- the calls -------------------------------------------------------------------------

/// Runs `plugin.apply` over a `values` batch (kind 1) and answers with a `results` batch
/// (kind 2): one row per value, in order. Whatever `apply` throws, or returns that is not a
/// `value`, is an error for its row alone. Throws when `input` is not a `values` batch.
export function transformBatch(plugin, input) {
  const values = decodeValues(input);
  return results(plugin, values, input.length + values.length + 64);
}

/// Writes the changes of a `records` batch (kind 3) with `plugin.write(entity, change)`,
/// one call per change, and answers with a `results` batch (kind 2) of the external ids
/// written, as text: a change is what it was under 0.1.0, `{ tag: 'upsert', val: { id,
/// fields } }` (`id` undefined for a create, from an empty id) or `{ tag: 'delete', val: id }`
/// (from a deleted record). A throw, or a return that is not a string, fails that change
/// alone. Throws when `input` is not a `records` batch.
export function writeBatch(plugin, entity, input) {
  const changes = decodeRecords(input).map((rec) =>
    rec.deleted
      ? { tag: 'delete', val: rec.id }
      : { tag: 'upsert', val: { id: rec.id === '' ? undefined : rec.id, fields: rec.fields } },
  );
  return results(
    {
      apply(change) {
        const id = plugin.write(entity, change);
        if (typeof id !== 'string') throw new TypeError(`returned ${describe(id)}, not the external id written (a string)`);
        return { tag: 'text', val: id };
      },
    },
    changes,
    HEADER + 2 * changes.length + 32 * changes.length,
  );
}

/// Webhook changes (`[{ entity, record }]`, in the order they arrived) as the WIT's
/// `entity-changes`: one `{ entity, records }` per run of consecutive changes of one entity,
/// in order, `records` a `records` batch.
export function encodeEntityChanges(changes) {
  if (!Array.isArray(changes)) throw new TypeError(`the changes are ${describe(changes)}, not a list of { entity, record }`);
  const groups = [];
  let run = null;
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i];
    if (typeof change?.entity !== 'string') {
      throw new TypeError(`change ${i}: its entity is ${describe(change?.entity)}, not a string`);
    }
    if (run === null || run.entity !== change.entity) {
      run = { entity: change.entity, first: i, records: [] };
      groups.push(run);
    }
    run.records.push(change.record);
  }
  return groups.map((g) => ({ entity: g.entity, records: recordsBatch(g.records, 'change', g.first) }));
}

/// What a wrong thing is, briefly, for a message.
function describe(x) {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'object') return 'tag' in x ? `an object with tag ${JSON.stringify(x.tag)}` : 'an object';
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

/// The `transform` export of a field transform.
///
/// `Plugin` is a class: `constructor(config)` gets the parsed configuration and throws
/// (for example `invalidConfig('…')`) when it cannot use it; `apply(value)` returns the new
/// value or throws for that value alone. The batch crosses as one buffer (docs/batch.md);
/// `apply` still sees one jco `value` at a time.
export function defineTransform(Plugin) {
  const Transformer = resource(Plugin, {
    apply(values) {
      return transformBatch(this.inner, values);
    },
  });
  return { Transformer };
}

/// The `entity` export of an entity function.
///
/// `Plugin`: `constructor(config)`; `apply(entity, record)` returns `keep(record)`,
/// `attach(record, unifiedId)` or `stop(reason)`, or throws for that record alone.
export function defineEntityFunction(Plugin) {
  const Function = resource(Plugin, {
    apply(entity, records) {
      return records.map((r) => attempt(() => this.inner.apply(entity, r)));
    },
  });
  return { Function };
}

/// The `merge` export of a merge policy.
///
/// `Plugin`: `constructor(config)`; `matchKeys(record)` returns a list of strings (the WIT
/// has no error here: a throw traps the batch, so do not throw); `resolve(group)` returns
/// `{ winner, fields }` or throws for that group alone.
export function defineMergePolicy(Plugin) {
  const Policy = resource(Plugin, {
    matchKeys(records) {
      return records.map((r) => this.inner.matchKeys(r));
    },
    resolve(groups) {
      return groups.map((g) => attempt(() => this.inner.resolve(g)));
    },
  });
  return { Policy };
}

/// The `external` export of a connector.
///
/// `Plugin`: `constructor(config)`; `describe()`, `read(request)` and `webhook(request)`
/// return their value or throw; `write(entity, change)` returns the external id written
/// or throws for that change alone. Records cross as batches (docs/batch.md): `read`'s
/// records and `webhook`'s changes are encoded here (`encodeRecords`,
/// `encodeEntityChanges`), `write`'s changes decoded and its ids encoded (`writeBatch`),
/// so that a connector sees and returns what it did under 0.1.0.
export function defineConnector(Plugin) {
  const System = resource(Plugin, {
    describe() {
      return orThrowError(() => this.inner.describe());
    },
    read(request) {
      return orThrowError(() => {
        const page = this.inner.read(request);
        return { records: encodeRecords(page.records), more: Boolean(page.more) };
      });
    },
    write(entity, changes) {
      return writeBatch(this.inner, entity, changes);
    },
    webhook(request) {
      return orThrowError(() => encodeEntityChanges(this.inner.webhook(request)));
    },
  });
  return { System };
}
