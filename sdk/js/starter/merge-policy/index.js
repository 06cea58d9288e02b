// A wasync merge policy in JavaScript: decides which records are duplicates and how they
// merge.
//
// This one matches records on a configured field (case and surrounding spaces ignored),
// keeps the most recently updated record and fills its empty fields from the others:
//
//   {"match_on": "Email"}
//
// Build: node sdk/js/build.mjs --wit wit --world merge-policy --entry index.js --out plugin.wasm

import { asText, defineMergePolicy, getField, invalidConfig, isEmpty } from 'wasync';

class SameField {
  constructor(config) {
    if (typeof config.match_on !== 'string') throw invalidConfig('`match_on` must name a field');
    this.matchOn = config.match_on;
  }

  /// Match keys of one record: records that share a key are duplicates. Return [] for none.
  /// Do not throw here: the WIT has no error for match keys, so a throw fails the batch.
  matchKeys(record) {
    const text = asText(getField(record, this.matchOn));
    return text === undefined || text.trim() === '' ? [] : [`${this.matchOn}:${text.trim().toLowerCase()}`];
  }

  /// One group of duplicates (candidates with `record`, `source`, `created`, `updated`;
  /// times are BigInt microseconds). Return the winner's index and the fields to set on it.
  resolve(group) {
    let winner = 0;
    group.forEach((c, i) => {
      if (c.updated > group[winner].updated) winner = i;
    });
    const fields = [];
    for (const f of group[winner].record.fields) {
      if (!isEmpty(f.value)) continue;
      const donor = group.find((c) => !isEmpty(getField(c.record, f.name)));
      if (donor) fields.push({ name: f.name, value: getField(donor.record, f.name) });
    }
    return { winner, fields };
  }
}

export const merge = defineMergePolicy(SameField);
