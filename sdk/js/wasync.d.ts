// Types for wasync.js: the WIT types of wasync:plugin@0.1.0 as jco represents them.

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

export function defineTransform(Plugin: PluginClass<{ apply(v: Value): Value }>): { Transformer: unknown };
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
export function defineConnector(
  Plugin: PluginClass<{
    describe(): unknown[];
    read(request: unknown): { records: WasyncRecord[]; more: boolean };
    write(entity: string, change: unknown): string;
    webhook(request: unknown): { entity: string; record: WasyncRecord }[];
  }>,
): { System: unknown };
