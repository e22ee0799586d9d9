import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Aggregation } from "./aggregate.js";
import { createDownsampler, downsample } from "./downsample.js";
import { INT64_MAX, INT64_MIN, type Point } from "./point.js";

// A few series, timestamps around the epoch (negative ones too), an integer and a float field.
const points = fc.array(
  fc.record({
    host: fc.constantFrom("a", "b", "c"),
    t: fc.bigInt({ min: -5_000_000_000n, max: 5_000_000_000n }),
    i: fc.bigInt({ min: INT64_MIN / 4n, max: INT64_MAX / 4n }),
    f: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  }),
  { minLength: 1, maxLength: 40 },
);

const toPoints = (rows: { host: string; t: bigint; i: bigint; f: number }[]): Point[] =>
  rows.map(({ host, t, i, f }) => ({
    measurement: "m",
    tags: { host },
    fields: { i: { type: "integer", value: i }, f: { type: "float", value: f } },
    timestamp: t,
  }));

/** The obvious implementation: floor division with bigint, groups in a Map, values kept in arrival order. */
function reference(
  rows: { host: string; t: bigint; i: bigint; f: number }[],
  intervalNs: bigint,
  fn: Exclude<Aggregation, "avg" | "median">,
) {
  const groups = new Map<string, { host: string; start: bigint; rows: typeof rows }>();
  for (const row of rows) {
    let start = (row.t / intervalNs) * intervalNs;
    if (start > row.t) start -= intervalNs;
    const key = `${row.host}/${start}`;
    const group = groups.get(key) ?? { host: row.host, start, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const out = new Map<string, { i: unknown; f: unknown }>();
  for (const [key, { rows: g }] of groups) {
    const byTime = [...g].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0)); // stable: ties keep arrival order
    const pick = (field: "i" | "f") => {
      const values = g.map((r) => r[field]);
      switch (fn) {
        case "sum":
          return field === "i"
            ? (values as bigint[]).reduce((a, b) => a + b, 0n)
            : (values as number[]).reduce((a, b) => a + b, 0);
        case "min":
          return values.reduce((a, b) => (b < a ? b : a));
        case "max":
          return values.reduce((a, b) => (b > a ? b : a));
        case "count":
          return BigInt(values.length);
        case "first":
          return byTime[0]![field];
        case "last":
          return byTime[byTime.length - 1]![field];
      }
    };
    out.set(key, { i: pick("i"), f: pick("f") });
  }
  return out;
}

describe("downsample against an obvious implementation", () => {
  it.each(["sum", "min", "max", "count", "first", "last"] as const)(
    "agrees on %s, bucket by bucket",
    (fn) => {
      fc.assert(
        fc.property(points, fc.integer({ min: 1, max: 3000 }), (rows, intervalMs) => {
          const intervalNs = BigInt(intervalMs) * 1_000_000n;
          const { points: out, problems } = downsample({ intervalMs, aggregations: { default: fn } })(
            toPoints(rows),
          );
          expect(problems).toEqual([]);
          const expected = reference(rows, intervalNs, fn);
          expect(out).toHaveLength(expected.size);
          for (const p of out) {
            const want = expected.get(`${p.tags.host}/${p.timestamp}`)!;
            expect(want, `bucket ${p.tags.host}/${p.timestamp}`).toBeDefined();
            expect(p.fields.i!.value).toBe(want.i);
            expect(p.fields.f!.value).toBe(want.f);
          }
          // Buckets come out oldest first.
          for (let k = 1; k < out.length; k++)
            expect(out[k - 1]!.timestamp! <= out[k]!.timestamp!).toBe(true);
        }),
        { numRuns: 200 },
      );
    },
  );

  it("streams to the same points as one batch when flushed at every bucket boundary", () => {
    fc.assert(
      fc.property(points, fc.integer({ min: 1, max: 3000 }), (rows, intervalMs) => {
        const sorted = toPoints(rows).sort((a, b) =>
          a.timestamp! < b.timestamp! ? -1 : a.timestamp! > b.timestamp! ? 1 : 0,
        );
        const batch = downsample({ intervalMs })(sorted).points;
        const stream = createDownsampler({ intervalMs });
        const emitted: Point[] = [];
        for (const p of sorted) {
          emitted.push(...stream.flushClosed(p.timestamp!).points);
          expect(stream.add([p]).late).toEqual([]);
        }
        emitted.push(...stream.flushAll().points);
        const key = (p: Point) => `${p.timestamp}/${p.tags.host}`;
        expect([...emitted].sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(
          [...batch].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
        );
      }),
      { numRuns: 200 },
    );
  });
});
