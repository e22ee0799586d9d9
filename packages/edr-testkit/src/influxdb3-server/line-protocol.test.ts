import { describe, expect, it } from "vitest";
import { parseLine, splitBody } from "./line-protocol.js";

describe("splitBody", () => {
  it("numbers only non-blank, non-comment lines and keeps newlines inside quoted strings", () => {
    expect(splitBody('# c\n\na f=1\n  \t\nb s="x\ny"\n  # indented comment\nc f=1\n')).toEqual([
      { lineNumber: 1, text: "a f=1" },
      { lineNumber: 2, text: 'b s="x\ny"' },
      { lineNumber: 3, text: "c f=1" },
    ]);
  });

  it("counts quotes only where a field value starts, so a quote in a tag value opens no string", () => {
    expect(splitBody('m,t=a"b f=1 1\nm,t=c f=2 2\nq"x f="a,b=c\nd" 3\nz f=1')).toEqual([
      { lineNumber: 1, text: 'm,t=a"b f=1 1' },
      { lineNumber: 2, text: "m,t=c f=2 2" },
      { lineNumber: 3, text: 'q"x f="a,b=c\nd" 3' },
      { lineNumber: 4, text: "z f=1" },
    ]);
  });

  it("trims leading spaces and tabs but not a carriage return, which makes a bad line", () => {
    expect(splitBody("  m f=1 1\n\tm f=2 2\n\r\n\t# c")).toEqual([
      { lineNumber: 1, text: "m f=1 1" },
      { lineNumber: 2, text: "m f=2 2" },
      { lineNumber: 3, text: "\r" },
    ]);
  });

  it("does not end a string at an escaped quote", () => {
    expect(splitBody('a s="q\\"\nstill" 1\nb f=1').map((l) => l.lineNumber)).toEqual([1, 2]);
  });
});

describe("parseLine", () => {
  it("decodes escapes pairwise: an escapable char after a backslash, else both kept", () => {
    // `\\` is an escaped backslash (InfluxDB 3's escaped_value; 1.x would keep both)
    expect(parseLine(String.raw`a\\,t=1 f\\g=1`)).toMatchObject({
      measurement: "a\\",
      tags: { t: "1" },
      fields: { "f\\g": { type: "float", value: 1 } },
    });
    expect(parseLine("a\\=b,t\\ k=v\\=w f\\,g=1")).toMatchObject({
      measurement: "a\\=b",
      tags: { "t k": "v=w" },
      fields: { "f,g": { type: "float", value: 1 } },
    });
  });

  it("reads every number form and boolean spelling", () => {
    const line =
      "m a=1,b=-1.5,c=0.5,d=1e3,e=-1.2e+78,f=12i,g=-12i,h=12u,i=t,j=T,k=true,l=True,m=TRUE,n=f,o=FALSE";
    const parsed = parseLine(line);
    expect(parsed).toMatchObject({
      fields: {
        a: { type: "float", value: 1 },
        b: { type: "float", value: -1.5 },
        c: { type: "float", value: 0.5 },
        d: { type: "float", value: 1000 },
        e: { type: "float", value: -1.2e78 },
        f: { type: "integer", value: 12n },
        g: { type: "integer", value: -12n },
        h: { type: "unsigned", value: 12n },
        i: { type: "boolean", value: true },
        m: { type: "boolean", value: true },
        o: { type: "boolean", value: false },
      },
      timestamp: undefined,
    });
  });

  it.each([
    ["m", "expected a space before the fields at byte 1"],
    ["m ", "empty field key at byte 2"],
    [",t=1 f=1", "empty measurement at byte 0"],
    ["m,t f=1", 'expected "=" after tag key "t"'],
    ["m f=1 1 2", 'invalid timestamp: expected an integer, got "1 2"'],
    ["m f=+1", 'invalid value for field "f": "+1"'],
    ["m f=1i2", 'invalid value for field "f": "1i2"'],
    ["m f=yes", 'invalid value for field "f": "yes"'],
    ["m f=1,t=2,f=3", 'field "f" appears more than once in the line'],
    ["m,x=1 x=1", '"x" is used as both a tag and a field'],
  ])("refuses %j", (line, error) => {
    expect(parseLine(line)).toEqual({ error });
  });

  it("takes a comma in a tag key or field key as a plain character, as InfluxDB 3 does", () => {
    expect(parseLine("n,a,b=c x,y=1")).toMatchObject({
      tags: { "a,b": "c" },
      fields: { "x,y": { type: "float", value: 1 } },
    });
  });

  it("refuses floats without digits on both sides of the point", () => {
    expect(parseLine("m f=.5")).toEqual({ error: 'invalid value for field "f": ".5"' });
    expect(parseLine("m f=1.")).toEqual({ error: 'invalid value for field "f": "1."' });
    expect(parseLine("m f=1.5E-3")).toMatchObject({ fields: { f: { type: "float", value: 0.0015 } } });
  });

  it("allows trailing spaces and a negative timestamp", () => {
    expect(parseLine("m f=1 -5  ")).toMatchObject({ timestamp: -5n });
    expect(parseLine("m f=1  ")).toMatchObject({ timestamp: undefined });
  });
});
