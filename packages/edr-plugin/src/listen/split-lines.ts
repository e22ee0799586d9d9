// Splitting a body into lines, as InfluxDB 3 does, at the speed of a byte loop. edr-transform's
// `splitLines` is the definition (its `forEachLine` follows InfluxDB 3's `split_lines`); this is the same
// state machine run over the body's bytes, which V8 reads about twice as fast as a string's characters, with
// one table lookup for the characters that matter to none of its rules. For an ASCII body byte offsets are
// string offsets, so the lines are slices of one decoded string (or, with `lineBounds`, no string at all);
// other bodies go through `splitLines` itself. A property test (split-lines.test.ts) holds the two together.
import { isAscii } from "node:buffer";
import { splitLines } from "edr-transform";

const NL = 10;
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const BACKSLASH = 92;

/** Non-zero for the bytes the splitter looks at; every other byte is skipped by one load and compare. */
const SPECIAL = new Uint8Array(256);
for (const c of [NL, SPACE, QUOTE, COMMA, EQUALS, BACKSLASH]) SPECIAL[c] = 1;

/**
 * The lines of a UTF-8 body: split at newlines outside quoted string values, leading whitespace trimmed,
 * blank and `#` comment lines left out, exactly as `splitLines` (and InfluxDB 3) does. A leading byte order
 * mark is dropped.
 */
export function splitBody(body: Buffer): string[] {
  const bounds = lineBounds(body);
  if (bounds === undefined) {
    let text = body.toString("utf8");
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return splitLines(text);
  }
  const text = body.toString("latin1");
  const lines = new Array<string>(bounds.count);
  for (let i = 0; i < bounds.count; i++) lines[i] = text.slice(bounds.at[2 * i], bounds.at[2 * i + 1]);
  return lines;
}

/** Where the lines of a body are: line `i` is the bytes `[at[2i], at[2i + 1])`. */
export interface LineBounds {
  readonly count: number;
  readonly at: Int32Array;
}

/**
 * Where the lines of an ASCII body are, split as {@link splitBody} splits them, without making a string; undefined
 * for a body with any byte beyond ASCII (its byte offsets are not string offsets: read it with `splitBody`).
 */
export function lineBounds(body: Buffer): LineBounds | undefined {
  if (!isAscii(body)) return undefined;
  const out = { count: 0, at: new Int32Array(2 * Math.max(16, body.length >> 6)) };
  const n = body.length;
  // Only a quote can hide a newline, and only a backslash can escape one: a line with neither ends at its
  // first newline, found by indexOf (memchr); the others are walked byte by byte.
  let quote = -1;
  let backslash = -1;
  let start = 0;
  while (start < n) {
    let newline = body.indexOf(NL, start);
    if (newline === -1) newline = n;
    if (quote < start) quote = nextIndex(body, QUOTE, start);
    if (backslash < start) backslash = nextIndex(body, BACKSLASH, start);
    const end = quote < newline || backslash < newline ? lineEnd(body, start) : newline;
    pushLine(body, start, end, out);
    start = end + 1;
  }
  return out;
}

function nextIndex(body: Buffer, byte: number, from: number): number {
  const i = body.indexOf(byte, from);
  return i === -1 ? body.length : i;
}

/**
 * Where the line starting at `from` ends: its first newline outside a quoted string value (or the body's end).
 * InfluxDB 3's rule: a quote opens or closes a string only after the first space (in the fields), and only when
 * more `=` than `,` came before it (outside strings); a backslash takes the next byte as it is.
 */
function lineEnd(body: Buffer, from: number): number {
  const n = body.length;
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  for (let i = from; i < n; i++) {
    const c = body[i]!;
    if (SPECIAL[c] === 0) continue;
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === SPACE) {
      fields = true;
      continue;
    }
    if (fields) {
      if (!quoted && c === EQUALS) {
        equals++;
        continue;
      }
      if (!quoted && c === COMMA) {
        commas++;
        continue;
      }
      if (c === QUOTE && equals > commas) {
        quoted = !quoted;
        continue;
      }
    }
    if (c === NL && !quoted) return i;
  }
  return n;
}

/** Skips leading whitespace and comment lines, as `splitLines` does, then keeps the line if anything is left. */
function pushLine(body: Buffer, start: number, end: number, out: { count: number; at: Int32Array }): void {
  for (;;) {
    let d = 0;
    while (start < end && ((d = body[start]!) === SPACE || d === TAB || d === NL)) start++;
    if (start < end && body[start] === HASH) {
      const newline = body.indexOf(NL, start);
      start = newline === -1 || newline >= end ? end : newline;
      continue;
    }
    break;
  }
  if (start >= end) return;
  if (2 * out.count + 2 > out.at.length) {
    const grown = new Int32Array(2 * out.at.length);
    grown.set(out.at);
    out.at = grown;
  }
  out.at[2 * out.count] = start;
  out.at[2 * out.count + 1] = end;
  out.count++;
}
