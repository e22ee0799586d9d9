import { parse } from "lossless-json";
import type { ColumnInfo, Row } from "edr-transform";

/** One table's rows in a time window, with the schema that types them. */
export interface TableWindow {
  table: string;
  columns: ColumnInfo[];
  rows: Row[];
}

/**
 * Reads `[startMs, endMs)` of one table from an InfluxDB 3 over `/api/v3/query_sql` as JSON lines.
 * Numbers are parsed losslessly (the endpoint prints int64 as bare JSON numbers) and typed by the
 * schema from `information_schema.columns`, because JSON cannot tell 21.0 from 21i.
 */
export async function readTableWindow(
  baseUrl: string,
  db: string,
  table: string,
  startMs: number,
  endMs: number,
): Promise<TableWindow> {
  const columns = (await querySql(
    baseUrl,
    db,
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'iox' AND table_name = ${sqlString(table)}`,
  )) as unknown as ColumnInfo[];
  const start = new Date(startMs).toISOString();
  const end = new Date(endMs).toISOString();
  const rows = await querySql(
    baseUrl,
    db,
    `SELECT * FROM ${sqlIdentifier(table)} WHERE time >= '${start}' AND time < '${end}' ORDER BY time`,
  );
  return { table, columns, rows };
}

/** Lists the user tables of `db` (system tables are in other schemas). */
export async function listTables(baseUrl: string, db: string): Promise<string[]> {
  const rows = await querySql(
    baseUrl,
    db,
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'iox'",
  );
  return [...new Set(rows.map((row) => String(row["table_name"])))];
}

async function querySql(baseUrl: string, db: string, q: string): Promise<Row[]> {
  const url = new URL("/api/v3/query_sql", baseUrl);
  url.search = new URLSearchParams({ db, q, format: "jsonl" }).toString();
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`query_sql answered ${response.status}: ${text} (query: ${q})`);
  // An empty result is an empty body; a body cut short after the 200 ends without its newline.
  if (text !== "" && !text.endsWith("\n")) throw new Error(`query_sql result was cut short (query: ${q})`);
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => parse(line) as Row);
}

// Table names are user data: quoted, so that case, spaces and quotes in a name survive (unquoted SQL
// identifiers are lower-cased).
function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
