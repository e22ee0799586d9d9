/** A field value with the type the server stored it as. */
export type StoredField =
  | { type: "float"; value: number }
  | { type: "integer"; value: bigint }
  | { type: "unsigned"; value: bigint }
  | { type: "string"; value: string }
  | { type: "boolean"; value: boolean };

/** One stored point, neutral between servers, so tests compare servers with toEqual. */
export interface StoredPoint {
  measurement: string;
  tags: Record<string, string>; // empty-valued tags absent
  fields: Record<string, StoredField>;
  timeNs: bigint;
}

/**
 * An empty record for names read from line protocol. It has no prototype, so a tag or field named
 * `__proto__` (valid line protocol) is stored as a name like any other instead of setting the prototype.
 */
export function nameRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
