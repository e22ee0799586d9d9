import type { StoredPoint } from "../stored-point.js";
import { parseLine } from "./line-protocol.js";
import { toNs } from "./precision.js";

/**
 * The accepted lines of one write, kept as the body's bytes until points are asked for. A write is checked in
 * full when it arrives (syntax, ranges, column types), but building a `StoredPoint` per line then would cost
 * most of the write's time and keep millions of small objects alive for the GC to walk: most tests (and
 * every bench) read far fewer points than they write, or none.
 */
export interface Segment {
  /** The body's UTF-8 bytes (one buffer shared by all its lines). */
  bytes: Buffer;
  /** `[start, end)` of each accepted line in `bytes`, flattened: start0, end0, start1, end1, … */
  bounds: number[];
  /** The request's precision unit (ns, us, ms, s or auto). */
  unit: string;
  /** The request's arrival time, for lines without a timestamp. */
  nowNs: bigint;
}

/** The points of a segment's lines, in line order; each line was accepted, so it parses. */
export function* segmentPoints(segment: Segment): Generator<StoredPoint> {
  const { bytes, bounds, unit, nowNs } = segment;
  for (let i = 0; i < bounds.length; i += 2) {
    const parsed = parseLine(bytes.toString("utf8", bounds[i], bounds[i + 1]));
    // Unreachable unless the write path and the parser disagree: better loud than a silently lost point.
    if ("error" in parsed) throw new Error(`[edr-testkit] a stored line does not parse: ${parsed.error}`);
    const timeNs = toNs(parsed.timestamp, unit, nowNs);
    if (typeof timeNs === "string") throw new Error(`[edr-testkit] a stored line's timestamp: ${timeNs}`);
    yield { measurement: parsed.measurement, tags: parsed.tags, fields: parsed.fields, timeNs };
  }
}
