import type { WritesConfig } from "edr-args";
import type { QueueBatch } from "edr-queue";
import { downsample, tryParseLines, type DownsampleResult, type Point } from "edr-transform";
import type { Call } from "../call.js";
import type { DeadLetter, DeadLetterStore } from "../dead-letters.js";
import type { Pipeline } from "../pipeline.js";
import type { StatusBook } from "../status.js";
import type { WatermarkStore } from "../watermarks.js";
import { formatNs } from "../windows.js";
import type { Intake } from "./intake.js";
import { bucketEndNs, floorNs, lineTimestampNs } from "./line-time.js";
import { OpenBuckets } from "./open-buckets.js";

const MS = 1_000_000n;
/** Intake entries per read. */
const READ_ENTRIES = 10_000;
/** Keys of the downsampling state file: buckets ending at or before E were emitted, once R entries were read. */
export const EMITTED_KEY = "emitted_until_ns";
export const READ_KEY = "read_until_ordinal";
/** The status a late point's dead letter carries: edr refused it, not the remote. */
export const LATE_STATUS = 0;

/** What a flush works with. */
export interface WriteFlushParts {
  readonly config: WritesConfig;
  readonly pipeline: Pipeline;
  readonly intake: Intake;
  readonly book: StatusBook;
  /** With downsampling: the emitted watermark and the read position, written together after each emission. */
  readonly state: WatermarkStore | undefined;
  /** With downsampling: points for buckets already emitted, one letter each, keyed by intake ordinal. */
  readonly lateLetters: DeadLetterStore | undefined;
  readonly now: () => number;
}

/** Intake entries read but not acknowledged, waiting for their buckets to be emitted. */
interface Span {
  readonly start: QueueBatch["start"];
  readonly end: QueueBatch["end"];
  readonly count: number;
  /** The latest bucket end among the span's lines: the span is done once that bucket is emitted. */
  readonly maxBucketEndNs: bigint;
}

/**
 * Moves the intake to the main queue, once per flush interval: lines grouped by table through the transform,
 * or, with downsampling, into buckets that are emitted once closed.
 *
 * Downsampling on write is exact across flushes and restarts. A bucket `[s, e)` is emitted once the wall clock
 * passes `e + aggregate_grace`, from every point that fell into it whichever flush brought it; its lines stay
 * in the intake until then, so a crash loses none of them: the next start reads them again and rebuilds the open
 * buckets. After each emission the watermark E (buckets ending at or before E are emitted) and the number R of
 * intake entries read so far are written in one atomic file. Reading again after a restart, an entry whose
 * bucket ends at or before E was part of an emitted bucket if it was read before that emission (ordinal < R), and
 * is skipped; otherwise it came too late. A late point is never merged into an emitted bucket (a second point
 * for the bucket would overwrite the first at the remote with a wrong value): it goes to the late-letter file
 * (`edr_dead_letter_<queue>_late.jsonl`, status 0, keyed by its intake ordinal, so never twice) and is counted
 * in `status().lines.late`. The open buckets hold their points as the local instance does, one per series and
 * time (see {@link OpenBuckets}): a point written twice (a writer retrying a write whose answer it lost) counts
 * once (`status().lines.duplicates`), a point rewritten with another value counts with its newest value, and
 * the aggregate is computed when the bucket is emitted.
 */
export class WriteFlusher {
  private readonly bucketNs: bigint | undefined;
  private readonly graceNs: bigint;
  /** With downsampling: aggregates the points of the buckets emitted. */
  private readonly aggregate: ((points: readonly Point[]) => DownsampleResult) | undefined;
  private readonly open = new OpenBuckets();
  private readonly spans: Span[] = [];
  /** Lifetime ordinal of the next intake entry read. */
  private nextOrdinal: number;
  private emittedNs: bigint | undefined;
  private readUntil: number;

  constructor(private readonly parts: WriteFlushParts) {
    const downsampling = parts.config.transform.downsampling;
    this.bucketNs = downsampling === undefined ? undefined : BigInt(downsampling.intervalMs) * MS;
    this.graceNs = BigInt(parts.config.aggregateGraceMs) * MS;
    this.aggregate = downsampling === undefined ? undefined : downsample(downsampling);
    const stats = parts.intake.queue.stats();
    this.nextOrdinal = stats.acknowledged + stats.dropped;
    this.emittedNs = parts.state?.get(EMITTED_KEY);
    this.readUntil = Number(parts.state?.get(READ_KEY) ?? 0n);
  }

  /** Buckets ending at or before this were emitted (downsampling only). */
  get emittedUntilNs(): bigint | undefined {
    return this.emittedNs;
  }

  /** Whether a flush now would move anything: lines waiting in the intake, or a bucket that has closed. */
  hasWork(): boolean {
    if (this.parts.intake.queue.stats().entries > this.pendingInSpans()) return true;
    const oldest = this.open.oldestEndNs();
    return oldest !== undefined && oldest <= this.closedUntilNs();
  }

  /** Moves what the intake holds to the main queue; with downsampling, emits the buckets that have closed. */
  async flush(call: Call): Promise<void> {
    for (;;) {
      const batch = await this.parts.intake.queue.read({ maxEntries: READ_ENTRIES });
      if (batch.entries.length === 0) break;
      const first = this.nextOrdinal;
      this.nextOrdinal += batch.entries.length;
      if (this.aggregate === undefined) {
        await this.queueLines(call, batch);
        await this.parts.intake.queue.ack(batch);
      } else {
        await this.addToBuckets(call, batch, first);
      }
    }
    if (this.aggregate !== undefined) await this.emitClosed(call, this.aggregate);
  }

  /** Without downsampling: each table's lines through the transform to the main queue, in order. */
  private async queueLines(call: Call, batch: QueueBatch): Promise<void> {
    const byTable = new Map<string, string[]>();
    for (const { table, line } of batch.entries) {
      let lines = byTable.get(table);
      if (lines === undefined) byTable.set(table, (lines = []));
      lines.push(line);
    }
    for (const [table, lines] of byTable) await this.parts.pipeline.queueLines(call, table, lines);
  }

  private async addToBuckets(call: Call, batch: QueueBatch, firstOrdinal: number): Promise<void> {
    const { pipeline } = this.parts;
    const bucketNs = this.bucketNs!;
    const late: DeadLetter[] = [];
    let maxBucketEndNs: bigint | undefined;
    const time = new Date(this.parts.now()).toISOString();
    for (const [i, { table, line }] of batch.entries.entries()) {
      const ns = lineTimestampNs(line);
      if (ns === undefined) {
        pipeline.refuse(
          call,
          table,
          "downsampling",
          `a line without a timestamp belongs to no bucket: ${line.slice(0, 200)}`,
        );
        continue;
      }
      const endNs = bucketEndNs(ns, bucketNs);
      if (maxBucketEndNs === undefined || endNs > maxBucketEndNs) maxBucketEndNs = endNs;
      if (this.emittedNs !== undefined && endNs <= this.emittedNs) {
        const ordinal = firstOrdinal + i;
        // Read before the emission of its bucket (a restart reads it again): already in the bucket sent.
        if (ordinal < this.readUntil) continue;
        late.push({
          line,
          table,
          status: LATE_STATUS,
          reason:
            `late: the bucket [${formatNs(endNs - bucketNs)}, ${formatNs(endNs)}) of ${table} was already emitted ` +
            `(buckets are emitted aggregate_grace after their end); not merged, so the remote keeps the emitted value`,
          time,
          ordinal,
        });
        continue;
      }
      const parsed = tryParseLines(line);
      for (const error of parsed.errors) pipeline.refuse(call, table, "parse", error.message);
      for (const point of parsed.points) {
        if (this.open.add(point, endNs) === "duplicate") this.parts.book.duplicate();
      }
    }
    if (late.length > 0) await this.setAsideLate(call, late);
    this.spans.push({
      start: batch.start,
      end: batch.end,
      count: batch.entries.length,
      maxBucketEndNs: maxBucketEndNs ?? -(2n ** 63n),
    });
  }

  private async setAsideLate(call: Call, late: readonly DeadLetter[]): Promise<void> {
    const written = await this.parts.lateLetters!.append(late);
    if (written === 0) return;
    const byTable = new Map<string, number>();
    for (const letter of late) byTable.set(letter.table, (byTable.get(letter.table) ?? 0) + 1);
    for (const [table, count] of byTable) this.parts.book.late(table, count);
    call.log.warn(
      `${late.length} late points for buckets already emitted set aside in ${this.parts.lateLetters!.path} ` +
        `(raise aggregate_grace if points often arrive later than it)`,
    );
  }

  /** Emits the buckets that have closed, records how far, and acknowledges the intake entries that are done. */
  private async emitClosed(
    call: Call,
    aggregate: (points: readonly Point[]) => DownsampleResult,
  ): Promise<void> {
    const closedNs = this.closedUntilNs();
    if (this.emittedNs === undefined || closedNs > this.emittedNs) {
      const out = aggregate(this.open.takeClosed(closedNs));
      for (const problem of out.problems)
        this.parts.pipeline.refuse(call, undefined, "downsampling", problem);
      const byTable = new Map<string, Point[]>();
      for (const point of out.points) {
        let points = byTable.get(point.measurement);
        if (points === undefined) byTable.set(point.measurement, (points = []));
        points.push(point);
      }
      for (const [table, points] of byTable) await this.parts.pipeline.queuePoints(call, table, points);
      // After the buckets are queued, before the intake lets go of their lines.
      await this.parts.state!.setMany(
        new Map([
          [EMITTED_KEY, closedNs],
          [READ_KEY, BigInt(this.nextOrdinal)],
        ]),
      );
      this.emittedNs = closedNs;
      this.readUntil = this.nextOrdinal;
    }
    await this.acknowledgeDone();
  }

  /** Acknowledges, in one go, the spans at the head whose buckets are all emitted. */
  private async acknowledgeDone(): Promise<void> {
    let done = 0;
    let count = 0;
    while (done < this.spans.length && this.spans[done]!.maxBucketEndNs <= this.emittedNs!) {
      count += this.spans[done]!.count;
      done++;
    }
    if (done === 0) return;
    const first = this.spans[0]!;
    const last = this.spans[done - 1]!;
    await this.parts.intake.queue.ack({ start: first.start, end: last.end, entries: { length: count } });
    this.spans.splice(0, done);
  }

  /** Buckets ending at or before this have closed: the wall clock is past their end plus the grace. */
  private closedUntilNs(): bigint {
    const nowNs = BigInt(this.parts.now()) * MS;
    return floorNs(nowNs - this.graceNs, this.bucketNs!);
  }

  private pendingInSpans(): number {
    let count = 0;
    for (const span of this.spans) count += span.count;
    return count;
  }
}
