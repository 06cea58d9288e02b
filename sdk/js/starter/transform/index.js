// A wasync field transform in JavaScript: maps one field value to another.
//
// This one trims text and, when configured with {"case": "upper"} or {"case": "lower"},
// changes its case. Build it with (from the repository root, or give absolute paths):
//
//   node sdk/js/build.mjs --wit wit --world field-transform --entry index.js --out plugin.wasm
//
// and try it:  echo '" hello "' | wasync plugin call plugin.wasm --config '{"case": "upper"}'

import { asText, defineTransform, invalidConfig, invalidInput, value } from 'wasync';

class Trim {
  /// Runs once per place the transform is used, with that place's configuration (parsed
  /// JSON, `{}` when none is given). Throw `invalidConfig` for a configuration you cannot use.
  constructor(config) {
    const known = ['case'];
    const unknown = Object.keys(config).find((k) => !known.includes(k));
    if (unknown !== undefined) throw invalidConfig(`unknown setting \`${unknown}\``);
    if (![undefined, 'upper', 'lower'].includes(config.case)) {
      throw invalidConfig('`case` must be "upper" or "lower"');
    }
    this.case = config.case;
  }

  /// Runs once per value. Return a value (`value.text(…)`, `value.null()`, …) or throw: a
  /// throw fails this value alone, with its message, and the rest of the batch goes on.
  apply(v) {
    if (v.tag === 'null') return v;
    const text = asText(v);
    if (text === undefined) throw invalidInput(`expected text, got ${v.tag}`);
    const trimmed = text.trim();
    if (this.case === 'upper') return value.text(trimmed.toUpperCase());
    if (this.case === 'lower') return value.text(trimmed.toLowerCase());
    return value.text(trimmed);
  }
}

// The export the `field-transform` world asks for.
export const transform = defineTransform(Trim);
