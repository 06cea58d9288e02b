// A wasync connector in JavaScript: talks to one external system.
//
// This one reads a JSON API that lists contacts at `GET {base_url}/contacts?after=W`, each
// `{"id": "…", "email": "…", "updated": 1700000000000000}` (microseconds), and writes with
// `PUT {base_url}/contacts/{id}`. Credentials are never in the configuration: the host adds
// them to requests it sends for the connector.
//
//   {"base_url": "https://api.example.com/v1"}
//
// Build: node sdk/js/build.mjs --wit wit --world connector --entry index.js --out plugin.wasm

import { send } from 'wasync:plugin/http@0.2.0';
import { defineConnector, error, invalidConfig, invalidInput, PluginError, toJs, value } from 'wasync';

const ENTITY = 'contacts';

class Contacts {
  constructor(config) {
    if (typeof config.base_url !== 'string') throw invalidConfig('`base_url` must be a URL');
    this.base = config.base_url.replace(/\/+$/, '');
  }

  /// The entities this system offers.
  describe() {
    return [
      {
        name: ENTITY,
        kind: 'object',
        idField: 'id',
        watermarkField: 'updated',
        fields: [
          { name: 'email', kind: 'text', readOnly: false },
          { name: 'updated', kind: 'timestamp', readOnly: true },
        ],
      },
    ];
  }

  /// Records changed after `request.after`, sorted by (watermark, id), at most `request.limit`.
  read(request) {
    if (request.entity !== ENTITY) throw new PluginError(error.notFound(`no entity \`${request.entity}\``));
    const after = request.after ? toJs(request.after.watermark) : 0n;
    const items = this.call('GET', `/contacts?after=${after}&limit=${request.limit}`);
    const records = items.map((item) => ({
      id: String(item.id),
      watermark: value.timestamp(BigInt(item.updated)),
      fields: [
        { name: 'email', value: item.email == null ? value.null() : value.text(item.email) },
        { name: 'updated', value: value.timestamp(BigInt(item.updated)) },
      ],
      deleted: false,
    }));
    return { records, more: records.length === request.limit };
  }

  /// Writes one change; returns the external id written. A throw fails this change alone.
  write(entity, change) {
    if (change.tag === 'delete') {
      this.call('DELETE', `/contacts/${encodeURIComponent(change.val)}`);
      return change.val;
    }
    const body = Object.fromEntries(change.val.fields.map((f) => [f.name, toJs(f.value)]));
    const path = change.val.id ? `/contacts/${encodeURIComponent(change.val.id)}` : '/contacts';
    return String(this.call(change.val.id ? 'PUT' : 'POST', path, body).id);
  }

  /// Webhook requests: this system sends none.
  webhook(_request) {
    throw invalidInput('this connector takes no webhooks');
  }

  /// Sends a request through the host and parses a JSON answer. `send` throws an `error`
  /// variant when the host refuses or gives up; a non-2xx status is turned into one here.
  call(method, path, body) {
    const response = send({
      method,
      url: `${this.base}${path}`,
      headers: [['accept', 'application/json'], ...(body ? [['content-type', 'application/json']] : [])],
      body: body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body)),
    });
    const text = new TextDecoder().decode(response.body);
    if (response.status === 429) throw new PluginError(error.rateLimited(`${method} ${path}: 429`));
    if (response.status >= 500) throw new PluginError(error.unavailable(`${method} ${path}: ${response.status}`));
    if (response.status >= 400) throw new PluginError(error.other(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`));
    return text === '' ? {} : JSON.parse(text);
  }
}

export const external = defineConnector(Contacts);
