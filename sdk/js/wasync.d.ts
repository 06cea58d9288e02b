// Types for wasync.js: the WIT types of wasync:plugin@0.2.0 as jco represents them.

export type Value =
  | { tag: 'null' }
  | { tag: 'boolean'; val: boolean }
  | { tag: 'integer'; val: bigint }
  | { tag: 'float'; val: number }
  | { tag: 'text'; val: string }
  /** Microseconds since 1970-01-01T00:00:00Z. */
  | { tag: 'timestamp'; val: bigint }
  /** Nested data as JSON text. */
  | { tag: 'json'; val: string };

export interface Field {
  name: string;
  value: Value;
}

export interface WasyncRecord {
  id: string;
  watermark: Value;
  fields: Field[];
  deleted: boolean;
}

export type ErrorVariant =
  | { tag: 'invalid-config'; val: string }
  | { tag: 'invalid-input'; val: string }
  | { tag: 'access-denied'; val: string }
  | { tag: 'not-found'; val: string }
  | { tag: 'unauthorized'; val: string }
  | { tag: 'rate-limited'; val: string }
  | { tag: 'unavailable'; val: string }
  | { tag: 'other'; val: string };

export type Result<T> = { tag: 'ok'; val: T } | { tag: 'err'; val: ErrorVariant };

export type Outcome =
  | { tag: 'keep'; val: WasyncRecord }
  | { tag: 'attach'; val: { record: WasyncRecord; unifiedId: string } }
  | { tag: 'stop'; val: string };

export const value: {
  null(): Value;
  boolean(b: boolean): Value;
  integer(n: number | bigint): Value;
  float(x: number): Value;
  text(s: string): Value;
  timestamp(t: number | bigint | Date): Value;
  json(data: unknown): Value;
};

export function asText(v: Value | undefined): string | undefined;
export function isEmpty(v: Value | undefined): boolean;
export function trimRust(s: string): string;
export function toJs(v: Value): unknown;
export function fromJs(x: unknown): Value;

export const error: {
  invalidConfig(message: string): ErrorVariant;
  invalidInput(message: string): ErrorVariant;
  accessDenied(message: string): ErrorVariant;
  notFound(message: string): ErrorVariant;
  unauthorized(message: string): ErrorVariant;
  rateLimited(message: string): ErrorVariant;
  unavailable(message: string): ErrorVariant;
  other(message: string): ErrorVariant;
};

export class PluginError extends Error {
  constructor(variant: ErrorVariant);
  variant: ErrorVariant;
}
export function invalidConfig(message: string): PluginError;
export function invalidInput(message: string): PluginError;
export function toError(thrown: unknown): ErrorVariant;

export function ok<T>(val: T): Result<T>;
export function err(e: ErrorVariant): Result<never>;
export function attempt<T>(f: () => T): Result<T>;
export function parseConfig(text: string): any;

export function getField(rec: WasyncRecord, name: string): Value | undefined;
export function setField(rec: WasyncRecord, name: string, v: Value): WasyncRecord;
export function fieldsOf(rec: WasyncRecord): Record<string, Value>;

export function keep(rec: WasyncRecord): Outcome;
export function attach(rec: WasyncRecord, unifiedId: string): Outcome;
export function stop(reason: string): Outcome;

export const log: Record<'trace' | 'debug' | 'info' | 'warn' | 'error', (message: string) => void>;

/** A plugin class: built from the parsed configuration (or the text, with `rawConfig`). */
interface PluginClass<T> {
  new (config: any): T;
  rawConfig?: boolean;
}

/**
 * The `transform` export. The host sends a batch as one buffer (docs/batch.md) and `apply`
 * still runs once per value: a throw, or a return that is not a `Value`, fails that value alone.
 */
export function defineTransform(Plugin: PluginClass<{ apply(v: Value): Value }>): { Transformer: unknown };

/**
 * What `defineTransform`'s export does with a batch: reads a `values` batch (kind 1), runs
 * `plugin.apply` on each value and writes a `results` batch (kind 2), one row per value.
 * Throws (and the component traps) when `input` is not a valid `values` batch.
 */
export function transformBatch(plugin: { apply(v: Value): Value }, input: Uint8Array): Uint8Array;
export function defineEntityFunction(
  Plugin: PluginClass<{ apply(entity: string, record: WasyncRecord): Outcome }>,
): { Function: unknown };
export function defineMergePolicy(
  Plugin: PluginClass<{
    matchKeys(record: WasyncRecord): string[];
    resolve(group: { record: WasyncRecord; source: string; created: bigint; updated: bigint }[]): {
      winner: number;
      fields: Field[];
    };
  }>,
): { Policy: unknown };
/** What a connector's `read` is asked for. */
export interface ReadRequest {
  entity: string;
  /** Records after this (watermark, id); none: from the beginning. */
  after?: { watermark: Value; id: string };
  /** No record whose watermark is later than this (inclusive). */
  until?: Value;
  limit: number;
}

/** A change to write, as `write` gets it (the shape it had under 0.1.0). */
export type Change =
  /** Create (`id` undefined) or update (`id` the external id) with these fields. */
  | { tag: 'upsert'; val: { id: string | undefined; fields: Field[] } }
  /** Delete the record with this external id. */
  | { tag: 'delete'; val: string };

/** A change that arrived by webhook. */
export interface EntityChange {
  entity: string;
  record: WasyncRecord;
}

export interface WebhookRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * The `external` export. Records cross as batches (docs/batch.md): `read`'s records and
 * `webhook`'s changes are encoded, `write`'s changes decoded and its ids encoded here, so a
 * connector sees and returns what it did under 0.1.0. `write` runs once per change: a throw,
 * or a return that is not a string, fails that change alone.
 */
export function defineConnector(
  Plugin: PluginClass<{
    describe(): unknown[];
    read(request: ReadRequest): { records: WasyncRecord[]; more: boolean };
    write(entity: string, change: Change): string;
    webhook(request: WebhookRequest): EntityChange[];
  }>,
): { System: unknown };

/**
 * What `defineConnector`'s `write` does with a batch: reads a `records` batch (kind 3) of
 * changes, calls `plugin.write` on each and writes a `results` batch (kind 2) of the external
 * ids written. Throws (and the component traps) when `input` is not a valid `records` batch.
 */
export function writeBatch(
  plugin: { write(entity: string, change: Change): string },
  entity: string,
  input: Uint8Array,
): Uint8Array;

/**
 * Records as a `records` batch (kind 3): a column per field name, absent for records without
 * it; a field named twice in one record keeps its first value. Throws a TypeError naming the
 * record (and field) that is not a record.
 */
export function encodeRecords(records: WasyncRecord[]): Uint8Array;

/** Webhook changes as the WIT's `entity-changes`: one records batch per run of one entity, in order. */
export function encodeEntityChanges(changes: EntityChange[]): { entity: string; records: Uint8Array }[];

/** The records of a `records` batch, each with the fields it has, in column order. */
export function decodeRecords(input: Uint8Array): WasyncRecord[];

/** The values of a `values` batch (kind 1). */
export function decodeValues(input: Uint8Array): Value[];
