import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineBuffer } from "./line-buffer.js";

/** The lines `pieces` make, as LineBuffer hands them over, and what is left. */
function split(pieces: readonly (string | Buffer)[]): { lines: string[]; rest: string } {
  const buffer = new LineBuffer();
  const lines: string[] = [];
  for (const piece of pieces) {
    buffer.push(Buffer.from(piece), (bytes, start, end) => lines.push(bytes.toString("utf8", start, end)));
  }
  return { lines, rest: buffer.rest().toString("utf8") };
}

/** The bytes of `text` cut at the given offsets (inside characters too). */
function cut(text: string, offsets: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const at = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const offset of at) {
    pieces.push(bytes.subarray(from, offset));
    from = offset;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

describe("LineBuffer", () => {
  it("hands over lines within and across pieces, without their \\n or \\r\\n", () => {
    expect(split(['{"a":1}\n{"b"', ":2}\r\n", "\n{", '"c":3}\n'])).toEqual({
      lines: ['{"a":1}', '{"b":2}', '{"c":3}'],
      rest: "",
    });
  });

  it("keeps a last line without its newline as the rest", () => {
    expect(split(['{"a":1}\n{"b":', "2}"])).toEqual({ lines: ['{"a":1}'], rest: '{"b":2}' });
  });

  it("gives the same lines however the text is cut into pieces", () => {
    const line = fc.string({ unit: fc.constantFrom("a", "é", "😀", "\r", " ", '"'), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (lines, offsets, ends) => {
          const text = lines.join("\n") + (ends ? "\n" : "");
          const raw = text.split("\n");
          const rest = ends ? "" : raw.at(-1)!;
          const complete = ends ? raw : raw.slice(0, -1);
          const expected = complete.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
          const got = split(cut(text, offsets));
          expect(got.lines).toEqual(expected.filter((l) => l !== ""));
          expect(got.rest).toBe(rest);
        },
      ),
    );
  });
});
