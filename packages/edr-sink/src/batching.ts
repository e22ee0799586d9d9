import { hashSeries } from "./series.js";

/** Bounds of one request body. */
export interface BatchLimits {
  /** Most lines in one request. */
  batchLines: number;
  /** Most bytes (UTF-8, newlines included, before gzip) in one request. */
  batchBytes: number;
}

/** Line indices, in order, that travel in one request. */
export type Batch = number[];

/** The plan of one write call: lanes run side by side, the batches of a lane one after another. */
export interface BatchPlan {
  lanes: Batch[][];
  /** Indices of lines that are never sent: empty, blank or `#` comments (the server skips them anyway). */
  skipped: number[];
}

const HASH = 0x23;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;

/** True for a line the server would skip (empty, whitespace only, or a `#` comment). */
export function isSkippableLine(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  if (c === HASH) return true;
  if (c !== SPACE && c !== TAB && c !== CR) return false;
  const trimmed = line.trimStart();
  return trimmed.length === 0 || trimmed.charCodeAt(0) === HASH;
}

/**
 * Cuts lines into lanes by series (one series always travels in one lane, in order) and each lane into
 * batches bounded by lines and bytes, handing each batch to `onBatch` as soon as it is full, so that the
 * first requests leave while later lines are still being planned. A single line larger than `batchBytes`
 * gets a batch of its own (the remote decides: 413 rejects it).
 */
export class BatchPlanner {
  private readonly current: Batch[] = [];
  private readonly bytes: Float64Array;
  readonly skipped: number[] = [];

  constructor(
    private readonly lines: readonly string[],
    private readonly laneCount: number,
    private readonly limits: BatchLimits,
    private readonly onBatch: (lane: number, batch: Batch) => void,
  ) {
    this.bytes = new Float64Array(laneCount);
    for (let l = 0; l < laneCount; l++) this.current.push([]);
  }

  /** Plans lines `from` (inclusive) to `to` (exclusive). */
  add(from: number, to: number): void {
    const { lines, laneCount, current, bytes, skipped } = this;
    const { batchLines, batchBytes } = this.limits;
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      if (isSkippableLine(line)) {
        skipped.push(i);
        continue;
      }
      const size = Buffer.byteLength(line) + 1;
      const lane = laneCount === 1 ? 0 : hashSeries(line) % laneCount;
      let batch = current[lane]!;
      if (batch.length > 0 && (batch.length >= batchLines || bytes[lane]! + size > batchBytes)) {
        this.onBatch(lane, batch);
        batch = [];
        current[lane] = batch;
        bytes[lane] = 0;
      }
      batch.push(i);
      bytes[lane] = bytes[lane]! + size;
    }
  }

  /** Hands over the batches that are not full. */
  finish(): void {
    for (let l = 0; l < this.laneCount; l++) {
      const batch = this.current[l]!;
      if (batch.length > 0) this.onBatch(l, batch);
      this.current[l] = [];
    }
  }
}

/** How many lanes a call needs: one when everything fits in one request, else `maxInFlight`. */
export function lanesFor(lines: readonly string[], maxInFlight: number, limits: BatchLimits): number {
  if (maxInFlight === 1 || lines.length > limits.batchLines) return maxInFlight;
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    total += Buffer.byteLength(lines[i]!) + 1;
    if (total > limits.batchBytes) return maxInFlight;
  }
  return 1;
}

/** The whole plan at once (what the sink streams through {@link BatchPlanner}). */
export function planBatches(lines: readonly string[], maxInFlight: number, limits: BatchLimits): BatchPlan {
  const laneCount = lanesFor(lines, maxInFlight, limits);
  const lanes: Batch[][] = Array.from({ length: laneCount }, () => []);
  const planner = new BatchPlanner(lines, laneCount, limits, (lane, batch) => lanes[lane]!.push(batch));
  planner.add(0, lines.length);
  planner.finish();
  return { lanes: lanes.filter((lane) => lane.length > 0), skipped: planner.skipped };
}
