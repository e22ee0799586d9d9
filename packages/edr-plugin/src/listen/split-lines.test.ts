import fc from "fast-check";
import { splitLines } from "edr-transform";
import { describe, expect, it } from "vitest";
import { splitBody } from "./split-lines.js";

/** Pieces that matter to line splitting, and plain text between them (ASCII: the byte loop). */
const ASCII = ["\n", " ", "\t", '"', "\\", ",", "=", "#", "\r", "m", "f=1", "t=a", "1700000000", 's="a\nb"'];
/** With characters beyond ASCII too (`splitLines` itself, after dropping a byte order mark). */
const ANY = [...ASCII, "é", "漢", "😀", "\uFEFF"];

function agrees(text: string): void {
  const expected = splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  expect(splitBody(Buffer.from(text, "utf8"))).toEqual(expected);
}

describe("splitBody", () => {
  it("splits an ASCII body exactly as edr-transform's splitLines, whatever mix of the characters that matter", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ASCII), { maxLength: 60 }), (pieces) =>
        agrees(pieces.join("")),
      ),
      { numRuns: 5000 },
    );
  });

  it("splits any other body exactly as splitLines too", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ANY), { maxLength: 40 }), (pieces) => agrees(pieces.join(""))),
      { numRuns: 1000 },
    );
  });

  it("splits ASCII and non-ASCII bodies alike", () => {
    const body = '# c\n  cpu f=1 1\n\nlog s="x\ny" 2\n\t#x\nm\\\nn f=2';
    expect(splitBody(Buffer.from(body))).toEqual(["cpu f=1 1", 'log s="x\ny" 2', "m\\\nn f=2"]);
    expect(splitBody(Buffer.from(`\uFEFF${body}é`))).toEqual(["cpu f=1 1", 'log s="x\ny" 2', "m\\\nn f=2é"]);
  });
});
