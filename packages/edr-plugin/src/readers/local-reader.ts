import type { ColumnInfo, Row } from "edr-transform";

/** Where the local (source) instance is. */
export interface LocalSource {
  /** Base URL, e.g. `http://127.0.0.1:8181` (a path prefix is kept). */
  url: string;
  /** The database to read. */
  database: string;
  /** Sent as `Authorization: Bearer <token>` when set; never in a log line or an error. */
  token?: string | undefined;
}

/** Which query API reads the local instance: SQL over `/api/v3/query_sql`, or InfluxQL over the v1 `/query`. */
export type LocalApi = "sql" | "influxql";

/**
 * Reads a local instance: which tables it has, the columns of each (read fresh on every call: a schema
 * change is never stale), and the rows of a time range, streamed in chunks so memory stays bounded for any
 * window. Every failure (a refused query, a body cut short after the 200, a malformed row) rejects with a
 * `PluginError` of code `LOCAL_READ` that names the table; nothing of a failed read is to be treated as read.
 */
export interface LocalReader {
  readonly api: LocalApi;
  /** User tables of the database, sorted. */
  listTables(): Promise<string[]>;
  /** The columns of `table` as edr-transform's row converter takes them (tags, typed fields, `time`). Empty: no such table. */
  readColumns(table: string): Promise<ColumnInfo[]>;
  /**
   * Rows of `table` with `startNs <= time < endNs`, in time order, in chunks of at most `chunkRows` rows
   * (default 10,000). Each row's `time` is a zone-less UTC string (SQL) or int ns (InfluxQL, as an exact
   * number `{ value: "<ns>" }`), numbers keep the text the server printed (`{ value: "21.0" }`), and a NULL
   * column is left out: as edr-transform's row converter reads them. The iterator rejects if the stream
   * fails at any point (an abort too, with `LOCAL_READ` and the signal's reason as `cause`); bounds outside
   * int64 or a `chunkRows` that is not a positive whole number throw `INVALID_ARGUMENT` at once.
   */
  readRows(
    table: string,
    startNs: bigint,
    endNs: bigint,
    options?: { chunkRows?: number; signal?: AbortSignal },
  ): AsyncIterable<Row[]>;
}
