import { setName } from "../stored-point.js";
import type { StoredField } from "../stored-point.js";

/** A line parsed from a write body, before the schema is checked. */
export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, StoredField>;
  /** The timestamp as written (in the request's precision), or undefined for server time. */
  timestamp: bigint | undefined;
}

/** One non-blank, non-comment line of a body: its 1-based number, its text, and what parsing made of it. */
export interface BodyLine {
  lineNumber: number;
  text: string;
  parsed: ParsedLine | { error: string };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
// Digits on both sides of a point: InfluxDB 3 refuses `.5` and `1.` (1.x takes them).
const FLOAT_RE = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INT_RE = /^-?\d+i$/;
const UINT_RE = /^\d+u$/;
const TIMESTAMP_RE = /^-?\d+$/;
const TRUE_WORDS = new Set(["t", "T", "true", "True", "TRUE"]);
const FALSE_WORDS = new Set(["f", "F", "false", "False", "FALSE"]);

/**
 * Splits a body into lines as InfluxDB 3 does (its `split_lines`, a port of 1.x's `scanLine`): on `\n`,
 * except inside a double-quoted field value (which may hold a raw newline); a backslash hides the next
 * character. Quotes count only in the field section and only where a field value can start, so a `"` in a
 * measurement or tag value does not open a string. Then, as `parse_lines` does, leading spaces, tabs and
 * newlines are trimmed, and blank lines and `#` comments are dropped; the rest are numbered from 1.
 */
export function splitBody(body: string): { lineNumber: number; text: string }[] {
  const bytes = Buffer.from(body, "utf8");
  const lines: { lineNumber: number; text: string }[] = [];
  let lineNumber = 0;
  for (let start = 0; start <= bytes.length;) {
    const end = lineEnd(bytes, start);
    const from = lineStart(bytes, start, end);
    if (from >= 0) lines.push({ lineNumber: ++lineNumber, text: bytes.toString("utf8", from, end) });
    start = end + 1;
  }
  return lines;
}

/**
 * Where the line that starts at byte `start` of a UTF-8 body ends, as `splitBody` splits: its `\n`, or the
 * body's end. Bytes, not text: every delimiter is ASCII, and no byte of a multi-byte character is.
 */
export function lineEnd(body: Uint8Array, start: number): number {
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === 92 /* \ */) {
      i++;
    } else if (c === 32 /* space */) {
      fields = true;
    } else if (fields && !quoted && c === 61 /* = */) {
      equals++;
    } else if (fields && !quoted && c === 44 /* , */) {
      commas++;
    } else if (fields && c === 34 /* " */ && equals > commas) {
      quoted = !quoted;
    } else if (c === 10 /* \n */ && !quoted) {
      return i;
    }
  }
  return body.length;
}

/**
 * Where the text of the line `[start, end)` begins once leading spaces, tabs and newlines are trimmed; -1
 * when it is blank or a comment (a comment runs to the end of its line; after splitting that is the rest).
 */
export function lineStart(body: Uint8Array, start: number, end: number): number {
  let from = start;
  while (from < end && (body[from] === 32 || body[from] === 9 || body[from] === 10)) from++;
  return from === end || body[from] === 35 /* # */ ? -1 : from;
}

/** Parses a whole body into numbered lines; errors are per line, as data. */
export function parseBody(body: string): BodyLine[] {
  return splitBody(body).map(({ lineNumber, text }) => ({ lineNumber, text, parsed: parseLine(text) }));
}

class LineError extends Error {}

/**
 * Where a name ends and what a backslash may escape in it, as in InfluxDB 3's `influxdb_line_protocol`: a
 * measurement ends at a comma or space; tag and field keys at `=` or space (a comma is a plain character
 * there); a tag value at a comma or space. A backslash escapes the listed characters and itself; before any
 * other character it is kept.
 */
interface NameRule {
  stops: ReadonlySet<number>;
  escapable: ReadonlySet<number>;
}
const codes = (chars: string): ReadonlySet<number> => new Set([...chars].map((c) => c.charCodeAt(0)));
const MEASUREMENT: NameRule = { stops: codes(", \n"), escapable: codes(", \\") };
const KEY: NameRule = { stops: codes("= \n"), escapable: codes(",= \\") };
const TAG_VALUE: NameRule = { stops: codes(", \n"), escapable: codes(",= \\") };

/** Parses one line of line protocol strictly (no newline inside, except in quoted strings). */
export function parseLine(line: string): ParsedLine | { error: string } {
  try {
    return new LineParser(line).parse();
  } catch (error) {
    if (error instanceof LineError) return { error: error.message };
    throw error;
  }
}

class LineParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  parse(): ParsedLine {
    const measurement = this.identifier(MEASUREMENT, "measurement");
    const tags: Record<string, string> = {};
    while (this.s[this.pos] === ",") {
      this.pos++;
      const key = this.identifier(KEY, "tag key");
      this.expect("=", `tag key "${key}"`);
      const value = this.identifier(TAG_VALUE, `value of tag "${key}"`);
      if (Object.hasOwn(tags, key)) throw new LineError(`duplicate tag "${key}"`);
      setName(tags, key, value);
    }
    this.spaces("a space before the fields");
    const fields: Record<string, StoredField> = {};
    for (;;) {
      const key = this.identifier(KEY, "field key");
      this.expect("=", `field key "${key}"`);
      const value = this.fieldValue(key);
      if (Object.hasOwn(fields, key))
        throw new LineError(`field "${key}" appears more than once in the line`);
      setName(fields, key, value);
      if (this.s[this.pos] !== ",") break;
      this.pos++;
    }
    let timestamp: bigint | undefined;
    if (this.pos < this.s.length) {
      this.spaces("a space before the timestamp");
      const rest = this.s.slice(this.pos);
      const text = rest.replace(/[\u0020\t]+$/, "");
      if (text !== "") {
        if (!TIMESTAMP_RE.test(text))
          throw new LineError(`invalid timestamp: expected an integer, got "${text}"`);
        timestamp = BigInt(text);
        if (timestamp < INT64_MIN || timestamp > INT64_MAX) {
          throw new LineError(`timestamp "${text}" is outside the signed 64-bit range`);
        }
      }
    }
    for (const key of Object.keys(fields)) {
      if (Object.hasOwn(tags, key)) throw new LineError(`"${key}" is used as both a tag and a field`);
    }
    return { measurement, tags, fields, timestamp };
  }

  private expect(char: string, after: string): void {
    if (this.s[this.pos] !== char) throw new LineError(`expected "${char}" after ${after}`);
    this.pos++;
  }

  private spaces(what: string): void {
    if (this.s[this.pos] !== " ") throw new LineError(`expected ${what} at byte ${this.pos}`);
    while (this.s[this.pos] === " ") this.pos++;
  }

  /** Reads a name up to an unescaped stop character, decoding escapes by `rule`. */
  private identifier(rule: NameRule, what: string): string {
    const s = this.s;
    const start = this.pos;
    // Fast path: most names have no backslash, so slice up to the first stop.
    while (this.pos < s.length) {
      const code = s.charCodeAt(this.pos);
      if (code === 92 || rule.stops.has(code)) break;
      this.pos++;
    }
    let out = s.slice(start, this.pos);
    while (this.pos < s.length) {
      const code = s.charCodeAt(this.pos);
      if (code === 92 /* \ */) {
        const next = s.charCodeAt(this.pos + 1);
        if (rule.escapable.has(next)) {
          out += s[this.pos + 1];
          this.pos += 2;
        } else {
          out += "\\";
          this.pos++;
        }
        continue;
      }
      if (rule.stops.has(code)) break;
      out += s[this.pos];
      this.pos++;
    }
    if (out === "") throw new LineError(`empty ${what} at byte ${this.pos}`);
    return out;
  }

  private fieldValue(key: string): StoredField {
    const s = this.s;
    if (s[this.pos] === '"') {
      let out = "";
      this.pos++;
      while (this.pos < s.length) {
        const c = s[this.pos]!;
        if (c === "\\" && (s[this.pos + 1] === '"' || s[this.pos + 1] === "\\")) {
          out += s[this.pos + 1];
          this.pos += 2;
          continue;
        }
        if (c === '"') {
          this.pos++;
          return { type: "string", value: out };
        }
        out += c;
        this.pos++;
      }
      throw new LineError(`unterminated string in field "${key}"`);
    }
    const start = this.pos;
    while (this.pos < s.length && s[this.pos] !== "," && s[this.pos] !== " ") this.pos++;
    const text = s.slice(start, this.pos);
    if (text === "") throw new LineError(`missing value for field "${key}"`);
    if (INT_RE.test(text)) {
      const value = BigInt(text.slice(0, -1));
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new LineError(`integer field "${key}" value ${text} is outside the signed 64-bit range`);
      }
      return { type: "integer", value };
    }
    if (UINT_RE.test(text)) {
      const value = BigInt(text.slice(0, -1));
      if (value > UINT64_MAX) {
        throw new LineError(`unsigned field "${key}" value ${text} is outside the unsigned 64-bit range`);
      }
      return { type: "unsigned", value };
    }
    if (FLOAT_RE.test(text)) {
      const value = Number(text);
      if (!Number.isFinite(value)) throw new LineError(`float field "${key}" value ${text} is not finite`);
      return { type: "float", value };
    }
    if (TRUE_WORDS.has(text)) return { type: "boolean", value: true };
    if (FALSE_WORDS.has(text)) return { type: "boolean", value: false };
    throw new LineError(`invalid value for field "${key}": "${text}"`);
  }
}
