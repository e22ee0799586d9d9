import { describe, expect, it } from "vitest";
import { TransformError } from "./errors.js";
import { escapeName, formatFloat, quoteString } from "./escape.js";
import { formatPoint, formatPoints } from "./format.js";
import { parseLines } from "./parse.js";
import type { Point } from "./point.js";

const float = (value: number) => ({ type: "float", value }) as const;

describe("formatPoint", () => {
  it("writes measurement, sorted-as-given tags, typed fields and the timestamp", () => {
    const point: Point = {
      measurement: "cpu",
      tags: { host: "a", region: "eu" },
      fields: {
        f: float(1.5),
        i: { type: "integer", value: -42n },
        u: { type: "unsigned", value: 42n },
        s: { type: "string", value: 'say "hi"\\' },
        b: { type: "boolean", value: false },
      },
      timestamp: 1700000000000000001n,
    };
    expect(formatPoint(point)).toBe(
      'cpu,host=a,region=eu f=1.5,i=-42i,u=42u,s="say \\"hi\\"\\\\",b=false 1700000000000000001',
    );
  });

  it("leaves out tags with empty values and the timestamp when absent", () => {
    expect(formatPoint({ measurement: "m", tags: { a: "", b: "x" }, fields: { f: float(1) } })).toBe(
      "m,b=x f=1",
    );
  });

  it("writes floats that read back to the same bits", () => {
    const values = [
      -0,
      0,
      5e-324,
      -5e-324,
      1.7976931348623157e308,
      1e21,
      1e-7,
      0.1,
      1 / 3,
      123456789012345680000,
    ];
    const line = formatPoint({
      measurement: "m",
      tags: {},
      fields: Object.fromEntries(values.map((v, i) => [`f${i}`, float(v)])),
    });
    expect(line).toBe(
      "m f0=-0,f1=0,f2=5e-324,f3=-5e-324,f4=1.7976931348623157e+308,f5=1e+21,f6=1e-7,f7=0.1,f8=0.3333333333333333,f9=123456789012345680000",
    );
    const back = Object.values(parseLines(line)[0]!.fields).map((f) => f.value);
    values.forEach((v, i) => expect(Object.is(back[i], v)).toBe(true));
  });

  it("rejects NaN and infinities naming the field", () => {
    for (const value of [NaN, Infinity, -Infinity]) {
      expect(() =>
        formatPoint({ measurement: "m", tags: {}, fields: { ok: float(1), temp: float(value) } }),
      ).toThrow(`[edr-transform] field "temp" of "m": ${value} is not a finite float`);
    }
  });

  it("rejects integers out of range and integers given as numbers", () => {
    const point = (field: Point["fields"][string]): Point => ({
      measurement: "m",
      tags: {},
      fields: { n: field },
    });
    expect(formatPoint(point({ type: "integer", value: -(2n ** 63n) }))).toBe("m n=-9223372036854775808i");
    expect(formatPoint(point({ type: "unsigned", value: 2n ** 64n - 1n }))).toBe("m n=18446744073709551615u");
    expect(() => formatPoint(point({ type: "integer", value: 2n ** 63n }))).toThrow(
      /field "n" of "m": 9223372036854775808 is not an int64/,
    );
    expect(() => formatPoint(point({ type: "unsigned", value: -1n }))).toThrow(/not a uint64/);
    expect(() => formatPoint(point({ type: "integer", value: 5 as unknown as bigint }))).toThrow(
      /expected a bigint/,
    );
    expect(() => formatPoint({ measurement: "m", tags: {}, fields: {}, timestamp: 1n })).toThrow(
      /has no field/,
    );
    expect(() =>
      formatPoint({ measurement: "m", tags: {}, fields: { f: float(1) }, timestamp: 2n ** 63n }),
    ).toThrow(/int64/);
  });

  it("formats every point of a batch", () => {
    expect(formatPoints([{ measurement: "a", tags: {}, fields: { f: float(1) } }])).toEqual(["a f=1"]);
  });
});

describe("escapeName", () => {
  it("escapes comma and space in measurements, and also = in keys and tag values", () => {
    expect(escapeName("a b,c=d", "measurement")).toBe("a\\ b\\,c=d");
    expect(escapeName("a b,c=d", "tag key")).toBe("a\\ b\\,c\\=d");
    expect(escapeName("a b,c=d", "tag value")).toBe("a\\ b\\,c\\=d");
    expect(escapeName("plain", "field key")).toBe("plain");
  });

  it("doubles a backslash only where the parser would read it as an escape", () => {
    expect(escapeName("C:\\temp", "tag value")).toBe("C:\\temp");
    expect(escapeName("a\\,b", "tag value")).toBe("a\\\\\\,b");
    expect(escapeName("a\\\\b", "tag value")).toBe("a\\\\\\b");
    expect(escapeName("a\\=b", "measurement")).toBe("a\\=b");
    expect(escapeName("a\\=b", "field key")).toBe("a\\\\\\=b");
  });

  it("refuses names no line can carry", () => {
    const cases: [string, Parameters<typeof escapeName>[1], string][] = [
      ["", "tag key", "it is empty"],
      ["a\\", "tag value", "ends with a backslash"],
      ["a\tb", "field key", "holds a tab"],
      ["a\nb", "tag value", "holds a newline"],
      ["a\0b", "measurement", "NUL"],
      ["#m", "measurement", "comment"],
    ];
    for (const [name, context, why] of cases) {
      expect(() => escapeName(name, context)).toThrow(TransformError);
      expect(() => escapeName(name, context)).toThrow(why);
    }
    expect(escapeName("#k", "tag key")).toBe("#k");
    expect(escapeName("a\0b", "tag value")).toBe("a\0b");
  });
});

describe("quoteString and formatFloat", () => {
  it("escapes quotes and backslashes only", () => {
    expect(quoteString('a"b\\c\nd')).toBe('"a\\"b\\\\c\nd"');
    expect(quoteString("")).toBe('""');
  });

  it("spells -0 and refuses non-finite values", () => {
    expect(formatFloat(-0)).toBe("-0");
    expect(formatFloat(NaN)).toBeUndefined();
    expect(formatFloat(-Infinity)).toBeUndefined();
  });
});
