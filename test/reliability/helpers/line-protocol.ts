// Line protocol written and read by the reliability tests themselves, not by edr-transform: the expectations
// must not come from the code under test. Covers what the tests send and what edr sends to a remote: escaped
// names (`\,` `\=` `\ `), quoted strings with `\"`, `\\` and raw newlines, integers (`i`), unsigned (`u`),
// floats, every boolean spelling, an optional ns timestamp.
import type { StoredField, StoredPoint } from "edr-testkit";

const escapeMeasurement = (name: string): string => name.replace(/[, ]/g, (c) => `\\${c}`);
const escapeKey = (name: string): string => name.replace(/[,= ]/g, (c) => `\\${c}`);
const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** One field as line protocol; `spelling` picks among the boolean spellings InfluxDB reads. */
export function formatField(field: StoredField, spelling = 0): string {
  switch (field.type) {
    case "float":
      if (Object.is(field.value, -0)) return "-0";
      return String(field.value);
    case "integer":
      return `${field.value}i`;
    case "unsigned":
      return `${field.value}u`;
    case "string":
      return quote(field.value);
    case "boolean":
      return (field.value ? ["true", "t", "True", "TRUE", "T"] : ["false", "f", "False", "FALSE", "F"])[
        spelling % 5
      ]!;
  }
}

/** A point as one line (ns timestamp). */
export function formatPoint(point: StoredPoint, spelling = 0): string {
  let line = escapeMeasurement(point.measurement);
  for (const [key, value] of Object.entries(point.tags)) line += `,${escapeKey(key)}=${escapeKey(value)}`;
  line += " ";
  line += Object.entries(point.fields)
    .map(([key, field]) => `${escapeKey(key)}=${formatField(field, spelling)}`)
    .join(",");
  return `${line} ${point.timeNs}`;
}

/** A parsed line: a point whose timestamp may be missing. */
export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, StoredField>;
  timeNs: bigint | undefined;
}

const TRUE = new Set(["t", "T", "true", "True", "TRUE"]);
const FALSE = new Set(["f", "F", "false", "False", "FALSE"]);

function fieldValue(text: string, where: string): StoredField {
  if (TRUE.has(text)) return { type: "boolean", value: true };
  if (FALSE.has(text)) return { type: "boolean", value: false };
  if (/^-?\d+i$/.test(text)) return { type: "integer", value: BigInt(text.slice(0, -1)) };
  if (/^\d+u$/.test(text)) return { type: "unsigned", value: BigInt(text.slice(0, -1)) };
  const value = Number(text);
  if (text === "" || Number.isNaN(value))
    throw new Error(`line protocol: bad value ${JSON.stringify(text)} ${where}`);
  return { type: "float", value };
}

/**
 * Every line of a body (blank lines and comments skipped). A newline ends a line unless it is inside a quoted
 * field value. Throws on text that is not line protocol, naming the line.
 */
export function parseBody(body: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  let i = 0;
  const n = body.length;
  while (i < n) {
    const lineStart = i;
    // Blank lines and comments.
    if (body[i] === "\n" || body[i] === "\r") {
      i++;
      continue;
    }
    if (body[i] === "#") {
      while (i < n && body[i] !== "\n") i++;
      continue;
    }
    const where = () => `in the line starting ${JSON.stringify(body.slice(lineStart, lineStart + 80))}`;
    /** Reads a name up to one of `stops` (unescaped); `\x` stands for `x` when x is an escapable character. */
    const name = (stops: string, escapable: string): string => {
      let text = "";
      while (i < n && !stops.includes(body[i]!)) {
        if (body[i] === "\\" && i + 1 < n && escapable.includes(body[i + 1]!)) {
          text += body[i + 1];
          i += 2;
        } else text += body[i++];
      }
      return text;
    };
    const measurement = name(", \n", ", ");
    const tags: Record<string, string> = {};
    while (body[i] === ",") {
      i++;
      const key = name("=, \n", ",= ");
      if (body[i] !== "=")
        throw new Error(`line protocol: tag ${JSON.stringify(key)} without "=" ${where()}`);
      i++;
      Object.defineProperty(tags, key, {
        value: name(", \n", ",= "),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (body[i] !== " ") throw new Error(`line protocol: no fields ${where()}`);
    i++;
    const fields: Record<string, StoredField> = {};
    for (;;) {
      const key = name("=, \n", ",= ");
      if (body[i] !== "=")
        throw new Error(`line protocol: field ${JSON.stringify(key)} without "=" ${where()}`);
      i++;
      let value: StoredField;
      if (body[i] === '"') {
        i++;
        let text = "";
        while (i < n && body[i] !== '"') {
          if (body[i] === "\\" && (body[i + 1] === '"' || body[i + 1] === "\\")) {
            text += body[i + 1];
            i += 2;
          } else text += body[i++];
        }
        if (i >= n) throw new Error(`line protocol: unterminated string ${where()}`);
        i++;
        value = { type: "string", value: text };
      } else {
        const start = i;
        while (i < n && body[i] !== "," && body[i] !== " " && body[i] !== "\n") i++;
        value = fieldValue(body.slice(start, i).replace(/\r$/, ""), where());
      }
      Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
      if (body[i] !== ",") break;
      i++;
    }
    let timeNs: bigint | undefined;
    if (body[i] === " ") {
      i++;
      const start = i;
      while (i < n && body[i] !== "\n") i++;
      const text = body.slice(start, i).trim();
      if (!/^-?\d+$/.test(text))
        throw new Error(`line protocol: bad timestamp ${JSON.stringify(text)} ${where()}`);
      timeNs = BigInt(text);
    }
    if (i < n && body[i] !== "\n" && body[i] !== "\r")
      throw new Error(`line protocol: unexpected ${JSON.stringify(body[i])} ${where()}`);
    out.push({ measurement, tags, fields, timeNs });
  }
  return out;
}
