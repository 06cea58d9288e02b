// Helpers for wasync plugins written in JavaScript.
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
// Import it as `wasync` in a plugin; `sdk/js/build.mjs` resolves that name to this file.

import { log as hostLog } from 'wasync:plugin/log@0.1.0';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/// Constructors for the WIT `value` variant.
export const value = {
  null: () => ({ tag: 'null' }),
  boolean: (b) => ({ tag: 'boolean', val: Boolean(b) }),
  /// A whole number; takes a Number (must be a safe integer) or a BigInt within s64.
  integer: (n) => ({ tag: 'integer', val: toI64(n, 'integer') }),
  float: (x) => ({ tag: 'float', val: Number(x) }),
  text: (s) => ({ tag: 'text', val: String(s) }),
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

/// The `transform` export of a field transform.
///
/// `Plugin` is a class: `constructor(config)` gets the parsed configuration and throws
/// (for example `invalidConfig('…')`) when it cannot use it; `apply(value)` returns the new
/// value or throws for that value alone.
export function defineTransform(Plugin) {
  const Transformer = resource(Plugin, {
    apply(values) {
      return values.map((v) => attempt(() => this.inner.apply(v)));
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
/// or throws for that change alone.
export function defineConnector(Plugin) {
  const System = resource(Plugin, {
    describe() {
      return orThrowError(() => this.inner.describe());
    },
    read(request) {
      return orThrowError(() => this.inner.read(request));
    },
    write(entity, changes) {
      return changes.map((c) => attempt(() => this.inner.write(entity, c)));
    },
    webhook(request) {
      return orThrowError(() => this.inner.webhook(request));
    },
  });
  return { System };
}
