import { setName } from "../stored-point.js";
import { FIELD_TYPE_NAMES, sameBytes, type LineScan } from "./line-scan.js";
import type { PendingSchema, Storage } from "./storage.js";

/** A line's shape: its table, tag keys, field keys (each as UTF-8) and field types, in line order. */
interface Shape {
  measurement: Buffer;
  tagKeys: Buffer[];
  fieldKeys: Buffer[];
  fieldTypes: Uint8Array;
}

/**
 * The schema check of scanned lines within one write. Lines of a batch nearly always repeat the shape of an
 * earlier line of the same table; a line with a shape already checked in this batch is known to pass (the
 * batch's schema only grows), so it is compared in place, byte by byte, and costs no string at all. Only a new
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
  accept(b: Buffer, scan: LineScan): boolean {
    if (this.last !== undefined && matches(b, scan, this.last)) return true;
    const measurement = b.toString("utf8", scan.measurementStart, scan.measurementEnd);
    const known = this.byTable.get(measurement);
    if (known !== undefined && matches(b, scan, known)) {
      this.last = known;
      return true;
    }
    const tagKeys = names(b, scan.tagKeyStart, scan.tagKeyEnd, scan.tagCount);
    const fieldKeys = names(b, scan.fieldKeyStart, scan.fieldKeyEnd, scan.fieldCount);
    // A repeated name is a parse error, for the strict path to report.
    if (new Set([...tagKeys, ...fieldKeys]).size !== tagKeys.length + fieldKeys.length) return false;
    const tagOrder = keyOrder(tagKeys);
    const fieldOrder = keyOrder(fieldKeys);
    const refused = this.storage.checkColumns(
      this.db,
      measurement,
      tagOrder.map((i) => tagKeys[i]!),
      fieldOrder.map((i) => fieldKeys[i]!),
      fieldOrder.map((i) => FIELD_TYPE_NAMES[scan.fieldType[i]!]!),
      this.pending,
    );
    if (refused !== undefined) return false;
    const utf8 = (name: string): Buffer => Buffer.from(name, "utf8");
    const shape: Shape = {
      measurement: utf8(measurement),
      tagKeys: tagKeys.map(utf8),
      fieldKeys: fieldKeys.map(utf8),
      fieldTypes: scan.fieldType.slice(0, scan.fieldCount),
    };
    this.byTable.set(measurement, shape);
    this.last = shape;
    return true;
  }
}

function names(b: Buffer, starts: Int32Array, ends: Int32Array, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(b.toString("utf8", starts[i], ends[i]));
  return out;
}

/**
 * Indexes of the names in the order the strict path checks (and so creates) them: `Object.keys` of the
 * parsed line's records, which puts integer-like keys first (column order shows in information_schema).
 */
function keyOrder(keys: readonly string[]): number[] {
  const index: Record<string, number> = {};
  keys.forEach((key, i) => setName(index, key, i));
  return Object.values(index);
}

function matches(b: Buffer, scan: LineScan, shape: Shape): boolean {
  if (scan.tagCount !== shape.tagKeys.length || scan.fieldCount !== shape.fieldKeys.length) return false;
  if (!sameBytes(b, scan.measurementStart, scan.measurementEnd, shape.measurement)) return false;
  for (let i = 0; i < scan.tagCount; i++)
    if (!sameBytes(b, scan.tagKeyStart[i]!, scan.tagKeyEnd[i]!, shape.tagKeys[i]!)) return false;
  for (let i = 0; i < scan.fieldCount; i++) {
    if (scan.fieldType[i] !== shape.fieldTypes[i]) return false;
    if (!sameBytes(b, scan.fieldKeyStart[i]!, scan.fieldKeyEnd[i]!, shape.fieldKeys[i]!)) return false;
  }
  return true;
}
