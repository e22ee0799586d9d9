import { describe, expect, it } from "vitest";
import { PluginError } from "./errors.js";
import { nextTick, parseTriggerSpec, type TriggerSpec } from "./trigger-spec.js";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

function messageOf(text: string, options?: { timezone?: string }): string {
  try {
    parseTriggerSpec(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).code).toBe("INVALID_ARGUMENT");
    return (error as Error).message;
  }
  throw new Error(`parseTriggerSpec accepted ${JSON.stringify(text)}`);
}

describe("parseTriggerSpec", () => {
  it("reads every:<duration> in every unit edr-args reads", () => {
    expect(parseTriggerSpec("every:10s")).toEqual({ kind: "every", intervalMs: 10_000, text: "every:10s" });
    expect(parseTriggerSpec("every:5min")).toMatchObject({ intervalMs: 300_000 });
    expect(parseTriggerSpec("every:1h")).toMatchObject({ intervalMs: 3_600_000 });
    expect(parseTriggerSpec("every:2d")).toMatchObject({ intervalMs: 172_800_000 });
    expect(parseTriggerSpec("every:1w")).toMatchObject({ intervalMs: 604_800_000 });
  });

  it("reads cron:<six fields> and keeps the zone only when one is given", () => {
    expect(parseTriggerSpec("cron:0 */5 * * * *")).toEqual({
      kind: "cron",
      expression: "0 */5 * * * *",
      text: "cron:0 */5 * * * *",
    });
    expect(parseTriggerSpec("cron: 0  */5 * * * * ", { timezone: "UTC" })).toEqual({
      kind: "cron",
      expression: "0 */5 * * * *",
      text: "cron: 0  */5 * * * * ",
      timezone: "UTC",
    });
  });

  it("explains a malformed every: duration", () => {
    expect(messageOf("every:10")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected every:<number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "every:10""`,
    );
    expect(messageOf("every:0s")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected every:<number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "every:0s""`,
    );
    expect(messageOf("every:500ms")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected every:<number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "every:500ms""`,
    );
  });

  it("keeps edr-args' error as the cause", () => {
    try {
      parseTriggerSpec("every:10");
      expect.unreachable();
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(((error as Error).cause as Error).name).toBe("ArgsError");
    }
  });

  it("says how many cron fields came in and how many are expected", () => {
    expect(messageOf("cron:*/5 * * * *")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:*/5 * * * *" (five fields)"`,
    );
    expect(messageOf("cron:0 0 * * * * 2027")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:0 0 * * * * 2027" (seven fields)"`,
    );
    expect(messageOf("cron:")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:" (no fields)"`,
    );
    expect(messageOf("cron:@hourly")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:@hourly" (one field)"`,
    );
  });

  it("passes on croner's reason for a bad value or range", () => {
    expect(messageOf("cron:0 99 * * * *")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:0 99 * * * *": Invalid value for minute: 99"`,
    );
    expect(messageOf("cron:0 30-10 * * * *")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:0 30-10 * * * *": From value is larger than to value: '30-10'"`,
    );
    expect(messageOf("cron:0 */0 * * * *")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "cron:0 */0 * * * *": Syntax error, illegal stepping: 0"`,
    );
  });

  it("refuses a cron pattern that names no date", () => {
    expect(messageOf("cron:0 0 0 31 2 *", { timezone: "UTC" })).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: "cron:0 0 0 31 2 *" never matches a date (expected cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first) that names a real time)"`,
    );
  });

  it("refuses an unknown time zone", () => {
    expect(messageOf("cron:0 0 * * * *", { timezone: "Mars/Olympus" })).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected an IANA time zone such as UTC or Europe/Stockholm, got "Mars/Olympus""`,
    );
  });

  it("sends the on-write specs to edr listen", () => {
    expect(messageOf("all_tables")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: "all_tables" is an on-write trigger spec; scheduled mode takes every:<duration> or cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first). To replicate each write as it arrives, use \`edr listen\`."`,
    );
    expect(messageOf("table:cpu")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: "table:cpu" is an on-write trigger spec; scheduled mode takes every:<duration> or cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first). To replicate each write as it arrives, use \`edr listen\`."`,
    );
  });

  it("names both forms for anything else", () => {
    expect(messageOf("10s")).toMatchInlineSnapshot(
      `"[edr-plugin] --trigger-spec: expected every:<duration> or cron:<second> <minute> <hour> <day of month> <month> <day of week> (six fields, seconds first), got "10s""`,
    );
  });
});

describe("nextTick", () => {
  it("puts every: ticks on multiples of the interval since the epoch", () => {
    const spec = parseTriggerSpec("every:10s");
    expect(iso(nextTick(spec, at("2026-12-05T16:20:03.250Z")))).toBe("2026-12-05T16:20:10.000Z");
    expect(iso(nextTick(spec, at("2026-12-05T16:20:09.999Z")))).toBe("2026-12-05T16:20:10.000Z");
    expect(iso(nextTick(parseTriggerSpec("every:1h"), at("2026-12-05T16:20:03Z")))).toBe(
      "2026-12-05T17:00:00.000Z",
    );
    expect(iso(nextTick(parseTriggerSpec("every:7min"), 0))).toBe("1970-01-01T00:07:00.000Z");
  });

  it("is strictly after the time given, for both kinds", () => {
    const every = parseTriggerSpec("every:10s");
    expect(iso(nextTick(every, at("2026-12-05T16:20:10Z")))).toBe("2026-12-05T16:20:20.000Z");
    const cron = parseTriggerSpec("cron:*/10 * * * * *", { timezone: "UTC" });
    expect(iso(nextTick(cron, at("2026-12-05T16:20:10Z")))).toBe("2026-12-05T16:20:20.000Z");
    expect(iso(nextTick(cron, at("2026-12-05T16:20:10.500Z")))).toBe("2026-12-05T16:20:20.000Z");
    expect(iso(nextTick(cron, at("2026-12-05T16:20:09.500Z")))).toBe("2026-12-05T16:20:10.000Z");
  });

  it("reads cron fields seconds first, in the zone given", () => {
    const utc = parseTriggerSpec("cron:30 0 2 * * *", { timezone: "UTC" });
    expect(iso(nextTick(utc, at("2026-12-05T16:20:00Z")))).toBe("2026-12-06T02:00:30.000Z");
    // Kolkata is UTC+05:30: 02:00:30 there is 20:30:30 UTC the day before.
    const kolkata = parseTriggerSpec("cron:30 0 2 * * *", { timezone: "Asia/Kolkata" });
    expect(iso(nextTick(kolkata, at("2026-12-05T16:20:00Z")))).toBe("2026-12-05T20:30:30.000Z");
  });

  it("works on a cron spec built by hand", () => {
    const spec: TriggerSpec = {
      kind: "cron",
      expression: "0 */5 * * * *",
      text: "cron:0 */5 * * * *",
      timezone: "UTC",
    };
    expect(iso(nextTick(spec, at("2026-12-05T16:20:00Z")))).toBe("2026-12-05T16:25:00.000Z");
  });
});
