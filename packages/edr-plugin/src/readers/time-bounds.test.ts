import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PluginError } from "../errors.js";
import { checkTimeRange, formatRfc3339Nanos } from "./time-bounds.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

describe("formatRfc3339Nanos", () => {
  it.each([
    [0n, "1970-01-01T00:00:00.000000000Z"],
    [1n, "1970-01-01T00:00:00.000000001Z"],
    [-1n, "1969-12-31T23:59:59.999999999Z"],
    [-1_000_000_000n, "1969-12-31T23:59:59.000000000Z"],
    [1_745_000_000_123_456_789n, "2025-04-18T18:13:20.123456789Z"],
    [INT64_MAX, "2262-04-11T23:47:16.854775807Z"],
    [INT64_MIN, "1677-09-21T00:12:43.145224192Z"],
  ])("writes %s ns as %s", (ns, text) => {
    expect(formatRfc3339Nanos(ns)).toBe(text);
  });

  it("is exact to the nanosecond across the int64 range", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (ns) => {
        const text = formatRfc3339Nanos(ns);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        const seconds = BigInt(Date.parse(`${text.slice(0, 19)}Z`)) / 1000n;
        expect(seconds * 1_000_000_000n + BigInt(text.slice(20, 29))).toBe(ns);
      }),
    );
  });
});

describe("checkTimeRange", () => {
  it("says whether there is anything to read", () => {
    expect(checkTimeRange("cpu", 0n, 1n)).toBe(true);
    expect(checkTimeRange("cpu", 1n, 1n)).toBe(false);
    expect(checkTimeRange("cpu", 2n, 1n)).toBe(false);
    expect(checkTimeRange("cpu", INT64_MIN, INT64_MAX)).toBe(true);
  });

  it("refuses bounds outside int64 nanoseconds, naming the table", () => {
    expect(() => checkTimeRange("cpu", 0n, INT64_MAX + 1n)).toThrow(
      new PluginError(
        "INVALID_ARGUMENT",
        'reading table "cpu": endNs must be a bigint of int64 nanoseconds, got 9223372036854775808',
      ),
    );
    expect(() => checkTimeRange("cpu", 5 as unknown as bigint, 6n)).toThrow(/startNs must be a bigint/);
  });
});
