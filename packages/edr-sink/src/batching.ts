import type { BodyEncoder } from "./body.js";
import { runsIntoNextLine } from "./line-ends.js";
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

/** Lines of one owner (a write call) that travel in one request, by index into the owner's lines. */
export interface Segment<Owner> {
  readonly owner: Owner;
  readonly indices: number[];
}

/**
 * The lines of one request, in order: one segment per owner. A lane that stays busy gathers the lines of
 * several calls into one full request, so it holds a segment of each.
 */
export type Piece<Owner> = Segment<Owner>[];

/** A lane's batch as planned: its lines, and the exact size of their body (UTF-8, newline-separated). */
export interface PlannedBatch<Owner> {
  readonly piece: Piece<Owner>;
  readonly bytes: number;
  /** The body, encoded while the lines were planned (when the planner was given `newBody`). */
  readonly body?: BodyEncoder;
}

/** The most UTF-8 bytes one UTF-16 code unit can take. */
const MAX_BYTES_PER_CHAR = 3;

/**
 * Cuts lines into lanes by series (one series always travels in one lane, in order) and each lane into
 * batches bounded by lines and bytes, handing each batch to `onFull` as soon as it is full, so that the
 * first requests leave while later lines are still being planned. A lane's batch that is not full stays
 * open, and the lines of the next `add` (another owner, too) join it, until the sink `take`s it. A single
 * line larger than `batchBytes` gets a batch of its own (the remote decides: 413 rejects it). A line that
 * InfluxDB 3 would read on into the next line of a body (line-ends.ts) ends its batch.
 * `limits` is read on every line, so lowering `batchBytes` (after a 413) applies to the next batch.
 * With `newBody`, each lane's batch is encoded (and compressed) line by line as it is planned.
 */
export class BatchPlanner<Owner> {
  private readonly open: Piece<Owner>[] = [];
  /** The open segment of each lane for the current owner; undefined until it gets a line. */
  private readonly tails: (number[] | undefined)[] = [];
  private readonly bodies: (BodyEncoder | undefined)[] = [];
  private readonly counts: Float64Array;
  private readonly bytes: Float64Array;
  private owner: Owner | undefined;

  constructor(
    readonly laneCount: number,
    readonly limits: BatchLimits,
    private readonly onFull: (lane: number, batch: PlannedBatch<Owner>) => void,
    private readonly onSkip: (owner: Owner, index: number) => void,
    private readonly newBody?: () => BodyEncoder,
  ) {
    this.counts = new Float64Array(laneCount);
    this.bytes = new Float64Array(laneCount);
    for (let l = 0; l < laneCount; l++) {
      this.open.push([]);
      this.tails.push(undefined);
      this.bodies.push(undefined);
    }
  }

  /** Plans lines `from` (inclusive) to `to` (exclusive) of `owner`. */
  add(owner: Owner, lines: readonly string[], from: number, to: number): void {
    const { laneCount, tails, bodies, counts, bytes, limits, newBody } = this;
    if (owner !== this.owner) {
      this.owner = owner;
      tails.fill(undefined);
    }
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      if (isSkippableLine(line)) {
        this.onSkip(owner, i);
        continue;
      }
      const lane = laneCount === 1 ? 0 : hashSeries(line) % laneCount;
      let count = counts[lane]!;
      if (count > 0) {
        // Only a line that might not fit is measured before it is written.
        const room = limits.batchBytes - bytes[lane]!;
        const full =
          count >= limits.batchLines ||
          (line.length * MAX_BYTES_PER_CHAR + 1 > room && Buffer.byteLength(line) + 1 > room);
        if (full) {
          this.onFull(lane, this.take(lane)!);
          count = 0;
        }
      }
      let size: number;
      if (newBody === undefined) size = Buffer.byteLength(line) + 1;
      else {
        let body = bodies[lane];
        if (body === undefined) {
          body = newBody();
          bodies[lane] = body;
        }
        size = body.append(line);
      }
      let tail = tails[lane];
      if (tail === undefined) {
        tail = [];
        tails[lane] = tail;
        this.open[lane]!.push({ owner, indices: tail });
      }
      tail.push(i);
      counts[lane] = count + 1;
      bytes[lane] = bytes[lane]! + size;
      // A line the remote would read on into the next one ends its request (see line-ends.ts).
      if (runsIntoNextLine(line)) this.onFull(lane, this.take(lane)!);
    }
  }

  /** Lines waiting in `lane`'s open batch. */
  openLines(lane: number): number {
    return this.counts[lane]!;
  }

  /** Bytes of the lines waiting in `lane`'s open batch, newlines included. */
  openBytes(lane: number): number {
    return this.bytes[lane]!;
  }

  /** Takes `lane`'s open batch (full or not), or undefined when it has no lines. */
  take(lane: number): PlannedBatch<Owner> | undefined {
    const piece = this.open[lane]!;
    if (piece.length === 0) return undefined;
    // Every line was counted with its newline; the body has one newline fewer.
    const bytes = this.bytes[lane]! - 1;
    const body = this.bodies[lane];
    this.open[lane] = [];
    this.tails[lane] = undefined;
    this.bodies[lane] = undefined;
    this.counts[lane] = 0;
    this.bytes[lane] = 0;
    return body === undefined ? { piece, bytes } : { piece, bytes, body };
  }
}

/** True when `lines` fit in one request: the sink then sends them alone if its lanes are idle. */
export function fitsOneBatch(lines: readonly string[], limits: BatchLimits): boolean {
  if (lines.length > limits.batchLines) return false;
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    total += Buffer.byteLength(lines[i]!) + 1;
    if (total > limits.batchBytes) return false;
  }
  return true;
}

/** How many lanes one call needs on idle lanes: one when everything fits in one request, else `maxInFlight`. */
export function lanesFor(lines: readonly string[], maxInFlight: number, limits: BatchLimits): number {
  return fitsOneBatch(lines, limits) ? 1 : maxInFlight;
}

/** The plan of one call at once, as the sink would cut it when its lanes are idle. */
export function planBatches(lines: readonly string[], maxInFlight: number, limits: BatchLimits): BatchPlan {
  const laneCount = lanesFor(lines, maxInFlight, limits);
  const lanes: Batch[][] = Array.from({ length: laneCount }, () => []);
  const skipped: number[] = [];
  const toBatch = (planned: PlannedBatch<null>): Batch => planned.piece[0]!.indices;
  const planner = new BatchPlanner<null>(
    laneCount,
    limits,
    (lane, planned) => lanes[lane]!.push(toBatch(planned)),
    (_, index) => skipped.push(index),
  );
  planner.add(null, lines, 0, lines.length);
  for (let lane = 0; lane < laneCount; lane++) {
    const last = planner.take(lane);
    if (last) lanes[lane]!.push(toBatch(last));
  }
  return { lanes: lanes.filter((lane) => lane.length > 0), skipped };
}
