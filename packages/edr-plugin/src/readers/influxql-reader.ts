import type { Row } from "edr-transform";
import {
  planInfluxQLColumns,
  selectRowsQuery,
  toColumnInfo,
  type InfluxQLColumn,
} from "./influxql-columns.js";
import { streamInfluxQLSeries, type InfluxQLSeries } from "./influxql-answer.js";
import type { LocalReader, LocalSource } from "./local-reader.js";
import { quoteInfluxQLIdentifier } from "./quoting.js";
import { localReadError, throwIfAborted } from "./read-errors.js";
import { chunkRowsOf, idleTimeoutOf, type LocalReaderOptions } from "./reader-options.js";
import { RowBatches } from "./row-batches.js";
import { checkTimeRange, formatRfc3339Nanos } from "./time-bounds.js";

const QUERY_PATH = "query";
/** Rows per document of a chunked answer: one document is parsed whole, so this bounds its size. */
const MAX_CHUNK_SIZE = 10_000;

/**
 * Reads InfluxDB 3 or InfluxDB 1.x over the v1 `GET /query` (InfluxQL, `epoch=ns`, `chunked=true`).
 *
 * - Tables: `SHOW MEASUREMENTS`.
 * - Columns: `SHOW FIELD KEYS FROM "m"` (`float|integer|unsigned|string|boolean` become
 *   `Float64|Int64|UInt64|Utf8|Boolean`) and `SHOW TAG KEYS FROM "m"` (`Dictionary(Int32, Utf8)`), plus
 *   `time` (`Timestamp(ns)`), read fresh on every call. The answer prints a whole float as `2`: its type
 *   comes from this schema, so it stays a float. A tag sharing its key with a field (possible in 1.x only)
 *   is named `<key>_1`: see {@link planInfluxQLColumns}.
 * - Rows: `SELECT "f"::field, …, "t"::tag, … FROM "m" WHERE time >= <startNs> AND time < <endNs>
 *   ORDER BY time ASC`, each column selected by key and kind (so the columns of the answer are known by
 *   position, whatever names the server gives them), the schema read again first. Rows come as
 *   `{ time: { value: "<ns>" }, <column>: value, … }`, numbers as their exact text, NULLs left out.
 *   The default retention policy is read.
 *
 * The answer is read in chunked mode, one document of at most `chunkRows` (≤ 10,000) rows at a time, and
 * handed over in chunks of `chunkRows`. Every failure rejects with a `LOCAL_READ` PluginError naming the
 * measurement (statement errors, which 1.x sends with a 200, included); the token is sent as
 * `Authorization: Bearer` (InfluxDB 3; 1.x ignores it unless it has auth enabled) and never appears in an error.
 */
export function createInfluxQLReader(source: LocalSource, options: LocalReaderOptions = {}): LocalReader {
  const idleTimeoutMs = idleTimeoutOf(options);

  const run = (
    q: string,
    subject: string,
    signal?: AbortSignal,
    chunkSize = MAX_CHUNK_SIZE,
  ): AsyncGenerator<InfluxQLSeries, void, undefined> =>
    streamInfluxQLSeries({
      source,
      path: QUERY_PATH,
      search: { db: source.database, q, epoch: "ns", chunked: "true", chunk_size: String(chunkSize) },
      subject,
      signal,
      idleTimeoutMs,
    });

  /** For every row of every series of the answer to `q`: the values of `wanted` columns, which must be names. */
  async function namesOf(
    q: string,
    subject: string,
    wanted: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[][]> {
    const out: string[][] = [];
    for await (const series of run(q, subject, signal)) {
      const at = wanted.map((column) => series.columns.indexOf(column));
      if (at.some((i) => i < 0)) {
        throw localReadError(
          subject,
          `the answer to ${q} lacks a column of ${JSON.stringify(wanted)} (it has ${JSON.stringify(series.columns)})`,
          source.token,
        );
      }
      for (const row of series.values) {
        const values = at.map((i) => row[i]);
        if (!values.every((v) => typeof v === "string")) {
          throw localReadError(
            subject,
            `expected names in the answer to ${q}, got ${JSON.stringify(row)}`,
            source.token,
          );
        }
        out.push(values);
      }
    }
    return out;
  }

  async function columnsOf(table: string, subject: string, signal?: AbortSignal): Promise<InfluxQLColumn[]> {
    const from = quoteInfluxQLIdentifier(table);
    const fieldRows = await namesOf(
      `SHOW FIELD KEYS FROM ${from}`,
      subject,
      ["fieldKey", "fieldType"],
      signal,
    );
    // No field, no measurement: InfluxDB stores no point without a field.
    if (fieldRows.length === 0) return [];
    const tagRows = await namesOf(`SHOW TAG KEYS FROM ${from}`, subject, ["tagKey"], signal);
    try {
      return planInfluxQLColumns(
        fieldRows.map((row) => [row[0]!, row[1]!] as const),
        tagRows.map((row) => row[0]!),
      );
    } catch (error) {
      throw localReadError(subject, (error as Error).message, source.token, error);
    }
  }

  async function* rows(
    table: string,
    startNs: bigint,
    endNs: bigint,
    chunkRows: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Row[], void, undefined> {
    const subject = `reading measurement ${JSON.stringify(table)} from ${formatRfc3339Nanos(startNs)} to ${formatRfc3339Nanos(endNs)}`;
    const columns = await columnsOf(table, subject, signal);
    if (columns.length === 0) return;
    const q = selectRowsQuery(table, columns, startNs, endNs);
    const batches = new RowBatches(chunkRows);
    for await (const series of run(q, subject, signal, Math.min(chunkRows, MAX_CHUNK_SIZE))) {
      addRows(series, columns, batches, (detail) => localReadError(subject, detail, source.token));
      for (const batch of batches.takeFull()) {
        throwIfAborted(subject, signal, source.token);
        yield batch;
      }
    }
    const rest = batches.takeRest();
    throwIfAborted(subject, signal, source.token);
    if (rest) yield rest;
  }

  return {
    api: "influxql",

    async listTables() {
      const subject = `listing the measurements of local database ${JSON.stringify(source.database)}`;
      const names = await namesOf("SHOW MEASUREMENTS", subject, ["name"]);
      return [...new Set(names.map((row) => row[0]!))].sort();
    },

    async readColumns(table) {
      const subject = `reading the columns of measurement ${JSON.stringify(table)}`;
      const columns = await columnsOf(table, subject);
      return columns.length === 0 ? [] : toColumnInfo(table, columns);
    },

    readRows(table, startNs, endNs, options = {}) {
      const chunkRows = chunkRowsOf(table, options.chunkRows);
      if (!checkTimeRange(table, startNs, endNs)) return noRows();
      return rows(table, startNs, endNs, chunkRows, options.signal);
    },
  };
}

/**
 * Turns the value arrays of one series into rows keyed by column name. The answer's columns are `time`
 * and then the selected ones in order; their names are checked loosely (1.x renames a repeated name to
 * `name_1`), their count exactly, so a value never lands under the wrong name.
 */
function addRows(
  series: InfluxQLSeries,
  columns: readonly InfluxQLColumn[],
  batches: RowBatches,
  fail: (detail: string) => Error,
): void {
  const width = columns.length + 1;
  const names = series.columns;
  const matches =
    names.length === width &&
    names[0] === "time" &&
    columns.every((c, i) => names[i + 1] === c.key || names[i + 1]!.startsWith(`${c.key}_`));
  if (!matches) {
    throw fail(
      `the answer's columns ${JSON.stringify(names)} are not the selected ones ${JSON.stringify(["time", ...columns.map((c) => c.key)])}`,
    );
  }
  const keys = columns.map((c) => c.name);
  const protoAt = keys.indexOf("__proto__");
  for (const values of series.values) {
    if (values.length !== width) {
      throw fail(`a row has ${values.length} values for ${width} columns: ${JSON.stringify(values)}`);
    }
    const row: Record<string, unknown> = { time: values[0] };
    for (let i = 0; i < keys.length; i++) {
      const value = values[i + 1];
      if (value === null || value === undefined) continue;
      // Assignment would set the prototype: a column named __proto__ is defined as an own property.
      if (i === protoAt) {
        Object.defineProperty(row, "__proto__", {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        row[keys[i]!] = value;
      }
    }
    batches.add(row);
  }
}

async function* noRows(): AsyncGenerator<Row[], void, undefined> {}
