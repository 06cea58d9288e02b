// A wasync entity function in JavaScript: acts on whole records in an entity pipeline.
//
// This one stops records whose configured field is empty and stamps the others with a
// field saying which pipeline they went through:
//
//   {"required": "Name", "stamp": "SyncedBy"}
//
// Build: node sdk/js/build.mjs --wit wit --world entity-function --entry index.js --out plugin.wasm

import { defineEntityFunction, getField, invalidConfig, isEmpty, keep, setField, stop, value } from 'wasync';

class RequireField {
  constructor(config) {
    if (typeof config.required !== 'string') throw invalidConfig('`required` must name a field');
    this.required = config.required;
    this.stamp = config.stamp;
  }

  /// Runs once per record. `entity` is the unified entity of the pipeline (`Account`).
  /// Return `keep(record)`, `attach(record, unifiedId)` or `stop(reason)`, or throw to fail
  /// this record alone. (Entity functions may also import `wasync:plugin/lookup@0.2.0` and
  /// call `find(entity, match, limit)` to look unified records up, when the host grants it.)
  apply(entity, record) {
    if (record.deleted) return keep(record); // Deletes must reach the destination.
    if (isEmpty(getField(record, this.required))) return stop(`${this.required} is empty`);
    return this.stamp ? keep(setField(record, this.stamp, value.text(entity))) : keep(record);
  }
}

export const entity = defineEntityFunction(RequireField);
