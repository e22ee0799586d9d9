import { downsample, type DownsampleOptions, type DownsampleResult } from "./downsample.js";
import { LineProtocolError } from "./errors.js";
import { BACKSLASH, COMMA, SPACE } from "./escape.js";
import { formatPoint } from "./format.js";
import { forEachLine, positionOf } from "./line-split.js";
import { buildPoint } from "./parse.js";
import type { Point } from "./point.js";
import { LineScanner } from "./scanner.js";
import type { Rejection, Transform, TransformResult } from "./transform.js";
import { unescapeName } from "./unescape.js";

/** The parts of a downsampling transform, each compiled once by `createTransform`. */
export interface DownsamplingParts {
  /** Whether the table filter leaves a (local) table out. */
  dropsTable(table: string): boolean;
  /** Field exclusion (with the table filter): runs before downsampling, on local names. */
  before: Transform;
  /** Field renames, then table renames: run on the buckets, after downsampling. */
  after: Transform;
  /** The whole chain without downsampling, for `checkColumns`. */
  all: Transform;
  /** Bucket width and aggregations, keyed by local table and field names. */
  downsampling: DownsampleOptions;
}

const NO_TIMESTAMP = "no timestamp: downsampling needs one to choose the point's time bucket";

/**
 * The seed's chain with downsampling in the middle, where local names still mean something: table filter
 * and field exclusion, then downsampling (aggregations keyed by local table and field names), then field and
 * table renames. Every line of a replicated table is parsed: its values are aggregated, so none passes
 * through as its text.
 */
export class DownsamplingTransform implements Transform {
  private readonly scanner = new LineScanner();
  private readonly aggregate: (points: readonly Point[]) => DownsampleResult;

  constructor(private readonly parts: DownsamplingParts) {
    this.aggregate = downsample(parts.downsampling);
  }

  checkColumns(table: string, columns: Iterable<string>): void {
    this.parts.all.checkColumns(table, columns);
  }

  lines(lines: readonly string[]): TransformResult<string> {
    const kept: Point[] = [];
    const rejected: Rejection<string>[] = [];
    let dropped = 0;
    const sc = this.scanner;
    const drops = this.parts;
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!;
      let seen = false;
      // An element is one line; one holding a newline outside a string is read as the lines it holds.
      forEachLine(line, (start, end) => {
        seen = true;
        if (drops.dropsTable(measurementOf(line, start, end))) {
          dropped++;
          return;
        }
        if (!sc.scan(line, start, end)) {
          rejected.push({ index, item: line, reason: at(line, sc.errorAt, sc.errorReason) });
          return;
        }
        const point = buildPoint(line, start, sc);
        if (point instanceof LineProtocolError) {
          rejected.push({ index, item: line, reason: `column ${point.column}: ${point.reason}` });
        } else if (point.timestamp === undefined) {
          rejected.push({ index, item: line, reason: NO_TIMESTAMP });
        } else {
          kept.push(point);
        }
      });
      if (!seen) dropped++; // blank or comment
    }
    const folded = this.fold(kept);
    const items: string[] = [];
    for (const point of folded.points) {
      try {
        items.push(formatPoint(point));
      } catch (error) {
        folded.problems.push(`${bucketName(point)} left out: ${(error as Error).message}`);
      }
    }
    return {
      items,
      dropped,
      emptied: folded.emptied,
      rejected,
      downsampled: folded.downsampled,
      problems: folded.problems,
    };
  }

  points(points: readonly Point[]): TransformResult<Point> {
    const kept: Point[] = [];
    const rejected: Rejection<Point>[] = [];
    let dropped = 0;
    for (let index = 0; index < points.length; index++) {
      const point = points[index]!;
      if (this.parts.dropsTable(point.measurement)) dropped++;
      else if (point.timestamp === undefined) rejected.push({ index, item: point, reason: NO_TIMESTAMP });
      else kept.push(point);
    }
    const folded = this.fold(kept);
    return {
      items: folded.points,
      dropped,
      emptied: folded.emptied,
      rejected,
      downsampled: folded.downsampled,
      problems: folded.problems,
    };
  }

  /** Excludes, downsamples and renames points that all have a timestamp and a replicated table. */
  private fold(points: Point[]): {
    points: Point[];
    emptied: number;
    downsampled: number;
    problems: string[];
  } {
    const excluded = this.parts.before.points(points);
    const aggregated = this.aggregate(excluded.items);
    const problems = aggregated.problems;
    const buckets: Point[] = [];
    for (const bucket of aggregated.points) if (keepFinite(bucket, problems)) buckets.push(bucket);
    const renamed = this.parts.after.points(buckets);
    for (const { item, reason } of renamed.rejected) problems.push(`${bucketName(item)} left out: ${reason}`);
    return {
      points: renamed.items,
      emptied: excluded.emptied,
      downsampled: excluded.items.length,
      problems,
    };
  }
}

/**
 * A float aggregate of finite values may still overflow (a sum past 1.8e308): no line can carry it, so
 * the value is left out and said so, like an integer sum out of range. False when no field is left.
 */
function keepFinite(bucket: Point, problems: string[]): boolean {
  let count = 0;
  for (const name in bucket.fields) {
    const field = bucket.fields[name]!;
    if (field.type === "float" && !Number.isFinite(field.value)) {
      problems.push(
        `field ${JSON.stringify(name)} of ${JSON.stringify(bucket.measurement)} at ${bucket.timestamp}: the aggregate ${field.value} is not a finite float: value left out`,
      );
      delete bucket.fields[name];
    } else {
      count++;
    }
  }
  if (count === 0) problems.push(`${bucketName(bucket)} left out: no field could be aggregated`);
  return count > 0;
}

function bucketName(point: Point): string {
  const tags = Object.entries(point.tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  return `bucket ${point.timestamp} of ${JSON.stringify(point.measurement)}${tags === "" ? "" : ` (${tags})`}`;
}

/**
 * The measurement of the line at `start`, unescaped (the scan of `LineRewriter.rewriteBatch`, without its
 * cache).
 */
function measurementOf(line: string, start: number, end: number): string {
  let escaped = false;
  let i = start;
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    } else if (c === COMMA || c === SPACE) break;
  }
  if (i > end) i = end;
  return escaped ? unescapeName(line, start, i, true) : line.slice(start, i);
}

function at(line: string, offset: number, reason: string): string {
  return `column ${positionOf(line, offset).column}: ${reason}`;
}
