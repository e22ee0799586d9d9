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
const FLOAT_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT_RE = /^-?\d+i$/;
const UINT_RE = /^\d+u$/;
const TIMESTAMP_RE = /^-?\d+$/;
const TRUE_WORDS = new Set(["t", "T", "true", "True", "TRUE"]);
const FALSE_WORDS = new Set(["f", "F", "false", "False", "FALSE"]);

/**
 * Splits a body into lines as InfluxDB 3 does: on `\n` outside double quotes (a string field may hold a raw
 * newline), dropping blank lines and `#` comments, numbering the rest from 1.
 */
export function splitBody(body: string): { lineNumber: number; text: string }[] {
  const lines: { lineNumber: number; text: string }[] = [];
  let start = 0;
  let inQuote = false;
  let lineNumber = 0;
  const push = (end: number): void => {
    const text = body.slice(start, end);
    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    lines.push({ lineNumber: ++lineNumber, text });
  };
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 92 /* \ */) {
      i++;
    } else if (c === 34 /* " */) {
      inQuote = !inQuote;
    } else if (c === 10 /* \n */ && !inQuote) {
      push(i);
      start = i + 1;
    }
  }
  push(body.length);
  return lines;
}

/** Parses a whole body into numbered lines; errors are per line, as data. */
export function parseBody(body: string): BodyLine[] {
  return splitBody(body).map(({ lineNumber, text }) => ({ lineNumber, text, parsed: parseLine(text) }));
}

class LineError extends Error {}

/** Characters that end the fast path of an identifier: a backslash, a newline, a space, a comma or a stop. */
function isSpecial(code: number, stops: string): boolean {
  return code === 92 || code === 10 || code === 32 || code === 44 || (code === 61 && stops.includes("="));
}

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
    const measurement = this.identifier(",\u0020", ",\u0020", "measurement");
    const tags: Record<string, string> = {};
    while (this.s[this.pos] === ",") {
      this.pos++;
      const key = this.identifier("=", ",=\u0020", "tag key");
      this.expect("=", `tag key "${key}"`);
      const value = this.identifier(",\u0020", ",=\u0020", `value of tag "${key}"`);
      if (Object.hasOwn(tags, key)) throw new LineError(`duplicate tag "${key}"`);
      tags[key] = value;
    }
    this.spaces("a space before the fields");
    const fields: Record<string, StoredField> = {};
    for (;;) {
      const key = this.identifier("=", ",=\u0020", "field key");
      this.expect("=", `field key "${key}"`);
      const value = this.fieldValue(key);
      if (Object.hasOwn(fields, key))
        throw new LineError(`field "${key}" appears more than once in the line`);
      fields[key] = value;
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

  /** Reads up to an unescaped stop char; `\x` decodes to x when x is escapable, else both are kept. */
  private identifier(stops: string, escapable: string, what: string): string {
    let out = "";
    const s = this.s;
    // Fast path: most names have no escapes, so slice up to the first special character.
    const start = this.pos;
    while (this.pos < s.length && !isSpecial(s.charCodeAt(this.pos), stops)) this.pos++;
    out = s.slice(start, this.pos);
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (c === "\\" && this.pos + 1 < s.length) {
        const next = s[this.pos + 1]!;
        out += escapable.includes(next) ? next : c + next;
        this.pos += 2;
        continue;
      }
      if (stops.includes(c) || c === " " || c === ",") break;
      if (c === "\n") throw new LineError(`newline in ${what}`);
      out += c;
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
