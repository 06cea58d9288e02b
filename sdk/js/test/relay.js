// Test fixture: a connector whose webhook relays the changes its request's body lists, as
// they are: `[{"entity": "a", "id": "1", "watermark": 5, "fields": {"x": 1}, "deleted":
// false}, …]` (values as `fromJs` makes them). check.sh posts changes of two entities, with
// fields some records lack and a delete, through `wasync serve` with it. It checks no
// signature and reads nothing: never use it outside tests.
import { defineConnector, fromJs, invalidInput } from 'wasync';

class Relay {
  constructor(config) {
    this.entities = config.entities ?? ['a', 'b'];
  }

  describe() {
    return this.entities.map((name) => ({ name, kind: 'object', idField: 'id', watermarkField: 'updated', fields: [] }));
  }

  read(_request) {
    return { records: [], more: false };
  }

  write(_entity, _change) {
    throw invalidInput('relay takes no writes');
  }

  webhook(request) {
    const changes = JSON.parse(new TextDecoder().decode(request.body));
    return changes.map((c) => ({
      entity: c.entity,
      record: {
        id: c.id,
        watermark: fromJs(c.watermark),
        fields: Object.entries(c.fields ?? {}).map(([name, v]) => ({ name, value: fromJs(v) })),
        deleted: Boolean(c.deleted),
      },
    }));
  }
}

export const external = defineConnector(Relay);
