// fast-check arbitraries for points and valid lines in every spelling, shared by the property tests.
import fc from "fast-check";
import { formatPoint } from "../src/format.js";
import { parseLines } from "../src/parse.js";
import { INT64_MAX, INT64_MIN, UINT64_MAX, setEntry, type FieldValue, type Point } from "../src/point.js";

// Characters that stress escaping, mixed with arbitrary Unicode.
const tricky = fc.constantFrom(
  ",",
  " ",
  "=",
  "\\",
  '"',
  "#",
  "\r",
  "\0",
  "a",
  "Z",
  "0",
  "é",
  "💡",
  "'",
  "\u2028",
);
const anyText = fc.oneof(
  fc.string({ unit: tricky, maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
);
const representable = (measurement: boolean) => (s: string) =>
  s.length > 0 &&
  !s.includes("\t") &&
  !s.includes("\n") &&
  !s.endsWith("\\") &&
  !(measurement && (s.includes("\0") || s.startsWith("#")));
export const measurementName = anyText.filter(representable(true));
export const keyName = anyText.filter(representable(false));

export const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ type: "float", value }) as const),
  fc
    .constantFrom(-0, 5e-324, 1.7976931348623157e308, 1e21, -1e-7)
    .map((value) => ({ type: "float", value }) as const),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map((value) => ({ type: "integer", value }) as const),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n).map((value) => ({ type: "integer", value }) as const),
  fc.bigInt({ min: 0n, max: UINT64_MAX }).map((value) => ({ type: "unsigned", value }) as const),
  fc
    .string({ unit: fc.oneof(tricky, fc.constantFrom("\n", "\t")), maxLength: 20 })
    .map((value) => ({ type: "string", value }) as const),
  fc.string({ unit: "binary", maxLength: 20 }).map((value) => ({ type: "string", value }) as const),
  fc.boolean().map((value) => ({ type: "boolean", value }) as const),
);

export function record<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries) setEntry(out, k, v);
  return out;
}

export const point: fc.Arbitrary<Point> = fc
  .record({
    measurement: measurementName,
    tags: fc.uniqueArray(fc.tuple(keyName, keyName), { selector: ([k]) => k, maxLength: 4 }),
    fields: fc.uniqueArray(fc.tuple(keyName, fieldValue), {
      selector: ([k]) => k,
      minLength: 1,
      maxLength: 5,
    }),
    timestamp: fc.option(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), { nil: undefined }),
  })
  .map(({ measurement, tags, fields, timestamp }) => {
    const p: Point = { measurement, tags: record(tags), fields: record(fields) };
    if (timestamp !== undefined) p.timestamp = timestamp;
    return p;
  });

/** Every float spelling line protocol accepts for the same value. */
function spellFloat(value: number, style: number): string {
  const base = Object.is(value, -0) ? "-0" : String(value);
  switch (style % 4) {
    case 1:
      return Object.is(value, -0) ? "-0.0" : value.toExponential();
    case 2:
      return Object.is(value, -0) ? "-0e0" : value.toExponential().toUpperCase();
    case 3:
      return Number.isInteger(value) && Math.abs(value) < 1e21 ? base + ".000" : base;
    default:
      return base;
  }
}

const BOOLEANS = [
  ["t", "T", "true", "True", "TRUE"],
  ["f", "F", "false", "False", "FALSE"],
];

/** A valid line for `p` in other spellings than formatPoint's: the second property starts from these. */
export function respell(p: Point, style: number[]): string {
  const [parsed] = parseLines(formatPoint(p));
  // Keep formatPoint's measurement and tags, re-spell the values and the spacing.
  const head = formatPoint({ ...p, fields: { x: { type: "boolean", value: true } }, timestamp: 0n }).replace(
    / x=true 0$/,
    "",
  );
  let line = head;
  let k = 0;
  const spaces = " ".repeat(1 + (style[0]! % 3));
  const parts: string[] = [];
  for (const [key, field] of Object.entries(parsed!.fields)) {
    const s = style[(k++ % (style.length - 1)) + 1]!;
    const keyText = formatPoint({
      measurement: "m",
      tags: {},
      fields: { [key]: { type: "boolean", value: true } },
    }).slice(2, -5);
    let value: string;
    switch (field.type) {
      case "float":
        value = spellFloat(field.value, s);
        break;
      case "integer":
        value = (s % 2 === 1 && field.value >= 0n ? "000" : "") + field.value.toString() + "i";
        break;
      case "unsigned":
        value = field.value.toString() + "u";
        break;
      case "boolean":
        value = BOOLEANS[field.value ? 0 : 1]![s % 5]!;
        break;
      case "string":
        value = formatPoint({ measurement: "m", tags: {}, fields: { v: field } }).slice(4);
        break;
    }
    parts.push(keyText + "=" + value);
  }
  line += spaces + parts.join(",");
  if (p.timestamp !== undefined) line += spaces + p.timestamp.toString() + (style[0]! % 2 === 0 ? "" : "  ");
  // Leading spaces count as the field separator when the server splits lines, so a measurement holding `=`
  // would make a later `"` open a quote: only indent lines whose head has no `=`.
  return (style[0]! % 5 === 0 && !head.includes("=") ? "  " : "") + line;
}
