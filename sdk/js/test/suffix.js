// Test fixture and benchmark: the most trivial transform, so that what it costs per value
// is the SDK's own cost (the batch crossing, decoding and encoding). Text gets `suffix`
// appended (`{"suffix": "-x"}`; none by default); any other value comes back as it is.
import { asText, defineTransform, invalidConfig, value } from 'wasync';

class Suffix {
  constructor(config) {
    const suffix = config.suffix ?? '';
    if (typeof suffix !== 'string') throw invalidConfig('`suffix` must be text');
    this.suffix = suffix;
  }

  apply(v) {
    const text = asText(v);
    return text === undefined ? v : value.text(text + this.suffix);
  }
}

export const transform = defineTransform(Suffix);
