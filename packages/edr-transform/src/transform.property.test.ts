import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { point } from "../test/arbitraries.js";
import { formatPoint } from "./format.js";
import { parseLines } from "./parse.js";
import type { Point } from "./point.js";
import { createTransform } from "./transform.js";

// Rules drawn from the names the points use, so that they touch something.
function rulesFor(points: Point[], pick: number[]) {
  const tables = [...new Set(points.map((p) => p.measurement))];
  const keysOf = (table: string) => [
    ...new Set(
      points
        .filter((p) => p.measurement === table)
        .flatMap((p) => [...Object.keys(p.tags), ...Object.keys(p.fields)]),
    ),
  ];
  const at = <T>(list: T[], k: number): T | undefined =>
    list.length === 0 ? undefined : list[pick[k % pick.length]! % list.length];
  const table = at(tables, 0)!;
  const keys = keysOf(table);
  const excluded = at(keys, 1);
  const renamed = at(keys, 2);
  // A third of the runs rename onto a name the table has: the paths must agree on what they reject.
  const target = pick[3]! % 3 === 0 ? at(keys, 4) : undefined;
  return {
    tables: pick[3]! % 2 === 0 ? undefined : tables.filter((_, k) => k % 2 === 0),
    excludedFields: excluded === undefined ? undefined : new Map([[table, new Set([excluded])]]),
    fieldRenames:
      renamed === undefined || renamed === excluded
        ? undefined
        : new Map([[table, new Map([[renamed, target ?? `${renamed}_new`]])]]),
    tablesRename: new Map([[table, `${table}_remote`]]),
  };
}

describe("transforms, lines and points paths", () => {
  it("give the same points for random points and rules", () => {
    const seen = { dropped: 0, emptied: 0, rejected: 0, renamed: 0 };
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
        (points, pick) => {
          const transform = createTransform(rulesFor(points, pick));
          const lines = transform.lines(points.map(formatPoint));
          const objects = transform.points(points);
          expect(lines.dropped).toBe(objects.dropped);
          expect(lines.emptied).toBe(objects.emptied);
          expect(lines.rejected.map((r) => r.index)).toEqual(objects.rejected.map((r) => r.index));
          expect(parseLines(lines.items.join("\n"))).toEqual(objects.items);
          seen.dropped += lines.dropped;
          seen.emptied += lines.emptied;
          seen.rejected += lines.rejected.length;
          seen.renamed += lines.items.filter((line) => !points.some((p) => formatPoint(p) === line)).length;
        },
      ),
      { numRuns: 1000 },
    );
    // The runs did exercise every outcome.
    expect(
      Object.values(seen).every((n) => n > 0),
      JSON.stringify(seen),
    ).toBe(true);
  });
});
