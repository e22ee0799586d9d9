import { ArgsError, IssueList } from "./errors.js";

/** Duration units and their length in ms. `m` is read as minutes: the seed's own example writes `aggregate_interval=1m`. */
const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ["s", 1_000],
  ["min", 60_000],
  ["m", 60_000],
  ["h", 3_600_000],
  ["d", 86_400_000],
  ["w", 604_800_000],
]);

/** What a duration looks like, for messages. */
export const DURATION_EXPECTED = "<number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h)";

const DURATION = /^(\d+)([a-z]+)$/;

/** The result of reading a duration: its length, or why it is not one. */
export type DurationResult = { ok: true; ms: number } | { ok: false; expected: string };

/**
 * Reads `<number><unit>` (units `s`, `min` (or `m`), `h`, `d`, `w`; a whole number >= 1) into ms.
 * With `allowZero`, a bare `0` is also accepted (an offset of nothing).
 */
export function readDuration(text: string, options: { allowZero?: boolean } = {}): DurationResult {
  if (options.allowZero === true && text === "0") return { ok: true, ms: 0 };
  const expected = options.allowZero === true ? `${DURATION_EXPECTED}, or 0` : DURATION_EXPECTED;
  const match = DURATION.exec(text);
  if (match === null) return { ok: false, expected };
  const unitMs = UNIT_MS.get(match[2] ?? "");
  const count = Number(match[1]);
  if (unitMs === undefined || count < 1) return { ok: false, expected };
  const ms = count * unitMs;
  if (!Number.isSafeInteger(ms)) return { ok: false, expected: `a duration shorter than 285,000 years` };
  return { ok: true, ms };
}

/**
 * Parses a duration such as `10s`, `5min`, `1h`, `2d`, `1w` into milliseconds. Throws an {@link ArgsError}
 * naming `duration` (or `argument`, if given) when the text is not one.
 *
 * @example parseDuration("5min") // 300000
 */
export function parseDuration(text: string, argument = "duration"): number {
  const result = readDuration(text);
  if (result.ok) return result.ms;
  const issues = new IssueList();
  issues.add(argument, result.expected, text);
  throw new ArgsError(issues.list());
}

const FORMAT_UNITS: readonly (readonly [string, number])[] = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["min", 60_000],
  ["s", 1_000],
];

/**
 * Writes a whole number of seconds (in ms) in the largest unit that divides it exactly, so that
 * `parseDuration(formatDuration(ms)) === ms`: `formatDuration(5_400_000)` is `90min`. `0` gives `"0"`.
 * Throws a `RangeError` for a negative or fractional number of seconds.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  if (!Number.isSafeInteger(ms) || ms < 0 || ms % 1_000 !== 0) {
    throw new RangeError(
      `[edr-args] formatDuration: expected a whole, positive number of seconds in ms, got ${ms}`,
    );
  }
  for (const [unit, unitMs] of FORMAT_UNITS) {
    if (ms % unitMs === 0) return `${ms / unitMs}${unit}`;
  }
  throw new RangeError("unreachable");
}
