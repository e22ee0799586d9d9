import type { ColumnInfo, Row } from "edr-transform";
import { JsonScanner } from "./json-scanner.js";
import { LineBuffer } from "./line-buffer.js";
import { streamAnswer } from "./local-http.js";
import type { LocalReader, LocalSource } from "./local-reader.js";
import { quoteSqlIdentifier } from "./quoting.js";
import { lineExcerpt, localReadError, throwIfAborted } from "./read-errors.js";
import { chunkRowsOf, DEFAULT_CHUNK_ROWS, idleTimeoutOf, type LocalReaderOptions } from "./reader-options.js";
import { RowBatches } from "./row-batches.js";
import { checkTimeRange, formatRfc3339Nanos } from "./time-bounds.js";

const QUERY_PATH = "api/v3/query_sql";

/** One query: its text, its `$params`, and what it reads (for errors). */
interface SqlQuery {
  q: string;
  params?: Record<string, string>;
  subject: string;
}

/**
 * Reads an InfluxDB 3 over `POST /api/v3/query_sql` with `format=jsonl`.
 *
 * - Tables: `SHOW TABLES`, keeping those with `table_schema = 'iox'` (the others are system tables).
 * - Columns: `information_schema.columns` of the table, queried on every call (no cache: a column added
 *   since the last call is seen at once). The table name is a `$table` parameter, never spliced into the SQL.
 * - Rows: `SELECT * FROM "<table>" WHERE time >= '<start>' AND time < '<end>' ORDER BY time`, the table
 *   quoted as an identifier and the bounds as RFC 3339 with nine fraction digits, so each range is exact
 *   to the nanosecond. Numbers are kept as the text the server printed (`{ value: "9223372036854775807" }`,
 *   `{ value: "21.0" }`): their type comes from the schema, never from how they look. `time` stays the
 *   server's zone-less UTC string. A NULL column is absent from its row, as the server leaves it out.
 *
 * The answer is parsed as it streams in and handed over in chunks, so memory stays bounded whatever the
 * window. A refused query, a body cut short after the 200 (a row without its newline, a connection closed
 * early), malformed JSON, an idle timeout or an abort rejects with a `LOCAL_READ` PluginError naming the
 * table; the token is sent as `Authorization: Bearer` and never appears in an error.
 */
export function createSqlReader(source: LocalSource, options: LocalReaderOptions = {}): LocalReader {
  const idleTimeoutMs = idleTimeoutOf(options);

  async function* query(
    { q, params, subject }: SqlQuery,
    chunkRows: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Row[], void, undefined> {
    const json = { db: source.database, q, format: "jsonl", ...(params ? { params } : {}) };
    const answer = streamAnswer({ source, path: QUERY_PATH, json, subject, signal, idleTimeoutMs });
    const lines = new LineBuffer();
    const scanner = new JsonScanner();
    const batches = new RowBatches(chunkRows);
    const onLine = (bytes: Buffer, start: number, end: number): void => {
      let row: Row;
      try {
        row = scanner.parseObject(bytes, start, end);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw localReadError(
          subject,
          `row ${batches.count + 1} of the answer is not valid JSON (${why}): ${lineExcerpt(bytes, start, end)}`,
          source.token,
          error,
        );
      }
      batches.add(row);
    };
    for await (const piece of answer) {
      lines.push(piece, onLine);
      for (const batch of batches.takeFull()) {
        throwIfAborted(subject, signal, source.token);
        yield batch;
      }
    }
    if (lines.rest().length > 0) {
      throw localReadError(
        subject,
        `the answer was cut short: it ended inside row ${batches.count + 1}, before the newline that ends every row`,
        source.token,
      );
    }
    const rest = batches.takeRest();
    throwIfAborted(subject, signal, source.token);
    if (rest) yield rest;
  }

  async function allRows(sql: SqlQuery): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const batch of query(sql, DEFAULT_CHUNK_ROWS, undefined)) {
      for (const row of batch) rows.push(row);
    }
    return rows;
  }

  const text = (row: Row, key: string, subject: string): string => {
    const value = row[key];
    if (typeof value !== "string") {
      throw localReadError(
        subject,
        `expected a string ${key} in every row of the answer, got ${JSON.stringify(row)}`,
        source.token,
      );
    }
    return value;
  };

  return {
    api: "sql",

    async listTables() {
      const subject = `listing the tables of local database ${JSON.stringify(source.database)}`;
      const rows = await allRows({ q: "SHOW TABLES", subject });
      const tables = new Set<string>();
      for (const row of rows) {
        if (row["table_schema"] === "iox") tables.add(text(row, "table_name", subject));
      }
      return [...tables].sort();
    },

    async readColumns(table) {
      const subject = `reading the columns of table ${JSON.stringify(table)}`;
      const rows = await allRows({
        q:
          "SELECT table_name, column_name, data_type FROM information_schema.columns " +
          "WHERE table_schema = 'iox' AND table_name = $table",
        params: { table },
        subject,
      });
      return rows.map((row): ColumnInfo => ({
        table_name: text(row, "table_name", subject),
        column_name: text(row, "column_name", subject),
        data_type: text(row, "data_type", subject),
      }));
    },

    readRows(table, startNs, endNs, options = {}) {
      const chunkRows = chunkRowsOf(table, options.chunkRows);
      if (!checkTimeRange(table, startNs, endNs)) return emptyRows();
      const start = formatRfc3339Nanos(startNs);
      const end = formatRfc3339Nanos(endNs);
      return query(
        {
          q: `SELECT * FROM ${quoteSqlIdentifier(table)} WHERE time >= '${start}' AND time < '${end}' ORDER BY time`,
          subject: `reading table ${JSON.stringify(table)} from ${start} to ${end}`,
        },
        chunkRows,
        options.signal,
      );
    },
  };
}

async function* emptyRows(): AsyncGenerator<Row[], void, undefined> {}
