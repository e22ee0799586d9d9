import type { StoredField } from "../stored-point.js";
import { formatTime } from "./time.js";

/** A value in a result row: a stored field or tag, or the time. */
export type CellValue = StoredField | { type: "tag"; value: string } | { type: "time"; value: bigint };

/** A result row: column -> value; a column absent from the map is NULL and is left out, as InfluxDB 3 does. */
export type Row = Map<string, CellValue>;

/** Prints one value as InfluxDB 3's JSON does; integers are printed exactly, never through a double. */
export function encodeValue(cell: CellValue): string {
  switch (cell.type) {
    case "integer":
    case "unsigned":
      return cell.value.toString();
    case "float":
      return encodeFloat(cell.value);
    case "boolean":
      return cell.value ? "true" : "false";
    case "string":
    case "tag":
      return JSON.stringify(cell.value);
    case "time":
      return JSON.stringify(formatTime(cell.value));
  }
}

/** A whole float keeps a `.0` (arrow-json prints 21.0), so it never reads as an integer. */
function encodeFloat(value: number): string {
  if (Object.is(value, -0)) return "-0.0";
  const text = String(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** One row as a JSON object with the columns in `columns` order, NULLs left out. */
export function encodeRow(row: Row, columns: readonly string[], keys = encodeKeys(columns)): string {
  let out = "";
  for (let i = 0; i < columns.length; i++) {
    const cell = row.get(columns[i]!);
    if (cell !== undefined) out += `${out === "" ? "" : ","}${keys[i]}${encodeValue(cell)}`;
  }
  return `{${out}}`;
}

/** `"name":` for each column, built once per result rather than once per row. */
function encodeKeys(columns: readonly string[]): string[] {
  return columns.map((c) => `${JSON.stringify(c)}:`);
}

/** Rows as `format=json` (`[...]`, `[]` when empty) or `format=jsonl` (one per line, empty body when none). */
export function encodeRows(
  rows: readonly Row[],
  columns: readonly string[],
  format: "json" | "jsonl",
): string {
  const keys = encodeKeys(columns);
  const encoded = rows.map((row) => encodeRow(row, columns, keys));
  return format === "json" ? `[${encoded.join(",")}]` : encoded.map((line) => line + "\n").join("");
}
