// extract-domain, in JavaScript: the registrable domain of a URL, host name or e-mail
// address, by the Public Suffix List; a public suffix itself, or anything unusable, is
// `null`. The twin of plugins/extract-domain (Rust), with the same answers.
//
// Build: node sdk/js/build.mjs --wit wit --world field-transform \
//          --entry plugins/js/extract-domain/index.js --out extract-domain-js.wasm

import { asText, defineTransform, invalidConfig, value } from 'wasync';
import { registrableDomain } from './domain.js';

class ExtractDomain {
  constructor(config) {
    const key = config && typeof config === 'object' && !Array.isArray(config) ? Object.keys(config).sort()[0] : undefined;
    if (key !== undefined) {
      throw invalidConfig(`extract-domain takes no settings, but was given \`${key}\``);
    }
  }

  apply(v) {
    const text = asText(v);
    const domain = text === undefined ? null : registrableDomain(text);
    return domain === null ? value.null() : value.text(domain);
  }
}

export const transform = defineTransform(ExtractDomain);
