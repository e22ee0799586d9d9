/** A field value with its line-protocol type. Integers are bigint so that all 64 bits survive. */
export type FieldValue =
  | { type: "float"; value: number }
  | { type: "integer"; value: bigint }
  | { type: "unsigned"; value: bigint }
  | { type: "string"; value: string }
  | { type: "boolean"; value: boolean };

/** The line-protocol type names, as `FieldValue["type"]`. */
export type FieldType = FieldValue["type"];

/**
 * One point: what one line of line protocol holds.
 *
 * `tags` never hold empty values (line protocol cannot carry them). `timestamp` is in nanoseconds since the
 * Unix epoch; absent means "let the server stamp it". Keys such as `__proto__` are own properties: read them
 * with `Object.hasOwn`, not `in`.
 */
export interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  timestamp?: bigint;
}

/** Largest and smallest int64 and the largest uint64, as bigint. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Sets `record[key] = value` as an own, enumerable property even when `key` is `__proto__`
 * (a plain assignment would change the prototype or be ignored, losing the tag or field).
 */
export function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
