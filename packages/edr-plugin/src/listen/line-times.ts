// The timestamp and table of one line of line protocol, read without parsing the line: the timestamp
// from the end, the measurement from the start. Lines come split as InfluxDB 3 splits a body (edr-transform's
// `splitLines`: leading whitespace trimmed, newlines inside quoted strings kept in the line).
import type { TimeUnit } from "./write-endpoints.js";

const TAB = 9;
const SPACE = 32;
const COMMA = 44;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const BACKSLASH = 92;

/**
 * Finds where the timestamp of `line` is, reading from its end: after trailing spaces and tabs (which the
 * servers ignore), a run of digits with an optional minus, preceded by a space, is the timestamp. On a
 * valid line nothing else can look so: a field value ending in digits follows `=`, `.`, `e`, `+` or `-`,
 * and a string value ends with its quote. Writes `out[at]` = the timestamp's start, or -1 when the line
 * has none, and `out[at + 1]` = its end, or, without one, where a stamp goes (before trailing whitespace).
 * A line without one stays invalid with a stamp after it whenever it was invalid without: the stamp only
 * fills the place a server would have filled with its own clock.
 */
export function locateTimestamp(line: string, out: Int32Array, at: number): void {
  let end = line.length;
  let c = 0;
  while (end > 0 && ((c = line.charCodeAt(end - 1)) === SPACE || c === TAB)) end--;
  let start = end;
  while (start > 0 && (c = line.charCodeAt(start - 1)) >= ZERO && c <= NINE) start--;
  if (start < end) {
    if (start > 0 && line.charCodeAt(start - 1) === MINUS) start--;
    if (start > 0 && line.charCodeAt(start - 1) === SPACE) {
      out[at] = start;
      out[at + 1] = end;
      return;
    }
  }
  out[at] = -1;
  out[at + 1] = end;
}

/**
 * {@link locateTimestamp} on the line that is the bytes `[start, end)` of an ASCII body, with the same results
 * (offsets from the line's start), without making the line's string.
 */
export function locateTimestampIn(
  body: Buffer,
  start: number,
  end: number,
  out: Int32Array,
  at: number,
): void {
  let e = end;
  let c = 0;
  while (e > start && ((c = body[e - 1]!) === SPACE || c === TAB)) e--;
  let s = e;
  while (s > start && (c = body[s - 1]!) >= ZERO && c <= NINE) s--;
  if (s < e) {
    if (s > start && body[s - 1] === MINUS) s--;
    if (s > start && body[s - 1] === SPACE) {
      out[at] = s - start;
      out[at + 1] = e - start;
      return;
    }
  }
  out[at] = -1;
  out[at + 1] = e - start;
}

/** Decimal zeros that turn a timestamp in this unit into nanoseconds. */
const ZEROS: Readonly<Record<"us" | "ms" | "s", string>> = { us: "000", ms: "000000", s: "000000000" };
const NS_PER_MINUTE = 60_000_000_000n;
const NS_PER_HOUR = 3_600_000_000_000n;
const INT64_MAX_DIGITS = "9223372036854775807";
const INT64_MIN_DIGITS = "9223372036854775808";

/**
 * The timestamp `text` (an optional minus and decimal digits, in `unit`) in nanoseconds as decimal text, or
 * undefined when it is outside the signed 64-bit range once converted. A timestamp already in nanoseconds
 * (`ns`, or `auto` read as ns) comes back as the very same string. `auto` guesses the unit per timestamp
 * from its magnitude as InfluxDB 3 does (`guess_precision`): below 5e9 seconds, below 5e12 milliseconds,
 * below 5e15 microseconds, otherwise nanoseconds.
 */
export function toNanosText(text: string, unit: TimeUnit): string | undefined {
  const negative = text.charCodeAt(0) === MINUS;
  let from = negative ? 1 : 0;
  // Leading zeros do not count towards the magnitude or the range.
  while (from < text.length - 1 && text.charCodeAt(from) === ZERO) from++;
  const resolved = unit === "auto" ? guessUnit(text, from) : unit;
  switch (resolved) {
    case "ns":
      return fitsInt64(text, from, text.length - from, negative) ? text : undefined;
    case "us":
    case "ms":
    case "s": {
      if (text.length - from === 1 && text.charCodeAt(from) === ZERO) return "0";
      const zeros = ZEROS[resolved];
      const digits = text.length - from + zeros.length;
      if (digits > 19) return undefined;
      const ns = (negative ? "-" : "") + text.slice(from) + zeros;
      return digits < 19 || fitsInt64(ns, negative ? 1 : 0, 19, negative) ? ns : undefined;
    }
    case "m":
    case "h": {
      const ns = BigInt(text) * (resolved === "m" ? NS_PER_MINUTE : NS_PER_HOUR);
      return ns >= -(2n ** 63n) && ns < 2n ** 63n ? ns.toString() : undefined;
    }
  }
}

/** InfluxDB 3's `guess_precision` on a timestamp whose significant digits start at `from`. */
function guessUnit(text: string, from: number): "ns" | "us" | "ms" | "s" {
  // 17 digits or more is at least 1e16 ns: nanoseconds. Up to 16 digits a double holds the value exactly.
  if (text.length - from >= 17) return "ns";
  const abs = Math.abs(Number(text));
  if (abs < 5e9) return "s";
  if (abs < 5e12) return "ms";
  if (abs < 5e15) return "us";
  return "ns";
}

/** Whether the `digits` digits of `text` from `from` (no leading zeros) are within int64 with that sign. */
function fitsInt64(text: string, from: number, digits: number, negative: boolean): boolean {
  if (digits < 19) return true;
  if (digits > 19) return false;
  const bound = negative ? INT64_MIN_DIGITS : INT64_MAX_DIGITS;
  for (let i = 0; i < 19; i++) {
    const d = text.charCodeAt(from + i) - bound.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return true;
}

/**
 * The current time `nowMs` as a timestamp in `unit`, for lines that came without one. `auto` gets
 * nanoseconds, which InfluxDB 3 reads back as nanoseconds (any time after 1970-02-28 is above 5e15 ns).
 */
export function stampIn(unit: TimeUnit, nowMs: number): string {
  const ms = Math.floor(nowMs);
  switch (unit) {
    case "ns":
    case "auto":
      return ms === 0 ? "0" : `${ms}000000`;
    case "us":
      return ms === 0 ? "0" : `${ms}000`;
    case "ms":
      return String(ms);
    case "s":
      return String(Math.floor(ms / 1000));
    case "m":
      return String(Math.floor(ms / 60_000));
    case "h":
      return String(Math.floor(ms / 3_600_000));
  }
}

/** Where the measurement of `line` ends: at the first comma, space or tab no backslash escapes. */
export function measurementEnd(line: string): number {
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === COMMA || c === SPACE || c === TAB) return i;
    if (c === BACKSLASH) i++;
  }
  return n;
}

/**
 * A measurement as InfluxDB 3 reads it: `\,`, `\ ` and `\\` lose their backslash; a backslash before
 * anything else is kept, and the character after it is taken as it is.
 */
export function unescapeMeasurement(raw: string): string {
  if (!raw.includes("\\")) return raw;
  let out = "";
  let from = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== BACKSLASH) continue;
    const next = raw.charCodeAt(i + 1);
    if (next === BACKSLASH || next === COMMA || next === SPACE) {
      out += raw.slice(from, i);
      from = i + 1;
    }
    i++;
  }
  return out + raw.slice(from);
}

/**
 * The tables of a run of lines. Lines of one table usually come together: the last measurement is kept,
 * and a line that starts with it and a comma or space gets the same table string back without a new one
 * being made (scanning the same prefix gives the same measurement, so the check is exact).
 */
export class TableReader {
  private raw = "";
  private table = "";

  /** The unescaped measurement of `line`. */
  tableOf(line: string): string {
    const n = this.raw.length;
    if (n > 0 && line.length > n && line.startsWith(this.raw)) {
      const c = line.charCodeAt(n);
      if (c === COMMA || c === SPACE || c === TAB) return this.table;
    }
    const end = measurementEnd(line);
    const raw = line.slice(0, end);
    const table = unescapeMeasurement(raw);
    // A measurement that runs to the end of its line ended on no separator: not one to compare against.
    if (end < line.length) {
      this.raw = raw;
      this.table = table;
    }
    return table;
  }
}
