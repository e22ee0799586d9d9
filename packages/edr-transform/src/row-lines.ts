// Rows to lines through a function generated once per column schema.
//
// Why generated: a loop over columns reads `row[column.name]` with a different name at one site, which V8
// can only serve from its megamorphic cache; generated code reads each column at its own site
// (`row["usage"]`), which rows parsed from one JSON shape share, and has no per-row branching on column
// kind. Names enter the code only as JSON string literals; everything else is passed in.
//
// Where the runtime refuses to compile code from strings (`--disallow-code-generation-from-strings`, some
// hardened hosts), the same conversion runs as that loop over columns: slower, same lines.
import { BOOLEAN, FLOAT, INTEGER, STRING, UNSIGNED, floatText, integerText } from "./cells.js";
import { escapeName, quoteString } from "./escape.js";
import type { LineCollector } from "./line-collector.js";
import { rowTimeSuffix } from "./time.js";

/** A column as the generated code needs it. */
export interface LineColumn {
  readonly name: string;
  readonly kind: number;
  /** Tags: `,key=`; fields: ` key=` (the first field) and `,key=` (the others), escaped once. */
  readonly first: string;
  readonly next: string;
}

/** How the generated code reports a row it cannot convert (reasons are worded outside the hot loop). */
export interface RowFailures {
  cell(index: number, column: LineColumn, v: unknown): void;
  tag(index: number, column: LineColumn, v: string): void;
  time(index: number, v: unknown): void;
  /** Returns true (and records the rejection) when the row holds a column the schema lacks. */
  unknown(index: number, row: Readonly<Record<string, unknown>>, known: number): boolean;
}

/** Converts rows into `collector`; returns how many rows were skipped for having no field. */
export type RowLinesFunction = (
  rows: readonly Readonly<Record<string, unknown>>[],
  collector: LineCollector,
  failures: RowFailures,
) => number;

/** An escaped tag value, or undefined when no line can carry it (the failure path words why). */
function tagText(v: string): string | undefined {
  try {
    return escapeName(v, "tag value");
  } catch {
    return undefined;
  }
}

function booleanText(v: unknown): string | undefined {
  return v === true ? "true" : v === false ? "false" : undefined;
}

function stringText(v: unknown): string | undefined {
  return typeof v === "string" ? quoteString(v) : undefined;
}

/** A node of the series trie: the line so far (measurement and tags), and the nodes of the next tag. */
interface SeriesNode {
  readonly text: string;
  readonly next: Map<string, SeriesNode>;
  /** On the root: nodes in the trie. */
  size: number;
}

/** Series remembered per converter before the trie starts over: bounds memory when tags never repeat. */
const MAX_SERIES_NODES = 10_000;

function newSeriesNode(text: string): SeriesNode {
  return { text, next: new Map(), size: 0 };
}

function addSeries(root: SeriesNode, node: SeriesNode, value: string, text: string): SeriesNode {
  if (++root.size > MAX_SERIES_NODES) {
    root.next.clear();
    root.size = 0;
  }
  const next = newSeriesNode(text);
  node.next.set(value, next);
  return next;
}

const HELPERS = {
  tagText,
  floatText,
  integerText,
  stringText,
  booleanText,
  rowTimeSuffix,
  addSeries,
  ownCell,
};

function fieldCode(kind: number): string {
  switch (kind) {
    case FLOAT:
      return "t = h.floatText(v);";
    case INTEGER:
      return 't = h.integerText(v, true); if (t !== undefined) t += "i";';
    case UNSIGNED:
      return 't = h.integerText(v, false); if (t !== undefined) t += "u";';
    case STRING:
      return "t = h.stringText(v);";
    case BOOLEAN:
    default:
      return "t = h.booleanText(v);";
  }
}

/** True when this runtime compiles code from strings (checked once). */
const CAN_GENERATE = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- probing whether it is allowed
    return (new Function("return true") as () => boolean)();
  } catch {
    return false;
  }
})();

/** The converter of one schema: tags in the order given (sorted), then fields. */
export function compileRowLines(
  measurement: string,
  tags: readonly LineColumn[],
  fields: readonly LineColumn[],
): RowLinesFunction {
  return CAN_GENERATE
    ? generateRowLines(measurement, tags, fields)
    : interpretRowLines(measurement, tags, fields);
}

function fieldText(kind: number, v: unknown): string | undefined {
  let t: string | undefined;
  switch (kind) {
    case FLOAT:
      return floatText(v);
    case INTEGER:
      t = integerText(v, true);
      return t === undefined ? undefined : t + "i";
    case UNSIGNED:
      t = integerText(v, false);
      return t === undefined ? undefined : t + "u";
    case STRING:
      return stringText(v);
    case BOOLEAN:
    default:
      return booleanText(v);
  }
}

/** What {@link generateRowLines} builds, as a loop over the columns, for runtimes that refuse to compile it. */
export function interpretRowLines(
  measurement: string,
  tags: readonly LineColumn[],
  fields: readonly LineColumn[],
): RowLinesFunction {
  const series = newSeriesNode(measurement);
  return (rows, collector, failures) => {
    let skipped = 0;
    rows: for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      let present = 0;
      let fieldCount = 0;
      let node = series;
      for (const column of tags) {
        const cell = cellOf(row, column.name);
        if (cell !== undefined) present++;
        let v: string;
        if (cell === undefined || cell === null) v = "";
        else if (typeof cell === "string") v = cell;
        else {
          failures.cell(r, column, cell);
          continue rows;
        }
        let next = node.next.get(v);
        if (next === undefined) {
          let t = node.text;
          if (v !== "") {
            const value = tagText(v);
            if (value === undefined) {
              failures.tag(r, column, v);
              continue rows;
            }
            t += column.first + value;
          }
          next = addSeries(series, node, v, t);
        }
        node = next;
      }
      let line = node.text;
      for (const column of fields) {
        const v = cellOf(row, column.name);
        if (v === undefined) continue;
        present++;
        if (v === null) continue;
        const t = fieldText(column.kind, v);
        if (t === undefined) {
          failures.cell(r, column, v);
          continue rows;
        }
        line += (fieldCount++ === 0 ? column.first : column.next) + t;
      }
      const time = row.time;
      const suffix = rowTimeSuffix(time);
      if (suffix === undefined) {
        failures.time(r, time);
        continue;
      }
      let keys = 0;
      for (const key in row) if (key !== "iox::measurement") keys++;
      if (keys !== present + 1 && failures.unknown(r, row, present + 1)) continue;
      if (fieldCount === 0) {
        skipped++;
        continue;
      }
      collector.push(line + suffix);
    }
    return skipped;
  };
}

/**
 * A row's cell, own properties only: a NULL column is missing from its row, and a column named like an
 * `Object.prototype` member (`constructor`, `toString`, `__proto__`…) must not read the inherited member then.
 */
export function cellOf(row: Readonly<Record<string, unknown>>, name: string): unknown {
  return name in Object.prototype ? ownCell(row, name) : row[name];
}

function ownCell(row: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(row, name) ? row[name] : undefined;
}

/** The generated read of a cell: a plain property read unless the name is inherited by every object. */
function cellCode(name: string): string {
  const q = JSON.stringify(name);
  return name in Object.prototype ? `h.ownCell(row, ${q})` : `row[${q}]`;
}

/** Generates the converter of one schema: tags in the order given (sorted), then fields. */
export function generateRowLines(
  measurement: string,
  tags: readonly LineColumn[],
  fields: readonly LineColumn[],
): RowLinesFunction {
  const q = JSON.stringify;
  const code: string[] = [
    "return function rowLines(rows, collector, failures, tags, fields, series) {",
    "let skipped = 0;",
    "rows: for (let r = 0; r < rows.length; r++) {",
    "const row = rows[r];",
    "let present = 0, fieldCount = 0, v, t, next;",
    "let node = series;",
  ];
  // Series repeat: the measurement and tag set are written once per distinct tag values and found again
  // through a small trie keyed by the raw values (NULL, missing and empty are all "", all left out).
  tags.forEach((column, c) => {
    code.push(
      `v = ${cellCode(column.name)};`,
      "if (v !== undefined) present++;",
      'if (v === undefined || v === null) v = "";',
      `else if (typeof v !== "string") { failures.cell(r, tags[${c}], v); continue rows; }`,
      "next = node.next.get(v);",
      "if (next === undefined) {",
      `if (v === "") t = node.text; else { t = h.tagText(v); if (t === undefined) { failures.tag(r, tags[${c}], v); continue rows; } t = node.text + ${q(column.first)} + t; }`,
      "next = h.addSeries(series, node, v, t);",
      "}",
      "node = next;",
    );
  });
  code.push("let line = node.text;");
  fields.forEach((column, c) => {
    code.push(
      `v = ${cellCode(column.name)};`,
      "if (v !== undefined) { present++; if (v !== null) {",
      fieldCode(column.kind),
      `if (t === undefined) { failures.cell(r, fields[${c}], v); continue rows; }`,
      `line += (fieldCount++ === 0 ? ${q(column.first)} : ${q(column.next)}) + t; } }`,
    );
  });
  code.push(
    "v = row.time; t = h.rowTimeSuffix(v);",
    "if (t === undefined) { failures.time(r, v); continue; }",
    // Counting keys here, at a site that sees only rows, is cheaper than in a shared method (measured).
    'let keys = 0; for (const key in row) if (key !== "iox::measurement") keys++;',
    "if (keys !== present + 1 && failures.unknown(r, row, present + 1)) continue;",
    "if (fieldCount === 0) { skipped++; continue; }",
    "collector.push(line + t);",
    "}",
    "return skipped;",
    "};",
  );
  const source = code.join("\n");
  let generated = GENERATED.get(source);
  if (generated === undefined) {
    if (GENERATED.size >= MAX_GENERATED) GENERATED.clear();
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point of this file (see the top)
    generated = (new Function("h", source) as (h: typeof HELPERS) => Generated)(HELPERS);
    GENERATED.set(source, generated);
  }
  const run = generated;
  const series = newSeriesNode(measurement);
  return (rows, collector, failures) => run(rows, collector, failures, tags, fields, series);
}

type Generated = (
  rows: readonly Readonly<Record<string, unknown>>[],
  collector: LineCollector,
  failures: RowFailures,
  tags: readonly LineColumn[],
  fields: readonly LineColumn[],
  series: SeriesNode,
) => number;

// One function per distinct code, whatever the converter: a converter's objects are arguments, not captured,
// so that V8 never specialises the code on one converter and throws it away when another one is made
// (measured: with a fresh converter per call elsewhere in the process, a long-lived one ran at 0.65 to
// 1.17 M rows/s from run to run; sharing the code, at a steady 1.01 to 1.06).
const GENERATED = new Map<string, Generated>();
const MAX_GENERATED = 256;
