import { splitLines } from "edr-transform";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { locateTimestamp } from "./line-times.js";
import { intakeLines, scanWriteLines, sentLine, stampedBody } from "./write-lines.js";

function scan(text: string) {
  return scanWriteLines(Buffer.from(text, "utf8"));
}

describe("scanWriteLines", () => {
  it("numbers lines as InfluxDB 3 does: blank and comment lines left out, newlines inside strings kept", () => {
    const body = [
      "# a comment",
      "",
      "  cpu,host=a f=1 1",
      "   \t",
      'log msg="two\nlines",n=1i 2',
      "# another",
      "cpu f=2",
      "",
    ].join("\n");
    const write = scan(body);
    expect(write.lines).toEqual(["cpu,host=a f=1 1", 'log msg="two\nlines",n=1i 2', "cpu f=2"]);
    expect(write.unstamped).toBe(1);
  });

  it("does not end a line at a newline escaped inside a string or split by a quote in a tag", () => {
    const write = scan('m,t=a"b f=1 1\nm s="a\\"\nb" 2\nm f=3 3');
    expect(write.lines).toEqual(['m,t=a"b f=1 1', 'm s="a\\"\nb" 2', "m f=3 3"]);
  });

  it("reads an ASCII body from its bytes exactly as the lines' strings read (splitLines, locateTimestamp)", () => {
    const pieces = ["\n", " ", "\t", '"', "\\", ",", "=", "#", "m", "f=1", "t=a", "17", "-", 's="a\nb"'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 60 }), (parts) => {
        const text = parts.join("");
        const write = scan(text);
        const lines = splitLines(text);
        const times = new Int32Array(2 * lines.length);
        lines.forEach((line, i) => locateTimestamp(line, times, 2 * i));
        expect(write.ascii).toBeDefined();
        expect(write.count).toBe(lines.length);
        expect(write.times).toEqual(times);
        expect(write.lines).toEqual(lines);
        const stamped = lines.map((line, i) => {
          if (times[2 * i]! >= 0) return line;
          return `${line.slice(0, times[2 * i + 1])} 99`;
        });
        expect(stampedBody(write, "99", text.length).toString("latin1")).toBe(stamped.join("\n"));
      }),
      { numRuns: 3000 },
    );
  });

  it("drops a leading byte order mark", () => {
    expect(scan("\uFEFFcpu f=1 1").lines).toEqual(["cpu f=1 1"]);
  });
});

describe("stamping", () => {
  it("stamps only the lines without a timestamp, in the body forwarded and in what is sent again", () => {
    const text = '# c\ncpu f=1 5\n\n  mem f=2\ndisk f=3  \nlog s="x\ny"';
    const write = scan(text);
    const body = stampedBody(write, "99", Buffer.byteLength(text));
    expect(body.toString()).toBe('cpu f=1 5\nmem f=2 99\ndisk f=3 99\nlog s="x\ny" 99');
    expect(write.lines.map((_, i) => sentLine(write, i, "99"))).toEqual(body.toString().split(/\n(?!y)/));
  });

  it("fits a body of unicode lines in the bound it is given", () => {
    const text = 'é漢😀 f=1\né漢😀 g="漢"';
    const write = scan(text);
    expect(stampedBody(write, "1700000000000", Buffer.byteLength(text)).toString()).toBe(
      'é漢😀 f=1 1700000000000\né漢😀 g="漢" 1700000000000',
    );
  });
});

describe("intakeLines", () => {
  const text = 'cpu,host=a f=1 1700000000000\nmem f=2\nc\\,pu f=3 -5\ncpu s="a b" 17  ';

  it("gives every line its table and a nanosecond timestamp, nothing else changed", () => {
    const write = scan(text);
    const { lines, outOfRange } = intakeLines(write, undefined, "ms", "1700000000123000000");
    expect(outOfRange).toBe(0);
    expect(lines).toEqual([
      { table: "cpu", line: "cpu,host=a f=1 1700000000000000000" },
      { table: "mem", line: "mem f=2 1700000000123000000" },
      { table: "c,pu", line: "c\\,pu f=3 -5000000" },
      { table: "cpu", line: 'cpu s="a b" 17000000  ' },
    ]);
  });

  it("keeps nanosecond lines as the very strings split, and takes only the positions stored", () => {
    const write = scan(text);
    const { lines } = intakeLines(write, [0, 2], "ns", "1");
    expect(lines.map((l) => l.line)).toEqual([write.lines[0], write.lines[2]]);
    expect(lines[0]!.line).toBe(write.lines[0]);
  });

  it("guesses each line's unit under auto", () => {
    const write = scan(
      "m f=1 1700000000\nm f=2 1700000000000\nm f=3 1700000000000000\nm f=4 1700000000000000000",
    );
    expect(intakeLines(write, undefined, "auto", "").lines.map((l) => l.line)).toEqual([
      "m f=1 1700000000000000000",
      "m f=2 1700000000000000000",
      "m f=3 1700000000000000000",
      "m f=4 1700000000000000000",
    ]);
  });

  it("counts and leaves out a line whose timestamp overflows in nanoseconds", () => {
    const write = scan("m f=1 9223372037\nm f=2 1");
    const { lines, outOfRange } = intakeLines(write, undefined, "s", "");
    expect(outOfRange).toBe(1);
    expect(lines).toEqual([{ table: "m", line: "m f=2 1000000000" }]);
  });
});
