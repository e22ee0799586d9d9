// Two stores compared point by point (the local instance against the remote), and a plain HTTP call that
// keeps the status, headers and body of the answer: what the bad-input and disk-full tests check.
import type { StoredField, StoredPoint } from "edr-testkit";

/** What a store holds, as text: `table tags time` -> fields, each with its type. */
export function storeMap(points: readonly StoredPoint[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of points) {
    const tags = Object.entries(p.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([p.measurement, tags, String(p.timeNs)]);
    const fields = Object.entries(p.fields)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, f]) => [name, f.type, fieldText(f)]);
    out.set(key, JSON.stringify(fields));
  }
  return out;
}

function fieldText(field: StoredField): string {
  // -0 and 0 are different values written; keep them apart.
  if (field.type === "float" && Object.is(field.value, -0)) return "-0";
  return String(field.value);
}

/** The differences between two stores: points only in `expected`, only in `actual`, or with other fields. */
export interface StoreDiff {
  missing: string[];
  unexpected: string[];
  different: string[];
  same: number;
}

export function diffStores(expected: readonly StoredPoint[], actual: readonly StoredPoint[]): StoreDiff {
  const want = storeMap(expected);
  const got = storeMap(actual);
  const diff: StoreDiff = { missing: [], unexpected: [], different: [], same: 0 };
  for (const [key, fields] of want) {
    const other = got.get(key);
    if (other === undefined) diff.missing.push(`${key} ${fields}`);
    else if (other !== fields) diff.different.push(`${key}: expected ${fields}, got ${other}`);
    else diff.same++;
  }
  for (const [key, fields] of got) if (!want.has(key)) diff.unexpected.push(`${key} ${fields}`);
  return diff;
}

/** The first few items, for a failure's message. */
export function few(items: readonly string[], n = 5): string {
  return items.length === 0 ? "none" : `${items.length}: ${items.slice(0, n).join("\n  ")}`;
}

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** POSTs `body` and reads the whole answer; a connection failure rejects. */
export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    headers,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
