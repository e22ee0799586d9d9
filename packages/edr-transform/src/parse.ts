import { LineProtocolError } from "./errors.js";
import { forEachLine, positionOf } from "./line-split.js";
import { setEntry, type FieldValue, type Point } from "./point.js";
import {
  FLAG_KEY_ESCAPED,
  FLAG_TRUE,
  FLAG_VALUE_ESCAPED,
  KIND_BOOLEAN,
  KIND_FLOAT,
  KIND_INTEGER,
  KIND_STRING,
  KIND_UNSIGNED,
  LineScanner,
  STRIDE,
} from "./scanner.js";
import { unescapeName, unescapeString } from "./unescape.js";

const scanner = new LineScanner();

/** Points parsed from a text, and the lines that were not valid line protocol. */
export interface ParseResult {
  points: Point[];
  errors: LineProtocolError[];
}

/**
 * Parses line protocol into points, exactly as InfluxDB 3 reads it: escapes, every boolean spelling,
 * `12i` / `12u` / floats, quoted strings with newlines, `#` comments and blank lines skipped.
 * Throws a {@link LineProtocolError} naming the line and column of the first problem.
 */
export function parseLines(text: string): Point[] {
  const points: Point[] = [];
  let failure: LineProtocolError | undefined;
  forEachLine(text, (start, end) => {
    const point = parseAt(text, start, end);
    if (point instanceof LineProtocolError) {
      failure = point;
      return false;
    }
    points.push(point);
    return true;
  });
  if (failure !== undefined) throw failure;
  return points;
}

/** Like {@link parseLines}, but keeps going: good lines become points, bad lines become errors. */
export function tryParseLines(text: string): ParseResult {
  const points: Point[] = [];
  const errors: LineProtocolError[] = [];
  forEachLine(text, (start, end) => {
    const point = parseAt(text, start, end);
    if (point instanceof LineProtocolError) errors.push(point);
    else points.push(point);
  });
  return { points, errors };
}

/**
 * Splits a request body into its lines as InfluxDB 3 does: at `\n` except inside a quoted string value,
 * leading whitespace trimmed, blank and `#` comment lines left out. The transforms take one line per element:
 * split bodies with this, not with `split("\n")`.
 */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  forEachLine(text, (start, end) => {
    lines.push(text.slice(start, end));
  });
  return lines;
}

function parseAt(text: string, start: number, end: number): Point | LineProtocolError {
  if (!scanner.scan(text, start, end)) return errorAt(text, scanner.errorAt, scanner.errorReason);
  return buildPoint(text, start, scanner);
}

function errorAt(text: string, offset: number, reason: string): LineProtocolError {
  const { line, column } = positionOf(text, offset);
  return new LineProtocolError(line, column, reason);
}

/** Builds a point from a successful scan; returns an error for a repeated tag or field key. */
export function buildPoint(s: string, start: number, sc: LineScanner): Point | LineProtocolError {
  const measurement = sc.measurementEscaped
    ? unescapeName(s, start, sc.measurementEnd, true)
    : s.slice(start, sc.measurementEnd);
  const entries = sc.entries;
  const tags: Record<string, string> = {};
  const fields: Record<string, FieldValue> = {};
  const tagCount = sc.tagCount;
  const total = tagCount + sc.fieldCount;
  for (let k = 0; k < total; k++) {
    const base = k * STRIDE;
    const keyStart = entries[base]!;
    const keyEnd = entries[base + 1]!;
    const valueStart = entries[base + 2]!;
    const valueEnd = entries[base + 3]!;
    const flags = entries[base + 4]!;
    const key =
      (flags & FLAG_KEY_ESCAPED) !== 0 ? unescapeName(s, keyStart, keyEnd, false) : s.slice(keyStart, keyEnd);
    if (k < tagCount) {
      if (Object.hasOwn(tags, key)) return errorAt(s, keyStart, `tag ${JSON.stringify(key)} appears twice`);
      const value =
        (flags & FLAG_VALUE_ESCAPED) !== 0
          ? unescapeName(s, valueStart, valueEnd, false)
          : s.slice(valueStart, valueEnd);
      setEntry(tags, key, value);
      continue;
    }
    if (Object.hasOwn(fields, key)) return errorAt(s, keyStart, `field ${JSON.stringify(key)} appears twice`);
    let value: FieldValue;
    switch (entries[base + 5]!) {
      case KIND_FLOAT:
        value = { type: "float", value: Number(s.slice(valueStart, valueEnd)) };
        break;
      case KIND_INTEGER:
        value = { type: "integer", value: BigInt(s.slice(valueStart, valueEnd - 1)) };
        break;
      case KIND_UNSIGNED:
        value = { type: "unsigned", value: BigInt(s.slice(valueStart, valueEnd - 1)) };
        break;
      case KIND_STRING:
        value = {
          type: "string",
          value:
            (flags & FLAG_VALUE_ESCAPED) !== 0
              ? unescapeString(s, valueStart + 1, valueEnd - 1)
              : s.slice(valueStart + 1, valueEnd - 1),
        };
        break;
      case KIND_BOOLEAN:
      default:
        value = { type: "boolean", value: (flags & FLAG_TRUE) !== 0 };
        break;
    }
    setEntry(fields, key, value);
  }
  const point: Point = { measurement, tags, fields };
  if (sc.timestampStart >= 0) point.timestamp = BigInt(s.slice(sc.timestampStart, sc.timestampEnd));
  return point;
}
