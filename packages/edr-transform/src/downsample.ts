import {
  AVG,
  Accumulator,
  LAST,
  MEDIAN,
  SUM,
  aggregationCode,
  isNumeric,
  result,
  update,
  type Aggregation,
} from "./aggregate.js";
import { TransformError } from "./errors.js";
import { setEntry, type FieldValue, type Point } from "./point.js";

export type { Aggregation } from "./aggregate.js";

/** Options of {@link downsample} and {@link createDownsampler}. */
export interface DownsampleOptions {
  /** Bucket width in milliseconds (a positive integer); buckets start at multiples of it since the epoch. */
  intervalMs: number;
  /** Which aggregation each field gets (the shape edr-args produces). */
  aggregations?: AggregationRules | undefined;
}

/**
 * Aggregation per table and field, and one for every other field. Without `default`, numeric fields use
 * `avg` and string and boolean fields `last`. `avg`, `sum` and `median` of a string or boolean field fall back
 * to `last`. Tables are named as the points given to the downsampler name them.
 */
export interface AggregationRules {
  default?: Aggregation | undefined;
  fields?: ReadonlyMap<string, ReadonlyMap<string, Aggregation>> | undefined;
}

/** Downsampled points, and what could not be aggregated (a field changing type, an integer sum overflowing). */
export interface DownsampleResult {
  points: Point[];
  problems: string[];
}

/** What {@link Downsampler.add} took in. */
export interface AddResult {
  /** Points added to an open bucket. */
  added: number;
  /** Points of a bucket already emitted by `flushClosed`: not added, since a second point would overwrite it. */
  late: Point[];
  /** Points without a timestamp (they belong to no bucket), and fields whose type changed in a bucket. */
  problems: string[];
}

/** A bucket still open: its series, its time range, and its aggregate so far. */
export interface OpenBucket {
  measurement: string;
  tags: Readonly<Record<string, string>>;
  startNs: bigint;
  /** Exclusive end: the bucket is complete once no point before this time can arrive. */
  endNs: bigint;
  pointCount: number;
  /** The point the bucket would emit now. */
  partial: Point;
}

/** Streaming downsampling: add points as they come, emit buckets once they are closed. */
export interface Downsampler {
  add(points: readonly Point[]): AddResult;
  /** Emits and forgets the buckets that end at or before `watermarkNs`; later points for them count as late. */
  flushClosed(watermarkNs: bigint): DownsampleResult;
  /** Emits and forgets every bucket. */
  flushAll(): DownsampleResult;
  /** The open buckets, oldest first. */
  openBuckets(): OpenBucket[];
  /** Start of the oldest open bucket, or undefined when none is open. */
  oldestOpenStartNs(): bigint | undefined;
}

/** A level of the series trie: tag key -> tag value -> next level. Lookups use the strings as they come. */
class SeriesNode {
  children: Map<string, Map<string, SeriesNode>> | undefined = undefined;
  series: Series | undefined = undefined;
}

class Series {
  current: Bucket | undefined = undefined;
  readonly buckets = new Map<bigint, Bucket>();
  constructor(
    readonly key: string,
    readonly order: number,
    readonly measurement: string,
    readonly tags: Record<string, string>,
    readonly aggregations: ReadonlyMap<string, number> | undefined,
    public node: SeriesNode,
  ) {}
}

function descend(node: SeriesNode, key: string, value: string): SeriesNode {
  let children = node.children;
  if (children === undefined) {
    children = new Map<string, Map<string, SeriesNode>>();
    node.children = children;
  }
  let byValue = children.get(key);
  if (byValue === undefined) {
    byValue = new Map<string, SeriesNode>();
    children.set(key, byValue);
  }
  let next = byValue.get(value);
  if (next === undefined) byValue.set(value, (next = new SeriesNode()));
  return next;
}

class Bucket {
  readonly names: string[] = [];
  readonly accumulators: Accumulator[] = [];
  pointCount = 0;
  constructor(
    readonly series: Series,
    readonly start: bigint,
    readonly end: bigint,
  ) {}
}

class DownsamplerImpl implements Downsampler {
  private readonly interval: bigint;
  private readonly aggregations = new Map<string, ReadonlyMap<string, number>>();
  private readonly defaultAggregation: number | undefined;
  private readonly series = new Map<string, Series>();
  private readonly roots = new Map<string, SeriesNode>();
  /** Series created since the trie was last rebuilt: bounds the memory of series that came and went. */
  private created = 0;
  private closedUntil: bigint | undefined = undefined;
  private problems: string[] = [];
  private bucketCount = 0;
  private order = 0;

  constructor(options: DownsampleOptions) {
    const ms = options.intervalMs;
    if (!Number.isSafeInteger(ms) || ms <= 0) {
      throw new TransformError(
        "INVALID_ARGUMENT",
        `intervalMs: expected a positive integer, got ${String(ms)}`,
      );
    }
    this.interval = BigInt(ms) * 1_000_000n;
    const rules = options.aggregations;
    this.defaultAggregation =
      rules?.default === undefined ? undefined : aggregationCode(rules.default, "default");
    for (const [table, fields] of rules?.fields ?? []) {
      const codes = new Map<string, number>();
      for (const [field, name] of fields) codes.set(field, aggregationCode(name, `${table}:${field}`));
      this.aggregations.set(table, codes);
    }
  }

  add(points: readonly Point[]): AddResult {
    const late: Point[] = [];
    const problems: string[] = [];
    let added = 0;
    const interval = this.interval;
    const closedUntil = this.closedUntil;
    for (let p = 0; p < points.length; p++) {
      const point = points[p]!;
      const t = point.timestamp;
      if (t === undefined) {
        problems.push(
          `point of ${JSON.stringify(point.measurement)} has no timestamp: it belongs to no bucket`,
        );
        continue;
      }
      const series = this.seriesOf(point);
      let bucket = series.current;
      if (bucket === undefined || t < bucket.start || t >= bucket.end) {
        let start = t - (t % interval);
        if (start > t) start -= interval; // floor, not truncation, before the epoch
        if (closedUntil !== undefined && start + interval <= closedUntil) {
          late.push(point);
          continue;
        }
        bucket = series.buckets.get(start);
        if (bucket === undefined) {
          bucket = new Bucket(series, start, start + interval);
          series.buckets.set(start, bucket);
          this.bucketCount++;
        }
        series.current = bucket;
      }
      bucket.pointCount++;
      added++;
      const names = bucket.names;
      const accumulators = bucket.accumulators;
      let slot = 0;
      const fields = point.fields;
      for (const name in fields) {
        const value = fields[name]!;
        let acc: Accumulator | undefined;
        // Points of a series usually list the same fields in the same order: try the same slot first.
        if (slot < names.length && names[slot] === name) acc = accumulators[slot];
        else {
          const at = names.indexOf(name);
          if (at >= 0) {
            acc = accumulators[at];
            slot = at;
          }
        }
        slot++;
        if (acc === undefined) {
          let aggregation = series.aggregations?.get(name) ?? this.defaultAggregation;
          if (aggregation === undefined) aggregation = isNumeric(value.type) ? AVG : LAST;
          else if (
            !isNumeric(value.type) &&
            (aggregation === AVG || aggregation === SUM || aggregation === MEDIAN)
          ) {
            aggregation = LAST;
          }
          acc = new Accumulator(name, value.type, aggregation, value, t);
          names.push(name);
          accumulators.push(acc);
          slot = names.length;
          update(acc, value, t);
          continue;
        }
        if (acc.type !== value.type) {
          problems.push(
            `field ${JSON.stringify(name)} of ${JSON.stringify(point.measurement)} is ${value.type} at ${t} but ${acc.type} earlier in its bucket: value left out`,
          );
          continue;
        }
        update(acc, value, t);
      }
    }
    return { added, late, problems };
  }

  private seriesOf(point: Point): Series {
    const tags = point.tags;
    let node = this.roots.get(point.measurement);
    if (node === undefined) {
      node = new SeriesNode();
      this.roots.set(point.measurement, node);
    }
    let previous = "";
    let sorted = true;
    for (const k in tags) {
      const v = tags[k]!;
      if (v === "") continue;
      if (k < previous) {
        sorted = false;
        break;
      }
      previous = k;
      node = descend(node, k, v);
    }
    if (!sorted) {
      node = this.roots.get(point.measurement)!;
      for (const k of Object.keys(tags).sort()) if (tags[k] !== "") node = descend(node, k, tags[k]!);
    }
    let series = node.series;
    if (series === undefined) {
      const copy: Record<string, string> = {};
      let key = point.measurement;
      for (const k of Object.keys(tags).sort()) {
        if (tags[k] === "") continue;
        setEntry(copy, k, tags[k]!);
        key += "\u0000" + k + "\u0001" + tags[k]!;
      }
      this.created++;
      series = new Series(
        key,
        this.order++,
        point.measurement,
        copy,
        this.aggregations.get(point.measurement),
        node,
      );
      node.series = series;
      this.series.set(key, series);
    }
    return series;
  }

  flushClosed(watermarkNs: bigint): DownsampleResult {
    if (this.closedUntil === undefined || watermarkNs > this.closedUntil) this.closedUntil = watermarkNs;
    return this.flush((bucket) => bucket.end <= watermarkNs);
  }

  flushAll(): DownsampleResult {
    return this.flush(() => true);
  }

  private flush(closed: (bucket: Bucket) => boolean): DownsampleResult {
    const done: Bucket[] = [];
    for (const series of this.series.values()) {
      for (const [start, bucket] of series.buckets) {
        if (!closed(bucket)) continue;
        done.push(bucket);
        series.buckets.delete(start);
        if (series.current === bucket) series.current = undefined;
      }
      if (series.buckets.size === 0) {
        this.series.delete(series.key);
        series.node.series = undefined;
      }
    }
    this.bucketCount -= done.length;
    if (this.created > 10_000 && this.created > 4 * this.series.size) this.rebuildTrie();
    done.sort(byStartThenSeries);
    const problems = this.problems;
    this.problems = [];
    const points = done.map((bucket) => emit(bucket, problems));
    return { points, problems };
  }

  private rebuildTrie(): void {
    this.roots.clear();
    this.created = this.series.size;
    for (const series of this.series.values()) {
      let node = this.roots.get(series.measurement);
      if (node === undefined) this.roots.set(series.measurement, (node = new SeriesNode()));
      for (const k of Object.keys(series.tags).sort()) node = descend(node, k, series.tags[k]!);
      node.series = series;
      series.node = node;
    }
  }

  openBuckets(): OpenBucket[] {
    const open: Bucket[] = [];
    for (const series of this.series.values())
      for (const bucket of series.buckets.values()) open.push(bucket);
    open.sort(byStartThenSeries);
    return open.map((bucket) => ({
      measurement: bucket.series.measurement,
      tags: bucket.series.tags,
      startNs: bucket.start,
      endNs: bucket.end,
      pointCount: bucket.pointCount,
      partial: emit(bucket, []),
    }));
  }

  oldestOpenStartNs(): bigint | undefined {
    if (this.bucketCount === 0) return undefined;
    let oldest: bigint | undefined;
    for (const series of this.series.values()) {
      for (const start of series.buckets.keys()) if (oldest === undefined || start < oldest) oldest = start;
    }
    return oldest;
  }
}

function byStartThenSeries(a: Bucket, b: Bucket): number {
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.series.order - b.series.order;
}

function emit(bucket: Bucket, problems: string[]): Point {
  const fields: Record<string, FieldValue> = {};
  const measurement = bucket.series.measurement;
  for (const acc of bucket.accumulators) {
    const value = result(acc);
    if (typeof value === "string")
      problems.push(
        `field ${JSON.stringify(acc.name)} of ${JSON.stringify(measurement)} at ${bucket.start}: ${value}`,
      );
    else setEntry(fields, acc.name, value);
  }
  return { measurement, tags: { ...bucket.series.tags }, fields, timestamp: bucket.start };
}

/**
 * Builds a streaming downsampler: buckets aligned to multiples of `intervalMs` since the Unix epoch (like SQL
 * `DATE_BIN` with the epoch as origin), one output point per table, tag set and bucket, stamped with the
 * bucket start. Output types: `avg` and `median` are floats; `count` is an integer; `sum` keeps the type
 * (integer sums are exact bigints); `min`, `max`, `first` and `last` keep the type.
 */
export function createDownsampler(options: DownsampleOptions): Downsampler {
  return new DownsamplerImpl(options);
}

/** Builds a batch downsampler: every point of a batch aggregated, every bucket emitted (see {@link createDownsampler}). */
export function downsample(options: DownsampleOptions): (points: readonly Point[]) => DownsampleResult {
  // Validate once, up front.
  createDownsampler(options);
  return (points) => {
    const downsampler = createDownsampler(options);
    const added = downsampler.add(points);
    const flushed = downsampler.flushAll();
    return { points: flushed.points, problems: [...added.problems, ...flushed.problems] };
  };
}
