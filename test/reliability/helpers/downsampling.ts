// What downsampling must make of the points the local instance holds, computed here from the points as
// scheduled mode's DATE_BIN would: buckets aligned to the epoch, one point per table, tag set and bucket,
// stamped with the bucket start. Not computed with edr-transform: the expectation must not come from the code
// under test.
import type { StoredField, StoredPoint } from "edr-testkit";

/** The aggregate of each field the load writes (see `load.ts`): one of each function edr offers. */
export const AGGREGATIONS = {
  n: "sum",
  c: "count",
  lo: "min",
  hi: "max",
  f: "avg",
  md: "median",
  s: "last",
  b: "first",
} as const;

/** The `aggregations=` trigger argument for `tables`: every field of every table named. */
export function aggregationsArgument(tables: readonly string[]): string {
  const fields = Object.entries(AGGREGATIONS)
    .map(([field, fn]) => `${field}@${fn}`)
    .join("$");
  return tables.map((table) => `${table}:${fields}`).join(".");
}

/** Floors toward minus infinity, as DATE_BIN does. */
export function bucketStart(timeNs: bigint, bucketNs: bigint): bigint {
  const r = timeNs % bucketNs;
  return r < 0n ? timeNs - r - bucketNs : timeNs - r;
}

function seriesOf(point: StoredPoint): string {
  const tags = Object.entries(point.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([point.measurement, tags]);
}

function aggregate(fn: string, values: { timeNs: bigint; field: StoredField }[]): StoredField {
  const numbers = values.map(({ field }) => field.value);
  switch (fn) {
    case "sum":
      return { type: "integer", value: (numbers as bigint[]).reduce((a, b) => a + b, 0n) };
    case "count":
      return { type: "integer", value: BigInt(values.length) };
    case "min":
      return { type: "integer", value: (numbers as bigint[]).reduce((a, b) => (b < a ? b : a)) };
    case "max":
      return { type: "integer", value: (numbers as bigint[]).reduce((a, b) => (b > a ? b : a)) };
    case "avg":
      // Eighths of small numbers: the sum is exact in any order, the quotient correctly rounded.
      return { type: "float", value: (numbers as number[]).reduce((a, b) => a + b, 0) / values.length };
    case "median": {
      const sorted = [...(numbers as number[])].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const value = sorted.length % 2 === 1 ? sorted[mid]! : sorted[mid - 1]! / 2 + sorted[mid]! / 2;
      return { type: "float", value };
    }
    case "first":
      return values.reduce((a, b) => (b.timeNs < a.timeNs ? b : a)).field;
    case "last":
      return values.reduce((a, b) => (b.timeNs > a.timeNs ? b : a)).field;
    default:
      throw new Error(`no expectation for the aggregate ${fn}`);
  }
}

/** The downsampled points of `points` (fields as in {@link AGGREGATIONS}), in buckets of `bucketNs`. */
export function expectedBuckets(points: readonly StoredPoint[], bucketNs: bigint): StoredPoint[] {
  const groups = new Map<string, StoredPoint[]>();
  for (const point of points) {
    const key = `${seriesOf(point)} ${bucketStart(point.timeNs, bucketNs)}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(point);
  }
  const out: StoredPoint[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const fields: Record<string, StoredField> = {};
    for (const [name, fn] of Object.entries(AGGREGATIONS)) {
      const values = group.flatMap((p) =>
        p.fields[name] === undefined ? [] : [{ timeNs: p.timeNs, field: p.fields[name] }],
      );
      if (values.length > 0) fields[name] = aggregate(fn, values);
    }
    out.push({
      measurement: first.measurement,
      tags: { ...first.tags },
      fields,
      timeNs: bucketStart(first.timeNs, bucketNs),
    });
  }
  return out;
}
