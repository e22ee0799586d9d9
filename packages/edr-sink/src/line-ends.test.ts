import fc from "fast-check";
import { splitLines } from "edr-transform";
import { describe, expect, it } from "vitest";
import { planBatches } from "./batching.js";
import { runsIntoNextLine } from "./line-ends.js";

/** Pieces that matter to InfluxDB 3's line splitting, and plain text between them. */
const PIECES = [" ", '"', "\\", ",", "=", "#", "m", "f=1", "t=a", "17", 's="a b"', "é"];
const NEXT = "next f=1 1";

describe("runsIntoNextLine", () => {
  it("says exactly when InfluxDB 3's splitting (edr-transform's splitLines) would read on into the next line", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 40 }), (pieces) => {
        const line = `m${pieces.join("")}`;
        const swallowed = splitLines(`${line}\n${NEXT}`).at(-1) !== NEXT;
        expect(runsIntoNextLine(line), JSON.stringify(line)).toBe(swallowed);
      }),
      { numRuns: 5000 },
    );
  });

  it("finds the line that took eight good lines down at the remote (bad-input seed 1582160175)", () => {
    const line = 'ü漢,host=h,k\\=v=f\\=g f=-203.79118,u446848u,s="=back\\\\slash",b=F 1796576984000000000';
    expect(runsIntoNextLine(line)).toBe(true);
    expect(runsIntoNextLine('cpu,host=a s="say \\"hi\\"",n=1i 1')).toBe(false);
    expect(runsIntoNextLine("cpu,host=a\\ b v=1 1")).toBe(false);
    expect(runsIntoNextLine("cpu,host=a v=1 1\\")).toBe(true);
  });

  it("ends a request after such a line, so the remote reads every line alone", () => {
    const open = 'm f=1,u1u,s="=x" 1';
    const lines = ["a f=1 1", open, "b f=2 2", "c f=3 3"];
    const plan = planBatches(lines, 1, { batchLines: 100, batchBytes: 1 << 20 });
    expect(plan.lanes[0]).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});
