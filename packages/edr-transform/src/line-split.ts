// A text of line protocol cut into its logical lines, as InfluxDB 3 cuts a request body: a newline inside a
// quoted string value does not end a line, and leading whitespace and comment lines are skipped. Kept apart
// from the scanner because it must find where a line ends before the scanner can read it.
import { BACKSLASH, COMMA, EQUALS, HASH, NL, QUOTE, SPACE, TAB } from "./escape.js";

/**
 * Calls `onLine(start, end)` for every logical line of `text`, split as InfluxDB 3 splits a request body:
 * at `\n` except inside a quoted string value (a backslash hides the next character), then with leading
 * whitespace and `#` comment lines skipped. Blank and comment-only lines are not reported.
 */
export function forEachLine(text: string, onLine: (start: number, end: number) => boolean | void): void {
  const n = text.length;
  let lineStart = 0;
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
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
    if (c === NL && !quoted) {
      if (!emitLine(text, lineStart, i, onLine)) return;
      lineStart = i + 1;
      fields = false;
      equals = 0;
      commas = 0;
    }
  }
  if (lineStart < n) emitLine(text, lineStart, n, onLine);
}

/** Skips leading whitespace and comment lines, as the server's trim_leading does, then reports the line. */
function emitLine(
  text: string,
  start: number,
  end: number,
  onLine: (start: number, end: number) => boolean | void,
): boolean {
  for (;;) {
    let d = 0;
    while (start < end && ((d = text.charCodeAt(start)) === SPACE || d === TAB || d === NL)) start++;
    if (start < end && text.charCodeAt(start) === HASH) {
      const newline = text.indexOf("\n", start);
      start = newline === -1 || newline >= end ? end : newline;
      continue;
    }
    break;
  }
  return start >= end || onLine(start, end) !== false;
}

/** The 1-based physical line and column of `offset` in `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNewline = -1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lastNewline = i;
  }
  return { line, column: offset - lastNewline };
}
