import { describe, expect, it } from "vitest";
import {
  TableReader,
  locateTimestamp,
  locateTimestampIn,
  measurementEnd,
  stampIn,
  toNanosText,
  unescapeMeasurement,
} from "./line-times.js";

function locate(line: string): { timestamp: string | undefined; stampAt: number } {
  const out = new Int32Array(2);
  locateTimestamp(line, out, 0);
  if (Buffer.from(line).length === line.length) {
    // The byte version finds the same, in the line placed anywhere in a body.
    const inBody = new Int32Array(2);
    locateTimestampIn(Buffer.from(`x f=1 9\n${line}\n`), 8, 8 + line.length, inBody, 0);
    expect(inBody).toEqual(out);
  }
  return out[0]! >= 0
    ? { timestamp: line.slice(out[0], out[1]), stampAt: -1 }
    : { timestamp: undefined, stampAt: out[1]! };
}

describe("locateTimestamp", () => {
  it.each([
    ["cpu,host=a usage=1.5 1700000000000000000", "1700000000000000000"],
    ["cpu usage=1i -5", "-5"],
    ["cpu usage=1i   42", "42"],
    ["cpu usage=1i 42  \t", "42"],
    ['cpu s="a 12" 7', "7"],
    ['cpu s="line\nbreak 12" 0', "0"],
    ["cpu f\\ 12=1 3", "3"],
  ])("finds the timestamp of %j", (line, timestamp) => {
    expect(locate(line).timestamp).toBe(timestamp);
  });

  it.each([
    ["cpu usage=1.5", 13],
    ["cpu usage=15", 12],
    ["cpu usage=-15", 13],
    ["cpu usage=1e5", 13],
    ["cpu usage=1E+5", 14],
    ["cpu usage=1e-5", 14],
    ["cpu usage=5i", 12],
    ["cpu usage=5u", 12],
    ["cpu up=t", 8],
    ['cpu s="a 12"', 12],
    ["cpu usage=15  ", 12],
    ["cpu usage=15\t", 12],
  ])("finds no timestamp in %j, a stamp going at %i", (line, stampAt) => {
    expect(locate(line)).toEqual({ timestamp: undefined, stampAt });
  });

  it("never takes a timestamp after a tab or a second minus (those lines stay invalid)", () => {
    expect(locate("cpu usage=1\t5").timestamp).toBeUndefined();
    expect(locate("cpu usage=1 --5").timestamp).toBeUndefined();
    expect(locate("cpu usage=1 1\r").timestamp).toBeUndefined();
  });
});

describe("toNanosText", () => {
  it("keeps a nanosecond timestamp as the same string", () => {
    const text = "1700000000000000123";
    expect(toNanosText(text, "ns")).toBe(text);
    expect(toNanosText("-9223372036854775808", "ns")).toBe("-9223372036854775808");
    expect(toNanosText("9223372036854775808", "ns")).toBeUndefined();
  });

  it.each([
    ["us", "1700000000000000", "1700000000000000000"],
    ["ms", "1700000000000", "1700000000000000000"],
    ["s", "1700000000", "1700000000000000000"],
    ["s", "-1", "-1000000000"],
    ["ms", "0", "0"],
    ["ms", "-0", "0"],
    ["ms", "007", "7000000"],
    ["m", "2", "120000000000"],
    ["h", "-1", "-3600000000000"],
  ] as const)("converts %s %s to %s ns", (unit, text, ns) => {
    expect(toNanosText(text, unit)).toBe(ns);
  });

  it("refuses what overflows int64 once in nanoseconds, and takes the extremes that fit", () => {
    expect(toNanosText("9223372036", "s")).toBe("9223372036000000000");
    expect(toNanosText("9223372037", "s")).toBeUndefined();
    expect(toNanosText("-9223372036", "s")).toBe("-9223372036000000000");
    expect(toNanosText("9223372036854775", "us")).toBe("9223372036854775000");
    expect(toNanosText("9223372036855", "ms")).toBeUndefined();
    expect(toNanosText("153722867", "m")).toBe("9223372020000000000");
    expect(toNanosText("153722868", "m")).toBeUndefined();
    expect(toNanosText("2562048", "h")).toBeUndefined();
  });

  it("guesses the unit under auto from the magnitude, as InfluxDB 3's guess_precision", () => {
    expect(toNanosText("4999999999", "auto")).toBe("4999999999000000000"); // < 5e9: seconds
    expect(toNanosText("5000000000", "auto")).toBe("5000000000000000"); // milliseconds
    expect(toNanosText("4999999999999", "auto")).toBe("4999999999999000000");
    expect(toNanosText("5000000000000", "auto")).toBe("5000000000000000"); // microseconds
    expect(toNanosText("4999999999999999", "auto")).toBe("4999999999999999000");
    expect(toNanosText("5000000000000000", "auto")).toBe("5000000000000000"); // nanoseconds, as is
    expect(toNanosText("1700000000", "auto")).toBe("1700000000000000000");
    expect(toNanosText("1700000000000", "auto")).toBe("1700000000000000000");
    expect(toNanosText("1700000000000000", "auto")).toBe("1700000000000000000");
    expect(toNanosText("1700000000000000000", "auto")).toBe("1700000000000000000");
    expect(toNanosText("-1700000000", "auto")).toBe("-1700000000000000000");
    expect(toNanosText("0", "auto")).toBe("0");
    expect(toNanosText("-9223372036854775808", "auto")).toBe("-9223372036854775808");
    expect(toNanosText("00000000000000001700000000", "auto")).toBe("1700000000000000000");
  });
});

describe("stampIn", () => {
  const now = 1_700_000_000_123.9;
  it.each([
    ["ns", "1700000000123000000"],
    ["auto", "1700000000123000000"],
    ["us", "1700000000123000"],
    ["ms", "1700000000123"],
    ["s", "1700000000"],
    ["m", "28333333"],
    ["h", "472222"],
  ] as const)("stamps %s as %s", (unit, stamp) => {
    expect(stampIn(unit, now)).toBe(stamp);
  });

  it("reads back under auto as nanoseconds", () => {
    const stamp = stampIn("auto", now);
    expect(toNanosText(stamp, "auto")).toBe(stamp);
  });
});

describe("measurements", () => {
  it("ends at the first unescaped comma, space or tab", () => {
    expect(measurementEnd("cpu,host=a f=1")).toBe(3);
    expect(measurementEnd("cpu f=1")).toBe(3);
    expect(measurementEnd("c\\,p\\ u,host=a f=1")).toBe(7);
    expect(measurementEnd("cpu")).toBe(3);
  });

  it("unescapes as InfluxDB 3 reads a measurement", () => {
    expect(unescapeMeasurement("c\\,p\\ u")).toBe("c,p u");
    expect(unescapeMeasurement("a\\\\b")).toBe("a\\b");
    expect(unescapeMeasurement("a\\=b")).toBe("a\\=b");
    expect(unescapeMeasurement("a\\xb")).toBe("a\\xb");
    expect(unescapeMeasurement("plain")).toBe("plain");
  });

  it("gives each line its table, reusing the last one for a run of one table", () => {
    const reader = new TableReader();
    expect(reader.tableOf("cpu,host=a f=1")).toBe("cpu");
    expect(reader.tableOf("cpu f=1")).toBe("cpu");
    expect(reader.tableOf("cpu2 f=1")).toBe("cpu2");
    expect(reader.tableOf("cpu f=1")).toBe("cpu");
    expect(reader.tableOf("a\\ b f=1")).toBe("a b");
    expect(reader.tableOf("a\\ b,t=1 f=1")).toBe("a b");
    expect(reader.tableOf("a\\ bc f=1")).toBe("a bc");
  });
});
