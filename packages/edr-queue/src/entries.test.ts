import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEntries, serializeEntries } from "./entries.js";

describe("serializeEntries", () => {
  it("writes exactly what JSON.stringify writes, for any strings", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ table: fc.string(), line: fc.string({ unit: "binary" }) })),
        (entries) => {
          const expected = entries
            .map((e) => JSON.stringify({ table: e.table, line: e.line }) + "\n")
            .join("");
          expect(serializeEntries(entries)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parseEntries", () => {
  it("reads back what serializeEntries wrote", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ table: fc.string(), line: fc.string({ unit: "grapheme" }) })),
        (entries) => {
          const text = serializeEntries(entries);
          expect(parseEntries(text)).toEqual(text === "" ? [] : entries);
        },
      ),
    );
  });

  it("reads Python's json.dumps spacing, blank lines and a missing final newline", () => {
    expect(parseEntries('{"table": "a", "line": "x"}\n\n{"table": "b", "line": "y"}')).toEqual([
      { table: "a", line: "x" },
      { table: "b", line: "y" },
    ]);
  });

  it("names the first bad line", () => {
    expect(parseEntries('{"table":"a","line":"x"}\n{"table":1,"line":"y"}\n')).toBe(
      'line 2 is not {"table": string, "line": string}',
    );
    expect(parseEntries('{"table":"a","line":"x"}\nnope\n')).toBe('line 2 is not JSON: "nope"');
    expect(parseEntries('{"table":"a","line":"x"},{"table":"a","line":"x"}\n')).toBe(
      'line 1 is not JSON: "{\\"table\\":\\"a\\",\\"line\\":\\"x\\"},{\\"table\\":\\"a\\",\\"line\\":\\"x\\"}"',
    );
  });
});
