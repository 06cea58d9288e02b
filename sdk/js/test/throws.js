// Test fixture for check.sh: a transform that throws things that are not wasync errors, to
// show that the SDK turns them into `error.other(message)` for the value that threw alone.
import { asText, defineTransform } from 'wasync';

class Throws {
  constructor(config) {
    if (config.fail === 'create') throw new Error('boom in create');
  }

  apply(v) {
    const text = asText(v);
    if (text === 'type-error') return null.field;
    if (text === 'string') throw 'a thrown string';
    if (text === 'error') throw new Error('a thrown Error');
    return v;
  }
}

export const transform = defineTransform(Throws);
