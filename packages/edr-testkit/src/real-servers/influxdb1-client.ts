import { isLosslessNumber, parse } from "lossless-json";

import { setName } from "../stored-point.js";
import type { StoredField, StoredPoint } from "../stored-point.js";
import { RealServerError } from "./errors.js";

/** The answer to a write, as data: 204 is success, a 400 lists the rejected line. */
export interface InfluxDB1WriteResult {
  status: number;
  body: string;
}

/** InfluxQL double-quoted identifier: `\` and `"` are escaped, as its scanner reads them. */
export function quoteInfluxQLIdentifier(name: string): string {
  return `"${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

async function request(url: string, init: RequestInit, what: string): Promise<InfluxDB1WriteResult> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    throw new RealServerError(
      "REQUEST_FAILED",
      `[edr-testkit] [influxdb1] ${what} failed: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Creates database `db` (`CREATE DATABASE`, a no-op when it exists). */
export async function createInfluxDB1Database(url: string, db: string): Promise<void> {
  const q = `CREATE DATABASE ${quoteInfluxQLIdentifier(db)}`;
  const answer = await request(`${url}/query`, { method: "POST", body: new URLSearchParams({ q }) }, q);
  statementResults(answer, q);
}

/**
 * Sends `body` (line protocol) to `POST /write?db=…&precision=…` and returns the status and body as data:
 * InfluxDB 1.6.7 answers 204, or 400 with `{"error":"…"}` (keeping the good lines of a partial batch).
 * `precision` is `n`, `u`, `ms` or `s`; 1.6.7 reads any other spelling as ns.
 */
export async function writeInfluxDB1(
  url: string,
  db: string,
  body: string,
  precision = "n",
): Promise<InfluxDB1WriteResult> {
  const query = new URLSearchParams({ db, precision });
  return request(`${url}/write?${query.toString()}`, { method: "POST", body }, `write to ${db}`);
}

interface Series {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

async function query(url: string, db: string, q: string): Promise<Series[]> {
  const search = new URLSearchParams({ db, q, epoch: "ns" });
  const answer = await request(`${url}/query?${search.toString()}`, { method: "GET" }, q);
  return statementResults(answer, q);
}

function statementResults(answer: InfluxDB1WriteResult, q: string): Series[] {
  const unexpected = (why: string): RealServerError =>
    new RealServerError(
      "UNEXPECTED_RESPONSE",
      `[edr-testkit] [influxdb1] ${q}: ${why}; got ${answer.status} ${answer.body.slice(0, 500)}`,
    );
  if (answer.status !== 200) throw unexpected("expected status 200");
  // Lossless: integers above 2^53 and the exact text of every float survive until we know the field type.
  const parsed = parse(answer.body) as { results?: { error?: string; series?: Series[] }[] };
  const result = parsed.results?.[0];
  if (result === undefined) throw unexpected("expected one statement result");
  if (result.error !== undefined) throw unexpected(`the statement failed: ${result.error}`);
  return result.series ?? [];
}

type FieldType = StoredField["type"];

function toStoredField(type: FieldType, value: unknown, where: string): StoredField {
  const wrong = (): RealServerError =>
    new RealServerError(
      "UNEXPECTED_RESPONSE",
      `[edr-testkit] [influxdb1] ${where}: expected a ${type} value, got ${String(value)}`,
    );
  switch (type) {
    case "float":
      if (!isLosslessNumber(value)) throw wrong();
      return { type, value: Number(value.value) };
    case "integer":
    case "unsigned":
      if (!isLosslessNumber(value) || !/^-?\d+$/.test(value.value)) throw wrong();
      return { type, value: BigInt(value.value) };
    case "string":
      if (typeof value !== "string") throw wrong();
      return { type, value };
    case "boolean":
      if (typeof value !== "boolean") throw wrong();
      return { type, value };
  }
}

const FIELD_TYPES = new Set<string>(["float", "integer", "unsigned", "string", "boolean"]);

async function fieldTypes(url: string, db: string, measurement: string): Promise<Map<string, FieldType>> {
  const types = new Map<string, FieldType>();
  for (const series of await query(url, db, `SHOW FIELD KEYS FROM ${quoteInfluxQLIdentifier(measurement)}`)) {
    for (const [key, type] of series.values as [string, string][]) {
      if (!FIELD_TYPES.has(type)) {
        throw new RealServerError(
          "UNEXPECTED_RESPONSE",
          `[edr-testkit] [influxdb1] field "${key}" of "${measurement}" has unknown type "${type}"`,
        );
      }
      const known = types.get(key);
      // 1.x keeps field types per shard: one key may have two types across time ranges.
      if (known !== undefined && known !== type) {
        throw new RealServerError(
          "UNEXPECTED_RESPONSE",
          `[edr-testkit] [influxdb1] field "${key}" of "${measurement}" is both ${known} and ${type} ` +
            `(in different shards); readInfluxDB1Points cannot tell which value has which type`,
        );
      }
      types.set(key, type as FieldType);
    }
  }
  return types;
}

/**
 * Reads back every point of `db` (or of one measurement) exactly as InfluxDB 1.x stored it: the JSON is
 * parsed losslessly, field types come from `SHOW FIELD KEYS` (integers as bigint, floats to the last bit
 * including -0), tags from `GROUP BY *` (empty tags left out), times in ns. Ordered by measurement, then
 * series key, then time; {@link sortStoredPoints} gives an order independent of the server.
 */
export async function readInfluxDB1Points(
  url: string,
  db: string,
  measurement?: string,
): Promise<StoredPoint[]> {
  const measurements =
    measurement !== undefined
      ? [measurement]
      : (await query(url, db, "SHOW MEASUREMENTS")).flatMap((series) =>
          series.values.map((row) => String(row[0])),
        );
  const points: StoredPoint[] = [];
  for (const name of measurements) {
    const types = await fieldTypes(url, db, name);
    const select = `SELECT * FROM ${quoteInfluxQLIdentifier(name)} GROUP BY *`;
    for (const series of await query(url, db, select)) {
      const tags: Record<string, string> = {};
      for (const [key, value] of Object.entries(series.tags ?? {}))
        if (value !== "") setName(tags, key, value);
      const timeIndex = series.columns.indexOf("time");
      for (const row of series.values) {
        const time = row[timeIndex];
        if (!isLosslessNumber(time)) {
          throw new RealServerError(
            "UNEXPECTED_RESPONSE",
            `[edr-testkit] [influxdb1] ${select}: no ns time in a row`,
          );
        }
        const fields: Record<string, StoredField> = {};
        series.columns.forEach((column, index) => {
          const value = row[index];
          if (index === timeIndex || value === null || value === undefined) return;
          const type = types.get(column);
          if (type === undefined) {
            throw new RealServerError(
              "UNEXPECTED_RESPONSE",
              `[edr-testkit] [influxdb1] ${select}: column "${column}" is not in SHOW FIELD KEYS`,
            );
          }
          setName(fields, column, toStoredField(type, value, `${name}.${column}`));
        });
        points.push({ measurement: name, tags: { ...tags }, fields, timeNs: BigInt(time.value) });
      }
    }
  }
  return points;
}

function seriesKey(point: StoredPoint): string {
  const tags = Object.entries(point.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([point.measurement, tags]);
}

/**
 * Returns the points in one canonical order (measurement and tags, then time), so points read from
 * different servers compare with `toEqual`.
 */
export function sortStoredPoints(points: readonly StoredPoint[]): StoredPoint[] {
  return points
    .map((point) => ({ point, key: seriesKey(point) }))
    .sort((a, b) =>
      a.key < b.key
        ? -1
        : a.key > b.key
          ? 1
          : a.point.timeNs < b.point.timeNs
            ? -1
            : a.point.timeNs > b.point.timeNs
              ? 1
              : 0,
    )
    .map(({ point }) => point);
}
