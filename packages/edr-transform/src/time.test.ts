import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dateTimeToNanosText, nanosText, rowTimeSuffix, rowTimeToNanosText } from "./time.js";

describe("dateTimeToNanosText", () => {
  it("reads the SQL endpoint's zone-less UTC times with 0, 3, 6 or 9 fraction digits", () => {
    expect(dateTimeToNanosText("2065-01-07T17:28:51")).toBe("2998574931000000000");
    expect(dateTimeToNanosText("2025-04-18T14:02:45.331")).toBe("1744984965331000000");
    expect(dateTimeToNanosText("2025-01-20T17:01:40.690067")).toBe("1737392500690067000");
    expect(dateTimeToNanosText("1970-01-01T00:00:00.000000001")).toBe("1");
    expect(dateTimeToNanosText("1970-01-01T00:00:00")).toBe("0");
    expect(dateTimeToNanosText("1969-12-31T23:59:59.999999999")).toBe("-1");
    expect(dateTimeToNanosText("1677-09-21T00:12:43.145224192Z")).toBe("-9223372036854775808");
    expect(dateTimeToNanosText("2262-04-11T23:47:16.854775807")).toBe("9223372036854775807");
  });

  it("refuses malformed or out-of-range times", () => {
    for (const bad of [
      "2025-13-01T00:00:00",
      "2025-02-29T00:00:00",
      "2025-01-01T24:00:00",
      "2025-01-01",
      "2025-01-01T00:00:00.",
      "2025-01-01T00:00:00.1234567890",
      "2262-04-11T23:47:16.854775808",
      "2025-01-01T00:00:00+01:00",
    ]) {
      expect(dateTimeToNanosText(bad), bad).toBeUndefined();
    }
  });

  it("agrees with Date for every millisecond time, and with bigint arithmetic for the nanoseconds", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1678-01-01"), max: new Date("2261-12-31"), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999_999 }),
        (date, extra) => {
          const iso = date.toISOString().slice(0, 23);
          const text = iso + String(extra).padStart(6, "0");
          expect(BigInt(dateTimeToNanosText(text)!)).toBe(
            BigInt(date.getTime()) * 1_000_000n + BigInt(extra),
          );
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: -9_000_000_000, max: 9_000_000_000 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        (s, f) => {
          expect(nanosText(s, f)).toBe((BigInt(s) * 1_000_000_000n + BigInt(f)).toString());
        },
      ),
    );
  });

  it("ends a line the same way for a row time (a space, then the same nanoseconds)", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1678-01-01"), max: new Date("2261-12-31"), noInvalidDate: true }),
        fc.nat(9),
        fc.nat(999_999_999),
        (date, digits, fraction) => {
          const fractionText = String(fraction).padStart(9, "0").slice(0, digits);
          const text = date.toISOString().slice(0, 19) + (digits === 0 ? "" : "." + fractionText);
          // The same second twice: the cached seconds serve both forms.
          for (let k = 0; k < 2; k++) expect(rowTimeSuffix(text)).toBe(" " + rowTimeToNanosText(text)!);
        },
      ),
      { numRuns: 2000 },
    );
    expect(rowTimeSuffix(17n)).toBe(" 17");
    expect(rowTimeSuffix("2025-02-30T00:00:00")).toBeUndefined();
  });
});
