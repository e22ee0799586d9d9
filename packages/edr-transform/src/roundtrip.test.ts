import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { point, respell } from "../test/arbitraries.js";
import { formatPoint } from "./format.js";
import { parseLines } from "./parse.js";

describe("line protocol round trips", () => {
  it("format -> parse gives back the same point", () => {
    fc.assert(
      fc.property(point, (p) => {
        expect(parseLines(formatPoint(p))).toEqual([p]);
      }),
      { numRuns: 2000 },
    );
  });

  it("valid lines in any spelling: parse -> format -> parse gives the same points", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(point, fc.array(fc.nat(20), { minLength: 2, maxLength: 6 })), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
        (items, comments) => {
          const text = items
            .map(([p, style]) => respell(p, style))
            .join(comments ? '\n# a comment, with "quotes\n\n' : "\n");
          const first = parseLines(text);
          expect(first).toHaveLength(items.length);
          const second = parseLines(first.map(formatPoint).join("\n"));
          expect(second).toEqual(first);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
