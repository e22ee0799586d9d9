import { Cron } from "croner";
import { DURATION_EXPECTED, parseDuration } from "edr-args";
import { PluginError } from "./errors.js";

/**
 * When a scheduled replication runs, as the engine's `--trigger-spec` says it: `every:<duration>` or
 * `cron:<six fields>`. `text` is what the user typed, for messages and status. A cron spec carries the zone
 * its fields are read in only when one was given; without it, the process's local zone is used, as the
 * engine uses the server's.
 */
export type TriggerSpec =
  | { kind: "every"; intervalMs: number; text: string }
  | { kind: "cron"; expression: string; text: string; timezone?: string };

const ARGUMENT = "--trigger-spec";
const CRON_FIELDS = "<second> <minute> <hour> <day of month> <month> <day of week>";
const CRON_EXPECTED = `cron:${CRON_FIELDS} (six fields, seconds first)`;
const SPEC_EXPECTED = `every:<duration> or ${CRON_EXPECTED}`;
const FIELD_COUNT_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** Parsed cron patterns, so that each tick does not parse the expression again. */
const cronCache = new WeakMap<TriggerSpec, Cron>();

/**
 * Reads a `--trigger-spec` for scheduled mode: `every:10s` (any duration edr-args reads, ticking on multiples
 * of it since the Unix epoch) or `cron:0 *\/5 * * * *` (six fields, seconds first, read in `options.timezone`,
 * an IANA zone such as `UTC`; default the process's local zone). Throws a {@link PluginError}
 * `INVALID_ARGUMENT` that says what was expected and what came in; the on-write specs `all_tables` and
 * `table:<name>` are refused with a pointer to `edr listen`.
 */
export function parseTriggerSpec(text: string, options: { timezone?: string } = {}): TriggerSpec {
  const spec = text.trim();
  if (spec === "all_tables" || spec.startsWith("table:")) {
    throw invalid(
      `${show(text)} is an on-write trigger spec; scheduled mode takes ${SPEC_EXPECTED}. ` +
        "To replicate each write as it arrives, use `edr listen`.",
    );
  }
  if (spec.startsWith("every:")) return parseEvery(spec.slice("every:".length).trim(), text);
  if (spec.startsWith("cron:")) return parseCron(spec.slice("cron:".length).trim(), text, options.timezone);
  throw invalid(`expected ${SPEC_EXPECTED}, got ${show(text)}`);
}

function parseEvery(duration: string, text: string): TriggerSpec {
  let intervalMs: number;
  try {
    intervalMs = parseDuration(duration, ARGUMENT);
  } catch (error) {
    // edr-args' message lists the issue in its own format; ours names the whole spec instead.
    throw invalid(`expected every:${DURATION_EXPECTED}, got ${show(text)}`, error);
  }
  return { kind: "every", intervalMs, text };
}

function parseCron(expression: string, text: string, timezone: string | undefined): TriggerSpec {
  const fields = expression === "" ? [] : expression.split(/\s+/);
  if (fields.length !== 6) {
    const count = FIELD_COUNT_WORDS[fields.length] ?? String(fields.length);
    throw invalid(
      `expected ${CRON_EXPECTED}, got ${show(text)} (${count} field${fields.length === 1 ? "" : "s"})`,
    );
  }
  if (timezone !== undefined) checkTimezone(timezone);
  const normalized = fields.join(" ");
  const spec: TriggerSpec =
    timezone === undefined
      ? { kind: "cron", expression: normalized, text }
      : { kind: "cron", expression: normalized, text, timezone };
  let cron: Cron;
  try {
    cron = createCron(normalized, timezone);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error);
    throw invalid(`expected ${CRON_EXPECTED}, got ${show(text)}: ${reason}`, error);
  }
  // A pattern such as `0 0 0 31 2 *` parses but names no date: the schedule would wait forever.
  if (cron.nextRun(new Date()) === null) {
    throw invalid(`${show(text)} never matches a date (expected ${CRON_EXPECTED} that names a real time)`);
  }
  cronCache.set(spec, cron);
  return spec;
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch (error) {
    throw invalid(`expected an IANA time zone such as UTC or Europe/Stockholm, got ${show(timezone)}`, error);
  }
}

function createCron(expression: string, timezone: string | undefined): Cron {
  // Paused and without a function: croner only evaluates the pattern, runSchedule owns the timers.
  return new Cron(expression, {
    mode: "6-part",
    paused: true,
    ...(timezone === undefined ? {} : { timezone }),
  });
}

/**
 * The first tick of `spec` strictly after `afterMs` (epoch ms), in epoch ms. `every:` ticks fall on multiples
 * of the interval since the Unix epoch (`every:1h` on the hour UTC), cron ticks on whole seconds. Returns
 * `Infinity` for a cron spec that has no later tick.
 */
export function nextTick(spec: TriggerSpec, afterMs: number): number {
  switch (spec.kind) {
    case "every":
      return (Math.floor(afterMs / spec.intervalMs) + 1) * spec.intervalMs;
    case "cron": {
      let cron = cronCache.get(spec);
      if (cron === undefined) {
        // A spec built by hand (or copied) rather than parsed: parse it once now.
        cron = createCron(spec.expression, spec.timezone);
        cronCache.set(spec, cron);
      }
      // croner counts from the whole second of the date given and steps at least one second past it.
      return cron.nextRun(new Date(afterMs))?.getTime() ?? Infinity;
    }
  }
}

function invalid(message: string, cause?: unknown): PluginError {
  return new PluginError("INVALID_ARGUMENT", `${ARGUMENT}: ${message}`, cause === undefined ? {} : { cause });
}

function show(value: string): string {
  return JSON.stringify(value);
}
