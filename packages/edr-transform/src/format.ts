import { TransformError } from "./errors.js";
import { escapeName, formatFloat, quoteString, type NameContext } from "./escape.js";
import { INT64_MAX, INT64_MIN, UINT64_MAX, type FieldValue, type Point } from "./point.js";

// Names repeat across points (measurements, tag keys, field keys, many tag values): escape each once.
const CACHE_LIMIT = 10_000;

class EscapeCache {
  private map = new Map<string, string>();
  constructor(private readonly context: NameContext) {}
  get(name: string): string {
    let escaped = this.map.get(name);
    if (escaped === undefined) {
      escaped = escapeName(name, this.context);
      if (this.map.size >= CACHE_LIMIT) this.map.clear();
      this.map.set(name, escaped);
    }
    return escaped;
  }
}

const measurements = new EscapeCache("measurement");
const tagKeys = new EscapeCache("tag key");
const tagValues = new EscapeCache("tag value");
const fieldKeys = new EscapeCache("field key");

/**
 * Writes one point as one line of line protocol: escapes per InfluxDB 3, `i` and `u` suffixes, floats that
 * read back to the same bits, tags with empty values left out. Throws an {@link TransformError}
 * (`INVALID_POINT`) naming the field for NaN or infinite floats, integers out of range, a point with no
 * field, or a name no line can carry.
 */
export function formatPoint(point: Point): string {
  let line = measurements.get(point.measurement);
  const tags = point.tags;
  for (const key in tags) {
    const value = tags[key];
    if (value === "") continue;
    if (typeof value !== "string") {
      throw new TransformError(
        "INVALID_POINT",
        `tag ${JSON.stringify(key)} of ${JSON.stringify(point.measurement)}: expected a string value, got ${typeof value}`,
      );
    }
    line += "," + tagKeys.get(key) + "=" + tagValues.get(value);
  }
  let separator = " ";
  const fields = point.fields;
  for (const key in fields) {
    line += separator + fieldKeys.get(key) + "=" + formatFieldValue(point, key, fields[key]!);
    separator = ",";
  }
  if (separator === " ") {
    throw new TransformError("INVALID_POINT", `point of ${JSON.stringify(point.measurement)} has no field`);
  }
  if (point.timestamp !== undefined) {
    const t = point.timestamp;
    if (t < INT64_MIN || t > INT64_MAX) {
      throw new TransformError(
        "INVALID_POINT",
        `timestamp ${t} of ${JSON.stringify(point.measurement)} is outside the int64 range`,
      );
    }
    line += " " + t.toString();
  }
  return line;
}

/** Writes each point with {@link formatPoint}. */
export function formatPoints(points: readonly Point[]): string[] {
  const lines = new Array<string>(points.length);
  for (let i = 0; i < points.length; i++) lines[i] = formatPoint(points[i]!);
  return lines;
}

/** The line-protocol spelling of one field value; throws naming the field when it has none. */
export function formatFieldValue(point: Pick<Point, "measurement">, key: string, field: FieldValue): string {
  switch (field.type) {
    case "float": {
      const text = typeof field.value === "number" ? formatFloat(field.value) : undefined;
      if (text === undefined) throw badField(point, key, `${String(field.value)} is not a finite float`);
      return text;
    }
    case "integer": {
      const v = field.value;
      if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) {
        throw badField(point, key, `${String(v)} is not an int64 (expected a bigint in range)`);
      }
      return v.toString() + "i";
    }
    case "unsigned": {
      const v = field.value;
      if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX) {
        throw badField(point, key, `${String(v)} is not a uint64 (expected a bigint in range)`);
      }
      return v.toString() + "u";
    }
    case "string":
      if (typeof field.value !== "string") throw badField(point, key, "expected a string value");
      return quoteString(field.value);
    case "boolean":
      if (typeof field.value !== "boolean") throw badField(point, key, "expected a boolean value");
      return field.value ? "true" : "false";
    default:
      throw badField(point, key, `unknown field type ${JSON.stringify((field as { type: unknown }).type)}`);
  }
}

function badField(point: Pick<Point, "measurement">, key: string, why: string): TransformError {
  return new TransformError(
    "INVALID_POINT",
    `field ${JSON.stringify(key)} of ${JSON.stringify(point.measurement)}: ${why}`,
  );
}
