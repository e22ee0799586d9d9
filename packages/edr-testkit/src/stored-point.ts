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
 * Sets `record[name] = value`, also for a name `__proto__` (valid line protocol), which an assignment
 * would take as the object's prototype instead. Records stay ordinary objects (V8 keeps them fast;
 * prototype-less ones made reading points 20% slower). edr-transform's `setEntry` follows the same rule;
 * the testkit imports no edr package, since it is the oracle those packages are checked against.
 */
export function setName<T>(record: Record<string, T>, name: string, value: T): void {
  if (name === "__proto__") {
    Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[name] = value;
  }
}
