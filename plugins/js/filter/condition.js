// Conditions: parsed once from the configuration, evaluated per record, and explained when
// a record stops. A port of plugins/filter/src/condition.rs: the same language, the same
// comparisons by type, the same error messages and reasons, word for word.
//
// Values are WIT `value`s as jco gives them (`{ tag: 'text', val: 'Acme' }`, integers and
// timestamps as BigInt); configured values are `json.js` values.

import { JsonNumber, display, equal, rustFloat, tryParse } from './json.js';

const TESTS = ['equals', 'not_equals', 'in', 'not_in', 'is_empty', 'contains'];
const GROUPS = ['all', 'any', 'not'];

/// What Rust's `str::trim` removes (Unicode White_Space), spelled out: the engine
/// componentize-js embeds has no `\p{…}` classes.
const EDGE_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function trim(text) {
  return text.replace(EDGE_SPACE, '');
}

/// Text as compared: trimmed and lowercased when case is ignored, else as it is.
function fold(text, ignoreCase) {
  return ignoreCase ? lowercase(trim(text)) : text;
}

/// Marks and punctuation that Unicode's Final_Sigma rule looks through (the common part of
/// Case_Ignorable), spelled out for want of `\p{…}`.
const CASE_IGNORABLE = /[\u0027\u002e\u003a\u005e\u0060\u00a8\u00ad\u00af\u00b4\u00b7\u00b8\u02b0-\u036f\u0483-\u0489\u2018\u2019\u2024\u2027]/;

const isCased = (ch) => ch.toLowerCase() !== ch.toUpperCase();

/// Whether the `Σ` at `i` ends a word: a cased letter before it and none after it, looking
/// through case-ignorable characters.
function isFinalSigma(text, i) {
  const chars = Array.from(text.slice(0, i)).reverse();
  const before = chars.find((ch) => !CASE_IGNORABLE.test(ch));
  const after = Array.from(text.slice(i + 1)).find((ch) => !CASE_IGNORABLE.test(ch));
  return before !== undefined && isCased(before) && (after === undefined || !isCased(after));
}

/// Rust's `str::to_lowercase`. The engine inside the component lowercases without ICU and
/// so without the Final_Sigma rule (`ΟΔΟΣ` would become `οδοσ`, where Rust gives `οδος`).
export function lowercase(text) {
  const sigmas = text.includes('Σ') ? text.replace(/Σ/g, (_, i) => (isFinalSigma(text, i) ? 'ς' : 'σ')) : text;
  return sigmas.toLowerCase();
}

const quoted = (names) => names.map((n) => `\`${n}\``).join(', ');

const isObject = (json) => json instanceof Map;

/// Parses a condition; `path` names where it is in the configuration, for errors (thrown
/// as strings).
export function parseCondition(json, path, ignoreCase) {
  if (!isObject(json)) {
    throw `${path}: a condition must be an object, like {"field": "Type", "equals": "Customer"}`;
  }
  const group = [...json.keys()].find((k) => GROUPS.includes(k));
  return group === undefined ? parseField(json, path, ignoreCase) : parseGroup(json, group, path, ignoreCase);
}

function parseGroup(object, group, path, ignoreCase) {
  if (object.size !== 1) throw `${path}: \`${group}\` must stand alone in its object`;
  const inner = object.get(group);
  const here = `${path}.${group}`;
  if (group === 'not') return new Not(parseCondition(inner, here, ignoreCase));
  if (!Array.isArray(inner) || inner.length === 0) throw `${here}: list at least one condition`;
  const conditions = inner.map((c, i) => parseCondition(c, `${here}[${i}]`, ignoreCase));
  return group === 'all' ? new All(conditions) : new Any(conditions);
}

function parseField(object, path, ignoreCase) {
  const unknown = [...object.keys()].find((k) => k !== 'field' && !TESTS.includes(k));
  if (unknown !== undefined) {
    throw `${path}: unknown key \`${unknown}\` (expected \`field\` with one of ${quoted(TESTS)}, or one of ${quoted(GROUPS)})`;
  }
  const field = object.get('field');
  if (typeof field !== 'string' || trim(field) === '') throw `${path}: \`field\` must name a field`;
  const tests = [...object].filter(([k]) => k !== 'field');
  if (tests.length === 0) throw `${path}: give one test of \`${field}\`: ${quoted(TESTS)}`;
  if (tests.length > 1) throw `${path}: give only one test of \`${field}\``;
  const [name, json] = tests[0];
  try {
    return new FieldTest(field, parseTest(name, json, ignoreCase));
  } catch (message) {
    throw `${path}: ${message}`;
  }
}

function parseTest(name, json, ignoreCase) {
  const list = () => {
    if (!Array.isArray(json)) throw `\`${name}\` must be a list of values`;
    if (json.length === 0) throw `\`${name}\` must list at least one value`;
    return json.map((j) => new Expected(j, ignoreCase));
  };
  switch (name) {
    case 'equals':
    case 'not_equals':
      return { kind: name, expected: new Expected(json, ignoreCase) };
    case 'in':
    case 'not_in':
      return { kind: name, list: list() };
    case 'is_empty':
      if (typeof json !== 'boolean') throw '`is_empty` must be true or false';
      return { kind: name, empty: json };
    default:
      if (typeof json !== 'string' || json === '') throw '`contains` must be non-empty text';
      return { kind: name, shown: json, text: fold(json, ignoreCase), ignoreCase };
  }
}

/// A configured value, prepared for comparison.
class Expected {
  constructor(json, ignoreCase) {
    this.json = json;
    this.text = typeof json === 'string' ? fold(json, ignoreCase) : undefined;
    this.ignoreCase = ignoreCase;
  }

  /// Whether a field's value equals this one, type by type.
  matches(v) {
    const e = this.json;
    switch (v.tag) {
      case 'null':
        return e === null;
      case 'boolean':
        return typeof e === 'boolean' && v.val === e;
      case 'text':
        if (typeof e !== 'string') return false;
        return this.ignoreCase ? this.text === fold(v.val, true) : v.val === e;
      case 'integer': {
        if (!(e instanceof JsonNumber)) return false;
        const i = e.asI64();
        return i !== undefined ? BigInt(v.val) === i : e.asF64() === Number(v.val);
      }
      case 'float':
        return e instanceof JsonNumber && e.asF64() === v.val;
      case 'timestamp':
        return e instanceof JsonNumber && e.asI64() !== undefined && e.asI64() === BigInt(v.val);
      case 'json': {
        if (!(Array.isArray(e) || e instanceof Map)) return false;
        const parsed = tryParse(v.val);
        return parsed !== undefined && equal(parsed, e);
      }
      default:
        return false;
    }
  }
}

/// Whether a value is null or blank text (the Rust SDK's `Value::is_empty`).
function isEmpty(v) {
  return v.tag === 'null' || (v.tag === 'text' && trim(v.val) === '');
}

const NULL = { tag: 'null' };

/// The first value of field `name`, or `undefined` when the record has none.
function get(record, name) {
  return record.fields.find((f) => f.name === name)?.value;
}

class FieldTest {
  constructor(field, test) {
    this.field = field;
    this.test = test;
  }

  holds(record) {
    const v = get(record, this.field) ?? NULL;
    const t = this.test;
    switch (t.kind) {
      case 'equals':
        return t.expected.matches(v);
      case 'not_equals':
        return !t.expected.matches(v);
      case 'in':
        return t.list.some((e) => e.matches(v));
      case 'not_in':
        return !t.list.some((e) => e.matches(v));
      case 'is_empty':
        return isEmpty(v) === t.empty;
      default:
        return v.tag === 'text' && fold(v.val, t.ignoreCase).includes(t.text);
    }
  }

  /// `Type is "Prospect", not "Customer"` and the like.
  explain(record, holds) {
    const { field, test: t } = this;
    const v = get(record, field);
    const is = `${field} is ${shown(v)}`;
    // Whether the value is the expected one (equals, in, is_empty, contains).
    const positive = t.kind === 'not_equals' || t.kind === 'not_in' ? !holds : holds;
    switch (t.kind) {
      case 'equals':
      case 'not_equals':
        return positive ? is : `${is}, not ${display(t.expected.json)}`;
      case 'in':
      case 'not_in':
        return `${is}, ${positive ? '' : 'not '}one of ${shownList(t.list)}`;
      case 'is_empty':
        if (t.empty === positive) return v === undefined ? `${field} is missing (empty)` : `${field} is empty`;
        return `${is}, not empty`;
      default:
        return `${is}, which ${positive ? 'contains' : 'does not contain'} ${JSON.stringify(t.shown)}`;
    }
  }
}

class All {
  constructor(conditions) {
    this.conditions = conditions;
  }

  holds(record) {
    return this.conditions.every((c) => c.holds(record));
  }

  explain(record, holds) {
    return holds ? explainEach(this.conditions, record, true) : explainFirst(this.conditions, record, holds);
  }
}

class Any {
  constructor(conditions) {
    this.conditions = conditions;
  }

  holds(record) {
    return this.conditions.some((c) => c.holds(record));
  }

  explain(record, holds) {
    return holds ? explainFirst(this.conditions, record, holds) : explainEach(this.conditions, record, false);
  }
}

class Not {
  constructor(condition) {
    this.condition = condition;
  }

  holds(record) {
    return !this.condition.holds(record);
  }

  explain(record, holds) {
    return this.condition.explain(record, !holds);
  }
}

/// Every part's explanation, joined: all held, or none did.
function explainEach(conditions, record, holds) {
  return conditions.map((c) => c.explain(record, holds)).join(' and ');
}

/// The explanation of the first part that decided.
function explainFirst(conditions, record, holds) {
  const decider = conditions.find((c) => c.holds(record) === holds);
  return decider === undefined ? '' : decider.explain(record, holds);
}

/// Longest value shown in a reason, in characters.
const LONGEST = 60;

/// A field's value in a reason: JSON-like, long text cut short.
function shown(v) {
  if (v === undefined) return 'missing';
  let text;
  switch (v.tag) {
    case 'null':
      text = 'null';
      break;
    case 'boolean':
    case 'integer':
      text = String(v.val);
      break;
    case 'float':
      text = rustFloat(v.val);
      break;
    case 'timestamp':
      text = `the timestamp ${v.val}`;
      break;
    case 'text':
      text = JSON.stringify(v.val);
      break;
    default:
      text = v.val;
  }
  const chars = Array.from(text);
  return chars.length > LONGEST ? `${chars.slice(0, LONGEST).join('')}…` : text;
}

function shownList(list) {
  return `[${list.map((e) => display(e.json)).join(', ')}]`;
}
