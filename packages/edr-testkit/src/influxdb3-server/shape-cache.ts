import { FIELD_TYPE_NAMES, type LineScan } from "./line-scan.js";
import type { PendingSchema, Storage } from "./storage.js";

/** A line's shape: its table, tag keys, field keys and field types, in line order. */
interface Shape {
  measurement: string;
  tagKeys: string[];
  fieldKeys: string[];
  fieldTypes: Uint8Array;
}

/**
 * The schema check of scanned lines within one write. Lines of a batch nearly always repeat the shape of an
 * earlier line of the same table; a line with a shape already checked in this batch is known to pass (the
 * batch's schema only grows), so it is compared in place, char by char, and costs no string at all. Only a new
 * shape goes to `Storage.checkColumns`. Lives for one write: a refused batch takes its columns with it.
 */
export class ShapeCache {
  private last: Shape | undefined;
  private readonly byTable = new Map<string, Shape>();

  constructor(
    private readonly storage: Storage,
    private readonly db: string,
    private readonly pending: PendingSchema,
  ) {}

  /**
   * True when the scanned line passes the schema check (its new columns are then in `pending`); false when
   * it may not (a repeated name, a type conflict, a limit), for the strict path to say why.
   */
  accept(s: string, scan: LineScan): boolean {
    if (this.last !== undefined && matches(s, scan, this.last)) return true;
    const measurement = s.slice(scan.measurementStart, scan.measurementEnd);
    const known = this.byTable.get(measurement);
    if (known !== undefined && matches(s, scan, known)) {
      this.last = known;
      return true;
    }
    const shape = shapeOf(s, scan, measurement);
    if (shape === undefined) return false;
    const tagOrder = keyOrder(shape.tagKeys);
    const fieldOrder = keyOrder(shape.fieldKeys);
    const refused = this.storage.checkColumns(
      this.db,
      measurement,
      tagOrder.map((i) => shape.tagKeys[i]!),
      fieldOrder.map((i) => shape.fieldKeys[i]!),
      fieldOrder.map((i) => FIELD_TYPE_NAMES[shape.fieldTypes[i]!]!),
      this.pending,
    );
    if (refused !== undefined) return false;
    this.byTable.set(measurement, shape);
    this.last = shape;
    return true;
  }
}

/** The scanned line's shape, or undefined when a name repeats (a parse error the strict path reports). */
function shapeOf(s: string, scan: LineScan, measurement: string): Shape | undefined {
  const tagKeys: string[] = [];
  for (let i = 0; i < scan.tagCount; i++) tagKeys.push(s.slice(scan.tagKeyStart[i], scan.tagKeyEnd[i]));
  const fieldKeys: string[] = [];
  for (let i = 0; i < scan.fieldCount; i++)
    fieldKeys.push(s.slice(scan.fieldKeyStart[i], scan.fieldKeyEnd[i]));
  const names = new Set([...tagKeys, ...fieldKeys]);
  if (names.size !== tagKeys.length + fieldKeys.length) return undefined;
  return { measurement, tagKeys, fieldKeys, fieldTypes: scan.fieldType.slice(0, scan.fieldCount) };
}

/**
 * Indexes of the names in the order the strict path checks (and so creates) them: `Object.keys` of the
 * parsed line's plain objects, which puts integer-like keys first (column order shows in
 * information_schema) and has no `__proto__` (an assignment to it sets the prototype instead).
 */
function keyOrder(keys: readonly string[]): number[] {
  const index: Record<string, number> = {};
  keys.forEach((key, i) => (index[key] = i));
  return Object.values(index);
}

function matches(s: string, scan: LineScan, shape: Shape): boolean {
  if (scan.tagCount !== shape.tagKeys.length || scan.fieldCount !== shape.fieldKeys.length) return false;
  if (!same(s, scan.measurementStart, scan.measurementEnd, shape.measurement)) return false;
  for (let i = 0; i < scan.tagCount; i++)
    if (!same(s, scan.tagKeyStart[i]!, scan.tagKeyEnd[i]!, shape.tagKeys[i]!)) return false;
  for (let i = 0; i < scan.fieldCount; i++) {
    if (scan.fieldType[i] !== shape.fieldTypes[i]) return false;
    if (!same(s, scan.fieldKeyStart[i]!, scan.fieldKeyEnd[i]!, shape.fieldKeys[i]!)) return false;
  }
  return true;
}

/** Whether `s[start, end)` is `name`, without making a string of it. */
function same(s: string, start: number, end: number, name: string): boolean {
  return end - start === name.length && s.startsWith(name, start);
}
