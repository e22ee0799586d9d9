import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fieldValue, keyName, measurementName, record, respell } from "../test/arbitraries.js";
import { formatPoint } from "./format.js";
import type { FieldType, FieldValue, Point } from "./point.js";
import { alone, countShaped } from "../test/shapes.js";
import { createTransform } from "./transform.js";

// Lines of a table mostly share a shape, and the transforms learn shapes to rewrite such lines by regex.
// The reference is the scanner's path: a fresh transform takes its first line through the scanner.
const TYPES: FieldType[] = ["float", "integer", "unsigned", "string", "boolean"];
// Values of everyday size (most lines) and of every size (the edges the shapes leave to the scanner).
const everyday: Record<FieldType, fc.Arbitrary<FieldValue>> = {
  float: fc
    .oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer().map((n) => n / 100),
    )
    .map((value) => ({ type: "float", value })),
  integer: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }).map((value) => ({ type: "integer", value })),
  unsigned: fc.bigInt({ min: 0n, max: 10n ** 12n }).map((value) => ({ type: "unsigned", value })),
  string: fieldValue.filter((v) => v.type === "string"),
  boolean: fc.boolean().map((value) => ({ type: "boolean", value })),
};
const valueOf = (type: FieldType): fc.Arbitrary<FieldValue> =>
  fc.oneof(
    { weight: 3, arbitrary: everyday[type] },
    { weight: 1, arbitrary: fieldValue.filter((v) => v.type === type) },
  );
const timestamp = fc.oneof(
  fc.bigInt({ min: 1600000000000000000n, max: 1800000000000000000n }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
// Mostly plain names (the shapes' case), sometimes names that need escapes (the scanner's).
const name = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z_.()$^+*?|{}[\]/-][a-z0-9_.=()$^+*?|{}[\]/-]{0,7}$/) },
  { weight: 1, arbitrary: keyName },
);
const INSERTED = [",", " ", "=", "\\", '"', "\n", "\t", "i", "u", "0", "e", "-", "."];
// What the server skips before a line (and a few texts it does not), and spacing after it: lines of one table
// that start differently must still be found to be of that table, in the middle of a batch as at its start.
const LEAD = ["\n", "\n ", "\n  ", " ", "\t", " \n", "\n\t", "\n,", "#c\n", "# x\n ", "\r\n"];
const leading = fc.oneof(
  { weight: 10, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom(...LEAD) },
);
const trailing = fc.oneof(
  { weight: 12, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom(" ", "  ", "\t", " \t") },
);

const template = fc.record({
  measurement: fc.oneof(
    fc.constant("cpu"),
    name.filter((n) => !n.includes("\0") && !n.startsWith("#")),
    measurementName,
  ),
  tags: fc.uniqueArray(name, { maxLength: 3 }),
  fields: fc.uniqueArray(fc.tuple(name, fc.constantFrom(...TYPES)), {
    selector: ([k]) => k,
    minLength: 1,
    maxLength: 4,
  }),
});
type Template = typeof template extends fc.Arbitrary<infer T> ? T : never;

function linesOf(t: Template): fc.Arbitrary<string[]> {
  const line = fc
    .record({
      tags: fc.tuple(...t.tags.map(() => name)),
      fields: fc.tuple(...t.fields.map(([, type]) => valueOf(type))),
      timestamp: fc.option(timestamp, { nil: undefined, freq: 10 }),
      style: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
      mutation: fc.nat(),
      lead: leading,
      trail: trailing,
    })
    .map(({ tags, fields, timestamp, style, mutation, lead, trail }) => {
      const p: Point = {
        measurement: t.measurement,
        tags: record(t.tags.map((k, i) => [k, tags[i]!])),
        fields: record(t.fields.map(([k], i) => [k, fields[i]!])),
      };
      if (timestamp !== undefined) p.timestamp = timestamp;
      if (mutation % 11 === 0 && t.fields.length > 1)
        delete p.fields[t.fields[mutation % t.fields.length]![0]];
      let text = style[0]! % 3 === 0 ? respell(p, style) : formatPoint(p);
      if (mutation % 11 === 1) {
        const at = mutation % (text.length + 1);
        text = text.slice(0, at) + INSERTED[mutation % INSERTED.length]! + text.slice(at);
      }
      // Cut short: also a measurement alone (`cpu\` says nothing of the table of `cpu\ x f=1`).
      if (mutation % 11 === 2) text = text.slice(0, mutation % (text.length + 1));
      return lead + text + trail;
    });
  return fc.array(line, { minLength: 1, maxLength: 60, size: "max" });
}

function rulesFor(t: Template, pick: number[]) {
  const keys = [...t.tags, ...t.fields.map(([k]) => k)];
  const at = (k: number) => keys[pick[k]! % keys.length]!;
  const excluded = pick[0]! % 4 === 0 ? undefined : at(1);
  const renamed = at(2);
  const target = pick[3]! % 3 === 0 ? at(4) : `${renamed}_new`;
  return {
    excludedFields: excluded === undefined ? undefined : new Map([[t.measurement, new Set([excluded])]]),
    fieldRenames:
      renamed === excluded || pick[0]! % 5 === 0
        ? undefined
        : new Map([[t.measurement, new Map([[renamed, target]])]]),
    tablesRename: pick[3]! % 2 === 0 ? new Map([[t.measurement, `${t.measurement}_remote`]]) : undefined,
  };
}

describe("lines of a learnt shape", () => {
  it("come out exactly as the scanner's path writes them, rejected, emptied and counted alike", () => {
    let shaped = 0;
    fc.assert(
      fc.property(
        template.chain((t) => fc.tuple(fc.constant(t), linesOf(t))),
        fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
        ([t, lines], pick) => {
          const rules = rulesFor(t, pick);
          const transform = createTransform(rules);
          const expected = alone(rules, lines);
          // Twice: the second pass meets every shape the first one learnt.
          for (let pass = 0; pass < 2; pass++) {
            const [result, count] = countShaped(() => transform.lines(lines));
            expect(result).toEqual(expected);
            shaped += count;
          }
        },
      ),
      { numRuns: 300 },
    );
    // The shapes did take a good part of the lines.
    expect(shaped).toBeGreaterThan(1000);
  });
});
