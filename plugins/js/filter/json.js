// JSON as the Rust twin's serde_json sees it, so that the filter compares and prints
// configured values exactly as plugins/filter does.
//
// `JSON.parse` is not enough: it forgets whether a number was written `1` or `1.0` (serde
// keeps integers and floats apart: `1.0` never equals a timestamp, and prints as `1.0`),
// rounds integers beyond 2^53, and keeps object keys in insertion order where serde_json
// (without `preserve_order`) sorts them, which decides which key an error names.
//
// Representation: `null`, booleans and strings as themselves; arrays as arrays; objects as
// `Map`s with keys in sorted (UTF-8 byte) order; numbers as `JsonNumber`.

/// A JSON number as serde_json holds it: `u` (u64), `i` (negative i64), `f` (f64).
export class JsonNumber {
  constructor(kind, value) {
    this.kind = kind;
    /// BigInt for `u` and `i`, Number for `f`.
    this.value = value;
  }

  /// serde_json's `as_i64`.
  asI64() {
    if (this.kind === 'i') return this.value;
    if (this.kind === 'u' && this.value <= I64_MAX) return this.value;
    return undefined;
  }

  /// serde_json's `as_f64` (integers round to the nearest float, as Rust's `as f64`).
  asF64() {
    return this.kind === 'f' ? this.value : Number(this.value);
  }
}

const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
/// serde_json's default recursion limit.
const MAX_DEPTH = 128;

/// An error while parsing, worded as serde_json words it.
export class JsonSyntaxError extends Error {}

/// Parses JSON text; throws `JsonSyntaxError` with serde_json's wording and position.
export function parse(text) {
  const p = new Parser(text);
  p.skipSpace();
  const value = p.value(0);
  p.skipSpace();
  if (p.i < text.length) p.fail('trailing characters');
  return value;
}

/// Parses JSON text, or `undefined` when it is not JSON.
export function tryParse(text) {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

class Parser {
  constructor(text) {
    this.text = text;
    this.i = 0;
  }

  fail(message) {
    // Line and column of the character at which the error was found, 1-based.
    const before = this.text.slice(0, Math.min(this.i + 1, this.text.length));
    const lines = before.split('\n');
    const column = Array.from(lines[lines.length - 1]).length;
    throw new JsonSyntaxError(`${message} at line ${lines.length} column ${column}`);
  }

  skipSpace() {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i])) this.i++;
  }

  value(depth) {
    if (depth > MAX_DEPTH) this.fail('recursion limit exceeded');
    const c = this.text[this.i];
    if (c === undefined) this.fail('EOF while parsing a value');
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (c === word[0]) {
        for (const expected of word) {
          if (this.i >= this.text.length) this.fail('EOF while parsing a value');
          if (this.text[this.i] !== expected) this.fail('expected ident');
          this.i++;
        }
        return v;
      }
    }
    this.fail('expected value');
  }

  array(depth) {
    this.i++;
    const items = [];
    this.skipSpace();
    if (this.text[this.i] === ']') {
      this.i++;
      return items;
    }
    for (;;) {
      this.skipSpace();
      if (this.i >= this.text.length) this.fail('EOF while parsing a list');
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.i++];
      if (c === ']') return items;
      if (c === undefined) this.fail('EOF while parsing a list');
      if (c !== ',') this.failBack('expected `,` or `]`');
      this.skipSpace();
      if (this.text[this.i] === ']') this.fail('trailing comma');
    }
  }

  object(depth) {
    this.i++;
    const entries = new Map();
    this.skipSpace();
    if (this.text[this.i] === '}') {
      this.i++;
      return entries;
    }
    for (;;) {
      this.skipSpace();
      const c = this.text[this.i];
      if (c === undefined) this.fail('EOF while parsing an object');
      if (c !== '"') this.fail('key must be a string');
      const key = this.string();
      this.skipSpace();
      if (this.i >= this.text.length) this.fail('EOF while parsing an object');
      if (this.text[this.i] !== ':') this.fail('expected `:`');
      this.i++;
      this.skipSpace();
      entries.set(key, this.value(depth + 1));
      this.skipSpace();
      const d = this.text[this.i++];
      if (d === '}') return sortKeys(entries);
      if (d === undefined) this.fail('EOF while parsing an object');
      if (d !== ',') this.failBack('expected `,` or `}`');
      this.skipSpace();
      if (this.text[this.i] === '}') this.fail('trailing comma');
    }
  }

  failBack(message) {
    this.i--;
    this.fail(message);
  }

  string() {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) this.fail('EOF while parsing a string');
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c < ' ') this.fail('control character (\\u0000-\\u001F) found while parsing a string');
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = this.text[++this.i];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) {
        out += simple[e];
        this.i++;
      } else if (e === 'u') {
        this.i++;
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone leading surrogate in hex escape');
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (this.text.slice(this.i, this.i + 2) !== '\\u') this.fail('unexpected end of hex escape');
          this.i += 2;
          const low = this.hex4();
          if (low < 0xdc00 || low > 0xdfff) this.fail('lone leading surrogate in hex escape');
          out += String.fromCharCode(unit, low);
        } else {
          out += String.fromCharCode(unit);
        }
      } else {
        this.fail(e === undefined ? 'EOF while parsing a string' : 'invalid escape');
      }
    }
  }

  hex4() {
    const digits = this.text.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid escape');
    this.i += 4;
    return parseInt(digits, 16);
  }

  number() {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.i));
    if (match === null || match[0] === '-') this.fail('invalid number');
    const lexeme = match[0];
    this.i += lexeme.length;
    if (/[0-9.eE]/.test(this.text[this.i] ?? '')) {
      // `01`, `1.`, `1e`: serde_json stops at the same characters.
      this.fail('invalid number');
    }
    if (match[2] === undefined && match[3] === undefined) {
      const n = BigInt(lexeme);
      if (!lexeme.startsWith('-') && n <= U64_MAX) return new JsonNumber('u', n);
      // `-0`, like integers beyond i64, becomes a float in serde_json.
      if (lexeme.startsWith('-') && n !== 0n && n >= I64_MIN) return new JsonNumber('i', n);
    }
    const x = Number(lexeme);
    if (!Number.isFinite(x)) this.fail('number out of range');
    return new JsonNumber('f', x);
  }
}

/// Compares strings by code point, which is UTF-8 byte order (Rust's `String` order).
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k].codePointAt(0) - y[k].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function sortKeys(entries) {
  return new Map([...entries].sort(([a], [b]) => byCodePoint(a, b)));
}

/// serde_json's compact `to_string`.
export function display(json) {
  if (json === null) return 'null';
  if (typeof json === 'boolean') return String(json);
  if (typeof json === 'string') return JSON.stringify(json);
  if (json instanceof JsonNumber) {
    return json.kind === 'f' ? ryu(json.value) : json.value.toString();
  }
  if (Array.isArray(json)) return `[${json.map(display).join(',')}]`;
  return `{${[...json].map(([k, v]) => `${JSON.stringify(k)}:${display(v)}`).join(',')}}`;
}

/// serde_json's `Value` equality: integers and floats are different numbers (`1` is not
/// `1.0`), objects compare without regard to order.
export function equal(a, b) {
  if (a instanceof JsonNumber || b instanceof JsonNumber) {
    return a instanceof JsonNumber && b instanceof JsonNumber && a.kind === b.kind && a.value === b.value;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => equal(x, b[k]));
  }
  if (a instanceof Map || b instanceof Map) {
    return (
      a instanceof Map &&
      b instanceof Map &&
      a.size === b.size &&
      [...a].every(([k, v]) => b.has(k) && equal(v, b.get(k)))
    );
  }
  return a === b;
}

/// The shortest digits of a finite float and the power of ten of its first digit:
/// `1234.5` is `['12345', 3]`.
function digitsOf(x) {
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  return [mantissa.replace('.', ''), Number(exponent)];
}

/// A float as the `ryu` crate prints it (serde_json's numbers): `1.0`, `0.001`, `1e21`, `1.5e-7`.
export function ryu(x) {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [digits, e] = digitsOf(x);
  const length = digits.length;
  const kk = e + 1; // 10^(kk-1) <= |x| < 10^kk
  const k = kk - length;
  let body;
  if (k >= 0 && kk <= 16) body = `${digits}${'0'.repeat(k)}.0`;
  else if (kk > 0 && kk <= 16) body = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (kk > -5 && kk <= 0) body = `0.${'0'.repeat(-kk)}${digits}`;
  else if (length === 1) body = `${digits}e${kk - 1}`;
  else body = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  return sign + body;
}

/// A float as Rust's `Display` prints it: shortest digits, never an exponent (`1`, `1.5`,
/// `1000000000000000000000`, `0.0000001`, `NaN`, `inf`).
export function rustFloat(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const [digits, e] = digitsOf(x);
  const kk = e + 1;
  if (kk <= 0) return `${sign}0.${'0'.repeat(-kk)}${digits}`;
  if (kk >= digits.length) return `${sign}${digits}${'0'.repeat(kk - digits.length)}`;
  return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
}
