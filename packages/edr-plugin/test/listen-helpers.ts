// Shared by the write-through endpoint's tests: posting to it, and reading accepted lines as stored points.
import { parseLines } from "edr-transform";
import type { StoredPoint } from "edr-testkit";

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** POSTs `body` to `url + path` and reads the answer. */
export async function post(
  url: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url + path, { method: "POST", body, headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** GETs `url + path` and reads the answer. */
export async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url + path, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Accepted lines as the points a server would store from them (each line must carry its timestamp). */
export function linesToPoints(lines: readonly string[]): StoredPoint[] {
  return parseLines(lines.join("\n")).map((point) => {
    if (point.timestamp === undefined)
      throw new Error(`no timestamp in an accepted line of ${point.measurement}`);
    return {
      measurement: point.measurement,
      tags: point.tags,
      fields: point.fields,
      timeNs: point.timestamp,
    };
  });
}

/** The `error` of an InfluxDB 1.x/3 JSON error body. */
export function errorOf(body: string): string {
  const { error } = JSON.parse(body) as { error?: unknown };
  if (typeof error !== "string") throw new Error(`no "error" in ${body}`);
  return error;
}

/** The line numbers a v3 partial-write body lists. */
export function lineNumbersOf(body: string): number[] {
  return (JSON.parse(body) as { data: { line_number: number }[] }).data.map((entry) => entry.line_number);
}
