// Points held (or sent) somewhere, against the values written for each series and time, in order: missing,
// not written at all, written but not last (an older value kept: the order of the series was not), or a value
// never written to that series and time.
import type { StoredPoint } from "edr-testkit";
import type { ParsedLine } from "./line-protocol.js";
import { fieldsText, pointSlot } from "./load.js";

/** Per series and time, the values it may hold, oldest first: the last is the right one. */
export type Versions = Map<string, { point: StoredPoint; texts: string[] }>;

/** Versions from points each written once (what a downsampled remote must hold: one value, no history). */
export function versionsOf(points: readonly StoredPoint[]): Versions {
  const out: Versions = new Map();
  for (const point of points) out.set(pointSlot(point), { point, texts: [fieldsText(point.fields)] });
  return out;
}

export interface SlotReport {
  /** Series and times expected and absent. */
  missing: string[];
  /** Series and times present and never written. */
  unexpected: string[];
  /** Present with a value written earlier than the last one. */
  stale: string[];
  /** Present with a value never written to that series and time. */
  neverWritten: string[];
  /** Present twice (a store holds one point per series and time). */
  twice: string[];
  /** Present with the last value. */
  right: number;
}

/** Holds `actual` (one point per series and time: a store) against `versions`. */
export function compareStore(actual: readonly StoredPoint[], versions: Versions): SlotReport {
  const report: SlotReport = {
    missing: [],
    unexpected: [],
    stale: [],
    neverWritten: [],
    twice: [],
    right: 0,
  };
  const seen = new Set<string>();
  for (const point of actual) {
    const slot = pointSlot(point);
    if (seen.has(slot)) report.twice.push(slot);
    seen.add(slot);
    const entry = versions.get(slot);
    const text = fieldsText(point.fields);
    if (entry === undefined) report.unexpected.push(`${slot} ${text}`);
    else if (entry.texts.at(-1) === text) report.right++;
    else if (entry.texts.includes(text))
      report.stale.push(`${slot} holds ${text}, last written ${entry.texts.at(-1)}`);
    else report.neverWritten.push(`${slot} holds ${text}, written ${entry.texts.join(" then ")}`);
  }
  for (const slot of versions.keys()) if (!seen.has(slot)) report.missing.push(slot);
  return report;
}

/**
 * Every line sent (at least once, so a series and time may come several times) against `versions`: each must
 * be a series and time written, with a value written to it (any of them, unless `lastOnly`).
 */
export function compareSent(
  lines: readonly ParsedLine[],
  versions: Versions,
  lastOnly: boolean,
): { unexpected: string[]; neverWritten: string[]; notLast: string[]; lines: number } {
  const out = {
    unexpected: [] as string[],
    neverWritten: [] as string[],
    notLast: [] as string[],
    lines: lines.length,
  };
  for (const line of lines) {
    if (line.timeNs === undefined) {
      out.unexpected.push(`a line without a timestamp: ${JSON.stringify(line)}`);
      continue;
    }
    const slot = pointSlot({ measurement: line.measurement, tags: line.tags, timeNs: line.timeNs });
    const entry = versions.get(slot);
    const text = fieldsText(line.fields);
    if (entry === undefined) out.unexpected.push(`${slot} ${text}`);
    else if (!entry.texts.includes(text))
      out.neverWritten.push(`${slot} sent ${text}, written ${entry.texts.join(" then ")}`);
    else if (lastOnly && entry.texts.at(-1) !== text)
      out.notLast.push(`${slot} sent ${text}, last ${entry.texts.at(-1)}`);
  }
  return out;
}

/** The first few of a list, one a line, for an assertion's message. */
export function firstFew(items: readonly string[], n = 5): string {
  return items.length === 0 ? "none" : `${items.length}:\n  ${items.slice(0, n).join("\n  ")}`;
}
