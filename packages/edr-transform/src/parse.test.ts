import { describe, expect, it } from "vitest";
import { LineProtocolError } from "./errors.js";
import { parseLines, splitLines, tryParseLines } from "./parse.js";

function errorOf(text: string): LineProtocolError {
  try {
    parseLines(text);
  } catch (error) {
    if (error instanceof LineProtocolError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe("parseLines", () => {
  it("reads measurement, tags, every field type and the timestamp", () => {
    const [point] = parseLines('cpu,host=a,region=eu f=1.5,i=-42i,u=42u,s="x",b=true 1700000000000000001');
    expect(point).toEqual({
      measurement: "cpu",
      tags: { host: "a", region: "eu" },
      fields: {
        f: { type: "float", value: 1.5 },
        i: { type: "integer", value: -42n },
        u: { type: "unsigned", value: 42n },
        s: { type: "string", value: "x" },
        b: { type: "boolean", value: true },
      },
      timestamp: 1700000000000000001n,
    });
  });

  it("leaves the timestamp out when the line has none", () => {
    expect(parseLines("m f=1")[0]).toEqual({
      measurement: "m",
      tags: {},
      fields: { f: { type: "float", value: 1 } },
    });
  });

  it("accepts every boolean spelling", () => {
    const spellings = ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"];
    const [point] = parseLines("m " + spellings.map((s, i) => `b${i}=${s}`).join(","));
    expect(Object.values(point!.fields).map((f) => f.value)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(() => parseLines("m b=tRue")).toThrow(LineProtocolError);
    expect(() => parseLines("m b=yes")).toThrow(LineProtocolError);
  });

  it("unescapes names as InfluxDB 3 does", () => {
    const [point] = parseLines(String.raw`my\ cpu\,x,ta\=g\ k=v\,a\ l\=ue fi\,e\ ld\=k=1 1`);
    expect(point!.measurement).toBe("my cpu,x");
    expect(point!.tags).toEqual({ "ta=g k": "v,a l=ue" });
    expect(Object.keys(point!.fields)).toEqual(["fi,e ld=k"]);
  });

  it("reads \\\\ as one backslash and keeps a backslash before any other character", () => {
    const [point] = parseLines(String.raw`C:\temp\\x,k\a=v\\\,w f=1`);
    expect(point!.measurement).toBe(String.raw`C:\temp\x`);
    expect(point!.tags).toEqual({ [String.raw`k\a`]: String.raw`v\,w` });
    // `=` needs no escape in a measurement, so `\=` there is a literal backslash and `=`.
    expect(parseLines(String.raw`a\=b f=1`)[0]!.measurement).toBe(String.raw`a\=b`);
  });

  it("reads strings with escaped quotes, backslashes and raw newlines", () => {
    const text = 'm s="a \\"quoted\\" \\\\ back\\slash\nsecond line",t="" 5\nm2 f=2';
    const points = parseLines(text);
    expect(points.map((p) => p.fields)).toEqual([
      {
        s: { type: "string", value: 'a "quoted" \\ back\\slash\nsecond line' },
        t: { type: "string", value: "" },
      },
      { f: { type: "float", value: 2 } },
    ]);
  });

  it("skips blank lines, leading whitespace and comments", () => {
    const points = parseLines("# header\n\n   m f=1\n\t# indented comment\nn f=2\n");
    expect(points.map((p) => p.measurement)).toEqual(["m", "n"]);
  });

  it("keeps int64 and uint64 bounds exact and rejects one past them", () => {
    const [point] = parseLines(
      "m a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u,d=0u,e=-0i",
    );
    expect(point!.fields).toEqual({
      a: { type: "integer", value: -9223372036854775808n },
      b: { type: "integer", value: 9223372036854775807n },
      c: { type: "unsigned", value: 18446744073709551615n },
      d: { type: "unsigned", value: 0n },
      e: { type: "integer", value: 0n },
    });
    expect(errorOf("m a=9223372036854775808i").reason).toMatch(/int64/);
    expect(errorOf("m a=-9223372036854775809i").reason).toMatch(/int64/);
    expect(errorOf("m a=18446744073709551616u").reason).toMatch(/uint64/);
    expect(errorOf("m a=-1u").reason).toMatch(/negative/);
    expect(parseLines("m a=0000000000000000000001i")[0]!.fields.a).toEqual({ type: "integer", value: 1n });
  });

  it("reads float spellings to the same bits", () => {
    const [point] = parseLines("m a=-0,b=5e-324,c=1.7976931348623157e+308,d=1E5,e=-1.5e-7,f=007.50,g=1e21");
    const values = Object.values(point!.fields).map((f) => f.value);
    expect(values).toEqual([-0, 5e-324, 1.7976931348623157e308, 1e5, -1.5e-7, 7.5, 1e21]);
    expect(Object.is(values[0], -0)).toBe(true);
    for (const bad of [
      "m a=1.",
      "m a=.5",
      "m a=+1",
      "m a=1e",
      "m a=1.5x",
      "m a=NaN",
      "m a=inf",
      "m a=1e400",
    ]) {
      expect(() => parseLines(bad), bad).toThrow(LineProtocolError);
    }
  });

  it("reads timestamps as int64 and rejects what InfluxDB 3 rejects around them", () => {
    expect(parseLines("m f=1 -9223372036854775808")[0]!.timestamp).toBe(-9223372036854775808n);
    expect(parseLines("m f=1 5   ")[0]!.timestamp).toBe(5n);
    expect(errorOf("m f=1 9223372036854775808").reason).toMatch(/int64/);
    expect(errorOf("m f=1 12\r").reason).toMatch(/after the timestamp/);
    expect(errorOf("m f=1 ").reason).toMatch(/timestamp/);
    expect(errorOf("m f=1 1.5").reason).toMatch(/after the timestamp/);
  });

  it("names the line and column of the first problem", () => {
    const error = errorOf("ok f=1\n# comment\nm,t= f=1");
    expect(error.line).toBe(3);
    expect(error.column).toBe(5);
    expect(error.message).toMatchInlineSnapshot(
      `"[edr-transform] line 3, column 5: expected a tag value (a tag with an empty value is left out)"`,
    );
    const inString = errorOf('m s="two\nlines" x');
    expect([inString.line, inString.column]).toEqual([2, 8]);
  });

  it.each([
    ["", "m"],
    ["expected a measurement", ",t=1 f=1"],
    ["expected a tag key", "m, f=1"],
    ["expected '=' after the tag key", "m,t f=1"],
    ["expected '=' after the field key", "m f"],
    ["expected a field value", "m f="],
    ["unterminated string", 'm f="abc'],
    ["cannot end with a backslash", "m\\"],
    ["cannot end with a backslash", "m,t=a\\\\ f=1"],
    ["expected a space", "m\tf=1"],
    ["expected a field key", "m f=1,"],
    ["appears twice", "m,t=1,t=2 f=1"],
    ["appears twice", "m f=1,f=2"],
  ])("rejects invalid lines (%s)", (reason, line) => {
    const error = errorOf(line);
    expect(error).toBeInstanceOf(LineProtocolError);
    expect(error.code).toBe("LINE_PROTOCOL");
    if (reason !== "") expect(error.reason).toContain(reason);
  });

  it("reads a comma in a field or tag key as part of the key, as InfluxDB 3 does", () => {
    const [point] = parseLines("m,a,b=1 ,f=1");
    expect(point!.tags).toEqual({ "a,b": "1" });
    expect(Object.keys(point!.fields)).toEqual([",f"]);
  });

  it("keeps __proto__ and other prototype names as ordinary tags and fields", () => {
    const [point] = parseLines("m,__proto__=x,constructor=y __proto__=1i,toString=2i");
    expect(Object.keys(point!.tags)).toEqual(["__proto__", "constructor"]);
    expect(Object.hasOwn(point!.fields, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(point!.tags)).toBe(Object.prototype);
  });
});

describe("tryParseLines", () => {
  it("keeps the good lines and reports each bad one", () => {
    const result = tryParseLines("a f=1\nb f=\nc f=3\nd,x f=1");
    expect(result.points.map((p) => p.measurement)).toEqual(["a", "c"]);
    expect(result.errors.map((e) => [e.line, e.column])).toEqual([
      [2, 5],
      [4, 4],
    ]);
  });
});

describe("splitLines", () => {
  it("splits a body as the server does: not inside quoted strings, without blank and comment lines", () => {
    const body = '# header\ncpu f=1 1\n\n  mem s="two\nlines",g=2 2\r\n# tail';
    expect(splitLines(body)).toEqual(["cpu f=1 1", 'mem s="two\nlines",g=2 2\r']);
  });
});
