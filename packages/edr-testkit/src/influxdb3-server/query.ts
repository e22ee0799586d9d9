import { encodeRows, type CellValue, type Row } from "./json-encoding.js";
import { json, type Reply } from "./reply.js";
import { parseSql, UnsupportedSqlError, type SqlQuery, type TimeBound, type ValueRef } from "./sql.js";
import type { ColumnType, Storage } from "./storage.js";
import { parseTime } from "./time.js";

const DATA_TYPES: Record<ColumnType, string> = {
  tag: "Dictionary(Int32, Utf8)",
  integer: "Int64",
  unsigned: "UInt64",
  float: "Float64",
  string: "Utf8",
  boolean: "Boolean",
};
const TIME_DATA_TYPE = "Timestamp(ns)";
/** The tables besides the user's that Core's SHOW TABLES lists. */
const SYSTEM_TABLES: [schema: string, name: string, type: string][] = [
  ["system", "distinct_caches", "BASE TABLE"],
  ["system", "last_caches", "BASE TABLE"],
  ["system", "parquet_files", "BASE TABLE"],
  ["system", "processing_engine_logs", "BASE TABLE"],
  ["system", "processing_engine_triggers", "BASE TABLE"],
  ["system", "queries", "BASE TABLE"],
  ["information_schema", "tables", "VIEW"],
  ["information_schema", "views", "VIEW"],
  ["information_schema", "columns", "VIEW"],
  ["information_schema", "df_settings", "VIEW"],
  ["information_schema", "schemata", "VIEW"],
  ["information_schema", "routines", "VIEW"],
  ["information_schema", "parameters", "VIEW"],
];
const JSON_ACCEPTS = new Set(["*/*", "application/json"]);

class QueryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface QueryRequest {
  db: string;
  q: string;
  format: "json" | "jsonl";
  params: Record<string, unknown>;
}

/** Answers `GET|POST /api/v3/query_sql` for the supported query shapes, rows encoded as InfluxDB 3 does. */
export function handleQuery(
  storage: Storage,
  method: string,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Reply {
  try {
    const request = readRequest(method, query, headers, body);
    if (!storage.hasDatabase(request.db)) throw new QueryError(404, `database not found: ${request.db}`);
    const sql = parseSql(request.q);
    const { columns, rows } = execute(storage, request, sql);
    const contentType = request.format === "json" ? "application/json" : "application/jsonl";
    return {
      status: 200,
      headers: { "content-type": contentType },
      body: encodeRows(rows, columns, request.format),
    };
  } catch (error) {
    if (error instanceof QueryError) return json(error.status, { error: error.message });
    if (error instanceof UnsupportedSqlError) {
      return json(400, { error: `unsupported query (edr-testkit): ${error.message}` });
    }
    throw error;
  }
}

function readRequest(
  method: string,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): QueryRequest {
  // InfluxDB 3 reads Accept before format: a JSONL Accept fails even with format=jsonl.
  const accept = headers.accept;
  if (accept !== undefined && !JSON_ACCEPTS.has(String(accept))) {
    throw new QueryError(
      400,
      `invalid mime type (${String(accept)}): send no Accept, */* or application/json`,
    );
  }
  let fields: Record<string, unknown>;
  if (method === "POST") {
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      fields = parsed as Record<string, unknown>;
    } catch {
      throw new QueryError(400, 'expected a JSON body {"db","q","format","params"}');
    }
  } else {
    fields = Object.fromEntries(query);
    if (typeof fields.params === "string") {
      try {
        fields.params = JSON.parse(fields.params);
      } catch {
        throw new QueryError(400, `params must be a JSON object, got ${JSON.stringify(fields.params)}`);
      }
    }
  }
  const { db, q, format = "json", params = {} } = fields;
  if (typeof db !== "string" || db === "") throw new QueryError(400, 'missing the "db" parameter');
  if (typeof q !== "string" || q === "") throw new QueryError(400, 'missing the "q" parameter');
  if (format !== "json" && format !== "jsonl") {
    const known = ["csv", "pretty", "parquet"].includes(String(format));
    throw new QueryError(
      400,
      known
        ? `format ${String(format)} is not supported by edr-testkit: use json or jsonl`
        : `invalid format ${JSON.stringify(format)}: expected json, jsonl, csv, pretty or parquet`,
    );
  }
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new QueryError(400, "params must be a JSON object");
  }
  return { db, q, format, params: params as Record<string, unknown> };
}

function execute(storage: Storage, request: QueryRequest, sql: SqlQuery): { columns: string[]; rows: Row[] } {
  const { db } = request;
  switch (sql.kind) {
    case "show-tables": {
      const columns = ["table_catalog", "table_schema", "table_name", "table_type"];
      const list: [string, string, string][] = [
        ...storage.tableNames(db).map((t): [string, string, string] => ["iox", t, "BASE TABLE"]),
        ...SYSTEM_TABLES,
      ];
      const rows = list.map(([schema, name, type]) => textRow(columns, ["public", schema, name, type]));
      return { columns, rows };
    }
    case "information-schema-columns": {
      const only = sql.tableName === undefined ? undefined : resolveString(sql.tableName, request.params);
      const rows: Row[] = [];
      for (const table of storage.tableNames(db)) {
        if (only !== undefined && table !== only) continue;
        const types = storage.columns(db, table)!;
        for (const column of sortedColumns(types)) {
          const type = column === "time" ? TIME_DATA_TYPE : DATA_TYPES[types.get(column)!];
          const values: Record<string, string> = {
            table_catalog: "public",
            table_schema: "iox",
            table_name: table,
            column_name: column,
            data_type: type,
            is_nullable: column === "time" ? "NO" : "YES",
          };
          rows.push(
            textRow(
              sql.columns,
              sql.columns.map((c) => values[c]!),
            ),
          );
        }
      }
      const sortKey = (row: Row) => sql.orderBy.map((c) => (row.get(c) as { value: string }).value);
      if (sql.orderBy.length > 0) rows.sort((a, b) => compareKeys(sortKey(a), sortKey(b)));
      return { columns: sql.columns, rows };
    }
    case "select":
      return select(storage, request, sql);
  }
}

function select(
  storage: Storage,
  request: QueryRequest,
  sql: Extract<SqlQuery, { kind: "select" }>,
): { columns: string[]; rows: Row[] } {
  const types = storage.columns(request.db, sql.table);
  if (types === undefined) {
    throw new QueryError(400, `Error during planning: table 'public.iox.${sql.table}' not found`);
  }
  const columns = sql.columns === "*" ? sortedColumns(types) : sql.columns;
  for (const column of columns) {
    if (column !== "time" && !types.has(column)) {
      throw new QueryError(400, `Schema error: No field named ${JSON.stringify(column)}`);
    }
  }
  const lower = sql.lower === undefined ? undefined : resolveBound(sql.lower, request.params);
  const upper = sql.upper === undefined ? undefined : resolveBound(sql.upper, request.params);
  const points = storage.points(request.db, sql.table).filter((p) => {
    if (lower !== undefined && (lower.inclusive ? p.timeNs < lower.ns : p.timeNs <= lower.ns)) return false;
    if (upper !== undefined && (upper.inclusive ? p.timeNs > upper.ns : p.timeNs >= upper.ns)) return false;
    return true;
  });
  if (sql.order !== undefined) {
    const sign = sql.order === "asc" ? 1 : -1;
    points.sort((a, b) => (a.timeNs < b.timeNs ? -sign : a.timeNs > b.timeNs ? sign : 0));
  }
  if (sql.limit !== undefined) points.length = Math.min(points.length, sql.limit);
  const wanted = new Set(columns);
  const rows = points.map((p) => {
    const row: Row = new Map<string, CellValue>();
    if (wanted.has("time")) row.set("time", { type: "time", value: p.timeNs });
    for (const [k, v] of Object.entries(p.tags)) if (wanted.has(k)) row.set(k, { type: "tag", value: v });
    for (const [k, v] of Object.entries(p.fields)) if (wanted.has(k)) row.set(k, v);
    return row;
  });
  return { columns, rows };
}

function resolveBound(bound: TimeBound, params: Record<string, unknown>): { ns: bigint; inclusive: boolean } {
  const text = resolveString(bound.value, params);
  const ns = parseTime(text);
  if (ns === undefined)
    throw new QueryError(400, `expected an RFC 3339 timestamp, got ${JSON.stringify(text)}`);
  return { ns, inclusive: bound.inclusive };
}

function resolveString(value: ValueRef, params: Record<string, unknown>): string {
  if ("literal" in value) return value.literal;
  if (!Object.hasOwn(params, value.param)) {
    throw new QueryError(400, `no value found for placeholder $${value.param}`);
  }
  const v = params[value.param];
  if (typeof v !== "string") {
    throw new QueryError(400, `edr-testkit takes $${value.param} only as a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** All columns with `time`, in byte order of their UTF-8 names, as `SELECT *` lists them. */
function sortedColumns(types: ReadonlyMap<string, ColumnType>): string[] {
  return ["time", ...types.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
    if (c !== 0) return c;
  }
  return 0;
}

function textRow(columns: readonly string[], values: readonly string[]): Row {
  return new Map(columns.map((c, i): [string, CellValue] => [c, { type: "string", value: values[i]! }]));
}
