import { NINE, ZERO, isIntegerText } from "./escape.js";
import { INT64_MAX, INT64_MIN } from "./point.js";

const T = 84;
const SPACE_CHAR = 32;
const Z = 90;
const COLON = 58;
const DASH = 45;
const DOT_CHAR = 46;
const NINE_ZEROS = "000000000";

/** Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digits(s: string, a: number, b: number): number {
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return -1;
    v = v * 10 + (c - ZERO);
  }
  return v;
}

/**
 * Converts the SQL endpoint's zone-less UTC time (`2025-04-18T14:02:45.331`, fraction of 0 to 9 digits,
 * `T` or a space, an optional `Z`) to exact decimal nanoseconds since the epoch, without a bigint.
 * Returns undefined when the text is not such a time or falls outside the int64 nanosecond range.
 */
export function dateTimeToNanosText(s: string): string | undefined {
  return dateTimeText(s, false);
}

/** `dateTimeToNanosText`, with a leading space when `spaced` (the end of a line, in one piece fewer). */
function dateTimeText(s: string, spaced: boolean): string | undefined {
  const n = s.length;
  if (n < 19) return undefined;
  let seconds: number;
  let secondsText: string;
  // Rows of one query share their seconds often: parse "YYYY-MM-DDTHH:MM:SS" once per distinct second.
  if (cachedPrefix !== "" && s.startsWith(cachedPrefix)) {
    seconds = cachedSeconds;
    secondsText = spaced ? cachedSpacedSecondsText : cachedSecondsText;
  } else {
    const parsed = secondsOf(s);
    if (parsed === undefined) return undefined;
    seconds = parsed;
    cachedPrefix = s.slice(0, 19);
    cachedSeconds = seconds;
    cachedSecondsText = String(seconds);
    cachedSpacedSecondsText = " " + cachedSecondsText;
    secondsText = spaced ? cachedSpacedSecondsText : cachedSecondsText;
  }
  let end = n;
  if (s.charCodeAt(end - 1) === Z) end--;
  let fractionDigits = 0;
  if (end > 19) {
    fractionDigits = end - 20;
    if (s.charCodeAt(19) !== DOT_CHAR || fractionDigits < 1 || fractionDigits > 9) return undefined;
    for (let i = 20; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < ZERO || c > NINE) return undefined;
    }
  }
  if (seconds > 0 && seconds <= 9223372035) {
    // The fraction's digits, padded to nine, follow the seconds: no number-to-text per row.
    return fractionDigits === 0
      ? secondsText + NINE_ZEROS
      : secondsText + s.slice(20, end) + ZERO_PADS[9 - fractionDigits]!;
  }
  let fraction = fractionDigits === 0 ? 0 : digits(s, 20, end);
  for (let k = fractionDigits; k < 9; k++) fraction *= 10;
  const text = nanosText(seconds, fraction);
  // Seconds within ±9223372035 always fit; beyond that, check exactly.
  if (seconds > 9223372035 || seconds < -9223372035) {
    const ns = BigInt(text);
    if (ns < INT64_MIN || ns > INT64_MAX) return undefined;
  }
  return spaced ? " " + text : text;
}

// Padding by table: slicing NINE_ZEROS would make a new short string per row.
const ZERO_PADS = Array.from({ length: 10 }, (_, k) => "0".repeat(k));

let cachedPrefix = "";
let cachedSeconds = 0;
let cachedSecondsText = "";
let cachedSpacedSecondsText = "";

/** Seconds since the epoch of the "YYYY-MM-DDTHH:MM:SS" start of `s` (`T` or a space), or undefined. */
function secondsOf(s: string): number | undefined {
  if (s.charCodeAt(4) !== DASH || s.charCodeAt(7) !== DASH || s.charCodeAt(13) !== COLON) return undefined;
  const sep = s.charCodeAt(10);
  if ((sep !== T && sep !== SPACE_CHAR) || s.charCodeAt(16) !== COLON) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  const second = digits(s, 17, 19);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  if (second < 0 || second > 59 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

/** Exact decimal text of `seconds * 1e9 + fraction` for a safe-integer `seconds` and 0 <= fraction < 1e9. */
export function nanosText(seconds: number, fraction: number): string {
  if (seconds >= 0) {
    if (seconds === 0) return String(fraction);
    const f = String(fraction);
    return String(seconds) + NINE_ZEROS.slice(f.length) + f;
  }
  if (fraction === 0) return String(seconds) + NINE_ZEROS;
  const high = -seconds - 1;
  const low = String(1e9 - fraction);
  return "-" + (high === 0 ? low : String(high) + NINE_ZEROS.slice(low.length) + low);
}

/**
 * Nanosecond time of a row as exact decimal text: a zone-less UTC date-time string, decimal text, a bigint,
 * a safe-integer number, or a lossless number (`{ value: "…" }`). Undefined when it is none of those.
 */
export function rowTimeToNanosText(v: unknown): string | undefined {
  if (typeof v === "string") {
    if (v.length >= 19 && v.charCodeAt(4) === DASH) return dateTimeToNanosText(v);
    return isIntegerText(v, 0, v.length, true) ? v : undefined;
  }
  if (typeof v === "bigint") return v >= INT64_MIN && v <= INT64_MAX ? v.toString() : undefined;
  if (typeof v === "number") return Number.isSafeInteger(v) ? String(v) : undefined;
  if (typeof v === "object" && v !== null && typeof (v as { value?: unknown }).value === "string") {
    const text = (v as { value: string }).value;
    return isIntegerText(text, 0, text.length, true) ? text : undefined;
  }
  return undefined;
}

/** A space and {@link rowTimeToNanosText}: how a line ends. */
export function rowTimeSuffix(v: unknown): string | undefined {
  if (typeof v === "string" && v.length >= 19 && v.charCodeAt(4) === DASH) return dateTimeText(v, true);
  const text = rowTimeToNanosText(v);
  return text === undefined ? undefined : " " + text;
}
