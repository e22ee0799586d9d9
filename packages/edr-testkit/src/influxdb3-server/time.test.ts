import { describe, expect, it } from "vitest";
import { encodeRows, encodeValue } from "./json-encoding.js";
import { formatTime, parseTime } from "./time.js";

describe("formatTime", () => {
  it.each([
    [2998574931000000000n, "2065-01-07T17:28:51"],
    [1744984965331000000n, "2025-04-18T14:02:45.331"],
    [1737392500690067000n, "2025-01-20T17:01:40.690067"],
    [1n, "1970-01-01T00:00:00.000000001"],
    [0n, "1970-01-01T00:00:00"],
    [1_100_000n, "1970-01-01T00:00:00.001100"],
    [-1n, "1969-12-31T23:59:59.999999999"],
    [-1_000_000_000n, "1969-12-31T23:59:59"],
    [-(2n ** 63n), "1677-09-21T00:12:43.145224192"],
    [2n ** 63n - 1n, "2262-04-11T23:47:16.854775807"],
  ])("prints %s ns as %s, as InfluxDB 3 does", (ns, text) => {
    expect(formatTime(ns)).toBe(text);
  });
});

describe("parseTime", () => {
  it.each([
    ["2025-04-18T14:02:45Z", 1744984965000000000n],
    ["2025-04-18T14:02:45.331Z", 1744984965331000000n],
    ["2025-04-18T14:02:45.000000001Z", 1744984965000000001n],
    ["2025-04-18 14:02:45", 1744984965000000000n],
    ["2025-04-18T16:02:45+02:00", 1744984965000000000n],
    ["2025-04-18T12:02:45.5-02:00", 1744984965500000000n],
    ["1969-12-31T23:59:59.999999999Z", -1n],
  ])("reads %s", (text, ns) => {
    expect(parseTime(text)).toBe(ns);
  });

  it.each([
    "2025-02-30T00:00:00Z",
    "2025-04-18",
    "2025-04-18T24:00:00Z",
    "2025-04-18T14:02:45.1234567890Z",
    "now()",
  ])("refuses %s", (text) => {
    expect(parseTime(text)).toBeUndefined();
  });
});

describe("JSON encoding", () => {
  it("prints int64 and uint64 bounds exactly, not through a double", () => {
    expect(encodeValue({ type: "integer", value: -(2n ** 63n) })).toBe("-9223372036854775808");
    expect(encodeValue({ type: "integer", value: 2n ** 63n - 1n })).toBe("9223372036854775807");
    expect(encodeValue({ type: "unsigned", value: 2n ** 64n - 1n })).toBe("18446744073709551615");
    expect(encodeValue({ type: "integer", value: 2n ** 53n + 1n })).toBe("9007199254740993");
  });

  it("prints whole floats with .0 and keeps the shortest round-trip form", () => {
    expect(encodeValue({ type: "float", value: 21 })).toBe("21.0");
    expect(encodeValue({ type: "float", value: -0 })).toBe("-0.0");
    expect(encodeValue({ type: "float", value: 0.1 })).toBe("0.1");
    expect(encodeValue({ type: "float", value: 1.7976931348623157e308 })).toBe("1.7976931348623157e+308");
    expect(encodeValue({ type: "float", value: 5e-324 })).toBe("5e-324");
  });

  it("escapes strings and tags as JSON and prints booleans", () => {
    expect(encodeValue({ type: "string", value: 'a"b\\c\nd' })).toBe('"a\\"b\\\\c\\nd"');
    expect(encodeValue({ type: "tag", value: "x" })).toBe('"x"');
    expect(encodeValue({ type: "boolean", value: false })).toBe("false");
  });

  it("leaves NULL columns out and encodes empty results as [] and an empty body", () => {
    const row = new Map([["b", { type: "boolean" as const, value: true }]]);
    expect(encodeRows([row], ["a", "b"], "json")).toBe('[{"b":true}]');
    expect(encodeRows([row, row], ["a", "b"], "jsonl")).toBe('{"b":true}\n{"b":true}\n');
    expect(encodeRows([], ["a"], "json")).toBe("[]");
    expect(encodeRows([], ["a"], "jsonl")).toBe("");
  });
});
