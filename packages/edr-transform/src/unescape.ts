// Names and string values read back out of a line: the inverse of escape.ts, applied to the offsets the
// scanner records. Only an entry the scanner flagged as escaped needs it; any other is a plain slice.
import { BACKSLASH, COMMA, EQUALS, QUOTE, SPACE } from "./escape.js";

/**
 * Unescapes a measurement (`\,` `\ ` ``) or a tag key, tag value or field key (also `\=`). A backslash before
 * any other character is kept, and that character is taken literally, as InfluxDB 3 does.
 */
export function unescapeName(s: string, a: number, b: number, measurement: boolean): string {
  let out = "";
  let from = a;
  for (let i = a; i < b; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const next = s.charCodeAt(i + 1);
    if (next === BACKSLASH || next === COMMA || next === SPACE || (next === EQUALS && !measurement)) {
      out += s.slice(from, i);
      from = i + 1;
    }
    i++;
  }
  return out + s.slice(from, b);
}

/** Unescapes the inside of a quoted string value: `\"` and ``; any other backslash is kept. */
export function unescapeString(s: string, a: number, b: number): string {
  let out = "";
  let from = a;
  for (let i = a; i < b; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const next = s.charCodeAt(i + 1);
    if (next === QUOTE || next === BACKSLASH) {
      out += s.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + s.slice(from, b);
}
