import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { problems } from "../test/helpers.js";
import { formatDuration, parseDuration, readDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["1s", 1_000],
    ["10s", 10_000],
    ["5min", 300_000],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1w", 604_800_000],
    ["007s", 7_000],
    ["90min", 5_400_000],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("refuses everything that is not <number><unit> with number >= 1", () => {
    const bad = [
      "",
      "0s",
      "0",
      "10",
      "s",
      "1.5h",
      "-1h",
      "+1h",
      "1 h",
      " 1h",
      "1H",
      "1ms",
      "1y",
      "1mins",
      "1e3s",
      "１s",
    ];
    for (const text of bad) expect(readDuration(text).ok, text).toBe(false);
  });

  it("reports the argument, what was expected and what came in", () => {
    expect(problems(() => parseDuration("10x", "window"))).toMatchInlineSnapshot(`
      [
        "window: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "10x"",
      ]
    `);
  });

  it("refuses a duration too long for a safe integer of ms", () => {
    expect(problems(() => parseDuration("99999999999w"))).toMatchInlineSnapshot(`
      [
        "duration: expected a duration shorter than 285,000 years, got "99999999999w"",
      ]
    `);
  });

  it("accepts a bare 0 only when asked to (offset)", () => {
    expect(readDuration("0", { allowZero: true })).toEqual({ ok: true, ms: 0 });
    expect(readDuration("0").ok).toBe(false);
    expect(readDuration("0s", { allowZero: true }).ok).toBe(false);
  });
});

describe("formatDuration", () => {
  it("writes the largest unit that divides exactly", () => {
    expect(formatDuration(0)).toBe("0");
    expect(formatDuration(1_000)).toBe("1s");
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(5_400_000)).toBe("90min");
    expect(formatDuration(604_800_000 * 3)).toBe("3w");
  });

  it("refuses what no duration argument can express", () => {
    expect(() => formatDuration(1_500)).toThrow(RangeError);
    expect(() => formatDuration(-1_000)).toThrow(RangeError);
  });

  it("round-trips every whole number of seconds: parse(format(ms)) === ms", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Math.floor(Number.MAX_SAFE_INTEGER / 1_000) }), (seconds) => {
        const ms = seconds * 1_000;
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it("round-trips every written duration to its canonical form: format(parse(text)) reads back the same", () => {
    const unit = fc.constantFrom("s", "min", "m", "h", "d", "w");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), unit, (count, u) => {
        const ms = parseDuration(`${count}${u}`);
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
