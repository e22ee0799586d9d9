import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lineEnd, parseLine } from "./line-protocol.js";
import { FIELD_TYPE_NAMES, LineScan, scanLine } from "./line-scan.js";
import { timestampFits, toNs } from "./precision.js";
import { lineProtocolBody as body } from "./test-arbitraries.js";

describe("scanLine", () => {
  it("accepts only lines the strict parser accepts, ending them where splitBody does, with the same names and types", () => {
    const scan = new LineScan();
    let accepted = 0;
    fc.assert(
      fc.property(body, (text) => {
        const b = Buffer.from(text);
        const at = (start: number, end: number) => b.toString("utf8", start, end);
        // Line by line as the write path walks a body; lineEnd is splitBody's own split.
        for (let start = 0; start < b.length; start = lineEnd(b, start) + 1) {
          const c = b[start];
          if (c === 32 || c === 9 || c === 10 || c === 35) continue;
          const end = scanLine(b, start, scan);
          if (end < 0) continue;
          accepted++;
          expect(end).toBe(lineEnd(b, start));
          const tagKeys = Array.from({ length: scan.tagCount }, (_, i) =>
            at(scan.tagKeyStart[i]!, scan.tagKeyEnd[i]!),
          );
          const fields = Array.from({ length: scan.fieldCount }, (_, i) => [
            at(scan.fieldKeyStart[i]!, scan.fieldKeyEnd[i]!),
            FIELD_TYPE_NAMES[scan.fieldType[i]!],
          ]);
          // A repeated name is the shape cache's to send to the strict path; the write-level property test
          // holds that.
          const names = new Set([...tagKeys, ...fields.map(([k]) => k)]);
          if (names.size !== tagKeys.length + fields.length) continue;
          // The timestamp's range is timestampFits's to check (ns is the widest unit).
          if (!timestampFits(b, scan.timeStart, scan.timeEnd, "ns")) continue;
          const parsed = parseLine(at(start, end));
          expect(parsed).not.toHaveProperty("error");
          if ("error" in parsed) return;
          expect(at(scan.measurementStart, scan.measurementEnd)).toBe(parsed.measurement);
          expect(new Set(tagKeys)).toEqual(new Set(Object.keys(parsed.tags)));
          expect(new Map(fields.map(([k, t]) => [k, t]))).toEqual(
            new Map(Object.entries(parsed.fields).map(([k, f]) => [k, f.type])),
          );
          const ts = at(scan.timeStart, scan.timeEnd);
          expect(ts === "" ? undefined : BigInt(ts)).toBe(parsed.timestamp);
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must exercise the fast path, not only the bail-outs.
    expect(accepted).toBeGreaterThan(200);
  });

  it("gives up on what it does not handle itself", () => {
    const scan = new LineScan();
    for (const bad of [
      "m\\ x f=1",
      'm s="a\\"b"',
      "m a,b=1",
      "m f=1e400",
      "m f=9223372036854775807i",
      "m f=18446744073709551615u",
      "m,t= f=1",
      "m f=1 1 2",
    ])
      expect(scanLine(Buffer.from(bad), 0, scan), bad).toBe(-1);
  });
});

describe("timestampFits", () => {
  it("agrees with the exact conversion for every unit", () => {
    // Near each unit's limit (2^63 / 1, 1e3, 1e6, 1e9), both signs; any number of digits; any bigint.
    const nearLimit = fc
      .tuple(
        fc.constantFrom(1n, 1_000n, 1_000_000n, 1_000_000_000n),
        fc.bigInt({ min: -3n, max: 3n }),
        fc.boolean(),
      )
      .map(([per, d, negative]) => String((negative ? -1n : 1n) * (2n ** 63n / per + d)));
    const digits = fc.oneof(
      nearLimit,
      fc.integer({ min: 1, max: 21 }).chain((n) => fc.stringMatching(new RegExp(`^-?[0-9]{${n}}$`))),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
    );
    fc.assert(
      fc.property(digits, fc.constantFrom("ns", "us", "ms", "s", "auto"), (text, unit) => {
        expect(timestampFits(Buffer.from(text), 0, text.length, unit)).toBe(
          typeof toNs(BigInt(text), unit, 0n) === "bigint",
        );
      }),
      { numRuns: 2000 },
    );
  });
});
