import { TransformError } from "./errors.js";

// Character codes used by every scanner and escaper of the package.
export const TAB = 9;
export const NL = 10;
export const SPACE = 32;
export const QUOTE = 34;
export const HASH = 35;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
export const ZERO = 48;
export const NINE = 57;
export const EQUALS = 61;
export const BACKSLASH = 92;

// Characters that make a name take the slow path: the ones escaped, the backslash (escaped only before an
// escapable character), and the ones no escape can carry (tab, newline, NUL).
const SPECIAL_IN_KEY = new Uint8Array(128);
const SPECIAL_IN_MEASUREMENT = new Uint8Array(128);
for (const c of [0, TAB, NL, SPACE, COMMA, BACKSLASH]) {
  SPECIAL_IN_KEY[c] = 1;
  SPECIAL_IN_MEASUREMENT[c] = 1;
}
SPECIAL_IN_KEY[EQUALS] = 1;

/** Where a name sits in a line: the measurement escapes `,` and space; keys and tag values also escape `=`. */
export type NameContext = "measurement" | "tag key" | "tag value" | "field key";

/**
 * Escapes a measurement, tag key, tag value or field key the way InfluxDB 3 parses it
 * (`influxdb_line_protocol`): `,` and space (and `=` outside the measurement) get a backslash; a backslash
 * stays bare unless it precedes a character the parser would take as an escape (`\`, `,`, space, `=`), where it
 * is written `\\`. Bare backslashes keep InfluxDB 1.x, which has no `\\` escape in names, reading the same name.
 * Throws for names no line can carry: empty, ending in a backslash, holding a tab or newline, a measurement
 * holding NUL or starting with `#` (it would be a comment).
 */
export function escapeName(name: string, context: NameContext): string {
  const measurement = context === "measurement";
  const table = measurement ? SPECIAL_IN_MEASUREMENT : SPECIAL_IN_KEY;
  const n = name.length;
  let i = 0;
  for (; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c < 128 && table[c] === 1) break;
  }
  if (i === n && n > 0 && !(measurement && name.charCodeAt(0) === HASH)) return name;
  return escapeNameSlow(name, context, measurement);
}

function escapeNameSlow(name: string, context: NameContext, measurement: boolean): string {
  const n = name.length;
  if (n === 0) throw invalidName(context, name, "it is empty");
  if (measurement && name.charCodeAt(0) === HASH) {
    throw invalidName(context, name, "a measurement starting with '#' reads as a comment");
  }
  let out = "";
  let from = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === COMMA || c === SPACE || (c === EQUALS && !measurement)) {
      out += name.slice(from, i) + "\\";
      from = i;
    } else if (c === BACKSLASH) {
      if (i === n - 1) throw invalidName(context, name, "it ends with a backslash");
      const next = name.charCodeAt(i + 1);
      if (next === BACKSLASH || next === COMMA || next === SPACE || (next === EQUALS && !measurement)) {
        out += name.slice(from, i) + "\\";
        from = i;
      }
    } else if (c === TAB || c === NL) {
      throw invalidName(context, name, c === TAB ? "it holds a tab" : "it holds a newline");
    } else if (c === 0 && measurement) {
      throw invalidName(context, name, "it holds a NUL character");
    }
  }
  return out + name.slice(from);
}

function invalidName(context: NameContext, name: string, why: string): TransformError {
  return new TransformError(
    "INVALID_POINT",
    `${context} ${JSON.stringify(name)} cannot be written as line protocol: ${why}`,
  );
}

/** Escapes a string field value and adds the quotes: `\` becomes `\\`, `"` becomes `\"`; newlines stay. */
export function quoteString(value: string): string {
  if (value.indexOf('"') === -1 && value.indexOf("\\") === -1) return '"' + value + '"';
  let out = '"';
  let from = 0;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === QUOTE || c === BACKSLASH) {
      out += value.slice(from, i) + "\\";
      from = i;
    }
  }
  return out + value.slice(from) + '"';
}

/**
 * Writes a float so that it reads back to the same bits: JavaScript's shortest round-trip spelling
 * (`1e+21`, `5e-324` and `1.7976931348623157e+308` are all valid line-protocol floats), with `-0` kept.
 * Returns undefined for NaN and the infinities, which line protocol cannot carry.
 */
export function formatFloat(value: number): string | undefined {
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  if (value - value !== 0) return undefined; // NaN or ±Infinity
  return String(value);
}

const UINT64_MAX_TEXT = "18446744073709551615";
const INT64_MAX_TEXT = "9223372036854775807";
const INT64_MIN_DIGITS = "9223372036854775808";

/**
 * Whether `s[a, b)` is a decimal integer (optional `-` when `signed`) within int64 (signed) or uint64.
 * Compares digit strings, so no value passes through a JS number.
 */
export function isIntegerText(s: string, a: number, b: number, signed: boolean): boolean {
  let i = a;
  if (i < b && s.charCodeAt(i) === MINUS) {
    if (!signed) return false;
    i++;
  }
  if (i === b) return false;
  for (let j = i; j < b; j++) {
    const c = s.charCodeAt(j);
    if (c < ZERO || c > NINE) return false;
  }
  return integerInRange(s, a, b, signed);
}

/** Whether the digits `s[a, b)` (optional `-`, already checked to be digits) fit int64 or uint64. */
export function integerInRange(s: string, a: number, b: number, signed: boolean): boolean {
  let i = a;
  const negative = s.charCodeAt(i) === MINUS;
  if (negative) {
    if (!signed) return false;
    i++;
  }
  if (b - i < 19) return true;
  while (i < b - 1 && s.charCodeAt(i) === ZERO) i++; // leading zeros do not count toward the range
  const digits = b - i;
  if (digits < 19) return true;
  const limit = !signed ? UINT64_MAX_TEXT : negative ? INT64_MIN_DIGITS : INT64_MAX_TEXT;
  if (digits !== limit.length) return digits < limit.length;
  // Compare digit by digit: no slice, no allocation on the hot path of every 19-digit timestamp.
  for (let k = 0; k < digits; k++) {
    const d = s.charCodeAt(i + k) - limit.charCodeAt(k);
    if (d !== 0) return d < 0;
  }
  return true;
}
