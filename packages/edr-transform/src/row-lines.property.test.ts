// The interpreted converter (for runtimes that refuse `new Function`) must write what the generated one
// writes, and report the same failures, for any schema and any rows.
import fc from "fast-check";
import { LosslessNumber } from "lossless-json";
import { describe, expect, it } from "vitest";
import { BOOLEAN, FLOAT, INTEGER, STRING, TAG, UNSIGNED } from "./cells.js";
import { LineCollector } from "./line-collector.js";
import { generateRowLines, interpretRowLines } from "./row-lines.js";
import type { LineColumn, RowFailures, RowLinesFunction } from "./row-lines.js";

const NAMES = ["host", "region", "a b", "usage", "count", "ok", "note", "x"];

const cellArb = fc.oneof(
  fc.constantFrom(undefined, null, "", "a", "a b", "eu,w", "x=y", 'q"b', "\\", "\n", true, false),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }),
  fc
    .constantFrom("9223372036854775807", "18446744073709551615", "-1", "1e3", "1.5")
    .map((s) => new LosslessNumber(s)),
);

const timeArb = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    "1970-01-01T00:00:00.000000001",
    "2025-01-20T17:01:40.690067",
    "nope",
    5,
    1.5,
  ),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
);

const schemaArb = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 })
  .chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(fc.constantFrom(TAG, INTEGER, UNSIGNED, FLOAT, STRING, BOOLEAN), {
        minLength: names.length,
        maxLength: names.length,
      }),
    ),
  )
  .map(([names, kinds]) => {
    const tags: LineColumn[] = [];
    const fields: LineColumn[] = [];
    names.forEach((name, i) => {
      const kind = kinds[i]!;
      const key = name.replace(/ /g, "\\ ");
      if (kind === TAG) tags.push({ name, kind, first: `,${key}=`, next: `,${key}=` });
      else fields.push({ name, kind, first: ` ${key}=`, next: `,${key}=` });
    });
    return { names, tags, fields };
  });

const rowsArb = fc.array(
  fc.record({
    cells: fc.dictionary(fc.constantFrom(...NAMES, "extra", "iox::measurement"), cellArb, { maxKeys: 8 }),
    time: timeArb,
  }),
  { maxLength: 20 },
);

/** Runs a converter, recording its lines, skips and every failure call in order. */
function run(convert: RowLinesFunction, rows: Record<string, unknown>[]) {
  const calls: string[] = [];
  const show = (v: unknown) =>
    typeof v === "bigint" ? `${v}n` : v instanceof LosslessNumber ? `L${v.value}` : JSON.stringify(v);
  const failures: RowFailures = {
    cell: (r, column, v) => calls.push(`cell ${r} ${column.name} ${show(v)}`),
    tag: (r, column, v) => calls.push(`tag ${r} ${column.name} ${show(v)}`),
    time: (r, v) => calls.push(`time ${r} ${show(v)}`),
    unknown: (r, _row, known) => (calls.push(`unknown ${r} ${known}`), r % 2 === 0),
  };
  const collector = new LineCollector();
  const lines: string[] = [];
  collector.start(lines);
  const skipped = convert(rows, collector, failures);
  collector.finish();
  return { lines, skipped, calls };
}

describe("interpretRowLines", () => {
  it("writes the lines and reports the failures that generateRowLines does", () => {
    fc.assert(
      fc.property(schemaArb, rowsArb, ({ tags, fields }, rows) => {
        const input = rows.map(({ cells, time }) => (time === undefined ? cells : { ...cells, time }));
        // Each converter gets its own series memory: both start empty.
        const generated = run(generateRowLines("m", tags, fields), input);
        const interpreted = run(interpretRowLines("m", tags, fields), input);
        expect(interpreted).toEqual(generated);
      }),
      { numRuns: 500 },
    );
  });
});
