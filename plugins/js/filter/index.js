// filter, in JavaScript: keeps or stops records by a condition on their fields. The twin
// of plugins/filter (Rust): the same configuration language, the same stop reasons.
//
//   {"keep_if": {"field": "Type", "equals": "Customer"}, "ignore_case": true}
//
// See plugins/filter/src/lib.rs for the whole language. Build:
//   node sdk/js/build.mjs --wit wit --world entity-function \
//     --entry plugins/js/filter/index.js --out filter-js.wasm

import { defineEntityFunction } from 'wasync';
import { Filter } from './filter.js';

class FilterFunction {
  /// The configuration text as is: numbers must keep their exact form (`1` vs `1.0`).
  static rawConfig = true;

  constructor(text) {
    this.filter = Filter.fromText(text);
  }

  apply(_entity, record) {
    return this.filter.decide(record);
  }
}

export const entity = defineEntityFunction(FilterFunction);
