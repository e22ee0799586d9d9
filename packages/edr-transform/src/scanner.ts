// The grammar of one line of line protocol, as InfluxDB 3 reads it: a reusable scanner that records where
// each tag and field of a line sits and what kind its value is, without allocating. Splitting a text into
// lines is line-split.ts; reading a name or string value out of its escapes is unescape.ts.
import {
  BACKSLASH,
  COMMA,
  DOT,
  EQUALS,
  MINUS,
  NINE,
  NL,
  QUOTE,
  SPACE,
  TAB,
  ZERO,
  integerInRange,
} from "./escape.js";

/** Field value kinds recorded by the scanner. */
export const KIND_FLOAT = 1;
export const KIND_INTEGER = 2;
export const KIND_UNSIGNED = 3;
export const KIND_STRING = 4;
export const KIND_BOOLEAN = 5;

/** Entry flags: the key or the value holds a backslash (must be unescaped); a boolean is true. */
export const FLAG_KEY_ESCAPED = 1;
export const FLAG_VALUE_ESCAPED = 2;
export const FLAG_TRUE = 4;

/** Ints per tag or field entry: keyStart, keyEnd, valueStart, valueEnd, flags, kind. */
export const STRIDE = 6;

const LOWER_E = 101;
const UPPER_E = 69;
const PLUS = 43;
const LOWER_I = 105;
const LOWER_U = 117;

// Character classes for the name loops: one table load instead of five comparisons per character. Every
// character that matters is <= 92 (the backslash), so letters above it skip the table.
const ENDS_MEASUREMENT = 1; // , space tab newline NUL
const ENDS_KEY = 2; // = space tab newline
const ENDS_TAG_VALUE = 4; // , space tab newline
const IS_BACKSLASH = 8;
const CLASS = new Uint8Array(93);
for (const c of [COMMA, SPACE, TAB, NL, 0]) CLASS[c] = CLASS[c]! | ENDS_MEASUREMENT;
for (const c of [EQUALS, SPACE, TAB, NL]) CLASS[c] = CLASS[c]! | ENDS_KEY;
for (const c of [COMMA, SPACE, TAB, NL]) CLASS[c] = CLASS[c]! | ENDS_TAG_VALUE;

// Results of scanName beside its return value (module state: no allocation per name).
let nameEscaped = false;
let nameEndsInBackslash = false;
let nameLoneBackslash = false;

/**
 * Scans a name from \`i\` to the first unescaped character of class \`ends\`. A backslash takes the next
 * character with it, whatever it is (the server's rule). Returns the end offset.
 */
function scanName(s: string, i: number, end: number, ends: number): number {
  let escapeEnd = -1;
  nameEscaped = false;
  nameLoneBackslash = false;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c <= BACKSLASH) {
      const k = CLASS[c]!;
      if ((k & ends) !== 0) break;
      if (k === IS_BACKSLASH) {
        nameEscaped = true;
        if (i + 1 >= end) {
          nameLoneBackslash = true;
          return i;
        }
        i += 2;
        escapeEnd = i;
        continue;
      }
    }
    i++;
  }
  nameEndsInBackslash = escapeEnd === i && s.charCodeAt(i - 1) === BACKSLASH;
  return i;
}
CLASS[BACKSLASH] = IS_BACKSLASH;

const BOOLEAN_SPELLINGS: ReadonlyMap<string, boolean> = new Map([
  ["t", true],
  ["T", true],
  ["true", true],
  ["True", true],
  ["TRUE", true],
  ["f", false],
  ["F", false],
  ["false", false],
  ["False", false],
  ["FALSE", false],
]);

/**
 * A reusable, allocation-free scanner for one line of line protocol, following the grammar of InfluxDB 3's
 * `influxdb_line_protocol` crate. `scan` records offsets (tags first, then fields) into `entries`;
 * on failure it returns false with `errorAt` (an offset into the text) and `errorReason`.
 */
export class LineScanner {
  entries = new Int32Array(STRIDE * 32);
  measurementEnd = 0;
  measurementEscaped = false;
  tagCount = 0;
  fieldCount = 0;
  /** Timestamp offsets, or -1 when the line has none. */
  timestampStart = -1;
  timestampEnd = -1;
  errorAt = -1;
  errorReason = "";

  private fail(at: number, reason: string): false {
    this.errorAt = at;
    this.errorReason = reason;
    return false;
  }

  private grow(): void {
    const bigger = new Int32Array(this.entries.length * 2);
    bigger.set(this.entries);
    this.entries = bigger;
  }

  /** Scans `s[start, end)`, which must start at the measurement (leading whitespace and comments skipped). */
  scan(s: string, start: number, end: number): boolean {
    let i = scanName(s, start, end, ENDS_MEASUREMENT);
    if (nameLoneBackslash) return this.fail(i, "a measurement cannot end with a backslash");
    if (i === start) return this.fail(i, "expected a measurement");
    if (nameEndsInBackslash) return this.fail(i - 1, "a measurement cannot end with a backslash");
    this.measurementEnd = i;
    this.measurementEscaped = nameEscaped;
    this.timestampStart = -1;
    this.timestampEnd = -1;
    let n = 0;
    let entries = this.entries;

    if (i < end && s.charCodeAt(i) === COMMA) {
      do {
        i++;
        if (n * STRIDE + STRIDE > entries.length) {
          this.grow();
          entries = this.entries;
        }
        const keyStart = i;
        i = scanName(s, i, end, ENDS_KEY);
        if (nameLoneBackslash) return this.fail(i, "a tag key cannot end with a backslash");
        let flags = nameEscaped ? FLAG_KEY_ESCAPED : 0;
        if (i === keyStart) return this.fail(i, "expected a tag key");
        if (nameEndsInBackslash) return this.fail(i - 1, "a tag key cannot end with a backslash");
        if (i >= end || s.charCodeAt(i) !== EQUALS) return this.fail(i, "expected '=' after the tag key");
        const keyEnd = i++;
        const valueStart = i;
        i = scanName(s, i, end, ENDS_TAG_VALUE);
        if (nameLoneBackslash) return this.fail(i, "a tag value cannot end with a backslash");
        if (nameEscaped) flags |= FLAG_VALUE_ESCAPED;
        if (i === valueStart) {
          return this.fail(i, "expected a tag value (a tag with an empty value is left out)");
        }
        if (nameEndsInBackslash) return this.fail(i - 1, "a tag value cannot end with a backslash");
        const base = n * STRIDE;
        entries[base] = keyStart;
        entries[base + 1] = keyEnd;
        entries[base + 2] = valueStart;
        entries[base + 3] = i;
        entries[base + 4] = flags;
        entries[base + 5] = 0;
        n++;
      } while (i < end && s.charCodeAt(i) === COMMA);
    }
    this.tagCount = n;

    if (i >= end || s.charCodeAt(i) !== SPACE) {
      return this.fail(
        i,
        i >= end ? "expected a space and a field set, got the end of the line" : "expected a space",
      );
    }
    while (i < end && s.charCodeAt(i) === SPACE) i++;

    for (;;) {
      if (n * STRIDE + STRIDE > entries.length) {
        this.grow();
        entries = this.entries;
      }
      const keyStart = i;
      i = scanName(s, i, end, ENDS_KEY);
      if (nameLoneBackslash) return this.fail(i, "a field key cannot end with a backslash");
      let flags = nameEscaped ? FLAG_KEY_ESCAPED : 0;
      if (i === keyStart) return this.fail(i, "expected a field key");
      if (nameEndsInBackslash) return this.fail(i - 1, "a field key cannot end with a backslash");
      if (i >= end || s.charCodeAt(i) !== EQUALS) return this.fail(i, "expected '=' after the field key");
      const keyEnd = i++;
      const valueStart = i;
      if (i >= end) return this.fail(i, "expected a field value");
      let c = s.charCodeAt(i);
      let kind: number;
      if (c === QUOTE) {
        i++;
        while (i < end) {
          c = s.charCodeAt(i);
          if (c === BACKSLASH) {
            flags |= FLAG_VALUE_ESCAPED;
            const next = s.charCodeAt(i + 1);
            i += next === QUOTE || next === BACKSLASH ? 2 : 1;
            continue;
          }
          if (c === QUOTE) break;
          i++;
        }
        if (i >= end) return this.fail(valueStart, "unterminated string field value");
        i++;
        kind = KIND_STRING;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        let j = c === MINUS ? i + 1 : i;
        const digitsStart = j;
        while (j < end && (c = s.charCodeAt(j)) >= ZERO && c <= NINE) j++;
        if (j === digitsStart) return this.fail(j, "expected digits in the number");
        c = j < end ? s.charCodeAt(j) : 0;
        if (c === LOWER_I) {
          if (!integerInRange(s, i, j, true)) return this.fail(i, "integer out of the int64 range");
          kind = KIND_INTEGER;
          j++;
        } else if (c === LOWER_U) {
          if (!integerInRange(s, i, j, false)) {
            return this.fail(
              i,
              s.charCodeAt(i) === MINUS
                ? "an unsigned integer cannot be negative"
                : "unsigned integer out of the uint64 range",
            );
          }
          kind = KIND_UNSIGNED;
          j++;
        } else {
          let exponent = false;
          if (c === DOT) {
            const fractionStart = ++j;
            while (j < end && (c = s.charCodeAt(j)) >= ZERO && c <= NINE) j++;
            if (j === fractionStart) return this.fail(j, "expected digits after the decimal point");
            c = j < end ? s.charCodeAt(j) : 0;
          }
          if (c === LOWER_E || c === UPPER_E) {
            j++;
            c = j < end ? s.charCodeAt(j) : 0;
            if (c === PLUS || c === MINUS) j++;
            const exponentStart = j;
            while (j < end && (c = s.charCodeAt(j)) >= ZERO && c <= NINE) j++;
            if (j === exponentStart) return this.fail(j, "expected digits in the exponent");
            exponent = true;
          }
          // Only an exponent or a very long mantissa can overflow to infinity, which no line can carry back.
          if ((exponent || j - i > 300) && !Number.isFinite(Number(s.slice(i, j)))) {
            return this.fail(i, "float out of range (it would read as infinity)");
          }
          kind = KIND_FLOAT;
        }
        i = j;
      } else {
        let j = i;
        while (j < end && (c = s.charCodeAt(j)) !== COMMA && c !== SPACE && c !== TAB && c !== NL) j++;
        const spelled = BOOLEAN_SPELLINGS.get(s.slice(i, j));
        if (spelled === undefined) {
          return this.fail(
            i,
            "expected a field value: a number, a quoted string or a boolean (t, true, f, false…)",
          );
        }
        if (spelled) flags |= FLAG_TRUE;
        kind = KIND_BOOLEAN;
        i = j;
      }
      const base = n * STRIDE;
      entries[base] = keyStart;
      entries[base + 1] = keyEnd;
      entries[base + 2] = valueStart;
      entries[base + 3] = i;
      entries[base + 4] = flags;
      entries[base + 5] = kind;
      n++;
      if (i >= end) break;
      c = s.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === SPACE) break;
      return this.fail(i, "expected ',', a space or the end of the line after the field value");
    }
    this.fieldCount = n - this.tagCount;

    if (i < end) {
      while (i < end && s.charCodeAt(i) === SPACE) i++;
      if (i >= end) return this.fail(i, "expected a timestamp after the space");
      const timestampStart = i;
      if (s.charCodeAt(i) === MINUS) i++;
      let c = 0;
      while (i < end && (c = s.charCodeAt(i)) >= ZERO && c <= NINE) i++;
      if (i === timestampStart || (i === timestampStart + 1 && s.charCodeAt(timestampStart) === MINUS)) {
        return this.fail(timestampStart, "expected a timestamp (an integer)");
      }
      const timestampEnd = i;
      while (i < end && s.charCodeAt(i) === SPACE) i++;
      if (i < end) return this.fail(i, "unexpected text after the timestamp");
      if (!integerInRange(s, timestampStart, timestampEnd, true)) {
        return this.fail(timestampStart, "timestamp out of the int64 range");
      }
      this.timestampStart = timestampStart;
      this.timestampEnd = timestampEnd;
    }
    return true;
  }
}
