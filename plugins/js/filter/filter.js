// The filter's configuration and decision: a port of plugins/filter/src/lib.rs.
//
// Pure JavaScript with no wasync import, so node runs it directly in tests. Configuration
// errors are thrown as `invalid-config` error variants, which the SDK passes on as they are.

import { parse as parseJson, JsonSyntaxError } from './json.js';
import { parseCondition, trim } from './condition.js';

const KEYS = ['keep_if', 'stop_if', 'ignore_case'];

const invalid = (message) => ({ tag: 'invalid-config', val: message });

/// One configured use: the condition and whether it keeps or stops.
export class Filter {
  /// The filter for configuration text (blank is `{}`), as the Rust SDK's `Config::parse`
  /// and `Filter::from_json` read it.
  static fromText(text) {
    if (trim(text) === '') return Filter.fromJson(new Map());
    let json;
    try {
      json = parseJson(text);
    } catch (e) {
      if (e instanceof JsonSyntaxError) throw invalid(`not JSON: ${e.message}`);
      throw e;
    }
    return Filter.fromJson(json);
  }

  static fromJson(json) {
    if (!(json instanceof Map)) throw invalid('the configuration must be an object with `keep_if` or `stop_if`');
    const unknown = [...json.keys()].find((k) => !KEYS.includes(k));
    if (unknown !== undefined) {
      throw invalid(`unknown key \`${unknown}\` (expected \`keep_if\` or \`stop_if\`, and \`ignore_case\`)`);
    }
    const ignoreCase = json.get('ignore_case') ?? false;
    if (typeof ignoreCase !== 'boolean') throw invalid('`ignore_case` must be true or false');
    const keepIf = json.has('keep_if');
    if (keepIf && json.has('stop_if')) throw invalid('give `keep_if` or `stop_if`, not both');
    if (!keepIf && !json.has('stop_if')) throw invalid('give a condition as `keep_if` or `stop_if`');
    const key = keepIf ? 'keep_if' : 'stop_if';
    try {
      return new Filter(parseCondition(json.get(key), key, ignoreCase), keepIf);
    } catch (message) {
      if (typeof message === 'string') throw invalid(message);
      throw message;
    }
  }

  constructor(condition, keepIf) {
    this.condition = condition;
    /// `keep_if` (records go on when it holds) or `stop_if`.
    this.keepIf = keepIf;
  }

  /// What happens to one record: `{ tag: 'keep', val: record }` or `{ tag: 'stop', val: reason }`.
  /// A deleted record always goes on: deletes must reach the destination.
  decide(record) {
    if (record.deleted) return { tag: 'keep', val: record };
    const holds = this.condition.holds(record);
    if (this.keepIf === holds) return { tag: 'keep', val: record };
    return this.keepIf
      ? { tag: 'stop', val: `keep_if not met: ${this.condition.explain(record, false)}` }
      : { tag: 'stop', val: `stop_if met: ${this.condition.explain(record, true)}` };
  }
}
