import { TransformError } from "./errors.js";
import { BOOLEAN, FLOAT, INTEGER, STRING, TAG, UNSIGNED, cellValue, describe, expected } from "./cells.js";
import { escapeName } from "./escape.js";
import { setEntry, type FieldValue, type Point } from "./point.js";
import { LineCollector } from "./line-collector.js";
import { cellOf, compileRowLines, type RowFailures, type RowLinesFunction } from "./row-lines.js";
import { rowTimeToNanosText } from "./time.js";

/** One row of `information_schema.columns` (extra keys such as `table_schema` are ignored). */
export interface ColumnInfo {
  column_name: string;
  data_type: string;
  /** When present, only the columns of the converted table are used, so all tables' columns can be passed. */
  table_name?: string;
}

/**
 * A cell as the SQL endpoint (parsed losslessly) or the engine hands it over: integers as exact text, bigint,
 * safe-integer number or a lossless number (`{ value: "123" }`, which `lossless-json`'s LosslessNumber is);
 * NULL as null or a missing key.
 */
export type RowValue = string | number | bigint | boolean | null | undefined | { readonly value: string };

/** One row: column name to cell. */
export type Row = Readonly<Record<string, unknown>>;

/** A row that could not be converted, with the reason (a cell of the wrong type, a lossy number…). */
export interface RowRejection {
  /** Index of the row in the input. */
  index: number;
  reason: string;
}

/** What a conversion produced. */
export interface RowsResult<T> {
  /** One item per converted row, in input order. */
  items: T[];
  /** Rows skipped because no field was left (all NULL). */
  skipped: number;
  rejected: RowRejection[];
}

interface Column {
  name: string;
  kind: number;
  /** For tags `,key=`, for fields `key=`, escaped once. */
  prefix: string;
  /** For fields: ` key=` (the first field) and `,key=` (the others), so a field is two pieces, not three. */
  first: string;
  next: string;
}

const FIELD_KINDS: ReadonlyMap<string, number> = new Map([
  ["Int64", INTEGER],
  ["UInt64", UNSIGNED],
  ["Float64", FLOAT],
  ["Utf8", STRING],
  ["Boolean", BOOLEAN],
]);

// InfluxQL results add this key to every row; it is not a column.
const INFLUXQL_MEASUREMENT_KEY = "iox::measurement";

/** Converts rows of one table to line protocol or points; build it once per table schema. */
export interface RowConverter {
  readonly table: string;
  /** Rows to lines of line protocol (the fast path: no point objects, numbers written from their exact text). */
  toLines(rows: readonly Row[]): RowsResult<string>;
  /** Rows to points. */
  toPoints(rows: readonly Row[]): RowsResult<Point>;
}

/**
 * Compiles the schema of `table` (rows of `information_schema.columns`: tags are `Dictionary(Int32, Utf8)`,
 * fields `Int64`, `UInt64`, `Float64`, `Utf8`, `Boolean`, `time` a `Timestamp(…)`) into a converter.
 * Throws an {@link TransformError} (`INVALID_SCHEMA`) for an unknown type or a missing time column.
 */
export function createRowConverter(table: string, columns: readonly ColumnInfo[]): RowConverter {
  const tags: Column[] = [];
  const fields: Column[] = [];
  let hasTime = false;
  for (const column of columns) {
    if (column.table_name !== undefined && column.table_name !== table) continue;
    const name = column.column_name;
    const type = column.data_type;
    if (name === "time") {
      if (!type.startsWith("Timestamp(")) {
        throw new TransformError(
          "INVALID_SCHEMA",
          `table ${JSON.stringify(table)}: column "time" has type ${JSON.stringify(type)}, expected Timestamp(ns)`,
        );
      }
      hasTime = true;
    } else if (type === "Dictionary(Int32, Utf8)") {
      const prefix = "," + escapeName(name, "tag key") + "=";
      tags.push({ name, kind: TAG, prefix, first: prefix, next: prefix });
    } else {
      const kind = FIELD_KINDS.get(type);
      if (kind === undefined) {
        throw new TransformError(
          "INVALID_SCHEMA",
          `table ${JSON.stringify(table)}: column ${JSON.stringify(name)} has type ${JSON.stringify(type)}, expected Dictionary(Int32, Utf8), Int64, UInt64, Float64, Utf8, Boolean or Timestamp(ns)`,
        );
      }
      const prefix = escapeName(name, "field key") + "=";
      fields.push({ name, kind, prefix, first: " " + prefix, next: "," + prefix });
    }
  }
  if (!hasTime) {
    throw new TransformError(
      "INVALID_SCHEMA",
      `table ${JSON.stringify(table)}: no "time" column in the schema`,
    );
  }
  // Sorted tags make one canonical line per series, whatever order the schema listed them in.
  tags.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return new Converter(table, escapeName(table, "measurement"), tags, fields);
}

/**
 * Converts query rows of `table` to points (see {@link createRowConverter}); rows whose fields are all NULL
 * are skipped and counted, rows with a cell that does not fit its column are rejected with the reason.
 */
export function rowsToPoints(
  table: string,
  rows: readonly Row[],
  columns: readonly ColumnInfo[],
): RowsResult<Point> {
  return createRowConverter(table, columns).toPoints(rows);
}

/** Converts query rows of `table` straight to lines of line protocol (see {@link rowsToPoints}). */
export function rowsToLines(
  table: string,
  rows: readonly Row[],
  columns: readonly ColumnInfo[],
): RowsResult<string> {
  return createRowConverter(table, columns).toLines(rows);
}

class Converter implements RowConverter, RowFailures {
  private readonly columnNames: Set<string>;
  private readonly collector = new LineCollector();
  private readonly writeLines: RowLinesFunction;

  constructor(
    readonly table: string,
    private readonly measurement: string,
    private readonly tags: readonly Column[],
    private readonly fields: readonly Column[],
  ) {
    this.columnNames = new Set([
      ...tags.map((c) => c.name),
      ...fields.map((c) => c.name),
      "time",
      INFLUXQL_MEASUREMENT_KEY,
    ]);
    this.writeLines = compileRowLines(measurement, tags, fields);
  }

  toLines(rows: readonly Row[]): RowsResult<string> {
    const items: string[] = [];
    const rejected: RowRejection[] = [];
    const collector = this.collector;
    collector.start(items);
    this.rejected = rejected;
    const skipped = this.writeLines(rows, collector, this);
    collector.finish();
    this.rejected = [];
    return { items, skipped, rejected };
  }

  // RowFailures, for the generated converter: reasons are worded here, off the hot path.
  private rejected: RowRejection[] = [];

  cell(index: number, column: Column, v: unknown): void {
    this.rejected.push({ index, reason: this.cellReason(column, v, expected(column.kind)) });
  }

  tag(index: number, column: Column, v: string): void {
    let reason = "";
    try {
      escapeName(v, "tag value");
    } catch (error) {
      reason = (error as Error).message;
    }
    this.rejected.push({
      index,
      reason: `table ${JSON.stringify(this.table)}, tag ${JSON.stringify(column.name)}: ${reason}`,
    });
  }

  time(index: number, v: unknown): void {
    this.rejected.push({ index, reason: this.timeReason(v) });
  }

  unknown(index: number, row: Row, known: number): boolean {
    const reason = this.unknownColumn(row, known);
    if (reason === undefined) return false;
    this.rejected.push({ index, reason });
    return true;
  }

  toPoints(rows: readonly Row[]): RowsResult<Point> {
    const items: Point[] = [];
    const rejected: RowRejection[] = [];
    let skipped = 0;
    rows: for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const tags: Record<string, string> = {};
      const fields: Record<string, FieldValue> = {};
      let present = 0;
      let fieldCount = 0;
      for (const column of this.tags) {
        const v = cellOf(row, column.name);
        if (v === undefined) continue;
        present++;
        if (v === null || v === "") continue;
        if (typeof v !== "string") {
          rejected.push({ index: r, reason: this.cellReason(column, v, "a string") });
          continue rows;
        }
        setEntry(tags, column.name, v);
      }
      for (const column of this.fields) {
        const v = cellOf(row, column.name);
        if (v === undefined) continue;
        present++;
        if (v === null) continue;
        const value = cellValue(column.kind, v);
        if (value === undefined) {
          rejected.push({ index: r, reason: this.cellReason(column, v, expected(column.kind)) });
          continue rows;
        }
        setEntry(fields, column.name, value);
        fieldCount++;
      }
      const time = rowTimeToNanosText(row.time);
      if (time === undefined) {
        rejected.push({ index: r, reason: this.timeReason(row.time) });
        continue;
      }
      const unknown = this.unknownColumn(row, present + 1);
      if (unknown !== undefined) {
        rejected.push({ index: r, reason: unknown });
        continue;
      }
      if (fieldCount === 0) {
        skipped++;
        continue;
      }
      items.push({ measurement: this.table, tags, fields, timestamp: BigInt(time) });
    }
    return { items, skipped, rejected };
  }

  /** A column the schema does not know would be lost silently: name it instead. */
  private unknownColumn(row: Row, known: number): string | undefined {
    let count = 0;
    for (const key in row) {
      if (key !== INFLUXQL_MEASUREMENT_KEY) count++;
    }
    if (count === known) return undefined;
    for (const key in row) {
      if (!this.columnNames.has(key) && row[key] !== undefined) {
        return `table ${JSON.stringify(this.table)}: column ${JSON.stringify(key)} is not in the schema (read the schema again)`;
      }
    }
    return undefined;
  }

  private cellReason(column: Column, v: unknown, what: string): string {
    return `table ${JSON.stringify(this.table)}, column ${JSON.stringify(column.name)}: expected ${what}, got ${describe(v)}`;
  }

  private timeReason(v: unknown): string {
    return `table ${JSON.stringify(this.table)}, column "time": expected a zone-less UTC time like 2025-04-18T14:02:45.331 or integer nanoseconds within int64, got ${describe(v)}`;
  }
}
