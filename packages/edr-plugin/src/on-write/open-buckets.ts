import type { FieldValue, Point } from "edr-transform";

/** What {@link OpenBuckets.add} did with a point. */
export type AddOutcome = "added" | "merged" | "duplicate";

/**
 * The points of the on-write buckets not emitted yet, by bucket end, as the local instance holds them: one point
 * per series and time. A point written again merges into it as InfluxDB merges it (its fields overwrite, the
 * others stay), so a client's retry counts once and a rewritten value replaces the old one, and the bucket's
 * aggregate, computed when it is emitted, is that of the stored points, as scheduled downsampling would read them.
 */
export class OpenBuckets {
  private readonly buckets = new Map<bigint, Map<string, Point>>();

  /** Adds a point (with a timestamp) to the bucket ending at `endNs`. */
  add(point: Point, endNs: bigint): AddOutcome {
    let bucket = this.buckets.get(endNs);
    if (bucket === undefined) this.buckets.set(endNs, (bucket = new Map<string, Point>()));
    const key = pointKey(point);
    const held = bucket.get(key);
    if (held === undefined) {
      bucket.set(key, point);
      return "added";
    }
    let changed = false;
    for (const [name, value] of Object.entries(point.fields)) {
      const before = held.fields[name];
      if (before === undefined || !sameValue(before, value)) {
        // Own properties only: a field named __proto__ is a field.
        Object.defineProperty(held.fields, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        changed = true;
      }
    }
    return changed ? "merged" : "duplicate";
  }

  /** Takes out the points of every bucket ending at or before `closedNs`, oldest bucket first. */
  takeClosed(closedNs: bigint): Point[] {
    const ends = [...this.buckets.keys()]
      .filter((endNs) => endNs <= closedNs)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const points: Point[] = [];
    for (const endNs of ends) {
      for (const point of this.buckets.get(endNs)!.values()) points.push(point);
      this.buckets.delete(endNs);
    }
    return points;
  }

  /** The end of the oldest open bucket, or undefined when none is open. */
  oldestEndNs(): bigint | undefined {
    let oldest: bigint | undefined;
    for (const endNs of this.buckets.keys()) if (oldest === undefined || endNs < oldest) oldest = endNs;
    return oldest;
  }
}

/** Series and time: measurement, tags in key order, timestamp; NUL cannot appear in names. */
function pointKey(point: Point): string {
  let key = point.measurement;
  for (const name of Object.keys(point.tags).sort()) key += `\u0000${name}\u0001${point.tags[name]}`;
  return `${key}\u0000\u0000${point.timestamp}`;
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  return a.type === b.type && a.value === b.value;
}
